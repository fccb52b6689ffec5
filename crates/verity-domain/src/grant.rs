//! Grant facts (stream `grant-<id>`): a grant — what a client may keep doing on someone's
//! behalf — was revoked, and why. Appended without an aggregate (expected version `Any`).
//! Grants themselves are protocol state (each code exchange makes one); which clients a
//! session signed in to is the session's fact (`session.client.added`).

use serde::{Deserialize, Serialize};

use crate::event::domain_events;

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

/// A grant fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantEvent {
    /// The grant and everything issued under it stopped working.
    Revoked(GrantRevoked),
}

domain_events! {
    GrantEvent {
        Revoked(GrantRevoked) => GRANT_REVOKED,
    }
}
