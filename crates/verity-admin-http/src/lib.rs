//! Verity's admin doors over HTTP (docs/adr/0008-admin-doors.md): the console at
//! `/console` ([`console`]), the admin API at `/api/v1` ([`api`]) and SCIM 2.0
//! provisioning at `/scim/v2` ([`scim`]). Each door authenticates its caller its own way
//! (a console session, a bearer access token, an organization's SCIM token), turns them
//! into an [`Actor`](verity_admin::Actor) whose grants come from the roles read model at
//! that moment, calls the admin layer (`verity_admin`), and renders the typed answer or
//! [`AdminError`](verity_admin::AdminError) its own way (a page, JSON with problem+json
//! errors, SCIM JSON). No rule of who may do what lives here: the admin layer decides it
//! where data is read and commands are decided.
//!
//! The binary mounts [`router`] beside the OIDC doors with
//! [`verity_http::router_with`], so these routes share the request id, the request span
//! and metrics, the security headers and the body limit of every other answer.

pub mod api;
pub mod console;
pub mod scim;
mod state;

use axum::Router;

pub use state::AdminState;

/// The console, the admin API and SCIM, over `state`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .merge(console::router(&state))
        .merge(api::router())
        .merge(scim::router())
        .with_state(state)
}
