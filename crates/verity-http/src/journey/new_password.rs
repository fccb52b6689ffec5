//! `POST /login/password`: "Choose a new password" after a temporary one. The engine
//! decides ([`verity_oidc::signin::new_password`]: only while the transaction waits for
//! it, then the policy): a person without an
//! authenticator has it recorded and sets one up next; a person with one enters their
//! code first, and only then is the new password recorded.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::signin::{self, NewPasswordOutcome};

use super::step::LoginStep;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /login/password`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let device = step.caller.cookie(cookies::DEVICE).map(str::to_owned);
    let typed = (
        step.field("new_password").to_owned(),
        step.field("confirm_password").to_owned(),
    );
    let outcome = signin::new_password(
        &state.engine,
        &step.caller.context,
        &mut step.login,
        (&typed.0, &typed.1),
        device.as_deref(),
    )
    .await?;
    match outcome {
        NewPasswordOutcome::Expired => Err(PageError::LoginExpired),
        NewPasswordOutcome::Refused(violation) => {
            Ok(step.password_page(&state, Some(&violation.message())))
        }
        NewPasswordOutcome::Next { person, next } => {
            super::next::show(&state, step, &person, next).await
        }
    }
}
