//! Trust in the log that does not rest on the database (docs/audit.md, ADR 0009).
//!
//! The hash chain shows that no event was changed in place, but anyone who can write the
//! database can rewrite an event and recompute every hash after it. What they cannot do
//! is sign: the audit key ([`key`]) is an Ed25519 key outside the database, apart from the
//! OIDC keys and the master key, whose public half auditors pin. With it:
//!
//! - [`checkpoint`]: a checkpoint signs the log's head (position and hash) and the time;
//!   [`checkpointer`] records one every N events or T seconds — in the log, in a file
//!   outside the database directory ([`checkpoint_file`]) and with a [`witness`].
//! - [`verifier`] (over a database: [`log`]; over a bundle: [`bundle`]) recomputes the
//!   chain and checks every checkpoint with the pinned key, never with a key read from
//!   what it verifies; [`start`] is the short form a server runs before it serves.
//! - [`snapshots`] binds the read models' snapshots to the chain, so a forged one is
//!   refused and the log folded instead.
//!
//! What it finds wrong is a [`Tampering`](tampering::Tampering), naming the first bad
//! position it can.

pub mod bundle;
pub mod checkpoint;
pub mod checkpoint_file;
pub mod checkpointer;
pub mod export;
pub mod key;
pub mod log;
pub mod snapshots;
pub mod start;
pub mod tampering;
pub mod verifier;
pub mod witness;

pub use key::{AuditKey, AuditPublicKey, KeyError};
pub use log::AuditError;
pub use tampering::Tampering;
pub use verifier::{External, Report, Verifier};
