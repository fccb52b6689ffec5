//! Test support: an in-memory expiring store with the port's semantics, for the engine's
//! unit tests. One mutex over every entry makes each operation atomic, as one statement
//! is on the database backends.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use verity_domain::{Counted, CounterKey, Entry, ExpiringStore, NewEntry, StoreError};

/// (kind, key) to the entry: its value, count and expiry.
pub(crate) type Entries = HashMap<(String, String), Entry>;

#[derive(Default)]
pub(crate) struct MemoryStore(Mutex<Entries>);

fn id(kind: &str, key: &str) -> (String, String) {
    (kind.to_owned(), key.to_owned())
}

/// The live entry of (`kind`, `key`) in `entries`, mutable.
fn live<'a>(
    entries: &'a mut Entries,
    kind: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Option<&'a mut Entry> {
    entries
        .get_mut(&id(kind, key))
        .filter(|entry| entry.expires_at > now)
}

/// One more occurrence of a counter (the port's `increment`).
fn increment(entries: &mut Entries, counter: &CounterKey<'_>, now: DateTime<Utc>) -> Counted {
    if let Some(entry) = live(entries, counter.kind, counter.key, now) {
        entry.count += 1;
        return Counted {
            count: entry.count,
            expires_at: entry.expires_at,
        };
    }
    let entry = Entry {
        value: Vec::new(),
        count: 1,
        expires_at: counter.window_expires_at,
    };
    entries.insert(id(counter.kind, counter.key), entry);
    Counted {
        count: 1,
        expires_at: counter.window_expires_at,
    }
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.0.lock().unwrap()
    }

    /// How many entries of `kind` it holds, live or expired.
    pub(crate) fn entries_of(&self, kind: &str) -> usize {
        self.entries()
            .keys()
            .filter(|(entry_kind, _)| entry_kind == kind)
            .count()
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
        let entry = Entry {
            value: value.to_vec(),
            count: 0,
            expires_at,
        };
        self.entries().insert(id(kind, key), entry);
        Ok(())
    }

    async fn put_many(&self, new: &[NewEntry<'_>]) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = new
            .iter()
            .find(|entry| !seen.insert((entry.kind, entry.key)))
        {
            return Err(StoreError::Invalid(format!(
                "{}/{} named twice",
                twice.kind, twice.key
            )));
        }
        let mut entries = self.entries();
        for entry in new {
            let stored = Entry {
                value: entry.value.to_vec(),
                count: 0,
                expires_at: entry.expires_at,
            };
            entries.insert(id(entry.kind, entry.key), stored);
        }
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
        let mut entries = self.entries();
        if live(&mut entries, kind, key, now).is_some() {
            return Ok(false);
        }
        let entry = Entry {
            value: value.to_vec(),
            count: 0,
            expires_at,
        };
        entries.insert(id(kind, key), entry);
        Ok(true)
    }

    async fn get(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(live(&mut self.entries(), kind, key, now).map(|entry| entry.value.clone()))
    }

    async fn get_many(
        &self,
        keys: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Entry>>, StoreError> {
        let mut entries = self.entries();
        Ok(keys
            .iter()
            .map(|(kind, key)| live(&mut entries, kind, key, now).cloned())
            .collect())
    }

    async fn take(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let taken = self.entries().remove(&id(kind, key));
        Ok(taken
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.value))
    }

    async fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        self.entries().remove(&id(kind, key));
        Ok(())
    }

    async fn increment(
        &self,
        kind: &str,
        key: &str,
        window_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let counter = CounterKey {
            kind,
            key,
            window_expires_at,
        };
        Ok(increment(&mut self.entries(), &counter, now).count)
    }

    async fn increment_many(
        &self,
        counters: &[CounterKey<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Counted>, StoreError> {
        let mut entries = self.entries();
        Ok(counters
            .iter()
            .map(|counter| increment(&mut entries, counter, now))
            .collect())
    }

    async fn decrement_many(
        &self,
        counters: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut entries = self.entries();
        for (kind, key) in counters {
            if let Some(entry) = live(&mut entries, kind, key, now) {
                entry.count = entry.count.saturating_sub(1);
            }
        }
        Ok(())
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
        let mut entries = self.entries();
        match live(&mut entries, kind, key, now) {
            Some(entry) if entry.count >= at_least => {
                entry.value = value.to_vec();
                entry.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
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
        let mut entries = self.entries();
        match live(&mut entries, kind, key, now) {
            Some(entry) if entry.value == expected => {
                entry.value = value.to_vec();
                entry.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn count(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(live(&mut self.entries(), kind, key, now).map_or(0, |entry| entry.count))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, entry| entry.expires_at > now);
        Ok((before - entries.len()) as u64)
    }
}
