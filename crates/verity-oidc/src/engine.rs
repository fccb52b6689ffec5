//! The engine the doors call: the ports it works over ([`Engine`]) and the provider's
//! settings ([`Settings`]). Every rule of signing in, issuing and redeeming codes and
//! tokens lives in the modules that take an `&Engine`; the HTTP crate only extracts,
//! calls and renders.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use verity_domain::key::SigningAlgorithm;
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{
    Actor, AppendRequest, EventStore, ExpectedVersion, ExpiringStore, NewEvent, execute,
};
use verity_projection::{ClientView, PersonSummary, Projector, ReadModels, UserView};

use crate::context::RequestContext;
use crate::credentials::{HashMemory, Hashing};
use crate::error::EngineError;
use crate::keys::{KeyRing, SharedKeyRing};
use crate::limits::{FailureLimit, ProgressiveDelay};
use crate::pending_logins::PendingLogins;
use crate::pwned::PwnedPasswords;

/// How long a command waits for the read models to show its own write.
pub const READ_YOUR_WRITES: std::time::Duration = std::time::Duration::from_secs(10);

/// The provider's identity, lifetimes and limits (`config/verity.toml` documents each).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer: the public URL, without a trailing slash.
    pub issuer: String,
    /// The instance's display name (shown in authenticator apps).
    pub instance_name: String,
    /// Authorization codes live this long (at most 60 s; `[oidc] code_lifetime_seconds`).
    pub code_lifetime: Duration,
    /// Access tokens live this long (`[oidc] access_token_lifetime_seconds`).
    pub access_token_lifetime: Duration,
    /// ID tokens live this long (`[oidc] id_token_lifetime_seconds`).
    pub id_token_lifetime: Duration,
    /// Refresh tokens and their grants live this long (`[oidc] refresh_token_lifetime_days`).
    pub refresh_token_lifetime: Duration,
    /// Back-channel logout tokens are valid this long (`[oidc]
    /// logout_token_lifetime_seconds`).
    pub logout_token_lifetime: Duration,
    /// SSO sessions live this long from the sign-in (`[sessions] lifetime_hours`).
    pub session_lifetime: Duration,
    /// SSO sessions end after this long unused (`[sessions] idle_minutes`); refreshing
    /// tokens counts as use.
    pub session_idle_timeout: Duration,
    /// A login transaction (from /authorize to the last sign-in step) lives this long
    /// (`[sign_in] login_minutes`).
    pub login_lifetime: Duration,
    /// The algorithm access tokens are signed with (RS256 unless configured).
    pub access_token_alg: SigningAlgorithm,
    /// `[passwords] min_length`.
    pub password_min_length: usize,
    /// The optional online breach check (`[passwords] hibp_url`).
    pub pwned: Option<PwnedPasswords>,
    /// Failed passwords per address before a lock (`[passwords]`).
    pub password_limit: FailureLimit,
    /// The pause before answering a wrong password.
    pub progressive_delay: ProgressiveDelay,
    /// Wrong codes per person before the code step locks (`[mfa]`).
    pub mfa_limit: FailureLimit,
    /// How long a trusted device stays trusted (`[mfa] trusted_device_days`).
    pub device_trust: Duration,
    /// Failed sign-ins (passwords and codes) from one client network before sign-in from
    /// it is refused (`[sign_in]`). Never reset by a success.
    pub ip_limit: FailureLimit,
    /// How many sign-ins may wait between `/authorize` and their last step, per client
    /// address and in all (`[sign_in]`); beyond, the oldest are dropped.
    pub pending_logins: PendingLogins,
}

