//! The admin console at `/console` (docs/console.md): server-rendered pages for
//! instance admins, org admins and auditors.

use axum::Router;

use crate::state::AdminState;

/// The console's routes.
pub(crate) fn router() -> Router<AdminState> {
    Router::new()
}
