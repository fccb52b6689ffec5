//! The console's forms: [`Posted`] reads a form posted by the admin whose console session
//! posted it, and checks the token bound to that session (compared in constant time), so
//! no other site can make an admin's browser act, and nothing is read or changed before
//! the check.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use verity_http::web::{FormError, parse_form};
use verity_oidc::protocol::Params;

use super::error::ConsoleError;
use super::session::{Console, Session};
use super::strings::CONSOLE;
use crate::state::AdminState;

/// A form of the console, posted with the session's token by someone holding a role.
pub(crate) struct Posted {
    form: Params,
    /// Who posted it.
    pub(crate) console: Console,
}

/// A form posted with the session's token by anyone signed in to the console, holding a
/// role or not ("Log out").
pub(crate) struct PostedBySession {
    /// The session that posted it.
    pub(crate) session: Session,
}

/// Reads the body as a form (within the router's body limit) and checks its `csrf` field
/// against `expected`.
async fn checked_form(
    parts: Parts,
    body: Body,
    state: &AdminState,
    expected: &str,
) -> Result<Params, ConsoleError> {
    let headers = parts.headers.clone();
    let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|rejection| ConsoleError::Refused {
            status: rejection.status(),
            message: rejection.body_text(),
        })?;
    let form = parse_form(&headers, &bytes).map_err(|error| match error {
        FormError::NotAForm => ConsoleError::bad_request(CONSOLE.not_a_form),
        // A repeated field: not a form the console's pages send.
        FormError::Malformed(_) => ConsoleError::csrf(),
    })?;
    let posted = form.get("csrf").unwrap_or_default();
    if !bool::from(posted.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ConsoleError::csrf());
    }
    Ok(form)
}

impl FromRequest<AdminState> for Posted {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AdminState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        let form = checked_form(parts, body, state, &console.session.csrf).await?;
        Ok(Self { form, console })
    }
}

impl FromRequest<AdminState> for PostedBySession {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AdminState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        checked_form(parts, body, state, &session.csrf).await?;
        Ok(Self { session })
    }
}

impl Posted {
    /// A field of the form, trimmed, or empty.
    pub(crate) fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or_default().trim()
    }

    /// Whether a checkbox named `name` was ticked.
    pub(crate) fn ticked(&self, name: &str) -> bool {
        self.form.get(name).is_some()
    }
}
