//! Verity's own page for a signed-in person (`GET /`): who is signed in, the browsers
//! trusted to skip the code, each with "Forget", and "Logout" (docs/mfa.md).
//!
//! The forms carry a CSRF token derived from the session cookie (a keyed digest: only
//! the browser holding the HttpOnly cookie and the server can know it), so the page sets
//! no cookie of its own and cannot disturb a sign-in going on in another tab.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::mfa::ForgetReason;
use verity_oidc::mfa as engine;
use verity_oidc::protocol::Params;
use verity_oidc::protocol::tokens::token_digest;
use verity_projection::UserView;

use crate::authorize::{is_form, set_cookie};
use crate::client_ip::Caller;
use crate::pages::STRINGS;
use crate::{AppState, HttpError, cookies, runtime, session};

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

/// `GET /`: who is signed in here, their trusted devices, and a "Logout" link.
pub(crate) async fn home(State(state): State<AppState>, caller: Caller) -> Response {
    let signed_in = match signed_in(&state, &caller).await {
        Ok(signed_in) => signed_in,
        Err(error) => return error.into_response(),
    };
    let Some(SignedIn { person, csrf }) = signed_in else {
        return render(&state, context! {});
    };
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
    render(
        &state,
        context! {
            name => person.name,
            email => person.email.to_string(),
            devices,
            csrf,
        },
    )
}

fn render(state: &AppState, values: minijinja::Value) -> Response {
    match state.pages.render("home.html", values) {
        Ok(html) => {
            let mut response = Html(html).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => HttpError::internal("rendering the home page", error).into_response(),
    }
}

/// `POST /devices/forget`: "Forget" on the home page. Records `user.device.forgotten`
/// (reason `revoked`, the person as actor) for one of the signed-in person's trusted
/// devices, clears the device cookie when it is this browser, and shows the page again.
pub(crate) async fn forget(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    match forget_device(&state, &caller, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn forget_device(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let refused = |status, message: &str| Ok(state.pages.error(status, message));
    if !is_form(&caller.headers) {
        return refused(StatusCode::BAD_REQUEST, "The request must be a form.");
    }
    let Ok(form) = Params::parse(body) else {
        return refused(StatusCode::BAD_REQUEST, STRINGS.csrf_failed);
    };
    let Some(SignedIn { person, csrf }) = signed_in(state, caller).await? else {
        return refused(StatusCode::FORBIDDEN, STRINGS.not_signed_in);
    };
    let posted = form.get("csrf").unwrap_or_default();
    if !bool::from(posted.as_bytes().ct_eq(csrf.as_bytes())) {
        return refused(StatusCode::FORBIDDEN, STRINGS.csrf_failed);
    }
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
    crate::journey::forget_trusted_device(
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
