//! SCIM's JSON on the wire: answers as `application/scim+json` ([`scim_json`]), and
//! request bodies read as JSON objects ([`ScimBody`]) whose faults are SCIM errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::ScimError;

/// The media type of every SCIM answer (RFC 7644 §8.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// `value` as a SCIM answer with `status`.
pub fn scim_json(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_MEDIA_TYPE),
    );
    response
}

/// A request body that is a JSON object, sent as `application/scim+json` or
/// `application/json` (or without a content type).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = request.headers().get(header::CONTENT_TYPE).map(|value| {
            value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        if media_type
            .as_deref()
            .is_some_and(|media_type| !matches!(media_type, SCIM_MEDIA_TYPE | "application/json"))
        {
            return Err(ScimError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ScimError::invalid_syntax(rejection.body_text()))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(ScimError::invalid_syntax("the body must be a JSON object")),
            Err(error) => Err(ScimError::invalid_syntax(format!(
                "the body is not JSON: {error}"
            ))),
        }
    }
}
