//! OAuth clients (the applications that sign people in through Verity): register, read,
//! rotate the secret, delete. A client's secret is drawn here, handed out once, and only
//! its hash is recorded (ADR 0002).
//!
//! A client belongs to the instance (every organization's people may sign in to it) or
//! to one organization (only its people): grants over that organization reach it.

use chrono::{DateTime, Utc};
use verity_domain::client::{
    self, Client, ClientCommand, ClientError, ClientSettings, ClientType, GrantType,
    SigningAlgorithm, TokenEndpointAuthMethod,
};
use verity_domain::{AppendOutcome, ExecuteError};
use verity_oidc::backchannel::{self, Attempts};
use verity_oidc::client_secret::{generate_client_id, generate_client_secret, hash_client_secret};
use verity_oidc::random::crypto_rng;
use verity_projection::ClientView;

use crate::Secret;
use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::console_client::is_console_client;
use crate::error::{AdminError, Missing};

/// Scopes a client may ask for unless it is registered with others.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// A client to register. Empty lists and `None` take the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    /// Display name, shown to people signing in.
    pub name: String,
    /// Confidential (keeps a secret) or public (browser or native app).
    pub client_type: ClientType,
    /// Where authorization responses may go (exact match).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Its grants (default: authorization_code and refresh_token).
    pub grant_types: Vec<GrantType>,
    /// How it authenticates at the token endpoint (default: client_secret_basic for a
    /// confidential client, none for a public one).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// The algorithm of its ID tokens.
    pub id_token_alg: SigningAlgorithm,
    /// The scopes it may ask for (default: [`DEFAULT_SCOPES`]).
    pub scopes: Vec<String>,
    /// Whether its authorization requests must carry a PKCE challenge: true for every
    /// client unless a legacy confidential one opts out (RFC 9700); a public client
    /// cannot.
    pub require_pkce: bool,
    /// Its public keys (a JWK Set), for private_key_jwt.
    pub jwks: Option<serde_json::Value>,
    /// Where logout notices are posted when a session it signed in to ends.
    pub backchannel_logout_uri: Option<String>,
    /// The organization it belongs to (only its people may sign in); none: the
    /// instance.
    pub org_id: Option<uuid::Uuid>,
}

/// A client as admins see it: every setting, whether it has a secret, never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDetails {
    /// Its id.
    pub client_id: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// What an admin chose.
    pub settings: ClientSettings,
    /// Whether it has a secret.
    pub has_secret: bool,
    /// When its secret was last replaced, if ever.
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&ClientView> for ClientDetails {
    fn from(view: &ClientView) -> Self {
        Self {
            client_id: view.client_id.clone(),
            client_type: view.client_type,
            settings: view.settings.clone(),
            has_secret: view.secret_hash.is_some(),
            secret_rotated_at: view.secret_rotated_at,
            created_at: view.created_at,
            updated_at: view.updated_at,
        }
    }
}

/// How a client's back-channel logout notices go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliveries {
    /// Notices still to deliver.
    pub pending: usize,
    /// When one was last delivered.
    pub last_success: Option<DateTime<Utc>>,
    /// When one last failed, and why.
    pub last_failure: Option<(DateTime<Utc>, String)>,
}

/// A registered client, and its secret when it has one: shown this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    /// The client.
    pub client: ClientDetails,
    /// Its secret, when its authentication method uses one.
    pub secret: Option<Secret>,
}

/// The scope a client lives in: its organization, or the instance.
fn scope(client: &ClientView) -> Scope {
    client
        .settings
        .org_id
        .map_or(Scope::Instance, Scope::Organization)
}

impl Admin {
    /// Registers a client with a fresh id and, when its authentication method uses one, a
    /// fresh secret.
    pub async fn register_client(
        &self,
        actor: &Actor,
        call: &Call,
        new: NewClient,
    ) -> Result<RegisteredClient, AdminError> {
        let owner = new.org_id.map_or(Scope::Instance, Scope::Organization);
        authorize(actor, Permission::ManageClients, owner)?;
        if let Some(org_id) = new.org_id
            && self.read(|models| models.organizations.get(org_id).is_none())
        {
            return Err(AdminError::NotFound(Missing::Organization(
                org_id.to_string(),
            )));
        }
        if new.client_type == ClientType::Public && !new.require_pkce {
            return Err(AdminError::Invalid(
                "a public client always requires PKCE; only a confidential client may opt out"
                    .into(),
            ));
        }
        let method = new.auth_method.unwrap_or(match new.client_type {
            ClientType::Confidential => TokenEndpointAuthMethod::ClientSecretBasic,
            ClientType::Public => TokenEndpointAuthMethod::None,
        });
        let grant_types = if new.grant_types.is_empty() {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            new.grant_types
        };
        let scopes = if new.scopes.is_empty() {
            DEFAULT_SCOPES.map(String::from).to_vec()
        } else {
            new.scopes
        };
        // The thread's generator is not `Send`: it must not live across an await, or no
        // door could run this on a multi-threaded runtime.
        let (client_id, secret) = {
            let mut rng = crypto_rng();
            let client_id = generate_client_id(&mut rng);
            let secret = method
                .uses_secret()
                .then(|| generate_client_secret(&mut rng));
            (client_id, secret)
        };
        let command = ClientCommand::Register {
            client_id: client_id.clone(),
            client_type: new.client_type,
            settings: ClientSettings {
                name: new.name,
                redirect_uris: new.redirect_uris,
                post_logout_redirect_uris: new.post_logout_redirect_uris,
                grant_types,
                token_endpoint_auth_method: method,
                id_token_signed_response_alg: new.id_token_alg,
                scopes,
                require_pkce: new.require_pkce,
                jwks: new.jwks,
                backchannel_logout_uri: new.backchannel_logout_uri,
                org_id: new.org_id,
            },
            secret_hash: secret.as_deref().map(hash_client_secret),
        };
        let outcome = self
            .decide_client(actor, call, &client_id, &command)
            .await?;
        self.wait_for(outcome.position).await?;
        Ok(RegisteredClient {
            client: self.client(actor, &client_id)?,
            secret: secret.map(Secret),
        })
    }

