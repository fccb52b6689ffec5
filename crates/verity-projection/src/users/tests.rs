//! The people model's folds, its snapshot, and its agreement with one person's whole record.

use verity_domain::DomainEvent;
use verity_domain::user::TemporaryPasswordIssued;
use verity_domain::user::{PasswordChanged, UserCreated, UserEvent, stream};

use super::*;
use crate::mfa::MfaView;
use verity_domain::user::{DirectoryChanged, USER_PASSWORD_CHANGED};

const TEMPORARY: &str = "$argon2id$v=19$m=19456,t=2,p=1$dGVtcG9yYXJ5$dGVtcG9yYXJ5aGFzaA";
const CHOSEN: &str = "$argon2id$v=19$m=19456,t=2,p=1$Y2hvc2Vu$Y2hvc2VuaGFzaGhhc2g";

fn at(minute: u64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(minute as i64)
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

/// Events as the domain writes them, recorded at minute `position`.
fn recorded(position: u64, user_id: Uuid, event: &UserEvent) -> RecordedEvent {
    RecordedEvent {
        position,
        stream: stream(user_id),
        version: 1,
        event_type: event.event_type().into(),
        schema: event.schema(),
        data: event.to_data(),
        metadata: "{}".into(),
        recorded_at: at(position),
        hash: String::new(),
    }
}

fn created(position: u64, user_id: Uuid, org_id: Uuid, address: &str) -> RecordedEvent {
    recorded(
        position,
        user_id,
        &UserEvent::Created(UserCreated {
            user_id,
            org_id,
            email: email(address),
            name: format!("Person {position}"),
            temporary_password_hash: TEMPORARY.into(),
            temporary_password_expires_at: at(7 * 24 * 60),
        }),
    )
}

fn fold(events: &[RecordedEvent]) -> Users {
    let mut users = Users::default();
    for event in events {
        users.apply(event).unwrap();
    }
    users
}

/// One person's whole record folded from their events, checked against what the people
/// model keeps of them.
fn record(events: &[RecordedEvent], user_id: Uuid) -> UserView {
    let view = UserView::fold(
        events
            .iter()
            .filter(|event| event.stream == stream(user_id)),
    )
    .unwrap()
    .expect("the person exists");
    assert_eq!(fold(events).get(user_id), Some(PersonSummary::from(&view)));
    view
}

const ACME: Uuid = Uuid::from_u128(0xAC);
const GLOBEX: Uuid = Uuid::from_u128(0x61);
const ADA: Uuid = Uuid::from_u128(1);
const BOB: Uuid = Uuid::from_u128(2);

#[test]
fn an_erased_person_is_found_nowhere_and_others_stay() {
    let erased = |position, user_id| {
        recorded(
            position,
            user_id,
            &UserEvent::Erased(verity_domain::user::UserErased {
                org_id: ACME,
                email: email(verity_domain::personal::ERASED_EMAIL),
            }),
        )
    };
    // Two people erased before their erasure could be read share the erased address.
    let erased_address = verity_domain::personal::ERASED_EMAIL;
    let users = fold(&[
        created(1, ADA, ACME, erased_address),
        created(2, BOB, ACME, erased_address),
        created(3, Uuid::from_u128(3), ACME, "cy@example.org"),
        erased(4, ADA),
        erased(5, BOB),
    ]);
    assert_eq!(users.get(ADA), None);
    assert_eq!(users.get(BOB), None);
    assert_eq!(users.find_by_email(ACME, &email(erased_address)), None);
    assert_eq!(
        users
            .list_in_org(ACME)
            .iter()
            .map(|view| view.email.as_str())
            .collect::<Vec<_>>(),
        ["cy@example.org"]
    );
}

#[test]
fn a_created_user_has_a_temporary_password_and_is_found_by_id_and_email() {
    let events = [created(1, ADA, ACME, "Ada@Example.org")];
    let users = fold(&events);

    let expected = UserView {
        user_id: ADA,
        org_id: ACME,
        email: email("ada@example.org"),
        name: "Person 1".into(),
        disabled: false,
        password: PasswordState::Temporary {
            hash: TEMPORARY.into(),
            expires_at: at(7 * 24 * 60),
        },
        created_at: at(1),
        updated_at: at(1),
        last_sign_in: None,
        mfa: MfaView::default(),
        directory: Directory::default(),
        version: 1,
    };
    assert_eq!(record(&events, ADA), expected);
    assert_eq!(users.get(ADA), Some(PersonSummary::from(&expected)));
    assert_eq!(
        users.find_by_email(ACME, &email(" ADA@example.ORG")),
        Some(PersonSummary::from(&expected))
    );
    assert_eq!(users.find_by_email(GLOBEX, &email("ada@example.org")), None);
    assert_eq!(users.len(), 1);
    assert_eq!(
        users.profile(ADA),
        Some(Profile {
            org_id: ACME,
            email: "ada@example.org",
            name: "Person 1",
            updated_at: at(1),
        })
    );
}

#[test]
fn the_same_address_in_two_organizations_is_two_people() {
    let users = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        created(2, BOB, GLOBEX, "ada@example.org"),
    ]);
    let address = email("ada@example.org");
    assert_eq!(
        users.find_by_email(ACME, &address).map(|u| u.user_id),
        Some(ADA)
    );
    assert_eq!(
        users.find_by_email(GLOBEX, &address).map(|u| u.user_id),
        Some(BOB)
    );
}

