//! Where the master key comes from: the configuration, the environment, or a 0600 file in
//! the data directory. It seals signing keys and TOTP secrets and gives the keys of
//! personal data (docs/keys.md), so the store and the key ring both need it.

use std::path::PathBuf;

use verity_oidc::keys::{MasterKey, MasterKeyFile};

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
