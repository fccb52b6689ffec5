//! `POST /login`: email and password. The engine decides
//! ([`verity_oidc::signin::password_step`]: only while the transaction waits for a
//! password, then [`verity_oidc::signin::check_password`]); a refusal shows the form again
//! with why, a right password leads to the next step.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use verity_oidc::signin::{self, PasswordRefusal, PasswordRefused, PasswordStep};

use super::step::LoginStep;
use crate::cookies;
use crate::metrics::label;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// `POST /login`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let email = step.field("email").to_owned();
    let password = step.field("password").to_owned();
    let device = step.caller.cookie(cookies::DEVICE).map(str::to_owned);
    let outcome = signin::password_step(
        &state.engine,
        &step.caller.context,
        &mut step.login,
        (&email, &password),
        device.as_deref(),
    )
    .await?;
    match outcome {
        PasswordStep::Expired => Err(PageError::LoginExpired),
        PasswordStep::Refused(refusal) => refused(&state, &step, &email, &refusal),
        PasswordStep::Accepted { person, next } => {
            super::next::show(&state, step, &person, next).await
        }
    }
}

/// The form again, with why the password was refused (429 for a locked network); the
/// error page for an application of another organization.
fn refused(
    state: &AppState,
    step: &LoginStep,
    email: &str,
    refusal: &PasswordRefusal,
) -> Result<Response, PageError> {
    if let Some(recorded) = refusal.recorded {
        state.metrics.sign_in_failure(&label(&recorded));
    }
    state.metrics.refused(refusal.refused_by, &refusal.lockouts);
    let message = match refusal.reason {
        PasswordRefused::ClientOfAnotherOrganization => {
            return Err(PageError::Forbidden(STRINGS.not_for_your_organization));
        }
        PasswordRefused::NetworkLocked { .. } => STRINGS.ip_locked,
        PasswordRefused::AccountLocked => STRINGS.password_locked,
        PasswordRefused::Wrong => STRINGS.bad_credentials,
        PasswordRefused::Disabled => STRINGS.account_disabled,
        PasswordRefused::TemporaryPasswordExpired => STRINGS.temporary_password_expired,
    };
    let login = &step.login;
    let page = login_page(
        state,
        &login.tx,
        &login.transaction.csrf,
        email,
        Some(message),
    );
    Ok(match refusal.reason {
        PasswordRefused::NetworkLocked { until } => {
            views::too_many_requests(page, until, step.caller.context.now)
        }
        _ => page,
    })
}

/// The sign-in form: email (pre-filled when known) and password.
pub(crate) fn login_page(
    state: &AppState,
    tx: &str,
    csrf: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    state.pages.personal(
        StatusCode::OK,
        "login.html",
        context! { tx, csrf, email, error },
    )
}
