//! Verity's domain: the events that make up the log, the aggregates whose rules decide
//! which events a command produces, and the ports (such as [`EventStore`]) that the
//! backends implement.
//!
//! This crate knows nothing of SQL, HTTP, the clock or the random number generator: the
//! current time and any random value are passed in through [`Context`] or the command.

pub mod aggregate;
pub mod audit;
pub mod backchannel;
pub mod client;
pub mod email;
pub mod error_chain;
pub mod event;
pub mod expiring;
pub mod grant;
pub mod instance;
pub mod key;
pub mod known_types;
pub mod mfa;
pub mod network;
pub mod organization;
pub mod personal;
pub mod role;
pub mod scim_token;
pub mod session;
pub mod signin;
pub mod store;
pub mod token;
pub mod user;

pub use aggregate::{Aggregate, Context, ExecuteError, execute, load};
pub use email::{Email, EmailError};
pub use event::{Actor, DecodeError, DomainEvent, EventMetadata, NewEvent, RecordedEvent};
pub use expiring::{Counted, CounterKey, Entry, ExpiringStore, NewEntry};
pub use store::{
    AppendOutcome, AppendRequest, EventStore, ExpectedVersion, Snapshot, SnapshotStore, StoreError,
    UniqueKey,
};
