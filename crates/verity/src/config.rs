//! The typed configuration: defaults, then a TOML file (`--config`), then environment
//! variables `VERITY__SECTION__KEY`, then command-line flags. `config/verity.toml`
//! documents every key. Passed down explicitly; there is no global.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use verity_domain::key::SigningAlgorithm;

/// How much longer than an access token an ended session stays marked, at least: nodes
/// fold an end a moment after it is written.
const MARK_MARGIN_SECONDS: u64 = 5 * 60;

/// Everything Verity can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Where the log lives.
    pub store: StoreConfig,
    /// Logging.
    pub log: LogConfig,
    /// The instance created on first start.
    pub instance: InstanceConfig,
    /// Accounts.
    pub users: UsersConfig,
    /// Read models.
    pub projection: ProjectionConfig,
    /// Signing keys.
    pub keys: KeysConfig,
    /// The rules for new passwords.
    pub passwords: PasswordsConfig,
    /// The second factor: lockout and trusted devices.
    pub mfa: MfaConfig,
    /// Sign-in across accounts: the limit on failures per client address.
    pub sign_in: SignInConfig,
    /// Outgoing email.
    pub smtp: SmtpConfig,
    /// The OpenID Connect protocol.
    pub oidc: OidcConfig,
    /// SSO sessions.
    pub sessions: SessionsConfig,
    /// The audit key and checkpoints.
    pub audit: AuditConfig,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on (port 0: one the system chooses, which `serve`
    /// prints).
    pub bind: SocketAddr,
    /// The public URL (the OIDC issuer); defaults to `http://<bind>`, with the port the
    /// server actually bound when `bind` asks for port 0.
    pub public_url: Option<String>,
    /// Reverse proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` entries name
    /// the client; empty: the client is the TCP peer and the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Whether `GET /metrics` (Prometheus) answers.
    pub metrics: bool,
    /// Where `/metrics` answers instead of the main listener (port 0: one the system
    /// chooses, which `serve` prints); unset: on the main listener.
    pub metrics_bind: Option<SocketAddr>,
    /// Seconds a client has to send a request's headers (and an idle keep-alive
    /// connection to start its next request) before the connection is closed.
    pub header_read_timeout_seconds: u32,
    /// Seconds a client has to send a request's body, from the end of its headers.
    pub body_read_timeout_seconds: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trusted_proxies: Vec::new(),
            metrics: true,
            metrics_bind: None,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 10,
        }
    }
}

impl ServerConfig {
    /// The trusted proxies, parsed (checked when the configuration is loaded).
    pub fn trusted_proxies(&self) -> Result<verity_http::TrustedProxies, ConfigError> {
        verity_http::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|error| ConfigError::Invalid(format!("[server] trusted_proxies: {error}")))
    }
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory of the embedded store and local files.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite:PATH`; empty means SQLite at `<data_dir>/verity.db`.
    pub database_url: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `verity=debug,sqlx=warn`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[instance]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceConfig {
    /// Display name of the instance.
    pub name: String,
    /// Name of the organization created on first start.
    pub default_organization: String,
}

impl Default for InstanceConfig {
    fn default() -> Self {
        Self {
            name: "Verity".into(),
            default_organization: "Default".into(),
        }
    }
}

/// `[users]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsersConfig {
    /// Days a temporary password stays valid.
    pub temporary_password_days: u32,
    /// The sign-in address given in the temporary-password email; unset: the public URL.
    pub sign_in_url: Option<String>,
}

impl Default for UsersConfig {
    fn default() -> Self {
        Self {
            temporary_password_days: 7,
            sign_in_url: None,
        }
    }
}

/// `[projection]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectionConfig {
    /// Save a snapshot of the read models every this many events.
    pub snapshot_every: u64,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        Self {
            snapshot_every: verity_projection::ProjectorOptions::default().snapshot_every,
        }
    }
}

/// `[keys]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// The master key (32 bytes, base64) that encrypts the signing keys' private parts.
    /// Unset: a key file `<data_dir>/master.key`, created on first start with mode 0600.
    pub master_key: Option<SecretString>,
    /// Hours a retired signing key stays in the JWKS.
    pub retired_grace_hours: u32,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            master_key: None,
            retired_grace_hours: 24,
        }
    }
}

