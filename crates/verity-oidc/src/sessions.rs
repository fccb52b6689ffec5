//! SSO sessions (ADR 0007): a browser's cookie names one (stored under the cookie's
//! digest); a sign-in starts one and records it (`user.signin.succeeded`,
//! `session.started`); it ends by logout, by a newer sign-in in the same browser, from
//! the person's list of sessions, by idling or ageing out (`session.ended`), or with
//! every session of its person (`user.sessions.ended`).
//!
//! Whether a session is still alive is read from the sessions read model (what ended)
//! and the users read model (a disabled person has no session), plus its time: the
//! absolute lifetime from the sign-in (`[sessions] lifetime_hours`) and the idle timeout
//! (`[sessions] idle_minutes`), kept as an activity entry in the expiring store that each
//! use renews and that simply expires when the session idles.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::session::{
    self, Session as SessionAggregate, SessionCommand, SessionEndReason, SessionError,
    SessionEvent, SessionStarted,
};
use verity_domain::signin::{
    Origin, SecondFactor, SecondFactorDecision, SignInEvent, SignInSucceeded,
};
use verity_domain::user::{self, UserCommand};
use verity_domain::{
    Aggregate, AppendRequest, DomainEvent, ExecuteError, ExpectedVersion, NewEntry, execute,
};
use verity_projection::SessionView;

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{acr, amr};
use crate::protocol::tokens::{Authentication, token_digest};
use crate::random;
use crate::state::{self, kind};

/// A live SSO session, as the browser's cookie names it.
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

/// The live session a session cookie names, if any. A session that has timed out is
/// ended on the way (and is not returned).
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
    let authentication: Authentication = state::decode(&bytes)?;
    if !alive(engine, context, &authentication).await? {
        engine.expiring.remove(kind::SESSION, &digest).await?;
        return Ok(None);
    }
    Ok(Some(Session {
        digest,
        authentication,
    }))
}

