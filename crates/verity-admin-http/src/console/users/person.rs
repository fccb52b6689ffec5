//! A person's page: their name as its heading, "Active" or "Disabled", the actions (each
//! asked first, `actions.rs`), their name and address to edit, and the sections
//! "Devices" (trusted devices: forget one or all), "Sessions" (live ones, sign out of one;
//! recently ended ones with how they ended) and "History" (every event about them,
//! newest first: what, when, who, from which address). Another organization's person
//! is "not found", by address too: the admin layer decides.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use verity_admin::people::PersonChanges;
use verity_admin::{OrgRef, Permission, Person, PersonRef, Scope};
use verity_projection::DeviceState;

use super::actions::Action;
use super::list::row;
use super::path::person_ref;
use crate::console::error::ConsoleError;
use crate::console::pages::{Section, minute};
use crate::console::posted::Posted;
use crate::console::session::Console;
use crate::console::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// Events per page of the history.
const HISTORY_PAGE: usize = 25;

/// The page's query: what was just done (`done`, with `count` and `nothing`), and where
/// the history continues (`before`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Shown {
    done: Option<String>,
    count: Option<usize>,
    nothing: Option<String>,
    before: Option<u64>,
}

/// What the details form holds and why it was refused, when it was.
struct Details<'a> {
    name: &'a str,
    email: &'a str,
    error: Option<String>,
}

/// The actions a person's page offers, in order.
fn actions(person: &Person) -> Vec<Value> {
    let disabled = person.status == verity_admin::people::Status::Disabled;
    let mut actions = vec![if disabled {
        (Action::Enable, CONSOLE.enable)
    } else {
        (Action::Disable, CONSOLE.disable)
    }];
    actions.push((Action::ResetPassword, CONSOLE.reset_password));
    if person.has_authenticator {
        actions.push((Action::ResetMfa, CONSOLE.reset_mfa));
    }
    actions.push((Action::Unlock, CONSOLE.unlock));
    actions.push((Action::SignOutEverywhere, CONSOLE.sign_out_everywhere));
    actions.push((Action::Erase, CONSOLE.erase));
    actions
        .into_iter()
        .map(|(action, label)| context! { segment => action.segment(), label })
        .collect()
}

/// What the page says after an action.
fn notice(person: &Person, shown: &Shown) -> Option<String> {
    let done = shown.done.as_deref()?;
    if done == "created" {
        return Some(fill(
            CONSOLE.user_created,
            &[("email", person.email.as_str())],
        ));
    }
    if done == "details" {
        return Some(CONSOLE.done_details.to_owned());
    }
    let action = Action::parse(done)?;
    Some(action.notice(person, shown.count.unwrap_or(0), shown.nothing.is_some()))
}

/// The person's page, with what the details form said.
async fn render(
    state: &AdminState,
    console: &Console,
    person_ref: &PersonRef,
    shown: &Shown,
    status: StatusCode,
    details: Option<Details<'_>>,
) -> Result<Response, ConsoleError> {
    let (admin, actor, call) = (&state.admin, &console.actor, &console.call());
    let person = admin.person(actor, person_ref)?;
    let organization = admin
        .organization(actor, &OrgRef::Id(person.org_id))
        .map(|org| org.name)
        .unwrap_or_else(|_| person.org_id.to_string());
    let devices: Vec<Value> = admin
        .devices(actor, call, person_ref)
        .await?
        .devices
        .iter()
        .filter(|device| device.state == DeviceState::Active)
        .map(|device| {
            let dates = fill(
                CONSOLE.device_dates,
                &[
                    ("since", &minute(device.trusted_at)),
                    ("until", &minute(device.expires_at)),
                ],
            );
            context! { device => &device.device, label => &device.label, dates }
        })
        .collect();
    let sessions = admin.person_sessions(actor, call, person_ref).await?;
    let live: Vec<Value> = sessions
        .live
        .iter()
        .rev()
        .map(|session| {
            let when = fill(
                CONSOLE.session_times,
                &[
                    ("started", &minute(session.started_at)),
                    (
                        "active",
                        &minute(session.last_active.unwrap_or(session.started_at)),
                    ),
                ],
            );
            context! { sid => &session.sid, label => &session.device, address => &session.ip, when }
        })
        .collect();
    let ended: Vec<Value> = sessions
        .ended
        .iter()
        .map(|session| {
            let started = session.started_at.map(minute).unwrap_or_default();
            let when = fill(
                CONSOLE.session_ended,
                &[
                    ("started", &started),
                    ("ended", &minute(session.ended_at)),
                    ("how", session.how),
                ],
            );
            context! { label => &session.device, address => &session.ip, when }
        })
        .collect();
    let history = admin
        .person_history(actor, person_ref, shown.before, HISTORY_PAGE)
        .await?;
    let entries: Vec<Value> = history
        .entries
        .iter()
        .map(|entry| {
            context! {
                what => &entry.description,
                when => minute(entry.at),
                who => entry.actor.describe(),
                from => entry.client_ip.as_deref().unwrap_or("—"),
            }
        })
        .collect();
    let older = history
        .next_before
        .map(|before| format!("/console/users/{}?before={before}", person.user_id));
    let (details_name, details_email, details_error) = match &details {
        Some(details) => (details.name, details.email, details.error.clone()),
        None => (person.name.as_str(), person.email.as_str(), None),
    };
    console.page_with_status(
        state,
        status,
        Section::Users,
        "user.html",
        context! {
            person => row(&person),
            organization,
            may_manage => actor.may(Permission::ManagePeople, Scope::Organization(person.org_id)),
            actions => actions(&person),
            details => context! { name => details_name, email => details_email },
            details_error,
            devices,
            live,
            ended,
            history => entries,
            older,
            notice => notice(&person, shown),
        },
    )
}

/// `GET /console/users/{user_id}`.
pub(super) async fn page(
    State(state): State<AdminState>,
    console: Console,
    Path(user_id): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, ConsoleError> {
    let person = person_ref(&user_id)?;
    render(&state, &console, &person, &shown, StatusCode::OK, None).await
}

/// `POST /console/users/{user_id}/details`: "Save" a new name or address (the events
/// carry the values before and after); a refusal shows the form again with why.
pub(super) async fn save_details(
    State(state): State<AdminState>,
    Path(user_id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let person_ref = person_ref(&user_id)?;
    let console = &posted.console;
    let current = state.admin.person(&console.actor, &person_ref)?;
    let (name, email) = (posted.field("name"), posted.field("email"));
    let changes = PersonChanges {
        name: (name != current.name).then(|| name.to_owned()),
        email: (email != current.email.as_str()).then(|| email.to_owned()),
    };
    if changes.name.is_none() && changes.email.is_none() {
        return Ok(Redirect::to(&format!("/console/users/{user_id}")).into_response());
    }
    match state
        .admin
        .update_person(&console.actor, &console.call(), &person_ref, &changes)
        .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/console/users/{user_id}?done=details")).into_response())
        }
        Err(error) => match ConsoleError::from(error) {
            // Not found, or beyond the admin's role: the error page, since the form
            // is not theirs to see again.
            ConsoleError::Refused { status, message }
                if status != StatusCode::NOT_FOUND && status != StatusCode::FORBIDDEN =>
            {
                let details = Details {
                    name,
                    email,
                    error: Some(message),
                };
                let shown = Shown::default();
                render(&state, console, &person_ref, &shown, status, Some(details)).await
            }
            other => Err(other),
        },
    }
}
