//! Who sent a request and when it is decided: [`Caller`] reads the clock once, takes the
//! request's id (set by the metrics layer for every request), resolves the client's IP
//! address (the TCP peer, or what trusted proxies say; see
//! [`TrustedProxies::client_ip`](crate::TrustedProxies::client_ip)), keeps the headers
//! for cookies, and holds where the answer's forms may lead. This is the HTTP adapter's
//! one clock.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use verity_oidc::RequestContext;

use crate::cookies::{Cookie, Jar};
use crate::request_id::RequestId;
use crate::security::FormTargets;
use crate::state::AppState;

/// The current time: the one place the HTTP doors read the clock.
#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Who sent a request: its context for the engine and its headers. The client's address
/// is `None` when the server was not started with connection info (tests that call the
/// router directly): unknown, not counted by the per-address sign-in limit, not recorded.
///
/// Exported for the admin doors (`verity-admin-http`), whose handlers extract it from any
/// state that holds an [`AppState`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The request's time, id and origin.
    pub(crate) context: RequestContext,
    /// The request's headers (cookies).
    pub(crate) headers: HeaderMap,
    /// How this server names its cookies.
    jar: Jar,
    /// Where the forms of the answer may lead besides Verity (its CSP `form-action`).
    pub(crate) form_targets: FormTargets,
}

impl Caller {
    /// The value of `cookie`, if sent.
    pub fn cookie(&self, cookie: Cookie) -> Option<&str> {
        self.jar.get(&self.headers, cookie)
    }

    /// The request's time, id and origin, for the engine and the admin layer.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// The context of the request `parts` belong to, for the engine and the admin layer: the
/// time read now, the request's id, the client's address (through `state`'s trusted
/// proxies) and its `User-Agent`. Every door reads its requests through this, so the
/// admin doors record the same request id and client address as the OIDC doors.
pub fn request_context(parts: &Parts, state: &AppState) -> RequestContext {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let ip = state
        .settings
        .trusted_proxies
        .client_ip(peer, &parts.headers);
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::new);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    RequestContext::new(now(), request_id.0, ip, user_agent)
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let form_targets = parts
            .extensions
            .get::<FormTargets>()
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            context: request_context(parts, &state),
            headers: parts.headers.clone(),
            jar: state.cookies,
            form_targets,
        })
    }
}
