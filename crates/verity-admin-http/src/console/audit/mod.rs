//! The Audit section (auditors and admins; read-only): a person's timeline with their
//! account as it was at any instant ([`person`]), a search of the events by type, actor,
//! organization and time range ([`events`]), and the log's own state — its head, its
//! newest signed checkpoint, its chain recomputed, its export to download ([`log`]). Every page is a `GET` that asks
//! the admin layer (`verity_admin::audit`, `verity_admin::history`), which decides what
//! the actor may read; nothing here changes anything.

mod events;
mod log;
mod person;
mod time;
mod view;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use verity_admin::{Permission, Scope};

use self::view::{organization_choices, readable_organizations};
use super::error::ConsoleError;
use super::pages::Section;
use super::session::Console;
use crate::state::AdminState;

/// The Audit section's routes.
pub(super) fn router() -> Router<AdminState> {
    Router::new()
        .route("/console/audit", get(home))
        .route("/console/audit/person", get(person::page))
        .route("/console/audit/events", get(events::page))
        .route("/console/audit/chain", get(log::chain))
        .route("/console/audit/export", get(log::export))
}

/// Whether the actor may read the whole log (its chain and its export).
fn reads_whole_log(console: &Console) -> bool {
    console.actor.may(Permission::ReadLog, Scope::Instance)
}

/// `GET /console/audit`: the forms of the section, and the log's head for those who may
/// read it.
async fn home(State(state): State<AdminState>, console: Console) -> Result<Response, ConsoleError> {
    let orgs = readable_organizations(&state, &console);
    let (head, checkpoint) = if reads_whole_log(&console) {
        let head = state.admin.log_head(&console.actor).await?;
        let checkpoint = log::checkpoint_line(&head, console.call().now);
        (Some(log::head_line(&head)), Some(checkpoint))
    } else {
        (None, None)
    };
    console.page(
        &state,
        Section::Audit,
        "audit.html",
        context! {
            orgs => organization_choices(&orgs, ""),
            head,
            checkpoint,
        },
    )
}
