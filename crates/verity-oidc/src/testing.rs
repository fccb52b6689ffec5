//! Test support: an in-memory expiring store with the port's semantics, for the engine's
//! unit tests.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use verity_domain::{Entry, ExpiringStore, StoreError};

/// (kind, key) to (value, expiry).
pub(crate) type Entries = HashMap<(String, String), (Vec<u8>, DateTime<Utc>)>;

#[derive(Default)]
pub(crate) struct MemoryStore(Mutex<Entries>);

impl MemoryStore {
    /// How many entries of `kind` it holds, live or expired.
    pub(crate) fn entries_of(&self, kind: &str) -> usize {
        let entries = self.0.lock().unwrap();
        entries
            .keys()
            .filter(|(entry_kind, _)| entry_kind == kind)
            .count()
    }

    fn live(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Option<Vec<u8>> {
        let entries = self.0.lock().unwrap();
        entries
            .get(&(kind.into(), key.into()))
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(value, _)| value.clone())
    }
}

#[async_trait]
impl ExpiringStore for MemoryStore {
    async fn put(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut entries = self.0.lock().unwrap();
        entries.insert((kind.into(), key.into()), (value.to_vec(), expires_at));
        Ok(())
    }

    async fn put_new(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if self.live(kind, key, now).is_some() {
            return Ok(false);
        }
        self.put(kind, key, value, expires_at).await?;
        Ok(true)
    }

    async fn get(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.live(kind, key, now))
    }

    async fn get_many(
        &self,
        keys: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Entry>>, StoreError> {
        // Counters hold their count as the value (see `increment`).
        Ok(keys
            .iter()
            .map(|(kind, key)| {
                self.live(kind, key, now).map(|value| Entry {
                    count: value.as_slice().try_into().map_or(0, u64::from_le_bytes),
                    value,
                })
            })
            .collect())
    }

    async fn take(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.live(kind, key, now);
        self.remove(kind, key).await?;
        Ok(value)
    }

    async fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(&(kind.into(), key.into()));
        Ok(())
    }

    async fn increment(
        &self,
        kind: &str,
        key: &str,
        window_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let count = match self.live(kind, key, now) {
            Some(value) => u64::from_le_bytes(value.try_into().unwrap()) + 1,
            None => 1,
        };
        let mut entries = self.0.lock().unwrap();
        let expires_at = entries
            .get(&(kind.into(), key.into()))
            .filter(|(_, expires_at)| *expires_at > now)
            .map_or(window_expires_at, |(_, expires_at)| *expires_at);
        entries.insert(
            (kind.into(), key.into()),
            (count.to_le_bytes().to_vec(), expires_at),
        );
        Ok(count)
    }

    async fn count(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self
            .live(kind, key, now)
            .map_or(0, |value| u64::from_le_bytes(value.try_into().unwrap())))
    }

    async fn purge_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
