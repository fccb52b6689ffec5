//! The token endpoint (codes, refresh tokens, client credentials), introspection
//! (RFC 7662) and revocation (RFC 7009). Each authenticates the client through the engine
//! ([`verity_oidc::grants::authenticate_client`]) and answers JSON, never cached.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use verity_oidc::grants;
use verity_oidc::protocol::{OAuthError, Params};
use verity_projection::ClientView;

use crate::context::Caller;
use crate::error::HttpError;
use crate::form::{self, FormError};
use crate::state::AppState;

/// A form body; anything else is `invalid_request`.
fn params(headers: &HeaderMap, body: &[u8]) -> Result<Params, HttpError> {
    form::parse(headers, body).map_err(|error| match error {
        FormError::NotAForm => HttpError::bad_request(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )),
        FormError::Malformed(error) => HttpError::bad_request(error),
    })
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The client that authenticated with the request.
async fn authenticate(
    state: &AppState,
    caller: &Caller,
    params: &Params,
) -> Result<ClientView, HttpError> {
    // A header that is not text is malformed: the engine refuses it as such.
    let authorization = caller
        .headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    Ok(grants::authenticate_client(&state.engine, &caller.context, authorization, params).await?)
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, HttpError> {
    params.required(name).map_err(HttpError::bad_request)
}

/// `POST /token`
pub(crate) async fn token(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = params(&caller.headers, &body)?;
    let grant_type = required(&params, "grant_type")?;
    let client = authenticate(&state, &caller, &params).await?;
    let (engine, context) = (&state.engine, &caller.context);
    let answer = match grant_type {
        "authorization_code" => {
            let code = required(&params, "code")?;
            let redirect_uri = params.get("redirect_uri");
            let verifier = params.get("code_verifier");
            grants::redeem_code(engine, context, &client, code, redirect_uri, verifier).await?
        }
        "refresh_token" => {
            let presented = required(&params, "refresh_token")?;
            grants::refresh(engine, context, &client, presented, params.get("scope")).await?
        }
        "client_credentials" => {
            grants::client_credentials(engine, context, &client, params.get("scope"))?
        }
        other => {
            return Err(HttpError::bad_request(OAuthError::unsupported_grant_type(
                format!("grant_type {other:?} is not supported"),
            )));
        }
    };
    Ok(no_store(Json(answer).into_response()))
}

/// `POST /introspect` (RFC 7662): authenticated confidential clients, about their own
/// tokens.
pub(crate) async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = params(&caller.headers, &body)?;
    let client = authenticate(&state, &caller, &params).await?;
    let token = required(&params, "token")?;
    let answer = grants::introspect(&state.engine, &caller.context, &client, token).await?;
    Ok(no_store(Json(answer).into_response()))
}

/// `POST /revoke` (RFC 7009): always 200 for a well-formed request by an authenticated
/// client, whether or not the token was known.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = params(&caller.headers, &body)?;
    let client = authenticate(&state, &caller, &params).await?;
    let token = required(&params, "token")?;
    grants::revoke_token(&state.engine, &caller.context, &client, token).await?;
    Ok(no_store(().into_response()))
}
