//! A person's actions — "Disable" / "Enable", "Reset password", "Reset MFA", "Unlock",
//! "Sign out everywhere", forgetting one trusted device or all, signing out of one
//! session, "Erase" — each asked first (`GET /console/users/{id}/{action}`: "Are you
//! sure?" with "Confirm") and done by the admin layer when confirmed (`POST`, with the
//! console session's token). Then back to the person's page, which says what was done;
//! after an erasure, to the Users page of their organization (the person is gone).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;
use verity_admin::{Person, PersonRef};

use super::path::person_ref;
use crate::console::error::ConsoleError;
use crate::console::pages::{Question, Section, minute};
use crate::console::posted::Posted;
use crate::console::session::Console;
use crate::console::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// What an admin can do to a person, by the last segment of its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// "Disable".
    Disable,
    /// "Enable".
    Enable,
    /// "Reset password".
    ResetPassword,
    /// "Reset MFA".
    ResetMfa,
    /// "Unlock".
    Unlock,
    /// "Sign out everywhere".
    SignOutEverywhere,
    /// "Forget" one trusted device (`device`: the prefix of its id's hash).
    ForgetDevice,
    /// "Forget all devices".
    ForgetAllDevices,
    /// "Sign out" of one session (`sid`).
    EndSession,
    /// "Erase": the person's personal data destroyed for good (their key), access ended.
    Erase,
}

impl Action {
    const ALL: [Self; 10] = [
        Self::Disable,
        Self::Enable,
        Self::ResetPassword,
        Self::ResetMfa,
        Self::Unlock,
        Self::SignOutEverywhere,
        Self::ForgetDevice,
        Self::ForgetAllDevices,
        Self::EndSession,
        Self::Erase,
    ];

    /// The last segment of its address, and the `done` of the page after it.
    pub(super) fn segment(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::ResetPassword => "reset-password",
            Self::ResetMfa => "reset-mfa",
            Self::Unlock => "unlock",
            Self::SignOutEverywhere => "sign-out",
            Self::ForgetDevice => "forget-device",
            Self::ForgetAllDevices => "forget-devices",
            Self::EndSession => "end-session",
            Self::Erase => "erase",
        }
    }

    /// The action a segment names.
    pub(super) fn parse(segment: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|action| action.segment() == segment)
    }

    /// The question before it.
    fn question(self) -> &'static str {
        match self {
            Self::Disable => CONSOLE.confirm_disable,
            Self::Enable => CONSOLE.confirm_enable,
            Self::ResetPassword => CONSOLE.confirm_reset_password,
            Self::ResetMfa => CONSOLE.confirm_reset_mfa,
            Self::Unlock => CONSOLE.confirm_unlock,
            Self::SignOutEverywhere => CONSOLE.confirm_sign_out_everywhere,
            Self::ForgetDevice => CONSOLE.confirm_forget_device,
            Self::ForgetAllDevices => CONSOLE.confirm_forget_all_devices,
            Self::EndSession => CONSOLE.confirm_end_session,
            Self::Erase => CONSOLE.confirm_erase,
        }
    }

    /// Whether it takes something away that an admin cannot give back by a click.
    fn is_dangerous(self) -> bool {
        !matches!(self, Self::Enable | Self::Unlock)
    }

    /// What the page after it says, about `person` (`count`: how many sessions or
    /// devices it ended; `nothing`: the action found nothing to do).
    pub(super) fn notice(self, person: &Person, count: usize, nothing: bool) -> String {
        let name = person.name.as_str();
        let email = person.email.to_string();
        let count = count.to_string();
        let (template, values): (&str, Vec<(&str, &str)>) = match self {
            Self::Disable => (CONSOLE.done_disable, vec![]),
            Self::Enable => (CONSOLE.done_enable, vec![]),
            Self::ResetPassword => (CONSOLE.done_reset_password, vec![("email", &email)]),
            Self::ResetMfa => (CONSOLE.done_reset_mfa, vec![]),
            Self::Unlock if nothing => (CONSOLE.nothing_to_unlock, vec![]),
            Self::Unlock => (CONSOLE.done_unlock, vec![]),
            Self::SignOutEverywhere => (CONSOLE.done_sign_out_everywhere, vec![("count", &count)]),
            Self::ForgetDevice | Self::ForgetAllDevices => {
                (CONSOLE.done_forget_devices, vec![("count", &count)])
            }
            Self::EndSession => (CONSOLE.done_end_session, vec![]),
            Self::Erase => (CONSOLE.done_erase, vec![]),
        };
        let mut all = vec![("name", name)];
        all.extend(values);
        fill(template, &all)
    }
}

/// Which device or session an action is about.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Target {
    device: Option<String>,
    sid: Option<String>,
}

fn action_of(segment: &str) -> Result<Action, ConsoleError> {
    Action::parse(segment).ok_or_else(ConsoleError::no_such_page)
}

