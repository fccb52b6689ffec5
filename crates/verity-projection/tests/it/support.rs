//! A fresh store per test, typed helpers that go through the domain's command handler,
//! and a tiny counting projection.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use uuid::Uuid;
use verity_domain::client::{
    Client, ClientCommand, ClientSettings, ClientType, GrantType, SigningAlgorithm,
    TokenEndpointAuthMethod,
};
use verity_domain::organization::{Organization, OrganizationCommand};
use verity_domain::user::{User, UserCommand};
use verity_domain::{
    Actor, AppendRequest, Context, DecodeError, Email, EventStore, ExpectedVersion, NewEvent,
    RecordedEvent, SnapshotStore, execute,
};
use verity_projection::Projection;
use verity_store::{SqliteStore, Store};

/// Long enough for a slow CI machine, short enough to fail a hung test quickly.
pub const WAIT: Duration = Duration::from_secs(10);

/// A placeholder that has the form of an Argon2id PHC hash, which is all the domain checks.
pub const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

/// A client secret's hash as the domain stores it (`sha256:` and 64 hex digits).
pub const SECRET_HASH: &str =
    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// The one context every test command runs in.
pub fn context() -> Context {
    Context {
        now: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        actor: Actor::System,
        request_id: None,
        client_ip: None,
    }
}

/// A fresh SQLite log in a temporary directory.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    dir: TempDir,
}

impl TestStore {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("verity.db"))
            .await
            .unwrap();
        Self {
            store: Arc::new(store),
            dir,
        }
    }

    /// A second handle on the same file, as another Verity node would have.
    pub async fn other_node(&self) -> Arc<dyn Store> {
        Arc::new(
            SqliteStore::open(&self.dir.path().join("verity.db"))
                .await
                .unwrap(),
        )
    }

    pub fn events(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }

    pub fn snapshots(&self) -> Arc<dyn SnapshotStore> {
        self.store.clone()
    }

    pub async fn head(&self) -> u64 {
        self.store.head().await.unwrap()
    }

    /// Creates an organization; returns its id and the position of `org.created`.
    pub async fn create_org(&self, name: &str) -> (Uuid, u64) {
        create_org(self.store.as_ref(), name).await
    }

    /// Creates a user; returns their id and the position of `user.created`.
    pub async fn create_user(&self, org_id: Uuid, email: &str) -> (Uuid, u64) {
        create_user(self.store.as_ref(), org_id, email).await
    }

    /// Registers a confidential web client with a secret; returns the position of
    /// `client.registered`.
    pub async fn register_client(&self, client_id: &str) -> u64 {
        let command = ClientCommand::Register {
            client_id: client_id.into(),
            client_type: ClientType::Confidential,
            settings: ClientSettings {
                name: format!("Client {client_id}"),
                redirect_uris: vec![format!("https://{client_id}.example.org/callback")],
                post_logout_redirect_uris: Vec::new(),
                grant_types: vec![GrantType::AuthorizationCode],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                id_token_signed_response_alg: SigningAlgorithm::RS256,
                scopes: vec!["openid".into()],
                require_pkce: false,
                jwks: None,
                backchannel_logout_uri: None,
                org_id: None,
            },
            secret_hash: Some(SECRET_HASH.into()),
        };
        execute::<Client>(
            self.store.as_ref(),
            &verity_domain::client::stream(client_id),
            &command,
            &context(),
        )
        .await
        .unwrap()
        .position
    }

    /// Appends an event the domain does not write (yet), or a broken one.
    pub async fn append_raw(&self, stream: &str, event_type: &str, data: &str) -> u64 {
        let event = NewEvent {
            event_type: event_type.into(),
            schema: 1,
            data: data.into(),
            metadata: context().metadata(),
        };
        self.store
            .append(AppendRequest::new(
                stream,
                ExpectedVersion::Any,
                vec![event],
            ))
            .await
            .unwrap()
            .position
    }
}

pub async fn create_org(store: &dyn EventStore, name: &str) -> (Uuid, u64) {
    let org_id = Uuid::new_v4();
    let command = OrganizationCommand::Create {
        org_id,
        name: name.into(),
    };
    let outcome = execute::<Organization>(
        store,
        &verity_domain::organization::stream(org_id),
        &command,
        &context(),
    )
    .await
    .unwrap();
    (org_id, outcome.position)
}

pub async fn create_user(store: &dyn EventStore, org_id: Uuid, email: &str) -> (Uuid, u64) {
    let user_id = Uuid::new_v4();
    let outcome = execute::<User>(
        store,
        &verity_domain::user::stream(user_id),
        &create_user_command(user_id, org_id, email),
        &context(),
    )
    .await
    .unwrap();
    (user_id, outcome.position)
}

pub fn create_user_command(user_id: Uuid, org_id: Uuid, email: &str) -> UserCommand {
    UserCommand::Create {
        user_id,
        org_id,
        email: Email::parse(email).unwrap(),
        name: format!("Person {email}"),
        temporary_password_hash: HASH.into(),
        temporary_password_expires_at: context().now + chrono::Duration::days(7),
    }
}

/// Counts every event it folds: simple enough to tell exactly which events were read.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub events: u64,
}

impl Projection for Counter {
    const NAME: &'static str = "counter";
    const VERSION: u32 = 1;

    fn apply(&mut self, _event: &RecordedEvent) -> Result<(), DecodeError> {
        self.events += 1;
        Ok(())
    }
}

/// The same projection after a change of its code: same name, next version.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterV2 {
    pub events: u64,
}

impl Projection for CounterV2 {
    const NAME: &'static str = Counter::NAME;
    const VERSION: u32 = 2;

    fn apply(&mut self, _event: &RecordedEvent) -> Result<(), DecodeError> {
        self.events += 1;
        Ok(())
    }
}
