//! SCIM 2.0 inbound provisioning at `/scim/v2` (RFC 7643, RFC 7644; docs/scim.md).

use axum::Router;

use crate::state::AdminState;

/// SCIM's routes.
pub(crate) fn router() -> Router<AdminState> {
    Router::new()
}
