//! The admin API at `/api/v1` (docs/api.md): JSON, bearer access tokens of Verity,
//! errors as RFC 9457 problem+json, an OpenAPI 3.1 document generated from the code.

use axum::Router;

use crate::state::AdminState;

/// The admin API's routes.
pub(crate) fn router() -> Router<AdminState> {
    Router::new()
}
