//! The authorization endpoint (`GET`/`POST /authorize`). The engine decides
//! ([`verity_oidc::authorization::authorize`]); this shows the error page, redirects, or
//! opens the sign-in form with its CSRF cookie (its forms may lead to the client's
//! redirect URI).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use verity_oidc::authorization::{self, Decision};
use verity_oidc::protocol::{OAuthError, Params};

use crate::context::Caller;
use crate::cookies;
use crate::form;
use crate::journey::password::login_page;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// `GET /authorize`
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(&state, &caller, params).await
}

/// `POST /authorize` (form body)
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, PageError> {
    let params = match form::parse(&caller.headers, &body) {
        Err(form::FormError::NotAForm) => {
            return Err(PageError::BadRequest(
                "The request must be a form (application/x-www-form-urlencoded).".to_owned(),
            ));
        }
        Err(form::FormError::Malformed(error)) => Err(error),
        Ok(params) => Ok(params),
    };
    authorize(&state, &caller, params).await
}

async fn authorize(
    state: &AppState,
    caller: &Caller,
    params: Result<Params, OAuthError>,
) -> Result<Response, PageError> {
    let session_cookie = caller.cookie(cookies::SESSION);
    let decision =
        authorization::authorize(&state.engine, &caller.context, params, session_cookie).await?;
    match decision {
        Decision::Refused(message) => Err(PageError::BadRequest(message)),
        Decision::Redirect(location) => Ok(Redirect::to(&location).into_response()),
        Decision::NotForTheirOrganization => {
            Err(PageError::Forbidden(STRINGS.not_for_your_organization))
        }
        Decision::SignIn {
            opened,
            login_hint,
            redirect_uri,
        } => {
            caller.form_targets.allow(&redirect_uri);
            let email = login_hint.unwrap_or_default();
            let mut response = login_page(state, &opened.tx, &opened.csrf, &email, None);
            let lifetime = state.engine.settings.login_lifetime.num_seconds();
            let cookie = state.cookies.set(cookies::CSRF, &opened.csrf, lifetime);
            cookies::set_on(&mut response, &cookie);
            Ok(response)
        }
    }
}
