//! A person's sessions as admins see them: the live ones (when each started and was last
//! used, from where, signed in to which applications) and the recently ended ones with
//! how each ended; and ending one (`session.ended`, reason `revoked`, the admin named).
//! Ending all of them is [`Admin::sign_out_person`].

use chrono::{DateTime, Utc};
use verity_domain::ExecuteError;
use verity_domain::session::{self, Session, SessionCommand, SessionEndReason, SessionError};
use verity_domain::signin::Origin;
use verity_domain::user::AccessEndReason;
use verity_projection::sessions::{EndedSession, Ending};
use verity_projection::{ReadModels, SessionView};

use crate::actor::{Actor, Call};
use crate::admin::Admin;
use crate::error::AdminError;
use crate::people::{Person, PersonRef};

/// An application a session signed the person in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInTo {
    /// Its client id.
    pub client_id: String,
    /// Its name (the id when the client is gone).
    pub name: String,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its id (`sid`).
    pub sid: String,
    /// When the person signed in.
    pub started_at: DateTime<Utc>,
    /// When it was last used, while known.
    pub last_active: Option<DateTime<Utc>>,
    /// How they signed in (`amr`: `pwd`, `otp`, `trusted_device`...).
    pub amr: Vec<String>,
    /// The address they signed in from.
    pub ip: Option<String>,
    /// The browser, as its User-Agent says ("Firefox on Linux").
    pub device: String,
    /// The applications it signed them in to.
    pub clients: Vec<SignedInTo>,
}

/// A session that ended recently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSessionInfo {
    /// Its id.
    pub sid: String,
    /// When it started, if known.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// Why, as a stable code (`logout`, `idle_timeout`, `disabled`, `signed_out`...).
    pub reason: &'static str,
    /// Why, in words ("unused for too long").
    pub how: &'static str,
    /// The address it was started from.
    pub ip: Option<String>,
    /// The browser.
    pub device: String,
    /// The applications it had signed them in to.
    pub clients: Vec<SignedInTo>,
}

/// A person's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSessions {
    /// The person.
    pub person: Person,
    /// The live ones, oldest first.
    pub live: Vec<LiveSession>,
    /// The ones that ended in the last day or so, newest end first.
    pub ended: Vec<EndedSessionInfo>,
}

