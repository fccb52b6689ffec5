//! What the console and the API read and change about people beyond the CLI: searching
//! an organization a page at a time, changing a name or an address (with the values
//! before and after in the log), a person's sessions and history, forgetting one device.
//! Each as the authorization matrix says, and a refusal writes nothing.

use verity_admin::history::ActorLabel;
use verity_admin::people::Status;
use verity_admin::{AdminError, OrgRef, PeopleQuery, PersonChanges, PersonRef, Scope};
use verity_projection::DeviceState;

use crate::support::{TestAdmin, auditor, call, operator, org_admin};

fn query(org: &str, text: &str, limit: usize) -> PeopleQuery {
    PeopleQuery {
        org: OrgRef::Name(org.into()),
        text: text.into(),
        status: None,
        after: None,
        limit,
    }
}

#[tokio::test]
async fn people_are_found_by_part_of_an_address_or_name_a_page_at_a_time() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    test.org("Globex").await;
    for n in 0..7 {
        test.person("Acme", &format!("p{n}@acme.example")).await;
    }
    test.person("Acme", "zed@other.example").await;
    test.person("Globex", "p9@acme.example").await;

    let first = test
        .admin
        .search_people(&operator(), &query("Acme", "ACME.ex", 3))
        .unwrap();
    assert_eq!(first.total, 7, "only Acme's, only the matching ones");
    let emails = |page: &verity_admin::PeoplePage| {
        page.people
            .iter()
            .map(|person| person.email.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        emails(&first),
        ["p0@acme.example", "p1@acme.example", "p2@acme.example"]
    );
    let mut all = emails(&first);
    let mut after = first.next.clone();
    while let Some(cursor) = after {
        let page = test
            .admin
            .search_people(
                &operator(),
                &PeopleQuery {
                    after: Some(cursor),
                    ..query("Acme", "acme.ex", 3)
                },
            )
            .unwrap();
        all.extend(emails(&page));
        after = page.next;
    }
    assert_eq!(all.len(), 7);

    // By name, in any case ("Ada Lovelace" is every test person's name).
    let by_name = test
        .admin
        .search_people(&operator(), &query("Acme", "lovel", 50))
        .unwrap();
    assert_eq!(by_name.total, 8);
    let counted = test
        .admin
        .search_people(&operator(), &query("Acme", "", 0))
        .unwrap();
    assert_eq!((counted.total, counted.people.len()), (8, 0));

    // By status.
    test.admin
        .disable_person(
            &operator(),
            &call(),
            &PersonRef::Address("zed@other.example".into()),
        )
        .await
        .unwrap();
    let disabled = test
        .admin
        .search_people(
            &operator(),
            &PeopleQuery {
                status: Some(Status::Disabled),
                ..query("Acme", "", 50)
            },
        )
        .unwrap();
    assert_eq!(emails(&disabled), ["zed@other.example"]);

    // A forged cursor, and another organization, answer as errors.
    let forged = test.admin.search_people(
        &operator(),
        &PeopleQuery {
            after: Some("p3@acme.example".into()),
            ..query("Acme", "", 3)
        },
    );
    assert!(matches!(forged, Err(AdminError::Invalid(_))), "{forged:?}");
    let globex = test.admin.search_people(
        &org_admin(test.admin.organizations(&operator())[0].org_id),
        &query("Globex", "", 3),
    );
    assert!(matches!(globex, Err(AdminError::NotFound(_))), "{globex:?}");
}

