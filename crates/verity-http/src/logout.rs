//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use verity_domain::session::SessionEndReason;
use verity_oidc::protocol::Params;

use crate::authorize::{is_form, join_query, set_cookie};
use crate::pages::STRINGS;
use crate::{AppState, HttpError, cookies, session};

/// `GET /logout`
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    respond(&state, &headers, params).await
}

/// `POST /logout` (form body)
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = if is_form(&headers) {
        Params::parse(&body)
    } else {
        Ok(Params::default())
    };
    respond(&state, &headers, params).await
}

async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Params, verity_oidc::protocol::OAuthError>,
) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(error) => {
            return state
                .pages
                .error(StatusCode::BAD_REQUEST, &error.error_description);
        }
    };
    match logout(state, headers, &params).await {
        Ok(response) => response,
        Err(_) => state.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        ),
    }
}

async fn logout(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, HttpError> {
    // The client: named, or the audience of the ID token hint (whose signature must
    // verify; an expired hint is fine, it only identifies).
    let hinted_client = match params.get("id_token_hint") {
        Some(hint) => match state.key_ring()?.verify(hint) {
            Ok(claims) => claims.get("aud").and_then(audience),
            Err(_) => {
                return Ok(state.pages.error(
                    StatusCode::BAD_REQUEST,
                    "The id_token_hint is not a valid ID token of this provider.",
                ));
            }
        },
        None => None,
    };
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(named), Some(hinted)) if named != hinted => {
            return Ok(state.pages.error(
                StatusCode::BAD_REQUEST,
                "client_id does not match the id_token_hint.",
            ));
        }
        (Some(named), _) => Some(named.to_owned()),
        (None, hinted) => hinted,
    };
    let origin = session::origin(headers, client_id.as_deref());
    if let Some((digest, authentication)) = session::current(state, headers).await? {
        session::end(
            state,
            &digest,
            &authentication,
            SessionEndReason::Logout,
            &origin,
        )
        .await?;
    }
    let client = client_id.and_then(|id| {
        state
            .projector
            .read(|models| models.clients.get(&id).cloned())
    });
    let target = params.get("post_logout_redirect_uri").filter(|uri| {
        client
            .as_ref()
            .is_some_and(|client| client.has_post_logout_redirect_uri(uri))
    });
    let mut response = match target {
        Some(uri) => {
            let query = params.get("state").map(|client_state| {
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", client_state)
                    .finish()
            });
            let location = query.map_or_else(|| uri.to_owned(), |query| join_query(uri, &query));
            Redirect::to(&location).into_response()
        }
        None => state.pages.message(
            StatusCode::OK,
            STRINGS.signed_out_heading,
            STRINGS.signed_out,
            false,
        ),
    };
    set_cookie(
        &mut response,
        &cookies::clear(cookies::SESSION, state.settings.secure_cookies()),
    );
    Ok(response)
}

fn audience(aud: &Value) -> Option<String> {
    match aud {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
