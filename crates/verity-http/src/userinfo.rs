//! The UserInfo endpoint (OIDC Core 5.3): Bearer token in the header, or in a form body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use verity_oidc::protocol::Params;

use crate::authorize::is_form;
use crate::token::{TokenProblem, profile_claims, validate_access_token};
use crate::{AppState, HttpError};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// `GET /userinfo`
pub(crate) async fn userinfo_get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let token = bearer(&headers).ok_or_else(|| HttpError::invalid_token("no bearer token"))?;
    answer(&state, token).await
}

/// `POST /userinfo`: the token in the header or as `access_token` in a form body.
pub(crate) async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let from_body = if is_form(&headers) {
        Params::parse(&body)
            .ok()
            .and_then(|params| params.get("access_token").map(str::to_owned))
    } else {
        None
    };
    match (bearer(&headers), from_body) {
        (Some(_), Some(_)) => Err(HttpError::bad_request(
            verity_oidc::protocol::OAuthError::invalid_request(
                "send the token once: header or body",
            ),
        )),
        (Some(token), None) => answer(&state, token).await,
        (None, Some(token)) => answer(&state, &token).await,
        (None, None) => Err(HttpError::invalid_token("no bearer token")),
    }
}

async fn answer(state: &AppState, token: &str) -> Result<Response, HttpError> {
    let claims = match validate_access_token(state, token).await {
        Ok(claims) => claims,
        Err(TokenProblem::Invalid(why)) => return Err(HttpError::invalid_token(why)),
        Err(TokenProblem::Internal(error)) => return Err(error),
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let scope = text("scope");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(HttpError::invalid_token(
            "the token was not issued for OpenID Connect (no openid scope)",
        ));
    }
    let subject = text("sub");
    let mut body = json!({ "sub": subject });
    for (name, value) in profile_claims(state, subject, scope) {
        crate::set_field(&mut body, &name, value);
    }
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
