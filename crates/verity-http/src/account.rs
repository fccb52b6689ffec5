//! Verity's own page for a signed-in person (`GET /`): who is signed in, the browsers
//! trusted to skip the code, each with "Forget", "Change password", new recovery codes
//! against a current code, and "Logout" (docs/mfa.md, docs/passwords.md). The rules are
//! the engine's (`verity_oidc::signin::check_current_password`, `account`,
//! `second_factor`); this page reads the forms and renders the answers.
//!
//! The forms carry a CSRF token derived from the session cookie (a keyed digest: only
//! the browser holding the HttpOnly cookie and the server can know it), so the page sets
//! no cookie of its own and cannot disturb a sign-in going on in another tab.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::mfa::ForgetReason;
use verity_oidc::account::{self, PasswordChoice};
use verity_oidc::password_policy::{self, PolicyViolation};
use verity_oidc::protocol::Params;
use verity_oidc::protocol::tokens::token_digest;
use verity_oidc::second_factor::{self, CodeOutcome, Presented};
use verity_oidc::signin::{self, PasswordOutcome, PasswordRefused};
use verity_oidc::{mfa, sessions};
use verity_projection::{PasswordState, UserView};

use crate::context::Caller;
use crate::cookies;
use crate::form;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// The signed-in person and the secret their forms are bound to.
pub(crate) struct SignedIn {
    person: UserView,
    csrf: String,
}

/// The person signed in with the request's session cookie, if any.
async fn signed_in(state: &AppState, caller: &Caller) -> Result<Option<SignedIn>, PageError> {
    let Some(cookie) = caller.cookie(cookies::SESSION) else {
        return Ok(None);
    };
    let Some(session) = sessions::current(&state.engine, &caller.context, Some(cookie)).await?
    else {
        return Ok(None);
    };
    let person = Uuid::parse_str(&session.authentication.user_id)
        .ok()
        .and_then(|user_id| state.engine.person(user_id));
    Ok(person.map(|person| SignedIn {
        person,
        csrf: csrf_token(cookie),
    }))
}

/// The CSRF token of the account page's forms for a session cookie.
fn csrf_token(session_cookie: &str) -> String {
    token_digest(&format!("verity-account-csrf:{session_cookie}"))
}

/// A form posted to Verity's page by the person whose session posted it with the page's
/// token.
pub(crate) struct Posted {
    form: Params,
    signed_in: SignedIn,
    caller: Caller,
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let Ok(caller) = Caller::from_request_parts(&mut parts, state).await;
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        let form = form::parse(&caller.headers, &body).map_err(|error| match error {
            form::FormError::NotAForm => PageError::from(error),
            form::FormError::Malformed(_) => PageError::BadRequest(STRINGS.csrf_failed.to_owned()),
        })?;
        let Some(signed_in) = signed_in(state, &caller).await? else {
            return Err(PageError::Forbidden(STRINGS.not_signed_in));
        };
        let posted = form.get("csrf").unwrap_or_default();
        if !bool::from(posted.as_bytes().ct_eq(signed_in.csrf.as_bytes())) {
            return Err(PageError::Forbidden(STRINGS.csrf_failed));
        }
        Ok(Self {
            form,
            signed_in,
            caller,
        })
    }
}

impl Posted {
    fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or_default()
    }

    /// The page again, with why a form was refused.
    fn again(&self, state: &AppState, notice: Notice<'_>) -> Response {
        page(state, &self.caller, &self.signed_in, notice)
    }
}

/// `GET /`: who is signed in here, their trusted devices, the password form, and a
/// "Logout" link. `?changed=password` (where a password change redirects) adds the notice.
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
    Ok(page(&state, &caller, &signed_in, notice))
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
    let now = caller.context.now;
    let this_browser = caller.cookie(cookies::DEVICE).map(mfa::device_id_hash);
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
    let min_length = state.engine.settings.password_min_length;
    render(
        state,
        context! {
            name => &person.name,
            email => person.email.to_string(),
            devices,
            csrf,
            password_error,
            password_changed => matches!(notice, Notice::PasswordChanged),
            rules => password_policy::hint(min_length),
            codes_left => app.map(|_| views::recovery_codes_left(person.mfa.unused_recovery_codes())),
            codes_hint => app.map(|app| STRINGS.new_codes_need_a_code.replace("{app}", app)),
            codes_error,
        },
    )
}

