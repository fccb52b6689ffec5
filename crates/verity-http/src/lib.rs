//! Verity's HTTP surface (axum). For now: liveness and readiness. The OpenID Connect
//! endpoints, the sign-in pages and the admin console are added here by later issues.
//!
//! [`router`] is separate from the binary's `main` so tests can drive it directly.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use verity_domain::EventStore;
use verity_projection::{Projector, ReadModels};

/// What every handler may use. The binary chooses the concrete backends.
#[derive(Clone)]
pub struct AppState {
    /// The event log.
    pub store: Arc<dyn EventStore>,
    /// The read models, kept current from the log.
    pub projector: Arc<Projector<ReadModels>>,
}

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// Readiness: the store answers and the read models follow the log.
async fn readyz(State(state): State<AppState>) -> Response {
    let head = match state.store.head().await {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, "readiness: store unavailable");
            return not_ready("store unavailable");
        }
    };
    if let Err(error) = state.projector.health() {
        tracing::warn!(%error, "readiness: projector stopped");
        return not_ready("projections stopped");
    }
    Json(serde_json::json!({
        "status": "ready",
        "head": head,
        "projected": state.projector.position(),
    }))
    .into_response()
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": "unavailable", "reason": reason })),
    )
        .into_response()
}
