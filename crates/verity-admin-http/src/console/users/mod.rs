//! People in the console: the Users page (search, status filter, paging), "Create user",
//! and a person's page with its actions (each after a confirmation), their name and
//! address, their devices, sessions and history.

mod actions;
mod create;
mod list;
mod path;
mod person;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AdminState;

/// The people's routes.
pub(super) fn router() -> Router<AdminState> {
    Router::new()
        .route("/console/users", get(list::page).post(create::submit))
        .route("/console/users/new", get(create::form))
        .route("/console/users/{user_id}", get(person::page))
        .route(
            "/console/users/{user_id}/details",
            post(person::save_details),
        )
        .route(
            "/console/users/{user_id}/{action}",
            get(actions::ask).post(actions::act),
        )
}
