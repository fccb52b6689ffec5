//! Who is signed in on Verity's page: the person of the browser's live session, and the
//! token their forms are bound to.

use uuid::Uuid;
use verity_oidc::sessions::{self, Session};
use verity_projection::UserView;

use crate::context::Caller;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// The signed-in person, their session, and the secret their forms are bound to.
pub(crate) struct SignedIn {
    pub(crate) person: UserView,
    pub(crate) session: Session,
    pub(crate) csrf: String,
}

/// The person signed in with the request's session cookie, if any.
pub(crate) async fn signed_in(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<SignedIn>, PageError> {
    let Some(cookie) = caller.cookie(cookies::SESSION) else {
        return Ok(None);
    };
    let Some(session) = sessions::current(&state.engine, &caller.context, Some(cookie)).await?
    else {
        return Ok(None);
    };
    let person = match Uuid::parse_str(&session.authentication.user_id) {
        Ok(user_id) => state.engine.person_record(user_id).await?,
        Err(_) => None,
    };
    Ok(person.map(|person| SignedIn {
        person,
        session,
        csrf: cookies::session_bound_token(cookie, "account"),
    }))
}
