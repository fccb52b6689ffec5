//! SCIM 2.0 inbound provisioning at `/scim/v2` (RFC 7643, RFC 7644; docs/scim.md): an
//! organization's identity or HR system creates, changes, disables and deletes its
//! people with the organization's bearer token.
//!
//! - [`caller`]: the token, checked by the admin layer, as the actor (401 otherwise);
//! - [`users`]: `/Users` (list and search with [`filter`], read, create, replace,
//!   [`patch`], delete), rendered by [`resource`] with [`projection`]'s
//!   `attributes`/`excludedAttributes`;
//! - [`discovery`]: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`;
//! - [`error`] and [`json`]: RFC 7644 §3.12 error bodies and `application/scim+json`,
//!   also for unknown URLs (404) and methods (405); [`body`]: request bodies.

pub mod body;
pub mod caller;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod json;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod users;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, any, get, post};

use crate::state::AdminState;
use caller::Scim;
use error::ScimError;

/// SCIM's routes.
pub(crate) fn router() -> Router<AdminState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            read_only(get(discovery::service_provider_config)),
        )
        .route(
            "/scim/v2/ResourceTypes",
            read_only(get(discovery::resource_types)),
        )
        .route(
            "/scim/v2/ResourceTypes/{id}",
            read_only(get(discovery::resource_type)),
        )
        .route("/scim/v2/Schemas", read_only(get(discovery::schemas)))
        .route("/scim/v2/Schemas/{id}", read_only(get(discovery::schema)))
        .route(
            "/scim/v2/Users",
            get(users::list)
                .post(users::create)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Users/.search",
            post(users::search).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::modify)
                .delete(users::delete)
                .fallback(method_not_allowed),
        )
        .route("/scim/v2/.search", any(not_implemented))
        .route("/scim/v2", any(not_found))
        .route("/scim/v2/", any(not_found))
        .route("/scim/v2/{*rest}", any(not_found))
}

/// A discovery endpoint: `GET` only.
fn read_only(route: MethodRouter<AdminState>) -> MethodRouter<AdminState> {
    route.fallback(method_not_allowed)
}

/// 405, after the token was checked.
async fn method_not_allowed(_scim: Scim) -> ScimError {
    ScimError::method_not_allowed("this endpoint does not take that method")
}

/// 404 for any other URL under `/scim/v2`, after the token was checked.
async fn not_found(_scim: Scim) -> ScimError {
    ScimError::not_found(
        "no such SCIM endpoint: /Users, /ServiceProviderConfig, /ResourceTypes, /Schemas",
    )
}

/// 501: searching every resource type at once is not offered (`/Users/.search` is).
async fn not_implemented(_scim: Scim) -> ScimError {
    ScimError {
        status: StatusCode::NOT_IMPLEMENTED,
        scim_type: None,
        detail: "search /Users/.search instead".into(),
    }
}
