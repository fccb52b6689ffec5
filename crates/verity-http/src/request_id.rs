//! Every request's id: made by the metrics layer, carried into the request's context
//! (and so its events' metadata), its log span and the `X-Request-Id` answer header.

/// A request's id, set as a request extension by `observe::observe`.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    /// A fresh id.
    pub(crate) fn new() -> Self {
        Self(verity_oidc::random::uuid().to_string())
    }
}
