//! The admin console at `/console` (docs/console.md): server-rendered pages for instance
//! admins, org admins and auditors — people, clients, organizations and their roles.
//!
//! - Who: [`session`] (a console session bound to an SSO session; the actor with the
//!   grants held now), [`signin`] (the console as an OIDC client of Verity: code flow
//!   with PKCE; "Log out"), [`posted`] (forms with the session-bound token).
//! - What: [`users`] (search, create, a person's page and actions), [`clients`],
//!   [`organizations`], [`audit`] (read-only: timelines, the events' search, the
//!   log's chain and export); every action a call of the admin layer with the console's actor
//!   and the request's [`Call`](verity_admin::Call), which decides what is allowed.
//! - How it looks: [`pages`] (templates of `templates/console`, the layout),
//!   [`strings`] (every text; the Audit section's in [`audit_strings`]), [`error`] (the
//!   error page; 403 for someone without a role).
//!
//! Every answer carries `Cache-Control: no-store`; the security headers (a CSP without
//! any script) are the OIDC doors' ones, shared through `verity_http::router_with`.

mod audit;
mod audit_strings;
mod clients;
mod error;
mod organizations;
mod pages;
mod posted;
mod session;
mod signin;
mod strings;
mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

pub use audit_strings::{AUDIT, AuditStrings};
pub use strings::{CONSOLE, ConsoleStrings};

use crate::state::AdminState;

/// Opens a console session for the live SSO session `authentication` names — what the
/// sign-in's callback does once the code is redeemed and the ID token verified — and
/// returns the console cookie's value. For `verity bench console`, which measures the
/// console's pages in process without a browser; the console itself opens sessions only
/// through its sign-in.
pub async fn open_session(
    state: &AdminState,
    context: &verity_oidc::RequestContext,
    authentication: &verity_oidc::protocol::tokens::Authentication,
) -> Result<String, verity_oidc::EngineError> {
    session::open(state, context, authentication).await
}

/// The console's routes, their errors rendered as the console's error page.
pub(crate) fn router(state: &AdminState) -> Router<AdminState> {
    let pages = Router::new()
        .route("/console", get(signin::home))
        .route("/console/signin", get(signin::start))
        .route("/console/callback", get(signin::callback))
        .route("/console/logout", axum::routing::post(signin::logout))
        .merge(users::router())
        .merge(clients::router())
        .merge(organizations::router())
        .merge(audit::router())
        .route(
            "/console/{*rest}",
            get(signin::unknown).post(signin::unknown),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::render_errors,
        ))
        .layer(axum::middleware::map_response(no_store));
    Router::new()
        .route("/static/console.css", get(pages::stylesheet))
        .merge(pages)
}

/// Nothing the console answers is kept by a browser or a proxy: its pages name people
/// and show secrets once.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
