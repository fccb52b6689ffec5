//! A person's timeline: every event about them in a time range, oldest first (what, when,
//! who, from which address and browser), beside their account as it was at an instant —
//! status, password, authenticator apps, trusted devices, sessions, roles, locks —
//! replayed from their own streams up to that instant by the admin layer
//! (`verity_admin::audit::account`).

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;
use verity_admin::audit::account::AccountAt;
use verity_admin::{OrgRef, PersonRef};

use super::time::{instant, second, typed};
use super::view::{entry_row, readable_organizations};
use crate::console::audit_strings::AUDIT;
use crate::console::error::ConsoleError;
use crate::console::organizations::role_label;
use crate::console::pages::Section;
use crate::console::session::Console;
use crate::console::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// The page's query: the person (`id`, or `email` with an optional `org`), the instant
/// of the account (`at`, now without one), the range of the timeline (`from`, `to`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Timeline {
    id: Option<String>,
    org: Option<String>,
    email: Option<String>,
    at: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Timeline {
    /// The person the query names.
    fn person(&self) -> Result<PersonRef, ConsoleError> {
        let present = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        match (present(&self.id), present(&self.email), present(&self.org)) {
            (Some(id), _, _) => Uuid::parse_str(&id)
                .map(PersonRef::Id)
                .map_err(|_| ConsoleError::no_such_page()),
            (None, Some(email), Some(org)) => Ok(PersonRef::Email {
                org: OrgRef::parse(&org),
                email,
            }),
            (None, Some(email), None) => Ok(PersonRef::Address(email)),
            (None, None, _) => Err(ConsoleError::bad_request(AUDIT.no_person)),
        }
    }
}

/// The account's facts as the page lists them.
fn account_facts(account: &AccountAt, orgs: &[(Uuid, String)]) -> Value {
    let listed = |items: Vec<String>| -> String {
        if items.is_empty() {
            AUDIT.none.to_owned()
        } else {
            items.join("; ")
        }
    };
    let password = if account.password_temporary {
        fill(
            AUDIT.password_temporary,
            &[("at", &second(account.password_set_at))],
        )
    } else {
        fill(
            AUDIT.password_set,
            &[("at", &second(account.password_set_at))],
        )
    };
    let devices = account
        .trusted_devices
        .iter()
        .map(|device| {
            format!(
                "{} ({}, {} – {})",
                device.label,
                device.state.as_str(),
                second(device.trusted_at),
                second(device.expires_at)
            )
        })
        .collect();
    let sessions = account
        .sessions
        .iter()
        .map(|session| {
            let mut line = format!("{} ({})", session.sid, second(session.started_at));
            if !session.clients.is_empty() {
                line.push_str(&format!(": {}", session.clients.join(", ")));
            }
            line
        })
        .collect();
    let roles = account
        .roles
        .iter()
        .map(|grant| match grant.scope().org_id() {
            Some(org_id) => {
                let org = orgs
                    .iter()
                    .find(|(id, _)| *id == org_id)
                    .map_or_else(|| org_id.to_string(), |(_, name)| name.clone());
                format!("{} ({org})", role_label(grant.role()))
            }
            None => role_label(grant.role()).to_owned(),
        })
        .collect();
    let locks = account
        .locks
        .iter()
        .map(|lock| {
            fill(
                AUDIT.lock,
                &[
                    ("step", &lock.step.replace('_', " ")),
                    ("until", &second(lock.until)),
                ],
            )
        })
        .collect();
    context! {
        email => &account.email,
        name => &account.name,
        status => match account.status {
            _ if account.erased => CONSOLE.erased,
            verity_admin::people::Status::Active => CONSOLE.active,
            verity_admin::people::Status::Disabled => CONSOLE.disabled,
        },
        password,
        authenticators => listed(account.authenticators.clone()),
        devices => listed(devices),
        sessions => listed(sessions),
        roles => listed(roles),
        locks => listed(locks),
    }
}

/// `GET /console/audit/person`: the timeline and the account at an instant.
pub(super) async fn page(
    State(state): State<AdminState>,
    console: Console,
    Query(query): Query<Timeline>,
) -> Result<Response, ConsoleError> {
    let (admin, actor) = (&state.admin, &console.actor);
    let person_ref = query.person()?;
    let at = instant(query.at.as_deref())?.unwrap_or_else(|| console.call().now);
    let from = instant(query.from.as_deref())?;
    let to = instant(query.to.as_deref())?;
    // A person the read models know, or by id one they forgot (deleted or erased): their
    // history stays, and the admin layer decides who may read it.
    let known = match admin.person(actor, &person_ref) {
        Ok(person) => Some(person),
        Err(verity_admin::AdminError::NotFound(_)) if matches!(person_ref, PersonRef::Id(_)) => {
            None
        }
        Err(error) => return Err(error.into()),
    };
    let person_ref = known
        .as_ref()
        .map_or(person_ref, |person| PersonRef::Id(person.user_id));
    let entries = admin.events_about(actor, &person_ref, (from, to)).await?;
    let timeline: Vec<Value> = entries.iter().map(|entry| entry_row(entry, None)).collect();
    let orgs = readable_organizations(&state, &console);
    // Before the person's first event there is no account to show.
    let account_then = match admin.account_at(actor, &person_ref, at).await {
        Ok(account) => Some(account),
        Err(verity_admin::AdminError::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    let account = account_then
        .as_ref()
        .map(|account| account_facts(account, &orgs));
    // Who the page is about: as they are now, or, when the read models forgot them, as
    // their log says (an erased person's fields read as erased).
    let person = match &known {
        Some(person) => context! {
            user_id => person.user_id.to_string(),
            email => person.email.as_str(),
            name => &person.name,
        },
        None => {
            let last = admin
                .account_at(actor, &person_ref, console.call().now)
                .await?;
            context! {
                user_id => last.user_id.to_string(),
                email => last.email,
                name => last.name,
            }
        }
    };
    console.page(
        &state,
        Section::Audit,
        "audit_person.html",
        context! {
            person,
            heading => fill(AUDIT.account_at, &[("at", &second(at))]),
            account,
            timeline,
            at => typed(Some(at)),
            from => typed(from),
            to => typed(to),
        },
    )
}
