//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde_json::Value;
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::session::SessionEndReason;
use verity_oidc::protocol::Params;

use crate::authorize::{is_form, join_query, set_cookie};
use crate::client_ip::Caller;
use crate::pages::STRINGS;
use crate::{AppState, HttpError, cookies, runtime, session};

/// `GET /logout`
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    respond(&state, &caller, params).await
}

/// `POST /logout` (form body)
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let params = if is_form(&caller.headers) {
        Params::parse(&body)
    } else {
        Ok(Params::default())
    };
    respond(&state, &caller, params).await
}

async fn respond(
    state: &AppState,
    caller: &Caller,
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
    match logout(state, caller, &params).await {
        Ok(response) => response,
        Err(_) => state.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        ),
    }
}

/// The validated logout request: which client, where to return.
struct LogoutRequest {
    client_id: Option<String>,
    /// A registered post-logout redirect URI of that client, if one was asked for.
    return_to: Option<String>,
    state: Option<String>,
}

fn validate(
    state: &AppState,
    params: &Params,
) -> Result<Result<LogoutRequest, Response>, HttpError> {
    // The client: named, or the audience of the ID token hint (whose signature must
    // verify; an expired hint is fine, it only identifies).
    let hinted_client = match params.get("id_token_hint") {
        Some(hint) => match state.key_ring()?.verify(hint) {
            Ok(claims) => claims.get("aud").and_then(audience),
            Err(_) => {
                return Ok(Err(state.pages.error(
                    StatusCode::BAD_REQUEST,
                    "The id_token_hint is not a valid ID token of this provider.",
                )));
            }
        },
        None => None,
    };
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(named), Some(hinted)) if named != hinted => {
            return Ok(Err(state.pages.error(
                StatusCode::BAD_REQUEST,
                "client_id does not match the id_token_hint.",
            )));
        }
        (Some(named), _) => Some(named.to_owned()),
        (None, hinted) => hinted,
    };
    let client = client_id.as_ref().and_then(|id| {
        state
            .projector
            .read(|models| models.clients.get(id).cloned())
    });
    let return_to = params
        .get("post_logout_redirect_uri")
        .filter(|uri| {
            client
                .as_ref()
                .is_some_and(|client| client.has_post_logout_redirect_uri(uri))
        })
        .map(str::to_owned);
    Ok(Ok(LogoutRequest {
        client_id,
        return_to,
        state: params.get("state").map(str::to_owned),
    }))
}

async fn logout(state: &AppState, caller: &Caller, params: &Params) -> Result<Response, HttpError> {
    let request = match validate(state, params)? {
        Ok(request) => request,
        Err(page) => return Ok(page),
    };
    let session = session::current(state, &caller.headers).await?;
    let confirmed = params.get("confirm") == Some("yes");
    if let (Some((_, authentication)), false) = (&session, confirmed) {
        let device_trusted = Uuid::parse_str(&authentication.user_id)
            .is_ok_and(|user_id| crate::journey::is_trusted_device(state, caller, user_id));
        return Ok(confirmation_page(state, &request, device_trusted));
    }
    let mut forgot_device = false;
    if let Some((digest, authentication)) = session {
        let csrf_ok = match (
            params.get("csrf"),
            cookies::get(&caller.headers, cookies::CSRF),
        ) {
            (Some(posted), Some(cookie)) => bool::from(posted.as_bytes().ct_eq(cookie.as_bytes())),
            _ => false,
        };
        if !csrf_ok {
            return Ok(state
                .pages
                .error(StatusCode::FORBIDDEN, STRINGS.csrf_failed));
        }
        let origin = session::origin(caller, request.client_id.as_deref());
        session::end(
            state,
            &digest,
            &authentication,
            SessionEndReason::Logout,
            &origin,
        )
        .await?;
        if params.get("forget_device") == Some("yes")
            && let Ok(user_id) = Uuid::parse_str(&authentication.user_id)
        {
            forgot_device = crate::journey::forget_device(state, caller, user_id).await?;
        }
    }
    let mut response = match &request.return_to {
        Some(uri) => {
            let query = request.state.as_ref().map(|client_state| {
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", client_state)
                    .finish()
            });
            let location = query.map_or_else(|| uri.clone(), |query| join_query(uri, &query));
            Redirect::to(&location).into_response()
        }
        None => state.pages.message(
            StatusCode::OK,
            STRINGS.signed_out_heading,
            STRINGS.signed_out,
            false,
        ),
    };
    let secure = state.settings.secure_cookies();
    set_cookie(&mut response, &cookies::clear(cookies::SESSION, secure));
    set_cookie(&mut response, &cookies::clear(cookies::CSRF, secure));
    if forgot_device {
        set_cookie(&mut response, &cookies::clear(cookies::DEVICE, secure));
    }
    Ok(response)
}

/// "Do you want to sign out?" with the device checkbox and Confirm.
fn confirmation_page(state: &AppState, request: &LogoutRequest, device_trusted: bool) -> Response {
    let csrf = runtime::token();
    let values = context! {
        csrf => &csrf,
        client_id => &request.client_id,
        post_logout_redirect_uri => &request.return_to,
        state => &request.state,
        device_trusted,
    };
    let mut response = match state.pages.render("logout.html", values) {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            return HttpError::internal("rendering the logout page", error).into_response();
        }
    };
    set_cookie(
        &mut response,
        &cookies::set(
            cookies::CSRF,
            &csrf,
            state.settings.login_lifetime,
            state.settings.secure_cookies(),
        ),
    );
    response
}

fn audience(aud: &Value) -> Option<String> {
    match aud {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
