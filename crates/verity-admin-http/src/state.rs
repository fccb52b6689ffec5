//! What every admin door's handler may use: the OIDC doors' state (the engine, the
//! cookies, the pages' look, the metrics) and the admin layer.

use axum::extract::FromRef;
use verity_admin::Admin;
use verity_http::AppState;

/// The state of the admin doors.
#[derive(Clone)]
pub struct AdminState {
    /// The OIDC doors' state: the engine behind the console's sign-in and the bearer
    /// tokens, how cookies are named, the request context.
    pub app: AppState,
    /// The admin layer every admin command and query goes through.
    pub admin: Admin,
}

impl AdminState {
    /// The state over `app` and `admin`.
    pub fn new(app: AppState, admin: Admin) -> Self {
        Self { app, admin }
    }
}

impl FromRef<AdminState> for AppState {
    fn from_ref(state: &AdminState) -> Self {
        state.app.clone()
    }
}
