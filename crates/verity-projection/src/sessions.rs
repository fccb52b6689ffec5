//! Sessions, and whether access has ended (ADR 0007): the live SSO sessions by id and by
//! person (with the clients each signed the person in to), and the marks every token
//! check consults in O(1) — sessions that ended, every session of a person ending at
//! once, grants and access tokens revoked.
//!
//! What ended is kept for a retention after it ended (`[sessions] ended_marks_minutes`,
//! [`ENDED_RETENTION`] by default; by the log's own recording time, so a rebuild prunes
//! exactly as the live fold did): long enough for every access token issued before to
//! expire. Refresh tokens need no mark: a refresh asks for a live
//! session.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use verity_domain::grant::GrantEvent;
use verity_domain::session::{SessionEndReason, SessionEvent, SessionStarted};
use verity_domain::token::TokenEvent;
use verity_domain::user::{AccessEndReason, SessionsEnded, USER_SESSIONS_ENDED};
use verity_domain::{DecodeError, DomainEvent, RecordedEvent};

use crate::decode;

/// How long an ended session or a revoked grant stays marked unless configured otherwise
/// (`[sessions] ended_marks_minutes`): longer than any access token lives
/// (`[oidc] access_token_lifetime_seconds` is at most a day).
pub const ENDED_RETENTION: Duration = Duration::hours(25);

/// How long marks of what ended are kept, by the log's clock. Configuration, not state:
/// snapshots leave it out and the projector sets it ([`Sessions::keep_marks_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retention(Duration);

impl Default for Retention {
    fn default() -> Self {
        Self(ENDED_RETENTION)
    }
}

/// A live SSO session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The session id (`sid`).
    pub sid: String,
    /// The person.
    pub user_id: Uuid,
    /// When they signed in.
    pub started_at: DateTime<Utc>,
    /// How (`amr`).
    pub amr: Vec<String>,
    /// The position of its `session.started` in the log. Where it came from (the
    /// address and the User-Agent, the person's data sealed with their key) is read
    /// there when it is shown, not kept here: a replay does not open it (ADR 0010).
    pub started_event: u64,
    /// The clients it signed the person in to.
    pub clients: BTreeSet<String>,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    /// The session itself ended (`session.ended`).
    Session(SessionEndReason),
    /// Every session of the person ended (`user.sessions.ended`).
    Person(AccessEndReason),
}

/// A session that ended, kept for token checks and for admins to see how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedSession {
    /// The person.
    pub user_id: Uuid,
    /// When (the log's recording time).
    pub ended_at: DateTime<Utc>,
    /// How.
    pub ending: Ending,
    /// When it started (none for a session that ended before this node saw it live).
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// The position of its `session.started`, where it came from is read
    /// ([`SessionView::started_event`]); none for one that ended before this node saw it
    /// live, or whose person was erased.
    #[serde(default)]
    pub started_event: Option<u64>,
    /// The clients it had signed the person in to.
    #[serde(default)]
    pub clients: BTreeSet<String>,
}

/// The last time every session of a person ended at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonEnding {
    /// When (the log's recording time): sessions that started before it are over.
    pub at: DateTime<Utc>,
    /// The session that stayed, if any.
    pub except_sid: Option<String>,
    /// Why.
    pub reason: AccessEndReason,
}

/// What a session's ending changed: the sessions that ended (to notify their clients).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    /// The sessions that ended, as they were.
    pub sessions: Vec<SessionView>,
}

/// The sessions read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    live: HashMap<String, SessionView>,
    by_person: HashMap<Uuid, BTreeSet<String>>,
    ended: HashMap<String, EndedSession>,
    /// The ended sessions still marked, by person.
    #[serde(default)]
    ended_by_person: HashMap<Uuid, BTreeSet<String>>,
    person_endings: HashMap<Uuid, PersonEnding>,
    revoked_grants: HashMap<String, DateTime<Utc>>,
    /// Access tokens their client revoked, until they would have expired.
    revoked_tokens: HashMap<String, DateTime<Utc>>,
    /// The recording time of the newest event folded: the fold's clock for pruning.
    newest: Option<DateTime<Utc>>,
    /// When the marks were last pruned (by the fold's clock).
    pruned: Option<DateTime<Utc>>,
    #[serde(skip)]
    retention: Retention,
}

