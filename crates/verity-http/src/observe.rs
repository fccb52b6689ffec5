//! The layer every request passes (an id, a span, a count) and `GET /metrics`
//! (docs/operations.md).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::request_id::RequestId;
use crate::state::AppState;

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// The method as a label: the standard ones by name, any other as `OTHER` (a client may
/// send any token as a method, and each would be a new series).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        _ => "OTHER",
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    match state
        .metrics
        .render(state.engine.projector.position(), &state.engine.hashing)
    {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            crate::error::HttpError::internal("encoding the metrics", &error).into_response()
        }
    }
}

/// Gives every request an id (the `X-Request-Id` answer header, the id in its events'
/// metadata) and runs it in a span with its id, method, route template and (once known)
/// status, so whatever a handler logs says which request it was about; counts it.
pub(crate) async fn observe(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = RequestId::new();
    request.extensions_mut().insert(request_id.clone());
    let method = method_label(request.method()).to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        id = %request_id.0,
        method = %method,
        route = %route,
        status = tracing::field::Empty
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status();
    let took = started.elapsed();
    span.record("status", status.as_u16());
    span.in_scope(|| {
        tracing::debug!(took_ms = took.as_secs_f64() * 1e3, "answered");
    });
    state.metrics.request(&method, &route, status, took);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_method_is_other_not_a_new_series() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "OTHER");
    }
}
