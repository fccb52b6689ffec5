//! Access tokens after they were issued: validated for userinfo (signature, issuer,
//! expiry, not revoked, its grant live), introspected for clients (RFC 7662), and
//! revoked with refresh tokens (RFC 7009).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use verity_domain::grant::GrantRevocationReason;
use verity_domain::token::{self, AccessTokenRevoked, TokenEvent};
use verity_domain::{Actor, DomainEvent};
use verity_projection::ClientView;

use super::error::GrantError;
use super::records::refresh_grant;
use super::revoke::revoke_grant;
use super::tokens::{ACCESS_TOKEN_TYP, profile_claims};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::tokens::{GRANT_CLAIM, token_digest};
use crate::state::kind;

/// Why an access token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AccessTokenProblem {
    /// Bad signature, wrong issuer, expired, revoked: the description says which.
    #[error("{0}")]
    Invalid(&'static str),
    /// The engine failed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

impl From<verity_domain::StoreError> for AccessTokenProblem {
    fn from(error: verity_domain::StoreError) -> Self {
        Self::Failed(error.into())
    }
}

/// Validates an access token: [`verify_access_token`], then not revoked, its grant and
/// session live, its person enabled ([`ended`], from the sessions read model in memory).
/// Returns its claims.
pub async fn validate_access_token(
    engine: &Engine,
    context: &RequestContext,
    token: &str,
) -> Result<Arc<Map<String, Value>>, AccessTokenProblem> {
    let claims = verify_access_token(engine, context, token)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(why) = ended(engine, &claims, jti) {
        return Err(AccessTokenProblem::Invalid(why));
    }
    Ok(claims)
}

/// What the token's bytes say, without the read models: signed by a published key, an
/// access token (`typ: at+jwt`, with a `client_id`, so never an ID token), of our
/// issuer, not expired, with a `jti`. Half of [`validate_access_token`], public so the
/// cost of the other half can be measured (`verity bench access`).
pub fn verify_access_token(
    engine: &Engine,
    context: &RequestContext,
    token: &str,
) -> Result<Arc<Map<String, Value>>, AccessTokenProblem> {
    let ring = engine.key_ring(context.now)?;
    let claims = ring
        .verify_typed(token, ACCESS_TOKEN_TYP)
        .map_err(|_| AccessTokenProblem::Invalid("the token's signature does not verify"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(engine.settings.issuer.as_str()) || text("client_id").is_none() {
        return Err(AccessTokenProblem::Invalid(
            "not an access token of this issuer",
        ));
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= context.now.timestamp())
    {
        return Err(AccessTokenProblem::Invalid("the token has expired"));
    }
    if text("jti").is_none() {
        return Err(AccessTokenProblem::Invalid("the token has no jti"));
    }
    Ok(claims)
}

/// Why an access token that verifies must still be refused, if it must: revoked by its
/// client, its grant revoked, its session ended (alone or with every session of its
/// person), or its person disabled. Read from memory, O(1).
fn ended(engine: &Engine, claims: &Map<String, Value>, jti: &str) -> Option<&'static str> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    engine.projector.read(|models| {
        let sessions = &models.sessions;
        if sessions.token_revoked(jti) {
            return Some("the token was revoked");
        }
        if text(GRANT_CLAIM).is_some_and(|grant_id| sessions.grant_revoked(grant_id)) {
            return Some("the token's grant was revoked");
        }
        // A person's token: its session and its person.
        let (Some(sid), Some(user_id)) = (text("sid"), text("sub")) else {
            return None;
        };
        let Ok(user_id) = Uuid::parse_str(user_id) else {
            return Some("the token's subject is not a person");
        };
        let auth_time = claims.get("auth_time").and_then(Value::as_i64).unwrap_or(0);
        if sessions.has_ended(sid, user_id, auth_time) {
            return Some("the token's session has ended");
        }
        if models
            .users
            .get(user_id)
            .is_none_or(|person| person.disabled)
        {
            return Some("the token's person is disabled");
        }
        None
    })
}

/// The UserInfo answer (OIDC Core 5.3) for an access token: `sub` and the claims its
/// scopes release.
pub async fn userinfo(
    engine: &Engine,
    context: &RequestContext,
    token: &str,
) -> Result<Map<String, Value>, AccessTokenProblem> {
    let claims = validate_access_token(engine, context, token).await?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let scope = text("scope");
    if !scope.split(' ').any(|scope| scope == "openid") {
        return Err(AccessTokenProblem::Invalid(
            "the token was not issued for OpenID Connect (no openid scope)",
        ));
    }
    let subject = text("sub");
    let mut answer = Map::new();
    answer.insert("sub".into(), Value::String(subject.to_owned()));
    answer.extend(profile_claims(engine, subject, scope));
    Ok(answer)
}

