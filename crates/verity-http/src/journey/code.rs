//! `POST /login/mfa` and `POST /login/recovery`: "Enter the code from <app>", or a
//! recovery code in its place. The engine checks it
//! ([`verity_oidc::second_factor::check`]), and once it is accepted records a new
//! password that waited for it ([`verity_oidc::signin::second_factor_verified`]). A
//! sign-in with a recovery code stops at "You used a recovery code", which offers a new
//! set (`POST /login/recovery/regenerate`) before it finishes.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use verity_domain::signin::SecondFactor;
use verity_oidc::account;
use verity_oidc::second_factor::{self, CodeOutcome, Presented};
use verity_oidc::signin::{self, Stage};

use super::finish;
use super::step::{LoginStep, person};
use crate::page_error::PageError;
use crate::state::AppState;
use crate::views;

/// `POST /login/mfa`: a code from the app, and "Remember this device".
pub(crate) async fn app_code(
    State(state): State<AppState>,
    step: LoginStep,
) -> Result<Response, PageError> {
    check(&state, step, false).await
}

/// `POST /login/recovery`: a recovery code in place of a code.
pub(crate) async fn recovery_code(
    State(state): State<AppState>,
    step: LoginStep,
) -> Result<Response, PageError> {
    check(&state, step, true).await
}

async fn check(
    state: &AppState,
    mut step: LoginStep,
    recovery: bool,
) -> Result<Response, PageError> {
    let Stage::Mfa { user_id, .. } = *step.stage() else {
        return Err(PageError::LoginExpired);
    };
    let person = person(state, user_id).await?;
    let Some(totp) = &person.mfa.totp else {
        return Err(PageError::LoginExpired);
    };
    let presented = if recovery {
        Presented::RecoveryCode(step.field("recovery_code"))
    } else {
        Presented::AppCode(step.field("code"))
    };
    let context = &step.caller.context;
    let may_remember = account::may_trust_devices(&state.engine, user_id);
    let factor =
        match second_factor::check(&state.engine, context, &person, totp, presented).await? {
            CodeOutcome::Accepted(factor) => factor,
            CodeOutcome::Refused(refusal) => {
                let message = views::code_refusal_message(&refusal);
                let page = step.code_page(state, &totp.app_name, may_remember, Some(message));
                return Ok(views::refused_code(state, &refusal, context.now, page));
            }
        };
    signin::second_factor_verified(&state.engine, context, &step.login).await?;
    if factor == SecondFactor::RecoveryCode {
        // One code fewer: before finishing, offer a new set.
        step.advance(state, Stage::RecoveryCodeUsed { user_id })
            .await?;
        let remaining = person_after(state, user_id).await?;
        let remaining_text = views::recovery_codes_left(remaining);
        return Ok(step.page(
            state,
            "recovery_used.html",
            context! { remaining, remaining_text },
        ));
    }
    let device = if may_remember && step.field("remember_device") == "yes" {
        Some(account::trust_device(&state.engine, &step.caller.context, user_id).await?)
    } else {
        None
    };
    finish::finish(state, step, user_id, factor, device).await
}

/// The person's unused recovery codes, read after the one just used.
async fn person_after(state: &AppState, user_id: uuid::Uuid) -> Result<usize, PageError> {
    Ok(person(state, user_id).await?.mfa.unused_recovery_codes())
}

/// `POST /login/recovery/regenerate`: "Generate new recovery codes" after a sign-in with
/// one. Records a new set (every old code stops working), shows it once, and the sign-in
/// continues from there.
pub(crate) async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let Stage::RecoveryCodeUsed { user_id } = *step.stage() else {
        return Err(PageError::LoginExpired);
    };
    // Shown once: the transaction moves on first, so that posting again (or twice at
    // once) finds the next stage and generates nothing.
    step.advance(&state, Stage::NewRecoveryCodesShown { user_id })
        .await?;
    let codes = account::new_recovery_codes(&state.engine, &step.caller.context, user_id).await?;
    Ok(step.recovery_codes_page(&state, &codes, true))
}