/// `[oidc]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// The algorithm access tokens (RFC 9068 JWTs) are signed with. ID tokens use each
    /// client's own algorithm.
    pub access_token_alg: SigningAlgorithm,
    /// Seconds an authorization code lives (1 to 60).
    pub code_lifetime_seconds: u32,
    /// Seconds an access token lives.
    pub access_token_lifetime_seconds: u32,
    /// Seconds an ID token lives.
    pub id_token_lifetime_seconds: u32,
    /// Days a refresh token (and its grant) lives.
    pub refresh_token_lifetime_days: u32,
    /// Seconds a back-channel logout token is valid.
    pub logout_token_lifetime_seconds: u32,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            access_token_alg: SigningAlgorithm::RS256,
            code_lifetime_seconds: 60,
            access_token_lifetime_seconds: 300,
            id_token_lifetime_seconds: 300,
            refresh_token_lifetime_days: 30,
            logout_token_lifetime_seconds: 120,
        }
    }
}

/// `[sessions]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Hours an SSO session lives from the sign-in that started it.
    pub lifetime_hours: u32,
    /// Minutes an SSO session lives unused (sign-ins through it and token refreshes use
    /// it).
    pub idle_minutes: u32,
    /// Minutes an ended session, or a revoked grant, stays marked in memory (by the log's
    /// clock): access tokens issued before the end are refused until then, and admins see
    /// how it ended. At least the access tokens' lifetime and five minutes more.
    pub ended_marks_minutes: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            lifetime_hours: 12,
            idle_minutes: 120,
            ended_marks_minutes: u32::try_from(
                verity_projection::Sessions::default()
                    .retention()
                    .num_minutes(),
            )
            .unwrap_or(u32::MAX),
        }
    }
}

impl SessionsConfig {
    /// How long marks of what ended are kept: the read models' template
    /// ([`verity_projection::ReadModels::keeping_marks_for`]).
    pub fn read_models(&self) -> verity_projection::ReadModels {
        verity_projection::ReadModels::keeping_marks_for(chrono::Duration::minutes(i64::from(
            self.ended_marks_minutes,
        )))
    }
}

/// `[audit]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The audit key itself (PKCS#8 PEM or the base64 of a 32-byte seed), best from the
    /// environment; unset: the key file.
    pub key: Option<SecretString>,
    /// The audit key file; unset: `audit.key` in the audit directory (beside the data
    /// directory, see [`AuditConfig::directory`]). Created with mode 0600 on first start.
    pub key_file: Option<PathBuf>,
    /// The file every checkpoint this node records is appended to; unset:
    /// `checkpoints.jsonl` in the audit directory. Keep it outside the data directory.
    pub checkpoint_file: Option<PathBuf>,
    /// Record a checkpoint after this many events (0: no count).
    pub checkpoint_every_events: u64,
    /// Record a checkpoint when the last one is this many seconds old and events came
    /// since (0: no time limit).
    pub checkpoint_every_seconds: u64,
    /// Where every checkpoint is also POSTed (JSON); unset: nowhere.
    pub witness_url: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            key: None,
            key_file: None,
            checkpoint_file: None,
            checkpoint_every_events: 10_000,
            checkpoint_every_seconds: 60,
            witness_url: None,
        }
    }
}

impl AuditConfig {
    /// The audit directory: beside the data directory, named after it (`data` ->
    /// `data-audit`), so that neither the key nor the checkpoints are in the directory
    /// of an embedded database; `<data_dir>/audit` only when the data directory has no
    /// name of its own (`.`, `/`).
    pub fn directory(store: &StoreConfig) -> PathBuf {
        let data_dir = &store.data_dir;
        match data_dir.file_name() {
            Some(name) => {
                let mut sibling = name.to_owned();
                sibling.push("-audit");
                data_dir.with_file_name(sibling)
            }
            None => data_dir.join("audit"),
        }
    }

