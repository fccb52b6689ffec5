//! The console's session: who is signed in to the console, bound to the SSO session they
//! signed in with, and the actor every page acts as.
//!
//! A console session is a record in the expiring store under the digest of the console's
//! cookie: the [`Authentication`] of the ID token the sign-in returned (the person and
//! their SSO session's `sid`). At every request it is checked against that SSO session
//! the way tokens are (`verity_oidc::sessions::alive`): ended by logout, by "Sign out
//! everywhere", by an admin, by disabling the person, by age or idleness — and the console
//! stops answering, on every node. Using the console counts as using the SSO session (its
//! idle timeout starts again). The grants are read from the roles read model at every
//! request, so a role granted or revoked takes effect at the next click.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use uuid::Uuid;
use verity_admin::{Actor, Call, Door, Principal};
use verity_http::web::{Caller, Cookie, session_bound_token};
use verity_oidc::protocol::tokens::{Authentication, token_digest};
use verity_oidc::{EngineError, RequestContext, sessions};

use super::error::ConsoleError;
use super::strings::CONSOLE;
use crate::state::AdminState;

/// The expiring store's kind of console sessions, by the digest of their cookie.
pub(crate) const SESSION_KIND: &str = "console_session";

/// Which forms the console's CSRF token is for (it is bound to the console's cookie).
const FORMS: &str = "console";

/// A live console session: its SSO session still stands.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The digest of the console's cookie: the record's key.
    pub(crate) digest: String,
    /// Who signed in, with which SSO session.
    pub(crate) authentication: Authentication,
    /// The person's id.
    pub(crate) user_id: Uuid,
    /// The token every console form carries.
    pub(crate) csrf: String,
    /// The request.
    pub(crate) caller: Caller,
}

impl Session {
    /// What the admin layer's calls of this request share.
    pub(crate) fn call(&self) -> Call {
        Call::from(self.caller.context())
    }
}

/// Stores a console session for `authentication` (a live SSO session's); returns the
/// console cookie's value.
pub(crate) async fn open(
    state: &AdminState,
    context: &RequestContext,
    authentication: &Authentication,
) -> Result<String, EngineError> {
    let engine = &state.app.engine;
    let cookie = verity_oidc::random::token();
    let record = serde_json::to_vec(authentication)
        .map_err(|error| EngineError::State(error.to_string()))?;
    let expires_at = context.now + engine.settings.session_lifetime;
    engine
        .expiring
        .put(SESSION_KIND, &token_digest(&cookie), &record, expires_at)
        .await?;
    Ok(cookie)
}

/// The console session of the request, if it has one that still stands; a session
/// whose SSO session ended is removed on the way.
pub(crate) async fn current(
    state: &AdminState,
    caller: Caller,
) -> Result<Option<Session>, ConsoleError> {
    let engine = &state.app.engine;
    let Some(cookie) = caller.cookie(Cookie::Console).map(str::to_owned) else {
        return Ok(None);
    };
    let digest = token_digest(&cookie);
    let context = caller.context();
    let Some(record) = engine
        .expiring
        .get(SESSION_KIND, &digest, context.now)
        .await
        .map_err(ConsoleError::internal)?
    else {
        return Ok(None);
    };
    let Ok(authentication) = serde_json::from_slice::<Authentication>(&record) else {
        return Ok(None);
    };
    let Ok(user_id) = Uuid::parse_str(&authentication.user_id) else {
        return Ok(None);
    };
    if !sessions::alive(engine, context, &authentication).await? {
        engine
            .expiring
            .remove(SESSION_KIND, &digest)
            .await
            .map_err(ConsoleError::internal)?;
        return Ok(None);
    }
    sessions::touch(engine, context, &authentication.sid).await?;
    Ok(Some(Session {
        digest,
        authentication,
        user_id,
        csrf: session_bound_token(&cookie, FORMS),
        caller,
    }))
}

/// Ends the console session (the SSO session is the caller's to end).
pub(crate) async fn close(state: &AdminState, session: &Session) -> Result<(), ConsoleError> {
    state
        .app
        .engine
        .expiring
        .remove(SESSION_KIND, &session.digest)
        .await
        .map_err(ConsoleError::internal)
}

/// Where a request without a console session goes after signing in: the page it asked
/// for, when it was a page; the console's start after a form.
fn come_back_to(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or_else(|| "/console".to_owned(), |path| path.as_str().to_owned())
    } else {
        "/console".to_owned()
    }
}

impl FromRequestParts<AdminState> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        current(state, caller)
            .await?
            .ok_or_else(|| ConsoleError::SignIn {
                next: come_back_to(parts),
            })
    }
}

/// A console session of someone holding a role: the actor every page acts as, built
/// afresh at each request.
#[derive(Debug, Clone)]
pub(crate) struct Console {
    /// The session.
    pub(crate) session: Session,
    /// Who acts: the person and their session, through the console, with the grants
    /// they hold now.
    pub(crate) actor: Actor,
    /// Their sign-in address, for the layout.
    pub(crate) email: String,
}

impl Console {
    /// What the admin layer's calls of this request share.
    pub(crate) fn call(&self) -> Call {
        self.session.call()
    }
}

impl FromRequestParts<AdminState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let grants = state.admin.grants_of_person(session.user_id);
        if grants.is_empty() {
            return Err(ConsoleError::NoAccess { csrf: session.csrf });
        }
        let email = state
            .app
            .engine
            .person(session.user_id)
            .map(|person| person.email.to_string())
            .ok_or(ConsoleError::Refused {
                status: StatusCode::FORBIDDEN,
                message: CONSOLE.no_access.to_owned(),
            })?;
        let principal = Principal::Person {
            user_id: session.user_id,
            sid: Some(session.authentication.sid.clone()),
        };
        Ok(Self {
            actor: Actor::new(principal, Door::Console, grants),
            email,
            session,
        })
    }
}
