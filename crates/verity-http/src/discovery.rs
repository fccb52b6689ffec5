//! Discovery documents (serialised once, in the [`AppState`]) and the JWK Set
//! (serialised once per key-ring revision).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::context::Caller;
use crate::error::HttpError;
use crate::state::AppState;

fn json(body: String, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// `/.well-known/openid-configuration`
pub(crate) async fn openid_configuration(State(state): State<AppState>) -> Response {
    json(
        state.discovery.openid_configuration.clone(),
        "public, max-age=300",
    )
}

/// `/.well-known/oauth-authorization-server`
pub(crate) async fn oauth_authorization_server(State(state): State<AppState>) -> Response {
    json(
        state.discovery.oauth_metadata.clone(),
        "public, max-age=300",
    )
}

/// `/jwks`: public keys only.
pub(crate) async fn jwks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, HttpError> {
    let ring = state.engine.key_ring(caller.context.now)?;
    Ok(json(ring.jwks_json().to_owned(), "public, max-age=60"))
}