/// Whether the session of `authentication` still stands: not ended (by itself or with
/// every session of its person), its person enabled, within its lifetime and not idle.
/// A session found timed out is ended here, with its reason.
pub async fn alive(
    engine: &Engine,
    context: &RequestContext,
    authentication: &Authentication,
) -> Result<bool, EngineError> {
    let Ok(user_id) = Uuid::parse_str(&authentication.user_id) else {
        return Ok(false);
    };
    let standing = engine.projector.read(|models| {
        let ended =
            models
                .sessions
                .has_ended(&authentication.sid, user_id, authentication.auth_time);
        let enabled = models
            .users
            .get(user_id)
            .is_some_and(|person| !person.disabled);
        !ended && enabled
    });
    if !standing {
        return Ok(false);
    }
    if let Some(reason) = timed_out(engine, context, authentication).await? {
        end_by_id(engine, context, &authentication.sid, reason, None).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Why the session has timed out, if it has: past its absolute lifetime, or idle — its
/// last use (the activity entry, or the sign-in itself when it was never used since)
/// longer ago than the idle timeout.
async fn timed_out(
    engine: &Engine,
    context: &RequestContext,
    authentication: &Authentication,
) -> Result<Option<SessionEndReason>, EngineError> {
    // The sign-in's own time, to the microsecond when this node folded it (tokens carry
    // whole seconds).
    let folded = engine.projector.read(|models| {
        models
            .sessions
            .get(&authentication.sid)
            .map(|session| session.started_at)
    });
    let started = folded
        .or_else(|| DateTime::from_timestamp(authentication.auth_time, 0))
        .unwrap_or(context.now);
    let settings = &engine.settings;
    if context.now >= started + settings.session_lifetime {
        return Ok(Some(SessionEndReason::Expired));
    }
    if context.now < started + settings.session_idle_timeout {
        // Too young to have idled: no need to read its activity.
        return Ok(None);
    }
    let active = engine
        .expiring
        .get(kind::SESSION_ACTIVITY, &authentication.sid, context.now)
        .await?;
    Ok(active.is_none().then_some(SessionEndReason::IdleTimeout))
}

/// Marks the session as used now: its idle timeout starts again. (A sign-in writes no
/// activity: until the idle timeout has passed since it, the sign-in is the last use.)
pub async fn touch(
    engine: &Engine,
    context: &RequestContext,
    sid: &str,
) -> Result<(), EngineError> {
    let activity = Activity::now(engine, context);
    engine.expiring.put_many(&[activity.entry(sid)]).await?;
    Ok(())
}

/// A session's use now, as its activity entry records it: the time, kept until the idle
/// timeout. [`touch`] writes it alone; a write that uses the session anyway (issuing a
/// code) carries it along.
pub(crate) struct Activity {
    at: String,
    idle_until: DateTime<Utc>,
}

impl Activity {
    /// The session is used at the request's time.
    pub(crate) fn now(engine: &Engine, context: &RequestContext) -> Self {
        Self {
            at: context.now.to_rfc3339(),
            idle_until: context.now + engine.settings.session_idle_timeout,
        }
    }

    /// The activity entry of session `sid`.
    pub(crate) fn entry<'a>(&'a self, sid: &'a str) -> NewEntry<'a> {
        NewEntry {
            kind: kind::SESSION_ACTIVITY,
            key: sid,
            value: self.at.as_bytes(),
            expires_at: self.idle_until,
        }
    }
}

/// Where the sessions whose starts are at `positions` came from ([`origins_in`], over the
/// engine's log).
pub async fn origins(
    engine: &Engine,
    positions: &[u64],
) -> Result<HashMap<u64, Origin>, EngineError> {
    Ok(origins_in(engine.store.as_ref(), positions).await?)
}

/// Where sessions came from (the client, the address, the User-Agent), read from their
/// starts (`session.started`) at `positions` in the log: the sessions read model keeps
/// where each start is, not what it holds, which a replay leaves sealed (ADR 0010). A
/// position that holds no session's start is left out; an erased person's reads as
/// erased.
pub async fn origins_in(
    events: &dyn verity_domain::EventStore,
    positions: &[u64],
) -> Result<HashMap<u64, Origin>, verity_domain::StoreError> {
    let mut found = HashMap::new();
    for &position in positions {
        let read = events.read_all(position.saturating_sub(1), 1).await?;
        if let Some(event) = read.first().filter(|event| event.position == position)
            && let Ok(Some(SessionEvent::Started(started))) = SessionEvent::decode(event)
        {
            found.insert(position, started.origin);
        }
    }
    Ok(found)
}

/// When each session was last used (for the person's list of sessions); sessions that
/// idled out are absent.
pub async fn last_active(
    engine: &Engine,
    context: &RequestContext,
    sids: &[&str],
) -> Result<HashMap<String, DateTime<Utc>>, EngineError> {
    Ok(last_active_in(engine.expiring.as_ref(), context.now, sids).await?)
}

/// [`last_active`] read straight from the expiring store (for the admin layer, which
/// has the store but no engine).
pub async fn last_active_in(
    expiring: &dyn verity_domain::ExpiringStore,
    now: DateTime<Utc>,
    sids: &[&str],
) -> Result<HashMap<String, DateTime<Utc>>, verity_domain::StoreError> {
    let keys: Vec<(&str, &str)> = sids
        .iter()
        .map(|sid| (kind::SESSION_ACTIVITY, *sid))
        .collect();
    let entries = expiring.get_many(&keys, now).await?;
    Ok(sids
        .iter()
        .zip(entries)
        .filter_map(|(sid, entry)| {
            let entry = entry?;
            let text = std::str::from_utf8(&entry.value).ok()?;
            let at = DateTime::parse_from_rfc3339(text).ok()?;
            Some(((*sid).to_owned(), at.with_timezone(&Utc)))
        })
        .collect())
}

/// Starts a session for a person who passed both factors, and records the sign-in (with
/// why its second factor was what it was) and the session. The two facts reach the
/// store's writer together and share one commit (group commit) while the session is
/// stored.
pub async fn start(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    (factor, decision): (SecondFactor, Option<SecondFactorDecision>),
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
        decision,
        origin: origin.clone(),
    });
    // A fresh sid names a new stream: decided against the empty session, appended as
    // the stream's first event without reading it.
    let start = SessionCommand::Start(SessionStarted {
        sid: authentication.sid.clone(),
        user_id: user_id_text,
        auth_time: context.now,
        amr: authentication.amr.clone(),
        origin,
    });
    let started = SessionAggregate::default()
        .decide(&start, &context.domain(metadata.actor.clone()))
        .map_err(|error| EngineError::Refused(error.to_string()))?;
    let started_append = AppendRequest::new(
        session::stream(&authentication.sid),
        ExpectedVersion::NoStream,
        started
            .iter()
            .map(|event| event.to_new_event(metadata.clone()))
            .collect(),
    );
    let expires_at = context.now + engine.settings.session_lifetime;
    let session_state = state::encode(&authentication)?;
    let digest = token_digest(&cookie);
    let ((), _, started_at) = tokio::try_join!(
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
        async {
            engine
                .store
                .append(started_append)
                .await
                .map(|outcome| outcome.position)
                .map_err(EngineError::from)
        },
    )?;
    // The person's next request (their own page, a refresh) reads this session.
    engine.wait_for(started_at).await?;
    Ok(Started {
        cookie,
        authentication,
    })
}