#[test]
fn people_are_listed_per_organization_by_email() {
    let users = fold(&[
        created(1, Uuid::from_u128(1), ACME, "zoe@example.org"),
        created(2, Uuid::from_u128(2), GLOBEX, "hank@example.org"),
        created(3, Uuid::from_u128(3), ACME, "ada@example.org"),
        created(4, Uuid::from_u128(4), ACME, "Mia@example.org"),
    ]);
    let listed = users.list_in_org(ACME);
    let emails: Vec<&str> = listed.iter().map(|view| view.email.as_str()).collect();
    assert_eq!(
        emails,
        ["ada@example.org", "mia@example.org", "zoe@example.org"]
    );
    assert!(users.list_in_org(Uuid::nil()).is_empty());
}

#[test]
fn a_chosen_password_replaces_the_temporary_one() {
    let view = record(
        &[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                5,
                ADA,
                &UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: CHOSEN.into(),
                }),
            ),
        ],
        ADA,
    );
    assert_eq!(
        view.password,
        PasswordState::Chosen {
            hash: CHOSEN.into(),
            changed_at: at(5),
        }
    );
    assert_eq!(view.password.hash(), CHOSEN);
    assert_eq!(view.created_at, at(1));
    assert_eq!(view.updated_at, at(5));
}

#[test]
fn a_new_temporary_password_replaces_the_chosen_one() {
    let issued = UserEvent::TemporaryPasswordIssued(TemporaryPasswordIssued {
        temporary_password_hash: TEMPORARY.into(),
        expires_at: at(9 * 24 * 60),
    });
    let view = record(
        &[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                5,
                ADA,
                &UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: CHOSEN.into(),
                }),
            ),
            recorded(8, ADA, &issued),
        ],
        ADA,
    );
    assert_eq!(
        view.password,
        PasswordState::Temporary {
            hash: TEMPORARY.into(),
            expires_at: at(9 * 24 * 60),
        }
    );
    assert_eq!(view.updated_at, at(8));
}

#[test]
fn a_user_is_disabled_and_enabled_again() {
    let disabled = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        recorded(2, ADA, &UserEvent::Disabled),
    ]);
    assert!(disabled.get(ADA).unwrap().disabled);
    assert_eq!(disabled.get(ADA).unwrap().updated_at, at(2));

    let enabled = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        recorded(2, ADA, &UserEvent::Disabled),
        recorded(3, ADA, &UserEvent::Enabled),
    ]);
    assert!(!enabled.get(ADA).unwrap().disabled);
    assert_eq!(enabled.get(ADA).unwrap().updated_at, at(3));
}

#[test]
fn a_new_name_and_address_are_seen_and_the_person_is_found_by_the_new_address_only() {
    use verity_domain::user::{EmailChanged, NameChanged};
    let users = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        recorded(
            2,
            ADA,
            &UserEvent::NameChanged(NameChanged {
                before: "Person 1".into(),
                after: "Ada King".into(),
            }),
        ),
        recorded(
            3,
            ADA,
            &UserEvent::EmailChanged(EmailChanged {
                org_id: ACME,
                before: email("ada@example.org"),
                after: email("king@example.org"),
            }),
        ),
    ]);
    let ada = users.get(ADA).unwrap();
    assert_eq!((ada.name.as_str(), ada.updated_at), ("Ada King", at(3)));
    assert_eq!(
        users
            .find_by_email(ACME, &email("king@example.org"))
            .map(|view| view.user_id),
        Some(ADA)
    );
    assert_eq!(users.find_by_email(ACME, &email("ada@example.org")), None);
    let restored: Users = serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
    assert_eq!(restored, users);
}

