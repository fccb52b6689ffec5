//! What a bundle holds: its files, in the order they are written, and its manifest.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The folder every file of a bundle is in.
pub(super) const ROOT: &str = "verity-audit-bundle";
/// The files, in the order they are written (the events last: they are read as a stream
/// once everything else is known).
pub(super) const MANIFEST: &str = "manifest.json";
pub(super) const README: &str = "README.md";
pub(super) const KEY: &str = "audit-key.jwk";
pub(super) const CHECKPOINTS: &str = "checkpoints.jsonl";
pub(super) const EVENTS: &str = "events.jsonl";

/// The format named in a manifest.
pub(super) const FORMAT: &str = "verity-audit-bundle/1";

/// What a bundle says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// How many events `events.jsonl` holds.
    pub events: u64,
    /// The hash of the last of them (hex; the genesis value for none).
    pub head: String,
    /// The fingerprint of the audit key in `audit-key.jwk`.
    pub key: String,
    /// How many checkpoints `checkpoints.jsonl` holds.
    pub checkpoints: u64,
}
