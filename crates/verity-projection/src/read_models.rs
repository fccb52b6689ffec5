//! All read models behind one projection, so one projector (one pass over the log, one
//! snapshot) keeps every one of them current.

use serde::{Deserialize, Serialize};
use verity_domain::{DecodeError, RecordedEvent};

use crate::organizations::Organizations;
use crate::projection::Projection;
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
}

impl Projection for ReadModels {
    const NAME: &'static str = "read_models";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        // Each model decodes before it changes anything and the models share no event
        // type, so a failure leaves the whole state as it was.
        self.organizations.apply(event)?;
        self.users.apply(event)
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

    /// The fold must keep up with a busy log: at least 500,000 events per second in a
    /// release build, with a realistic mix (a tenth creations, most of the rest changes
    /// and events of other types). Run with
    /// `cargo test -p verity-projection --release --lib -- --ignored fold_throughput`.
    #[test]
    #[ignore = "a measurement; meaningful in release builds only"]
    fn fold_throughput() {
        let org_id = Uuid::from_u128(1);
        let users = 20_000u128;
        let hash =
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo";
        let at = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let events: Vec<RecordedEvent> = (0..200_000u64)
            .map(|index| {
                let position = index + 1;
                let user_id = Uuid::from_u128(u128::from(index) % users + 2);
                let user_stream = verity_domain::user::stream(user_id);
                match index % 10 {
                    _ if u128::from(index) < users => recorded(
                        position,
                        user_stream,
                        &UserEvent::Created(UserCreated {
                            user_id,
                            org_id,
                            email: Email::parse(&format!("person{index}@example.org")).unwrap(),
                            name: format!("Person {index}"),
                            temporary_password_hash: hash.into(),
                            temporary_password_expires_at: at,
                        }),
                    ),
                    0..=2 => recorded(
                        position,
                        user_stream,
                        &UserEvent::PasswordChanged(verity_domain::user::PasswordChanged {
                            password_hash: hash.into(),
                        }),
                    ),
                    3 | 4 => recorded(position, user_stream, &UserEvent::Disabled),
                    _ => RecordedEvent {
                        event_type: "session.started".into(),
                        data: r#"{"session_id":"0192f0b2-9a44-7cc1-a6a6-1f0c1d2e3f40"}"#.into(),
                        ..recorded(position, format!("session-{index}"), &UserEvent::Enabled)
                    },
                }
            })
            .collect();

        let started = std::time::Instant::now();
        let mut models = ReadModels::default();
        for event in &events {
            models.apply(event).unwrap();
        }
        let per_second = events.len() as f64 / started.elapsed().as_secs_f64();
        println!("folded {} events at {per_second:.0} events/s", events.len());
        assert_eq!(models.users.len(), users as usize);
        if !cfg!(debug_assertions) {
            assert!(per_second >= 500_000.0, "{per_second:.0} events/s");
        }
    }
}