/// An introspection answer (RFC 7662 2.2). Inactive tokens say nothing else.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// The token's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Value>,
    /// The client it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Value>,
    /// Its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<Value>,
    /// Its expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<Value>,
    /// When it was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<Value>,
    /// Its issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<Value>,
    /// Its audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Value>,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<Value>,
    /// The session it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Value>,
}

impl Introspection {
    fn inactive() -> Self {
        Self::default()
    }

    fn of_access_token(claims: &Map<String, Value>) -> Self {
        let claim = |name: &str| claims.get(name).cloned();
        Self {
            active: true,
            token_type: Some("Bearer"),
            scope: claim("scope"),
            client_id: claim("client_id"),
            sub: claim("sub"),
            exp: claim("exp"),
            iat: claim("iat"),
            iss: claim("iss"),
            aud: claim("aud"),
            jti: claim("jti"),
            sid: claim("sid"),
        }
    }
}

/// Introspects a token for the client that asks (RFC 7662), which must be confidential:
/// a public client proves nothing by naming itself, so its request is `invalid_client`.
/// The answer is about the caller's own tokens only — an access token issued to it
/// (`client_id`) or whose audience names it, a refresh token of one of its grants;
/// anything else is inactive, exactly as an unknown token, so a client learns nothing
/// about another client's tokens (RFC 7662 4, RFC 9701 considerations).
pub async fn introspect(
    engine: &Engine,
    context: &RequestContext,
    caller: &ClientView,
    token: &str,
) -> Result<Introspection, GrantError> {
    if caller.is_public() {
        return Err(GrantError::InvalidClient(
            "only confidential clients may introspect tokens".into(),
        ));
    }
    let caller_id = caller.client_id.as_str();
    match validate_access_token(engine, context, token).await {
        Ok(claims) if concerns(&claims, caller_id) => Ok(Introspection::of_access_token(&claims)),
        Ok(_) => Ok(Introspection::inactive()),
        Err(AccessTokenProblem::Failed(error)) => Err(error.into()),
        Err(AccessTokenProblem::Invalid(_)) => {
            let Some((_, grant)) = refresh_grant(engine, context, &token_digest(token)).await?
            else {
                return Ok(Introspection::inactive());
            };
            if grant.client_id != caller_id {
                return Ok(Introspection::inactive());
            }
            Ok(Introspection {
                active: true,
                token_type: Some("refresh_token"),
                scope: Some(Value::String(grant.scope)),
                client_id: Some(Value::String(grant.client_id)),
                sub: Some(Value::String(grant.authentication.user_id)),
                iss: Some(Value::String(engine.settings.issuer.clone())),
                ..Introspection::default()
            })
        }
    }
}

/// Whether an access token concerns `client_id`: issued to it, or naming it among its
/// audiences.
fn concerns(claims: &Map<String, Value>, client_id: &str) -> bool {
    let issued_to = claims.get("client_id").and_then(Value::as_str) == Some(client_id);
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(list)) => list.iter().any(|aud| aud.as_str() == Some(client_id)),
        _ => false,
    };
    issued_to || audience
}

/// Revokes a token for the client it was issued to (RFC 7009): a refresh token with its
/// whole grant, an access token by its `jti` until it expires. Anything else — unknown,
/// another client's — changes nothing, and the answer is the same.
pub async fn revoke_token(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    token: &str,
) -> Result<(), EngineError> {
    let now = context.now;
    let digest = token_digest(token);
    if let Some((record, grant)) = refresh_grant(engine, context, &digest).await? {
        if grant.client_id == client.client_id {
            engine.expiring.remove(kind::REFRESH, &digest).await?;
            revoke_grant(
                engine,
                context,
                &record.grant_id,
                GrantRevocationReason::Revoked,
            )
            .await?;
        }
        return Ok(());
    }
    if let Ok(claims) = validate_access_token(engine, context, token).await {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("client_id") == Some(client.client_id.as_str())
            && let (Some(jti), Some(exp)) = (text("jti"), claims.get("exp").and_then(Value::as_i64))
        {
            let until = chrono::DateTime::from_timestamp(exp, 0).unwrap_or(now);
            let revoked = TokenEvent::Revoked(AccessTokenRevoked {
                jti: jti.to_owned(),
                client_id: client.client_id.clone(),
                expires_at: until,
            });
            let metadata = context.metadata(Actor::Client {
                client_id: client.client_id.clone(),
            });
            let position = engine
                .record(token::stream(jti), vec![revoked.to_new_event(metadata)])
                .await?;
            engine.wait_for(position).await?;
        }
    }
    Ok(())
}
