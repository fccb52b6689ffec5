//! The audit key in the binary: `[audit] key` (from the environment), or the key file,
//! created with mode 0600 on first start (docs/audit.md, ADR 0009).

use std::path::Path;

use anyhow::Context as _;
use verity_audit::AuditKey;
use verity_audit::key::SEED_LEN;
use verity_oidc::private_files::{PrivateFile, load_or_create, read_private_file};

use crate::config::Config;

/// The audit key, created in its file when there is none (a server's first start, or
/// `verity audit key` before it).
pub fn load_or_create_audit_key(config: &Config) -> anyhow::Result<AuditKey> {
    if let Some(key) = configured(config)? {
        return Ok(key);
    }
    let path = config.audit.key_path(&config.store);
    let fresh = new_key().to_pem()?;
    let (pem, file) = load_or_create(&path, || fresh)
        .map_err(|reason| anyhow::anyhow!("audit key file {}: {reason}", path.display()))?;
    let key =
        AuditKey::from_text(&pem).with_context(|| format!("audit key file {}", path.display()))?;
    if file == PrivateFile::Created {
        tracing::warn!(
            path = %path.display(),
            fingerprint = key.public().fingerprint(),
            "created a new audit key file: back it up, and give auditors its public key \
             (`verity audit key`); nodes sharing a database must share one audit key"
        );
    }
    warn_if_inside_data_dir(config, &path, "the audit key file");
    Ok(key)
}

/// The audit key when this machine has one (configured, or its file exists); `None`
/// otherwise. Commands other than the server's use it to trust and save snapshots.
pub fn existing_audit_key(config: &Config) -> anyhow::Result<Option<AuditKey>> {
    if let Some(key) = configured(config)? {
        return Ok(Some(key));
    }
    let path = config.audit.key_path(&config.store);
    if !path.exists() {
        return Ok(None);
    }
    let pem = read_private_file(&path)
        .map_err(|reason| anyhow::anyhow!("audit key file {}: {reason}", path.display()))?;
    Ok(Some(AuditKey::from_text(&pem).with_context(|| {
        format!("audit key file {}", path.display())
    })?))
}

/// Says so when a file that must not be where the embedded database is, is there.
pub fn warn_if_inside_data_dir(config: &Config, path: &Path, what: &str) {
    if config.store.database_url.is_none() && path.starts_with(&config.store.data_dir) {
        tracing::warn!(
            path = %path.display(),
            data_dir = %config.store.data_dir.display(),
            "{what} is inside the data directory, beside the database: whoever can rewrite \
             the database can reach it too (see [audit] in config/verity.toml)"
        );
    }
}

fn configured(config: &Config) -> anyhow::Result<Option<AuditKey>> {
    config
        .audit
        .key
        .as_ref()
        .map(|key| AuditKey::from_text(key.expose()).context("[audit] key (VERITY__AUDIT__KEY)"))
        .transpose()
}

fn new_key() -> AuditKey {
    use rand::Rng as _;
    let mut seed = [0; SEED_LEN];
    verity_oidc::random::crypto_rng().fill_bytes(&mut seed);
    AuditKey::from_seed(seed)
}
