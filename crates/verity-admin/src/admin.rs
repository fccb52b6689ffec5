//! The admin layer's ports and settings ([`Admin`]), and the few steps every command
//! shares: deciding a command in the actor's name and waiting until the read models show
//! it.

use std::sync::Arc;

use chrono::Duration;
use verity_domain::{Aggregate, AppendOutcome, EventStore, ExecuteError, ExpiringStore, execute};
use verity_oidc::credentials::Hashing;
use verity_oidc::limits::FailureLimit;
use verity_oidc::mail::Mailer;
use verity_projection::{Projector, ReadModels};

use crate::actor::{Actor, Call};
use crate::error::AdminError;

/// What the admin layer works over; the binary chooses the concrete backends.
#[derive(Clone)]
pub struct Ports {
    /// The event log.
    pub store: Arc<dyn EventStore>,
    /// The event log as stored, personal data sealed: what the chain covers, for the
    /// log's pages (the chain recomputed, the export).
    pub log: Arc<dyn EventStore>,
    /// Short-lived state: the failure counts and locks that unlocking lifts.
    pub expiring: Arc<dyn ExpiringStore>,
    /// The read models, kept current from the log.
    pub projector: Arc<Projector<ReadModels>>,
    /// Delivers the temporary-password emails.
    pub mailer: Arc<dyn Mailer>,
    /// Password hashing (shared with sign-in on a server, so both stay within one bound).
    pub hashing: Hashing,
}

/// The instance's settings the admin layer needs (`config/verity.toml` documents each).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The instance's display name (in the emails).
    pub instance_name: String,
    /// Where people sign in (in the emails).
    pub sign_in_url: String,
    /// How long a temporary password works (`[users] temporary_password_days`).
    pub temporary_password_days: u32,
    /// Failed passwords per address before a lock (`[passwords]`).
    pub password_limit: FailureLimit,
    /// Wrong codes per person before the code step locks (`[mfa]`).
    pub mfa_limit: FailureLimit,
    /// Failed sign-ins per client network before a lock (`[sign_in]`).
    pub ip_limit: FailureLimit,
    /// How long a retired signing key stays published (`[keys] retired_grace_hours`).
    pub retired_key_grace: Duration,
    /// How long a session lives at most (`[sessions] lifetime_hours`): what the audit's
    /// account at an instant counts as over.
    pub session_lifetime: Duration,
}

/// The admin layer: every admin command and query is a method that takes the
/// [`Actor`] and the [`Call`] and decides authorization before anything else.
#[derive(Clone)]
pub struct Admin {
    pub(crate) ports: Ports,
    pub(crate) settings: Arc<Settings>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Admin")
            .field("instance_name", &self.settings.instance_name)
            .finish_non_exhaustive()
    }
}

/// How long a command waits for the read models to show its own write.
pub(crate) const READ_YOUR_WRITES: std::time::Duration = verity_oidc::READ_YOUR_WRITES;

impl Admin {
    /// The admin layer over `ports`, with `settings`.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            ports,
            settings: Arc::new(settings),
        }
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reads the read models as they are now.
    pub(crate) fn read<R>(&self, reader: impl FnOnce(&ReadModels) -> R) -> R {
        self.ports.projector.read(reader)
    }

    /// Decides `command` on `stream` in the actor's name (the actor is recorded in the
    /// events' metadata) and appends the events.
    pub(crate) async fn decide<A: Aggregate>(
        &self,
        actor: &Actor,
        call: &Call,
        stream: &str,
        command: &A::Command,
    ) -> Result<AppendOutcome, ExecuteError<A::Error>> {
        execute::<A>(
            self.ports.store.as_ref(),
            stream,
            command,
            &call.context(actor),
        )
        .await
    }

    /// Waits until the read models have folded `position`, so the caller reads its own
    /// write.
    pub(crate) async fn wait_for(&self, position: u64) -> Result<(), AdminError> {
        Ok(self
            .ports
            .projector
            .wait_for(position, READ_YOUR_WRITES)
            .await?)
    }
}
