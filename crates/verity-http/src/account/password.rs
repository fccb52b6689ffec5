//! `POST /password`: "Change password" on Verity's page. Changing it ends the person's
//! other sessions (docs/sessions.md).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use verity_oidc::account::PasswordChoice;
use verity_oidc::account_page::{self, PasswordChange};
use verity_oidc::signin::PasswordRefused;

use super::page::Notice;
use super::posted::Posted;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// `POST /password`: "Change password" on Verity's page. The engine checks the current
/// password like a sign-in's, then the new one against the policy
/// ([`verity_oidc::account_page::change_password`]); `user.password.changed` with the person as
/// actor, and back to the page with a notice.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let (engine, context) = (&state.engine, &posted.caller.context);
    let typed = (
        posted.field("current_password"),
        posted.field("new_password"),
        posted.field("confirm_password"),
    );
    let sid = &posted.signed_in.session.authentication.sid;
    let person = &posted.signed_in.person;
    let change = account_page::change_password(engine, context, person, typed, sid).await?;
    match change {
        // An admin issued a temporary password meanwhile: the sign-in journey takes it.
        PasswordChange::TemporaryPending => Err(PageError::Forbidden(STRINGS.not_signed_in)),
        PasswordChange::CurrentRefused(refusal) => {
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
            Ok(match refusal.reason {
                PasswordRefused::NetworkLocked { until } => {
                    views::too_many_requests(page, until, context.now)
                }
                _ => page,
            })
        }
        PasswordChange::Chosen(PasswordChoice::Changed) => {
            Ok(Redirect::to("/?changed=password").into_response())
        }
        PasswordChange::Chosen(PasswordChoice::Refused(violation)) => {
            let message = violation.message();
            posted
                .again(&state, Notice::PasswordRefused(&message))
                .await
        }
    }
}
