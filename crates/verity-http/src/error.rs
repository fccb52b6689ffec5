//! The error of the JSON endpoints (token, introspection, revocation, userinfo, JWKS):
//! OAuth errors answered precisely (RFC 6749 5.2, RFC 6750 3), a domain rule's refusal as
//! a 400, shed load as a 503 with `Retry-After`, internal errors logged with their chain
//! and answered generically. Pages have their own ([`crate::page_error::PageError`]).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verity_domain::error_chain;
use verity_oidc::EngineError;
use verity_oidc::grants::{AccessTokenProblem, GrantError};
use verity_oidc::protocol::OAuthError;

/// What a JSON handler answers when it does not succeed.
#[derive(Debug)]
pub enum HttpError {
    /// An OAuth error as JSON (RFC 6749 5.2), optionally with `WWW-Authenticate`.
    OAuth {
        /// 400, 401, ...
        status: StatusCode,
        /// The error.
        error: OAuthError,
        /// A `WWW-Authenticate` challenge (401 answers).
        challenge: Option<String>,
    },
    /// Too busy to serve it now (503 with `Retry-After`).
    Busy,
    /// Something failed on our side; the cause was logged.
    Internal,
}

/// Seconds a client (or a person's browser) is asked to wait before trying again when
/// the server sheds load.
pub const RETRY_AFTER_SECONDS: &str = "2";

impl HttpError {
    /// 400 with the error.
    pub fn bad_request(error: OAuthError) -> Self {
        Self::OAuth {
            status: StatusCode::BAD_REQUEST,
            error,
            challenge: None,
        }
    }

    /// 401 `invalid_client` with a Basic challenge (RFC 6749 5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: OAuthError::invalid_client(description),
            challenge: Some("Basic realm=\"verity\"".into()),
        }
    }

    /// 401 `invalid_token` with a Bearer challenge (RFC 6750 3).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        let error = OAuthError::invalid_token(description);
        let challenge = format!(
            "Bearer realm=\"verity\", error=\"invalid_token\", error_description=\"{}\"",
            error.error_description.replace('"', "'")
        );
        Self::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error,
            challenge: Some(challenge),
        }
    }

    /// Logs `cause` with its chain of sources under `what` and answers 500.
    pub fn internal(what: &str, cause: &(dyn std::error::Error + 'static)) -> Self {
        log_failure(what, cause);
        Self::Internal
    }
}

/// Logs a failure with every cause in its chain (never a secret: engine errors carry
/// none). The admin doors log theirs through it too.
pub fn log_failure(what: &str, error: &(dyn std::error::Error + 'static)) {
    let chain: Vec<String> = error_chain::causes(error)
        .map(ToString::to_string)
        .collect();
    tracing::error!(error = %error, chain = ?chain, "{what} failed");
}

impl From<EngineError> for HttpError {
    fn from(error: EngineError) -> Self {
        match error {
            // A rule of the domain said no (the account changed under the request): the
            // request cannot be served as sent, and nothing of ours failed.
            EngineError::Refused(reason) => {
                tracing::warn!(%reason, "a rule refused what a JSON endpoint asked");
                Self::bad_request(OAuthError::invalid_request(reason))
            }
            EngineError::Overloaded => Self::Busy,
            other => Self::internal("the engine", &other),
        }
    }
}

impl From<GrantError> for HttpError {
    fn from(error: GrantError) -> Self {
        match error {
            GrantError::InvalidClient(description) => Self::invalid_client(description),
            GrantError::Refused(error) => Self::bad_request(error),
            GrantError::Failed(error) => error.into(),
        }
    }
}

impl From<AccessTokenProblem> for HttpError {
    fn from(problem: AccessTokenProblem) -> Self {
        match problem {
            AccessTokenProblem::Invalid(why) => Self::invalid_token(why),
            AccessTokenProblem::Failed(error) => error.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let (status, error, challenge) = match self {
            Self::OAuth {
                status,
                error,
                challenge,
            } => (status, error, challenge),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                OAuthError::temporarily_unavailable(),
                None,
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                OAuthError::server_error(),
                None,
            ),
        };
        let mut response = (status, Json(error)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(value) = challenge.and_then(|challenge| HeaderValue::from_str(&challenge).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_refusal_is_a_bad_request_and_shed_load_a_503_never_a_500() {
        let refused =
            HttpError::from(EngineError::Refused("the account is disabled".into())).into_response();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

        let busy = HttpError::from(EngineError::Overloaded).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static(RETRY_AFTER_SECONDS))
        );

        let failed = HttpError::from(EngineError::State("unreadable".into())).into_response();
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(failed.headers().get(header::RETRY_AFTER).is_none());
    }
}
