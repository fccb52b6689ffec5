//! Revoking a grant: it and everything issued under it stop working, and the log says
//! why.

use verity_domain::DomainEvent;
use verity_domain::grant::{self, GrantEvent, GrantRevocationReason, GrantRevoked};

use super::records::GrantRecord;
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::state::{self, kind};

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
