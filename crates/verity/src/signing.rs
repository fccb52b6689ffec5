//! Signing keys in the binary: where the master key comes from, and the key ring the
//! server signs with (the first keys and rotation are the admin layer's).
//!
//! The master key also gives the keys of personal data (docs/adr/0010), so every command
//! that reads or writes people loads it; `audit verify` and `events export`, which read
//! the log as stored, do not.

use std::path::PathBuf;
use std::sync::Arc;

use verity_oidc::keys::{KeyRing, MasterKey, MasterKeyFile, SharedKeyRing};

use crate::admin::cli_call;
use crate::app::{App, now};
use crate::config::Config;

/// Name of the master key file in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Where the master key file lives.
pub fn master_key_path(config: &Config) -> PathBuf {
    config.store.data_dir.join(MASTER_KEY_FILE)
}

/// The master key: `[keys] master_key` (or `VERITY__KEYS__MASTER_KEY`) when set, else
/// the key file in the data directory, created on first start with mode 0600.
pub fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(configured) = &config.keys.master_key {
        return MasterKey::from_base64(configured.expose()).map_err(|error| {
            anyhow::anyhow!("[keys] master_key (VERITY__KEYS__MASTER_KEY): {error}")
        });
    }
    let path = master_key_path(config);
    let (key, file) = MasterKey::load_or_create(&path)?;
    if file == MasterKeyFile::Created {
        tracing::warn!(
            path = %path.display(),
            master_key_id = key.id(),
            "created a new master key file: back it up; nodes sharing a database must all \
             be configured with one master key ([keys] master_key)"
        );
    }
    if config.store.database_url.is_some() {
        tracing::info!(
            path = %path.display(),
            master_key_id = key.id(),
            "using the master key file; other nodes on this database need the same key"
        );
    }
    Ok(key)
}

/// The key ring the server signs with: loads the master key, makes the first keys if
/// needed, and builds the ring once so a node that cannot decrypt its keys (another
/// master key) fails at start with a clear error rather than at its first token.
///
/// Request handlers call [`SharedKeyRing::current`] with the keys read model, which
/// rebuilds the ring after a rotation (by any node) or when a grace period ends.
pub async fn key_ring(app: &App) -> anyhow::Result<Arc<SharedKeyRing>> {
    let master = load_master_key(&app.config)?;
    app.admin()
        .ensure_signing_keys(&cli_call(), &master)
        .await?;
    let shared = Arc::new(SharedKeyRing::new(master));
    current_ring(app, &shared)?;
    Ok(shared)
}

/// The current ring of `shared`, for the read models as they are now.
pub fn current_ring(app: &App, shared: &SharedKeyRing) -> anyhow::Result<Arc<KeyRing>> {
    Ok(app
        .projector
        .read(|models| shared.current(&models.keys, now()))?)
}
