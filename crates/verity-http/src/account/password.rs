//! `POST /password`: "Change password" on Verity's page. Changing it ends the person's
//! other sessions (docs/sessions.md).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use verity_oidc::account::{self, PasswordChoice, Replacing};
use verity_oidc::signin::{self, PasswordOutcome, PasswordRefused};
use verity_projection::PasswordState;

use super::page::Notice;
use super::posted::Posted;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// `POST /password`: "Change password" on Verity's page. The current password is checked
/// like a sign-in's, then the new one against the policy; `user.password.changed` with
/// the person as actor, and back to the page with a notice.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    if matches!(person.password, PasswordState::Temporary { .. }) {
        // An admin issued a temporary password meanwhile: the sign-in journey takes it.
        return Err(PageError::Forbidden(STRINGS.not_signed_in));
    }
    let (engine, context) = (&state.engine, &posted.caller.context);
    let current = posted.field("current_password");
    if let PasswordOutcome::Refused(refusal) =
        signin::check_current_password(engine, context, person, current).await?
    {
        state.metrics.refused(refusal.refused_by, &refusal.lockouts);
        let message = match refusal.reason {
            PasswordRefused::NetworkLocked { .. } => STRINGS.ip_locked,
            PasswordRefused::AccountLocked => STRINGS.password_locked,
            PasswordRefused::Wrong
            | PasswordRefused::Disabled
            | PasswordRefused::TemporaryPasswordExpired
            | PasswordRefused::ClientOfAnotherOrganization => STRINGS.wrong_current_password,
        };
        let page = posted
            .again(&state, Notice::PasswordRefused(message))
            .await?;
        return Ok(match refusal.reason {
            PasswordRefused::NetworkLocked { until } => {
                views::too_many_requests(page, until, context.now)
            }
            _ => page,
        });
    }
    let choice = account::choose_password(
        engine,
        context,
        person,
        posted.field("new_password"),
        posted.field("confirm_password"),
        Replacing::Current {
            sid: posted.signed_in.session.authentication.sid.clone(),
        },
    )
    .await?;
    Ok(match choice {
        PasswordChoice::Changed => Redirect::to("/?changed=password").into_response(),
        PasswordChoice::Refused(violation) => {
            let message = violation.message();
            posted
                .again(&state, Notice::PasswordRefused(&message))
                .await?
        }
    })
}
