//! The check a server makes before it serves: from the log's newest checkpoint to the
//! head, with the checkpoint file's newest checkpoint compared too.
//!
//! Cheap — the newest two checkpoints of the log, one line of the file, a few point reads
//! and the chain after the newest checkpoint — and enough for what a database writer
//! without the audit key can do: a rewrite with recomputed hashes before the newest
//! checkpoint changes the head it signed; one after it, or a cut tail, is caught by the
//! checkpoint file (kept outside the database); a replaced checkpoint fails its
//! signature. Edits that leave the chain broken before the newest checkpoint are for a
//! full `verity audit verify`.

use std::path::Path;

use verity_domain::audit::{self, AuditEvent, Checkpoint};
use verity_domain::{EventStore, RecordedEvent};
use verity_store::chain::Hash;

use crate::checkpoint;
use crate::checkpoint_file;
use crate::key::AuditPublicKey;
use crate::log::{AuditError, hash_at, verify_store};
use crate::tampering::Tampering;
use crate::verifier::{External, Report, Verifier};

/// Verifies the log from its newest checkpoint to its head; see the module documentation.
pub async fn check_at_start(
    store: &dyn EventStore,
    key: &AuditPublicKey,
    checkpoint_file: Option<&Path>,
) -> Result<Report, AuditError> {
    let head = store.head().await?;
    let tail = store.read_stream_back(audit::STREAM, 2).await?;
    let newest = match tail.first() {
        Some(event) => Some((event.position, signed(key, event)?)),
        None => None,
    };
    let previous = match tail.get(1) {
        Some(event) => Some((event.position, signed(key, event)?)),
        None => None,
    };
    let mut since = 1;
    if let Some((event, (checkpoint, hash))) = &previous {
        expect_hash(store, *event, checkpoint, hash, since).await?;
        since = checkpoint.position + 1;
    }
    let anchor = match &newest {
        Some((event, (checkpoint, hash))) => {
            let previous_event = previous.as_ref().map_or(0, |(event, _)| *event);
            if checkpoint.position >= *event || checkpoint.position < previous_event {
                return Err(Tampering::CheckpointOutOfOrder {
                    position: *event,
                    signed: checkpoint.position,
                    previous: previous_event,
                }
                .into());
            }
            expect_hash(store, *event, checkpoint, hash, since).await?;
            Some((*event, checkpoint.clone(), *hash))
        }
        None => None,
    };

    let external = match checkpoint_file {
        Some(path) => checkpoint_file::read_newest(path)?,
        None => None,
    };
    let externals = match external {
        Some(external) => compare_external(store, key, head, external, anchor.as_ref()).await?,
        None => Vec::new(),
    };
    let verifier = match &anchor {
        Some((_, checkpoint, hash)) => Verifier::resume(
            checkpoint.position,
            *hash,
            previous.as_ref().map(|(event, _)| *event),
            key.clone(),
            externals,
        )?,
        None => Verifier::new(Some(key.clone()), externals)?,
    };
    verify_store(store, verifier, |_| {}).await
}

/// The checkpoint of a checkpoint event, its signature checked; and the hash it signs.
fn signed(key: &AuditPublicKey, event: &RecordedEvent) -> Result<(Checkpoint, Hash), Tampering> {
    let position = event.position;
    let checkpoint = AuditEvent::checkpoint_of(event)
        .map_err(|error| error.to_string())
        .and_then(|checkpoint| checkpoint.ok_or_else(|| "another type of event".to_owned()))
        .map_err(|reason| Tampering::UnreadableCheckpoint { position, reason })?;
    let hash = checkpoint::verify(key, &checkpoint)
        .map_err(|error| Tampering::LogCheckpointSignature { position, error })?;
    Ok((checkpoint, hash))
}

/// Fails unless the log still holds the head the checkpoint at `event` signed.
async fn expect_hash(
    store: &dyn EventStore,
    event: u64,
    checkpoint: &Checkpoint,
    hash: &Hash,
    since: u64,
) -> Result<(), AuditError> {
    let expected = hex::encode(hash);
    let found = hash_at(store, checkpoint.position).await?;
    if found.as_deref() == Some(expected.as_str()) {
        return Ok(());
    }
    Err(Tampering::LogCheckpointMismatch {
        position: event,
        signed: checkpoint.position,
        expected,
        found: found.unwrap_or_else(|| "nothing".to_owned()),
        since,
    }
    .into())
}

/// Checks the checkpoint file's newest checkpoint against the log; returns it when the
/// walk from the anchor must still meet it (its head, and its event in the log).
async fn compare_external(
    store: &dyn EventStore,
    key: &AuditPublicKey,
    head: u64,
    external: External,
    anchor: Option<&(u64, Checkpoint, Hash)>,
) -> Result<Vec<External>, AuditError> {
    let signed_hash = checkpoint::verify(key, &external.checkpoint).map_err(|error| {
        Tampering::ExternalSignature {
            origin: external.origin.clone(),
            error,
        }
    })?;
    let position = external.checkpoint.position;
    if position > head {
        return Err(Tampering::ExternalBeyondHead {
            origin: external.origin,
            signed: position,
            head,
        }
        .into());
    }
    let Some((anchor_event, anchor, anchor_hash)) = anchor else {
        return Ok(vec![external]);
    };
    if position > anchor.position {
        return Ok(vec![external]);
    }
    // At or before the anchor: the log must hold its head. Whether its own event is still
    // in the log is for a full `audit verify` (another node may have written newer ones).
    let found = if position == anchor.position {
        Some(hex::encode(anchor_hash))
    } else {
        hash_at(store, position).await?
    };
    let expected = hex::encode(signed_hash);
    if found.as_deref() != Some(expected.as_str()) {
        return Err(Tampering::ExternalMismatch {
            origin: external.origin,
            signed: position,
            expected,
            found: found.unwrap_or_else(|| "nothing".to_owned()),
        }
        .into());
    }
    if position == anchor.position && external.checkpoint.signature != anchor.signature {
        return Err(Tampering::ExternalNotInLog {
            origin: external.origin,
            signed: position,
            signed_at: external.checkpoint.signed_at.to_rfc3339(),
            after: format!(
                " (its newest checkpoint, at position {anchor_event}, signs position {})",
                anchor.position
            ),
        }
        .into());
    }
    Ok(Vec::new())
}