    /// Every client the actor may see.
    pub fn clients(&self, actor: &Actor) -> Vec<ClientDetails> {
        self.read(|models| {
            models
                .clients
                .list()
                .into_iter()
                .filter(|view| actor.may(Permission::ReadClients, scope(view)))
                .map(ClientDetails::from)
                .collect()
        })
    }

    /// One client, if the actor may see it; else "not found".
    pub fn client(&self, actor: &Actor, client_id: &str) -> Result<ClientDetails, AdminError> {
        self.read(|models| {
            models
                .clients
                .get(client_id)
                .filter(|view| actor.may(Permission::ReadClients, scope(view)))
                .map(ClientDetails::from)
        })
        .ok_or_else(|| not_found(client_id))
    }

    /// How the client's back-channel logout notices go: the ones still to deliver, the
    /// last delivered, and the last failure (a notice given up, or an attempt that will be
    /// retried) with why.
    pub async fn client_deliveries(
        &self,
        actor: &Actor,
        call: &Call,
        client_id: &str,
    ) -> Result<Deliveries, AdminError> {
        self.client(actor, client_id)?;
        let (pending, status) = self.read(|models| {
            let pending: Vec<String> = models
                .outbox
                .pending()
                .filter(|notice| notice.client_id == client_id)
                .map(|notice| notice.id.clone())
                .collect();
            (pending, models.outbox.status(client_id).cloned())
        });
        let keys: Vec<(&str, &str)> = pending
            .iter()
            .map(|id| (backchannel::kind::ATTEMPTS, id.as_str()))
            .collect();
        let entries = self.ports.expiring.get_many(&keys, call.now).await?;
        let retried = entries
            .into_iter()
            .flatten()
            .filter_map(|entry| serde_json::from_slice::<Attempts>(&entry.value).ok())
            .filter_map(|attempts| attempts.last_failure);
        let status = status.unwrap_or_default();
        let last_failure = status
            .last_failure
            .into_iter()
            .chain(retried)
            .max_by_key(|(at, _)| *at);
        Ok(Deliveries {
            pending: pending.len(),
            last_success: status.last_success,
            last_failure,
        })
    }

    /// Replaces a client's secret with a fresh one, shown this once; the old one stops
    /// working at once.
    pub async fn rotate_client_secret(
        &self,
        actor: &Actor,
        call: &Call,
        client_id: &str,
    ) -> Result<Secret, AdminError> {
        self.client_to_manage(actor, client_id)?;
        let secret = generate_client_secret(&mut crypto_rng());
        let command = ClientCommand::RotateSecret {
            secret_hash: hash_client_secret(&secret),
        };
        let outcome = self.decide_client(actor, call, client_id, &command).await?;
        self.wait_for(outcome.position).await?;
        Ok(Secret(secret))
    }

    /// Deletes a client: nothing can authenticate as it any more.
    pub async fn delete_client(
        &self,
        actor: &Actor,
        call: &Call,
        client_id: &str,
    ) -> Result<(), AdminError> {
        self.client_to_manage(actor, client_id)?;
        let outcome = self
            .decide_client(actor, call, client_id, &ClientCommand::Delete)
            .await?;
        self.wait_for(outcome.position).await
    }

    /// Refused unless the actor may manage the client. A deleted client is gone from the
    /// read models but not from its stream: the instance scope decides it, and the
    /// domain answers that it is deleted.
    fn client_to_manage(&self, actor: &Actor, client_id: &str) -> Result<(), AdminError> {
        let target = self
            .read(|models| models.clients.get(client_id).map(scope))
            .unwrap_or(Scope::Instance);
        if !actor.may(Permission::ReadClients, target) {
            return Err(not_found(client_id));
        }
        authorize(actor, Permission::ManageClients, target)?;
        if is_console_client(client_id) {
            return Err(AdminError::Conflict(format!(
                "client {client_id:?} is the admin console's own: Verity manages it"
            )));
        }
        Ok(())
    }

    /// Runs a command on the client's stream; refusals name the client.
    async fn decide_client(
        &self,
        actor: &Actor,
        call: &Call,
        client_id: &str,
        command: &ClientCommand,
    ) -> Result<AppendOutcome, AdminError> {
        self.decide::<Client>(actor, call, &client::stream(client_id), command)
            .await
            .map_err(|error| match error {
                ExecuteError::Rejected(ClientError::NotFound) => not_found(client_id),
                ExecuteError::Rejected(ClientError::Deleted | ClientError::AlreadyDeleted) => {
                    AdminError::Conflict(format!("client {client_id:?} is deleted"))
                }
                other => other.into(),
            })
    }
}

fn not_found(client_id: &str) -> AdminError {
    AdminError::NotFound(Missing::Client(client_id.to_owned()))
}
