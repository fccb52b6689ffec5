//! Protocol state in the expiring store: SSO sessions, login transactions, codes, grants
//! and refresh tokens; and the sign-in facts appended to the log.

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use verity_domain::DomainEvent;
use verity_domain::grant::{self, GrantEvent, GrantRevocationReason, GrantRevoked};
use verity_domain::session::{self as sessions, SessionEndReason, SessionEnded, SessionEvent};
use verity_domain::signin::Origin;
use verity_domain::{Actor, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use verity_oidc::protocol::authorize::AuthorizationRequest;
use verity_oidc::protocol::tokens::{Authentication, token_digest};

use crate::client_ip::Caller;
use crate::{AppState, HttpError, cookies, runtime};

/// Kinds of entries in the expiring store.
pub(crate) mod kind {
    /// An SSO session, by the digest of its cookie.
    pub(crate) const SESSION: &str = "session";
    /// A login transaction, by its id.
    pub(crate) const LOGIN: &str = "login";
    /// An authorization code, by its digest.
    pub(crate) const CODE: &str = "code";
    /// A redeemed code's grant, by the code's digest (reuse detection).
    pub(crate) const CODE_USED: &str = "code_used";
    /// A live grant, by its id.
    pub(crate) const GRANT: &str = "grant";
    /// A refresh token, by its digest.
    pub(crate) const REFRESH: &str = "refresh";
    /// A rotated refresh token's grant, by its digest (reuse detection).
    pub(crate) const REFRESH_USED: &str = "refresh_used";
    /// A revoked access token, by its `jti`.
    pub(crate) const REVOKED_JTI: &str = "revoked_jti";
    /// A used client assertion, by its `jti` (replay protection).
    pub(crate) const ASSERTION_JTI: &str = "assertion_jti";
}

/// A login transaction: the validated request, bound to the browser by its CSRF token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoginTransaction {
    pub(crate) request: AuthorizationRequest,
    pub(crate) csrf: String,
    /// Where the person is in the sign-in journey.
    #[serde(default)]
    pub(crate) stage: Stage,
}

/// The steps of the sign-in journey after the password (docs/sign-in.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// Email and password.
    #[default]
    Credentials,
    /// Signed in with a temporary password: choose a new one.
    ChangePassword { user_id: uuid::Uuid },
    /// No authenticator yet: set one up. The pending secret is sealed under the master
    /// key (it lives in the database until the step ends).
    EnrollTotp {
        user_id: uuid::Uuid,
        sealed_secret: String,
    },
    /// Enrolled; the recovery codes were shown once.
    RecoveryCodesShown { user_id: uuid::Uuid },
    /// Enter the code from the app (or a recovery code).
    Mfa { user_id: uuid::Uuid },
    /// A recovery code was accepted: "You used a recovery code" offers a new set before
    /// the sign-in finishes.
    RecoveryCodeUsed { user_id: uuid::Uuid },
    /// After a recovery code, a new set was generated and shown once; the sign-in
    /// finishes as one with a recovery code.
    NewRecoveryCodesShown { user_id: uuid::Uuid },
}

/// What an authorization code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub(crate) request: AuthorizationRequest,
    pub(crate) authentication: Authentication,
}

/// A grant: what a client may keep doing on someone's behalf through refresh tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) authentication: Authentication,
}

/// A refresh token's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) grant_id: String,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, HttpError> {
    serde_json::to_vec(value).map_err(|error| HttpError::internal("encoding protocol state", error))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(bytes)
        .map_err(|error| HttpError::internal("decoding protocol state", error))
}

pub(crate) fn expires_in(seconds: i64) -> DateTime<Utc> {
    runtime::now() + Duration::seconds(seconds)
}

/// Where a browser request came from: the client's address as resolved from the peer
/// and the trusted proxies (`client_ip`), and the User-Agent.
pub(crate) fn origin(caller: &Caller, client_id: Option<&str>) -> Origin {
    Origin {
        client_id: client_id.map(str::to_owned),
        ip: caller.ip.map(|ip| ip.to_string()),
        user_agent: caller
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(256).collect()),
    }
}

/// Metadata of a fact caused by a person (or nobody yet, for failures).
pub(crate) fn metadata(user_id: Option<&str>, origin: &Origin) -> EventMetadata {
    EventMetadata {
        actor: user_id.map_or(Actor::System, |user_id| Actor::User {
            user_id: user_id.to_owned(),
        }),
        request_id: None,
        client_ip: origin.ip.clone(),
        occurred_at: runtime::now(),
    }
}

/// Appends facts to a stream.
pub(crate) async fn record(
    state: &AppState,
    stream: String,
    events: Vec<NewEvent>,
) -> Result<(), HttpError> {
    state
        .store
        .append(AppendRequest::new(stream, ExpectedVersion::Any, events))
        .await
        .map_err(|error| HttpError::internal("recording a sign-in fact", error))?;
    Ok(())
}

/// The SSO session of this browser, if it has a live one.
pub(crate) async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Authentication)>, HttpError> {
    let Some(cookie) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let digest = token_digest(cookie);
    let Some(bytes) = state
        .expiring
        .get(kind::SESSION, &digest, runtime::now())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((digest, decode(&bytes)?)))
}

/// Ends a session: removes it and records `session.ended`.
pub(crate) async fn end(
    state: &AppState,
    digest: &str,
    authentication: &Authentication,
    reason: SessionEndReason,
    origin: &Origin,
) -> Result<(), HttpError> {
    state.expiring.remove(kind::SESSION, digest).await?;
    let ended = SessionEnded {
        sid: authentication.sid.clone(),
        user_id: authentication.user_id.clone(),
        reason,
        client_id: origin.client_id.clone(),
    };
    let event =
        SessionEvent::Ended(ended).to_new_event(metadata(Some(&authentication.user_id), origin));
    record(state, sessions::stream(&authentication.sid), vec![event]).await
}

/// Revokes a grant: it and everything issued under it stop working; recorded as an event.
pub(crate) async fn revoke_grant(
    state: &AppState,
    grant_id: &str,
    reason: GrantRevocationReason,
) -> Result<(), HttpError> {
    let record: Option<GrantRecord> = match state
        .expiring
        .take(kind::GRANT, grant_id, runtime::now())
        .await?
    {
        Some(bytes) => Some(decode(&bytes)?),
        None => None,
    };
    let Some(record) = record else { return Ok(()) };
    let revoked = GrantRevoked {
        grant_id: grant_id.to_owned(),
        client_id: record.client_id.clone(),
        user_id: Some(record.authentication.user_id.clone()),
        reason,
    };
    let metadata = EventMetadata {
        actor: Actor::System,
        request_id: None,
        client_ip: None,
        occurred_at: runtime::now(),
    };
    tracing::warn!(grant_id, client_id = %record.client_id, ?reason, "grant revoked");
    record_grant_revoked(state, &revoked, metadata).await
}

async fn record_grant_revoked(
    state: &AppState,
    revoked: &GrantRevoked,
    metadata: EventMetadata,
) -> Result<(), HttpError> {
    let stream = grant::stream(&revoked.grant_id);
    let event = GrantEvent::Revoked(revoked.clone()).to_new_event(metadata);
    record(state, stream, vec![event]).await
}
