//! The end of a sign-in: the login transaction is taken (single use), a session starts
//! (replacing this browser's previous one), and the browser goes back to the client with
//! a code. `POST /login/continue` finishes a sign-in whose last page only informed (the
//! recovery codes, or "You used a recovery code").

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use verity_domain::session::SessionEndReason;
use verity_domain::signin::SecondFactor;
use verity_oidc::account::TrustedDevice;
use verity_oidc::signin::{self, Stage};
use verity_oidc::{grants, sessions};

use super::step::LoginStep;
use crate::cookies;
use crate::metrics::label;
use crate::page_error::PageError;
use crate::state::AppState;

/// Both factors done: start the SSO session, record the sign-in, return to the client
/// (with the trusted-device cookie when the person asked to be remembered).
pub(crate) async fn finish(
    state: &AppState,
    step: LoginStep,
    user_id: Uuid,
    factor: SecondFactor,
    device: Option<TrustedDevice>,
) -> Result<Response, PageError> {
    let engine = &state.engine;
    let context = &step.caller.context;
    if !signin::close(engine, context, &step.login).await? {
        return Err(PageError::LoginExpired);
    }
    let decision = step.login.transaction.decision;
    let request = step.login.transaction.request;
    let session_cookie = step.caller.cookie(cookies::SESSION);
    if let Some(previous) = sessions::current(engine, context, session_cookie).await? {
        let reason = SessionEndReason::Replaced;
        sessions::end(engine, context, &previous, reason, Some(&request.client_id)).await?;
    }
    let started = sessions::start(
        engine,
        context,
        user_id,
        (factor, decision),
        &request.client_id,
    )
    .await?;
    state.metrics.sign_in(&label(&factor));
    let location = grants::issue_code(engine, context, request, started.authentication).await?;
    let mut response = Redirect::to(&location).into_response();
    let jar = state.cookies;
    let lifetime = engine.settings.session_lifetime.num_seconds();
    cookies::set_on(
        &mut response,
        &jar.set(cookies::SESSION, &started.cookie, lifetime),
    );
    cookies::set_on(&mut response, &jar.clear(cookies::CSRF));
    if let Some(device) = device {
        let cookie = jar.set(cookies::DEVICE, &device.device_id, device.max_age);
        cookies::set_on(&mut response, &cookie);
    }
    Ok(response)
}

/// `POST /login/continue`.
pub(crate) async fn continue_after_codes(
    State(state): State<AppState>,
    step: LoginStep,
) -> Result<Response, PageError> {
    let (user_id, factor) = match *step.stage() {
        // Set-up ends with a code from the new app.
        Stage::RecoveryCodesShown { user_id } => (user_id, SecondFactor::Totp),
        Stage::RecoveryCodeUsed { user_id } | Stage::NewRecoveryCodesShown { user_id } => {
            (user_id, SecondFactor::RecoveryCode)
        }
        _ => return Err(PageError::LoginExpired),
    };
    finish(&state, step, user_id, factor, None).await
}
