//! Access-token facts (stream `token-<jti>`): a client revoked one of its access tokens
//! (RFC 7009). Appended without an aggregate (expected version `Any`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`AccessTokenRevoked`].
pub const TOKEN_REVOKED: &str = "token.revoked";

/// The stream of an access token's facts.
pub fn stream(jti: &str) -> String {
    format!("token-{jti}")
}

/// Payload of `token.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRevoked {
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to (who revoked it).
    pub client_id: String,
    /// When it would have expired: the mark is kept until then.
    pub expires_at: DateTime<Utc>,
}

/// An access-token fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// The client revoked the token.
    Revoked(AccessTokenRevoked),
}

domain_events! {
    TokenEvent {
        Revoked(AccessTokenRevoked) => TOKEN_REVOKED,
    }
}
