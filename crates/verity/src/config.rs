//! The typed configuration: defaults, then a TOML file (`--config`), then environment
//! variables `VERITY__SECTION__KEY`, then command-line flags. `config/verity.toml`
//! documents every key. Passed down explicitly; there is no global.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// The public URL (the OIDC issuer); defaults to `http://<bind>`.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
        }
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
}

impl Default for UsersConfig {
    fn default() -> Self {
        Self {
            temporary_password_days: 7,
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
            snapshot_every: 10_000,
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

    fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
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
