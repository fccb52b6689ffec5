//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): "Do you want to sign
//! out?" with "Forget this device as trusted environment", then Confirm, whose CSRF token
//! is bound to the session it ends (checked here, as every form's token is). The engine
//! validates the request ([`verity_oidc::logout::validate`]), says what the confirmation
//! offers ([`verity_oidc::logout::confirmation`]) and, once confirmed, ends the session and
//! forgets the device if asked ([`verity_oidc::logout::sign_out`]).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use subtle::ConstantTimeEq;
use verity_oidc::logout::{self, Confirmation, LogoutError, LogoutRequest};
use verity_oidc::protocol::{OAuthError, Params};
use verity_oidc::sessions;

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
    let session_cookie = caller.cookie(cookies::SESSION);
    let session = sessions::current(engine, context, session_cookie).await?;
    let mut forgot_device = false;
    if let (Some(session), Some(session_cookie)) = (session, session_cookie) {
        let device = caller.cookie(cookies::DEVICE);
        // The confirmation's token is bound to the session it ends.
        let csrf = cookies::session_bound_token(session_cookie, "logout");
        if params.get("confirm") != Some("yes") {
            let confirmation = logout::confirmation(engine, context, &session, device).await?;
            return Ok(confirmation_page(
                state,
                caller,
                &request,
                &csrf,
                confirmation,
            ));
        }
        let posted = params.get("csrf").unwrap_or_default();
        if !bool::from(posted.as_bytes().ct_eq(csrf.as_bytes())) {
            return Err(PageError::Forbidden(STRINGS.csrf_failed));
        }
        let forget_device = params.get("forget_device") == Some("yes");
        let signed_out =
            logout::sign_out(engine, context, &request, &session, device, forget_device).await?;
        forgot_device = signed_out.forgot_device;
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
    let jar = state.cookies;
    cookies::set_on(&mut response, &jar.clear(cookies::SESSION));
    if forgot_device {
        cookies::set_on(&mut response, &jar.clear(cookies::DEVICE));
    }
    Ok(response)
}

/// "Do you want to sign out?" with the device checkbox and Confirm, its form bound to the
/// session by `csrf`. Confirming returns to the client's post-logout URI, when one was
/// asked for: the form may lead there.
fn confirmation_page(
    state: &AppState,
    caller: &Caller,
    request: &LogoutRequest,
    csrf: &str,
    confirmation: Confirmation,
) -> Response {
    if let Some(return_to) = &request.return_to {
        caller.form_targets.allow(return_to);
    }
    let values = context! {
        csrf,
        client_id => &request.client_id,
        post_logout_redirect_uri => &request.return_to,
        state => &request.state,
        device_trusted => confirmation.device_trusted,
    };
    state.pages.personal(StatusCode::OK, "logout.html", values)
}
