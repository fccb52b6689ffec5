//! SCIM's answers when something goes wrong (RFC 7644 §3.12): an error body with the
//! HTTP status as a string, a `scimType` where the RFC names one, and a `detail` that
//! says what to fix; `application/scim+json` like every SCIM answer. A failure of the
//! server is logged with its chain and answered without it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use verity_admin::AdminError;
use verity_http::web::log_failure;

use super::json::scim_json;

/// The schema of an error body.
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: StatusCode,
    /// RFC 7644's `scimType`, where it names one.
    pub scim_type: Option<&'static str>,
    /// What went wrong, for the person reading the provisioning system's log.
    pub detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// 400 `invalidSyntax`: a body that is not the JSON expected.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    /// 400 `invalidPath`: a PATCH path that names nothing Verity keeps.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }

    /// 400 `noTarget`: a PATCH path whose filter matches nothing.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("noTarget"), detail)
    }

    /// 400 `mutability`: a change to what cannot change.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("mutability"), detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// 401: no token, or not a live one.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            None,
            "a valid SCIM bearer token is required (Authorization: Bearer vscim....)",
        )
    }

    /// 405.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, None, detail)
    }

    /// 408: the body did not arrive in time (`[server] body_read_timeout_seconds`).
    pub fn body_too_slow() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            None,
            "the request body did not arrive in time",
        )
    }

    /// 412: `If-Match` names another version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }

    /// 415: a body that is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "send the body as application/scim+json (or application/json)",
        )
    }

    /// 500, for a failure of the server (logged, never shown).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the server failed; nothing was changed unless a later read shows it",
        )
    }
}

impl From<AdminError> for ScimError {
    fn from(error: AdminError) -> Self {
        match &error {
            AdminError::NotFound(missing) => Self::not_found(missing.to_string()),
            AdminError::Forbidden { .. } => {
                Self::new(StatusCode::FORBIDDEN, None, error.to_string())
            }
            AdminError::Conflict(detail) => Self::uniqueness(detail.clone()),
            AdminError::Invalid(detail) => Self::invalid_value(detail.clone()),
            AdminError::Refused(rule) => Self::invalid_value(rule.to_string()),
            AdminError::DeliveryFailed { .. } => {
                log_failure("SCIM: the temporary-password email", &error);
                Self::new(StatusCode::SERVICE_UNAVAILABLE, None, error.to_string())
            }
            AdminError::SentButNotRecorded { .. } => {
                log_failure("SCIM: recording an email that went out", &error);
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, error.to_string())
            }
            _ => {
                log_failure("SCIM request", &error);
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_str(),
            "detail": self.detail,
        });
        if let (Some(scim_type), Value::Object(body)) = (self.scim_type, &mut body) {
            body.insert("scimType".into(), scim_type.into());
        }
        let mut response = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}
