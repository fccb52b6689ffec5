//! Grants: what a client may do on someone's behalf, and the codes and tokens that carry
//! it (docs/oidc.md). Issuing and redeeming codes (a reused code revokes what it issued),
//! rotating refresh tokens (a reused one revokes its grant), narrowing scopes,
//! authenticating clients, minting tokens, and checking, introspecting and revoking them.
//! Every rule here is the engine's; the token endpoint extracts, calls and answers.

mod access;
mod client;
mod code;
mod refresh;
mod tokens;

pub use access::{
    AccessTokenProblem, Introspection, introspect, revoke_token, userinfo, validate_access_token,
};
pub use client::authenticate_client;
pub use code::{issue_code, redeem_code};
pub use refresh::{narrow_scope, refresh};
pub use tokens::{TokenResponse, client_credentials, profile_claims};

use serde::{Deserialize, Serialize};
use verity_domain::DomainEvent;
use verity_domain::grant::{self, GrantEvent, GrantRevocationReason, GrantRevoked};

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::OAuthError;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::tokens::Authentication;
use crate::state::{self, kind};

/// What a token request gets instead of tokens.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The client did not authenticate (401 `invalid_client`, RFC 6749 5.2).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// The request was refused (400 with the error).
    #[error("{}: {}", .0.error, .0.error_description)]
    Refused(OAuthError),
    /// The engine failed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

impl From<verity_domain::StoreError> for GrantError {
    fn from(error: verity_domain::StoreError) -> Self {
        Self::Failed(error.into())
    }
}

fn invalid_grant(description: &str) -> GrantError {
    GrantError::Refused(OAuthError::invalid_grant(description))
}

/// What an authorization code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeRecord {
    request: AuthorizationRequest,
    authentication: Authentication,
}

/// A grant: what a client may keep doing on someone's behalf through refresh tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GrantRecord {
    client_id: String,
    scope: String,
    authentication: Authentication,
}

/// A refresh token's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshRecord {
    grant_id: String,
}

/// The live grant `grant_id`, if it is one.
async fn live_grant(
    engine: &Engine,
    context: &RequestContext,
    grant_id: &str,
) -> Result<Option<GrantRecord>, EngineError> {
    match engine
        .expiring
        .get(kind::GRANT, grant_id, context.now)
        .await?
    {
        Some(bytes) => Ok(Some(state::decode(&bytes)?)),
        None => Ok(None),
    }
}

/// The refresh token's entry and its live grant, if both are live.
async fn refresh_grant(
    engine: &Engine,
    context: &RequestContext,
    digest: &str,
) -> Result<Option<(RefreshRecord, GrantRecord)>, EngineError> {
    let Some(bytes) = engine
        .expiring
        .get(kind::REFRESH, digest, context.now)
        .await?
    else {
        return Ok(None);
    };
    let record: RefreshRecord = state::decode(&bytes)?;
    let grant = live_grant(engine, context, &record.grant_id).await?;
    Ok(grant.map(|grant| (record, grant)))
}

/// Revokes a grant: it and everything issued under it stop working; recorded as
/// `grant.revoked` (Verity itself as actor).
pub async fn revoke_grant(
    engine: &Engine,
    context: &RequestContext,
    grant_id: &str,
    reason: GrantRevocationReason,
) -> Result<(), EngineError> {
    let Some(bytes) = engine
        .expiring
        .take(kind::GRANT, grant_id, context.now)
        .await?
    else {
        return Ok(());
    };
    let record: GrantRecord = state::decode(&bytes)?;
    tracing::warn!(grant_id, client_id = %record.client_id, ?reason, "grant revoked");
    let revoked = GrantEvent::Revoked(GrantRevoked {
        grant_id: grant_id.to_owned(),
        client_id: record.client_id,
        user_id: Some(record.authentication.user_id),
        reason,
    });
    let metadata = context.metadata(verity_domain::Actor::System);
    engine
        .record(
            grant::stream(grant_id),
            vec![revoked.to_new_event(metadata)],
        )
        .await
}
