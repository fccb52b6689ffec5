//! What the Audit section's pages show alike: the organizations an actor may choose
//! from, and an event as a row of a table.

use minijinja::{Value, context};
use uuid::Uuid;
use verity_admin::history::HistoryEntry;
use verity_admin::{Permission, Scope};

use super::time::second;
use crate::console::session::Console;
use crate::state::AdminState;

/// The organizations whose people the actor may read, by id and name.
pub(super) fn readable_organizations(state: &AdminState, console: &Console) -> Vec<(Uuid, String)> {
    let actor = &console.actor;
    state
        .admin
        .organizations(actor)
        .into_iter()
        .filter(|org| actor.may(Permission::ReadPeople, Scope::Organization(org.org_id)))
        .map(|org| (org.org_id, org.name))
        .collect()
}

/// Organizations as a form's choices, `selected` marked.
pub(super) fn organization_choices(orgs: &[(Uuid, String)], selected: &str) -> Vec<Value> {
    orgs.iter()
        .map(|(org_id, name)| {
            let value = org_id.to_string();
            let selected = value == selected;
            context! { value, name, selected }
        })
        .collect()
}

/// An event as a row of a table: what, when, who, from where, with which browser.
pub(super) fn entry_row(entry: &HistoryEntry, about: Option<&str>) -> Value {
    context! {
        position => entry.position,
        what => &entry.description,
        event_type => &entry.event_type,
        when => second(entry.at),
        who => entry.actor.describe(),
        from => entry.client_ip.as_deref().unwrap_or("—"),
        browser => entry.user_agent.as_deref().unwrap_or("—"),
        about,
    }
}
