//! Grant facts (stream `grant-<id>`): a grant — what a client may keep doing on someone's
//! behalf — was issued (a code redeemed: the client holds tokens of that person and
//! session), or revoked, and why. Appended without an aggregate (expected version `Any`).

use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`GrantIssued`].
pub const GRANT_ISSUED: &str = "grant.issued";
/// Stored type of [`GrantRevoked`].
pub const GRANT_REVOKED: &str = "grant.revoked";

/// The stream of a grant.
pub fn stream(grant_id: &str) -> String {
    format!("grant-{grant_id}")
}

/// Why a grant was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantRevocationReason {
    /// An authorization code was used twice.
    CodeReused,
    /// A rotated refresh token was used again.
    RefreshTokenReused,
    /// The client revoked a token (RFC 7009).
    Revoked,
    /// The session it came from ended, or every session of its person did.
    SessionEnded,
}

/// Payload of `grant.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRevoked {
    /// The grant.
    pub grant_id: String,
    /// Its client.
    pub client_id: String,
    /// Its person, if any.
    pub user_id: Option<String>,
    /// Why.
    pub reason: GrantRevocationReason,
}

/// Payload of `grant.issued`: a client redeemed a code; it holds tokens for this person
/// and session (what back-channel logout notifies, what ending access revokes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantIssued {
    /// The grant.
    pub grant_id: String,
    /// Its client.
    pub client_id: String,
    /// Its person.
    pub user_id: String,
    /// The SSO session it came from.
    pub sid: String,
    /// The scopes granted.
    pub scope: String,
}

/// A grant fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantEvent {
    /// A code was redeemed.
    Issued(GrantIssued),
    /// The grant and everything issued under it stopped working.
    Revoked(GrantRevoked),
}

domain_events! {
    GrantEvent {
        Issued(GrantIssued) => GRANT_ISSUED,
        Revoked(GrantRevoked) => GRANT_REVOKED,
    }
}
