//! Verity's HTTP doors (axum): the OpenID Connect endpoints, the sign-in pages, Verity's
//! own page for a signed-in person, health, readiness and metrics.
//!
//! Handlers are thin: they extract a request (a form with its login transaction, the
//! client's credentials, a bearer token), call the engine (`verity_oidc`) with one
//! [`RequestContext`](verity_oidc::RequestContext), and render its typed outcome as a
//! page, a redirect or JSON. No rule of signing in or of the protocol lives here.
//! [`router`] is separate from the binary's `main` so tests can drive it in process.

mod account;
mod authorize;
mod client_ip;
mod context;
mod cookies;
mod discovery;
mod error;
mod form;
mod health;
pub mod inputs;
mod journey;
mod logout;
mod metrics;
mod observe;
mod page_error;
mod pages;
mod read_timeout;
mod request_id;
mod security;
mod state;
mod token;
mod userinfo;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use verity_oidc::protocol::discovery::paths;

pub use client_ip::{InvalidTrustedProxy, TrustedProxies};
pub use context::request_context;
pub use error::{HttpError, log_failure};
pub use metrics::Metrics;
pub use pages::Pages;
pub use read_timeout::body_came_late;
pub use state::{AppState, Settings};
pub use userinfo::bearer_token;

/// The web plumbing the admin doors (`verity-admin-http`) share with these doors rather
/// than copy: the request's context ([`Caller`](web::Caller)), Verity's cookie names
/// and attributes and the session-bound form tokens, the form parser, and the strings
/// of the pages.
pub mod web {
    pub use crate::context::Caller;
    pub use crate::cookies::{Cookie, Jar, session_bound_token, set_on};
    pub use crate::error::{RETRY_AFTER_SECONDS, log_failure};
    pub use crate::form::{FormError, is_form, parse as parse_form};
    pub use crate::pages::{STRINGS, Strings};
}

/// Largest request body accepted (forms and token requests are far smaller).
pub const MAX_BODY: usize = 64 * 1024;

/// All routes: the pages (their errors rendered as the error page) and the JSON and
/// plain endpoints, behind the body limit, the security headers and the request span.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with more doors beside the OIDC ones (the binary's admin doors: console,
/// admin API, SCIM), behind the same layers: the request id and span, the metrics, the
/// security headers, the body limit and read timeout.
pub fn router_with(state: AppState, doors: Router) -> Router {
    let pages = Router::new()
        .route(
            paths::AUTHORIZE,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/", get(account::page::home))
        .route("/devices/forget", post(account::devices::forget_device))
        .route("/password", post(account::password::change_password))
        .route("/recovery-codes", post(account::recovery::recovery_codes))
        .route("/sessions/end", post(account::sessions::end_one))
        .route("/sessions/end-all", post(account::sessions::end_all))
        .route("/login", post(journey::password::submit))
        .route("/login/password", post(journey::new_password::submit))
        .route("/login/totp", post(journey::setup::enroll))
        .route(
            "/login/continue",
            post(journey::finish::continue_after_codes),
        )
        .route("/login/mfa", post(journey::code::app_code))
        .route("/login/recovery", post(journey::code::recovery_code))
        .route(
            "/login/recovery/regenerate",
            post(journey::code::regenerate_recovery_codes),
        )
        .route(
            paths::LOGOUT,
            get(logout::logout_get).post(logout::logout_post),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_error::render,
        ));
    let mut endpoints = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::TOKEN, post(token::token))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route(paths::INTROSPECT, post(token::introspect))
        .route(paths::REVOKE, post(token::revoke))
        .route("/static/style.css", get(pages::stylesheet));
    if state.settings.metrics {
        endpoints = endpoints.route("/metrics", get(observe::metrics));
    }
    endpoints
        .merge(pages)
        .with_state(state.clone())
        .merge(doors)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_timeout::body_in_time,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            observe::observe,
        ))
}

/// `GET /metrics` alone, for a listener of its own (`[server] metrics_bind`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(observe::metrics))
        .with_state(state)
}
