//! The [`Projection`] trait: a read model as a fold over the log.

use serde::{Serialize, de::DeserializeOwned};
use verity_domain::store::PersonalReads;
use verity_domain::{DecodeError, RecordedEvent};

/// A read model folded from the event log.
///
/// `apply` is called once per event, in log order, from position 1 (or from the position
/// of a snapshot). It must skip event types it does not know — the log grows new types
/// all the time — and fail only when an event of a type it knows cannot be read. The
/// state is serialised (as JSON) into snapshots, so a change to its shape or meaning must
/// bump [`Projection::VERSION`], which throws old snapshots away.
pub trait Projection: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name under which snapshots are stored.
    const NAME: &'static str;
    /// Version of the projection's code; a snapshot of another version is not used.
    const VERSION: u32;
    /// What `apply` reads of the personal data in events: the store opens only that
    /// (ADR 0010), and hands the rest over as stored. A projection that names a type
    /// here must not read that type's personal values, or any client address when it
    /// says it does not; every value is opened by default.
    const PERSONAL_READS: PersonalReads = PersonalReads::ALL;

    /// Folds one event into the state. On error the state is left as it was.
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError>;

    /// Takes from `template` what the fold is configured with rather than what it reads
    /// from the log (how long marks are kept): the projector calls it on each state it
    /// starts from, empty or read from a snapshot. Most projections take nothing.
    fn configure_like(&mut self, _template: &Self) {}
}
