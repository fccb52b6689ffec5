//! `POST /login/password`: "Choose a new password" after a temporary one. The engine
//! applies the policy and records the change ([`verity_oidc::account::choose_password`]);
//! then comes the second factor.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::account::{self, PasswordChoice, Replacing};
use verity_oidc::signin::{self, Stage};

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
    let engine = &state.engine;
    let context = &step.caller.context;
    let choice = account::choose_password(
        engine,
        context,
        &person(&state, user_id)?,
        step.field("new_password"),
        step.field("confirm_password"),
        Replacing::Temporary,
    )
    .await?;
    if let PasswordChoice::Refused(violation) = choice {
        return Ok(step.password_page(&state, Some(&violation.message())));
    }
    let person = person(&state, user_id)?;
    let device = step.caller.cookie(cookies::DEVICE).map(str::to_owned);
    let next = signin::second_factor(
        engine,
        &step.caller.context,
        &mut step.login,
        &person,
        device.as_deref(),
    )
    .await?;
    super::next::show(&state, step, &person, next).await
}
