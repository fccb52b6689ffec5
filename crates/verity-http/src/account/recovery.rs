//! `POST /recovery-codes`: new recovery codes on Verity's page, against a current code.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::account;
use verity_oidc::second_factor::{self, CodeOutcome, Presented};

use super::page::Notice;
use super::posted::Posted;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// `POST /recovery-codes`: "Generate new recovery codes" on Verity's page, with the
/// current code from the authenticator app (a fresh second factor: a stolen session alone
/// cannot replace the codes). The code is checked like the sign-in's; the new set is
/// recorded (`user.recovery_codes.generated`, the person as actor) and shown once.
pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    let Some(totp) = &person.mfa.totp else {
        return Err(PageError::BadRequest(STRINGS.not_signed_in.to_owned()));
    };
    let (engine, context) = (&state.engine, &posted.caller.context);
    let presented = Presented::AppCode(posted.field("code"));
    if let CodeOutcome::Refused(refusal) =
        second_factor::check(engine, context, person, totp, presented).await?
    {
        let page = posted
            .again(
                &state,
                Notice::CodesRefused(views::code_refusal_message(&refusal)),
            )
            .await?;
        return Ok(views::refused_code(&state, &refusal, context.now, page));
    }
    let codes = account::new_recovery_codes(engine, context, person.user_id).await?;
    Ok(views::recovery_codes(&state, "", "", &codes, true))
}
