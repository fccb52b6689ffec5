//! The offline bundle: a `.tar.gz` of the log (`events.jsonl`), the checkpoints kept
//! outside the database (`checkpoints.jsonl`), the public audit key, a manifest and a
//! README with the steps, which `verity audit verify --bundle` checks on a machine with
//! no database and no configuration.

mod read;
mod write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use read::verify_bundle;
pub use write::write_bundle;

/// The folder every file of a bundle is in.
const ROOT: &str = "verity-audit-bundle";
/// The files, in the order they are written (the events last: they are read as a stream
/// once everything else is known).
const MANIFEST: &str = "manifest.json";
const README: &str = "README.md";
const KEY: &str = "audit-key.jwk";
const CHECKPOINTS: &str = "checkpoints.jsonl";
const EVENTS: &str = "events.jsonl";

/// The format named in a manifest.
const FORMAT: &str = "verity-audit-bundle/1";

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
