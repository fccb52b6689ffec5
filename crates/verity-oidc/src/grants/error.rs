//! What a token request gets instead of tokens.

use crate::error::EngineError;
use crate::protocol::OAuthError;

/// What a token request gets instead of tokens.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The client did not authenticate (401 `invalid_client`, RFC 6749 5.2).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// The request was refused (400 with the error).
    #[error("{}: {}", .0.error, .0.error_description)]
    Refused(OAuthError),
    /// The engine failed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

impl From<verity_domain::StoreError> for GrantError {
    fn from(error: verity_domain::StoreError) -> Self {
        Self::Failed(error.into())
    }
}

pub(super) fn invalid_grant(description: &str) -> GrantError {
    GrantError::Refused(OAuthError::invalid_grant(description))
}
