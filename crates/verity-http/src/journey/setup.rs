//! `POST /login/totp`: "Set up your authenticator app". The person names the app and
//! types its current code; the engine enrolls it ([`verity_oidc::account::enroll`]) and
//! the recovery codes are shown once.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::account::{self, Enrollment, EnrollmentRefused};
use verity_oidc::mfa;
use verity_oidc::signin::Stage;

use super::step::{LoginStep, person};
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// `POST /login/totp`.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    mut step: LoginStep,
) -> Result<Response, PageError> {
    let Stage::EnrollTotp {
        user_id,
        sealed_secret,
    } = step.stage().clone()
    else {
        return Err(PageError::LoginExpired);
    };
    let app_name = step.field("app_name").trim().to_owned();
    let enrollment = account::enroll(
        &state.engine,
        &step.caller.context,
        user_id,
        &sealed_secret,
        &app_name,
        step.field("code"),
    )
    .await?;
    let codes = match enrollment {
        Enrollment::Enrolled(codes) => codes,
        Enrollment::Refused(refused) => {
            let message = match refused {
                EnrollmentRefused::InvalidAppName => STRINGS.app_name_invalid,
                EnrollmentRefused::WrongCode => STRINGS.wrong_code,
                EnrollmentRefused::ReusedCode => STRINGS.code_reused,
            };
            let secret = mfa::open_totp_secret(state.engine.keys.master(), user_id, &sealed_secret)
                .map_err(verity_oidc::EngineError::from)?;
            let person = person(&state, user_id).await?;
            return step.enrollment_page(&state, &person, &secret, &app_name, Some(message));
        }
    };
    step.advance(&state, Stage::RecoveryCodesShown { user_id })
        .await?;
    Ok(step.recovery_codes_page(&state, codes.as_slice(), false))
}
