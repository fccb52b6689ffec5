//! SSO sessions: a browser's cookie names one (stored under the cookie's digest); a
//! sign-in starts one and records it (`user.signin.succeeded`, `session.started`); logout
//! or a new sign-in ends one (`session.ended`).

use uuid::Uuid;
use verity_domain::DomainEvent;
use verity_domain::session::{self, SessionEndReason, SessionEnded, SessionEvent, SessionStarted};
use verity_domain::signin::{SecondFactor, SignInEvent, SignInSucceeded};
use verity_domain::user;

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{acr, amr};
use crate::protocol::tokens::{Authentication, token_digest};
use crate::random;
use crate::state::{self, kind};

/// A live SSO session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The digest of its cookie: its key in the store.
    pub digest: String,
    /// Who signed in, and how.
    pub authentication: Authentication,
}

/// A session just started: the cookie to give the browser, and what it stands for.
#[derive(Debug, Clone)]
pub struct Started {
    /// The session cookie's value (only its digest is stored).
    pub cookie: String,
    /// Who signed in, and how.
    pub authentication: Authentication,
}

/// The live session a session cookie names, if any.
pub async fn current(
    engine: &Engine,
    context: &RequestContext,
    cookie: Option<&str>,
) -> Result<Option<Session>, EngineError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    let digest = token_digest(cookie);
    let Some(bytes) = engine
        .expiring
        .get(kind::SESSION, &digest, context.now)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Session {
        digest,
        authentication: state::decode(&bytes)?,
    }))
}

/// Starts a session for a person who passed both factors, and records the sign-in and
/// the session. The two facts reach the store's writer together and share one commit
/// (group commit) while the session is stored.
pub async fn start(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    factor: SecondFactor,
    client_id: &str,
) -> Result<Started, EngineError> {
    let user_id_text = user_id.to_string();
    let authentication = Authentication {
        user_id: user_id_text.clone(),
        sid: random::uuid().to_string(),
        auth_time: context.now.timestamp(),
        amr: amr(factor),
        acr: acr(factor).to_owned(),
    };
    let cookie = random::token();
    let origin = context.origin(Some(client_id));
    let metadata = context.metadata_of(Some(&user_id_text));
    let succeeded = SignInEvent::Succeeded(SignInSucceeded {
        user_id: user_id_text.clone(),
        sid: authentication.sid.clone(),
        amr: authentication.amr.clone(),
        second_factor: Some(factor),
        device_trust_used: factor == SecondFactor::TrustedDevice,
        origin,
    });
    let started = SessionEvent::Started(SessionStarted {
        sid: authentication.sid.clone(),
        user_id: user_id_text,
        auth_time: context.now,
        amr: authentication.amr.clone(),
    });
    let expires_at = context.now + engine.settings.session_lifetime;
    let session_state = state::encode(&authentication)?;
    let digest = token_digest(&cookie);
    tokio::try_join!(
        async {
            engine
                .expiring
                .put(kind::SESSION, &digest, &session_state, expires_at)
                .await
                .map_err(EngineError::from)
        },
        engine.record(
            user::stream(user_id),
            vec![succeeded.to_new_event(metadata.clone())]
        ),
        engine.record(
            session::stream(&authentication.sid),
            vec![started.to_new_event(metadata)]
        ),
    )?;
    Ok(Started {
        cookie,
        authentication,
    })
}

/// Ends a session: removes it and records `session.ended` (the person as actor; the
/// client that asked, for RP-initiated logout).
pub async fn end(
    engine: &Engine,
    context: &RequestContext,
    ending: &Session,
    reason: SessionEndReason,
    client_id: Option<&str>,
) -> Result<(), EngineError> {
    engine
        .expiring
        .remove(kind::SESSION, &ending.digest)
        .await?;
    let authentication = &ending.authentication;
    let ended = SessionEvent::Ended(SessionEnded {
        sid: authentication.sid.clone(),
        user_id: authentication.user_id.clone(),
        reason,
        client_id: client_id.map(str::to_owned),
    });
    let metadata = context.metadata_of(Some(&authentication.user_id));
    engine
        .record(
            session::stream(&authentication.sid),
            vec![ended.to_new_event(metadata)],
        )
        .await
}
