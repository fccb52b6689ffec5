//! The log as a whole, for those who may read all of it (a reading grant over the
//! instance): its head and its newest signed checkpoint, and its events a page at a
//! time — what a door recomputes the hash chain from and exports (`verity_store::chain`,
//! `verity_audit::export`). A checkpoint is shown as recorded: its signature is checked
//! with the key an auditor pinned (`verity audit verify --public-key`), never here.

use chrono::{DateTime, Utc};
use verity_domain::RecordedEvent;
use verity_domain::audit::{self, AuditEvent, Checkpoint};

use crate::actor::{Actor, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;

/// Most events one page of the log holds.
pub const LOG_PAGE: usize = 10_000;

/// The newest event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its position: how many events the log holds.
    pub position: u64,
    /// Its stored hash, hex (empty for an empty log).
    pub hash: String,
    /// When it was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The newest checkpoint recorded in the log, if any.
    pub checkpoint: Option<Checkpoint>,
}

impl Admin {
    /// The log's head, as stored.
    pub async fn log_head(&self, actor: &Actor) -> Result<Head, AdminError> {
        authorize(actor, Permission::ReadLog, Scope::Instance)?;
        let position = self.ports.store.head().await?;
        let newest = self
            .ports
            .store
            .read_all(position.saturating_sub(1), 1)
            .await?;
        let newest = newest.first();
        let checkpoint = match self
            .ports
            .store
            .read_stream_back(audit::STREAM, 1)
            .await?
            .first()
        {
            Some(event) => AuditEvent::checkpoint_of(event)?,
            None => None,
        };
        Ok(Head {
            position,
            hash: newest.map(|event| event.hash.clone()).unwrap_or_default(),
            recorded_at: newest.map(|event| event.recorded_at),
            checkpoint,
        })
    }

    /// The events after position `after` as stored (personal data sealed, as the chain
    /// covers it), in order, at most [`LOG_PAGE`]; none once the log is read.
    pub async fn log_page(
        &self,
        actor: &Actor,
        after: u64,
    ) -> Result<Vec<RecordedEvent>, AdminError> {
        authorize(actor, Permission::ReadLog, Scope::Instance)?;
        Ok(self.ports.log.read_all(after, LOG_PAGE).await?)
    }
}
