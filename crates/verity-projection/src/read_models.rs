//! All read models behind one projection, so one projector (one pass over the log, one
//! snapshot) keeps every one of them current.

use serde::{Deserialize, Serialize};
use verity_domain::session::SESSION_STARTED;
use verity_domain::store::PersonalReads;
use verity_domain::{DecodeError, RecordedEvent};

use crate::clients::Clients;
use crate::keys::Keys;
use crate::organizations::Organizations;
use crate::outbox::Outbox;
use crate::projection::Projection;
use crate::roles::Roles;
use crate::scim_tokens::ScimTokens;
use crate::sessions::Sessions;
use crate::users::{SIGN_IN_FACTS, Users};

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
    /// Back-channel logout notices still to deliver.
    pub outbox: Outbox,
    /// Who holds which admin role, where.
    pub roles: Roles,
    /// SCIM provisioning tokens by id.
    pub scim_tokens: ScimTokens,
}

impl ReadModels {
    /// Empty models that keep marks of ended sessions and revoked grants for `retention`
    /// (by the log's clock): a template for [`crate::Projector::start_like`].
    pub fn keeping_marks_for(retention: chrono::Duration) -> Self {
        let mut models = Self::default();
        models.sessions.keep_marks_for(retention);
        models
    }
}

impl Projection for ReadModels {
    const NAME: &'static str = "read_models";
    const VERSION: u32 = 12;
    /// The people's, and no session's start: sessions keep where their start is, and
    /// where it came from is read there when shown. No model reads a sign-in fact or a
    /// client address. Tested: a log whose unread values are scrambled folds to the same
    /// models.
    const PERSONAL_READS: PersonalReads = PersonalReads {
        unread_types: &{
            let [succeeded, failed, locked] = SIGN_IN_FACTS;
            [succeeded, failed, locked, SESSION_STARTED]
        },
        client_addresses: false,
    };

    fn configure_like(&mut self, template: &Self) {
        self.sessions.keep_marks_for(template.sessions.retention());
    }

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        // An event no aggregate knows would be passed over by every model: refuse it.
        verity_domain::known_types::check_known(event)?;
        // Each model decodes before it changes anything and the models share no event
        // type, so a failure leaves the whole state as it was.
        self.organizations.apply(event)?;
        self.clients.apply(event)?;
        self.users.apply(event)?;
        self.keys.apply(event)?;
        self.outbox.apply(event)?;
        self.roles.apply(event)?;
        self.scim_tokens.apply(event)?;
        let ended = self.sessions.apply_event(event)?;
        if !ended.sessions.is_empty() {
            self.outbox.enqueue(&ended, &self.clients, event);
        }
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

    /// The organization Acme (`org_id`) created, then Ada (`user_id`) in it: positions 1
    /// and 2.
    fn acme_and_ada(org_id: Uuid, user_id: Uuid) -> [RecordedEvent; 2] {
        [
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
        ]
    }

