//! `POST /login/totp`: "Set up your authenticator app". The person names the app and
//! types its current code; the engine enrolls it and moves the sign-in on
//! ([`verity_oidc::signin::set_up_app`]), and the recovery codes are shown once.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::account::EnrollmentRefused;
use verity_oidc::signin::{self, SetupStep};

use super::step::LoginStep;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// `POST /login/totp`.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    // Read from the form alone, not through `step`: the engine moves `step.login` on.
    let app_name = step.form.get("app_name").unwrap_or_default().trim();
    let code = step.form.get("code").unwrap_or_default();
    let context = &step.caller.context;
    let outcome =
        signin::set_up_app(&state.engine, context, &mut step.login, app_name, code).await?;
    match outcome {
        SetupStep::Enrolled(codes) => Ok(step.recovery_codes_page(&state, codes.as_slice(), false)),
        SetupStep::Refused {
            reason,
            secret,
            person,
        } => {
            let message = match reason {
                EnrollmentRefused::InvalidAppName => STRINGS.app_name_invalid,
                EnrollmentRefused::WrongCode => STRINGS.wrong_code,
                EnrollmentRefused::ReusedCode => STRINGS.code_reused,
            };
            step.enrollment_page(&state, &person, &secret, app_name, Some(message))
        }
        SetupStep::Expired => Err(PageError::LoginExpired),
    }
}