impl Settings {
    /// Defaults for `issuer`: codes 60 s, access and ID tokens 5 min, refresh tokens 30
    /// days, logout tokens 2 min, sessions 12 h (2 h idle), login transactions 10 min,
    /// access tokens signed with RS256, the limits of `config/verity.toml` (the binary's
    /// tests check that its default configuration gives these).
    pub fn new(issuer: impl Into<String>, instance_name: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            instance_name: instance_name.into(),
            code_lifetime: Duration::seconds(60),
            access_token_lifetime: Duration::minutes(5),
            id_token_lifetime: Duration::minutes(5),
            refresh_token_lifetime: Duration::days(30),
            logout_token_lifetime: Duration::minutes(2),
            session_lifetime: Duration::hours(12),
            session_idle_timeout: Duration::hours(2),
            login_lifetime: Duration::minutes(10),
            access_token_alg: SigningAlgorithm::RS256,
            password_min_length: crate::password_policy::DEFAULT_MIN_LENGTH,
            pwned: None,
            password_limit: FailureLimit::passwords(
                10,
                Duration::minutes(15),
                Duration::minutes(15),
            ),
            progressive_delay: ProgressiveDelay::default(),
            mfa_limit: FailureLimit::mfa(5, Duration::minutes(15), Duration::minutes(15)),
            device_trust: Duration::days(30),
            ip_limit: FailureLimit::client_ip(100, Duration::minutes(15), Duration::minutes(15)),
            pending_logins: PendingLogins::default(),
        }
    }
}

/// What the engine works over. Cloning is cheap (shared handles); the binary chooses the
/// concrete backends.
#[derive(Clone)]
pub struct Engine {
    /// The event log.
    pub store: Arc<dyn EventStore>,
    /// Short-lived protocol state.
    pub expiring: Arc<dyn ExpiringStore>,
    /// The read models, kept current from the log.
    pub projector: Arc<Projector<ReadModels>>,
    /// The signing keys (and the master key that seals secrets).
    pub keys: Arc<SharedKeyRing>,
    /// Password hashing: concurrent Argon2id hashes capped near the core count, in pooled
    /// memory, so a sign-in flood queues instead of exhausting memory.
    pub hashing: Hashing,
    /// The provider's settings.
    pub settings: Arc<Settings>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Runs a password hash or verification on a blocking thread through
    /// [`Engine::hashing`].
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        Ok(self.hashing.run(work).await?)
    }

    /// The key ring for the keys as they are at `now`.
    pub fn key_ring(&self, now: DateTime<Utc>) -> Result<Arc<KeyRing>, EngineError> {
        Ok(self
            .projector
            .read(|models| self.keys.current(&models.keys, now))?)
    }

    /// A person as every node keeps them, from the read models: no password hash, no
    /// second factor.
    pub fn person(&self, user_id: Uuid) -> Option<PersonSummary> {
        self.projector.read(|models| models.users.get(user_id))
    }

    /// A person's whole record, folded from their stream in the log: what a password, a
    /// code or a trusted device is checked against. `None` when there is no such person.
    pub async fn person_record(&self, user_id: Uuid) -> Result<Option<UserView>, EngineError> {
        Ok(verity_projection::load_person(self.store.as_ref(), user_id).await?)
    }

    /// Whether the person holds an admin role (instance admin, org admin or auditor):
    /// they give a code at every sign-in, and no device of theirs is trusted in its place.
    pub fn holds_role(&self, user_id: Uuid) -> bool {
        self.projector
            .read(|models| models.roles.holds_any(user_id))
    }

    /// A client, from the read models.
    pub fn client(&self, client_id: &str) -> Option<ClientView> {
        self.projector
            .read(|models| models.clients.get(client_id).cloned())
    }

    /// Appends facts to a stream: records of what happened, which nothing refuses
    /// (expected version `Any`). Returns the position of the last one.
    pub async fn record(&self, stream: String, events: Vec<NewEvent>) -> Result<u64, EngineError> {
        let outcome = self
            .store
            .append(AppendRequest::new(stream, ExpectedVersion::Any, events))
            .await?;
        Ok(outcome.position)
    }

    /// Runs a command on the person's own behalf (the person is the actor) and waits
    /// until the read models show it, so the next read sees it.
    pub async fn act(
        &self,
        context: &RequestContext,
        user_id: Uuid,
        command: UserCommand,
    ) -> Result<(), EngineError> {
        let actor = Actor::User {
            user_id: user_id.to_string(),
            sid: None,
        };
        let outcome = execute::<User>(
            self.store.as_ref(),
            &user::stream(user_id),
            &command,
            &context.domain(actor),
        )
        .await?;
        self.wait_for(outcome.position).await
    }

    /// Waits until the read models have folded `position`.
    pub async fn wait_for(&self, position: u64) -> Result<(), EngineError> {
        Ok(self.projector.wait_for(position, READ_YOUR_WRITES).await?)
    }
}
