//! [`Store`]: every port of the database as one object, what the binary hands around.

use verity_domain::personal::PersonKeys;
use verity_domain::{EventStore, ExpiringStore, SnapshotStore};

/// Every port of the database, as one object.
pub trait Store: EventStore + SnapshotStore + ExpiringStore + PersonKeys {}
impl<T: EventStore + SnapshotStore + ExpiringStore + PersonKeys> Store for T {}
