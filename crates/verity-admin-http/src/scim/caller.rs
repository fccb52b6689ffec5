//! Who calls SCIM: the organization's bearer token, checked by the admin layer
//! ([`verity_admin::Admin::scim_caller`]), and the request's time, id and client address
//! for the events' metadata. Anything but a live token is 401, before anything is read.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use verity_admin::scim_tokens::ScimCaller;
use verity_admin::{Admin, Call};
use verity_http::request_context;

use super::error::ScimError;
use crate::state::AdminState;

/// A request with a live SCIM token.
#[derive(Debug, Clone)]
pub struct Scim {
    /// The token as the admin layer's actor, with its organization.
    pub caller: ScimCaller,
    /// The call every event of the request carries.
    pub call: Call,
    /// Where this server's SCIM resources live (`<issuer>/scim/v2`), for `meta.location`.
    pub base: String,
    /// The admin layer the request goes to.
    pub admin: Admin,
}

impl FromRequestParts<AdminState> for Scim {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(ScimError::unauthorized)?;
        let caller = state
            .admin
            .scim_caller(presented)
            .ok_or_else(ScimError::unauthorized)?;
        Ok(Self {
            caller,
            call: Call::from(&request_context(parts, &state.app)),
            base: format!(
                "{}/scim/v2",
                state.app.engine.settings.issuer.trim_end_matches('/')
            ),
            admin: state.admin.clone(),
        })
    }
}