#[test]
fn a_sign_in_is_the_last_one_until_the_next() {
    use verity_domain::signin::{SignInEvent, SignInSucceeded};
    let signed_in = |position| {
        let event = SignInEvent::Succeeded(SignInSucceeded {
            user_id: ADA.to_string(),
            sid: format!("s{position}"),
            amr: vec!["pwd".into(), "otp".into()],
            second_factor: None,
            device_trust_used: false,
            decision: None,
            origin: Default::default(),
        });
        RecordedEvent {
            event_type: event.event_type().into(),
            data: event.to_data(),
            ..recorded(position, ADA, &UserEvent::Unlocked)
        }
    };
    let users = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        signed_in(2),
        signed_in(5),
    ]);
    assert_eq!(users.get(ADA).unwrap().last_sign_in, Some(at(5)));
    let restored: Users = serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
    assert_eq!(restored.get(ADA).unwrap().last_sign_in, Some(at(5)));
}

#[test]
fn events_about_users_never_created_are_skipped() {
    let users = fold(&[recorded(1, BOB, &UserEvent::Disabled)]);
    assert!(users.is_empty());
}

#[test]
fn other_event_types_are_skipped_without_reading_them() {
    let mut event = created(1, ADA, ACME, "ada@example.org");
    event.event_type = "mfa.totp.enrolled".into();
    event.data = "not even json".into();
    event.stream = "mfa-whatever".into();
    assert!(fold(&[event]).is_empty());
}

#[test]
fn an_unreadable_event_is_an_error_and_changes_nothing() {
    let users = fold(&[created(1, ADA, ACME, "ada@example.org")]);

    let mut bad_email = created(2, BOB, ACME, "bob@example.org");
    bad_email.data = bad_email.data.replace("bob@example.org", "not an address");
    let mut bad_stream = recorded(3, ADA, &UserEvent::Disabled);
    bad_stream.stream = "user-not-a-uuid".into();
    let mut missing_field = recorded(4, ADA, &UserEvent::Disabled);
    missing_field.event_type = USER_PASSWORD_CHANGED.into();

    for (position, event) in [(2, bad_email), (3, bad_stream), (4, missing_field)] {
        let mut after = users.clone();
        let error = after.apply(&event).unwrap_err();
        assert!(
            matches!(error, DecodeError::Payload { position: p, .. } if p == position),
            "{error:?}"
        );
        assert_eq!(after, users);
    }
}

#[test]
fn a_newer_schema_is_refused_rather_than_misread() {
    let mut event = recorded(2, ADA, &UserEvent::Enabled);
    event.schema = 3;
    let error = Users::default().apply(&event).unwrap_err();
    assert!(matches!(
        error,
        DecodeError::UnknownSchema { schema: 3, .. }
    ));
}

#[test]
fn debug_output_does_not_show_password_hashes() {
    let users = fold(&[created(1, ADA, ACME, "ada@example.org")]);
    let printed = format!("{users:?}");
    assert!(!printed.contains("argon2id"), "{printed}");
    assert!(printed.contains("ada@example.org"));
}

#[test]
fn a_snapshot_round_trip_rebuilds_the_email_index() {
    let mut changed = recorded(
        4,
        ADA,
        &UserEvent::PasswordChanged(PasswordChanged {
            password_hash: CHOSEN.into(),
        }),
    );
    // Expiry times come from the clock with nanoseconds; the round trip keeps them.
    changed.recorded_at += chrono::Duration::nanoseconds(123_456_789);
    let users = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        created(2, BOB, GLOBEX, "bob@example.org"),
        recorded(3, BOB, &UserEvent::Disabled),
        changed,
    ]);
    let json = serde_json::to_string(&users).unwrap();
    let restored: Users = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, users);
    assert_eq!(
        restored
            .find_by_email(GLOBEX, &email("bob@example.org"))
            .map(|view| view.disabled),
        Some(true)
    );
}

