//! Verity's admin application layer (docs/adr/0005-admin-layer.md): every admin command
//! (create, disable, reset, unlock, register a client, rotate keys...) and every admin
//! query (organizations, people, devices, clients, keys) in one place, behind one
//! entrance. Each takes the [`Actor`] (who, through which [`Door`], holding which
//! [`Grant`]s) and the [`Call`] (when, which request), and decides authorization itself
//! ([`authorization`]), so the doors — the CLI, the console, the admin API and SCIM —
//! only translate their input into a call and its typed answer or [`AdminError`] back,
//! and none can forget a check.
//!
//! - [`Admin`]: the ports it works over and its [`Settings`].
//! - [`organizations`], [`people`] (with [`invitations`]: the temporary-password email),
//!   [`search`], [`sessions`], [`history`] (its lines: [`event_lines`]; the auditor's
//!   questions: [`audit`]),
//!   [`devices`], [`erasure`], [`unlock`], [`clients`], [`keys`], [`roles`], [`scim_tokens`]
//!   and [`provisioning`] (with [`people_filter`]): one module per subject;
//!   [`console_client`]: the admin console's own client, which Verity registers.
//!
//! Like the engine it sits beside, it knows nothing of HTTP, the terminal or a concrete
//! store, and reads no clock: `now` comes in with the [`Call`].

pub mod actor;
mod admin;
pub mod audit;
pub mod authorization;
pub mod clients;
pub mod console_client;
pub mod devices;
pub mod erasure;
mod error;
pub mod event_lines;
pub mod history;
pub mod invitations;
pub mod keys;
pub mod organizations;
pub mod people;
pub mod people_filter;
mod permission;
pub mod provisioning;
pub mod roles;
pub mod scim_tokens;
pub mod search;
pub mod sessions;
pub mod unlock;

pub use actor::{Actor, Call, Door, Grant, Principal, Role, Scope};
pub use admin::{Admin, Ports, Settings};
pub use authorization::{Permission, authorize};
pub use error::{AdminError, Missing, Refusal};
pub use organizations::OrgRef;
pub use people::{Person, PersonChanges, PersonRef};
pub use search::{PeoplePage, PeopleQuery};

/// A secret handed out once (a temporary password, a client secret): never in a log or
/// a `Debug` output; the door decides whether to show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that shows or sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(..)")
    }
}