fn render(state: &AppState, values: minijinja::Value) -> Response {
    state.pages.personal(StatusCode::OK, "home.html", values)
}

/// `POST /password`: "Change password" on Verity's page. The current password is checked
/// like a sign-in's, then the new one against the policy; `user.password.changed` with
/// the person as actor, and back to the page with a notice.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    if matches!(person.password, PasswordState::Temporary { .. }) {
        // An admin issued a temporary password meanwhile: the sign-in journey takes it.
        return Err(PageError::Forbidden(STRINGS.not_signed_in));
    }
    let (engine, context) = (&state.engine, &posted.caller.context);
    let current = posted.field("current_password");
    if let PasswordOutcome::Refused(refusal) =
        signin::check_current_password(engine, context, person, current).await?
    {
        state.metrics.lockouts(&refusal.lockouts);
        let message = match refusal.reason {
            PasswordRefused::NetworkLocked { .. } => STRINGS.ip_locked,
            PasswordRefused::AccountLocked => STRINGS.password_locked,
            PasswordRefused::Wrong
            | PasswordRefused::Disabled
            | PasswordRefused::TemporaryPasswordExpired => STRINGS.wrong_current_password,
        };
        let page = posted.again(&state, Notice::PasswordRefused(message));
        return Ok(match refusal.reason {
            PasswordRefused::NetworkLocked { until } => {
                views::too_many_requests(page, until, context.now)
            }
            _ => page,
        });
    }
    let choice = account::choose_password(
        engine,
        context,
        person,
        posted.field("new_password"),
        posted.field("confirm_password"),
        PolicyViolation::SameAsCurrent,
    )
    .await?;
    Ok(match choice {
        PasswordChoice::Changed => Redirect::to("/?changed=password").into_response(),
        PasswordChoice::Refused(violation) => {
            posted.again(&state, Notice::PasswordRefused(&violation.message()))
        }
    })
}

/// `POST /devices/forget`: "Forget" on the home page. Records `user.device.forgotten`
/// (reason `revoked`, the person as actor) for one of the signed-in person's trusted
/// devices, clears the device cookie when it is this browser, and shows the page again.
pub(crate) async fn forget_device(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    let context = &posted.caller.context;
    // Only a device of this person, still trusted: another person's id does nothing.
    let Some(device) = person
        .mfa
        .trusted_device(posted.field("device"), context.now)
    else {
        return Ok(Redirect::to("/").into_response());
    };
    let device_id_hash = device.device_id_hash.clone();
    let this_browser = posted
        .caller
        .cookie(cookies::DEVICE)
        .map(mfa::device_id_hash)
        .is_some_and(|hash| hash == device_id_hash);
    let reason = ForgetReason::Revoked;
    account::forget_device(
        &state.engine,
        context,
        person.user_id,
        device_id_hash,
        reason,
    )
    .await?;
    let mut response = Redirect::to("/").into_response();
    if this_browser {
        let cookie = cookies::clear(cookies::DEVICE, state.secure_cookies());
        cookies::set_on(&mut response, &cookie);
    }
    Ok(response)
}

/// `POST /recovery-codes`: "Generate new recovery codes" on Verity's page, with the
/// current code from the authenticator app (a fresh second factor: a stolen session alone
/// cannot replace the codes). The code is checked like the sign-in's; the new set is
/// recorded (`user.recovery_codes.generated`, the person as actor) and shown once.
pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    let Some(totp) = &person.mfa.totp else {
        return Err(PageError::BadRequest(STRINGS.not_signed_in.to_owned()));
    };
    let (engine, context) = (&state.engine, &posted.caller.context);
    let presented = Presented::AppCode(posted.field("code"));
    if let CodeOutcome::Refused(refusal) =
        second_factor::check(engine, context, person, totp, presented).await?
    {
        let page = |message: &str| posted.again(&state, Notice::CodesRefused(message));
        return Ok(views::refused_code(&state, &refusal, context.now, page));
    }
    let codes = account::new_recovery_codes(engine, context, person.user_id).await?;
    Ok(views::recovery_codes(&state, "", "", &codes, true))
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
