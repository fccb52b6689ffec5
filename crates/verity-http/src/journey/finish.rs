//! The end of a sign-in: the engine finishes it ([`verity_oidc::signin::finish`]: the
//! login transaction taken, this browser's previous session replaced by a new one, a code
//! for the client) and the browser goes back to the client with it. `POST
//! /login/continue` finishes a sign-in whose last page only informed (the recovery codes,
//! or "You used a recovery code").

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use verity_domain::signin::SecondFactor;
use verity_oidc::account::TrustedDevice;
use verity_oidc::signin::{self, Finish, SignedIn};

use super::step::LoginStep;
use crate::cookies;
use crate::metrics::label;
use crate::page_error::PageError;
use crate::state::AppState;

/// Both factors done: the engine finishes the sign-in; back to the client (with the
/// trusted-device cookie when the person asked to be remembered).
pub(crate) async fn finish(
    state: &AppState,
    step: LoginStep,
    user_id: Uuid,
    factor: SecondFactor,
    device: Option<TrustedDevice>,
) -> Result<Response, PageError> {
    let browser_session = step.caller.cookie(cookies::SESSION);
    let context = &step.caller.context;
    let finished = signin::finish(
        &state.engine,
        context,
        &step.login,
        (user_id, factor),
        browser_session,
    )
    .await?;
    signed_in(state, finished, device)
}

/// `POST /login/continue`.
pub(crate) async fn continue_after_codes(
    State(state): State<AppState>,
    step: LoginStep,
) -> Result<Response, PageError> {
    let browser_session = step.caller.cookie(cookies::SESSION);
    let context = &step.caller.context;
    let finished =
        signin::continue_after_codes(&state.engine, context, &step.login, browser_session).await?;
    signed_in(&state, finished, None)
}

/// The redirect to the client with the code, the session cookie set, the sign-in's CSRF
/// cookie cleared, and the device cookie when a device was trusted.
fn signed_in(
    state: &AppState,
    finished: Finish,
    device: Option<TrustedDevice>,
) -> Result<Response, PageError> {
    let Finish::SignedIn(SignedIn {
        location,
        session_cookie,
        session_max_age,
        factor,
    }) = finished
    else {
        return Err(PageError::LoginExpired);
    };
    state.metrics.sign_in(&label(&factor));
    let mut response = Redirect::to(&location).into_response();
    let jar = state.cookies;
    cookies::set_on(
        &mut response,
        &jar.set(cookies::SESSION, &session_cookie, session_max_age),
    );
    cookies::set_on(&mut response, &jar.clear(cookies::CSRF));
    if let Some(device) = device {
        let cookie = jar.set(cookies::DEVICE, &device.device_id, device.max_age);
        cookies::set_on(&mut response, &cookie);
    }
    Ok(response)
}
