//! The admin API at `/api/v1` (docs/api.md): JSON for scripts and service clients, over
//! the same admin layer as the console and the CLI.
//!
//! - Who calls: Verity's own access tokens carrying the scope `verity:admin`, checked by
//!   the engine ([`extract::Caller`]); the actor is the token's person or, for
//!   `client_credentials`, its client, with the grants the roles read model holds at
//!   that request.
//! - Errors: RFC 9457 problem+json ([`problem`]), also for unknown paths and methods.
//! - The OpenAPI 3.1 document at `/api/v1/openapi.json` is generated from the handlers
//!   and their types as they are registered here ([`openapi`]): a route cannot be served
//!   without being described.
//!
//! Every answer carries `Cache-Control: no-store`: they hold people's data and secrets.

mod clients;
mod devices;
mod extract;
mod openapi;
mod organizations;
mod people;
mod problem;
mod reply;
mod roles;
mod sessions;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::problem::{ApiError, Kind};
use crate::state::AdminState;

/// Where the API lives.
pub const BASE: &str = "/api/v1";

/// The admin API's routes, and its OpenAPI document made from them.
pub(crate) fn router() -> Router<AdminState> {
    let (routes, document) = OpenApiRouter::with_openapi(openapi::skeleton())
        .routes(routes!(
            organizations::list_organizations,
            organizations::create_organization
        ))
        .routes(routes!(organizations::get_organization))
        .routes(routes!(people::list_people, people::create_person))
        .routes(routes!(people::get_person, people::update_person))
        .routes(routes!(people::disable_person))
        .routes(routes!(people::enable_person))
        .routes(routes!(people::reset_password))
        .routes(routes!(people::reset_mfa))
        .routes(routes!(people::unlock_person))
        .routes(routes!(people::sign_out_person))
        .routes(routes!(devices::list_devices, devices::forget_devices))
        .routes(routes!(devices::forget_device))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::end_session))
        .routes(routes!(sessions::history))
        .routes(routes!(clients::list_clients, clients::create_client))
        .routes(routes!(clients::get_client, clients::delete_client))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(roles::list_roles, roles::grant_role))
        .routes(routes!(roles::revoke_role))
        .split_for_parts();
    let document = openapi::Document::new(document);
    routes
        .route(
            &format!("{BASE}/openapi.json"),
            get(move |state| openapi::serve(state, document.clone())),
        )
        .route(&format!("{BASE}/{{*rest}}"), any(unknown_path))
        .route(&format!("{BASE}/"), any(unknown_path))
        .route(BASE, any(unknown_path))
        .layer(axum::middleware::map_response(answer_headers))
}

/// What every answer of the API carries, and the 405 axum answers for a method a path
/// does not have, as a problem.
async fn answer_headers(response: Response) -> Response {
    let mut response = if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut problem = ApiError::new(
            Kind::MethodNotAllowed,
            "this path does not take that method (see Allow)",
        )
        .into_response();
        if let Some(allow) = allow {
            problem.headers_mut().insert(header::ALLOW, allow);
        }
        problem
    } else {
        response
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Any path under `/api/v1` that is not one of the API's.
async fn unknown_path() -> ApiError {
    ApiError::new(
        Kind::NotFound,
        "no such endpoint: the endpoints are listed in /api/v1/openapi.json",
    )
}
