//! Back-channel logout notices (OpenID Connect Back-Channel Logout 1.0; stream
//! `backchannel-<client_id>`): what became of a notice that a session ended, posted to a
//! client's back-channel logout URI. The notices themselves are derived from the log
//! (the sessions that ended and the clients they signed in to); these facts close them.
//! Appended without an aggregate (expected version `Any`).

use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`NoticeDelivered`].
pub const BACKCHANNEL_DELIVERED: &str = "backchannel.delivered";
/// Stored type of [`NoticeFailed`].
pub const BACKCHANNEL_FAILED: &str = "backchannel.failed";

/// The stream of a client's back-channel notices.
pub fn stream(client_id: &str) -> String {
    format!("backchannel-{client_id}")
}

/// Payload of `backchannel.delivered`: the client answered 2xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDelivered {
    /// The notice.
    pub notice_id: String,
    /// The client notified.
    pub client_id: String,
    /// The session that ended.
    pub sid: String,
    /// Attempts it took, this one included.
    pub attempts: u32,
}

/// Payload of `backchannel.failed`: the notice was given up — the client refused it
/// (4xx), it kept failing for a day, or the client went away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFailed {
    /// The notice.
    pub notice_id: String,
    /// The client that was to be notified.
    pub client_id: String,
    /// The session that ended.
    pub sid: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was given up (`HTTP 400`, `connection refused`, ...).
    pub reason: String,
}

/// A back-channel fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackchannelEvent {
    /// Delivered.
    Delivered(NoticeDelivered),
    /// Given up.
    Failed(NoticeFailed),
}

domain_events! {
    BackchannelEvent {
        Delivered(NoticeDelivered) => BACKCHANNEL_DELIVERED,
        Failed(NoticeFailed) => BACKCHANNEL_FAILED,
    }
}
