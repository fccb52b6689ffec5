//! What every handler may use: the engine, the doors' settings, the pages and metrics.

use std::sync::Arc;

use verity_oidc::Engine;

use crate::client_ip::TrustedProxies;
use crate::cookies::Jar;
use crate::metrics::Metrics;
use crate::pages::Pages;

/// What the doors need beyond the engine.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The proxies whose `X-Forwarded-For` entries name the client (`[server]
    /// trusted_proxies`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// Whether `GET /metrics` answers on the router of [`crate::router`] (`[server]
    /// metrics`, unless `metrics_bind` gives it a listener of its own).
    pub metrics: bool,
    /// How long a request's body may take to arrive (`[server] body_read_timeout_seconds`);
    /// `None`: as long as it takes.
    pub body_read_timeout: Option<std::time::Duration>,
}

/// What every handler may use. The binary chooses the concrete backends of the engine.
#[derive(Clone)]
pub struct AppState {
    /// The engine every rule lives in.
    pub engine: Engine,
    /// The doors' own settings.
    pub settings: Arc<Settings>,
    /// The page templates.
    pub pages: Arc<Pages>,
    /// What this node has served, for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// The discovery documents, serialised once.
    pub(crate) discovery: Arc<Discovery>,
    /// How cookies are named and marked (`__Host-` and `Secure` over https).
    pub(crate) cookies: Jar,
}

/// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
#[derive(Debug)]
pub(crate) struct Discovery {
    pub(crate) openid_configuration: String,
    pub(crate) oauth_metadata: String,
}

impl AppState {
    /// How this server names and marks its cookies.
    pub fn cookies(&self) -> Jar {
        self.cookies
    }

    /// The state for `engine`, with the pages of its instance and fresh metrics.
    pub fn new(engine: Engine, settings: Settings) -> Result<Self, minijinja::Error> {
        let issuer = &engine.settings.issuer;
        let discovery = Discovery {
            openid_configuration: verity_oidc::protocol::discovery::openid_configuration(issuer)
                .to_string(),
            oauth_metadata: verity_oidc::protocol::discovery::oauth_authorization_server(issuer)
                .to_string(),
        };
        Ok(Self {
            cookies: Jar::for_issuer(issuer),
            pages: Arc::new(Pages::new(engine.settings.instance_name.clone())?),
            engine,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::new()),
            discovery: Arc::new(discovery),
        })
    }
}
