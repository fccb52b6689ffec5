//! The admin API's errors as RFC 9457 problem details (`application/problem+json`):
//! [`Problem`] is the body, [`ApiError`] what a handler or extractor answers when it does
//! not succeed. A refusal of the admin layer is the caller's to act on (4xx, its message
//! as `detail`); a failure of the server is logged with its chain and answered as a
//! generic 500. Bad input is never a 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verity_admin::{AdminError, Refusal};
use verity_domain::client::ClientError;
use verity_domain::organization::OrganizationError;
use verity_domain::scim_token::ScimTokenError;
use verity_domain::user::{ProfileError, UserError};
use verity_oidc::credentials::HashError;
use verity_oidc::grants::BearerProblem;

/// The media type of every error answer (RFC 9457 3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer (RFC 9457): what kind of problem (`type`, a stable identifier listed in
/// docs/api.md, and its `title`), the HTTP `status`, and what happened this time
/// (`detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:verity:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "no user 0b7d3c8e-3b54-4a4c-9d1e-1f1c1e0c2d4a"
}))]
pub struct Problem {
    /// The problem type: `urn:verity:problem:` and one of the kinds in docs/api.md.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The problem type in words (the same for every problem of the type).
    pub title: String,
    /// The HTTP status code of the answer.
    pub status: u16,
    /// What went wrong this time, for a person to read.
    pub detail: String,
}

/// The kinds of problem the API answers with: each a status, a type and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 400: the request cannot be read (malformed JSON, a bad query parameter).
    MalformedRequest,
    /// 401: no valid access token.
    Unauthorized,
    /// 403: a valid token without the `verity:admin` scope.
    InsufficientScope,
    /// 403: the actor may not do this (or holds no role at all).
    Forbidden,
    /// 404: nothing by that id or name that the actor may see.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 408: the body did not arrive in time (`[server] body_read_timeout_seconds`).
    BodyTooSlow,
    /// 409: it conflicts with what exists, or a rule refused it in the state things are in.
    Conflict,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: well-formed JSON whose values are not acceptable.
    InvalidValue,
    /// 500: the server failed.
    Internal,
    /// 502: the email with a temporary password could not be delivered.
    DeliveryFailed,
    /// 503: too many passwords are being hashed; try again in a moment (`Retry-After`).
    Busy,
}

impl Kind {
    /// The HTTP status.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::MalformedRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidValue => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::DeliveryFailed => StatusCode::BAD_GATEWAY,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The last part of the problem type.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::MalformedRequest => "malformed-request",
            Self::Unauthorized => "unauthorized",
            Self::InsufficientScope => "insufficient-scope",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::BodyTooSlow => "body-too-slow",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::InvalidValue => "invalid-value",
            Self::Internal => "internal",
            Self::DeliveryFailed => "delivery-failed",
            Self::Busy => "busy",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "Malformed request",
            Self::Unauthorized => "Unauthorized",
            Self::InsufficientScope => "Insufficient scope",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::BodyTooSlow => "Request body too slow",
            Self::Conflict => "Conflict",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::InvalidValue => "Invalid value",
            Self::Internal => "Internal server error",
            Self::DeliveryFailed => "Email not delivered",
            Self::Busy => "Busy",
        }
    }
}

/// What an admin API handler or extractor answers when it does not succeed.
#[derive(Debug)]
pub struct ApiError {
    kind: Kind,
    detail: String,
    /// `WWW-Authenticate` (RFC 6750 3) for 401 and for a token without the scope.
    challenge: Option<String>,
}

impl ApiError {
    /// A problem of `kind` saying `detail`.
    pub(crate) fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            challenge: None,
        }
    }

    /// 401 for a request without a bearer token: the challenge names no error (RFC 6750
    /// 3.1).
    pub(crate) fn no_token() -> Self {
        Self {
            challenge: Some("Bearer realm=\"verity\"".into()),
            ..Self::new(
                Kind::Unauthorized,
                "send an access token with the scope verity:admin: Authorization: Bearer TOKEN",
            )
        }
    }

    /// 500 after logging `cause` with its chain (never a secret: the admin layer's and
    /// the engine's errors carry none).
    pub(crate) fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        verity_http::log_failure("the admin API", cause);
        Self::new(
            Kind::Internal,
            "the server failed; the request id is in the logs",
        )
    }

    /// What kind of problem it is.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The body.
    pub(crate) fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:verity:problem:{}", self.kind.name()),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        let kind = match &error {
            AdminError::NotFound(_) => Kind::NotFound,
            AdminError::Forbidden { .. } => Kind::Forbidden,
            AdminError::Conflict(_) => Kind::Conflict,
            AdminError::Invalid(_) => Kind::InvalidValue,
            AdminError::Refused(refusal) if is_invalid_value(refusal) => Kind::InvalidValue,
            AdminError::Refused(_) => Kind::Conflict,
            AdminError::DeliveryFailed { .. } => Kind::DeliveryFailed,
            AdminError::Hashing(HashError::Busy) => Kind::Busy,
            AdminError::SentButNotRecorded { .. } => {
                // The person got an email whose password does not work: the admin must
                // know, in words, and the log must have it too.
                verity_http::log_failure("recording an email that went out", &error);
                Kind::Internal
            }
            _ => return Self::internal(&error),
        };
        Self::new(kind, error.to_string())
    }
}

