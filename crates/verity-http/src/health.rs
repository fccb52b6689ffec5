//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use verity_domain::error_chain::ErrorChain;

use crate::state::AppState;

/// Liveness: the process answers.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// Readiness: the store answers and the read models follow the log.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let head = match state.engine.store.head().await {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "readiness: store unavailable");
            return not_ready("store unavailable");
        }
    };
    if let Err(error) = state.engine.projector.health() {
        // The projector says why as one text (it holds no error value): nothing to walk.
        tracing::warn!(%error, "readiness: projector stopped");
        return not_ready("projections stopped");
    }
    Json(serde_json::json!({ "status": "ready", "head": head, "projected": state.engine.projector.position() })).into_response()
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": "unavailable", "reason": reason })),
    )
        .into_response()
}
