//! The organizations read model: every organization by id and by name.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use verity_domain::organization::ORG_CREATED;
use verity_domain::{DecodeError, RecordedEvent};

use crate::decode;
use crate::projection::Projection;

/// An organization as the rest of Verity sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationView {
    /// Its id.
    pub org_id: Uuid,
    /// Its display name, as given (trimmed).
    pub name: String,
    /// When `org.created` was recorded.
    pub created_at: DateTime<Utc>,
}

/// Every organization, by id and by case-insensitive name.
///
/// Serialised as the list of views only; the name index is rebuilt when a snapshot is
/// read, so it cannot disagree with the views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organizations {
    by_id: HashMap<Uuid, OrganizationView>,
    /// Lower-cased name to id; ordered, so listing by name needs no sort.
    by_name: BTreeMap<String, Uuid>,
}

/// The part of `org.created` this model needs.
#[derive(Deserialize)]
struct Created {
    org_id: Uuid,
    name: String,
}

/// The index key of a name, as the domain's unique key compares names.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Organizations {
    /// The organization with this id.
    pub fn get(&self, org_id: Uuid) -> Option<&OrganizationView> {
        self.by_id.get(&org_id)
    }

    /// The organization with this name, compared case-insensitively and trimmed.
    pub fn find_by_name(&self, name: &str) -> Option<&OrganizationView> {
        self.by_name
            .get(&name_key(name))
            .and_then(|org_id| self.by_id.get(org_id))
    }

    /// Every organization, sorted by (case-insensitive) name.
    pub fn list(&self) -> Vec<&OrganizationView> {
        self.by_name
            .values()
            .filter_map(|org_id| self.by_id.get(org_id))
            .collect()
    }

    /// How many organizations there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is no organization yet.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds (or replaces) a view and keeps the name index in step.
    fn insert(&mut self, view: OrganizationView) {
        if let Some(previous) = self.by_id.get(&view.org_id) {
            let previous_key = name_key(&previous.name);
            if self.by_name.get(&previous_key) == Some(&view.org_id) {
                self.by_name.remove(&previous_key);
            }
        }
        self.by_name.insert(name_key(&view.name), view.org_id);
        self.by_id.insert(view.org_id, view);
    }
}

impl Projection for Organizations {
    const NAME: &'static str = "organizations";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if event.event_type != ORG_CREATED {
            return Ok(());
        }
        let created: Created = decode::payload(event)?;
        self.insert(OrganizationView {
            org_id: created.org_id,
            name: created.name,
            created_at: event.recorded_at,
        });
        Ok(())
    }
}

impl Serialize for Organizations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.by_id.values())
    }
}

impl<'de> Deserialize<'de> for Organizations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let views = Vec::<OrganizationView>::deserialize(deserializer)?;
        let mut organizations = Self::default();
        for view in views {
            organizations.insert(view);
        }
        Ok(organizations)
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent;
    use verity_domain::organization::{OrganizationCreated, OrganizationEvent, stream};

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-28T10:{minute:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn created(position: u64, org_id: Uuid, name: &str) -> RecordedEvent {
        let event = OrganizationEvent::Created(OrganizationCreated {
            org_id,
            name: name.into(),
        });
        RecordedEvent {
            position,
            stream: stream(org_id),
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(position as u32),
            hash: String::new(),
        }
    }

    fn fold(events: &[RecordedEvent]) -> Organizations {
        let mut organizations = Organizations::default();
        for event in events {
            organizations.apply(event).unwrap();
        }
        organizations
    }

    #[test]
    fn a_created_organization_is_found_by_id_and_by_name() {
        let acme = Uuid::from_u128(1);
        let organizations = fold(&[created(3, acme, "Acme Corp")]);

        let expected = OrganizationView {
            org_id: acme,
            name: "Acme Corp".into(),
            created_at: at(3),
        };
        assert_eq!(organizations.get(acme), Some(&expected));
        assert_eq!(organizations.find_by_name("  aCME corp "), Some(&expected));
        assert_eq!(organizations.find_by_name("Acme"), None);
        assert_eq!(organizations.get(Uuid::from_u128(2)), None);
        assert_eq!(organizations.len(), 1);
    }

    #[test]
    fn organizations_are_listed_by_name_whatever_their_case() {
        let organizations = fold(&[
            created(1, Uuid::from_u128(1), "zeta"),
            created(2, Uuid::from_u128(2), "Alpha"),
            created(3, Uuid::from_u128(3), "beta"),
        ]);
        let names: Vec<&str> = organizations
            .list()
            .iter()
            .map(|view| view.name.as_str())
            .collect();
        assert_eq!(names, ["Alpha", "beta", "zeta"]);
    }

    #[test]
    fn other_event_types_are_skipped_without_reading_them() {
        let mut event = created(1, Uuid::from_u128(1), "Acme");
        event.event_type = "session.started".into();
        event.data = "not even json".into();
        let mut organizations = Organizations::default();
        organizations.apply(&event).unwrap();
        assert!(organizations.is_empty());
    }

    #[test]
    fn an_unreadable_payload_is_an_error_and_changes_nothing() {
        let mut event = created(7, Uuid::from_u128(1), "Acme");
        event.data = r#"{"org_id":"not-a-uuid","name":"Acme"}"#.into();
        let mut organizations = Organizations::default();
        let error = organizations.apply(&event).unwrap_err();
        assert!(
            matches!(error, DecodeError::Payload { position: 7, ref event_type, .. } if event_type == "org.created"),
            "{error:?}"
        );
        assert!(organizations.is_empty());
    }

    #[test]
    fn a_newer_schema_is_refused_rather_than_misread() {
        let mut event = created(1, Uuid::from_u128(1), "Acme");
        event.schema = 2;
        let error = Organizations::default().apply(&event).unwrap_err();
        assert!(matches!(
            error,
            DecodeError::UnknownSchema { schema: 2, .. }
        ));
    }

    #[test]
    fn a_snapshot_round_trip_rebuilds_the_name_index() {
        let organizations = fold(&[
            created(1, Uuid::from_u128(1), "Acme"),
            created(2, Uuid::from_u128(2), "Globex"),
        ]);
        let json = serde_json::to_string(&organizations).unwrap();
        let restored: Organizations = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, organizations);
        assert_eq!(
            restored.find_by_name("globex").map(|view| view.org_id),
            Some(Uuid::from_u128(2))
        );
    }
}
