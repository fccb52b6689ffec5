//! [`SealedStore`] as every port of the store: the log through the seal, the rest
//! handed down unchanged.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::personal::{KeysInOrder, PersonKeys, StoredKey};
use verity_domain::store::PersonalReads;
use verity_domain::{
    AppendOutcome, AppendRequest, Counted, CounterKey, Entry, EventStore, ExpiringStore, NewEntry,
    RecordedEvent, Snapshot, SnapshotStore, StoreError, UniqueKey,
};

use super::{Known, SealedStore};

/// How many times an append seals again because another process made a person's key
/// first (each time it reads the key stored first and seals with it).
const MAKE_KEY_TRIES: u32 = 3;

#[async_trait]
impl EventStore for SealedStore {
    async fn append(&self, mut request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let claims = request.claims.clone();
        let erasure = self.erasure_in(&request);
        let mut tries = 0;
        let outcome = loop {
            let sealed = self.seal(request).await?;
            match self.inner.append(sealed.request).await {
                Ok(outcome) => {
                    // Stored with the events: from now on they are the people's keys.
                    for made in sealed.made {
                        self.remember(made.subject, Known::Key(made.key));
                    }
                    break outcome;
                }
                // Another process stored a key for one of them first: it is read, and
                // the request sealed again with it.
                Err(StoreError::PersonKeyExists { subject })
                    if tries < MAKE_KEY_TRIES
                        && let Some(unsealed) = sealed.unsealed =>
                {
                    tracing::debug!(%subject, "another process made this person's key first");
                    self.load(&[subject]).await?;
                    tries += 1;
                    request = unsealed;
                }
                // The error names the claim as the caller made it, not its hash.
                Err(StoreError::UniqueKeyTaken { key }) => {
                    return Err(StoreError::UniqueKeyTaken {
                        key: claims
                            .into_iter()
                            .find(|claim| self.hashed_key(claim) == key)
                            .unwrap_or(key),
                    });
                }
                Err(other) => return Err(other),
            }
        };
        // Recorded, so the key goes: if this fails, the next read of the erasure (this
        // node's own read models, a moment later) destroys it.
        if let Some((subject, at)) = erasure
            && let Err(error) = self.erase(subject, at).await
        {
            tracing::error!(%subject, %error, "the erasure is recorded but its key is not destroyed yet");
        }
        Ok(outcome)
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_stream(stream).await?;
        self.open_all(&mut events, PersonalReads::ALL).await?;
        Ok(events)
    }

    async fn read_stream_back(
        &self,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_stream_back(stream, limit).await?;
        self.open_all(&mut events, PersonalReads::ALL).await?;
        Ok(events)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_all_for(after, limit, PersonalReads::ALL).await
    }

    async fn read_all_for(
        &self,
        after: u64,
        limit: usize,
        reads: PersonalReads,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_all(after, limit).await?;
        self.open_all(&mut events, reads).await?;
        Ok(events)
    }

    async fn head(&self) -> Result<u64, StoreError> {
        self.inner.head().await
    }

    async fn recorded_within(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        self.inner.recorded_within(from, to).await
    }

    async fn wait_beyond(&self, position: u64, timeout: Duration) -> Result<u64, StoreError> {
        self.inner.wait_beyond(position, timeout).await
    }
}

#[async_trait]
impl SnapshotStore for SealedStore {
    async fn load_snapshot(&self, name: &str) -> Result<Option<Snapshot>, StoreError> {
        self.inner.load_snapshot(name).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(snapshot).await
    }
}

#[async_trait]
impl PersonKeys for SealedStore {
    async fn person_keys(&self, subjects: &[Uuid]) -> Result<Vec<(Uuid, StoredKey)>, StoreError> {
        self.inner.person_keys(subjects).await
    }

    async fn person_keys_in_order(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<KeysInOrder, StoreError> {
        self.inner.person_keys_in_order(after, limit).await
    }

    async fn add_person_key(
        &self,
        subject: Uuid,
        sealed: Vec<u8>,
    ) -> Result<StoredKey, StoreError> {
        self.inner.add_person_key(subject, sealed).await
    }

    async fn erase_person_key(&self, subject: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.erase(subject, at).await
    }

    async fn unique_keys_like(&self, prefix: &str) -> Result<Vec<UniqueKey>, StoreError> {
        self.inner.unique_keys_like(prefix).await
    }

    async fn rename_unique_keys(
        &self,
        renames: &[(UniqueKey, UniqueKey)],
    ) -> Result<(), StoreError> {
        self.inner.rename_unique_keys(renames).await
    }
}

#[async_trait]
impl ExpiringStore for SealedStore {
    async fn put(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.put(kind, key, value, expires_at).await
    }

    async fn put_many(&self, entries: &[NewEntry<'_>]) -> Result<(), StoreError> {
        self.inner.put_many(entries).await
    }

    async fn put_new(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.put_new(kind, key, value, expires_at, now).await
    }

    async fn get(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(kind, key, now).await
    }

    async fn get_many(
        &self,
        keys: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Entry>>, StoreError> {
        self.inner.get_many(keys, now).await
    }

    async fn take(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.take(kind, key, now).await
    }

    async fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        self.inner.remove(kind, key).await
    }

    async fn increment(
        &self,
        kind: &str,
        key: &str,
        window_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner
            .increment(kind, key, window_expires_at, now)
            .await
    }

    async fn increment_many(
        &self,
        counters: &[CounterKey<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Counted>, StoreError> {
        self.inner.increment_many(counters, now).await
    }

    async fn decrement_many(
        &self,
        counters: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.decrement_many(counters, now).await
    }

    async fn hold(
        &self,
        kind: &str,
        key: &str,
        at_least: u64,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner
            .hold(kind, key, at_least, value, expires_at, now)
            .await
    }

    async fn replace(
        &self,
        kind: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner
            .replace(kind, key, expected, value, expires_at, now)
            .await
    }

    async fn count(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.count(kind, key, now).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
}