/// `GET /console/users/{user_id}/{action}`: "Are you sure?", about a person the admin may
/// see (another organization's is "not found").
pub(super) async fn ask(
    State(state): State<AdminState>,
    console: Console,
    Path((user_id, segment)): Path<(String, String)>,
    Query(target): Query<Target>,
) -> Result<Response, ConsoleError> {
    let action = action_of(&segment)?;
    let person_ref = person_ref(&user_id)?;
    let person = state.admin.person(&console.actor, &person_ref)?;
    let mut values = vec![("name", person.name.clone())];
    let mut fields = Vec::new();
    match action {
        Action::ForgetDevice => {
            let device = target.device.as_deref().unwrap_or_default();
            let label = state
                .admin
                .devices(&console.actor, &console.call(), &person_ref)
                .await?
                .devices
                .into_iter()
                .find(|known| known.device == device)
                .map(|known| known.label)
                .ok_or_else(ConsoleError::no_such_page)?;
            values.push(("device", label));
            fields.push(("device", device));
        }
        Action::EndSession => {
            let sid = target.sid.as_deref().unwrap_or_default();
            values.push((
                "session",
                session_label(&state, &console, &person_ref, sid).await?,
            ));
            fields.push(("sid", sid));
        }
        _ => {}
    }
    let values: Vec<(&str, &str)> = values
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    let question = Question {
        question: fill(action.question(), &values),
        action: format!("/console/users/{}/{}", person.user_id, action.segment()),
        fields,
        back: format!("/console/users/{}", person.user_id),
        danger: action.is_dangerous(),
    };
    console.confirm(&state, Section::Users, question)
}

/// `POST /console/users/{user_id}/{action}`: "Confirm" pressed; the admin layer acts (or
/// refuses, and nothing changes), then back to the person's page.
pub(super) async fn act(
    State(state): State<AdminState>,
    Path((user_id, segment)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let action = action_of(&segment)?;
    let person = person_ref(&user_id)?;
    let console = &posted.console;
    let done = perform(&state, console, &person, action, &posted).await?;
    let target = match done {
        Done::Erased { org_id } => format!("/console/users?org={org_id}&done=erase"),
        Done::Changed(count, nothing) => {
            let mut target = format!("/console/users/{user_id}?done={}", action.segment());
            if let Some(count) = count {
                target.push_str(&format!("&count={count}"));
            }
            if nothing {
                target.push_str("&nothing=1");
            }
            target
        }
    };
    Ok(Redirect::to(&target).into_response())
}

/// What an action did.
enum Done {
    /// The person is still there: how many sessions or devices it ended, and whether it
    /// found nothing to do.
    Changed(Option<usize>, bool),
    /// The person is erased, from this organization.
    Erased { org_id: Uuid },
}

/// Does `action` through the admin layer.
async fn perform(
    state: &AdminState,
    console: &Console,
    person: &PersonRef,
    action: Action,
    posted: &Posted,
) -> Result<Done, ConsoleError> {
    let (admin, actor, call) = (&state.admin, &console.actor, &console.call());
    let (count, nothing) = match action {
        Action::Disable => {
            admin.disable_person(actor, call, person).await?;
            (None, false)
        }
        Action::Enable => {
            admin.enable_person(actor, call, person).await?;
            (None, false)
        }
        Action::ResetPassword => {
            admin.reset_password(actor, call, person).await?;
            (None, false)
        }
        Action::ResetMfa => {
            admin.reset_authenticator(actor, call, person).await?;
            (None, false)
        }
        Action::Unlock => {
            let unlocked = admin.unlock_person(actor, call, person).await?;
            (None, !unlocked.unlocked)
        }
        Action::SignOutEverywhere => {
            let (_, ended) = admin.sign_out_person(actor, call, person).await?;
            (Some(ended), false)
        }
        Action::ForgetAllDevices => {
            let forgotten = admin.forget_devices(actor, call, person).await?;
            (Some(forgotten.forgotten), false)
        }
        Action::ForgetDevice => {
            admin
                .forget_device(actor, call, person, posted.field("device"))
                .await?;
            (Some(1), false)
        }
        Action::EndSession => {
            admin
                .end_person_session(actor, call, person, posted.field("sid"))
                .await?;
            (None, false)
        }
        Action::Erase => {
            let erased = admin.erase_person(actor, call, person).await?;
            return Ok(Done::Erased {
                org_id: erased.org_id,
            });
        }
    };
    Ok(Done::Changed(count, nothing))
}

/// How a confirmation names one of the person's live sessions: its browser and times.
async fn session_label(
    state: &AdminState,
    console: &Console,
    person_ref: &PersonRef,
    sid: &str,
) -> Result<String, ConsoleError> {
    let sessions = state
        .admin
        .person_sessions(&console.actor, &console.call(), person_ref)
        .await?;
    let session = sessions
        .live
        .iter()
        .find(|session| session.sid == sid)
        .ok_or_else(ConsoleError::no_such_page)?;
    Ok(format!(
        "{} ({})",
        session.device,
        fill(
            CONSOLE.session_times,
            &[
                ("started", &minute(session.started_at)),
                (
                    "active",
                    &minute(session.last_active.unwrap_or(session.started_at))
                ),
            ],
        )
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_found_by_its_segment() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.segment()), Some(action));
        }
        assert_eq!(Action::parse("delete-everything"), None);
    }
}
