//! Verity's own page for a signed-in person (`GET /`): who is signed in, the browsers
//! trusted to skip the code, each with "Forget", "Change password", and "Logout"
//! (docs/mfa.md, docs/passwords.md).
//!
//! The forms carry a CSRF token derived from the session cookie (a keyed digest: only
//! the browser holding the HttpOnly cookie and the server can know it), so the page sets
//! no cookie of its own and cannot disturb a sign-in going on in another tab.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::mfa::ForgetReason;
use verity_oidc::credentials::verify_password_in;
use verity_oidc::limits::{LockState, password_failure_key};
use verity_oidc::mfa::{self as engine};
use verity_oidc::password_policy::{self, PolicyViolation};
use verity_oidc::protocol::Params;
use verity_oidc::protocol::tokens::token_digest;
use verity_projection::{PasswordState, UserView};

use crate::authorize::{is_form, respond, set_cookie};
use crate::client_ip::Caller;
use crate::journey::{self, CodeRefused};
use crate::metrics::Lockout;
use crate::pages::STRINGS;
use crate::{AppState, HttpError, cookies, ip_limit, runtime, session};

/// The signed-in person and the secret their forms are bound to.
struct SignedIn {
    person: UserView,
    csrf: String,
}

/// The person signed in with the request's session cookie, if any.
async fn signed_in(state: &AppState, caller: &Caller) -> Result<Option<SignedIn>, HttpError> {
    let Some(cookie) = cookies::get(&caller.headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some((_, authentication)) = session::current(state, &caller.headers).await? else {
        return Ok(None);
    };
    let Ok(user_id) = Uuid::parse_str(&authentication.user_id) else {
        return Ok(None);
    };
    let person = state
        .projector
        .read(|models| models.users.get(user_id).cloned());
    Ok(person.map(|person| SignedIn {
        person,
        csrf: csrf_token(cookie),
    }))
}

/// The CSRF token of the account page's forms for a session cookie.
fn csrf_token(session_cookie: &str) -> String {
    token_digest(&format!("verity-account-csrf:{session_cookie}"))
}

/// `GET /`: who is signed in here, their trusted devices, the password form, and a
/// "Logout" link. `?changed=password` (where a password change redirects) adds the notice.
pub(crate) async fn home(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let signed_in = match signed_in(&state, &caller).await {
        Ok(signed_in) => signed_in,
        Err(error) => return respond(Err(error), &state),
    };
    let Some(signed_in) = signed_in else {
        return render(&state, context! {});
    };
    let notice = if query.as_deref() == Some("changed=password") {
        Notice::PasswordChanged
    } else {
        Notice::None
    };
    page(&state, &caller, &signed_in, notice)
}

/// What the page says besides itself, after one of its forms.
enum Notice<'a> {
    None,
    PasswordChanged,
    /// Why the password form was refused.
    PasswordRefused(&'a str),
    /// Why the recovery-codes form was refused.
    CodesRefused(&'a str),
}

/// The page of a signed-in person, with a form's error or notice.
fn page(
    state: &AppState,
    caller: &Caller,
    SignedIn { person, csrf }: &SignedIn,
    notice: Notice<'_>,
) -> Response {
    let now = runtime::now();
    let this_browser = cookies::get(&caller.headers, cookies::DEVICE).map(engine::device_id_hash);
    let day = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%d").to_string();
    let devices: Vec<minijinja::Value> = person
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
    render(
        state,
        context! {
            name => &person.name,
            email => person.email.to_string(),
            devices,
            csrf,
            password_error,
            password_changed => matches!(notice, Notice::PasswordChanged),
            rules => password_policy::hint(state.settings.password_min_length),
            codes_left => app.map(|_| journey::recovery_codes_left(person.mfa.unused_recovery_codes())),
            codes_hint => app.map(|app| STRINGS.new_codes_need_a_code.replace("{app}", app)),
            codes_error,
        },
    )
}

fn render(state: &AppState, values: minijinja::Value) -> Response {
    state.pages.personal(StatusCode::OK, "home.html", values)
}

/// A form posted to Verity's page: its fields, and the person whose session posted it
/// with the page's token; otherwise the refusal to show.
async fn posted(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Result<(Params, SignedIn), Response>, HttpError> {
    let refused = |status, message: &str| Ok(Err(state.pages.error(status, message)));
    if !is_form(&caller.headers) {
        return refused(StatusCode::BAD_REQUEST, "The request must be a form.");
    }
    let Ok(form) = Params::parse(body) else {
        return refused(StatusCode::BAD_REQUEST, STRINGS.csrf_failed);
    };
    let Some(signed_in) = signed_in(state, caller).await? else {
        return refused(StatusCode::FORBIDDEN, STRINGS.not_signed_in);
    };
    let posted = form.get("csrf").unwrap_or_default();
    if !bool::from(posted.as_bytes().ct_eq(signed_in.csrf.as_bytes())) {
        return refused(StatusCode::FORBIDDEN, STRINGS.csrf_failed);
    }
    Ok(Ok((form, signed_in)))
}

/// `POST /password`: "Change password" on Verity's page. The current password is checked
/// like a sign-in's (the address's and the network's failure limits, the progressive
/// delay), then the new one against the policy; `user.password.changed` with the person
/// as actor, and back to the page with a notice.
pub(crate) async fn password(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    respond(change_password(&state, &caller, &body).await, &state)
}

async fn change_password(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let (form, signed_in) = match posted(state, caller, body).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let person = &signed_in.person;
    let again = |message: &str| page(state, caller, &signed_in, Notice::PasswordRefused(message));
    if matches!(person.password, PasswordState::Temporary { .. }) {
        // An admin issued a temporary password meanwhile: the sign-in journey takes it.
        return Ok(state
            .pages
            .error(StatusCode::FORBIDDEN, STRINGS.not_signed_in));
    }
    let now = runtime::now();
    let limit = &state.settings.password_limit;
    let key = password_failure_key(&person.email);
    let checks = ip_limit::checks(state, caller, Some((limit, &key)), now).await?;
    if let Some(until) = checks.network_locked_until {
        return Ok(ip_limit::refused(again(STRINGS.ip_locked), until, now));
    }
    if let LockState::Locked { .. } = checks.step.lock {
        return Ok(again(STRINGS.password_locked));
    }
    let current = form.get("current_password").unwrap_or_default().to_owned();
    let hash = person.password.hash().to_owned();
    let right = state
        .hash(move |memory| verify_password_in(&current, &hash, memory))
        .await?;
    if !right {
        let failed =
            ip_limit::record_failures(state, caller, (limit, &key, Lockout::Password), now).await?;
        if let Some(until) = failed.network_locked_until {
            return Ok(ip_limit::refused(again(STRINGS.ip_locked), until, now));
        }
        if failed.step.locked_until.is_some() {
            return Ok(again(STRINGS.password_locked));
        }
        tokio::time::sleep(state.settings.progressive_delay.delay(failed.step.failures)).await;
        return Ok(again(STRINGS.wrong_current_password));
    }
    if checks.step.failures > 0 {
        limit.reset(state.expiring.as_ref(), &key).await?;
    }
    let new = form.get("new_password").unwrap_or_default().to_owned();
    let confirm = form.get("confirm_password").unwrap_or_default();
    match journey::new_password(
        state,
        caller,
        person,
        new,
        confirm,
        PolicyViolation::SameAsCurrent,
    )
    .await?
    {
        Ok(()) => Ok(Redirect::to("/?changed=password").into_response()),
        Err(violation) => Ok(again(&violation.message())),
    }
}

/// `POST /devices/forget`: "Forget" on the home page. Records `user.device.forgotten`
/// (reason `revoked`, the person as actor) for one of the signed-in person's trusted
/// devices, clears the device cookie when it is this browser, and shows the page again.
pub(crate) async fn forget(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    respond(forget_device(&state, &caller, &body).await, &state)
}

async fn forget_device(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let (form, SignedIn { person, .. }) = match posted(state, caller, body).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let now = runtime::now();
    let presented = form.get("device").unwrap_or_default();
    // Only a device of this person, still trusted: another person's id does nothing.
    let Some(device) = person.mfa.trusted_device(presented, now) else {
        return Ok(Redirect::to("/").into_response());
    };
    let device_id_hash = device.device_id_hash.clone();
    let this_browser = cookies::get(&caller.headers, cookies::DEVICE)
        .map(engine::device_id_hash)
        .is_some_and(|hash| hash == device_id_hash);
    journey::forget_trusted_device(
        state,
        caller,
        person.user_id,
        device_id_hash,
        ForgetReason::Revoked,
    )
    .await?;
    let mut response = Redirect::to("/").into_response();
    if this_browser {
        set_cookie(
            &mut response,
            &cookies::clear(cookies::DEVICE, state.settings.secure_cookies()),
        );
    }
    Ok(response)
}

/// `POST /recovery-codes`: "Generate new recovery codes" on Verity's page, with the
/// current code from the authenticator app (a fresh second factor: a stolen session alone
/// cannot replace the codes). The code is checked like the sign-in's (accepted once, the
/// step's and the network's limits); the new set is recorded
/// (`user.recovery_codes.generated`, the person as actor) and shown once.
pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    respond(new_recovery_codes(&state, &caller, &body).await, &state)
}

async fn new_recovery_codes(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let (form, signed_in) = match posted(state, caller, body).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let person = &signed_in.person;
    let again = |message: &str| page(state, caller, &signed_in, Notice::CodesRefused(message));
    let Some(totp) = &person.mfa.totp else {
        return Ok(state
            .pages
            .error(StatusCode::BAD_REQUEST, STRINGS.not_signed_in));
    };
    let now = runtime::now();
    let answer = |refused: CodeRefused| match refused {
        CodeRefused::NetworkLocked(until) => {
            ip_limit::refused(again(STRINGS.ip_locked), until, now)
        }
        CodeRefused::Say(message) => again(message),
    };
    let user_id = person.user_id;
    let checks = match journey::code_step_open(state, caller, user_id, now).await? {
        Ok(checks) => checks,
        Err(refused) => return Ok(answer(refused)),
    };
    let presented = form.get("code").unwrap_or_default();
    if let Err(refusal) = journey::check_app_code(state, user_id, totp, presented, now).await? {
        return Ok(answer(
            journey::refused_code(state, caller, user_id, refusal, now).await?,
        ));
    }
    journey::code_accepted(state, user_id, &checks).await?;
    let codes = journey::new_recovery_codes(state, caller, user_id).await?;
    Ok(journey::recovery_codes_page(state, "", "", &codes, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_bound_to_the_session_and_is_not_its_digest() {
        let token = csrf_token("session-one");
        assert_eq!(token, csrf_token("session-one"));
        assert_ne!(token, csrf_token("session-two"));
        // The session is stored under token_digest(cookie): the token must differ.
        assert_ne!(token, token_digest("session-one"));
        assert_eq!(token.len(), 64);
    }
}
