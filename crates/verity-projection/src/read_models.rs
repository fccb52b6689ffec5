//! All read models behind one projection, so one projector (one pass over the log, one
//! snapshot) keeps every one of them current.

use serde::{Deserialize, Serialize};
use verity_domain::{DecodeError, RecordedEvent};

use crate::clients::Clients;
use crate::keys::Keys;
use crate::organizations::Organizations;
use crate::projection::Projection;
use crate::sessions::Sessions;
use crate::users::Users;

/// Every read model Verity serves from memory.
///
/// Adding a read model means adding a field here and bumping [`Projection::VERSION`], so
/// that old snapshots (which lack it) are not used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadModels {
    /// Organizations by id and name.
    pub organizations: Organizations,
    /// People by id and by email within their organization.
    pub users: Users,
    /// OAuth clients by client id (deleted ones are gone).
    pub clients: Clients,
    /// Signing keys by key id, with their state.
    pub keys: Keys,
    /// Live sessions and grants, and the marks of what ended.
    pub sessions: Sessions,
}

impl Projection for ReadModels {
    const NAME: &'static str = "read_models";
    const VERSION: u32 = 6;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        // Each model decodes before it changes anything and the models share no event
        // type, so a failure leaves the whole state as it was.
        self.organizations.apply(event)?;
        self.clients.apply(event)?;
        self.users.apply(event)?;
        self.keys.apply(event)?;
        self.sessions.apply_event(event)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;
    use verity_domain::organization::{OrganizationCreated, OrganizationEvent};
    use verity_domain::user::{UserCreated, UserEvent};
    use verity_domain::{DomainEvent, Email};

    use super::*;

    fn recorded(position: u64, stream: String, event: &impl DomainEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream,
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            hash: String::new(),
        }
    }

    #[test]
    fn one_fold_feeds_every_read_model() {
        let org_id = Uuid::from_u128(1);
        let user_id = Uuid::from_u128(2);
        let events = [
            recorded(
                1,
                verity_domain::organization::stream(org_id),
                &OrganizationEvent::Created(OrganizationCreated {
                    org_id,
                    name: "Acme".into(),
                }),
            ),
            recorded(
                2,
                verity_domain::user::stream(user_id),
                &UserEvent::Created(UserCreated {
                    user_id,
                    org_id,
                    email: Email::parse("ada@example.org").unwrap(),
                    name: "Ada".into(),
                    temporary_password_hash: "$argon2id$x".into(),
                    temporary_password_expires_at: DateTime::parse_from_rfc3339(
                        "2026-12-05T10:00:00Z",
                    )
                    .unwrap()
                    .with_timezone(&Utc),
                }),
            ),
        ];
        let mut models = ReadModels::default();
        for event in &events {
            models.apply(event).unwrap();
        }
        assert_eq!(models.organizations.len(), 1);
        assert_eq!(models.users.len(), 1);
        assert_eq!(
            models.users.get(user_id).map(|user| user.org_id),
            models
                .organizations
                .find_by_name("acme")
                .map(|org| org.org_id)
        );

        let json = serde_json::to_vec(&models).unwrap();
        let restored: ReadModels = serde_json::from_slice(&json).unwrap();
        assert_eq!(restored, models);
    }
}
