//! Verifying a log in a database: pages read from the store while the previous page is
//! checked on a blocking thread, so reading and hashing overlap.

use verity_domain::{EventStore, StoreError};
use verity_store::chain::PAGE;

use crate::tampering::Tampering;
use crate::verifier::{Report, Verifier};

/// Why verification did not end with a report.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log does not verify.
    #[error(transparent)]
    Tampered(#[from] Tampering),
    /// The store failed while reading.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// Which file, doing what.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A bundle is not one `verity audit bundle` wrote.
    #[error("not an audit bundle: {0}")]
    Bundle(String),
    /// The verifying task failed (a bug).
    #[error("verification task failed: {0}")]
    Task(String),
}

impl AuditError {
    /// An IO error, with what was being done to which file.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// Feeds every event after the verifier's position, up to the head, to `verifier`, and
/// reports; `progress` is told the position reached after each page.
pub async fn verify_store(
    store: &dyn EventStore,
    verifier: Verifier,
    progress: impl FnMut(u64),
) -> Result<Report, AuditError> {
    Ok(feed_store(store, verifier, progress).await?.finish()?)
}

/// Feeds every event after the verifier's position, up to the head, to `verifier` and
/// hands it back, to go on later (the checkpointer verifies what it is about to sign).
pub async fn feed_store(
    store: &dyn EventStore,
    verifier: Verifier,
    mut progress: impl FnMut(u64),
) -> Result<Verifier, AuditError> {
    let mut read_up_to = verifier.position();
    let mut idle = Some(verifier);
    let mut checking: Option<tokio::task::JoinHandle<(Verifier, Result<(), Tampering>)>> = None;
    loop {
        let page = store.read_all(read_up_to, PAGE).await?;
        if let Some(task) = checking.take() {
            let (verifier, outcome) = task
                .await
                .map_err(|error| AuditError::Task(error.to_string()))?;
            outcome?;
            progress(verifier.position());
            idle = Some(verifier);
        }
        let Some(last) = page.last().map(|event| event.position) else {
            break;
        };
        read_up_to = last;
        let Some(mut verifier) = idle.take() else {
            break;
        };
        checking = Some(tokio::task::spawn_blocking(move || {
            let outcome = page.iter().try_for_each(|event| verifier.check(event));
            (verifier, outcome)
        }));
    }
    idle.ok_or_else(|| AuditError::Task("the verifier was lost".into()))
}

/// The hash the log holds at `position` (hex, lower case), if it holds that position.
pub(crate) async fn hash_at(
    store: &dyn EventStore,
    position: u64,
) -> Result<Option<String>, StoreError> {
    if position == 0 {
        return Ok(Some(hex::encode(verity_store::chain::GENESIS)));
    }
    Ok(store
        .read_all(position - 1, 1)
        .await?
        .into_iter()
        .find(|event| event.position == position)
        .map(|event| event.hash.to_ascii_lowercase()))
}
