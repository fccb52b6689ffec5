//! The Audit section (auditors and admins; read-only): a person's timeline with their
//! account as it was at any instant ([`person`]), a search of the events by type, actor,
//! organization and time range ([`events`]), and the log's own state — its head, its
//! newest signed checkpoint, its chain recomputed, its export to download ([`log`]). Every page is a `GET` that asks
//! the admin layer (`verity_admin::audit`, `verity_admin::history`), which decides what
//! the actor may read; nothing here changes anything.

mod events;
mod log;
mod person;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use minijinja::{Value, context};
use uuid::Uuid;
use verity_admin::history::HistoryEntry;
use verity_admin::{Permission, Scope};

use super::audit_strings::AUDIT;
use super::error::ConsoleError;
use super::pages::Section;
use super::session::Console;
use crate::state::AdminState;

/// The Audit section's routes.
pub(super) fn router() -> Router<AdminState> {
    Router::new()
        .route("/console/audit", get(home))
        .route("/console/audit/person", get(person::page))
        .route("/console/audit/events", get(events::page))
        .route("/console/audit/chain", get(log::chain))
        .route("/console/audit/export", get(log::export))
}

/// The organizations whose people the actor may read, by id and name.
fn readable_organizations(state: &AdminState, console: &Console) -> Vec<(Uuid, String)> {
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
fn organization_choices(orgs: &[(Uuid, String)], selected: &str) -> Vec<Value> {
    orgs.iter()
        .map(|(org_id, name)| {
            let value = org_id.to_string();
            let selected = value == selected;
            context! { value, name, selected }
        })
        .collect()
}

/// Whether the actor may read the whole log (its chain and its export).
fn reads_whole_log(console: &Console) -> bool {
    console.actor.may(Permission::ReadLog, Scope::Instance)
}

/// `GET /console/audit`: the forms of the section, and the log's head for those who may
/// read it.
async fn home(State(state): State<AdminState>, console: Console) -> Result<Response, ConsoleError> {
    let orgs = readable_organizations(&state, &console);
    let (head, checkpoint) = if reads_whole_log(&console) {
        let head = state.admin.log_head(&console.actor).await?;
        let checkpoint = log::checkpoint_line(&head, console.call().now);
        (Some(log::head_line(&head)), Some(checkpoint))
    } else {
        (None, None)
    };
    console.page(
        &state,
        Section::Audit,
        "audit.html",
        context! {
            orgs => organization_choices(&orgs, ""),
            head,
            checkpoint,
        },
    )
}

/// An instant as typed in a form: `2026-01-31 14:00` (or with a `T`, or with seconds),
/// a day (`2026-01-31`, its start), or RFC 3339; in UTC unless it says otherwise. Empty
/// is none.
fn instant(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ConsoleError> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(time.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(time.and_utc()));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|time| Some(time.and_utc()))
        .ok_or_else(|| {
            ConsoleError::bad_request(format!("{text:?} is not a time: {}", AUDIT.time_hint))
        })
}

/// A time as the Audit section shows it: to the second, in UTC.
fn second(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An event as a row of a table: what, when, who, from where, with which browser.
fn entry_row(entry: &HistoryEntry, about: Option<&str>) -> Value {
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

/// The minute a form shows an instant at.
fn typed(time: Option<DateTime<Utc>>) -> String {
    time.map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_as_people_type_them_in_utc() {
        let expected = "2026-01-31T14:00:00Z";
        for typed in [
            "2026-01-31 14:00",
            "2026-01-31T14:00",
            "2026-01-31 14:00:00",
            "2026-01-31T15:00:00+01:00",
            " 2026-01-31T14:00:00Z ",
        ] {
            let at = instant(Some(typed)).unwrap().unwrap();
            assert_eq!(
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{typed}"
            );
        }
        assert_eq!(
            instant(Some("2026-01-31")).unwrap().unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        assert_eq!(instant(Some("")).unwrap(), None);
        assert_eq!(instant(None).unwrap(), None);
        assert!(matches!(
            instant(Some("yesterday")),
            Err(ConsoleError::Refused { .. })
        ));
    }
}
