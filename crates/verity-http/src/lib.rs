//! Verity's HTTP surface (axum): the OpenID Connect endpoints, the sign-in page, health
//! and readiness.
//!
//! Handlers are thin: extract, call the protocol engine (`verity_oidc::protocol`), map
//! the result. [`router`] is separate from the binary's `main` so tests can drive it.

mod account;
mod authorize;
mod client_ip;
mod cookies;
mod discovery;
mod error;
mod health;
mod ip_limit;
mod journey;
mod logout;
mod metrics;
mod pages;
mod runtime;
mod session;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use verity_domain::key::SigningAlgorithm;
use verity_domain::{EventStore, ExpiringStore};
use verity_oidc::credentials::{HashMemory, Hashing};
use verity_oidc::keys::{KeyRing, SharedKeyRing};
use verity_oidc::limits::{FailureLimit, ProgressiveDelay};
use verity_oidc::protocol::discovery::paths;
use verity_projection::{Projector, ReadModels};

pub use client_ip::{InvalidTrustedProxy, TrustedProxies};
pub use error::HttpError;
pub use metrics::Metrics;
pub use pages::Pages;

/// Largest request body accepted (forms and token requests are far smaller).
pub const MAX_BODY: usize = 64 * 1024;

/// Lifetimes and identity of the provider.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer: the public URL, without a trailing slash.
    pub issuer: String,
    /// The instance's display name.
    pub instance_name: String,
    /// Authorization codes live this many seconds (<= 60).
    pub code_lifetime: i64,
    /// Access tokens live this many seconds.
    pub access_token_lifetime: i64,
    /// ID tokens live this many seconds.
    pub id_token_lifetime: i64,
    /// Refresh tokens (and grants) live this many seconds.
    pub refresh_token_lifetime: i64,
    /// SSO sessions live this many seconds.
    pub session_lifetime: i64,
    /// Login transactions live this many seconds.
    pub login_lifetime: i64,
    /// The OpenID Provider configuration, serialised once.
    pub openid_configuration: String,
    /// The RFC 8414 metadata, serialised once.
    pub oauth_metadata: String,
    /// The algorithm access tokens are signed with (RS256 unless configured).
    pub access_token_alg: SigningAlgorithm,
    /// `[passwords] min_length`.
    pub password_min_length: usize,
    /// The optional online breach check (`[passwords] hibp_url`).
    pub pwned: Option<verity_oidc::pwned::PwnedPasswords>,
    /// Failed passwords per address before a lock (`[passwords]`).
    pub password_limit: FailureLimit,
    /// The pause before answering a wrong password.
    pub progressive_delay: ProgressiveDelay,
    /// Wrong codes per person before the code step locks (`[mfa]`).
    pub mfa_limit: FailureLimit,
    /// Days a trusted device stays trusted (`[mfa] device_trust_days`).
    pub device_trust_days: i64,
    /// Failed sign-ins (passwords and codes) from one client address before sign-in from
    /// it is refused (`[sign_in]`). Never reset by a success.
    pub ip_limit: FailureLimit,
    /// The proxies whose `X-Forwarded-For` entries name the client (`[server]
    /// trusted_proxies`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// Whether `GET /metrics` answers (`[server] metrics`); on by default.
    pub metrics: bool,
}

impl Settings {
    /// Defaults for `issuer`: codes 60 s, access and ID tokens 5 min, refresh tokens 30
    /// days, sessions 12 h, login transactions 10 min, access tokens signed with RS256.
    pub fn new(issuer: impl Into<String>, instance_name: impl Into<String>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            openid_configuration: verity_oidc::protocol::discovery::openid_configuration(&issuer)
                .to_string(),
            oauth_metadata: verity_oidc::protocol::discovery::oauth_authorization_server(&issuer)
                .to_string(),
            issuer,
            instance_name: instance_name.into(),
            code_lifetime: 60,
            access_token_lifetime: 300,
            id_token_lifetime: 300,
            refresh_token_lifetime: 30 * 24 * 3600,
            session_lifetime: 12 * 3600,
            login_lifetime: 600,
            access_token_alg: SigningAlgorithm::RS256,
            password_min_length: verity_oidc::password_policy::DEFAULT_MIN_LENGTH,
            pwned: None,
            password_limit: FailureLimit::passwords(
                10,
                chrono::Duration::minutes(15),
                chrono::Duration::minutes(15),
            ),
            progressive_delay: ProgressiveDelay::default(),
            mfa_limit: FailureLimit::mfa(
                5,
                chrono::Duration::minutes(15),
                chrono::Duration::minutes(15),
            ),
            device_trust_days: 30,
            ip_limit: FailureLimit::client_ip(
                100,
                chrono::Duration::minutes(15),
                chrono::Duration::minutes(15),
            ),
            trusted_proxies: TrustedProxies::default(),
            metrics: true,
        }
    }

    /// Whether cookies get the `Secure` attribute (the issuer is https).
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// What every handler may use. The binary chooses the concrete backends.
#[derive(Clone)]
pub struct AppState {
    /// The event log.
    pub store: Arc<dyn EventStore>,
    /// Short-lived protocol state.
    pub expiring: Arc<dyn ExpiringStore>,
    /// The read models, kept current from the log.
    pub projector: Arc<Projector<ReadModels>>,
    /// The signing keys.
    pub keys: Arc<SharedKeyRing>,
    /// The provider's settings.
    pub settings: Arc<Settings>,
    /// The page templates.
    pub pages: Arc<Pages>,
    /// Password hashing: concurrent Argon2id hashes capped near the core count, in pooled
    /// memory, so a sign-in flood queues instead of exhausting memory.
    pub hashing: Hashing,
    /// What this node has served, for `GET /metrics`.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Runs a password hash or verification on a blocking thread through
    /// [`AppState::hashing`].
    pub(crate) async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HttpError> {
        self.hashing
            .run(work)
            .await
            .map_err(|error| HttpError::internal("password hashing", error))
    }

    /// The key ring for the current keys.
    pub(crate) fn key_ring(&self) -> Result<Arc<KeyRing>, HttpError> {
        let now = runtime::now();
        self.projector
            .read(|models| self.keys.current(&models.keys, now))
            .map_err(|error| HttpError::internal("key ring", error))
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new();
    if state.settings.metrics {
        routes = routes.route("/metrics", get(metrics::metrics));
    }
    routes
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route(paths::JWKS, get(discovery::jwks))
        .route(
            paths::AUTHORIZE,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/", get(account::home))
        .route("/devices/forget", post(account::forget))
        .route("/password", post(account::password))
        .route("/recovery-codes", post(account::recovery_codes))
        .route("/login", post(authorize::login))
        .route("/login/password", post(journey::password))
        .route("/login/totp", post(journey::enroll))
        .route("/login/continue", post(journey::continue_after_codes))
        .route("/login/mfa", post(journey::mfa))
        .route("/login/recovery", post(journey::recovery))
        .route(
            "/login/recovery/regenerate",
            post(journey::regenerate_recovery_codes),
        )
        .route(paths::TOKEN, post(token::token))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route(paths::INTROSPECT, post(token::introspect))
        .route(paths::REVOKE, post(token::revoke))
        .route(
            paths::LOGOUT,
            get(logout::logout_get).post(logout::logout_post),
        )
        .route("/static/style.css", get(pages::stylesheet))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .with_state(state)
}

/// Sets a field of a JSON object (a no-op on anything else; handlers only build objects).
pub(crate) fn set_field(object: &mut serde_json::Value, name: &str, value: serde_json::Value) {
    if let serde_json::Value::Object(map) = object {
        map.insert(name.to_owned(), value);
    }
}
