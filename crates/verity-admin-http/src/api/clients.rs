//! OAuth clients: list, read, register (the secret shown once), rotate the secret,
//! delete. Org admins see and register only their organization's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use verity_admin::OrgRef;
use verity_admin::clients::{ClientDetails, NewClient};
use verity_domain::client::{self, TokenEndpointAuthMethod};
use verity_domain::key::SigningAlgorithm;

use super::extract::{Body, Caller, Segments};
use super::problem::ApiError;
use super::reply::{created, referenced};
use crate::state::AdminState;

/// Whether the client can keep a secret (RFC 6749 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientType {
    /// A server-side application that authenticates at the token endpoint.
    Confidential,
    /// A browser or native application: no secret, PKCE always.
    Public,
}

/// An OAuth grant the client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GrantType {
    /// The authorization code flow.
    AuthorizationCode,
    /// Refresh tokens (with the authorization code flow).
    RefreshToken,
    /// The client acting on its own behalf (confidential clients).
    ClientCredentials,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthMethod {
    /// The secret in an HTTP Basic header.
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
    /// A JWT signed with a key of its JWK Set.
    PrivateKeyJwt,
    /// None (public clients).
    None,
}

/// The algorithm of the client's ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// EdDSA on Ed25519.
    EdDSA,
}

/// A client as admins see it: every setting, whether it has a secret, never the secret
/// or its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Client {
    /// Its id.
    pub(crate) client_id: String,
    /// Its display name.
    pub(crate) name: String,
    /// Confidential or public.
    pub(crate) client_type: ClientType,
    /// Where authorization responses may go (exact match).
    pub(crate) redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Its grants.
    pub(crate) grant_types: Vec<GrantType>,
    /// How it authenticates at the token endpoint.
    pub(crate) token_endpoint_auth_method: AuthMethod,
    /// The algorithm of its ID tokens.
    pub(crate) id_token_signed_response_alg: IdTokenAlg,
    /// The scopes it may ask for (`verity:admin`: it may ask for admin API tokens).
    pub(crate) scopes: Vec<String>,
    /// Whether its authorization requests must carry PKCE.
    pub(crate) require_pkce: bool,
    /// Its public keys (a JWK Set), for `private_key_jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) jwks: Option<serde_json::Value>,
    /// Where logout notices are posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// The organization it belongs to (absent: the instance; every organization's people
    /// may sign in to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) org_id: Option<Uuid>,
    /// Whether it has a secret.
    pub(crate) has_secret: bool,
    /// When its secret was last replaced, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret_rotated_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub(crate) created_at: DateTime<Utc>,
    /// When it last changed.
    pub(crate) updated_at: DateTime<Utc>,
}

impl From<ClientDetails> for Client {
    fn from(details: ClientDetails) -> Self {
        let settings = details.settings;
        Self {
            client_id: details.client_id,
            name: settings.name,
            client_type: match details.client_type {
                client::ClientType::Confidential => ClientType::Confidential,
                client::ClientType::Public => ClientType::Public,
            },
            redirect_uris: settings.redirect_uris,
            post_logout_redirect_uris: settings.post_logout_redirect_uris,
            grant_types: settings
                .grant_types
                .into_iter()
                .map(GrantType::from)
                .collect(),
            token_endpoint_auth_method: settings.token_endpoint_auth_method.into(),
            id_token_signed_response_alg: match settings.id_token_signed_response_alg {
                SigningAlgorithm::RS256 => IdTokenAlg::RS256,
                SigningAlgorithm::ES256 => IdTokenAlg::ES256,
                SigningAlgorithm::EdDSA => IdTokenAlg::EdDSA,
            },
            scopes: settings.scopes,
            require_pkce: settings.require_pkce,
            jwks: settings.jwks,
            backchannel_logout_uri: settings.backchannel_logout_uri,
            org_id: settings.org_id,
            has_secret: details.has_secret,
            secret_rotated_at: details.secret_rotated_at,
            created_at: details.created_at,
            updated_at: details.updated_at,
        }
    }
}

impl From<client::GrantType> for GrantType {
    fn from(grant: client::GrantType) -> Self {
        match grant {
            client::GrantType::AuthorizationCode => Self::AuthorizationCode,
            client::GrantType::RefreshToken => Self::RefreshToken,
            client::GrantType::ClientCredentials => Self::ClientCredentials,
        }
    }
}

impl From<GrantType> for client::GrantType {
    fn from(grant: GrantType) -> Self {
        match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode,
            GrantType::RefreshToken => Self::RefreshToken,
            GrantType::ClientCredentials => Self::ClientCredentials,
        }
    }
}

impl From<TokenEndpointAuthMethod> for AuthMethod {
    fn from(method: TokenEndpointAuthMethod) -> Self {
        match method {
            TokenEndpointAuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            TokenEndpointAuthMethod::ClientSecretPost => Self::ClientSecretPost,
            TokenEndpointAuthMethod::PrivateKeyJwt => Self::PrivateKeyJwt,
            TokenEndpointAuthMethod::None => Self::None,
        }
    }
}

impl From<AuthMethod> for TokenEndpointAuthMethod {
    fn from(method: AuthMethod) -> Self {
        match method {
            AuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            AuthMethod::ClientSecretPost => Self::ClientSecretPost,
            AuthMethod::PrivateKeyJwt => Self::PrivateKeyJwt,
            AuthMethod::None => Self::None,
        }
    }
}

