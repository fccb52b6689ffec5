//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): "Do you want to sign
//! out?" with "Forget this device as trusted environment", then Confirm. The engine
//! validates the request ([`verity_oidc::logout::validate`]) and ends the session.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::session::SessionEndReason;
use verity_oidc::logout::{self, LogoutError, LogoutRequest};
use verity_oidc::protocol::{OAuthError, Params};
use verity_oidc::{account, sessions};

use crate::context::Caller;
use crate::cookies;
use crate::form;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// `GET /logout`
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    logout(&state, &caller, params).await
}

/// `POST /logout` (form body; anything else is a logout without parameters)
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, PageError> {
    let params = match form::parse(&caller.headers, &body) {
        Err(form::FormError::NotAForm) => Ok(Params::default()),
        Err(form::FormError::Malformed(error)) => Err(error),
        Ok(params) => Ok(params),
    };
    logout(&state, &caller, params).await
}

async fn logout(
    state: &AppState,
    caller: &Caller,
    params: Result<Params, OAuthError>,
) -> Result<Response, PageError> {
    let params = params.map_err(|error| PageError::BadRequest(error.error_description))?;
    let (engine, context) = (&state.engine, &caller.context);
    let request = logout::validate(engine, context, &params).map_err(|error| match error {
        LogoutError::Refused(refused) => PageError::BadRequest(refused.to_string()),
        LogoutError::Failed(error) => error.into(),
    })?;
    let session = sessions::current(engine, context, caller.cookie(cookies::SESSION)).await?;
    let confirmed = params.get("confirm") == Some("yes");
    let mut forgot_device = false;
    if let Some(session) = session {
        let user_id = Uuid::parse_str(&session.authentication.user_id).ok();
        let device = caller.cookie(cookies::DEVICE);
        if !confirmed {
            let device_trusted = user_id
                .and_then(|user_id| engine.person(user_id))
                .and_then(|person| account::trusted_device(&person, device, context.now))
                .is_some();
            return confirmation_page(state, &request, device_trusted);
        }
        let csrf_ok = match (params.get("csrf"), caller.cookie(cookies::CSRF)) {
            (Some(posted), Some(cookie)) => bool::from(posted.as_bytes().ct_eq(cookie.as_bytes())),
            _ => false,
        };
        if !csrf_ok {
            return Err(PageError::Forbidden(STRINGS.csrf_failed));
        }
        let client_id = request.client_id.as_deref();
        sessions::end(
            engine,
            context,
            &session,
            SessionEndReason::Logout,
            client_id,
        )
        .await?;
        if params.get("forget_device") == Some("yes")
            && let Some(user_id) = user_id
        {
            forgot_device = account::forget_this_device(engine, context, user_id, device).await?;
        }
    }
    let mut response = match request.location() {
        Some(location) => Redirect::to(&location).into_response(),
        None => state.pages.message(
            StatusCode::OK,
            STRINGS.signed_out_heading,
            STRINGS.signed_out,
            false,
        ),
    };
    let secure = state.secure_cookies();
    cookies::set_on(&mut response, &cookies::clear(cookies::SESSION, secure));
    cookies::set_on(&mut response, &cookies::clear(cookies::CSRF, secure));
    if forgot_device {
        cookies::set_on(&mut response, &cookies::clear(cookies::DEVICE, secure));
    }
    Ok(response)
}

/// "Do you want to sign out?" with the device checkbox and Confirm.
fn confirmation_page(
    state: &AppState,
    request: &LogoutRequest,
    device_trusted: bool,
) -> Result<Response, PageError> {
    let csrf = verity_oidc::random::token();
    let values = context! {
        csrf => &csrf,
        client_id => &request.client_id,
        post_logout_redirect_uri => &request.return_to,
        state => &request.state,
        device_trusted,
    };
    let mut response = state.pages.personal(StatusCode::OK, "logout.html", values);
    let lifetime = state.engine.settings.login_lifetime.num_seconds();
    let cookie = cookies::set(cookies::CSRF, &csrf, lifetime, state.secure_cookies());
    cookies::set_on(&mut response, &cookie);
    Ok(response)
}