    #[test]
    fn one_fold_feeds_every_read_model() {
        let org_id = Uuid::from_u128(1);
        let user_id = Uuid::from_u128(2);
        let events = acme_and_ada(org_id, user_id);
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

    fn client(client_id: &str, backchannel: Option<&str>) -> verity_domain::client::ClientEvent {
        use verity_domain::client::{
            ClientEvent, ClientRegistered, ClientSettings, ClientType, GrantType, SigningAlgorithm,
            TokenEndpointAuthMethod,
        };
        ClientEvent::Registered(ClientRegistered {
            client_id: client_id.into(),
            client_type: ClientType::Confidential,
            settings: ClientSettings {
                name: client_id.into(),
                redirect_uris: vec!["https://app.example.org/cb".into()],
                post_logout_redirect_uris: Vec::new(),
                grant_types: vec![GrantType::AuthorizationCode],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                id_token_signed_response_alg: SigningAlgorithm::RS256,
                scopes: vec!["openid".into()],
                require_pkce: true,
                jwks: None,
                backchannel_logout_uri: backchannel.map(str::to_owned),
                org_id: None,
            },
            secret_hash: None,
        })
    }

    #[test]
    fn an_ended_session_owes_a_notice_to_each_client_with_a_back_channel_until_it_is_closed() {
        use verity_domain::backchannel::{BackchannelEvent, NoticeDelivered};
        use verity_domain::session::{SessionClientAdded, SessionEvent, SessionStarted};
        use verity_domain::user::{AccessEndReason, SessionsEnded};

        let ada = Uuid::from_u128(7);
        let mut models = ReadModels::default();
        let mut position = 0;
        let mut fold =
            |models: &mut ReadModels, stream: String, event: &dyn Fn() -> RecordedEvent| {
                position += 1;
                let mut recorded = event();
                recorded.position = position;
                recorded.stream = stream;
                models.apply(&recorded).unwrap();
            };
        fold(&mut models, "client-app".into(), &|| {
            recorded(
                0,
                String::new(),
                &client("app", Some("https://app.example.org/bcl")),
            )
        });
        fold(&mut models, "client-wiki".into(), &|| {
            recorded(0, String::new(), &client("wiki", None))
        });
        let started = SessionEvent::Started(SessionStarted {
            sid: "s1".into(),
            user_id: ada.to_string(),
            auth_time: DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            amr: vec!["pwd".into(), "otp".into()],
            origin: verity_domain::signin::Origin {
                client_id: Some("app".into()),
                ..Default::default()
            },
        });
        fold(&mut models, "session-s1".into(), &|| {
            recorded(0, String::new(), &started)
        });
        for client_id in ["wiki", "app"] {
            let added = SessionEvent::ClientAdded(SessionClientAdded {
                sid: "s1".into(),
                client_id: client_id.into(),
            });
            fold(&mut models, "session-s1".into(), &|| {
                recorded(0, String::new(), &added)
            });
        }
        assert_eq!(models.outbox.pending().count(), 0);

        let ended = UserEvent::SessionsEnded(SessionsEnded {
            reason: AccessEndReason::Disabled,
            except_sid: None,
        });
        fold(&mut models, format!("user-{ada}"), &|| {
            recorded(0, String::new(), &ended)
        });
        let pending: Vec<_> = models.outbox.pending().cloned().collect();
        assert_eq!(
            pending.len(),
            1,
            "one notice for app, none for wiki (no back channel)"
        );
        assert_eq!(pending[0].client_id, "app");
        assert_eq!(pending[0].sid, "s1");
        assert_eq!(pending[0].sub, ada.to_string());
        assert_eq!(models.outbox.pending_for("app"), 1);

        let delivered = BackchannelEvent::Delivered(NoticeDelivered {
            notice_id: pending[0].id.clone(),
            client_id: "app".into(),
            sid: "s1".into(),
            attempts: 1,
        });
        fold(&mut models, "backchannel-app".into(), &|| {
            recorded(0, String::new(), &delivered)
        });
        assert_eq!(models.outbox.pending().count(), 0);
        assert!(models.outbox.status("app").unwrap().last_success.is_some());

        // A rebuild from the same events owes the same nothing.
        let json = serde_json::to_vec(&models).unwrap();
        let restored: ReadModels = serde_json::from_slice(&json).unwrap();
        assert_eq!(restored, models);
    }

    #[test]
    fn the_snapshot_fuzz_target_s_seed_is_a_snapshot_of_this_version() {
        let seed = include_str!("../../../fuzz/corpus/snapshot/small_instance");
        let models: ReadModels = serde_json::from_str(seed).unwrap();
        let ada = Uuid::parse_str("ecf110f9-ef62-4cf4-9393-ec7283f4f101").unwrap();
        let person = models.users.get(ada).unwrap();
        assert_eq!(person.email.as_str(), "ada@example.org");
        assert_eq!(person.directory.external_id.as_deref(), Some("00u1"));
        assert_eq!(person.version, 3);
    }

    /// Every personal value at `path` in `value` (`*` for each item of an array).
    fn personal_values<'value>(
        value: &'value mut serde_json::Value,
        path: &[&str],
        found: &mut Vec<&'value mut serde_json::Value>,
    ) {
        let Some((step, rest)) = path.split_first() else {
            found.push(value);
            return;
        };
        match (step, value) {
            (&"*", serde_json::Value::Array(items)) => {
                for item in items {
                    personal_values(item, rest, found);
                }
            }
            (member, serde_json::Value::Object(members)) => {
                if let Some(inner) = members.get_mut(*member) {
                    personal_values(inner, rest, found);
                }
            }
            _ => {}
        }
    }

