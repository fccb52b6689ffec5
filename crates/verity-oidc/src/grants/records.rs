//! What the expiring store holds for grants: codes, grants and refresh tokens, and how a
//! live grant is found.

use serde::{Deserialize, Serialize};

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::tokens::Authentication;
use crate::state::{self, kind};

/// What an authorization code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CodeRecord {
    pub(super) request: AuthorizationRequest,
    pub(super) authentication: Authentication,
}

/// A grant: what a client may keep doing on someone's behalf through refresh tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct GrantRecord {
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) authentication: Authentication,
}

/// A refresh token's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RefreshRecord {
    pub(super) grant_id: String,
}

/// The live grant `grant_id`, if it is one.
pub(super) async fn live_grant(
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
pub(super) async fn refresh_grant(
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
