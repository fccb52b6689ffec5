//! `POST /sessions/end` ("Sign out" of one session in the list) and
//! `POST /sessions/end-all` ("Sign out everywhere") on Verity's page (docs/sessions.md).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use verity_oidc::sessions::{self, SessionRevoked};

use super::posted::Posted;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /sessions/end`: one of the person's sessions ends (`session.ended`, reason
/// `revoked`, the person as actor; [`verity_oidc::sessions::revoke`]). Another person's
/// session id does nothing.
pub(crate) async fn end_one(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let signed_in = &posted.signed_in;
    let person = (
        signed_in.person.user_id,
        signed_in.session.authentication.sid.as_str(),
    );
    let context = &posted.caller.context;
    let revoked = sessions::revoke(&state.engine, context, person, posted.field("sid")).await?;
    Ok(match revoked {
        SessionRevoked::NotTheirs => Redirect::to("/").into_response(),
        SessionRevoked::Ended { this_browser } => back_home(&state, this_browser),
    })
}

/// `POST /sessions/end-all`: every session of the person ends, this one too
/// (`user.sessions.ended`, reason `signed_out`, the person as actor).
pub(crate) async fn end_all(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let user_id: Uuid = posted.signed_in.person.user_id;
    sessions::sign_out_everywhere(&state.engine, &posted.caller.context, user_id, None).await?;
    Ok(back_home(&state, true))
}

/// Back to the page; signed out there when this browser's session ended.
fn back_home(state: &AppState, this_browser: bool) -> Response {
    let mut response = Redirect::to("/").into_response();
    if this_browser {
        let cookie = state.cookies.clear(cookies::SESSION);
        cookies::set_on(&mut response, &cookie);
    }
    response
}
