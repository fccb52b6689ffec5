//! The events' search: by type (or its start), by who did it, by organization and by time
//! range, oldest first, a page at a time (the admin layer's cursor,
//! `verity_admin::audit::events`), which keeps to what the actor may read.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use verity_admin::audit::events::EventQuery;
use verity_admin::{OrgRef, PersonRef};

use super::time::{instant, typed};
use super::view::{entry_row, organization_choices, readable_organizations};
use crate::console::error::{ConsoleError, encode};
use crate::console::pages::Section;
use crate::console::session::Console;
use crate::state::AdminState;

/// Events per page.
const PAGE: usize = 100;

/// The page's query, as the form sends it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Search {
    #[serde(rename = "type")]
    event_type: Option<String>,
    actor: Option<String>,
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<u64>,
}

/// A part of the query, trimmed; empty is none.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// `GET /console/audit/events`.
pub(super) async fn page(
    State(state): State<AdminState>,
    console: Console,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    let event_type = given(search.event_type.as_deref());
    let actor_email = given(search.actor.as_deref());
    let org = given(search.org.as_deref());
    let from = instant(search.from.as_deref())?;
    let to = instant(search.to.as_deref())?;
    let query = EventQuery {
        event_type: event_type.map(str::to_owned),
        actor: actor_email.map(|email| PersonRef::Address(email.to_owned())),
        org: org.map(OrgRef::parse),
        from,
        to,
        after: search.after,
        limit: PAGE,
    };
    let found = state.admin.search_events(&console.actor, &query).await?;
    let events: Vec<Value> = found
        .events
        .iter()
        .map(|action| entry_row(&action.entry, Some(&action.subject)))
        .collect();
    let exact = |time: Option<chrono::DateTime<chrono::Utc>>| {
        time.map(|time| time.to_rfc3339()).unwrap_or_default()
    };
    let later = found.next.map(|after| {
        format!(
            "/console/audit/events?type={}&actor={}&org={}&from={}&to={}&after={after}",
            encode(event_type.unwrap_or_default()),
            encode(actor_email.unwrap_or_default()),
            encode(org.unwrap_or_default()),
            encode(&exact(from)),
            encode(&exact(to)),
        )
    });
    let orgs = readable_organizations(&state, &console);
    console.page(
        &state,
        Section::Audit,
        "audit_events.html",
        context! {
            orgs => organization_choices(&orgs, org.unwrap_or_default()),
            event_type => event_type.unwrap_or_default(),
            actor => actor_email.unwrap_or_default(),
            from => typed(from),
            to => typed(to),
            searched => true,
            events,
            later,
        },
    )
}
