//! `POST /login/password`: "Choose a new password" after a temporary one. The engine
//! applies the policy ([`verity_oidc::signin::new_password`]): a person without an
//! authenticator has it recorded and sets one up next; a person with one enters their
//! code first, and only then is the new password recorded.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::signin::{self, NewPasswordOutcome, Stage};

use super::step::{LoginStep, person};
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /login/password`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let Stage::ChangePassword { user_id } = *step.stage() else {
        return Err(PageError::LoginExpired);
    };
    let person = person(&state, user_id).await?;
    let device = step.caller.cookie(cookies::DEVICE).map(str::to_owned);
    let typed = (
        step.field("new_password").to_owned(),
        step.field("confirm_password").to_owned(),
    );
    let outcome = signin::new_password(
        &state.engine,
        &step.caller.context,
        &mut step.login,
        &person,
        (&typed.0, &typed.1),
        device.as_deref(),
    )
    .await?;
    match outcome {
        NewPasswordOutcome::Refused(violation) => {
            Ok(step.password_page(&state, Some(&violation.message())))
        }
        NewPasswordOutcome::Next(next) => super::next::show(&state, step, &person, next).await,
    }
}