    /// Where the audit key file is.
    pub fn key_path(&self, store: &StoreConfig) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| Self::directory(store).join("audit.key"))
    }

    /// Where checkpoints are appended.
    pub fn checkpoint_path(&self, store: &StoreConfig) -> PathBuf {
        self.checkpoint_file
            .clone()
            .unwrap_or_else(|| Self::directory(store).join("checkpoints.jsonl"))
    }

    /// When the server records checkpoints.
    pub fn schedule(&self) -> verity_audit::checkpointer::Schedule {
        verity_audit::checkpointer::Schedule {
            every_events: self.checkpoint_every_events,
            every: (self.checkpoint_every_seconds > 0)
                .then(|| std::time::Duration::from_secs(self.checkpoint_every_seconds)),
        }
    }

    /// The witness, when one is configured.
    pub fn witness(&self) -> Result<Option<verity_audit::witness::Witness>, ConfigError> {
        self.witness_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| {
                verity_audit::witness::Witness::new(url)
                    .map_err(|error| ConfigError::Invalid(format!("[audit] witness_url {error}")))
            })
            .transpose()
    }
}

/// `[passwords]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordsConfig {
    /// Fewest characters of a new password (8 to 128).
    pub min_length: usize,
    /// Base URL of a Pwned Passwords range API; empty: the online check is off.
    pub hibp_url: String,
    /// How long the online check may take before the password is accepted without it.
    pub hibp_timeout_ms: u64,
    /// Wrong passwords for one address within the window that lock password sign-in.
    pub max_failures: u64,
    /// Minutes wrong passwords are counted (from the first one).
    pub failure_window_minutes: u32,
    /// Minutes password sign-in stays locked.
    pub lockout_minutes: u32,
    /// Wrong passwords after which each answer is delayed (1 s, then doubling).
    pub delay_after_failures: u64,
    /// The longest delay, in seconds.
    pub max_delay_seconds: u64,
}

impl PasswordsConfig {
    /// The lockout after too many wrong passwords (counted across nodes).
    pub fn lockout(&self) -> verity_oidc::limits::FailureLimit {
        verity_oidc::limits::FailureLimit::passwords(
            self.max_failures,
            chrono::Duration::minutes(i64::from(self.failure_window_minutes)),
            chrono::Duration::minutes(i64::from(self.lockout_minutes)),
        )
    }

    /// The progressive delay before answering a wrong password.
    pub fn delay(&self) -> verity_oidc::limits::ProgressiveDelay {
        verity_oidc::limits::ProgressiveDelay {
            after_failures: self.delay_after_failures,
            max: std::time::Duration::from_secs(self.max_delay_seconds),
        }
    }
}

/// `[mfa]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// Wrong codes in a row that lock the MFA step.
    pub max_failures: u64,
    /// Minutes wrong codes are counted (from the first one).
    pub failure_window_minutes: u32,
    /// Minutes the MFA step stays locked.
    pub lockout_minutes: u32,
    /// Days "Remember this device" lasts.
    pub trusted_device_days: u32,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            failure_window_minutes: 15,
            lockout_minutes: 15,
            trusted_device_days: 30,
        }
    }
}

impl MfaConfig {
    /// The lockout after too many wrong codes (counted across nodes).
    pub fn lockout(&self) -> verity_oidc::limits::FailureLimit {
        verity_oidc::limits::FailureLimit::mfa(
            self.max_failures,
            chrono::Duration::minutes(i64::from(self.failure_window_minutes)),
            chrono::Duration::minutes(i64::from(self.lockout_minutes)),
        )
    }

    /// How long a device stays trusted.
    pub fn trusted_device_lifetime(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.trusted_device_days))
    }
}

/// `[sign_in]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignInConfig {
    /// Failed sign-ins (wrong passwords, unknown addresses, wrong codes) from one client
    /// address within the window that lock sign-in from it.
    pub ip_max_failures: u64,
    /// Minutes failures from one address are counted (from the first one).
    pub ip_window_minutes: u32,
    /// Minutes sign-in from the address stays locked.
    pub ip_lock_minutes: u32,
    /// Minutes a sign-in may take, from the authorization request to its last step.
    pub login_minutes: u32,
    /// Sign-ins that may wait (opened by `/authorize`, not finished) per client address;
    /// beyond, the oldest are dropped.
    pub max_pending_logins_per_address: u32,
    /// Sign-ins that may wait in all; beyond, the oldest are dropped.
    pub max_pending_logins: u32,
    /// Password checks that may wait for a hashing thread beyond the ones running (as
    /// many as cores); beyond, a sign-in answers 503 with `Retry-After` at once instead of
    /// piling up memory and latency.
    pub hash_queue_limit: u32,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            ip_max_failures: 100,
            ip_window_minutes: 15,
            ip_lock_minutes: 15,
            login_minutes: 10,
            max_pending_logins_per_address: verity_oidc::pending_logins::DEFAULT_PER_ADDRESS,
            max_pending_logins: verity_oidc::pending_logins::DEFAULT_TOTAL,
            hash_queue_limit: 64,
        }
    }
}