impl Admin {
    /// The person's live and recently ended sessions.
    pub async fn person_sessions(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<PersonSessions, AdminError> {
        let view = self.find_person(actor, person)?;
        // Each with where its start is in the log: where it came from is read there.
        let (live, ended) = self.read(|models| {
            let live: Vec<(LiveSession, Option<u64>)> = models
                .sessions
                .of_person(view.user_id)
                .into_iter()
                .map(|session| (live_session(models, session), Some(session.started_event)))
                .collect();
            let ended: Vec<(EndedSessionInfo, Option<u64>)> = models
                .sessions
                .recently_ended_of(view.user_id)
                .into_iter()
                .map(|(sid, ended)| (ended_session(models, sid, ended), ended.started_event))
                .collect();
            (live, ended)
        });
        let starts: Vec<u64> = live
            .iter()
            .map(|(_, at)| *at)
            .chain(ended.iter().map(|(_, at)| *at))
            .flatten()
            .collect();
        let origins = verity_oidc::sessions::origins_in(self.ports.store.as_ref(), &starts).await?;
        let origin = |at: Option<u64>| at.and_then(|at| origins.get(&at));
        let live: Vec<LiveSession> = live
            .into_iter()
            .map(|(mut session, at)| {
                (session.ip, session.device) = where_from(origin(at));
                session
            })
            .collect();
        let ended: Vec<EndedSessionInfo> = ended
            .into_iter()
            .map(|(mut session, at)| {
                (session.ip, session.device) = where_from(origin(at));
                session
            })
            .collect();
        let sids: Vec<&str> = live.iter().map(|session| session.sid.as_str()).collect();
        let used =
            verity_oidc::sessions::last_active_in(self.ports.expiring.as_ref(), call.now, &sids)
                .await?;
        let live = live
            .into_iter()
            .map(|mut session| {
                session.last_active = used.get(&session.sid).copied();
                session
            })
            .collect();
        Ok(PersonSessions {
            person: Person::from(view),
            live,
            ended,
        })
    }

    /// Ends one of the person's sessions (`session.ended`, reason `revoked`, the admin
    /// named): its tokens stop working and its applications are told. A session that is
    /// not theirs, or not live, is not found.
    pub async fn end_person_session(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
        sid: &str,
    ) -> Result<(), AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let missing = || AdminError::Invalid(format!("{} has no live session {sid:?}", view.email));
        let theirs = self.read(|models| {
            models
                .sessions
                .get(sid)
                .is_some_and(|session| session.user_id == view.user_id)
        });
        if !theirs {
            return Err(missing());
        }
        let command = SessionCommand::End {
            reason: SessionEndReason::Revoked,
            client_id: None,
        };
        match self
            .decide::<Session>(actor, call, &session::stream(sid), &command)
            .await
        {
            Ok(outcome) => self.wait_for(outcome.position).await,
            Err(ExecuteError::Rejected(SessionError::AlreadyEnded | SessionError::NotFound)) => {
                Err(missing())
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn signed_in_to(
    models: &ReadModels,
    client_ids: impl IntoIterator<Item = String>,
) -> Vec<SignedInTo> {
    client_ids
        .into_iter()
        .map(|client_id| SignedInTo {
            name: models
                .clients
                .get(&client_id)
                .map_or_else(|| client_id.clone(), |client| client.settings.name.clone()),
            client_id,
        })
        .collect()
}

fn live_session(models: &ReadModels, session: &SessionView) -> LiveSession {
    LiveSession {
        sid: session.sid.clone(),
        started_at: session.started_at,
        last_active: None,
        amr: session.amr.clone(),
        ip: None,
        device: String::new(),
        clients: signed_in_to(models, session.clients.iter().cloned()),
    }
}

/// A session's address and browser, from where it came from (none known: no address, an
/// unknown browser).
fn where_from(origin: Option<&Origin>) -> (Option<String>, String) {
    (
        origin.and_then(|origin| origin.ip.clone()),
        verity_oidc::mfa::device_label(origin.and_then(|origin| origin.user_agent.as_deref())),
    )
}

fn ended_session(models: &ReadModels, sid: &str, ended: &EndedSession) -> EndedSessionInfo {
    let (reason, how) = ending(ended.ending);
    EndedSessionInfo {
        sid: sid.to_owned(),
        started_at: ended.started_at,
        ended_at: ended.ended_at,
        reason,
        how,
        ip: None,
        device: String::new(),
        clients: signed_in_to(models, ended.clients.iter().cloned()),
    }
}

/// How a session ended: a stable code and words for people.
pub fn ending(ending: Ending) -> (&'static str, &'static str) {
    match ending {
        Ending::Session(SessionEndReason::Logout) => ("logout", "logged out"),
        Ending::Session(SessionEndReason::Replaced) => ("replaced", "replaced by a new sign-in"),
        Ending::Session(SessionEndReason::Revoked) => {
            ("revoked", "signed out from the list of sessions")
        }
        Ending::Session(SessionEndReason::IdleTimeout) => ("idle_timeout", "unused for too long"),
        Ending::Session(SessionEndReason::Expired) => ("expired", "reached its longest lifetime"),
        Ending::Person(AccessEndReason::Disabled) => ("disabled", "the account was disabled"),
        Ending::Person(AccessEndReason::PasswordReset) => {
            ("password_reset", "an admin reset the password")
        }
        Ending::Person(AccessEndReason::AuthenticatorReset) => (
            "authenticator_reset",
            "an admin reset the authenticator app",
        ),
        Ending::Person(AccessEndReason::SignedOut) => ("signed_out", "signed out everywhere"),
        Ending::Person(AccessEndReason::PasswordChanged) => {
            ("password_changed", "the password was changed")
        }
        Ending::Person(AccessEndReason::Erased) => ("erased", "the person was erased"),
        Ending::Person(AccessEndReason::Deleted) => ("deleted", "the account was deleted"),
    }
}