/// Whether a domain rule refused the values given (a name too long, a redirect URI that
/// is not one) rather than the state things are in (already disabled, deleted).
fn is_invalid_value(refusal: &Refusal) -> bool {
    match refusal {
        Refusal::User(error) => matches!(error, UserError::Profile(ProfileError::InvalidName)),
        Refusal::Organization(error) => matches!(error, OrganizationError::InvalidName),
        Refusal::Client(error) => !matches!(
            error,
            ClientError::AlreadyExists
                | ClientError::NotFound
                | ClientError::Deleted
                | ClientError::AlreadyDeleted
                | ClientError::NoSecret(_)
                | ClientError::AuthenticationKindChanged { .. }
        ),
        Refusal::ScimToken(error) => matches!(
            error,
            ScimTokenError::InvalidId | ScimTokenError::InvalidLabel
        ),
        Refusal::Key(_) | Refusal::Role(_) | Refusal::Session(_) => false,
    }
}

impl From<BearerProblem> for ApiError {
    fn from(problem: BearerProblem) -> Self {
        match problem {
            BearerProblem::Invalid(why) => {
                let challenge = format!(
                    "Bearer realm=\"verity\", error=\"invalid_token\", error_description=\"{}\"",
                    why.replace('"', "'")
                );
                Self {
                    challenge: Some(challenge),
                    ..Self::new(Kind::Unauthorized, why)
                }
            }
            BearerProblem::InsufficientScope { scope } => Self {
                challenge: Some(format!(
                    "Bearer realm=\"verity\", error=\"insufficient_scope\", scope=\"{scope}\""
                )),
                ..Self::new(
                    Kind::InsufficientScope,
                    format!(
                        "the token was not issued with the scope {scope}: ask for it with a client registered with it"
                    ),
                )
            },
            BearerProblem::Failed(error) => Self::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.kind == Kind::Busy {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(verity_http::web::RETRY_AFTER_SECONDS),
            );
        }
        if let Some(value) = self
            .challenge
            .and_then(|challenge| HeaderValue::from_str(&challenge).ok())
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
    fn every_kind_has_its_own_type_and_a_client_error_or_server_error_status() {
        let kinds = [
            Kind::MalformedRequest,
            Kind::Unauthorized,
            Kind::InsufficientScope,
            Kind::Forbidden,
            Kind::NotFound,
            Kind::MethodNotAllowed,
            Kind::Conflict,
            Kind::PayloadTooLarge,
            Kind::UnsupportedMediaType,
            Kind::InvalidValue,
            Kind::Internal,
            Kind::DeliveryFailed,
            Kind::Busy,
        ];
        let mut names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), kinds.len());
        for kind in kinds {
            let problem = ApiError::new(kind, "why").problem();
            assert_eq!(problem.status, kind.status().as_u16());
            assert!(problem.problem_type.ends_with(kind.name()));
            let server_side = matches!(kind, Kind::Internal | Kind::DeliveryFailed | Kind::Busy);
            assert_eq!(problem.status >= 500, server_side, "{kind:?}");
        }
    }

    #[test]
    fn shed_load_is_503_with_retry_after() {
        let busy: ApiError = AdminError::Hashing(HashError::Busy).into();
        assert_eq!(busy.kind(), Kind::Busy);
        let response = busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let failed: ApiError = AdminError::Hashing(HashError::Failed("bad".into())).into();
        assert_eq!(failed.kind(), Kind::Internal);
    }

    #[test]
    fn a_refused_value_is_422_and_a_refused_state_is_409() {
        let invalid: ApiError =
            AdminError::Refused(Refusal::User(UserError::Profile(ProfileError::InvalidName)))
                .into();
        assert_eq!(invalid.kind(), Kind::InvalidValue);
        let state: ApiError = AdminError::Refused(Refusal::User(UserError::AlreadyDisabled)).into();
        assert_eq!(state.kind(), Kind::Conflict);
        let redirect: ApiError =
            AdminError::Refused(Refusal::Client(ClientError::RedirectUriRequired)).into();
        assert_eq!(redirect.kind(), Kind::InvalidValue);
        let deleted: ApiError = AdminError::Refused(Refusal::Client(ClientError::Deleted)).into();
        assert_eq!(deleted.kind(), Kind::Conflict);
    }

    #[test]
    fn a_token_without_the_scope_gets_403_with_a_challenge_naming_it() {
        let refused = ApiError::from(BearerProblem::InsufficientScope {
            scope: "verity:admin",
        });
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.contains("error=\"insufficient_scope\""));
        assert!(challenge.contains("scope=\"verity:admin\""));
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
