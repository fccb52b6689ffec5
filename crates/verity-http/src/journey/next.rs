//! What follows a right password (or a new one): the page of the step the engine decided,
//! or the end of the sign-in when a trusted device stands in for the code.

use axum::response::Response;
use verity_oidc::signin::NextStep;
use verity_projection::UserView;

use super::finish;
use super::step::LoginStep;
use crate::page_error::PageError;
use crate::state::AppState;

/// Shows the step the engine decided comes next (or finishes the sign-in).
pub(crate) async fn show(
    state: &AppState,
    step: LoginStep,
    person: &UserView,
    next: NextStep,
) -> Result<Response, PageError> {
    match next {
        NextStep::ChangePassword => Ok(step.password_page(state, None)),
        NextStep::EnrollTotp(secret) => step.enrollment_page(state, person, &secret, "", None),
        NextStep::Code {
            app_name,
            may_remember,
        } => Ok(step.code_page(state, &app_name, may_remember, None)),
        NextStep::Finish(factor) => finish::finish(state, step, person.user_id, factor, None).await,
        NextStep::Replayed => Err(PageError::LoginExpired),
    }
}
