//! SCIM request bodies: a JSON object, sent as `application/scim+json` or
//! `application/json` ([`ScimBody`]); anything else is a SCIM error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use super::error::ScimError;
use super::json::SCIM_MEDIA_TYPE;

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
            .map_err(|rejection| {
                if verity_http::body_came_late(&rejection) {
                    ScimError::body_too_slow()
                } else {
                    ScimError::invalid_syntax(rejection.body_text())
                }
            })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(ScimError::invalid_syntax("the body must be a JSON object")),
            Err(error) => Err(ScimError::invalid_syntax(format!(
                "the body is not JSON: {error}"
            ))),
        }
    }
}