/// The clients the caller may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Clients {
    /// By client id.
    pub(crate) clients: Vec<Client>,
}

/// A client to register. Omitted lists and values take the defaults.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClientBody {
    /// Display name, shown to people signing in.
    pub(crate) name: String,
    /// Confidential (default) or public.
    #[serde(default)]
    pub(crate) client_type: Option<ClientType>,
    /// Where authorization responses may go (exact match; https, or http for loopback).
    #[serde(default)]
    pub(crate) redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    #[serde(default)]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Its grants (default: authorization_code and refresh_token).
    #[serde(default)]
    pub(crate) grant_types: Vec<GrantType>,
    /// How it authenticates (default: client_secret_basic for a confidential client, none
    /// for a public one).
    #[serde(default)]
    pub(crate) token_endpoint_auth_method: Option<AuthMethod>,
    /// The algorithm of its ID tokens (default: RS256).
    #[serde(default)]
    pub(crate) id_token_signed_response_alg: Option<IdTokenAlg>,
    /// The scopes it may ask for (default: openid profile email; openid always). Add
    /// `verity:admin` for a client that calls this API.
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    /// Whether its authorization requests must carry PKCE (default: true; only a
    /// confidential client may opt out).
    #[serde(default)]
    pub(crate) require_pkce: Option<bool>,
    /// Its public keys (a JWK Set), for `private_key_jwt`.
    #[serde(default)]
    pub(crate) jwks: Option<serde_json::Value>,
    /// Where logout notices are posted when a session it signed in to ends.
    #[serde(default)]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// The organization it belongs to, by id or name (default: the instance).
    #[serde(default)]
    pub(crate) org: Option<String>,
}

/// A client and its secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ClientWithSecret {
    /// The client.
    pub(crate) client: Client,
    /// Its secret (absent for a client that authenticates without one). Verity keeps only
    /// its hash: it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
}

/// A client's new secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RotatedSecret {
    /// The client's id.
    pub(crate) client_id: String,
    /// The new secret; the old one no longer works.
    pub(crate) client_secret: String,
}

/// Every client the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    responses((status = 200, description = "The clients", body = Clients))
)]
pub(crate) async fn list_clients(State(state): State<AdminState>, caller: Caller) -> Json<Clients> {
    let clients = state.admin.clients(&caller.actor);
    Json(Clients {
        clients: clients.into_iter().map(Client::from).collect(),
    })
}

/// One client.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{client_id}",
    tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The client", body = Client))
)]
pub(crate) async fn get_client(
    State(state): State<AdminState>,
    caller: Caller,
    Segments(client_id): Segments<String>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(state.admin.client(&caller.actor, &client_id)?.into()))
}

/// Registers a client; its secret, when it has one, is in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    tag = "clients",
    request_body = NewClientBody,
    responses((status = 201, description = "Registered", body = ClientWithSecret,
        headers(("Location" = String, description = "The client's URL"))))
)]
pub(crate) async fn create_client(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<NewClientBody>,
) -> Result<Response, ApiError> {
    let org_id = match &body.org {
        Some(org) => Some(
            state
                .admin
                .organization(&caller.actor, &OrgRef::parse(org))
                .map_err(referenced)?
                .org_id,
        ),
        None => None,
    };
    let new = NewClient {
        name: body.name,
        client_type: match body.client_type.unwrap_or(ClientType::Confidential) {
            ClientType::Confidential => client::ClientType::Confidential,
            ClientType::Public => client::ClientType::Public,
        },
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: body.grant_types.into_iter().map(Into::into).collect(),
        auth_method: body.token_endpoint_auth_method.map(Into::into),
        id_token_alg: match body.id_token_signed_response_alg {
            None | Some(IdTokenAlg::RS256) => SigningAlgorithm::RS256,
            Some(IdTokenAlg::ES256) => SigningAlgorithm::ES256,
            Some(IdTokenAlg::EdDSA) => SigningAlgorithm::EdDSA,
        },
        scopes: body.scopes,
        require_pkce: body.require_pkce.unwrap_or(true),
        jwks: body.jwks,
        backchannel_logout_uri: body.backchannel_logout_uri,
        org_id,
    };
    let registered = state
        .admin
        .register_client(&caller.actor, &caller.call, new)
        .await?;
    let location = format!("/api/v1/clients/{}", registered.client.client_id);
    let answer = ClientWithSecret {
        client: registered.client.into(),
        client_secret: registered.secret.map(|secret| secret.expose().to_owned()),
    };
    Ok(created(&location, answer))
}

/// Replaces the client's secret; the new one is in this answer only and the old one stops
/// working at once.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{client_id}/secret",
    tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The new secret", body = RotatedSecret))
)]
pub(crate) async fn rotate_secret(
    State(state): State<AdminState>,
    caller: Caller,
    Segments(client_id): Segments<String>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let secret = state
        .admin
        .rotate_client_secret(&caller.actor, &caller.call, &client_id)
        .await?;
    Ok(Json(RotatedSecret {
        client_id,
        client_secret: secret.expose().to_owned(),
    }))
}

/// Deletes a client: nothing can authenticate as it any more.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{client_id}",
    tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 204, description = "Deleted"))
)]
pub(crate) async fn delete_client(
    State(state): State<AdminState>,
    caller: Caller,
    Segments(client_id): Segments<String>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_client(&caller.actor, &caller.call, &client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
