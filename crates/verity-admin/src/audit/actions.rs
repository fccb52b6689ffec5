//! What admins did: to others, by one admin (`verity audit history --actor`), and in one
//! organization (`verity audit history --org`). Both read the whole log in pages (no
//! index names an event's actor), keeping the events of the time range; [`Admin::scan`]
//! is also what the events search ([`super::events`]) reads with.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::{EventMetadata, RecordedEvent, user};
use verity_projection::ReadModels;

use crate::actor::{Actor, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::history::{HistoryEntry, entry};
use crate::organizations::{self, OrgRef};
use crate::people::PersonRef;

/// Events read per page of the log.
const PAGE: usize = 5_000;

/// An admin action: the event, and whom or what it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The event, with its actor.
    pub entry: HistoryEntry,
    /// Whom or what it was done to: a person's address, a client, an organization.
    pub subject: String,
}

/// What an event is about, by its stream.
pub(super) enum Subject {
    Person(Uuid),
    Client(String),
    Organization(Uuid),
    Other,
}

pub(super) fn subject_of(event: &RecordedEvent) -> Subject {
    let stream = event.stream.as_str();
    let uuid = |rest: &str| Uuid::try_parse(rest).ok();
    if let Some(id) = user::of_stream(stream) {
        return Subject::Person(id);
    }
    if let Some(id) = stream.strip_prefix("roles-user-").and_then(uuid) {
        return Subject::Person(id);
    }
    if let Some(id) = stream.strip_prefix("org-").and_then(uuid) {
        return Subject::Organization(id);
    }
    if let Some(client_id) = stream
        .strip_prefix("roles-client-")
        .or_else(|| stream.strip_prefix("client-"))
    {
        return Subject::Client(client_id.to_owned());
    }
    if stream.starts_with("session-") {
        let owner = serde_json::from_str::<serde_json::Value>(&event.data)
            .ok()
            .and_then(|data| {
                data.get("user_id")?
                    .as_str()
                    .and_then(|id| Uuid::try_parse(id).ok())
            });
        if let Some(owner) = owner {
            return Subject::Person(owner);
        }
    }
    Subject::Other
}

impl Subject {
    /// The organization it belongs to, by the read models now.
    pub(super) fn org_id(&self, models: &ReadModels) -> Option<Uuid> {
        match self {
            Self::Person(user_id) => models.users.get(*user_id).map(|view| view.org_id),
            Self::Client(client_id) => models
                .clients
                .get(client_id)
                .and_then(|client| client.settings.org_id),
            Self::Organization(org_id) => Some(*org_id),
            Self::Other => None,
        }
    }

    fn label(&self, models: &ReadModels) -> String {
        match self {
            Self::Person(user_id) => models
                .users
                .get(*user_id)
                .map_or_else(|| format!("user {user_id}"), |view| view.email.to_string()),
            Self::Client(client_id) => format!("client {client_id}"),
            Self::Organization(org_id) => models
                .organizations
                .get(*org_id)
                .map_or_else(|| format!("organization {org_id}"), |org| org.name.clone()),
            Self::Other => "the instance".into(),
        }
    }

    fn is_person(&self, user_id: Uuid) -> bool {
        matches!(self, Self::Person(id) if *id == user_id)
    }
}

/// Whether someone acted on something other than themselves (not the system).
fn by_an_admin(metadata: &EventMetadata, subject: &Subject) -> bool {
    match &metadata.actor {
        verity_domain::Actor::System => false,
        verity_domain::Actor::User { user_id, .. } => {
            Uuid::try_parse(user_id).is_ok_and(|id| !subject.is_person(id))
        }
        _ => true,
    }
}

impl Admin {
    /// What the person did to others (not to themselves), oldest first.
    pub async fn actions_by(
        &self,
        actor: &Actor,
        person: &PersonRef,
        range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    ) -> Result<Vec<Action>, AdminError> {
        let admin = self.find_person(actor, person)?.user_id;
        let admin_id = admin.to_string();
        self.scan_all(range, |models, event, metadata, subject| {
            let theirs = matches!(
                &metadata.actor,
                verity_domain::Actor::User { user_id, .. } if *user_id == admin_id
            );
            (theirs && !subject.is_person(admin) && readable(actor, models, subject))
                .then(|| action(models, event, subject))
        })
        .await
    }

    /// The admin actions on an organization's people, clients and roles, oldest first.
    pub async fn actions_in(
        &self,
        actor: &Actor,
        org: &OrgRef,
        range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    ) -> Result<Vec<Action>, AdminError> {
        let org_id = self.read(|models| {
            let org = organizations::visible(models, actor, org)?;
            authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
            Ok::<_, AdminError>(org.org_id)
        })?;
        self.scan_all(range, |models, event, metadata, subject| {
            (subject.org_id(models) == Some(org_id) && by_an_admin(metadata, subject))
                .then(|| action(models, event, subject))
        })
        .await
    }

    /// Every event in the range that `keep` makes an action of.
    async fn scan_all(
        &self,
        range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        keep: impl Fn(&ReadModels, &RecordedEvent, &EventMetadata, &Subject) -> Option<Action>,
    ) -> Result<Vec<Action>, AdminError> {
        Ok(self.scan(range, 0, usize::MAX, keep).await?.0)
    }

    /// Reads the log in pages from after position `after` and keeps what `keep` makes of
    /// the events in the range, until `limit` are kept: those, and the position to go on
    /// after when the log may hold more.
    pub(super) async fn scan(
        &self,
        (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        mut after: u64,
        limit: usize,
        keep: impl Fn(&ReadModels, &RecordedEvent, &EventMetadata, &Subject) -> Option<Action>,
    ) -> Result<(Vec<Action>, Option<u64>), AdminError> {
        let mut found = Vec::new();
        // Only the positions the range's events lie between are read.
        let last = match self.ports.store.recorded_within(from, to).await? {
            Some((first, last)) if after < last => {
                after = after.max(first.saturating_sub(1));
                last
            }
            _ => return Ok((found, None)),
        };
        loop {
            let page = self.ports.store.read_all(after, PAGE).await?;
            let in_range = page.iter().filter(|event| {
                from.is_none_or(|from| event.recorded_at >= from)
                    && to.is_none_or(|to| event.recorded_at < to)
            });
            let full = self.read(|models| {
                for event in in_range {
                    after = event.position;
                    let Ok(metadata) = event.decoded_metadata() else {
                        continue;
                    };
                    let subject = subject_of(event);
                    if let Some(action) = keep(models, event, &metadata, &subject) {
                        found.push(action);
                        if found.len() >= limit {
                            return true;
                        }
                    }
                }
                false
            });
            if full {
                return Ok((found, Some(after)));
            }
            match page.last() {
                Some(read) if page.len() == PAGE && read.position < last => after = read.position,
                _ => return Ok((found, None)),
            }
        }
    }
}

/// Whether the actor may read what an event is about: people of an organization they
/// may read, or — for what belongs to no organization — the instance's.
pub(super) fn readable(actor: &Actor, models: &ReadModels, subject: &Subject) -> bool {
    let scope = subject
        .org_id(models)
        .map_or(Scope::Instance, Scope::Organization);
    actor.may(Permission::ReadPeople, scope)
}

pub(super) fn action(models: &ReadModels, event: &RecordedEvent, subject: &Subject) -> Action {
    let about = match subject {
        Subject::Person(user_id) => *user_id,
        _ => Uuid::nil(),
    };
    Action {
        entry: entry(models, about, event),
        subject: subject.label(models),
    }
}
