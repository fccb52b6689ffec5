//! `GET /`: the page itself — who is signed in, their sessions, their trusted devices,
//! the password form, the recovery codes, and "Logout".

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use verity_oidc::{mfa, password_policy, sessions};

use super::signed_in::{SignedIn, signed_in};
use crate::context::Caller;
use crate::cookies;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// What the page says besides itself, after one of its forms.
pub(crate) enum Notice<'a> {
    None,
    PasswordChanged,
    /// Why the password form was refused.
    PasswordRefused(&'a str),
    /// Why the recovery-codes form was refused.
    CodesRefused(&'a str),
}

/// `GET /`: who is signed in here, their sessions and trusted devices, the password form,
/// and a "Logout" link. `?changed=password` (where a password change redirects) adds the
/// notice.
pub(crate) async fn home(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(signed_in) = signed_in(&state, &caller).await? else {
        return Ok(render(&state, context! {}));
    };
    let notice = if query.as_deref() == Some("changed=password") {
        Notice::PasswordChanged
    } else {
        Notice::None
    };
    page(&state, &caller, &signed_in, notice).await
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d").to_string()
}

fn minute(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The page of a signed-in person, with a form's error or notice.
pub(crate) async fn page(
    state: &AppState,
    caller: &Caller,
    SignedIn {
        person,
        session,
        csrf,
    }: &SignedIn,
    notice: Notice<'_>,
) -> Result<Response, PageError> {
    let now = caller.context.now;
    let this_browser = caller.cookie(cookies::DEVICE).map(mfa::device_id_hash);
    let devices: Vec<Value> = person
        .mfa
        .trusted_devices
        .iter()
        .filter(|device| device.is_active(now))
        .map(|device| {
            let dates = STRINGS
                .trusted_device_dates
                .replace("{since}", &day(device.trusted_at))
                .replace("{until}", &day(device.expires_at));
            context! {
                id => &device.device_id_hash,
                label => &device.label,
                dates,
                current => this_browser.as_deref() == Some(device.device_id_hash.as_str()),
            }
        })
        .collect();
    let (password_error, codes_error) = match notice {
        Notice::PasswordRefused(message) => (Some(message), None),
        Notice::CodesRefused(message) => (None, Some(message)),
        Notice::None | Notice::PasswordChanged => (None, None),
    };
    let app = person.mfa.totp.as_ref().map(|totp| totp.app_name.as_str());
    let min_length = state.engine.settings.password_min_length;
    let sessions = sessions_of(state, caller, person.user_id, &session.authentication.sid).await?;
    Ok(render(
        state,
        context! {
            name => &person.name,
            email => person.email.to_string(),
            sessions,
            devices,
            csrf,
            password_error,
            password_changed => matches!(notice, Notice::PasswordChanged),
            rules => password_policy::hint(min_length),
            codes_left => app.map(|_| views::recovery_codes_left(person.mfa.unused_recovery_codes())),
            codes_hint => app.map(|app| STRINGS.new_codes_need_a_code.replace("{app}", app)),
            codes_error,
        },
    ))
}

/// The person's live sessions, newest first: browser and system (from the User-Agent),
/// address, when it started and was last used, and which is this browser's.
async fn sessions_of(
    state: &AppState,
    caller: &Caller,
    user_id: uuid::Uuid,
    this_sid: &str,
) -> Result<Vec<Value>, PageError> {
    let mut live = sessions::of_person(&state.engine, user_id);
    live.reverse();
    let sids: Vec<&str> = live.iter().map(|session| session.sid.as_str()).collect();
    let last_active = sessions::last_active(&state.engine, &caller.context, &sids).await?;
    let starts: Vec<u64> = live.iter().map(|session| session.started_event).collect();
    let origins = sessions::origins(&state.engine, &starts).await?;
    Ok(live
        .iter()
        .map(|session| {
            let origin = origins.get(&session.started_event);
            let label = mfa::device_label(origin.and_then(|origin| origin.user_agent.as_deref()));
            let address = origin
                .and_then(|origin| origin.ip.clone())
                .unwrap_or_default();
            let when = STRINGS
                .session_times
                .replace("{started}", &minute(session.started_at))
                .replace(
                    "{active}",
                    &last_active
                        .get(&session.sid)
                        .map_or_else(|| minute(session.started_at), |at| minute(*at)),
                );
            context! {
                sid => &session.sid,
                label,
                address,
                when,
                current => session.sid == this_sid,
            }
        })
        .collect())
}

fn render(state: &AppState, values: Value) -> Response {
    state.pages.personal(StatusCode::OK, "home.html", values)
}
