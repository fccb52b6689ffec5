//! Signing keys in the binary: the key ring the server signs with (the first keys and
//! rotation are the admin layer's), under the master key ([`crate::master_key`]).

use std::sync::Arc;

use verity_oidc::keys::{KeyRing, SharedKeyRing};

use crate::admin::cli_call;
use crate::app::{App, now};
pub use crate::master_key::{MASTER_KEY_FILE, load_master_key, master_key_path};

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
