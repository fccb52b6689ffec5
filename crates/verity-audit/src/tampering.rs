//! What verification finds wrong, each case naming the first bad position it can and
//! saying what it means.

use verity_store::chain::ChainBreak;

use crate::checkpoint::CheckpointError;

/// A log that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tampering {
    /// The chain itself is broken (an event altered, removed, inserted or moved without
    /// recomputing the hashes after it).
    #[error("chain broken: {0}")]
    Chain(#[from] ChainBreak),
    /// An event of the checkpoint type stands on another stream.
    #[error("event {position}: a checkpoint on stream {stream}, not the audit stream")]
    CheckpointElsewhere {
        /// The event.
        position: u64,
        /// Its stream.
        stream: String,
    },
    /// A checkpoint event's payload cannot be read.
    #[error("event {position}: an unreadable checkpoint ({reason})")]
    UnreadableCheckpoint {
        /// The event.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint in the log does not verify with the pinned key.
    #[error(
        "the checkpoint at position {position}: {error}; the checkpoint was replaced or forged"
    )]
    LogCheckpointSignature {
        /// The checkpoint's event.
        position: u64,
        /// Why.
        error: CheckpointError,
    },
    /// A checkpoint signs a head that does not come between the previous checkpoint and
    /// itself: an old checkpoint copied to a later place, or events moved around it.
    #[error(
        "the checkpoint at position {position} signs position {signed}, which is not after the \
         previous checkpoint (at position {previous}) and before itself: checkpoints were \
         replaced or moved"
    )]
    CheckpointOutOfOrder {
        /// The checkpoint's event.
        position: u64,
        /// The position it signs.
        signed: u64,
        /// The previous checkpoint's event (0: none).
        previous: u64,
    },
    /// The log no longer holds the head a checkpoint in the log signed.
    #[error(
        "event {signed} has hash {found}, but the checkpoint at position {position} signed {expected}: \
         the log was rewritten between positions {since} and {signed} (the hashes recomputed by \
         someone without the audit key)"
    )]
    LogCheckpointMismatch {
        /// The checkpoint's event.
        position: u64,
        /// The position it signs.
        signed: u64,
        /// The hash it signs.
        expected: String,
        /// The hash the log holds there.
        found: String,
        /// The first position after the last head that did match (1: none did).
        since: u64,
    },
    /// A checkpoint kept outside the database does not verify.
    #[error("checkpoint {origin}: {error}")]
    ExternalSignature {
        /// Where it was read (`FILE:LINE`).
        origin: String,
        /// Why.
        error: CheckpointError,
    },
    /// A checkpoint kept outside the database cannot be read.
    #[error("checkpoint {origin}: not a checkpoint ({reason})")]
    UnreadableExternal {
        /// Where it was read.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The log ends before a head a checkpoint kept outside the database signed.
    #[error(
        "checkpoint {origin} signs position {signed}, but the log ends at position {head}: \
         events were removed (the tail was cut)"
    )]
    ExternalBeyondHead {
        /// Where it was read.
        origin: String,
        /// The position it signs.
        signed: u64,
        /// The log's head.
        head: u64,
    },
    /// The log holds another event where a checkpoint kept outside signed a head.
    #[error(
        "event {signed} has hash {found}, but checkpoint {origin} signed {expected}: the log was \
         rewritten at or before position {signed}"
    )]
    ExternalMismatch {
        /// Where it was read.
        origin: String,
        /// The position it signs.
        signed: u64,
        /// The hash it signs.
        expected: String,
        /// The hash the log holds there.
        found: String,
    },
    /// A checkpoint kept outside the database is not among the log's checkpoints, though
    /// every checkpoint is recorded in the log before it is written anywhere else.
    #[error(
        "checkpoint {origin} (position {signed}, signed at {signed_at}) is not in the log: the log's \
         checkpoints were removed or replaced{after}"
    )]
    ExternalNotInLog {
        /// Where it was read.
        origin: String,
        /// The position it signs.
        signed: u64,
        /// When it was signed (RFC 3339).
        signed_at: String,
        /// What the log's newest checkpoint is, as a clause.
        after: String,
    },
}
