//! The event-store port. Backends (SQLite, PostgreSQL) live in `verity-store` and pass one
//! shared contract test suite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::event::{NewEvent, RecordedEvent};

/// What a reader of the whole log reads of the personal data in it (which fields are
/// personal: [`crate::personal`]), so that a store that seals personal data opens only
/// that: a fold of the read models reads a person's address and name but not where each
/// sign-in came from, and opening what it does not read would cost a replay most of what
/// sealing costs it (ADR 0010). What it does not read is handed over as stored: sealed
/// text where a value would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalReads {
    /// Event types none of whose personal values the reader reads.
    pub unread_types: &'static [&'static str],
    /// Whether it reads the client address in events' metadata.
    pub client_addresses: bool,
}

impl PersonalReads {
    /// Every personal value, as every reader but a fold needs (history, export, a
    /// person's record).
    pub const ALL: Self = Self {
        unread_types: &[],
        client_addresses: true,
    };

    /// Whether the reader reads the personal values of events of `event_type`.
    pub fn reads_type(&self, event_type: &str) -> bool {
        !self.unread_types.contains(&event_type)
    }
}

/// What the writer believes the stream's current version to be (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// The version a stream at `current` (0 = no stream) satisfies, or `None` when it
    /// does not.
    pub fn accepts(self, current: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current == 0,
            Self::Exact(version) => current == version,
        }
    }
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => formatter.write_str("any"),
            Self::NoStream => formatter.write_str("no stream"),
            Self::Exact(version) => write!(formatter, "{version}"),
        }
    }
}

/// A key that must be unique across the whole log, e.g. `email:<org>:<normalised email>`.
/// Claimed and released atomically with the events of an append.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey(pub String);

impl std::fmt::Display for UniqueKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// One atomic append: all events and key changes commit together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// The stream to append to.
    pub stream: String,
    /// The version the stream must be at.
    pub expected: ExpectedVersion,
    /// The events, in order. May be empty when only keys change.
    pub events: Vec<NewEvent>,
    /// Keys to claim for this stream; an error when another stream holds one.
    pub claims: Vec<UniqueKey>,
    /// Keys this stream gives up.
    pub releases: Vec<UniqueKey>,
    /// Persons' data keys (sealed under the master key) made for this append's personal
    /// data, stored in the same transaction: the append is refused
    /// ([`StoreError::PersonKeyExists`]) and leaves no trace when one of these people
    /// has a key or an erasure stored already (`personal::PersonKeys`).
    pub person_keys: Vec<(Uuid, Vec<u8>)>,
}

impl AppendRequest {
    /// An append of events without unique keys.
    pub fn new(
        stream: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        Self {
            stream: stream.into(),
            expected,
            events,
            claims: Vec::new(),
            releases: Vec::new(),
            person_keys: Vec::new(),
        }
    }
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Global position of the last event appended (the log's head when the append
    /// committed, if it appended nothing).
    pub position: u64,
    /// The stream's version after the append.
    pub stream_version: u64,
}

/// Why the store refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream moved on since the writer read it.
    #[error("conflict on stream {stream}: expected version {expected}, found {actual}")]
    Conflict {
        /// The stream.
        stream: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's actual version (0 = no stream).
        actual: u64,
    },
    /// Another stream holds a unique key this append claims.
    #[error("unique key {key} is already taken")]
    UniqueKeyTaken {
        /// The key.
        key: UniqueKey,
    },
    /// A person this append makes a data key for has one (or an erasure) stored already:
    /// another process made it first. The sealing store reads it and seals again.
    #[error("person {subject} has a data key already")]
    PersonKeyExists {
        /// The person.
        subject: Uuid,
    },
    /// The request itself is malformed (e.g. an empty stream name or invalid JSON data).
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The database holds something this binary cannot read.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The database belongs to another application or a newer Verity.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    /// The database could not be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// The event-store port.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends atomically; positions are assigned in commit order, without gaps.
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError>;

    /// Reads one stream from its first event.
    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads the last `limit` events of one stream, the newest first (e.g. the newest
    /// checkpoint, without reading every one).
    async fn read_stream_back(
        &self,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads at most `limit` events with a position greater than `after`, in order.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads as [`read_all`](Self::read_all) for a reader that reads only `reads` of the
    /// personal data in events: a store that seals personal data may hand over what it
    /// does not read as stored. A store that seals nothing reads as `read_all`, as this
    /// default does.
    async fn read_all_for(
        &self,
        after: u64,
        limit: usize,
        reads: PersonalReads,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let _ = reads;
        self.read_all(after, limit).await
    }

    /// The position of the last committed event (0 for an empty log).
    async fn head(&self) -> Result<u64, StoreError>;

    /// The first and the last position of the events recorded at or after `from` and
    /// before `to` (either open when `None`), every such event lying between them; `None`
    /// when the log holds none. Events are recorded in about the order of their positions
    /// but not exactly (several nodes, each its own clock), so a reader of the range still
    /// checks each event's time. A store that cannot tell answers the whole log, as this
    /// default does.
    async fn recorded_within(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let _ = (from, to);
        Ok(Some((1, u64::MAX)))
    }

    /// Waits until the head is beyond `position`, or `timeout` passed; returns the head.
    /// Sees appends of other processes too (PostgreSQL: LISTEN/NOTIFY; SQLite: polling).
    async fn wait_beyond(&self, position: u64, timeout: Duration) -> Result<u64, StoreError>;
}

/// A projection's saved state: where it stood in the log and under which version of its
/// code. A changed version forces a rebuild from position 0.
///
/// `hash` and `seal` bind it to the chain: the hash of the event at `position`, and a
/// signature over everything else made with a key the database does not hold, so a
/// snapshot written into the database by anyone else is refused (`verity-audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The projection's name.
    pub name: String,
    /// The projection's code version when the snapshot was taken.
    pub version: u32,
    /// The last position folded into it.
    pub position: u64,
    /// The serialised state.
    pub data: Vec<u8>,
    /// The hash (hex) of the event at `position`; empty when not bound to the chain.
    pub hash: String,
    /// The seal over name, version, position, hash and data; empty when unsealed.
    pub seal: Vec<u8>,
}

/// Where projections keep their snapshots (the same database as the log).
#[async_trait]
pub trait SnapshotStore: Send + Sync + 'static {
    /// The latest snapshot of a projection, if any.
    async fn load_snapshot(&self, name: &str) -> Result<Option<Snapshot>, StoreError>;
    /// Replaces a projection's snapshot. Takes the snapshot by value: its data (tens of
    /// MiB for a large organization) moves into the query instead of being copied.
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError>;
}
