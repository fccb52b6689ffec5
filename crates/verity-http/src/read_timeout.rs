//! The request body under a deadline (`[server] body_read_timeout_seconds`): a client that
//! sends its body too slowly is answered 408 and its connection closed, instead of holding
//! a handler and a connection open while it trickles bytes. The headers' deadline is the
//! listener's (hyper's header read timeout, set by the binary).
//!
//! A door with an error format of its own (the admin API's problem+json, SCIM's error
//! schema) answers the 408 itself when [`body_came_late`] says why its body did not read;
//! any other late body is answered in plain text.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use crate::state::AppState;

/// A request body that fails once its deadline passes before it ends, and says so.
struct InTime {
    body: Body,
    deadline: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct Late;

impl HttpBody for InTime {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(context) {
            Poll::Pending if this.deadline.as_mut().poll(context).is_ready() => {
                this.late.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(Late))))
            }
            polled => polled,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whether `error` (what reading a request's body failed with, or an error wrapping it)
/// is its deadline passing: a door answers 408 in its own format then.
pub fn body_came_late(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<Late>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Gives the request's body until `limit` from now; answers 408 (`Connection: close`)
/// when a handler found it late, in plain text unless the handler answered 408 itself.
pub(crate) async fn body_in_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limit) = state.settings.body_read_timeout else {
        return next.run(request).await;
    };
    within(limit, request, next).await
}

async fn within(limit: Duration, request: Request, next: Next) -> Response {
    let late = Arc::new(AtomicBool::new(false));
    let watched = late.clone();
    let request = request.map(|body| {
        Body::new(InTime {
            body,
            deadline: Box::pin(tokio::time::sleep(limit)),
            late: watched,
        })
    });
    let response = next.run(request).await;
    if !late.load(Ordering::Relaxed) {
        return response;
    }
    let mut late = if response.status() == StatusCode::REQUEST_TIMEOUT {
        response
    } else {
        (StatusCode::REQUEST_TIMEOUT, "request body too slow\n").into_response()
    };
    late.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    late
}
