//! OAuth 2.0 errors (RFC 6749 4.1.2.1 and 5.2, RFC 6750 3.1, OIDC Core 3.1.2.6).

use serde::Serialize;

/// An error with its registered code and a description safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}: {error_description}")]
pub struct OAuthError {
    /// The registered error code, e.g. `invalid_request`.
    pub error: &'static str,
    /// A human-readable explanation (no secrets).
    pub error_description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: description.into(),
        }
    }

    /// `invalid_request`: a parameter is missing, repeated, malformed or unsupported.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
    /// `invalid_client`: client authentication failed.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }
    /// `invalid_grant`: the code or refresh token is invalid, expired, used or revoked.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
    /// `unauthorized_client`: the client may not use this grant or response type.
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", description)
    }
    /// `unsupported_grant_type`
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", description)
    }
    /// `unsupported_response_type`
    pub fn unsupported_response_type(description: impl Into<String>) -> Self {
        Self::new("unsupported_response_type", description)
    }
    /// `invalid_scope`
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }
    /// `login_required` (OIDC): `prompt=none` without a usable session.
    pub fn login_required(description: impl Into<String>) -> Self {
        Self::new("login_required", description)
    }
    /// `consent_required` (OIDC).
    pub fn consent_required(description: impl Into<String>) -> Self {
        Self::new("consent_required", description)
    }
    /// `access_denied`
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new("access_denied", description)
    }
    /// `invalid_token` (RFC 6750): a bad, expired or revoked bearer token.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new("invalid_token", description)
    }
    /// `temporarily_unavailable`: the server sheds load; the client may try again later
    /// (RFC 6749 4.1.2.1; answered with 503 and `Retry-After` by the JSON endpoints too).
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            "temporarily_unavailable",
            "the server is busy; try again in a moment",
        )
    }
    /// `server_error`: something on our side failed; details are in the log.
    pub fn server_error() -> Self {
        Self::new("server_error", "the server could not complete the request")
    }
}
