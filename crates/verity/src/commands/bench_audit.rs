//! The cost of automatic checkpoints, for `verity bench append --checkpoint-every N`: the
//! server's checkpointer runs beside the writers (docs/performance.md, "Checkpoints").

use std::sync::Arc;

use verity_audit::checkpointer::{self, Checkpointer, Schedule};
use verity_domain::EventStore;
use verity_domain::audit::STREAM;
use verity_store::Store;

use crate::config::Config;

/// A running checkpointer and the audit stream's version when it started.
pub(super) struct Checkpoints {
    task: tokio::task::JoinHandle<()>,
    version_before: u64,
}

impl Checkpoints {
    /// Verifies the log as a server starts, then records a checkpoint every `every`
    /// events until stopped.
    pub(super) async fn start(
        config: &Config,
        store: &Arc<dyn Store>,
        every: u64,
    ) -> anyhow::Result<Self> {
        let key = crate::audit_key::load_or_create_audit_key(config)?;
        let file = config.audit.checkpoint_path(&config.store);
        let report =
            verity_audit::start::check_at_start(store.as_ref(), key.public(), Some(&file)).await?;
        let version_before = version(store.as_ref()).await?;
        let checkpointer = Checkpointer::new(store.clone(), key, Some(file), &report)?;
        let schedule = Schedule {
            every_events: every,
            every: None,
        };
        let task = checkpointer::spawn(checkpointer, schedule, None, crate::app::now);
        Ok(Self {
            task,
            version_before,
        })
    }

    /// Stops the checkpointer; returns how many checkpoints it recorded.
    pub(super) async fn stop(self, store: &dyn EventStore) -> anyhow::Result<u64> {
        self.task.abort();
        Ok(version(store).await?.saturating_sub(self.version_before))
    }
}

async fn version(store: &dyn EventStore) -> anyhow::Result<u64> {
    Ok(store
        .read_stream_back(STREAM, 1)
        .await?
        .first()
        .map_or(0, |event| event.version))
}
