//! SSO sessions (stream `session-<sid>`): a sign-in starts one; it ends once — by logout,
//! by a newer sign-in in the same browser, from the person's list of sessions, or when
//! it times out. Ending is decided on the session's own stream, so two nodes ending one
//! session record one end. (Every session of a person ending at once is the person's
//! fact, `user.sessions.ended`, on their stream.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Context};
use crate::event::domain_events;
use crate::signin::Origin;

/// Stored type of [`SessionStarted`].
pub const SESSION_STARTED: &str = "session.started";
/// Stored type of [`SessionEnded`].
pub const SESSION_ENDED: &str = "session.ended";
/// Stored type of [`SessionClientAdded`].
pub const SESSION_CLIENT_ADDED: &str = "session.client.added";

/// The stream of an SSO session.
pub fn stream(sid: &str) -> String {
    format!("session-{sid}")
}

/// Payload of `session.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The session id (`sid` in tokens).
    pub sid: String,
    /// The person.
    pub user_id: String,
    /// When they authenticated.
    pub auth_time: DateTime<Utc>,
    /// The factors used.
    pub amr: Vec<String>,
    /// Where the sign-in came from: the client it was for, the browser's address and
    /// User-Agent (absent in sessions recorded before they were kept).
    #[serde(flatten, default)]
    pub origin: Origin,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEndReason {
    /// The person logged out (RP-initiated logout).
    Logout,
    /// A new sign-in in the same browser replaced it (prompt=login, max_age).
    Replaced,
    /// Signed out from the list of sessions, by the person or an admin (the actor says).
    Revoked,
    /// Unused for longer than the idle timeout (`[sessions] idle_minutes`).
    IdleTimeout,
    /// Older than its absolute lifetime (`[sessions] lifetime_hours`).
    Expired,
}

/// Payload of `session.ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// The session id.
    pub sid: String,
    /// The person.
    pub user_id: String,
    /// Why.
    pub reason: SessionEndReason,
    /// The client that asked, for RP-initiated logout.
    pub client_id: Option<String>,
}

/// Payload of `session.client.added`: the session signed the person in to another client
/// (single sign-on: a code for it without a password). The client the sign-in was for is
/// in `session.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClientAdded {
    /// The session id.
    pub sid: String,
    /// The client.
    pub client_id: String,
}

/// A session fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A sign-in started the session.
    Started(SessionStarted),
    /// The session signed the person in to another client.
    ClientAdded(SessionClientAdded),
    /// The session ended.
    Ended(SessionEnded),
}

domain_events! {
    SessionEvent {
        Started(SessionStarted) => SESSION_STARTED,
        ClientAdded(SessionClientAdded) => SESSION_CLIENT_ADDED,
        Ended(SessionEnded) => SESSION_ENDED,
    }
}

/// What can be asked of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// A sign-in starts it.
    Start(SessionStarted),
    /// It signs the person in to a client (once per client).
    AddClient {
        /// The client.
        client_id: String,
    },
    /// It ends, for a reason; `client_id` is the client that asked (logout).
    End {
        /// Why.
        reason: SessionEndReason,
        /// The client that asked, if any.
        client_id: Option<String>,
    },
}

/// Why a session command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The stream already holds a session.
    #[error("the session already started")]
    AlreadyStarted,
    /// No such session.
    #[error("no such session")]
    NotFound,
    /// It ended before.
    #[error("the session already ended")]
    AlreadyEnded,
}

/// A session as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Present once started.
    pub started: Option<SessionStarted>,
    /// The clients it signed the person in to.
    pub clients: Vec<String>,
    /// Whether it ended.
    pub ended: bool,
}

impl Aggregate for Session {
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;

