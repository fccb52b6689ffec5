//! A person's account as it was at an instant `T`: replayed from their own streams up to
//! `T` (their account, their roles, and the sessions their sign-ins started in the
//! session lifetime before `T`), with the same folds that keep the read models, so the
//! answer means what the live one means.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::personal::ERASED_TEXT;
use verity_domain::role::Grant;
use verity_domain::signin::{LockedStep, SignInEvent};
use verity_domain::user::{
    USER_ERASED, USER_SESSIONS_ENDED, USER_TEMPORARY_PASSWORD_ISSUED, USER_UNLOCKED,
};
use verity_domain::{DomainEvent, RecordedEvent};
use verity_projection::{PasswordState, Projection, Roles, Sessions, UserView};

use crate::actor::Actor;
use crate::admin::Admin;
use crate::devices::Device;
use crate::error::{AdminError, Missing};
use crate::people::{PersonRef, Status};

/// A session live at the instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAt {
    /// Its id.
    pub sid: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The applications it had signed the person in to by then.
    pub clients: Vec<String>,
}

/// A sign-in lock in force at the instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockAt {
    /// The step it locked (`password` or `second_factor`).
    pub step: &'static str,
    /// Until when.
    pub until: DateTime<Utc>,
}

/// The account as it was at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAt {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The person's id.
    pub user_id: Uuid,
    /// Their organization.
    pub org_id: Uuid,
    /// Their address then.
    pub email: String,
    /// Their name then.
    pub name: String,
    /// Active or disabled then (as they were when erased, for an erased person).
    pub status: Status,
    /// Whether they had been erased by then: every personal field reads as erased.
    pub erased: bool,
    /// When their password was last set, and whether it was a temporary one.
    pub password_set_at: DateTime<Utc>,
    /// Whether that password was a temporary one from an admin.
    pub password_temporary: bool,
    /// Their authenticator apps by name.
    pub authenticators: Vec<String>,
    /// The devices they had trusted, with their state then.
    pub trusted_devices: Vec<Device>,
    /// Their live sessions then.
    pub sessions: Vec<SessionAt>,
    /// The roles they held then.
    pub roles: Vec<Grant>,
    /// A sign-in lock in force then.
    pub locks: Vec<LockAt>,
}

impl Admin {
    /// The person's account as it was at `at` (`verity audit account`).
    pub async fn account_at(
        &self,
        actor: &Actor,
        person: &PersonRef,
        at: DateTime<Utc>,
    ) -> Result<AccountAt, AdminError> {
        let user_id = self.history_subject(actor, person).await?;
        let mut events = self.person_events(user_id).await?;
        events.retain(|event| event.recorded_at <= at);
        events.sort_by_key(|event| event.position);
        let mut roles = Roles::default();
        // An erasure is folded as a status: the fold would forget the person.
        let mut erased = false;
        for event in &events {
            if event.event_type == USER_ERASED {
                erased = true;
                continue;
            }
            roles.apply(event)?;
        }
        let stream = verity_domain::user::stream(user_id);
        let theirs = events
            .iter()
            .filter(|event| event.stream == stream && event.event_type != USER_ERASED);
        let not_yet = || AdminError::NotFound(Missing::PersonId(user_id));
        let view = &UserView::fold(theirs)?.ok_or_else(not_yet)?;
        let (password_set_at, password_temporary) = match &view.password {
            PasswordState::Temporary { .. } => (temporary_since(view, &events), true),
            PasswordState::Chosen { changed_at, .. } => (*changed_at, false),
        };
        Ok(AccountAt {
            at,
            user_id,
            org_id: view.org_id,
            email: if erased {
                ERASED_TEXT.to_owned()
            } else {
                view.email.to_string()
            },
            name: if erased {
                ERASED_TEXT.to_owned()
            } else {
                view.name.clone()
            },
            status: if view.disabled {
                Status::Disabled
            } else {
                Status::Active
            },
            erased,
            password_set_at,
            password_temporary,
            authenticators: view
                .mfa
                .totp
                .iter()
                .map(|totp| totp.app_name.clone())
                .collect(),
            trusted_devices: view
                .mfa
                .trusted_devices
                .iter()
                .map(|device| Device::at(device, at))
                .collect(),
            sessions: self.sessions_at(user_id, &events, at).await?,
            roles: roles.grants_of_person(user_id),
            locks: locks_at(&events, at),
        })
    }

    /// The sessions live at `at`: started by the person's sign-ins within the session
    /// lifetime before it, not ended by then (by their own stream or the person's).
    async fn sessions_at(
        &self,
        user_id: Uuid,
        events: &[RecordedEvent],
        at: DateTime<Utc>,
    ) -> Result<Vec<SessionAt>, AdminError> {
        let since = at - self.settings.session_lifetime;
        let mut folded: Vec<RecordedEvent> = events
            .iter()
            .filter(|event| event.event_type == USER_SESSIONS_ENDED)
            .cloned()
            .collect();
        for event in events.iter().filter(|event| event.recorded_at > since) {
            if let Ok(Some(SignInEvent::Succeeded(succeeded))) = SignInEvent::decode(event) {
                let stream = verity_domain::session::stream(&succeeded.sid);
                folded.extend(
                    self.ports
                        .store
                        .read_stream(&stream)
                        .await?
                        .into_iter()
                        .filter(|event| event.recorded_at <= at),
                );
            }
        }
        folded.sort_by_key(|event| event.position);
        let mut sessions = Sessions::default();
        for event in &folded {
            sessions.apply_event(event)?;
        }
        Ok(sessions
            .of_person(user_id)
            .into_iter()
            .filter(|session| session.started_at > since)
            .map(|session| SessionAt {
                sid: session.sid.clone(),
                started_at: session.started_at,
                clients: session.clients.iter().cloned().collect(),
            })
            .collect())
    }
}

/// The sign-in locks in force at `at`: each step's last lock not yet over and not lifted
/// by an admin after it.
fn locks_at(events: &[RecordedEvent], at: DateTime<Utc>) -> Vec<LockAt> {
    let mut locks: Vec<(LockedStep, DateTime<Utc>, u64)> = Vec::new();
    let mut unlocked_at = 0;
    for event in events {
        if event.event_type == USER_UNLOCKED {
            unlocked_at = event.position;
        } else if let Ok(Some(SignInEvent::Locked(locked))) = SignInEvent::decode(event) {
            locks.retain(|(step, _, _)| *step != locked.step);
            locks.push((locked.step, locked.until, event.position));
        }
    }
    locks
        .into_iter()
        .filter(|(_, until, position)| *until > at && *position > unlocked_at)
        .map(|(step, until, _)| LockAt {
            step: match step {
                LockedStep::Password => "password",
                LockedStep::SecondFactor => "second_factor",
            },
            until,
        })
        .collect()
}

/// When the temporary password `view` has was set: the last reset, else the account's
/// creation.
fn temporary_since(view: &UserView, events: &[RecordedEvent]) -> DateTime<Utc> {
    events
        .iter()
        .rev()
        .find(|event| event.event_type == USER_TEMPORARY_PASSWORD_ISSUED)
        .map_or(view.created_at, |event| event.recorded_at)
}