#[test]
fn directory_attributes_show_and_every_event_of_the_stream_moves_the_version() {
    use verity_domain::user::{NameParts, OtherEmail};
    let directory = Directory {
        external_id: Some("00u1".into()),
        name: NameParts {
            family_name: Some("Lovelace".into()),
            ..NameParts::default()
        },
        emails: vec![OtherEmail {
            value: email("ada@home.example"),
            kind: None,
            primary: false,
        }],
    };
    let mut changed = recorded(
        2,
        ADA,
        &UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
            before: Directory::default(),
            after: directory.clone(),
        })),
    );
    changed.version = 2;
    let mut unlocked = recorded(3, ADA, &UserEvent::Unlocked);
    unlocked.version = 3;
    let users = fold(&[created(1, ADA, ACME, "ada@example.org"), changed, unlocked]);
    let ada = users.get(ADA).unwrap();
    assert_eq!(ada.directory, directory);
    assert_eq!((ada.version, ada.updated_at), (3, at(3)));
    let json = serde_json::to_string(&users).unwrap();
    assert_eq!(serde_json::from_str::<Users>(&json).unwrap(), users);
}

#[test]
fn a_deleted_person_leaves_every_lookup_and_frees_the_address() {
    use verity_domain::user::UserDeleted;
    let deleted = recorded(
        3,
        ADA,
        &UserEvent::Deleted(UserDeleted {
            org_id: ACME,
            email: email("ada@example.org"),
        }),
    );
    let users = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        created(2, BOB, ACME, "bob@example.org"),
        deleted,
    ]);
    assert_eq!(users.get(ADA), None);
    assert_eq!(users.find_by_email(ACME, &email("ada@example.org")), None);
    assert_eq!(users.list_in_org(ACME).len(), 1);
    let again = fold(&[
        created(1, ADA, ACME, "ada@example.org"),
        recorded(
            2,
            ADA,
            &UserEvent::Deleted(UserDeleted {
                org_id: ACME,
                email: email("ada@example.org"),
            }),
        ),
        created(3, BOB, ACME, "ada@example.org"),
    ]);
    assert_eq!(
        again
            .find_by_email(ACME, &email("ada@example.org"))
            .map(|view| view.user_id),
        Some(BOB)
    );
}

/// One change to a person, as the property test below draws them.
#[derive(Debug, Clone)]
enum Step {
    Create(u8, bool, u8),
    Rename(u8, u8),
    Readdress(u8, u8),
    Disable(u8, bool),
    Delete(u8),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0u8..12, any::<bool>(), 0u8..6)
            .prop_map(|(who, acme, name)| Step::Create(who, acme, name)),
        (0u8..12, 0u8..6).prop_map(|(who, name)| Step::Rename(who, name)),
        (0u8..12, 0u8..30).prop_map(|(who, address)| Step::Readdress(who, address)),
        (0u8..12, any::<bool>()).prop_map(|(who, disabled)| Step::Disable(who, disabled)),
        (0u8..12).prop_map(Step::Delete),
    ]
}

const NAMES: [&str; 6] = [
    "Ada Lovelace",
    "ADA KING",
    "Émile Zola",
    "Bob",
    "Zoë Ünal",
    "ada",
];
const NEEDLES: [&str; 9] = [
    "", "ada", "a", "example", "@globex", "émile", "ünal", "p1", "zz",
];

/// The events the steps make, skipping the ones the domain would refuse (a second
/// creation, a change to nobody, an address someone in the organization holds).
fn events_of(steps: &[Step]) -> Vec<RecordedEvent> {
    use verity_domain::user::{EmailChanged, NameChanged, UserDeleted};
    let mut users = Users::default();
    let mut events = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let position = index as u64 + 1;
        let id = |who: &u8| Uuid::from_u128(100 + u128::from(*who));
        let event = match step {
            Step::Create(who, acme, name) if users.get(id(who)).is_none() => {
                let org = if *acme { ACME } else { GLOBEX };
                let address = format!(
                    "p{who}@{}.example.org",
                    if *acme { "acme" } else { "globex" }
                );
                if users.find_by_email(org, &email(&address)).is_some() {
                    continue;
                }
                let mut event = created(position, id(who), org, &address);
                let mut data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                data["name"] = NAMES[usize::from(*name)].into();
                event.data = data.to_string();
                event
            }
            Step::Rename(who, name) => {
                let Some(view) = users.get(id(who)) else {
                    continue;
                };
                recorded(
                    position,
                    id(who),
                    &UserEvent::NameChanged(NameChanged {
                        before: view.name.clone(),
                        after: NAMES[usize::from(*name)].into(),
                    }),
                )
            }
            Step::Readdress(who, address) => {
                let Some(view) = users.get(id(who)) else {
                    continue;
                };
                let after = email(&format!("q{address}@example.org"));
                if users.find_by_email(view.org_id, &after).is_some() {
                    continue;
                }
                recorded(
                    position,
                    id(who),
                    &UserEvent::EmailChanged(EmailChanged {
                        org_id: view.org_id,
                        before: view.email.clone(),
                        after,
                    }),
                )
            }
            Step::Disable(who, disabled) if users.get(id(who)).is_some() => recorded(
                position,
                id(who),
                &if *disabled {
                    UserEvent::Disabled
                } else {
                    UserEvent::Enabled
                },
            ),
            Step::Delete(who) => {
                let Some(view) = users.get(id(who)) else {
                    continue;
                };
                recorded(
                    position,
                    id(who),
                    &UserEvent::Deleted(UserDeleted {
                        org_id: view.org_id,
                        email: view.email.clone(),
                    }),
                )
            }
            _ => continue,
        };
        users.apply(&event).unwrap();
        events.push(event);
    }
    events
}

