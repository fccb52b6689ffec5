//! The hash chain that makes the log tamper-evident.
//!
//! Each event's hash is `SHA-256(previous hash || canonical bytes)`, the previous hash of
//! the first event being 32 zero bytes. The canonical bytes are a fixed, length-prefixed
//! encoding of everything the event says: position, stream, version, type, schema, data,
//! metadata and the recording time (microseconds since the Unix epoch). Changing, removing,
//! inserting or reordering any event changes every hash from there on.

use sha2::{Digest, Sha256};
use verity_domain::{EventStore, RecordedEvent, StoreError};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The "previous hash" of the first event.
pub const GENESIS: Hash = [0; 32];

/// Domain separation tag, so these bytes can never be mistaken for another structure.
const TAG: &[u8] = b"verity.event.v1\0";

/// The fields the hash covers, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    /// Global position.
    pub position: u64,
    /// Stream name.
    pub stream: &'a str,
    /// Version within the stream.
    pub version: u64,
    /// Type name.
    pub event_type: &'a str,
    /// Schema version.
    pub schema: u32,
    /// Payload JSON text.
    pub data: &'a str,
    /// Metadata JSON text.
    pub metadata: &'a str,
    /// Recording time, microseconds since the epoch.
    pub recorded_at_micros: i64,
}

impl<'a> EventFields<'a> {
    /// The fields of a recorded event.
    pub fn of(event: &'a RecordedEvent) -> Self {
        Self {
            position: event.position,
            stream: &event.stream,
            version: event.version,
            event_type: &event.event_type,
            schema: event.schema,
            data: &event.data,
            metadata: &event.metadata,
            recorded_at_micros: event.recorded_at.timestamp_micros(),
        }
    }

    /// Computes this event's hash given the previous one.
    pub fn hash(&self, previous: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(previous);
        hasher.update(TAG);
        hasher.update(self.position.to_be_bytes());
        hasher.update(self.version.to_be_bytes());
        hasher.update(self.schema.to_be_bytes());
        hasher.update(self.recorded_at_micros.to_be_bytes());
        for text in [self.stream, self.event_type, self.data, self.metadata] {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A position is missing or out of order (a deleted or inserted row).
    #[error(
        "position {found} follows position {previous}: event {expected} is missing or out of order"
    )]
    Gap {
        /// The last good position.
        previous: u64,
        /// The position that should have come next.
        expected: u64,
        /// The position that came.
        found: u64,
    },
    /// The stored hash does not match the event's content and predecessor.
    #[error(
        "event {position}: stored hash does not match its content and the previous hash (altered, swapped or inserted)"
    )]
    HashMismatch {
        /// The event.
        position: u64,
    },
    /// A stream's versions do not follow each other.
    #[error("event {position}: stream {stream} jumps from version {previous} to {found}")]
    VersionGap {
        /// The event.
        position: u64,
        /// Its stream.
        stream: String,
        /// The stream's previous version.
        previous: u64,
        /// The version found.
        found: u64,
    },
}

/// Why verification could not complete.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken.
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    /// The store failed while reading.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A verified chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// How many events were checked.
    pub events: u64,
    /// The head hash, hex (the genesis value for an empty log).
    pub head: String,
}

/// Checks events one at a time, in position order.
#[derive(Debug)]
pub struct ChainVerifier {
    previous_position: u64,
    previous_hash: Hash,
    stream_versions: std::collections::HashMap<String, u64>,
    /// Resumed after a trusted head: the versions of streams seen before it are unknown,
    /// so a stream's first event after it sets its version instead of being checked.
    resumed: bool,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            previous_position: 0,
            previous_hash: GENESIS,
            stream_versions: std::collections::HashMap::new(),
            resumed: false,
        }
    }
}

impl ChainVerifier {
    /// Goes on from a head already known good (a signed checkpoint whose event the log
    /// still holds): the next event must be `position + 1` and chain onto `hash`.
    pub fn resume(position: u64, hash: Hash) -> Self {
        Self {
            previous_position: position,
            previous_hash: hash,
            stream_versions: std::collections::HashMap::new(),
            resumed: position > 0,
        }
    }

    /// Checks the next event.
    pub fn check(&mut self, event: &RecordedEvent) -> Result<(), ChainBreak> {
        let expected = self.previous_position + 1;
        if event.position != expected {
            return Err(ChainBreak::Gap {
                previous: self.previous_position,
                expected,
                found: event.position,
            });
        }
        let computed = EventFields::of(event).hash(&self.previous_hash);
        // Compared as bytes: encoding every computed hash to hex would allocate per event.
        if parse_hash(&event.hash) != Some(computed) {
            return Err(ChainBreak::HashMismatch {
                position: event.position,
            });
        }
        // Looked up by `&str` first: only a stream's first event allocates its name.
        match self.stream_versions.get_mut(event.stream.as_str()) {
            Some(version) if event.version == *version + 1 => *version = event.version,
            Some(version) => {
                return Err(ChainBreak::VersionGap {
                    position: event.position,
                    stream: event.stream.clone(),
                    previous: *version,
                    found: event.version,
                });
            }
            None if event.version == 1 || self.resumed => {
                self.stream_versions
                    .insert(event.stream.clone(), event.version);
            }
            None => {
                return Err(ChainBreak::VersionGap {
                    position: event.position,
                    stream: event.stream.clone(),
                    previous: 0,
                    found: event.version,
                });
            }
        }
        self.previous_position = event.position;
        self.previous_hash = computed;
        Ok(())
    }

    /// The last position checked (or resumed from).
    pub fn position(&self) -> u64 {
        self.previous_position
    }

    /// The hash of the last event checked (or resumed from).
    pub fn head_hash(&self) -> &Hash {
        &self.previous_hash
    }

    /// The report for what was checked so far.
    pub fn report(&self) -> ChainReport {
        ChainReport {
            events: self.previous_position,
            head: hex::encode(self.previous_hash),
        }
    }
}

/// A hash from its hex form (either case), or `None` when it is not 64 hex digits.
pub fn parse_hash(hex_text: &str) -> Option<Hash> {
    let mut hash = [0; 32];
    hex::decode_to_slice(hex_text, &mut hash).ok()?;
    Some(hash)
}

/// Page size when reading the whole log.
pub const PAGE: usize = 10_000;

/// Recomputes the whole chain from position 1; `progress` is called after each page with
/// the last position checked.
pub async fn verify(
    store: &dyn EventStore,
    mut progress: impl FnMut(u64),
) -> Result<ChainReport, VerifyError> {
    let mut verifier = ChainVerifier::default();
    loop {
        let page = store.read_all(verifier.previous_position, PAGE).await?;
        if page.is_empty() {
            return Ok(verifier.report());
        }
        for event in &page {
            verifier.check(event)?;
        }
        progress(verifier.previous_position);
    }
}