impl Config {
    /// The one password hashing of this process (sign-in, the account page and the
    /// admin layer share its threads and memory), with `[sign_in] hash_queue_limit`.
    pub fn hashing(&self) -> verity_oidc::credentials::Hashing {
        verity_oidc::credentials::Hashing::for_this_machine()
            .with_queue_limit(self.sign_in.hash_queue_limit as usize)
    }
}

impl SignInConfig {
    /// The lock after too many failed sign-ins from one client address (counted across
    /// nodes; never reset by a success).
    pub fn ip_lockout(&self) -> verity_oidc::limits::FailureLimit {
        verity_oidc::limits::FailureLimit::client_ip(
            self.ip_max_failures,
            chrono::Duration::minutes(i64::from(self.ip_window_minutes)),
            chrono::Duration::minutes(i64::from(self.ip_lock_minutes)),
        )
    }
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            min_length: verity_oidc::password_policy::DEFAULT_MIN_LENGTH,
            hibp_url: String::new(),
            hibp_timeout_ms: 2000,
            max_failures: 10,
            failure_window_minutes: 15,
            lockout_minutes: 15,
            delay_after_failures: 3,
            max_delay_seconds: 8,
        }
    }
}

/// `[smtp]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The SMTP server; empty: emails are written to `<data_dir>/outbox/` instead.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// User name for SMTP authentication; empty: none.
    pub user: String,
    /// Password for SMTP authentication (from the environment, never a committed file).
    pub password: Option<SecretString>,
    /// The sender, e.g. `Verity <no-reply@example.org>`; required with a host.
    pub from: String,
    /// Seconds to wait for the server before giving up.
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            user: String::new(),
            password: None,
            from: String::new(),
            timeout_seconds: 10,
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (only for a relay on the same host or a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// A configured secret: read like a string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<redacted>")
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` cannot be read.
    #[error("cannot read configuration file {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A value is missing, of the wrong type, or unknown.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Command-line values that override the rest.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--database-url`
    pub database_url: Option<String>,
}

