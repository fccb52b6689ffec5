//! Wiring: opening the configured store, first-start bootstrap, the read models, and the
//! adapters that read the clock and the operating system's random generator for commands.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use verity_audit::snapshots::SealedSnapshots;
use verity_domain::instance::{Instance, InstanceCommand, InstanceError};
use verity_domain::organization::{Organization, OrganizationCommand, OrganizationError};
use verity_domain::{Actor, Context, ExecuteError, SnapshotStore, StoreError, execute, load};
use verity_oidc::keys::SharedKeyRing;
use verity_projection::{Projector, ProjectorOptions, ReadModels};
use verity_store::{Location, PersonalSecrets, SealedStore, Store};

use crate::config::Config;

/// The current time: the one place commands' `now` comes from.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The operating system's generator (a CSPRNG), for the sign-in benchmark's people. The
/// admin commands' temporary passwords, client ids and secrets come from the admin layer
/// (`verity_oidc::random`).
#[allow(clippy::disallowed_methods)]
pub fn os_rng() -> rand::rngs::ThreadRng {
    rand::rng()
}

/// The operating-system user at the command line, when known: who the events of a
/// command name.
pub fn os_user() -> Option<String> {
    std::env::var("USER").ok().filter(|user| !user.is_empty())
}

/// The domain's context of a command given at the command line.
pub fn cli_context() -> Context {
    Context {
        now: now(),
        actor: Actor::Cli { os_user: os_user() },
        request_id: None,
        client_ip: None,
    }
}

/// Where the configured store lives.
pub fn location(config: &Config) -> Result<Location, StoreError> {
    match &config.store.database_url {
        Some(url) => Location::parse(url),
        None => Ok(Location::Sqlite(config.store.data_dir.join("verity.db"))),
    }
}

/// An open store with its read models.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// The log as everything reads and writes it: personal data sealed with each
    /// person's key on the way in and opened on the way out (docs/adr/0010).
    pub store: Arc<dyn Store>,
    /// The log as the database holds it (ciphertext): what the chain covers.
    pub raw: Arc<dyn Store>,
    /// The read models.
    pub projector: Arc<Projector<ReadModels>>,
    /// Password hashing, shared by the engine and the admin layer.
    pub hashing: verity_oidc::credentials::Hashing,
}

/// How long a command waits for the read models to show its own write.
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(10);

impl App {
    /// Opens the store (creating the data directory for SQLite), initialises the instance
    /// on first start, and starts the read models.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config).await?;
        let snapshots = sealed_snapshots(&config, &store)?;
        Self::open_on(config, store, snapshots).await
    }

    /// Like [`App::open`], on a store already open (as stored: the personal data seal is
    /// put over it here), with snapshots kept in `snapshots`.
    pub async fn open_on(
        config: Config,
        raw: Arc<dyn Store>,
        snapshots: Arc<dyn SnapshotStore>,
    ) -> anyhow::Result<Self> {
        let store: Arc<dyn Store> = seal(&config, raw.clone()).await?;
        bootstrap(store.as_ref(), &config).await?;
        let options = ProjectorOptions {
            snapshot_every: config.projection.snapshot_every,
        };
        let projector = Projector::start_like(
            &config.sessions.read_models(),
            store.clone(),
            snapshots,
            options,
        )
        .await?;
        Ok(Self {
            hashing: config.hashing(),
            config,
            store,
            raw,
            projector,
        })
    }

    /// Waits until the read models have folded `position`.
    pub async fn wait_for(&self, position: u64) -> anyhow::Result<()> {
        Ok(self.projector.wait_for(position, READ_YOUR_WRITES).await?)
    }

    /// The engine over this store, signing with `keys`, as the issuer `issuer`.
    pub fn engine(
        &self,
        keys: Arc<SharedKeyRing>,
        issuer: &str,
    ) -> anyhow::Result<verity_oidc::Engine> {
        Ok(verity_oidc::Engine {
            store: self.store.clone(),
            expiring: self.store.clone(),
            projector: self.projector.clone(),
            keys,
            hashing: self.hashing.clone(),
            settings: Arc::new(self.config.engine_settings(issuer)?),
        })
    }
}

/// The store's snapshots, sealed with this machine's audit key and bound to the chain
/// (`verity_audit::snapshots`): without the key none is trusted or saved.
pub fn sealed_snapshots(
    config: &Config,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Arc<dyn SnapshotStore>> {
    let key = crate::audit_key::existing_audit_key(config)?;
    Ok(Arc::new(SealedSnapshots::new(
        store.clone(),
        store.clone(),
        key,
    )))
}

/// Opens the configured store, creating the data directory of an embedded store with
/// mode 0700 (the store makes its files 0600).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let location = location(config)?;
    if let Location::Sqlite(path) = &location
        && let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
    {
        verity_oidc::private_files::create_private_dir(parent).map_err(|error| {
            anyhow::anyhow!("cannot create data directory {}: {error}", parent.display())
        })?;
    }
    Ok(verity_store::open(&location).await?)
}

/// Opens the configured store behind the seal of personal data, with the keys the
/// master key gives (every command that reads or writes people needs it).
pub async fn open_sealed_store(config: &Config) -> anyhow::Result<Arc<SealedStore>> {
    seal(config, open_store(config).await?).await
}

/// `raw` behind the seal of personal data, with the keys the master key gives.
async fn seal(config: &Config, raw: Arc<dyn Store>) -> anyhow::Result<Arc<SealedStore>> {
    let master = crate::master_key::load_master_key(config)?;
    let (wrap, index) = master.personal_data_keys();
    Ok(Arc::new(
        SealedStore::open(raw, PersonalSecrets::new(wrap, index)?).await?,
    ))
}

/// Initialises the instance and its default organization, once, whichever node starts
/// first. Safe to run on every start and on several nodes at once.
pub async fn bootstrap(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let context = Context {
        actor: Actor::System,
        ..cli_context()
    };
    let command = InstanceCommand::Initialize {
        instance_id: verity_oidc::random::uuid(),
        name: config.instance.name.clone(),
        default_org_id: verity_oidc::random::uuid(),
    };
    match execute::<Instance>(store, verity_domain::instance::STREAM, &command, &context).await {
        Ok(_) | Err(ExecuteError::Rejected(InstanceError::AlreadyInitialized)) => {}
        Err(error) => return Err(error.into()),
    }
    let (instance, _) = load::<Instance>(store, verity_domain::instance::STREAM).await?;
    let Some(initialized) = instance.initialized else {
        anyhow::bail!("the instance stream holds no initialisation event");
    };
    let org = OrganizationCommand::Create {
        org_id: initialized.default_org_id,
        name: config.instance.default_organization.clone(),
    };
    let stream = verity_domain::organization::stream(initialized.default_org_id);
    match execute::<Organization>(store, &stream, &org, &context).await {
        Ok(_) | Err(ExecuteError::Rejected(OrganizationError::AlreadyExists)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
