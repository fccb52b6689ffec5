//! Verity's read side: read models folded from the event log, and the [`Projector`] that
//! keeps them current.
//!
//! - A [`Projection`] is a pure fold over [`RecordedEvent`]s. It can always be thrown
//!   away and rebuilt from position 0; events of types it does not know are skipped.
//! - [`ReadModels`] bundles every read model ([`Organizations`], [`Users`], [`Clients`],
//!   [`Keys`], [`Sessions`], the back-channel [`Outbox`], [`Roles`], [`ScimTokens`]) so that one projector drives
//!   them all.
//! - [`Projector`] starts from the latest snapshot plus the log tail, follows the log
//!   live, saves snapshots as it goes, and lets a caller wait until its own write is
//!   visible ([`Projector::wait_for`]).
//! - [`rebuild`] folds the whole log without snapshots, for `verity replay`.
//!
//! This crate knows nothing of SQL or HTTP: it reads the log through the
//! [`verity_domain::EventStore`] and [`verity_domain::SnapshotStore`] ports.
//!
//! [`RecordedEvent`]: verity_domain::RecordedEvent

pub mod clients;
mod decode;
pub mod keys;
pub mod mfa;
pub mod organizations;
pub mod outbox;
pub mod people_text;
mod projection;
mod projector;
mod read_ahead;
mod read_models;
pub mod roles;
pub mod scim_tokens;
pub mod sessions;
pub mod users;

pub use clients::{ClientView, Clients};
pub use keys::{KeyState, KeyView, Keys};
pub use mfa::{DeviceState, DeviceView, MfaView, RecoveryCodeView, TotpView};
pub use organizations::{OrganizationView, Organizations};
pub use outbox::{DeliveryStatus, Notice, Outbox};
pub use people_text::{TextMatches, TextQuery};
pub use projection::Projection;
pub use projector::{ProjectionError, Projector, ProjectorOptions, rebuild, rebuild_like};
pub use read_models::ReadModels;
pub use roles::{RoleAssignment, Roles};
pub use scim_tokens::{ScimTokenView, ScimTokens};
pub use sessions::{SessionView, Sessions};
pub use users::{
    PasswordState, PasswordStatus, PersonSummary, Profile, UserView, Users, load_person,
};
