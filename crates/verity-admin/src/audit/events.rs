//! A search of the log's events by type, actor, organization and time range, a page at a
//! time, oldest first: what the console's Audit section asks. The actor sees only the
//! events about what they may read (people of their organization; what belongs to no
//! organization only with a reading grant over the instance).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::actions::{Action, action, readable};
use crate::actor::Actor;
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::organizations::{self, OrgRef};
use crate::people::PersonRef;

/// Most events one page holds.
pub const MAX_EVENTS: usize = 200;

/// What to look for; every part left empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// An event type (`user.disabled`), or the start of one up to a dot (`user`,
    /// `user.signin`).
    pub event_type: Option<String>,
    /// Who did it: a person.
    pub actor: Option<PersonRef>,
    /// About what of an organization (its people, clients, roles).
    pub org: Option<OrgRef>,
    /// Recorded at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Only events after this position (the `next` of a previous page).
    pub after: Option<u64>,
    /// Most events to answer (up to [`MAX_EVENTS`]).
    pub limit: usize,
}

/// One page of found events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPage {
    /// The events, each with whom or what it was about.
    pub events: Vec<Action>,
    /// Pass as `after` for the next page, when the log may hold more.
    pub next: Option<u64>,
}

/// Whether `event_type` is `wanted` or one of its kind (`user` for `user.disabled`).
fn type_matches(wanted: &str, event_type: &str) -> bool {
    event_type == wanted
        || event_type
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl Admin {
    /// The events `query` asks for, a page of them, oldest first.
    pub async fn search_events(
        &self,
        actor: &Actor,
        query: &EventQuery,
    ) -> Result<EventsPage, AdminError> {
        let org_id: Option<Uuid> = match &query.org {
            None => None,
            Some(org) => Some(self.read(|models| {
                let org = organizations::visible(models, actor, org)?;
                authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
                Ok::<_, AdminError>(org.org_id)
            })?),
        };
        let by: Option<String> = match &query.actor {
            None => None,
            Some(person) => Some(self.find_person(actor, person)?.user_id.to_string()),
        };
        let wanted = query
            .event_type
            .as_deref()
            .map(str::trim)
            .filter(|wanted| !wanted.is_empty());
        let (events, next) = self
            .scan(
                (query.from, query.to),
                query.after.unwrap_or(0),
                query.limit.clamp(1, MAX_EVENTS),
                |models, event, metadata, subject| {
                    let of_type = wanted.is_none_or(|wanted| type_matches(wanted, &event.event_type));
                    let of_actor = by.as_deref().is_none_or(|by| {
                        matches!(&metadata.actor, verity_domain::Actor::User { user_id, .. } if user_id == by)
                    });
                    let of_org = org_id.is_none_or(|org_id| subject.org_id(models) == Some(org_id));
                    (of_type && of_actor && of_org && readable(actor, models, subject))
                        .then(|| action(models, event, subject))
                },
            )
            .await?;
        Ok(EventsPage { events, next })
    }
}

#[cfg(test)]
mod tests {
    use super::type_matches;

    #[test]
    fn a_type_matches_itself_and_its_kind_up_to_a_dot() {
        assert!(type_matches("user.disabled", "user.disabled"));
        assert!(type_matches("user", "user.disabled"));
        assert!(type_matches("user.signin", "user.signin.failed"));
        assert!(!type_matches("user.sign", "user.signin.failed"));
        assert!(!type_matches("user.disabled", "user.enabled"));
        assert!(!type_matches("role", "roles.changed"));
    }
}
