//! Minting tokens: RFC 9068 access tokens (signed with the configured algorithm), ID
//! tokens (with the client's algorithm, `at_hash` and the claims the scopes release),
//! refresh tokens (opaque, stored by digest); and the `client_credentials` grant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use verity_domain::NewEntry;
use verity_domain::client::GrantType;
use verity_projection::ClientView;

use super::error::GrantError;
use super::records::{GrantRecord, RefreshRecord};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::OAuthError;
use crate::protocol::tokens::{AccessTokenClaims, IdTokenClaims, token_digest};
use crate::random;
use crate::state::{self, kind};

/// The typ of RFC 9068 access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// A successful token response (RFC 6749 5.1, OIDC Core 3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The access token (a signed JWT).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The access token's lifetime in seconds.
    pub expires_in: i64,
    /// The granted scopes.
    pub scope: String,
    /// The ID token, for OpenID Connect requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token, when the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// What to issue for a grant.
pub(super) struct Issue<'a> {
    pub(super) grant: &'a GrantRecord,
    pub(super) grant_id: &'a str,
    /// A refresh token already stored ([`NewRefresh`]), to hand out with the others.
    pub(super) refresh_token: Option<String>,
    pub(super) nonce: Option<&'a str>,
    pub(super) with_id_token: bool,
}

/// Refuses a grant type the client is not registered for.
pub(super) fn require_grant(client: &ClientView, grant: GrantType) -> Result<(), GrantError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(GrantError::Refused(OAuthError::unauthorized_client(
            format!("this client may not use {}", grant.as_str()),
        )))
    }
}

/// Access token, ID token and (when asked) a refresh token for a person's grant.
pub(super) async fn for_person(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    issue: Issue<'_>,
) -> Result<TokenResponse, EngineError> {
    let ring = engine.key_ring(context.now)?;
    let settings = &engine.settings;
    let now = context.now.timestamp();
    let grant = issue.grant;
    let jti = random::uuid().to_string();
    let access_claims = AccessTokenClaims {
        issuer: &settings.issuer,
        subject: &grant.authentication.user_id,
        client_id: &client.client_id,
        scope: &grant.scope,
        jti: &jti,
        grant_id: Some(issue.grant_id),
        authentication: Some(&grant.authentication),
        now,
        lifetime: settings.access_token_lifetime.num_seconds(),
    };
    let access_token = ring.sign(
        settings.access_token_alg,
        Some(ACCESS_TOKEN_TYP),
        &access_claims.to_claims(),
    )?;
    let id_token = if issue.with_id_token {
        let alg = client.settings.id_token_signed_response_alg;
        let id_claims = IdTokenClaims {
            issuer: &settings.issuer,
            client_id: &client.client_id,
            authentication: &grant.authentication,
            nonce: issue.nonce,
            access_token: Some(&access_token),
            alg,
            now,
            lifetime: settings.id_token_lifetime.num_seconds(),
            profile: profile_claims(engine, &grant.authentication.user_id, &grant.scope),
        };
        Some(ring.sign(alg, Some("JWT"), &id_claims.to_claims())?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_lifetime.num_seconds(),
        scope: grant.scope.clone(),
        id_token,
        refresh_token: issue.refresh_token,
    })
}

/// A new refresh token of a grant, with what is stored for it (under the token's
/// digest): the caller stores [`NewRefresh::entry`], together with whatever else it
/// writes, before the token is handed out.
pub(super) struct NewRefresh {
    pub(super) token: String,
    digest: String,
    record: Vec<u8>,
    expires_at: DateTime<Utc>,
}

impl NewRefresh {
    /// A fresh token for `grant_id`, living `[tokens] refresh_token_lifetime` from now.
    pub(super) fn mint(
        engine: &Engine,
        context: &RequestContext,
        grant_id: &str,
    ) -> Result<Self, EngineError> {
        let token = random::token();
        let record = RefreshRecord {
            grant_id: grant_id.to_owned(),
        };
        Ok(Self {
            digest: token_digest(&token),
            record: state::encode(&record)?,
            expires_at: context.now + engine.settings.refresh_token_lifetime,
            token,
        })
    }

    /// What the expiring store keeps for it.
    pub(super) fn entry(&self) -> NewEntry<'_> {
        NewEntry {
            kind: kind::REFRESH,
            key: &self.digest,
            value: &self.record,
            expires_at: self.expires_at,
        }
    }
}

/// The `client_credentials` grant: an access token for the client itself, with the
/// scopes asked for (each allowed to the client, never `openid`) or all it may use.
pub fn client_credentials(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::ClientCredentials)?;
    if client.is_public() {
        return Err(GrantError::Refused(OAuthError::unauthorized_client(
            "public clients cannot use client_credentials",
        )));
    }
    let scope = match scope {
        Some(requested) => {
            let scopes: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(refused) = scopes
                .iter()
                .find(|scope| **scope == "openid" || !client.allows_scope(scope))
            {
                return Err(GrantError::Refused(OAuthError::invalid_scope(format!(
                    "scope {refused:?} is not allowed for this client"
                ))));
            }
            scopes.join(" ")
        }
        None => client
            .settings
            .scopes
            .iter()
            .filter(|scope| *scope != "openid")
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let settings = &engine.settings;
    let ring = engine.key_ring(context.now)?;
    let jti = random::uuid().to_string();
    let claims = AccessTokenClaims {
        issuer: &settings.issuer,
        subject: &client.client_id,
        client_id: &client.client_id,
        scope: &scope,
        jti: &jti,
        grant_id: None,
        authentication: None,
        now: context.now.timestamp(),
        lifetime: settings.access_token_lifetime.num_seconds(),
    };
    let access_token = ring
        .sign(
            settings.access_token_alg,
            Some(ACCESS_TOKEN_TYP),
            &claims.to_claims(),
        )
        .map_err(EngineError::from)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_lifetime.num_seconds(),
        scope,
        id_token: None,
        refresh_token: None,
    })
}

/// The claims released about a person (ID token and userinfo): always their
/// organization (`org_id`, `org_name`), and what the scopes ask for.
pub fn profile_claims(engine: &Engine, user_id: &str, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    let Ok(user_id) = Uuid::parse_str(user_id) else {
        return claims;
    };
    let scopes: Vec<&str> = scope.split(' ').collect();
    // Only what is released is copied out of the read models (not the whole person,
    // whose view also holds their second factor).
    engine.projector.read(|models| {
        let Some(person) = models.users.profile(user_id) else {
            return;
        };
        claims.insert("org_id".into(), json!(person.org_id));
        if let Some(org) = models.organizations.get(person.org_id) {
            claims.insert("org_name".into(), json!(org.name));
        }
        if scopes.contains(&"profile") {
            claims.insert("name".into(), json!(person.name));
            claims.insert("updated_at".into(), json!(person.updated_at.timestamp()));
        }
        if scopes.contains(&"email") {
            claims.insert("email".into(), json!(person.email));
            // Addresses are set by admins; verification of control comes with the emailed
            // temporary password (the sign-in journey), so none is claimed yet.
            claims.insert("email_verified".into(), json!(false));
        }
    });
    claims
}
