//! The expiring-store port: short-lived protocol state that does not belong in the event
//! log (authorization requests, codes, refresh-token rotation bookkeeping, rate-limit
//! counters). It lives in the same database as the log, so every Verity process sharing
//! that database sees the same entries.
//!
//! Every entry has a `kind` (what it is, e.g. `code`) and a `key` (which one) and an
//! expiry. The current time is always passed in (`now`): the port reads no clock, and an
//! entry whose expiry is at or before `now` is treated as absent.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::StoreError;

/// A live entry as [`ExpiringStore::get_many`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What [`ExpiringStore::get`] returns for it.
    pub value: Vec<u8>,
    /// What [`ExpiringStore::count`] returns for it (0 for an entry that is no counter).
    pub count: u64,
}

/// Short-lived state with atomic single-use and counting operations. Backends live in
/// `verity-store` and pass the same contract suite as the event store.
#[async_trait]
pub trait ExpiringStore: Send + Sync + 'static {
    /// Stores `value` under (`kind`, `key`) until `expires_at`, replacing any entry there
    /// (live or expired).
    async fn put(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores `value` only if no live entry holds (`kind`, `key`): an expired one is
    /// replaced. Returns false, changing nothing, when a live entry exists. Atomic across
    /// processes: of several concurrent callers at most one gets true.
    async fn put_new(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The value of the live entry, or `None` when there is none or it expired.
    async fn get(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Several entries in one read (one round trip to the database), in the order asked:
    /// each live one's value and count, `None` where there is none or it expired. A step
    /// that checks several locks before it acts reads them at once.
    async fn get_many(
        &self,
        keys: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Entry>>, StoreError>;

    /// Consumes the entry: removes it and returns its value if it was live. Atomic across
    /// processes: of any number of concurrent takers exactly one gets the value. An
    /// expired entry is removed too, and `None` returned.
    async fn take(
        &self,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes the entry, live or expired, if there is one.
    async fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError>;

    /// Counts one more occurrence in a fixed window and returns the count. A missing or
    /// expired counter starts again at 1 with a window ending at `window_expires_at`; a
    /// live one is incremented and keeps its window. Atomic across processes.
    async fn increment(
        &self,
        kind: &str,
        key: &str,
        window_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The count of a live counter without changing it; 0 when there is none or its
    /// window has passed.
    async fn count(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes every entry that expired at or before `now`; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
