//! Organizations own users.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Context};
use crate::event::domain_events;
use crate::store::UniqueKey;

/// Longest organization name accepted.
pub const MAX_ORGANIZATION_NAME: usize = 100;

/// The stream of an organization.
pub fn stream(org_id: Uuid) -> String {
    format!("org-{org_id}")
}

/// The unique key that keeps organization names distinct (case-insensitively).
pub fn name_key(name: &str) -> UniqueKey {
    UniqueKey(format!("org-name:{}", name.trim().to_lowercase()))
}

/// What can be asked of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationCommand {
    /// Create it.
    Create {
        /// A fresh id.
        org_id: Uuid,
        /// Display name, unique within the instance.
        name: String,
    },
}

/// What an organization records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrganizationEvent {
    /// `org.created`
    Created(OrganizationCreated),
}

/// Payload of `org.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationCreated {
    /// The organization's id.
    pub org_id: Uuid,
    /// Its display name.
    pub name: String,
}

/// Stored type name of [`OrganizationCreated`].
pub const ORG_CREATED: &str = "org.created";

domain_events! {
    OrganizationEvent {
        Created(OrganizationCreated) => ORG_CREATED,
    }
}

/// Why an organization command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationError {
    /// The stream already holds an organization.
    #[error("the organization already exists")]
    AlreadyExists,
    /// Empty or too long.
    #[error("an organization name must have 1 to {MAX_ORGANIZATION_NAME} characters")]
    InvalidName,
}

/// The organization as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// Present once created.
    pub created: Option<OrganizationCreated>,
}

impl Aggregate for Organization {
    type Command = OrganizationCommand;
    type Event = OrganizationEvent;
    type Error = OrganizationError;

    fn decide(
        &self,
        command: &Self::Command,
        _context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            OrganizationCommand::Create { org_id, name } => {
                if self.created.is_some() {
                    return Err(OrganizationError::AlreadyExists);
                }
                let name = name.trim();
                if name.is_empty() || name.chars().count() > MAX_ORGANIZATION_NAME {
                    return Err(OrganizationError::InvalidName);
                }
                Ok(vec![OrganizationEvent::Created(OrganizationCreated {
                    org_id: *org_id,
                    name: name.to_owned(),
                })])
            }
        }
    }

    fn evolve(self, event: &Self::Event) -> Self {
        match event {
            OrganizationEvent::Created(created) => Self {
                created: Some(created.clone()),
            },
        }
    }

    fn unique_keys(event: &Self::Event) -> (Vec<UniqueKey>, Vec<UniqueKey>) {
        match event {
            OrganizationEvent::Created(created) => (vec![name_key(&created.name)], Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::scenario::Scenario;

    fn created() -> OrganizationEvent {
        OrganizationEvent::Created(OrganizationCreated {
            org_id: Uuid::nil(),
            name: "Acme".into(),
        })
    }

    #[test]
    fn the_event_round_trips_and_a_newer_schema_or_another_type_is_not_misread() {
        use crate::event::{DecodeError, DomainEvent, recorded};
        let event = created();
        let mut recorded = recorded(stream(Uuid::nil()), &event);
        assert_eq!(event.event_type(), "org.created");
        assert_eq!(OrganizationEvent::decode(&recorded), Ok(Some(event)));
        recorded.schema = 2;
        assert!(matches!(
            OrganizationEvent::decode(&recorded),
            Err(DecodeError::UnknownSchema { schema: 2, .. })
        ));
        recorded.event_type = "user.created".into();
        assert_eq!(OrganizationEvent::decode(&recorded), Ok(None));
    }

    #[test]
    fn an_organization_is_created_with_a_trimmed_name() {
        Scenario::<Organization>::given([])
            .when(OrganizationCommand::Create {
                org_id: Uuid::nil(),
                name: "  Acme ".into(),
            })
            .then([created()]);
    }

    #[test]
    fn an_organization_is_created_once() {
        Scenario::<Organization>::given([created()])
            .when(OrganizationCommand::Create {
                org_id: Uuid::nil(),
                name: "Acme".into(),
            })
            .then_err(OrganizationError::AlreadyExists);
    }

    #[test]
    fn an_empty_or_overlong_name_is_refused() {
        for name in ["   ".to_owned(), "x".repeat(MAX_ORGANIZATION_NAME + 1)] {
            Scenario::<Organization>::given([])
                .when(OrganizationCommand::Create {
                    org_id: Uuid::nil(),
                    name,
                })
                .then_err(OrganizationError::InvalidName);
        }
    }

    #[test]
    fn the_name_claims_a_case_insensitive_key() {
        let (claims, releases) = Organization::unique_keys(&created());
        assert_eq!(claims, vec![UniqueKey("org-name:acme".into())]);
        assert!(releases.is_empty());
    }
}