    fn decide(
        &self,
        command: &Self::Command,
        _context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            SessionCommand::Start(started) => {
                if self.started.is_some() {
                    return Err(SessionError::AlreadyStarted);
                }
                Ok(vec![SessionEvent::Started(started.clone())])
            }
            SessionCommand::AddClient { client_id } => {
                let started = self.started.as_ref().ok_or(SessionError::NotFound)?;
                if self.ended {
                    return Err(SessionError::AlreadyEnded);
                }
                if self.clients.contains(client_id) {
                    return Ok(Vec::new());
                }
                Ok(vec![SessionEvent::ClientAdded(SessionClientAdded {
                    sid: started.sid.clone(),
                    client_id: client_id.clone(),
                })])
            }
            SessionCommand::End { reason, client_id } => {
                let started = self.started.as_ref().ok_or(SessionError::NotFound)?;
                if self.ended {
                    return Err(SessionError::AlreadyEnded);
                }
                Ok(vec![SessionEvent::Ended(SessionEnded {
                    sid: started.sid.clone(),
                    user_id: started.user_id.clone(),
                    reason: *reason,
                    client_id: client_id.clone(),
                })])
            }
        }
    }

    fn evolve(mut self, event: &Self::Event) -> Self {
        match event {
            SessionEvent::Started(started) => {
                self.clients.extend(started.origin.client_id.clone());
                self.started = Some(started.clone());
            }
            SessionEvent::ClientAdded(added) => self.clients.push(added.client_id.clone()),
            SessionEvent::Ended(_) => self.ended = true,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainEvent;
    use crate::aggregate::scenario::{Scenario, context};
    use crate::event::recorded;

    fn started() -> SessionStarted {
        SessionStarted {
            sid: "s1".into(),
            user_id: "u1".into(),
            auth_time: context().now,
            amr: vec!["pwd".into(), "otp".into()],
            origin: Origin {
                client_id: Some("app".into()),
                ip: Some("192.0.2.1".into()),
                user_agent: Some("Firefox".into()),
            },
        }
    }

    fn end(reason: SessionEndReason) -> SessionCommand {
        SessionCommand::End {
            reason,
            client_id: None,
        }
    }

    fn ended(reason: SessionEndReason) -> SessionEvent {
        SessionEvent::Ended(SessionEnded {
            sid: "s1".into(),
            user_id: "u1".into(),
            reason,
            client_id: None,
        })
    }

    #[test]
    fn a_sign_in_starts_a_session_once() {
        Scenario::<Session>::given([])
            .when(SessionCommand::Start(started()))
            .then([SessionEvent::Started(started())]);
        Scenario::<Session>::given([SessionEvent::Started(started())])
            .when(SessionCommand::Start(started()))
            .then_err(SessionError::AlreadyStarted);
    }

    #[test]
    fn a_session_ends_once_whoever_ends_it() {
        Scenario::<Session>::given([SessionEvent::Started(started())])
            .when(end(SessionEndReason::IdleTimeout))
            .then([ended(SessionEndReason::IdleTimeout)]);
        Scenario::<Session>::given([
            SessionEvent::Started(started()),
            ended(SessionEndReason::Logout),
        ])
        .when(end(SessionEndReason::Revoked))
        .then_err(SessionError::AlreadyEnded);
        Scenario::<Session>::given([])
            .when(end(SessionEndReason::Logout))
            .then_err(SessionError::NotFound);
    }

    #[test]
    fn a_session_adds_each_client_once_and_none_after_it_ended() {
        let started = SessionEvent::Started(started());
        let add = |client: &str| SessionCommand::AddClient {
            client_id: client.into(),
        };
        Scenario::<Session>::given([started.clone()])
            .when(add("wiki"))
            .then([SessionEvent::ClientAdded(SessionClientAdded {
                sid: "s1".into(),
                client_id: "wiki".into(),
            })]);
        // The sign-in's own client, and one added before, are there already.
        Scenario::<Session>::given([started.clone()])
            .when(add("app"))
            .then([]);
        Scenario::<Session>::given([started.clone(), ended(SessionEndReason::Logout)])
            .when(add("wiki"))
            .then_err(SessionError::AlreadyEnded);
    }

    #[test]
    fn a_session_recorded_before_origins_were_kept_still_reads() {
        let event = SessionEvent::Started(started());
        let mut stored = recorded(stream("s1"), &event);
        stored.data =
            r#"{"sid":"s1","user_id":"u1","auth_time":"2026-11-28T10:00:00Z","amr":["pwd"]}"#
                .into();
        let Some(SessionEvent::Started(read)) = SessionEvent::decode(&stored).unwrap() else {
            panic!("not a start");
        };
        assert_eq!(read.origin, Origin::default());
        assert_eq!(read.amr, ["pwd"]);
    }
}