impl Config {
    /// Loads defaults, the file (if any), the environment, then the overrides.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(file, overrides, Env::prefixed("VERITY__").split("__"))
    }

    /// Defaults and the TOML `text` of a configuration file, checked as [`Config::load`]
    /// checks them, without the environment or any override.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_sources(
            Some(text),
            &Overrides::default(),
            Env::raw().filter(|_| false),
        )
    }

    fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, ConfigError> {
        let text = file
            .map(|path| {
                std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
                    path: path.to_owned(),
                    source,
                })
            })
            .transpose()?;
        Self::from_sources(text.as_deref(), overrides, env)
    }

    fn from_sources(
        text: Option<&str>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(text) = text {
            figment = figment.merge(Toml::string(text));
        }
        let mut config: Config = figment
            .merge(env)
            .extract()
            .map_err(|error| ConfigError::Invalid(error.to_string().replace('\n', " ")))?;
        if let Some(data_dir) = &overrides.data_dir {
            config.store.data_dir.clone_from(data_dir);
        }
        if let Some(url) = &overrides.database_url {
            config.store.database_url = Some(url.clone());
        }
        if config
            .smtp
            .password
            .as_ref()
            .is_some_and(|password| password.expose().is_empty())
        {
            config.smtp.password = None;
        }
        config.check_mail_and_passwords()?;
        config.check_lifetimes()?;
        config.server.trusted_proxies()?;
        config.audit.witness()?;
        if config
            .audit
            .key
            .as_ref()
            .is_some_and(|key| key.expose().trim().is_empty())
        {
            config.audit.key = None;
        }
        if config.store.database_url.as_deref() == Some("") {
            config.store.database_url = None;
        }
        if config
            .keys
            .master_key
            .as_ref()
            .is_some_and(|key| key.expose().trim().is_empty())
        {
            config.keys.master_key = None;
        }
        Ok(config)
    }

    /// Values that parse but cannot work: refused at start rather than at the first email
    /// or password change.
    fn check_mail_and_passwords(&self) -> Result<(), ConfigError> {
        use verity_oidc::password_policy::{MAX_LENGTH, MIN_LENGTH_FLOOR};
        let min_length = self.passwords.min_length;
        if !(MIN_LENGTH_FLOOR..=MAX_LENGTH).contains(&min_length) {
            return Err(ConfigError::Invalid(format!(
                "[passwords] min_length must be between {MIN_LENGTH_FLOOR} and {MAX_LENGTH} (NIST SP 800-63B), not {min_length}"
            )));
        }
        let hibp_url = self.passwords.hibp_url.trim();
        let is_http = hibp_url.starts_with("https://") || hibp_url.starts_with("http://");
        if !hibp_url.is_empty() && !is_http {
            return Err(ConfigError::Invalid(format!(
                "[passwords] hibp_url must be an http(s) URL or empty, not {hibp_url:?}"
            )));
        }
        if !self.smtp.host.trim().is_empty() && self.smtp.from.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "[smtp] from must be set when [smtp] host is (e.g. \"Verity <no-reply@example.org>\")"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Lifetimes that parse but cannot work: none may be zero, and a code lives at most a
    /// minute (RFC 6749 4.1.2 asks for short-lived codes).
    fn check_lifetimes(&self) -> Result<(), ConfigError> {
        let oidc = &self.oidc;
        let lifetimes = [
            ("[oidc] code_lifetime_seconds", oidc.code_lifetime_seconds),
            (
                "[oidc] access_token_lifetime_seconds",
                oidc.access_token_lifetime_seconds,
            ),
            (
                "[oidc] id_token_lifetime_seconds",
                oidc.id_token_lifetime_seconds,
            ),
            (
                "[oidc] refresh_token_lifetime_days",
                oidc.refresh_token_lifetime_days,
            ),
            (
                "[oidc] logout_token_lifetime_seconds",
                oidc.logout_token_lifetime_seconds,
            ),
            ("[sessions] lifetime_hours", self.sessions.lifetime_hours),
            ("[sessions] idle_minutes", self.sessions.idle_minutes),
            ("[sign_in] login_minutes", self.sign_in.login_minutes),
            (
                "[server] header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "[server] body_read_timeout_seconds",
                self.server.body_read_timeout_seconds,
            ),
            (
                "[sign_in] max_pending_logins_per_address",
                self.sign_in.max_pending_logins_per_address,
            ),
            (
                "[sign_in] max_pending_logins",
                self.sign_in.max_pending_logins,
            ),
        ];
        if let Some((key, _)) = lifetimes.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
        }
        if self.sign_in.max_pending_logins < self.sign_in.max_pending_logins_per_address {
            return Err(ConfigError::Invalid(format!(
                "[sign_in] max_pending_logins ({}) must be at least max_pending_logins_per_address ({})",
                self.sign_in.max_pending_logins, self.sign_in.max_pending_logins_per_address
            )));
        }
        // An ended session's mark must outlive every access token issued before its end,
        // with five minutes for nodes that fold the end a moment late.
        let marked = u64::from(self.sessions.ended_marks_minutes) * 60;
        if marked < u64::from(oidc.access_token_lifetime_seconds) + MARK_MARGIN_SECONDS {
            return Err(ConfigError::Invalid(format!(
                "[sessions] ended_marks_minutes ({}) must cover [oidc] access_token_lifetime_seconds ({}) and five minutes more",
                self.sessions.ended_marks_minutes, oidc.access_token_lifetime_seconds
            )));
        }
        if oidc.access_token_lifetime_seconds > 24 * 3600 {
            return Err(ConfigError::Invalid(format!(
                "[oidc] access_token_lifetime_seconds must be at most 86400 (a day), not {}",
                oidc.access_token_lifetime_seconds
            )));
        }
        if oidc.code_lifetime_seconds > 60 {
            return Err(ConfigError::Invalid(format!(
                "[oidc] code_lifetime_seconds must be at most 60, not {}",
                oidc.code_lifetime_seconds
            )));
        }
        Ok(())
    }

    /// The engine's settings for a server whose issuer is `issuer`.
    pub fn engine_settings(&self, issuer: &str) -> anyhow::Result<verity_oidc::Settings> {
        let seconds = |value: u32| chrono::Duration::seconds(i64::from(value));
        Ok(verity_oidc::Settings {
            code_lifetime: seconds(self.oidc.code_lifetime_seconds),
            access_token_lifetime: seconds(self.oidc.access_token_lifetime_seconds),
            id_token_lifetime: seconds(self.oidc.id_token_lifetime_seconds),
            refresh_token_lifetime: chrono::Duration::days(i64::from(
                self.oidc.refresh_token_lifetime_days,
            )),
            logout_token_lifetime: seconds(self.oidc.logout_token_lifetime_seconds),
            session_lifetime: chrono::Duration::hours(i64::from(self.sessions.lifetime_hours)),
            session_idle_timeout: chrono::Duration::minutes(i64::from(self.sessions.idle_minutes)),
            login_lifetime: chrono::Duration::minutes(i64::from(self.sign_in.login_minutes)),
            access_token_alg: self.oidc.access_token_alg,
            password_min_length: self.passwords.min_length,
            pwned: self.pwned_passwords()?,
            password_limit: self.passwords.lockout(),
            progressive_delay: self.passwords.delay(),
            mfa_limit: self.mfa.lockout(),
            device_trust: self.mfa.trusted_device_lifetime(),
            ip_limit: self.sign_in.ip_lockout(),
            pending_logins: verity_oidc::pending_logins::PendingLogins::new(
                self.sign_in.max_pending_logins_per_address,
                self.sign_in.max_pending_logins,
            ),
            ..verity_oidc::Settings::new(issuer, self.instance.name.clone())
        })
    }

    /// The admin layer's settings.
    pub fn admin_settings(&self) -> verity_admin::Settings {
        verity_admin::Settings {
            instance_name: self.instance.name.clone(),
            sign_in_url: self.sign_in_url(),
            temporary_password_days: self.users.temporary_password_days,
            password_limit: self.passwords.lockout(),
            mfa_limit: self.mfa.lockout(),
            ip_limit: self.sign_in.ip_lockout(),
            retired_key_grace: chrono::Duration::hours(i64::from(self.keys.retired_grace_hours)),
            session_lifetime: chrono::Duration::hours(i64::from(self.sessions.lifetime_hours)),
        }
    }

    /// The online breach check, when `[passwords] hibp_url` is set.
    fn pwned_passwords(&self) -> anyhow::Result<Option<verity_oidc::pwned::PwnedPasswords>> {
        let url = self.passwords.hibp_url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let timeout = std::time::Duration::from_millis(self.passwords.hibp_timeout_ms);
        Ok(Some(verity_oidc::pwned::PwnedPasswords::new(url, timeout)?))
    }

    /// The address people are sent to sign in: `[users] sign_in_url`, else the public URL.
    pub fn sign_in_url(&self) -> String {
        self.users
            .sign_in_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| self.public_url())
    }

    /// The issuer URL.
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.bind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_file_matches_the_defaults() {
        let documented = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/verity.toml");
        let loaded = Config::load_from(
            Some(&documented),
            &Overrides::default(),
            Env::prefixed("VERITY_TEST_NONE__"),
        )
        .unwrap();
        assert_eq!(loaded, Config::default());
    }

    /// The engine's own defaults (what its tests and the in-process HTTP tests run with)
    /// are the default configuration's, field by field.
    #[test]
    fn the_default_configuration_gives_the_engines_defaults() {
        let config = Config::default();
        let issuer = "https://id.example.org";
        let configured = config.engine_settings(issuer).unwrap();
        let engines = verity_oidc::Settings::new(issuer, config.instance.name.clone());
        assert_eq!(format!("{configured:#?}"), format!("{engines:#?}"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn file_then_environment_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("verity.toml");
        std::fs::write(
            &file,
            "[server]\nbind = \"127.0.0.1:9000\"\n[users]\ntemporary_password_days = 3\n",
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("VERITY__USERS__TEMPORARY_PASSWORD_DAYS", "5");
            let overrides = Overrides {
                data_dir: Some("elsewhere".into()),
                database_url: None,
            };
            let config = Config::load(Some(&file), &overrides).map_err(|e| e.to_string())?;
            assert_eq!(config.server.bind.port(), 9000);
            assert_eq!(config.users.temporary_password_days, 5);
            assert_eq!(config.store.data_dir, PathBuf::from("elsewhere"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn the_master_key_comes_from_the_environment_and_is_never_shown() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("VERITY__KEYS__MASTER_KEY", "c2VjcmV0LW1hc3Rlci1rZXk=");
            jail.set_env("VERITY__KEYS__RETIRED_GRACE_HOURS", "48");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            let key = config.keys.master_key.as_ref().map(SecretString::expose);
            assert_eq!(key, Some("c2VjcmV0LW1hc3Rlci1rZXk="));
            assert_eq!(config.keys.retired_grace_hours, 48);
            assert!(!format!("{config:?}").contains("c2VjcmV0"));

            jail.set_env("VERITY__KEYS__MASTER_KEY", "");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.keys.master_key, None);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn smtp_and_password_settings_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("VERITY__SMTP__HOST", "127.0.0.1");
            jail.set_env("VERITY__SMTP__PORT", "2525");
            jail.set_env("VERITY__SMTP__TLS", "none");
            jail.set_env("VERITY__SMTP__FROM", "Verity <no-reply@example.org>");
            jail.set_env("VERITY__SMTP__PASSWORD", "smtp-secret");
            jail.set_env("VERITY__PASSWORDS__MIN_LENGTH", "15");
            jail.set_env(
                "VERITY__PASSWORDS__HIBP_URL",
                "https://api.pwnedpasswords.com",
            );
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.smtp.port, 2525);
            assert_eq!(config.smtp.tls, SmtpTls::None);
            assert_eq!(
                config.smtp.password.as_ref().map(SecretString::expose),
                Some("smtp-secret")
            );
            assert!(!format!("{config:?}").contains("smtp-secret"));
            assert_eq!(config.passwords.min_length, 15);
            assert_eq!(config.sign_in_url(), "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn impossible_mail_and_password_settings_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("VERITY__PASSWORDS__MIN_LENGTH", "6");
            let error = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(error.to_string().contains("min_length"), "{error}");
            jail.set_env("VERITY__PASSWORDS__MIN_LENGTH", "12");
            jail.set_env("VERITY__SMTP__HOST", "smtp.example.org");
            let error = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(error.to_string().contains("[smtp] from"), "{error}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn the_bounds_on_pending_sign_ins_come_from_the_environment_and_must_fit() {
        figment::Jail::expect_with(|jail| {
            let bounds = || -> Result<(u32, u32), String> {
                let config =
                    Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
                let bounds = config
                    .engine_settings("https://id.example")
                    .unwrap()
                    .pending_logins;
                Ok((bounds.per_address(), bounds.total()))
            };
            assert_eq!(bounds()?, (100, 100_000));
            jail.set_env("VERITY__SIGN_IN__MAX_PENDING_LOGINS_PER_ADDRESS", "20");
            jail.set_env("VERITY__SIGN_IN__MAX_PENDING_LOGINS", "1000");
            assert_eq!(bounds()?, (20, 1000));
            jail.set_env("VERITY__SIGN_IN__MAX_PENDING_LOGINS", "10");
            let error = bounds().unwrap_err();
            assert!(error.contains("max_pending_logins"), "{error}");
            jail.set_env("VERITY__SIGN_IN__MAX_PENDING_LOGINS_PER_ADDRESS", "0");
            let error = bounds().unwrap_err();
            assert!(error.contains("must be at least 1"), "{error}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn ended_sessions_stay_marked_longer_than_their_access_tokens_live() {
        figment::Jail::expect_with(|jail| {
            let retention = || -> Result<chrono::Duration, String> {
                let config =
                    Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
                Ok(config.sessions.read_models().sessions.retention())
            };
            assert_eq!(retention()?, chrono::Duration::hours(25));
            jail.set_env("VERITY__OIDC__ACCESS_TOKEN_LIFETIME_SECONDS", "60");
            jail.set_env("VERITY__SESSIONS__ENDED_MARKS_MINUTES", "6");
            assert_eq!(retention()?, chrono::Duration::minutes(6));
            // 61 s of token and five minutes of margin need more than six minutes.
            jail.set_env("VERITY__OIDC__ACCESS_TOKEN_LIFETIME_SECONDS", "61");
            let error = retention().unwrap_err();
            assert!(error.contains("ended_marks_minutes"), "{error}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn mfa_and_password_limits_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("VERITY__MFA__MAX_FAILURES", "3");
            jail.set_env("VERITY__MFA__LOCKOUT_MINUTES", "60");
            jail.set_env("VERITY__MFA__TRUSTED_DEVICE_DAYS", "7");
            jail.set_env("VERITY__PASSWORDS__MAX_FAILURES", "20");
            jail.set_env("VERITY__PASSWORDS__MAX_DELAY_SECONDS", "4");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            let mfa = config.mfa.lockout();
            assert_eq!(mfa.max_failures, 3);
            assert_eq!(mfa.window, chrono::Duration::minutes(15));
            assert_eq!(mfa.lock_for, chrono::Duration::minutes(60));
            assert_eq!(
                config.mfa.trusted_device_lifetime(),
                chrono::Duration::days(7)
            );
            assert_eq!(config.passwords.lockout().max_failures, 20);
            let delay = config.passwords.delay();
            assert_eq!(delay.delay(2), std::time::Duration::ZERO);
            assert_eq!(delay.delay(3), std::time::Duration::from_secs(1));
            assert_eq!(delay.delay(9), std::time::Duration::from_secs(4));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn trusted_proxies_and_the_address_limit_come_from_the_file_or_the_environment() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(config.server.trusted_proxies.is_empty());
            assert!(config.server.trusted_proxies().unwrap().is_empty());
            let limit = config.sign_in.ip_lockout();
            assert_eq!(limit.max_failures, 100);
            assert_eq!(limit.window, chrono::Duration::minutes(15));
            assert_eq!(limit.lock_for, chrono::Duration::minutes(15));

            jail.create_file(
                "verity.toml",
                "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
            )?;
            let config = Config::load(Some(Path::new("verity.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            let proxies = config.server.trusted_proxies().unwrap();
            assert!(proxies.contains("10.20.30.40".parse().unwrap()));
            assert!(proxies.contains("::1".parse().unwrap()));
            assert!(!proxies.contains("192.0.2.1".parse().unwrap()));

            jail.set_env(
                "VERITY__SERVER__TRUSTED_PROXIES",
                r#"["127.0.0.1", "fd00::/8"]"#,
            );
            jail.set_env("VERITY__SIGN_IN__IP_MAX_FAILURES", "3");
            jail.set_env("VERITY__SIGN_IN__IP_LOCK_MINUTES", "60");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.server.trusted_proxies, ["127.0.0.1", "fd00::/8"]);
            assert_eq!(config.sign_in.ip_lockout().max_failures, 3);
            assert_eq!(
                config.sign_in.ip_lockout().lock_for,
                chrono::Duration::minutes(60)
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn invalid_trusted_proxies_refuse_to_start() {
        figment::Jail::expect_with(|jail| {
            for (value, entry) in [
                (r#"["10.0.0.0/8", "10.0.0.0/33"]"#, "10.0.0.0/33"),
                (r#"["proxy.example.org"]"#, "proxy.example.org"),
                (r#"["::1/129"]"#, "::1/129"),
            ] {
                jail.set_env("VERITY__SERVER__TRUSTED_PROXIES", value);
                let error = Config::load(None, &Overrides::default()).unwrap_err();
                let message = error.to_string();
                assert!(message.contains("[server] trusted_proxies"), "{message}");
                assert!(message.contains(entry), "{message}");
                assert!(
                    message.contains("not an IP address or a CIDR range"),
                    "{message}"
                );
            }
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours.
    fn the_access_token_algorithm_comes_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.oidc.access_token_alg, SigningAlgorithm::RS256);
            jail.set_env("VERITY__OIDC__ACCESS_TOKEN_ALG", "EdDSA");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.oidc.access_token_alg, SigningAlgorithm::EdDSA);
            jail.set_env("VERITY__OIDC__ACCESS_TOKEN_ALG", "HS256");
            let error = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(error.to_string().contains("HS256"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("verity.toml");
        std::fs::write(&file, "[server]\nbnid = 1\n").unwrap();
        let error = Config::load(Some(&file), &Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("bnid"), "{error}");
        let error = Config::load(
            Some(&dir.path().join("missing.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(error, ConfigError::Unreadable { .. }));
    }
}
