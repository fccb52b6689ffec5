//! Refresh tokens: each is used once and replaced (rotation); a rotated token used again
//! means someone holds a copy, and the whole grant is revoked. A refresh may narrow the
//! scope, never widen it.

use verity_domain::client::GrantType;
use verity_domain::grant::GrantRevocationReason;
use verity_projection::ClientView;

use super::error::{GrantError, invalid_grant};
use super::records::{GrantRecord, RefreshRecord, live_grant};
use super::revoke::revoke_grant;
use super::tokens::{self, NewRefresh, TokenResponse};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::protocol::OAuthError;
use crate::protocol::tokens::token_digest;
use crate::sessions;
use crate::state::{self, kind};

/// Redeems a refresh token (grant type `refresh_token`) for new tokens, with `scope`
/// narrowing what was granted when given.
pub async fn refresh(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    presented: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    tokens::require_grant(client, GrantType::RefreshToken)?;
    let digest = token_digest(presented);
    let now = context.now;
    let Some(bytes) = engine.expiring.take(kind::REFRESH, &digest, now).await? else {
        // A rotated token used again: someone holds a copy. Revoke the whole grant.
        if let Some(grant) = engine
            .expiring
            .get(kind::REFRESH_USED, &digest, now)
            .await?
        {
            let grant_id = String::from_utf8_lossy(&grant).into_owned();
            let reason = GrantRevocationReason::RefreshTokenReused;
            revoke_grant(engine, context, &grant_id, reason).await?;
        }
        return Err(invalid_grant(
            "the refresh token is invalid, expired, rotated or revoked",
        ));
    };
    let record: RefreshRecord = state::decode(&bytes)?;
    let expires_at = now + engine.settings.refresh_token_lifetime;
    engine
        .expiring
        .put(
            kind::REFRESH_USED,
            &digest,
            record.grant_id.as_bytes(),
            expires_at,
        )
        .await?;
    let Some(grant) = live_grant(engine, context, &record.grant_id).await? else {
        return Err(invalid_grant("the grant was revoked"));
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    // A refresh lives with its session: ended, timed out or its person disabled, the
    // grant is over. Using it is activity: the idle timeout starts again.
    let authentication = &grant.authentication;
    let user_id = uuid::Uuid::parse_str(&authentication.user_id).unwrap_or_default();
    let current = engine.projector.read(|models| {
        models.sessions.may_refresh(
            &authentication.sid,
            user_id,
            authentication.auth_time,
            context.now,
        )
    });
    if !current || !sessions::alive(engine, context, authentication).await? {
        revoke_grant(
            engine,
            context,
            &record.grant_id,
            GrantRevocationReason::SessionEnded,
        )
        .await?;
        return Err(invalid_grant("the session of this grant has ended"));
    }
    sessions::touch(engine, context, &authentication.sid).await?;
    let narrowed = match scope {
        None => grant,
        Some(requested) => GrantRecord {
            scope: narrow_scope(&grant.scope, requested)
                .map_err(GrantError::Refused)?
                .to_owned(),
            ..grant
        },
    };
    let with_id_token = narrowed.scope.split(' ').any(|scope| scope == "openid");
    // The next token of the rotation.
    let next = NewRefresh::mint(engine, context, &record.grant_id)?;
    engine.expiring.put_many(&[next.entry()]).await?;
    let issued = tokens::Issue {
        grant: &narrowed,
        grant_id: &record.grant_id,
        refresh_token: Some(next.token),
        nonce: None,
        with_id_token,
    };
    Ok(tokens::for_person(engine, context, client, issued).await?)
}

/// The scope of a refresh that asks for `requested` out of `granted` (both
/// space-separated): `requested` itself when every scope in it was granted.
pub fn narrow_scope<'a>(granted: &str, requested: &'a str) -> Result<&'a str, OAuthError> {
    let granted: Vec<&str> = granted.split(' ').collect();
    let within = requested
        .split(' ')
        .filter(|scope| !scope.is_empty())
        .all(|scope| granted.contains(&scope));
    if within {
        Ok(requested)
    } else {
        Err(OAuthError::invalid_scope(
            "a refresh cannot widen the scope",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_may_narrow_but_never_widen() {
        assert_eq!(narrow_scope("openid email", "openid"), Ok("openid"));
        assert_eq!(
            narrow_scope("openid email", "email openid"),
            Ok("email openid")
        );
        assert_eq!(
            narrow_scope("openid", "openid email").map_err(|error| error.error),
            Err("invalid_scope")
        );
    }
}