/// How often (by the fold's clock) old marks are forgotten, at most: a quarter of the
/// retention when that is shorter.
const PRUNE_EVERY: Duration = Duration::minutes(10);

impl Sessions {
    /// Keeps marks of what ended for `retention` (by the log's clock) from now on.
    pub fn keep_marks_for(&mut self, retention: Duration) {
        self.retention = Retention(retention);
    }

    /// How long marks of what ended are kept.
    pub fn retention(&self) -> Duration {
        self.retention.0
    }

    /// A live session.
    pub fn get(&self, sid: &str) -> Option<&SessionView> {
        self.live.get(sid)
    }

    /// The live sessions of a person, oldest first.
    pub fn of_person(&self, user_id: Uuid) -> Vec<&SessionView> {
        let mut sessions: Vec<&SessionView> = self
            .by_person
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|sid| self.live.get(sid))
            .collect();
        sessions.sort_by_key(|session| session.started_at);
        sessions
    }

    /// Every live session (for the sweeper that ends timed-out ones).
    pub fn live(&self) -> impl Iterator<Item = &SessionView> {
        self.live.values()
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Whether a session is live: started and not ended.
    pub fn is_live(&self, sid: &str) -> bool {
        self.live.contains_key(sid)
    }

    /// Whether tokens of session `sid` (of `user_id`, signed in at `auth_time`) may still
    /// be refreshed at `now`: it is live; or this node has not folded its start yet (it
    /// began less than the retention ago, so an end would still be marked) and
    /// nothing ended it. A session older than that and not live is over, even when its
    /// end's mark is forgotten.
    pub fn may_refresh(
        &self,
        sid: &str,
        user_id: Uuid,
        auth_time: i64,
        now: DateTime<Utc>,
    ) -> bool {
        if self.live.contains_key(sid) {
            return true;
        }
        let recent = now.timestamp().saturating_sub(auth_time) < self.retention.0.num_seconds();
        recent && !self.has_ended(sid, user_id, auth_time)
    }

    /// Whether tokens of session `sid` of `user_id`, whose sign-in was at `auth_time`
    /// (seconds, as tokens carry it), must be refused: the session ended, or every
    /// session of the person ended after it started. O(1).
    pub fn has_ended(&self, sid: &str, user_id: Uuid, auth_time: i64) -> bool {
        if self.ended.contains_key(sid) {
            return true;
        }
        let Some(ending) = self.person_endings.get(&user_id) else {
            return false;
        };
        if ending.except_sid.as_deref() == Some(sid) {
            return false;
        }
        match self.live.get(sid) {
            Some(session) => session.started_at <= ending.at,
            // Not folded here yet (another node signed in a moment ago): by the token's
            // own time, in whole seconds; a sign-in in the same second counts as after.
            None => auth_time < ending.at.timestamp(),
        }
    }

    /// Whether a grant was revoked (recently: long enough for its access tokens).
    pub fn grant_revoked(&self, grant_id: &str) -> bool {
        self.revoked_grants.contains_key(grant_id)
    }

    /// Whether the client revoked the access token `jti`.
    pub fn token_revoked(&self, jti: &str) -> bool {
        self.revoked_tokens.contains_key(jti)
    }

    /// How the session ended, while it is remembered.
    pub fn ending(&self, sid: &str) -> Option<&EndedSession> {
        self.ended.get(sid)
    }

    /// The person's sessions that ended recently (within the retention), newest
    /// end first, with their ids.
    pub fn recently_ended_of(&self, user_id: Uuid) -> Vec<(&str, &EndedSession)> {
        let mut ended: Vec<(&str, &EndedSession)> = self
            .ended_by_person
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|sid| Some((sid.as_str(), self.ended.get(sid)?)))
            .collect();
        ended.sort_by_key(|(_, ended)| std::cmp::Reverse(ended.ended_at));
        ended
    }

    /// The last time every session of the person ended at once.
    pub fn person_ending(&self, user_id: Uuid) -> Option<&PersonEnding> {
        self.person_endings.get(&user_id)
    }

    /// Folds one event; returns the sessions it ended (empty for any other event).
    pub fn apply_event(&mut self, event: &RecordedEvent) -> Result<Ended, DecodeError> {
        let ended = match event.event_type.as_str() {
            verity_domain::session::SESSION_STARTED
            | verity_domain::session::SESSION_CLIENT_ADDED
            | verity_domain::session::SESSION_ENDED => match SessionEvent::decode(event)? {
                Some(SessionEvent::Started(started)) => {
                    self.start(started, event)?;
                    Ended::default()
                }
                Some(SessionEvent::ClientAdded(added)) => {
                    if let Some(session) = self.live.get_mut(&added.sid) {
                        session.clients.insert(added.client_id);
                    }
                    Ended::default()
                }
                Some(SessionEvent::Ended(ended)) => {
                    let ending = Ending::Session(ended.reason);
                    self.end(&ended.sid, ending, event.recorded_at)
                }
                None => Ended::default(),
            },
            verity_domain::grant::GRANT_REVOKED => {
                if let Some(GrantEvent::Revoked(revoked)) = GrantEvent::decode(event)? {
                    self.revoked_grants
                        .insert(revoked.grant_id, event.recorded_at);
                }
                Ended::default()
            }
            verity_domain::token::TOKEN_REVOKED => {
                if let Some(TokenEvent::Revoked(revoked)) = TokenEvent::decode(event)? {
                    self.revoked_tokens.insert(revoked.jti, revoked.expires_at);
                }
                Ended::default()
            }
            USER_SESSIONS_ENDED => {
                let ended: SessionsEnded = decode::payload(event)?;
                let user_id = decode::stream_id(event, "user-")?;
                self.end_person(user_id, ended, event.recorded_at)
            }
            _ => return Ok(Ended::default()),
        };
        self.prune(event.recorded_at);
        Ok(ended)
    }

    fn start(&mut self, started: SessionStarted, event: &RecordedEvent) -> Result<(), DecodeError> {
        let user_id = Uuid::try_parse(&started.user_id)
            .map_err(|error| decode::invalid(event, error.to_string()))?;
        let view = SessionView {
            sid: started.sid.clone(),
            user_id,
            started_at: started.auth_time,
            amr: started.amr,
            started_event: event.position,
            clients: started.origin.client_id.into_iter().collect(),
        };
        // Every session of the person ended after this sign-in began (two nodes, a
        // moment apart): it is born over.
        if let Some(ending) = self.person_endings.get(&user_id)
            && view.started_at <= ending.at
            && ending.except_sid.as_deref() != Some(view.sid.as_str())
        {
            let ended = EndedSession {
                user_id,
                ended_at: event.recorded_at,
                ending: Ending::Person(ending.reason),
                started_at: Some(view.started_at),
                started_event: Some(view.started_event),
                clients: view.clients,
            };
            self.mark_ended(started.sid, ended);
            return Ok(());
        }
        self.by_person
            .entry(user_id)
            .or_default()
            .insert(view.sid.clone());
        self.live.insert(started.sid, view);
        Ok(())
    }

    /// Ends one live session.
    fn end(&mut self, sid: &str, ending: Ending, at: DateTime<Utc>) -> Ended {
        let Some(session) = self.live.remove(sid) else {
            return Ended::default();
        };
        if let Some(sids) = self.by_person.get_mut(&session.user_id) {
            sids.remove(sid);
            if sids.is_empty() {
                self.by_person.remove(&session.user_id);
            }
        }
        let ended = EndedSession {
            user_id: session.user_id,
            ended_at: at,
            ending,
            started_at: Some(session.started_at),
            started_event: Some(session.started_event),
            clients: session.clients.clone(),
        };
        self.mark_ended(sid.to_owned(), ended);
        Ended {
            sessions: vec![session],
        }
    }

    fn mark_ended(&mut self, sid: String, ended: EndedSession) {
        self.ended_by_person
            .entry(ended.user_id)
            .or_default()
            .insert(sid.clone());
        self.ended.insert(sid, ended);
    }

    fn end_person(&mut self, user_id: Uuid, ended: SessionsEnded, at: DateTime<Utc>) -> Ended {
        let ending = Ending::Person(ended.reason);
        let sids: Vec<String> = self
            .by_person
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter(|sid| ended.except_sid.as_deref() != Some(sid.as_str()))
            .cloned()
            .collect();
        let mut all = Ended::default();
        for sid in sids {
            all.sessions.extend(self.end(&sid, ending, at).sessions);
        }
        // An erased person's ended sessions stay marked (their tokens stay refused) but
        // no longer say where they signed in from.
        if ended.reason == AccessEndReason::Erased {
            for sid in self.ended_by_person.get(&user_id).into_iter().flatten() {
                if let Some(session) = self.ended.get_mut(sid) {
                    session.started_event = None;
                }
            }
        }
        self.person_endings.insert(
            user_id,
            PersonEnding {
                at,
                except_sid: ended.except_sid,
                reason: ended.reason,
            },
        );
        all
    }

    /// Forgets marks older than the retention, by the log's clock (every ten minutes of
    /// it, or a quarter of the retention, so folding stays O(1) per event).
    fn prune(&mut self, recorded_at: DateTime<Utc>) {
        let newest = self
            .newest
            .map_or(recorded_at, |newest| newest.max(recorded_at));
        self.newest = Some(newest);
        let every = PRUNE_EVERY.min(self.retention.0 / 4);
        if self.pruned.is_some_and(|pruned| newest - pruned < every) {
            return;
        }
        self.pruned = Some(newest);
        let horizon = newest - self.retention.0;
        self.ended.retain(|_, ended| ended.ended_at >= horizon);
        let ended = &self.ended;
        self.ended_by_person.retain(|_, sids| {
            sids.retain(|sid| ended.contains_key(sid));
            !sids.is_empty()
        });
        self.revoked_grants.retain(|_, at| *at >= horizon);
        self.revoked_tokens
            .retain(|_, expires_at| *expires_at >= newest);
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::grant::{GrantRevocationReason, GrantRevoked};
    use verity_domain::session::{SessionClientAdded, SessionEnded};
    use verity_domain::signin::Origin;
    use verity_domain::user::UserEvent;

    use super::*;

    const ADA: Uuid = Uuid::from_u128(1);

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn recorded(stream: String, event: &impl DomainEvent, minutes: i64) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            stream,
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(minutes),
            hash: String::new(),
        }
    }

    fn start(sessions: &mut Sessions, sid: &str, minutes: i64) {
        let started = SessionEvent::Started(SessionStarted {
            sid: sid.into(),
            user_id: ADA.to_string(),
            auth_time: at(minutes),
            amr: vec!["pwd".into(), "otp".into()],
            origin: Origin {
                client_id: Some("app".into()),
                ..Origin::default()
            },
        });
        let event = recorded(verity_domain::session::stream(sid), &started, minutes);
        sessions.apply_event(&event).unwrap();
    }

    fn add_client(sessions: &mut Sessions, sid: &str, client: &str, minutes: i64) {
        let added = SessionEvent::ClientAdded(SessionClientAdded {
            sid: sid.into(),
            client_id: client.into(),
        });
        let event = recorded(verity_domain::session::stream(sid), &added, minutes);
        sessions.apply_event(&event).unwrap();
    }

    fn end_session(sessions: &mut Sessions, sid: &str, minutes: i64) -> Ended {
        let ended = SessionEvent::Ended(SessionEnded {
            sid: sid.into(),
            user_id: ADA.to_string(),
            reason: SessionEndReason::Logout,
            client_id: None,
        });
        let event = recorded(verity_domain::session::stream(sid), &ended, minutes);
        sessions.apply_event(&event).unwrap()
    }

    fn end_person(sessions: &mut Sessions, except: Option<&str>, minutes: i64) -> Ended {
        let ended = UserEvent::SessionsEnded(SessionsEnded {
            reason: AccessEndReason::PasswordChanged,
            except_sid: except.map(str::to_owned),
        });
        let event = recorded(verity_domain::user::stream(ADA), &ended, minutes);
        sessions.apply_event(&event).unwrap()
    }

    #[test]
    fn a_session_lives_with_the_clients_it_signed_in_to_until_it_ends() {
        let mut sessions = Sessions::default();
        start(&mut sessions, "s1", 0);
        add_client(&mut sessions, "s1", "wiki", 2);
        add_client(&mut sessions, "s1", "wiki", 2);
        let live = sessions.get("s1").unwrap();
        let clients = |names: [&str; 2]| {
            names
                .map(str::to_owned)
                .into_iter()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(live.clients, clients(["app", "wiki"]));
        assert!(sessions.is_live("s1"));
        assert!(!sessions.has_ended("s1", ADA, at(0).timestamp()));
        assert_eq!(sessions.of_person(ADA).len(), 1);

        let ended = end_session(&mut sessions, "s1", 3);
        assert_eq!(ended.sessions.len(), 1);
        assert_eq!(ended.sessions[0].clients, clients(["app", "wiki"]));
        assert!(!sessions.is_live("s1"));
        assert!(sessions.has_ended("s1", ADA, at(0).timestamp()));
        assert!(sessions.of_person(ADA).is_empty());
        // Ending twice ends nothing more.
        assert!(end_session(&mut sessions, "s1", 4).sessions.is_empty());
    }

    #[test]
    fn every_session_of_a_person_ends_but_the_one_kept() {
        let mut sessions = Sessions::default();
        start(&mut sessions, "laptop", 0);
        start(&mut sessions, "phone", 1);
        start(&mut sessions, "tablet", 2);
        let ended = end_person(&mut sessions, Some("phone"), 5);
        let mut sids: Vec<&str> = ended.sessions.iter().map(|s| s.sid.as_str()).collect();
        sids.sort_unstable();
        assert_eq!(sids, ["laptop", "tablet"]);
        assert!(sessions.has_ended("laptop", ADA, at(0).timestamp()));
        assert!(!sessions.has_ended("phone", ADA, at(1).timestamp()));
        assert!(sessions.is_live("phone"));
        // A session that starts after the ending is untouched.
        start(&mut sessions, "later", 6);
        assert!(!sessions.has_ended("later", ADA, at(6).timestamp()));
        assert!(sessions.is_live("later"));
    }

    #[test]
    fn an_erased_persons_sessions_end_and_forget_where_they_came_from() {
        let mut sessions = Sessions::default();
        for (sid, minutes) in [("laptop", 0), ("phone", 1)] {
            let started = SessionEvent::Started(SessionStarted {
                sid: sid.into(),
                user_id: ADA.to_string(),
                auth_time: at(minutes),
                amr: vec!["pwd".into()],
                origin: Origin {
                    client_id: Some("app".into()),
                    ip: Some("192.0.2.7".into()),
                    user_agent: Some("Firefox".into()),
                },
            });
            let event = recorded(verity_domain::session::stream(sid), &started, minutes);
            sessions.apply_event(&event).unwrap();
        }
        end_session(&mut sessions, "laptop", 2);
        assert_eq!(sessions.recently_ended_of(ADA)[0].1.started_event, Some(1));
        let erased = UserEvent::SessionsEnded(SessionsEnded {
            reason: AccessEndReason::Erased,
            except_sid: None,
        });
        let event = recorded(verity_domain::user::stream(ADA), &erased, 3);
        assert_eq!(sessions.apply_event(&event).unwrap().sessions.len(), 1);
        let ended = sessions.recently_ended_of(ADA);
        assert_eq!(ended.len(), 2);
        assert!(
            ended
                .iter()
                .all(|(_, session)| session.started_event.is_none())
        );
        assert!(sessions.has_ended("phone", ADA, at(1).timestamp()));
    }

    #[test]
    fn a_sign_in_that_began_before_a_person_ending_is_born_over() {
        let mut sessions = Sessions::default();
        end_person(&mut sessions, None, 5);
        // The other node's sign-in authenticated at minute 4; its start arrives after.
        start(&mut sessions, "racing", 4);
        assert!(!sessions.is_live("racing"));
        assert!(sessions.has_ended("racing", ADA, at(4).timestamp()));
    }

    #[test]
    fn a_token_of_a_session_not_folded_yet_is_judged_by_its_own_auth_time() {
        let mut sessions = Sessions::default();
        end_person(&mut sessions, None, 5);
        assert!(sessions.has_ended("elsewhere", ADA, at(4).timestamp()));
        assert!(!sessions.has_ended("elsewhere", ADA, at(6).timestamp()));
        assert!(!sessions.has_ended("elsewhere", Uuid::from_u128(2), at(4).timestamp()));
    }

    #[test]
    fn a_revoked_grant_leaves_its_session_and_its_mark_ends_with_the_retention() {
        let mut sessions = Sessions::default();
        start(&mut sessions, "s1", 0);
        let revoked = GrantEvent::Revoked(GrantRevoked {
            grant_id: "g1".into(),
            client_id: "app".into(),
            user_id: Some(ADA.to_string()),
            reason: GrantRevocationReason::CodeReused,
        });
        let event = recorded(verity_domain::grant::stream("g1"), &revoked, 2);
        sessions.apply_event(&event).unwrap();
        assert!(sessions.grant_revoked("g1"));
        assert!(sessions.is_live("s1"));
        end_session(&mut sessions, "s1", 3);
        // A day and more later (by the log's clock) the marks are forgotten.
        start(&mut sessions, "s2", 3 + 26 * 60);
        assert!(!sessions.grant_revoked("g1"));
        assert!(sessions.ending("s1").is_none());
    }

    #[test]
    fn a_shorter_retention_forgets_marks_sooner_and_prunes_more_often() {
        let mut sessions = Sessions::default();
        sessions.keep_marks_for(Duration::minutes(8));
        start(&mut sessions, "s1", 0);
        end_session(&mut sessions, "s1", 1);
        start(&mut sessions, "s2", 8);
        assert!(sessions.ending("s1").is_some(), "kept for the retention");
        assert!(!sessions.may_refresh("s1", ADA, at(0).timestamp(), at(8)));
        // Pruned every two minutes (a quarter of it), not every ten.
        start(&mut sessions, "s3", 10);
        assert!(
            sessions.ending("s1").is_none(),
            "forgotten after eight minutes"
        );
        // A session not live that began before the retention is over.
        assert!(!sessions.may_refresh("elsewhere", ADA, at(1).timestamp(), at(10)));
        assert!(sessions.may_refresh("elsewhere", ADA, at(5).timestamp(), at(10)));
    }

    #[test]
    fn a_refresh_needs_a_live_session_or_one_too_young_to_have_been_forgotten() {
        let mut sessions = Sessions::default();
        start(&mut sessions, "s1", 0);
        assert!(sessions.may_refresh("s1", ADA, at(0).timestamp(), at(1)));
        // Not folded here yet, signed in a moment ago: nothing ended it.
        assert!(sessions.may_refresh("elsewhere", ADA, at(0).timestamp(), at(1)));
        end_session(&mut sessions, "s1", 2);
        assert!(!sessions.may_refresh("s1", ADA, at(0).timestamp(), at(3)));
        // Long after its end's mark is forgotten, a session that is not live is over.
        let later = at(30 * 60);
        start(&mut sessions, "s2", 30 * 60);
        assert!(sessions.ending("s1").is_none());
        assert!(!sessions.may_refresh("s1", ADA, at(0).timestamp(), later));
        assert!(!sessions.may_refresh("unknown", ADA, at(0).timestamp(), later));
    }

    #[test]
    fn the_state_survives_a_snapshot() {
        let mut sessions = Sessions::default();
        start(&mut sessions, "s1", 0);
        add_client(&mut sessions, "s1", "wiki", 1);
        end_person(&mut sessions, Some("s1"), 2);
        let json = serde_json::to_string(&sessions).unwrap();
        let restored: Sessions = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, sessions);
    }
}