/// What a search must answer: the people of the organization, in address order,
/// whose address or lower-cased name holds the needle.
fn searched_by_hand(users: &Users, org: Uuid, query: &TextQuery<'_>) -> TextMatches {
    let matching: Vec<PersonSummary> = users
        .list_in_org(org)
        .into_iter()
        .filter(|view| {
            query
                .disabled
                .is_none_or(|disabled| view.disabled == disabled)
        })
        .filter(|view| {
            view.email.as_str().contains(query.needle)
                || view.name.to_lowercase().contains(query.needle)
        })
        .collect();
    TextMatches {
        total: matching.len(),
        first: matching
            .iter()
            .filter(|view| query.after.is_none_or(|after| view.email.as_str() > after))
            .take(query.limit)
            .map(|view| view.user_id)
            .collect(),
    }
}

proptest::proptest! {
    #[test]
    fn a_search_finds_what_a_walk_over_the_views_finds(
        steps in proptest::collection::vec(step(), 0..60),
        limit in 0usize..5,
        after in proptest::option::of(0u8..12),
    ) {
        let events = events_of(&steps);
        let users = fold(&events);
        let restored: Users =
            serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
        proptest::prop_assert_eq!(&restored, &users);
        // What every node keeps of a person is what their own stream says of them.
        for who in 0..12u128 {
            let user_id = Uuid::from_u128(100 + who);
            let theirs = events.iter().filter(|event| event.stream == stream(user_id));
            let whole = UserView::fold(theirs).unwrap();
            proptest::prop_assert_eq!(
                users.get(user_id),
                whole.as_ref().map(PersonSummary::from)
            );
            if let Some(whole) = &whole {
                proptest::prop_assert_eq!(
                    users.find_by_email(whole.org_id, &whole.email).map(|p| p.user_id),
                    Some(user_id)
                );
            }
        }
        let after = after.map(|who| format!("p{who}@acme.example.org"));
        for org in [ACME, GLOBEX] {
            for needle in NEEDLES {
                for disabled in [None, Some(true), Some(false)] {
                    let query = TextQuery { needle, disabled, after: after.as_deref(), limit };
                    let expected = searched_by_hand(&users, org, &query);
                    proptest::prop_assert_eq!(&users.search_in_org(org, &query), &expected);
                    proptest::prop_assert_eq!(&restored.search_in_org(org, &query), &expected);
                }
            }
        }
    }
}

#[test]
fn many_renames_rewrite_the_text_and_everyone_is_still_found() {
    use verity_domain::user::NameChanged;
    let mut events = vec![
        created(1, ADA, ACME, "ada@example.org"),
        created(2, BOB, ACME, "bob@example.org"),
    ];
    for n in 0..3_000u64 {
        events.push(recorded(
            3 + n,
            ADA,
            &UserEvent::NameChanged(NameChanged {
                before: String::new(),
                after: format!("Ada {n}"),
            }),
        ));
    }
    let users = fold(&events);
    let ada = users.get(ADA).unwrap();
    assert_eq!(ada.name, "Ada 2999");
    assert_eq!(users.get(BOB).unwrap().email.as_str(), "bob@example.org");
    assert_eq!(
        users
            .find_by_email(ACME, &email("bob@example.org"))
            .map(|person| person.user_id),
        Some(BOB)
    );
    let found = users.search_in_org(
        ACME,
        &TextQuery {
            needle: "ada 2999",
            disabled: None,
            after: None,
            limit: 5,
        },
    );
    assert_eq!(found.first, vec![ADA]);
    assert_eq!(users.list_in_org(ACME).len(), 2);
}
