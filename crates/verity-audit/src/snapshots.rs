//! Snapshots bound to the chain: a [`SnapshotStore`] that seals what it saves — the hash
//! of the event at the snapshot's position, and an Ed25519 signature by the audit key over
//! the projection's name and version, the position, that hash and the SHA-256 of the
//! state — and hands back only snapshots whose seal verifies and whose hash the log still
//! holds at that position. Anything else (forged in the database, made under another
//! key, from a log since rewritten, saved before snapshots were sealed) is refused, and
//! the projector folds the log from position 0.

use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use verity_domain::{EventStore, Snapshot, SnapshotStore, StoreError};

use crate::key::{AuditKey, AuditPublicKey};
use crate::log::hash_at;

/// Domain separation: a seal can never pass for a checkpoint's signature.
const TAG: &[u8] = b"verity.snapshot.v1\0";

/// The sealing decorator over a database's snapshots; see the module documentation.
pub struct SealedSnapshots {
    snapshots: Arc<dyn SnapshotStore>,
    events: Arc<dyn EventStore>,
    key: Option<AuditKey>,
}

impl SealedSnapshots {
    /// Seals with `key`. Without a key (a command run where the audit key is not), no
    /// snapshot is trusted and none is saved: the read models fold the log.
    pub fn new(
        snapshots: Arc<dyn SnapshotStore>,
        events: Arc<dyn EventStore>,
        key: Option<AuditKey>,
    ) -> Self {
        Self {
            snapshots,
            events,
            key,
        }
    }
}

impl std::fmt::Debug for SealedSnapshots {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SealedSnapshots")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The bytes a seal signs.
fn message(snapshot: &Snapshot) -> Vec<u8> {
    let mut message = Vec::with_capacity(TAG.len() + snapshot.name.len() + 8 + 4 + 8 + 64 + 32);
    message.extend_from_slice(TAG);
    message.extend_from_slice(&(snapshot.name.len() as u64).to_be_bytes());
    message.extend_from_slice(snapshot.name.as_bytes());
    message.extend_from_slice(&snapshot.version.to_be_bytes());
    message.extend_from_slice(&snapshot.position.to_be_bytes());
    message.extend_from_slice(&(snapshot.hash.len() as u64).to_be_bytes());
    message.extend_from_slice(snapshot.hash.as_bytes());
    message.extend_from_slice(&Sha256::digest(&snapshot.data));
    message
}

/// Whether the snapshot's seal is the key's signature of it.
fn sealed_by(key: &AuditPublicKey, snapshot: &Snapshot) -> bool {
    key.verifies(&message(snapshot), &snapshot.seal)
}

#[async_trait]
impl SnapshotStore for SealedSnapshots {
    async fn load_snapshot(&self, name: &str) -> Result<Option<Snapshot>, StoreError> {
        let Some(snapshot) = self.snapshots.load_snapshot(name).await? else {
            return Ok(None);
        };
        let Some(key) = &self.key else {
            tracing::info!(
                projection = name,
                "no audit key here: the snapshot cannot be checked and is not used"
            );
            return Ok(None);
        };
        if !sealed_by(key.public(), &snapshot) {
            tracing::warn!(
                projection = name,
                position = snapshot.position,
                "refused the snapshot: its seal does not verify with the audit key (written \
                 by someone else, or under another audit key); folding the log instead"
            );
            return Ok(None);
        }
        let held = hash_at(self.events.as_ref(), snapshot.position).await?;
        if held.as_deref() != Some(snapshot.hash.as_str()) {
            tracing::warn!(
                projection = name,
                position = snapshot.position,
                "refused the snapshot: the log does not hold the event it was taken at (the \
                 log was cut or rewritten since); folding the log instead"
            );
            return Ok(None);
        }
        Ok(Some(snapshot))
    }

