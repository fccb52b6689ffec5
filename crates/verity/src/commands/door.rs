//! What the admin commands share as a door to the admin layer: the operator acting at
//! the time the command was given, how a person is named on the command line, and the one
//! line an error becomes.

use verity_admin::{Actor, Admin, AdminError, Call, Missing, OrgRef, PersonRef};

use crate::admin::{cli_call, operator};
use crate::app::App;

/// The admin layer as one command uses it.
pub(super) struct AdminCli {
    /// The admin layer over the configured store.
    pub admin: Admin,
    /// The operator, an instance admin.
    pub operator: Actor,
    /// The command's one call.
    pub call: Call,
    /// One JSON line per result instead of text.
    pub json: bool,
}

impl AdminCli {
    /// The admin layer of `app`, with the operator acting now.
    pub fn new(app: &App, json: bool) -> Self {
        Self {
            admin: app.admin(),
            operator: operator(),
            call: cli_call(),
            json,
        }
    }
}

/// A person as the CLI names them: by address in an organization (name or id).
pub(super) fn person(org: &str, email: &str) -> PersonRef {
    PersonRef::Email {
        org: OrgRef::parse(org),
        email: email.to_owned(),
    }
}

/// A person by address (or user id) in an organization: an id finds people the read
/// models forgot (deleted or erased) where the admin layer allows it.
pub(super) fn named(org: &str, who: &str) -> PersonRef {
    uuid::Uuid::parse_str(who).map_or_else(|_| person(org, who), PersonRef::Id)
}

/// The CLI's one line for an error of the admin layer: what it says, and for something
/// not found, the command that lists what there is.
pub(super) fn cli_error(error: AdminError) -> anyhow::Error {
    let list = match &error {
        AdminError::NotFound(Missing::Organization(_)) => Some("verity org list"),
        AdminError::NotFound(Missing::Client(_)) => Some("verity client list"),
        _ => None,
    };
    match list {
        Some(list) => anyhow::anyhow!("{error} (see `{list}`)"),
        None => error.into(),
    }
}
