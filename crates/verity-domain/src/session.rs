//! Sign-in facts: what happened when people signed in and out, and when grants were
//! revoked. These are records of facts rather than decisions, so they are appended
//! without an aggregate (expected version `Any`): nothing can refuse a fact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{EventMetadata, NewEvent, to_json};

/// Stored type of [`SignInSucceeded`] (on the user's stream).
pub const SIGNIN_SUCCEEDED: &str = "user.signin.succeeded";
/// Stored type of [`SignInFailed`] (on the user's stream, or `signin-unknown` for an
/// unknown email).
pub const SIGNIN_FAILED: &str = "user.signin.failed";
/// Stored type of [`SessionStarted`] (stream `session-<sid>`).
pub const SESSION_STARTED: &str = "session.started";
/// Stored type of [`SessionEnded`] (stream `session-<sid>`).
pub const SESSION_ENDED: &str = "session.ended";
/// Stored type of [`GrantRevoked`] (stream `grant-<id>`).
pub const GRANT_REVOKED: &str = "grant.revoked";

/// The stream of an SSO session.
pub fn session_stream(sid: &str) -> String {
    format!("session-{sid}")
}

/// The stream of a grant.
pub fn grant_stream(grant_id: &str) -> String {
    format!("grant-{grant_id}")
}

/// The stream of failed sign-ins for addresses that have no account.
pub const UNKNOWN_SIGNIN_STREAM: &str = "signin-unknown";

/// An admin lifted the per-IP sign-in lock of a network (`verity network unlock`).
pub const NETWORK_UNLOCKED: &str = "network.unlocked";

/// The stream of facts about one client network (an IPv4 address or an IPv6 /64, as the
/// per-IP sign-in limit counts them).
pub fn network_stream(network: &str) -> String {
    format!("network-{network}")
}

/// Payload of [`NETWORK_UNLOCKED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkUnlocked {
    /// The network as the limit counts it: an IPv4 address or an IPv6 /64.
    pub network: String,
    /// When its lock would have ended, if it was locked.
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Failures counted in the current window, forgotten now.
    pub failures: u64,
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The client application, if the sign-in was for one.
    pub client_id: Option<String>,
    /// The browser's IP address.
    pub ip: Option<String>,
    /// The browser's User-Agent.
    pub user_agent: Option<String>,
}

/// Payload of `user.signin.succeeded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSucceeded {
    /// The person.
    pub user_id: String,
    /// The session it started.
    pub sid: String,
    /// The factors used, e.g. `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// How the second factor was satisfied: `totp`, `recovery_code` or `trusted_device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<serde_json::Value>,
    /// Whether a trusted device stood in for the code (so an auditor can tell why no
    /// code was asked).
    #[serde(default)]
    pub device_trust_used: bool,
    /// Where from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    /// No account has this address.
    UnknownEmail,
    /// The password did not match.
    WrongPassword,
    /// The account is disabled.
    Disabled,
    /// The temporary password expired.
    TemporaryPasswordExpired,
    /// Too many failed passwords: the account's sign-in is locked for a while.
    Locked,
}

/// Payload of `user.signin.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInFailed {
    /// The person, when the address is known.
    pub user_id: Option<String>,
    /// The address as typed (normalised), so failures against unknown addresses can be
    /// audited too.
    pub email: String,
    /// Why.
    pub reason: SignInFailure,
    /// Where from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// Payload of `session.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The session id (`sid` in tokens).
    pub sid: String,
    /// The person.
    pub user_id: String,
    /// When they authenticated.
    pub auth_time: DateTime<Utc>,
    /// The factors used.
    pub amr: Vec<String>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEndReason {
    /// The person logged out (RP-initiated or on Verity's page).
    Logout,
    /// A new sign-in replaced it (prompt=login, max_age).
    Replaced,
}

/// Payload of `session.ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// The session id.
    pub sid: String,
    /// The person.
    pub user_id: String,
    /// Why.
    pub reason: SessionEndReason,
    /// The client that asked, for RP-initiated logout.
    pub client_id: Option<String>,
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

/// Wraps a fact payload into an event.
pub fn fact<T: Serialize>(event_type: &str, payload: &T, metadata: EventMetadata) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        schema: 1,
        data: to_json(payload),
        metadata,
    }
}
