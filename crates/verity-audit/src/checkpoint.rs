//! Signing and checking a checkpoint: the head of the log (its position and hash) and the
//! time, signed with the audit key.
//!
//! The signed bytes are fixed and documented (docs/audit.md), so an auditor can check a
//! checkpoint with any Ed25519 implementation:
//!
//! ```text
//! "verity.checkpoint.v1\0" || position (u64 BE) || hash (32 bytes)
//!                          || signed_at (µs since the Unix epoch, i64 BE)
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use verity_domain::audit::Checkpoint;
use verity_store::chain::{Hash, parse_hash};

use crate::key::{AuditKey, AuditPublicKey};

/// Domain separation: these bytes can never be mistaken for a snapshot seal or a token.
const TAG: &[u8] = b"verity.checkpoint.v1\0";

/// What is wrong with a checkpoint on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Signed with another key than the pinned one.
    #[error("it is signed with the key {found}, not the pinned key {pinned}")]
    OtherKey {
        /// The fingerprint it names.
        found: String,
        /// The pinned key's fingerprint.
        pinned: String,
    },
    /// The signature does not verify: the checkpoint was edited or forged.
    #[error("its signature does not verify with the pinned key (edited or forged)")]
    BadSignature,
    /// Its hash is not 64 hex digits.
    #[error("its hash is not a SHA-256 digest in hex")]
    BadHash,
}

/// The signed bytes of a checkpoint of `position` and `hash` at `signed_at`.
fn message(position: u64, hash: &Hash, signed_at: DateTime<Utc>) -> Vec<u8> {
    let mut message = Vec::with_capacity(TAG.len() + 8 + 32 + 8);
    message.extend_from_slice(TAG);
    message.extend_from_slice(&position.to_be_bytes());
    message.extend_from_slice(hash);
    message.extend_from_slice(&signed_at.timestamp_micros().to_be_bytes());
    message
}

/// Signs the head at `position` with `hash`, at `now` (truncated to microseconds, which is
/// what the signature covers).
pub fn sign(key: &AuditKey, position: u64, hash: &Hash, now: DateTime<Utc>) -> Checkpoint {
    let signed_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let signature = key.sign(&message(position, hash, signed_at));
    Checkpoint {
        position,
        hash: hex::encode(hash),
        signed_at,
        key: key.public().fingerprint().to_owned(),
        signature: URL_SAFE_NO_PAD.encode(signature),
    }
}

/// Checks a checkpoint's signature with the pinned key; returns the hash it signs.
pub fn verify(pinned: &AuditPublicKey, checkpoint: &Checkpoint) -> Result<Hash, CheckpointError> {
    if checkpoint.key != pinned.fingerprint() {
        return Err(CheckpointError::OtherKey {
            found: checkpoint.key.clone(),
            pinned: pinned.fingerprint().to_owned(),
        });
    }
    let hash = parse_hash(&checkpoint.hash).ok_or(CheckpointError::BadHash)?;
    let signature = URL_SAFE_NO_PAD
        .decode(&checkpoint.signature)
        .map_err(|_| CheckpointError::BadSignature)?;
    let signed = message(checkpoint.position, &hash, checkpoint.signed_at);
    if pinned.verifies(&signed, &signature) {
        Ok(hash)
    } else {
        Err(CheckpointError::BadSignature)
    }
}

/// One line of a checkpoint file: the checkpoint as compact JSON.
pub fn to_line(checkpoint: &Checkpoint) -> String {
    serde_json::to_string(checkpoint).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SEED_LEN;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 123_456_789).unwrap()
    }

    #[test]
    fn a_checkpoint_verifies_with_its_key_and_names_its_head() {
        let key = AuditKey::from_seed([1; SEED_LEN]);
        let checkpoint = sign(&key, 42, &[9; 32], at(1_800_000_000));
        assert_eq!(checkpoint.position, 42);
        assert_eq!(checkpoint.hash, "09".repeat(32));
        assert_eq!(checkpoint.signed_at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(verify(key.public(), &checkpoint), Ok([9; 32]));
        // Through its line form, as in a checkpoint file or the log.
        let read: Checkpoint = serde_json::from_str(&to_line(&checkpoint)).unwrap();
        assert_eq!(verify(key.public(), &read), Ok([9; 32]));
    }

    #[test]
    fn every_edited_field_or_another_key_is_refused() {
        let key = AuditKey::from_seed([1; SEED_LEN]);
        let checkpoint = sign(&key, 42, &[9; 32], at(1_800_000_000));
        let edits: [fn(&mut Checkpoint); 4] = [
            |c| c.position = 41,
            |c| c.hash = "08".repeat(32),
            |c| c.signed_at += chrono::Duration::microseconds(1),
            |c| c.signature = c.signature.replace('A', "B").replace('a', "b"),
        ];
        for edit in edits {
            let mut edited = checkpoint.clone();
            edit(&mut edited);
            assert_ne!(edited, checkpoint);
            assert_eq!(
                verify(key.public(), &edited),
                Err(CheckpointError::BadSignature)
            );
        }
        let other = AuditKey::from_seed([2; SEED_LEN]);
        assert!(matches!(
            verify(other.public(), &checkpoint),
            Err(CheckpointError::OtherKey { .. })
        ));
        // Signed by the other key but naming the pinned one: the signature fails.
        let mut forged = sign(&other, 42, &[9; 32], at(1_800_000_000));
        forged.key = key.public().fingerprint().to_owned();
        assert_eq!(
            verify(key.public(), &forged),
            Err(CheckpointError::BadSignature)
        );
    }
}
