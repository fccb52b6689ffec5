//! `POST /sessions/end` ("Sign out" of one session in the list) and
//! `POST /sessions/end-all` ("Sign out everywhere") on Verity's page (docs/sessions.md).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use verity_domain::session::SessionEndReason;
use verity_oidc::sessions;

use super::posted::Posted;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /sessions/end`: one of the person's sessions ends (`session.ended`, reason
/// `revoked`, the person as actor). Another person's session id does nothing.
pub(crate) async fn end_one(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let sid = posted.field("sid");
    let user_id = posted.signed_in.person.user_id;
    let theirs = sessions::of_person(&state.engine, user_id)
        .iter()
        .any(|session| session.sid == sid);
    if !theirs {
        return Ok(Redirect::to("/").into_response());
    }
    let context = &posted.caller.context;
    sessions::end_by_id(&state.engine, context, sid, SessionEndReason::Revoked, None).await?;
    let this_browser = posted.signed_in.session.authentication.sid == sid;
    Ok(back_home(&state, this_browser))
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