/// Ends the browser's session (logout, a newer sign-in): removes it and records
/// `session.ended` (the person as actor; the client that asked, for RP-initiated logout).
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
    end_by_id(
        engine,
        context,
        &ending.authentication.sid,
        reason,
        client_id,
    )
    .await
}

/// Ends session `sid` for `reason`, once: when another request or node ended it first,
/// nothing more is recorded. The actor is the request's: the person (their own page,
/// logout), or nobody known (a timeout found by Verity).
pub async fn end_by_id(
    engine: &Engine,
    context: &RequestContext,
    sid: &str,
    reason: SessionEndReason,
    client_id: Option<&str>,
) -> Result<(), EngineError> {
    let owner = engine
        .projector
        .read(|models| models.sessions.get(sid).map(|session| session.user_id));
    let actor = match (reason, owner) {
        (SessionEndReason::IdleTimeout | SessionEndReason::Expired, _) | (_, None) => {
            verity_domain::Actor::System
        }
        (_, Some(user_id)) => verity_domain::Actor::User {
            user_id: user_id.to_string(),
            sid: None,
        },
    };
    end_as(engine, context, sid, reason, client_id, actor).await
}

/// Ends session `sid` with `actor` named in the event.
pub async fn end_as(
    engine: &Engine,
    context: &RequestContext,
    sid: &str,
    reason: SessionEndReason,
    client_id: Option<&str>,
    actor: verity_domain::Actor,
) -> Result<(), EngineError> {
    let command = SessionCommand::End {
        reason,
        client_id: client_id.map(str::to_owned),
    };
    let outcome = execute::<SessionAggregate>(
        engine.store.as_ref(),
        &session::stream(sid),
        &command,
        &context.domain(actor),
    )
    .await;
    match outcome {
        Ok(outcome) => engine.wait_for(outcome.position).await,
        Err(ExecuteError::Rejected(SessionError::AlreadyEnded | SessionError::NotFound)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The session signs the person in to `client_id` (single sign-on): recorded once per
/// client (`session.client.added`), so that the client hears when the session ends. The
/// client the sign-in was for is in `session.started` already.
pub async fn add_client(
    engine: &Engine,
    context: &RequestContext,
    authentication: &Authentication,
    client_id: &str,
) -> Result<(), EngineError> {
    let known = engine.projector.read(|models| {
        models
            .sessions
            .get(&authentication.sid)
            .is_some_and(|session| session.clients.contains(client_id))
    });
    if known {
        return Ok(());
    }
    let actor = verity_domain::Actor::User {
        user_id: authentication.user_id.clone(),
        sid: None,
    };
    let command = SessionCommand::AddClient {
        client_id: client_id.to_owned(),
    };
    let outcome = execute::<SessionAggregate>(
        engine.store.as_ref(),
        &session::stream(&authentication.sid),
        &command,
        &context.domain(actor),
    )
    .await?;
    engine.wait_for(outcome.position).await
}

/// The person signs out everywhere from their own page: every session ends, or every
/// one but `except_sid` (`user.sessions.ended`, the person as actor).
pub async fn sign_out_everywhere(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    except_sid: Option<String>,
) -> Result<(), EngineError> {
    engine
        .act(context, user_id, UserCommand::SignOut { except_sid })
        .await
}

/// What "Sign out" of one session in the person's list did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRevoked {
    /// Not a live session of this person (another person's, or gone): nothing ended.
    NotTheirs,
    /// It ended (`session.ended`, reason `revoked`, the person as actor).
    Ended {
        /// It was the session the request came with: this browser is signed out.
        this_browser: bool,
    },
}

/// "Sign out" of session `sid` from the list of `user_id`'s sessions, posted from their
/// session `from_sid`: only a live session of theirs ends.
pub async fn revoke(
    engine: &Engine,
    context: &RequestContext,
    (user_id, from_sid): (Uuid, &str),
    sid: &str,
) -> Result<SessionRevoked, EngineError> {
    let theirs = of_person(engine, user_id)
        .iter()
        .any(|session| session.sid == sid);
    if !theirs {
        return Ok(SessionRevoked::NotTheirs);
    }
    end_by_id(engine, context, sid, SessionEndReason::Revoked, None).await?;
    Ok(SessionRevoked::Ended {
        this_browser: from_sid == sid,
    })
}

/// The live sessions of a person, oldest first.
pub fn of_person(engine: &Engine, user_id: Uuid) -> Vec<SessionView> {
    engine.projector.read(|models| {
        models
            .sessions
            .of_person(user_id)
            .into_iter()
            .cloned()
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_engine::TestEngine;

    #[tokio::test]
    async fn a_person_signs_out_only_their_own_sessions() {
        let test = TestEngine::start().await;
        let ada = test.person("ada@example.org").await;
        let grace = test.person("grace@example.org").await;
        let (_, this_browser) = test.session(ada).await;
        let (_, other_browser) = test.session(ada).await;
        let (graces_cookie, graces) = test.session(grace).await;
        let context = test.context();
        let from_this_browser = (ada, this_browser.authentication.sid.as_str());

        let not_theirs = revoke(
            &test.engine,
            &context,
            from_this_browser,
            &graces.authentication.sid,
        )
        .await
        .unwrap();
        let other = revoke(
            &test.engine,
            &context,
            from_this_browser,
            &other_browser.authentication.sid,
        )
        .await
        .unwrap();
        let this = revoke(
            &test.engine,
            &context,
            from_this_browser,
            &this_browser.authentication.sid,
        )
        .await
        .unwrap();

        assert_eq!(not_theirs, SessionRevoked::NotTheirs);
        assert_eq!(
            other,
            SessionRevoked::Ended {
                this_browser: false
            }
        );
        assert_eq!(this, SessionRevoked::Ended { this_browser: true });
        assert!(of_person(&test.engine, ada).is_empty());
        let still = current(&test.engine, &context, Some(&graces_cookie)).await;
        assert!(still.unwrap().is_some(), "another person's session stays");
    }

    #[tokio::test]
    async fn a_session_that_ended_is_not_theirs_to_end_again() {
        let test = TestEngine::start().await;
        let ada = test.person("ada@example.org").await;
        let (_, session) = test.session(ada).await;
        let context = test.context();
        let sid = session.authentication.sid.as_str();
        revoke(&test.engine, &context, (ada, sid), sid)
            .await
            .unwrap();

        let again = revoke(&test.engine, &context, (ada, sid), sid).await;

        assert_eq!(again.unwrap(), SessionRevoked::NotTheirs);
    }
}
