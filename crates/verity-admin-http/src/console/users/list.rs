//! The Users page: "Search users" (part of an address or a name, in any case), a status
//! filter, one organization at a time, a page at a time (the admin layer's cursor); a
//! table of address, name, status, authenticator app and last sign-in. The admin layer
//! reads only the page it shows (and counts the matches); no list is loaded whole.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;
use verity_admin::people::Status;
use verity_admin::search::PeopleQuery;
use verity_admin::{OrgRef, Permission, Person, Scope};

use crate::console::error::{ConsoleError, encode};
use crate::console::pages::{Section, minute};
use crate::console::session::Console;
use crate::console::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// People per page.
const PAGE: usize = 50;

/// The page's query: `org`, `q`, `status`, `after` (the cursor), and what was just done
/// (`done=erase`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Search {
    org: Option<String>,
    q: Option<String>,
    status: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// A person as a row of the table.
pub(super) fn row(person: &Person) -> Value {
    let disabled = person.status == Status::Disabled;
    context! {
        user_id => person.user_id.to_string(),
        email => person.email.as_str(),
        name => &person.name,
        status => if disabled { CONSOLE.disabled } else { CONSOLE.active },
        disabled,
        authenticator => if person.has_authenticator {
            CONSOLE.authenticator_set_up
        } else {
            CONSOLE.authenticator_missing
        },
        last_sign_in => person.last_sign_in.map_or_else(|| CONSOLE.never.to_owned(), minute),
    }
}

/// `GET /console/users`.
pub(super) async fn page(
    State(state): State<AdminState>,
    console: Console,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    let actor = &console.actor;
    // The organizations whose people the admin layer lets the admin read.
    let orgs: Vec<(Uuid, String)> = state
        .admin
        .organizations(actor)
        .into_iter()
        .filter(|org| actor.may(Permission::ReadPeople, Scope::Organization(org.org_id)))
        .map(|org| (org.org_id, org.name))
        .collect();
    let own_org = state
        .app
        .engine
        .person(console.session.user_id)
        .map(|person| person.org_id);
    let org = match search.org.as_deref().filter(|org| !org.is_empty()) {
        Some(org) => OrgRef::parse(org),
        None => match orgs
            .iter()
            .find(|(org_id, _)| Some(*org_id) == own_org)
            .or_else(|| orgs.first())
        {
            Some((org_id, _)) => OrgRef::Id(*org_id),
            None => return Err(ConsoleError::no_such_page()),
        },
    };
    let text = search.q.unwrap_or_default();
    let status = match search.status.as_deref() {
        Some("active") => Some(Status::Active),
        Some("disabled") => Some(Status::Disabled),
        _ => None,
    };
    let after = search.after.filter(|after| !after.is_empty());
    let org_id = state.admin.organization(actor, &org)?.org_id;
    let found = state.admin.search_people(
        actor,
        &PeopleQuery {
            org: OrgRef::Id(org_id),
            text: text.clone(),
            status,
            after: after.clone(),
            limit: PAGE,
        },
    )?;
    let status_text = status.map(Status::as_str).unwrap_or_default();
    let link = |after: Option<&str>| {
        let mut link = format!(
            "/console/users?org={org_id}&q={}&status={status_text}",
            encode(&text)
        );
        if let Some(after) = after {
            link.push_str(&format!("&after={}", encode(after)));
        }
        link
    };
    let people: Vec<Value> = found.people.iter().map(row).collect();
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|(org_id, name)| context! { org_id => org_id.to_string(), name })
        .collect();
    console.page(
        &state,
        Section::Users,
        "users.html",
        context! {
            orgs,
            org => org_id.to_string(),
            q => &text,
            status => status_text,
            people,
            found => fill(CONSOLE.people_found, &[("count", &found.total.to_string())]),
            next => found.next.as_deref().map(|next| link(Some(next))),
            first => after.is_some().then(|| link(None)),
            may_create => actor.may(Permission::ManagePeople, Scope::Organization(org_id)),
            notice => (search.done.as_deref() == Some("erase")).then_some(CONSOLE.done_erase),
        },
    )
}
