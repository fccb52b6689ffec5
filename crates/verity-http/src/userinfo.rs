//! The UserInfo endpoint (OIDC Core 5.3): the Bearer token in the header, or as
//! `access_token` in a form body; the engine validates it and says what to release.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use verity_oidc::grants;
use verity_oidc::protocol::OAuthError;

use crate::context::Caller;
use crate::error::HttpError;
use crate::form;
use crate::state::AppState;

/// The token of an `Authorization: Bearer TOKEN` header (RFC 6750 2.1), if the request
/// has one; the admin API reads its tokens through it too.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// `GET /userinfo`
pub(crate) async fn userinfo_get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, HttpError> {
    let token =
        bearer_token(&caller.headers).ok_or_else(|| HttpError::invalid_token("no bearer token"))?;
    answer(&state, &caller, token).await
}

/// `POST /userinfo`: the token in the header or as `access_token` in a form body.
pub(crate) async fn userinfo_post(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, HttpError> {
    let from_body = form::parse(&caller.headers, &body)
        .ok()
        .and_then(|params| params.get("access_token").map(str::to_owned));
    match (bearer_token(&caller.headers), from_body) {
        (Some(_), Some(_)) => Err(HttpError::bad_request(OAuthError::invalid_request(
            "send the token once: header or body",
        ))),
        (Some(token), None) => answer(&state, &caller, token).await,
        (None, Some(token)) => answer(&state, &caller, &token).await,
        (None, None) => Err(HttpError::invalid_token("no bearer token")),
    }
}

async fn answer(state: &AppState, caller: &Caller, token: &str) -> Result<Response, HttpError> {
    let claims = grants::userinfo(&state.engine, &caller.context, token).await?;
    let mut response = Json(claims).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
