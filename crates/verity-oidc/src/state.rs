//! Protocol state in the expiring store: which kinds of entries there are, and how a
//! record becomes bytes and back. Each record type lives with the module that owns it
//! (a login transaction with the sign-in, a code with the grants).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EngineError;

/// Kinds of entries in the expiring store that belong to the protocol.
pub mod kind {
    /// An SSO session, by the digest of its cookie.
    pub const SESSION: &str = "session";
    /// When an SSO session was last used, by its `sid`; it expires when the session
    /// idles out.
    pub const SESSION_ACTIVITY: &str = "session_activity";
    /// A login transaction, by its slot (`crate::pending_logins`).
    pub const LOGIN: &str = "login";
    /// The counter of a ring of login transactions' slots, by the ring's number.
    pub const LOGIN_RING: &str = "login_ring";
    /// An authorization code, by its digest.
    pub const CODE: &str = "code";
    /// A redeemed code's grant, by the code's digest (reuse detection).
    pub const CODE_USED: &str = "code_used";
    /// A live grant, by its id.
    pub const GRANT: &str = "grant";
    /// A refresh token, by its digest.
    pub const REFRESH: &str = "refresh";
    /// A rotated refresh token's grant, by its digest (reuse detection).
    pub const REFRESH_USED: &str = "refresh_used";
    /// A used client assertion, by its `jti` (replay protection).
    pub const ASSERTION_JTI: &str = "assertion_jti";
}

/// A record as stored.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec(value).map_err(|error| EngineError::State(error.to_string()))
}

/// A stored record read back.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EngineError> {
    serde_json::from_slice(bytes).map_err(|error| EngineError::State(error.to_string()))
}
