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
    /// When it expires (a counter: when its window ends).
    pub expires_at: DateTime<Utc>,
}

/// An entry for [`ExpiringStore::put_many`]: where it goes, what it holds and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEntry<'a> {
    /// What it is.
    pub kind: &'a str,
    /// Which one.
    pub key: &'a str,
    /// What it holds.
    pub value: &'a [u8],
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// A counter for [`ExpiringStore::increment_many`]: which one, and where a window that
/// starts now would end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterKey<'a> {
    /// What it counts.
    pub kind: &'a str,
    /// Whose.
    pub key: &'a str,
    /// The end of the window if this increment starts one.
    pub window_expires_at: DateTime<Utc>,
}

/// A counter just incremented: its count, this increment included, and when its window
/// ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The count.
    pub count: u64,
    /// The end of its window.
    pub expires_at: DateTime<Utc>,
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

    /// Stores several entries as [`put`](Self::put) stores one, in one write (one round
    /// trip, one statement): all of them or, on an error, none. A (`kind`, `key`) named
    /// twice is refused ([`StoreError::Invalid`]) and nothing is stored.
    async fn put_many(&self, entries: &[NewEntry<'_>]) -> Result<(), StoreError>;

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
    /// expired counter starts again at 1 (with an empty value) and a window ending at
    /// `window_expires_at`; a live one is incremented and keeps its window and value.
    /// Atomic across processes.
    async fn increment(
        &self,
        kind: &str,
        key: &str,
        window_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// [`ExpiringStore::increment`] for several distinct counters in one statement (one
    /// round trip): each counts one more occurrence, and the counts come back in the order
    /// asked. Atomic across processes like `increment`: of concurrent increments of one
    /// counter, each gets its own count. A step that reserves an attempt against two limits
    /// at once counts both with it. Naming a counter twice is invalid.
    async fn increment_many(
        &self,
        counters: &[CounterKey<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Counted>, StoreError>;

    /// Takes one occurrence back from each live counter named whose count is above 0, in
    /// one statement: undoes increments that turned out not to count (an attempt that
    /// succeeded). A counter keeps its window.
    async fn decrement_many(
        &self,
        counters: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Holds a live counter whose count is at least `at_least` until `expires_at` (its
    /// window ends then instead), with `value` saying so to whoever reads it: a counter
    /// that reached a limit stays there until the lock ends. Returns false, changing
    /// nothing, when there is no such counter. A counter that starts again after it
    /// expired starts with an empty value.
    async fn hold(
        &self,
        kind: &str,
        key: &str,
        at_least: u64,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Compare-and-set: replaces the value of the live entry (and its expiry) only if it
    /// still holds `expected`. Returns false, changing nothing, when the entry is gone,
    /// expired or holds something else. Atomic across processes: of concurrent
    /// replacements of one value at most one succeeds, so a state read once moves on once.
    async fn replace(
        &self,
        kind: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The count of a live counter without changing it; 0 when there is none or its
    /// window has passed.
    async fn count(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes every entry that expired at or before `now`; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
