//! `POST /recovery-codes`: new recovery codes on Verity's page, against a current code.

use axum::extract::State;
use axum::response::Response;
use verity_oidc::account_page::{self, RecoveryCodesReplacement};

use super::page::Notice;
use super::posted::Posted;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// `POST /recovery-codes`: "Generate new recovery codes" on Verity's page, with the
/// current code from the authenticator app. The engine decides
/// ([`verity_oidc::account_page::replace_recovery_codes`]): the code checked like the
/// sign-in's, then the new set recorded (`user.recovery_codes.generated`, the person as
/// actor) and shown once.
pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    let context = &posted.caller.context;
    let code = posted.field("code");
    match account_page::replace_recovery_codes(&state.engine, context, person, code).await? {
        RecoveryCodesReplacement::Generated(codes) => Ok(views::recovery_codes(
            &state,
            "",
            "",
            codes.as_slice(),
            true,
        )),
        RecoveryCodesReplacement::NoAuthenticator => {
            Err(PageError::BadRequest(STRINGS.not_signed_in.to_owned()))
        }
        RecoveryCodesReplacement::CodeRefused(refusal) => {
            let notice = Notice::CodesRefused(views::code_refusal_message(&refusal));
            let page = posted.again(&state, notice).await?;
            Ok(views::refused_code(&state, &refusal, context.now, page))
        }
    }
}
