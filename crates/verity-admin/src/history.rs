//! Every event about a person, newest first, as admins and auditors read it: what
//! happened in one line, when, who did it (the person themselves, an admin by address,
//! the operator, the system, a client, a SCIM token), and from which address and
//! browser. Read from the person's own streams in the log (`user-<id>`, their roles'
//! `roles-user-<id>`), a page at a time by position.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::{EventMetadata, RecordedEvent};
use verity_projection::ReadModels;

use crate::actor::Actor;
use crate::admin::Admin;
use crate::error::AdminError;
use crate::event_lines;
use crate::people::PersonRef;

/// Most entries one page holds.
pub const MAX_PAGE: usize = 200;

/// Who caused an event, as a history names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorLabel {
    /// The person the history is about.
    Themselves,
    /// Another person (an admin), by address when the read models still know them.
    Admin {
        /// Their id.
        user_id: String,
        /// Their address.
        email: Option<String>,
    },
    /// The operator at the server's command line.
    Operator {
        /// Their operating-system user, when known.
        os_user: Option<String>,
    },
    /// Verity itself (a timeout, a limit, a first start).
    System,
    /// A service client on the admin API.
    Client {
        /// Its id.
        client_id: String,
    },
    /// An organization's SCIM token.
    ScimToken {
        /// Its id.
        token_id: String,
    },
}

impl ActorLabel {
    /// How a history line names the actor: "the person themselves", "ada@example.org",
    /// "the operator (root)", "the system", "client <id>", "SCIM token <id>".
    pub fn describe(&self) -> String {
        match self {
            Self::Themselves => "the person themselves".into(),
            Self::Admin { email, user_id } => email.clone().unwrap_or_else(|| user_id.clone()),
            Self::Operator {
                os_user: Some(user),
            } => format!("the operator ({user})"),
            Self::Operator { os_user: None } => "the operator".into(),
            Self::System => "the system".into(),
            Self::Client { client_id } => format!("client {client_id}"),
            Self::ScimToken { token_id } => format!("SCIM token {token_id}"),
        }
    }
}

/// One event about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Its position in the log.
    pub position: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Its stored type (`user.disabled`...).
    pub event_type: String,
    /// What happened, in one line.
    pub description: String,
    /// Who did it.
    pub actor: ActorLabel,
    /// From which address, when it came over HTTP.
    pub client_ip: Option<String>,
    /// With which browser, when the event says.
    pub user_agent: Option<String>,
}

/// One page of a history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The entries.
    pub entries: Vec<HistoryEntry>,
    /// Pass as `before` for the next (older) page, when there is one.
    pub next_before: Option<u64>,
}

impl Admin {
    /// The events about the person before position `before` (the newest without one),
    /// newest first, at most `limit` (up to [`MAX_PAGE`]).
    pub async fn person_history(
        &self,
        actor: &Actor,
        person: &PersonRef,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, AdminError> {
        let user_id = self.history_subject(actor, person).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut events = self.person_events(user_id).await?;
        events.retain(|event| before.is_none_or(|before| event.position < before));
        events.sort_by_key(|event| std::cmp::Reverse(event.position));
        let more = events.len() > limit;
        events.truncate(limit);
        let entries: Vec<HistoryEntry> = self.read(|models| {
            events
                .iter()
                .map(|event| entry(models, user_id, event))
                .collect()
        });
        let next_before = if more {
            entries.last().map(|entry| entry.position)
        } else {
            None
        };
        Ok(HistoryPage {
            entries,
            next_before,
        })
    }
}

impl Admin {
    /// Every event about the person recorded in `[from, to)` (either open), oldest
    /// first: `verity audit history --subject`.
    pub async fn events_about(
        &self,
        actor: &Actor,
        person: &PersonRef,
        (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    ) -> Result<Vec<HistoryEntry>, AdminError> {
        let user_id = self.history_subject(actor, person).await?;
        let mut events = self.person_events(user_id).await?;
        events.retain(|event| {
            from.is_none_or(|from| event.recorded_at >= from)
                && to.is_none_or(|to| event.recorded_at < to)
        });
        events.sort_by_key(|event| event.position);
        Ok(self.read(|models| {
            events
                .iter()
                .map(|event| entry(models, user_id, event))
                .collect()
        }))
    }

    /// The events of the person's own streams (their account, their roles), unordered.
    pub(crate) async fn person_events(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<RecordedEvent>, AdminError> {
        let mut events = Vec::new();
        for stream in [
            verity_domain::user::stream(user_id),
            verity_domain::role::Holder::User { user_id }.stream(),
        ] {
            events.extend(self.ports.store.read_stream(&stream).await?);
        }
        Ok(events)
    }
}

/// The entry for one event about `subject`.
pub fn entry(models: &ReadModels, subject: Uuid, event: &RecordedEvent) -> HistoryEntry {
    let metadata = event.decoded_metadata().ok();
    let (description, origin) = event_lines::read(event);
    let origin = origin.unwrap_or_default();
    HistoryEntry {
        position: event.position,
        at: metadata
            .as_ref()
            .map_or(event.recorded_at, |metadata| metadata.occurred_at),
        event_type: event.event_type.clone(),
        description,
        actor: metadata.as_ref().map_or(ActorLabel::System, |metadata| {
            label(models, subject, metadata)
        }),
        client_ip: metadata
            .as_ref()
            .and_then(|metadata| metadata.client_ip.clone())
            .or(origin.ip),
        user_agent: origin.user_agent,
    }
}

fn label(models: &ReadModels, subject: Uuid, metadata: &EventMetadata) -> ActorLabel {
    match &metadata.actor {
        verity_domain::Actor::User { user_id, .. } if *user_id == subject.to_string() => {
            ActorLabel::Themselves
        }
        verity_domain::Actor::User { user_id, .. } => ActorLabel::Admin {
            email: Uuid::try_parse(user_id)
                .ok()
                .and_then(|id| models.users.get(id))
                .map(|admin| admin.email.to_string()),
            user_id: user_id.clone(),
        },
        verity_domain::Actor::Cli { os_user } => ActorLabel::Operator {
            os_user: os_user.clone(),
        },
        verity_domain::Actor::System => ActorLabel::System,
        verity_domain::Actor::Client { client_id } => ActorLabel::Client {
            client_id: client_id.clone(),
        },
        verity_domain::Actor::ScimToken { token_id } => ActorLabel::ScimToken {
            token_id: token_id.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_as_people_read_them() {
        assert_eq!(ActorLabel::Themselves.describe(), "the person themselves");
        assert_eq!(ActorLabel::System.describe(), "the system");
        assert_eq!(
            ActorLabel::Operator {
                os_user: Some("root".into())
            }
            .describe(),
            "the operator (root)"
        );
        assert_eq!(
            ActorLabel::Admin {
                user_id: "u".into(),
                email: Some("ada@example.org".into())
            }
            .describe(),
            "ada@example.org"
        );
    }
}
