//! Checkpoints of the log (stream `audit-checkpoints`): the head of the log — its position
//! and hash — and the time, signed with the audit key, which is neither in the database
//! nor an OIDC key (docs/adr/0009-audit-key-and-checkpoints.md).
//!
//! This crate only names the fact and its payload; the signature is made and checked by
//! `verity-audit`. A checkpoint is appended with the stream's exact expected version, so
//! when several nodes try to record one for the same interval, one of them does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// The stream every checkpoint is appended to.
pub const STREAM: &str = "audit-checkpoints";

/// Stored type of [`Checkpoint`].
pub const CHECKPOINT_SIGNED: &str = "audit.checkpoint.signed";

/// Payload of `audit.checkpoint.signed`, and one line of a checkpoint file: the head of
/// the log at `position` had `hash`, signed at `signed_at` with the audit key whose
/// fingerprint is `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The position of the head that was signed.
    pub position: u64,
    /// That event's hash (hex, 64 digits).
    pub hash: String,
    /// When it was signed (microsecond precision: the signature covers microseconds).
    pub signed_at: DateTime<Utc>,
    /// The fingerprint of the audit key (RFC 7638 JWK thumbprint, base64url).
    pub key: String,
    /// The Ed25519 signature, base64url without padding.
    pub signature: String,
}

/// A fact of the audit stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEvent {
    /// A checkpoint was signed and recorded.
    CheckpointSigned(Checkpoint),
}

domain_events! {
    AuditEvent {
        CheckpointSigned(Checkpoint) => CHECKPOINT_SIGNED,
    }
}

impl AuditEvent {
    /// The checkpoint a recorded event holds, when it is one: `Ok(None)` for any other
    /// event, an error for an event of the checkpoint type that cannot be read.
    pub fn checkpoint_of(
        event: &crate::RecordedEvent,
    ) -> Result<Option<Checkpoint>, crate::DecodeError> {
        if event.event_type != CHECKPOINT_SIGNED {
            return Ok(None);
        }
        Ok(<Self as crate::DomainEvent>::decode(event)?
            .map(|Self::CheckpointSigned(checkpoint)| checkpoint))
    }
}