    async fn save_snapshot(&self, mut snapshot: Snapshot) -> Result<(), StoreError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        snapshot.hash = hash_at(self.events.as_ref(), snapshot.position)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "a snapshot at position {}, beyond the log's head",
                    snapshot.position
                ))
            })?;
        snapshot.seal = key.sign(&message(&snapshot)).to_vec();
        self.snapshots.save_snapshot(snapshot).await
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::{Actor, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
    use verity_store::SqliteStore;

    use super::*;
    use crate::key::SEED_LEN;

    async fn store_with_events(directory: &std::path::Path) -> Arc<SqliteStore> {
        let store = Arc::new(
            SqliteStore::open(&directory.join("verity.db"))
                .await
                .unwrap(),
        );
        for index in 0..3 {
            store
                .append(AppendRequest::new(
                    "test-1",
                    ExpectedVersion::Any,
                    vec![test_event(index)],
                ))
                .await
                .unwrap();
        }
        store
    }

    fn test_event(index: u64) -> NewEvent {
        NewEvent {
            event_type: "test.happened".into(),
            schema: 1,
            data: format!("{{\"index\":{index}}}"),
            metadata: EventMetadata {
                actor: Actor::System,
                request_id: None,
                client_ip: None,
                occurred_at: chrono::DateTime::UNIX_EPOCH,
            },
        }
    }

    fn snapshot(position: u64, data: &[u8]) -> Snapshot {
        Snapshot {
            name: "read_models".into(),
            version: 7,
            position,
            data: data.to_vec(),
            hash: String::new(),
            seal: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_sealed_snapshot_loads_and_every_other_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_events(directory.path()).await;
        let key = AuditKey::from_seed([5; SEED_LEN]);
        let sealed = SealedSnapshots::new(store.clone(), store.clone(), Some(key.clone()));
        sealed
            .save_snapshot(snapshot(2, b"{\"n\":2}"))
            .await
            .unwrap();
        let loaded = sealed.load_snapshot("read_models").await.unwrap().unwrap();
        assert_eq!(loaded.data, b"{\"n\":2}");
        assert_eq!(loaded.hash, store.read_all(1, 1).await.unwrap()[0].hash);

        // Forged in the database: other state under the same seal, or no seal at all.
        let mut forged = loaded.clone();
        forged.data = b"{\"n\":1000}".to_vec();
        store.save_snapshot(forged).await.unwrap();
        assert_eq!(sealed.load_snapshot("read_models").await.unwrap(), None);
        store.save_snapshot(snapshot(2, b"{}")).await.unwrap();
        assert_eq!(sealed.load_snapshot("read_models").await.unwrap(), None);

        // Sealed under another key.
        let other = SealedSnapshots::new(
            store.clone(),
            store.clone(),
            Some(AuditKey::from_seed([6; SEED_LEN])),
        );
        other.save_snapshot(snapshot(2, b"{}")).await.unwrap();
        assert!(other.load_snapshot("read_models").await.unwrap().is_some());
        assert_eq!(sealed.load_snapshot("read_models").await.unwrap(), None);

        // A genuine seal on another position does not verify.
        sealed.save_snapshot(snapshot(2, b"{}")).await.unwrap();
        let genuine = store.load_snapshot("read_models").await.unwrap().unwrap();
        let mut moved = genuine.clone();
        moved.position = 3;
        store.save_snapshot(moved).await.unwrap();
        assert_eq!(sealed.load_snapshot("read_models").await.unwrap(), None);

        // A genuine snapshot of another log (the same key, other events at its position):
        // the seal verifies, the chain does not hold its hash.
        let elsewhere = tempfile::tempdir().unwrap();
        let other_log = Arc::new(
            SqliteStore::open(&elsewhere.path().join("verity.db"))
                .await
                .unwrap(),
        );
        other_log
            .append(AppendRequest::new(
                "other-1",
                ExpectedVersion::Any,
                vec![test_event(9), test_event(8)],
            ))
            .await
            .unwrap();
        other_log.save_snapshot(genuine).await.unwrap();
        let sealed_other =
            SealedSnapshots::new(other_log.clone(), other_log.clone(), Some(key.clone()));
        assert_eq!(
            sealed_other.load_snapshot("read_models").await.unwrap(),
            None
        );

        // Without the key nothing is trusted, and nothing is saved.
        let keyless = SealedSnapshots::new(store.clone(), store.clone(), None);
        sealed.save_snapshot(snapshot(3, b"{}")).await.unwrap();
        assert_eq!(keyless.load_snapshot("read_models").await.unwrap(), None);
        keyless.save_snapshot(snapshot(1, b"{}")).await.unwrap();
        assert_eq!(
            store
                .load_snapshot("read_models")
                .await
                .unwrap()
                .unwrap()
                .position,
            3
        );
    }
}
