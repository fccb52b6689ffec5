//! `POST /login/mfa` and `POST /login/recovery`: "Enter the code from <app>", or a
//! recovery code in its place. The engine checks it and decides what follows
//! ([`verity_oidc::signin::enter_code`]): the sign-in finishes, or, after a recovery code,
//! stops at "You used a recovery code", which offers a new set
//! (`POST /login/recovery/regenerate`, [`verity_oidc::signin::new_recovery_codes`])
//! before it finishes.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use verity_oidc::second_factor::Presented;
use verity_oidc::signin::{self, CodeStep, NewRecoveryCodes};

use super::finish;
use super::step::LoginStep;
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
    // Read from the form alone, not through `step`: the engine moves `step.login` on.
    let form = &step.form;
    let presented = if recovery {
        Presented::RecoveryCode(form.get("recovery_code").unwrap_or_default())
    } else {
        Presented::AppCode(form.get("code").unwrap_or_default())
    };
    let asked_to_remember = form.get("remember_device") == Some("yes");
    let context = &step.caller.context;
    let outcome = signin::enter_code(
        &state.engine,
        context,
        &mut step.login,
        presented,
        asked_to_remember,
    )
    .await?;
    match outcome {
        CodeStep::Refused {
            refusal,
            app_name,
            may_remember,
        } => {
            let message = views::code_refusal_message(&refusal);
            let page = step.code_page(state, &app_name, may_remember, Some(message));
            Ok(views::refused_code(state, &refusal, context.now, page))
        }
        CodeStep::RecoveryCodeUsed { remaining } => {
            let remaining_text = views::recovery_codes_left(remaining);
            Ok(step.page(
                state,
                "recovery_used.html",
                context! { remaining, remaining_text },
            ))
        }
        CodeStep::Finish {
            user_id,
            factor,
            device,
        } => finish::finish(state, step, user_id, factor, device).await,
        CodeStep::Expired => Err(PageError::LoginExpired),
    }
}

/// `POST /login/recovery/regenerate`: "Generate new recovery codes" after a sign-in with
/// one. Records a new set (every old code stops working), shows it once, and the sign-in
/// continues from there.
pub(crate) async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let context = &step.caller.context;
    match signin::new_recovery_codes(&state.engine, context, &mut step.login).await? {
        NewRecoveryCodes::Generated(codes) => {
            Ok(step.recovery_codes_page(&state, codes.as_slice(), true))
        }
        NewRecoveryCodes::Expired => Err(PageError::LoginExpired),
    }
}
