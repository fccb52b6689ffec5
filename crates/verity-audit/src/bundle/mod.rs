//! The offline bundle: a `.tar.gz` of the log (`events.jsonl`), the checkpoints kept
//! outside the database (`checkpoints.jsonl`), the public audit key, a manifest and a
//! README with the steps, which `verity audit verify --bundle` checks on a machine with
//! no database and no configuration.

mod format;
mod read;
mod write;

pub use format::Manifest;
pub use read::verify_bundle;
pub use write::write_bundle;
