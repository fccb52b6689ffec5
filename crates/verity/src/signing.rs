//! Signing keys in the binary: where the master key comes from, the keys made on first
//! start, rotation, and the key ring the server signs with.
//!
//! Only the commands that sign or manage keys (`serve`, `keys ...`, `bench sign`) touch
//! the master key: managing organizations and users works without it.

use std::path::PathBuf;
use std::sync::Arc;

use verity_domain::key::{SigningKey, SigningKeyCommand, SigningKeyError};
use verity_domain::{Actor, Context, ExecuteError, execute};
use verity_oidc::keys::{
    KeyRing, MasterKey, MasterKeyFile, SharedKeyRing, SigningAlgorithm, generate, new_kid,
    plan_rotation,
};

use crate::app::{App, cli_context, now};
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

/// How long a retired key stays published.
pub fn grace(config: &Config) -> chrono::Duration {
    chrono::Duration::hours(i64::from(config.keys.retired_grace_hours))
}

/// What one rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The algorithm rotated.
    pub alg: SigningAlgorithm,
    /// The new, active key.
    pub kid: String,
    /// The keys retired, with the end of their grace period.
    pub retired: Vec<(String, chrono::DateTime<chrono::Utc>)>,
}

/// Rotates `alg`: generates a key (published first), activates it, retires the previous
/// one with the configured grace period; waits until the read models show it.
pub async fn rotate(
    app: &App,
    master: &MasterKey,
    alg: SigningAlgorithm,
    context: &Context,
) -> anyhow::Result<Rotation> {
    let kid = new_kid();
    let generated = {
        let (kid, master) = (kid.clone(), master.clone());
        // RSA key generation takes a while: keep it off the async workers.
        tokio::task::spawn_blocking(move || generate(alg, &kid, &master)).await??
    };
    let keys = app.projector.read(|models| models.keys.clone());
    let steps = plan_rotation(&keys, &generated, context.now, grace(&app.config));
    let mut position = 0;
    let mut retired = Vec::new();
    for step in &steps {
        let outcome =
            execute::<SigningKey>(app.store.as_ref(), &step.stream(), &step.command, context).await;
        match (outcome, &step.command) {
            (Ok(outcome), command) => {
                position = position.max(outcome.position);
                if let SigningKeyCommand::Retire { keep_until } = command {
                    retired.push((step.kid.clone(), *keep_until));
                }
            }
            // Another node retired it meanwhile: the outcome is the same.
            (
                Err(ExecuteError::Rejected(SigningKeyError::Retired)),
                SigningKeyCommand::Retire { .. },
            ) => {}
            (Err(error), _) => {
                return Err(anyhow::anyhow!(
                    "rotating the {alg} key {}: {error}",
                    step.kid
                ));
            }
        }
    }
    app.wait_for(position).await?;
    Ok(Rotation { alg, kid, retired })
}

/// First start: for each algorithm without an active key, generates and activates one.
/// Returns the keys made. Several nodes starting at once may each make one; every node
/// then signs with the one activated last.
pub async fn ensure_signing_keys(app: &App, master: &MasterKey) -> anyhow::Result<Vec<Rotation>> {
    let context = Context {
        actor: Actor::System,
        ..cli_context()
    };
    let mut made = Vec::new();
    for alg in SigningAlgorithm::ALL {
        if app
            .projector
            .read(|models| models.keys.active(alg).is_none())
        {
            let rotation = rotate(app, master, alg, &context).await?;
            tracing::info!(%alg, kid = %rotation.kid, "generated and activated a signing key");
            made.push(rotation);
        }
    }
    Ok(made)
}

/// The key ring the server signs with: loads the master key, makes the first keys if
/// needed, and builds the ring once so a node that cannot decrypt its keys (another
/// master key) fails at start with a clear error rather than at its first token.
///
/// Request handlers call [`SharedKeyRing::current`] with the keys read model, which
/// rebuilds the ring after a rotation (by any node) or when a grace period ends.
pub async fn key_ring(app: &App) -> anyhow::Result<Arc<SharedKeyRing>> {
    let master = load_master_key(&app.config)?;
    ensure_signing_keys(app, &master).await?;
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