#[tokio::test]
async fn a_name_and_an_address_change_in_one_append_with_the_values_before_and_after() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    test.person("Acme", "bob@example.org").await;
    let person = PersonRef::Id(ada.user_id);
    let admin = org_admin(acme);

    let changed = test
        .admin
        .update_person(
            &admin,
            &call(),
            &person,
            &PersonChanges {
                name: Some(" Ada King ".into()),
                email: Some("King@Example.org".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.email.as_str()),
        ("Ada King", "king@example.org")
    );
    let renamed = test.events_of("user.name.changed").await;
    assert_eq!(renamed.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&renamed[0].data).unwrap(),
        serde_json::json!({"before": "Ada Lovelace", "after": "Ada King"})
    );
    let moved = test.events_of("user.email.changed").await;
    assert_eq!(moved[0].position, renamed[0].position + 1, "one append");
    assert!(
        moved[0].metadata.contains("sid-1"),
        "the admin and their session"
    );

    // The old address is free again; the new one is taken.
    let head = test.head().await;
    let taken = test
        .admin
        .update_person(
            &operator(),
            &call(),
            &person,
            &PersonChanges {
                email: Some("bob@example.org".into()),
                ..PersonChanges::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(taken, AdminError::Conflict(_)), "{taken:?}");
    let same = test
        .admin
        .update_person(
            &operator(),
            &call(),
            &person,
            &PersonChanges {
                name: Some("Ada King".into()),
                email: Some("king@example.org".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(same.name, "Ada King", "nothing to change is no error");
    let invalid = test
        .admin
        .update_person(
            &operator(),
            &call(),
            &person,
            &PersonChanges {
                email: Some("not an address".into()),
                ..PersonChanges::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(invalid, AdminError::Invalid(_)), "{invalid:?}");
    let read_only = test
        .admin
        .update_person(
            &auditor(Scope::Instance),
            &call(),
            &person,
            &PersonChanges {
                name: Some("Mallory".into()),
                ..PersonChanges::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(read_only, AdminError::Forbidden { .. }),
        "{read_only:?}"
    );
    assert_eq!(test.head().await, head, "no refusal wrote anything");
    // The address she left is free for someone else.
    test.person("Acme", "ada@example.org").await;
}

#[tokio::test]
async fn an_admin_sees_a_persons_sessions_and_ends_one() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let bob = test.person("Acme", "bob@example.org").await.person;
    test.start_session(ada.user_id, "s-1", "wiki").await;
    test.start_session(ada.user_id, "s-2", "mail").await;
    test.start_session(bob.user_id, "s-bob", "wiki").await;
    let person = PersonRef::Id(ada.user_id);
    let admin = org_admin(acme);

    let sessions = test
        .admin
        .person_sessions(&admin, &call(), &person)
        .await
        .unwrap();
    assert_eq!(sessions.live.len(), 2);
    assert!(sessions.ended.is_empty());
    let first = &sessions.live[0];
    assert_eq!(first.device, "Firefox on Linux");
    assert_eq!(first.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(first.clients[0].client_id, "wiki");

    // Bob's session is not Ada's to end.
    let head = test.head().await;
    let not_hers = test
        .admin
        .end_person_session(&admin, &call(), &person, "s-bob")
        .await
        .unwrap_err();
    assert!(matches!(not_hers, AdminError::Invalid(_)), "{not_hers:?}");
    assert_eq!(test.head().await, head);

    test.admin
        .end_person_session(&admin, &call(), &person, "s-1")
        .await
        .unwrap();
    let after = test
        .admin
        .person_sessions(&admin, &call(), &person)
        .await
        .unwrap();
    assert_eq!(after.live.len(), 1);
    assert_eq!(after.ended.len(), 1);
    assert_eq!(after.ended[0].sid, "s-1");
    assert_eq!(after.ended[0].reason, "revoked");
    // Where it came from is still read from its start in the log.
    assert_eq!(after.ended[0].device, "Firefox on Linux");
    assert_eq!(after.ended[0].ip.as_deref(), Some("192.0.2.7"));

    test.admin
        .sign_out_person(&admin, &call(), &person)
        .await
        .unwrap();
    let all = test
        .admin
        .person_sessions(&admin, &call(), &person)
        .await
        .unwrap();
    assert!(all.live.is_empty());
    assert_eq!(all.ended.len(), 2);
    assert_eq!(all.ended[0].reason, "signed_out", "newest end first");
}

#[tokio::test]
async fn a_persons_history_names_who_did_what_newest_first() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let person = PersonRef::Id(ada.user_id);
    test.enroll(ada.user_id).await;
    test.admin
        .disable_person(&org_admin(acme), &call(), &person)
        .await
        .unwrap();

    let page = test
        .admin
        .person_history(&auditor(Scope::Organization(acme)), &person, None, 50)
        .await
        .unwrap();
    assert_eq!(page.entries[0].event_type, "user.sessions.ended");
    let disabled = page
        .entries
        .iter()
        .find(|entry| entry.event_type == "user.disabled")
        .unwrap();
    assert!(matches!(disabled.actor, ActorLabel::Admin { .. }));
    let enrolled = page
        .entries
        .iter()
        .find(|entry| entry.event_type == "user.totp.enrolled")
        .unwrap();
    assert_eq!(enrolled.actor, ActorLabel::Themselves);
    assert_eq!(
        enrolled.description,
        "set up the authenticator app \"Aegis\""
    );
    let created = page.entries.last().unwrap();
    assert_eq!(created.event_type, "user.created");
    assert_eq!(created.actor.describe(), "the operator (root)");

    // Paging: two at a time, until the first event.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = test
            .admin
            .person_history(&operator(), &person, before, 2)
            .await
            .unwrap();
        seen.extend(page.entries.iter().map(|entry| entry.position));
        match page.next_before {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<u64> = page.entries.iter().map(|entry| entry.position).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected);

    // Another organization's admin finds no such person.
    let other = test.org("Globex").await;
    let hidden = test
        .admin
        .person_history(&org_admin(other), &person, None, 10)
        .await
        .unwrap_err();
    assert!(matches!(hidden, AdminError::NotFound(_)), "{hidden:?}");
}

#[tokio::test]
async fn one_trusted_device_is_forgotten_by_what_the_list_shows() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let person = PersonRef::Id(ada.user_id);
    test.enroll(ada.user_id).await;
    test.trust(ada.user_id).await;
    test.trust(ada.user_id).await;
    let listed = test
        .admin
        .devices(&operator(), &call(), &person)
        .await
        .unwrap();
    let first = listed.devices[0].device.clone();

    let head = test.head().await;
    for unknown in ["0123456789ab", "short", ""] {
        let error = test
            .admin
            .forget_device(&operator(), &call(), &person, unknown)
            .await
            .unwrap_err();
        assert!(matches!(error, AdminError::Invalid(_)), "{error:?}");
    }
    assert_eq!(test.head().await, head);

    test.admin
        .forget_device(&operator(), &call(), &person, &first)
        .await
        .unwrap();
    let after = test
        .admin
        .devices(&operator(), &call(), &person)
        .await
        .unwrap();
    let states: Vec<DeviceState> = after.devices.iter().map(|device| device.state).collect();
    assert_eq!(states, [DeviceState::Forgotten, DeviceState::Active]);
}
