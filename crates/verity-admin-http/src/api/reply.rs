//! Answers the subjects' handlers share beyond a problem: a thing created, and the
//! problem for a thing a request body names.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use verity_admin::AdminError;

use super::problem::{ApiError, Kind};

/// 201 Created with the new thing's URL and the thing.
pub(super) fn created(location: &str, body: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The problem for an admin-layer error about something a request body names (an
/// organization, a holder): not finding it is a value that does not fit (422), not a URL
/// that does not exist (404).
pub(super) fn referenced(error: AdminError) -> ApiError {
    match error {
        AdminError::NotFound(missing) => ApiError::new(Kind::InvalidValue, missing.to_string()),
        other => other.into(),
    }
}