    /// `event` as a store that seals personal data hands it to a reader that reads
    /// `reads`: what it does not read is left sealed (here, a text no fold could take for
    /// the value).
    fn left_sealed(event: &RecordedEvent, reads: PersonalReads) -> RecordedEvent {
        const SEALED: &str = "pd3:bm90IGEgdmFsdWUgYW55IGZvbGQgY291bGQgcmVhZA";
        let mut event = event.clone();
        if !reads.reads_type(&event.event_type) {
            let mut data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
            for field in verity_domain::personal::fields(&event.event_type) {
                let mut found = Vec::new();
                personal_values(&mut data, field.path, &mut found);
                for value in found.into_iter().filter(|value| value.is_string()) {
                    *value = SEALED.into();
                }
            }
            event.data = data.to_string();
        }
        let mut metadata: serde_json::Value = serde_json::from_str(&event.metadata).unwrap();
        if !reads.client_addresses
            && let Some(ip) = metadata.get_mut("client_ip")
        {
            *ip = SEALED.into();
        }
        event.metadata = metadata.to_string();
        event
    }

    #[test]
    fn the_folds_read_no_personal_value_they_leave_sealed() {
        use verity_domain::session::{SessionEvent, SessionStarted};
        use verity_domain::signin::{
            LockedStep, Origin, SignInEvent, SignInFailed, SignInFailure, SignInLocked,
            SignInSucceeded,
        };

        let org_id = Uuid::from_u128(1);
        let ada = Uuid::from_u128(2);
        let at = DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let origin = Origin {
            client_id: Some("app".into()),
            ip: Some("192.0.2.7".into()),
            user_agent: Some("Firefox".into()),
        };
        let user = verity_domain::user::stream(ada);
        let mut events = Vec::from(acme_and_ada(org_id, ada));
        events.extend([
            recorded(
                3,
                user.clone(),
                &SignInEvent::Failed(SignInFailed {
                    user_id: Some(ada.to_string()),
                    email: "ada@example.org".into(),
                    reason: SignInFailure::WrongPassword,
                    origin: origin.clone(),
                }),
            ),
            recorded(
                4,
                user.clone(),
                &SignInEvent::Locked(SignInLocked {
                    step: LockedStep::Password,
                    user_id: Some(ada.to_string()),
                    address_key: None,
                    until: at,
                    failures: 5,
                    origin: origin.clone(),
                }),
            ),
            recorded(
                5,
                user.clone(),
                &SignInEvent::Succeeded(SignInSucceeded {
                    user_id: ada.to_string(),
                    sid: "s1".into(),
                    amr: vec!["pwd".into(), "otp".into()],
                    second_factor: None,
                    device_trust_used: false,
                    decision: None,
                    origin: origin.clone(),
                }),
            ),
            recorded(
                6,
                "session-s1".into(),
                &SessionEvent::Started(SessionStarted {
                    sid: "s1".into(),
                    user_id: ada.to_string(),
                    auth_time: at,
                    amr: vec!["pwd".into(), "otp".into()],
                    origin,
                }),
            ),
        ]);
        // Each event from Ada's browser, her address in its metadata.
        for event in &mut events {
            event.metadata = r#"{"client_ip":"192.0.2.7"}"#.into();
        }
        let fold = |events: &[RecordedEvent]| {
            let mut models = ReadModels::default();
            for event in events {
                models.apply(event)?;
            }
            Ok::<_, DecodeError>(models)
        };
        let opened = fold(&events).unwrap();
        let reads = ReadModels::PERSONAL_READS;
        for event_type in reads.unread_types {
            assert!(
                events.iter().any(|event| event.event_type == *event_type),
                "the log holds a {event_type}"
            );
        }
        let as_handed: Vec<_> = events
            .iter()
            .map(|event| left_sealed(event, reads))
            .collect();
        assert_eq!(fold(&as_handed).unwrap(), opened);

        // A value a fold reads, left sealed, would show.
        let created_sealed: Vec<_> = events
            .iter()
            .map(|event| {
                left_sealed(
                    event,
                    PersonalReads {
                        unread_types: &["user.created"],
                        client_addresses: true,
                    },
                )
            })
            .collect();
        assert_ne!(fold(&created_sealed).ok(), Some(opened));
    }
}
