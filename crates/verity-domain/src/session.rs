//! SSO session facts (stream `session-<sid>`): a session started, a session ended and why.
//! Appended without an aggregate (expected version `Any`): facts cannot be refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`SessionStarted`].
pub const SESSION_STARTED: &str = "session.started";
/// Stored type of [`SessionEnded`].
pub const SESSION_ENDED: &str = "session.ended";

/// The stream of an SSO session.
pub fn stream(sid: &str) -> String {
    format!("session-{sid}")
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

/// A session fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A sign-in started the session.
    Started(SessionStarted),
    /// The session ended.
    Ended(SessionEnded),
}

domain_events! {
    SessionEvent {
        Started(SessionStarted) => SESSION_STARTED,
        Ended(SessionEnded) => SESSION_ENDED,
    }
}
