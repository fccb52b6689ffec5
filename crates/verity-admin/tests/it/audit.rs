//! The auditor's scans of the log: what one admin did to others, the admin actions in
//! one organization, the events' search, and the whole log's head and pages — each as the
//! authorization rule lets the reader see.

use uuid::Uuid;
use verity_admin::audit::events::{EventQuery, EventsPage};
use verity_admin::{
    Actor, AdminError, Door, Grant, OrgRef, Permission, Person, PersonRef, Principal, Scope,
};

use crate::support::{TestAdmin, assert_forbidden, auditor, call, operator, org_admin};

/// Acme (Bea, its org admin, and Carol) and Globex (Dan): Bea disables Carol in the
/// console, the operator disables Dan. The test, Acme's id and Bea.
async fn two_organizations_with_a_disabled_person_each() -> (TestAdmin, Uuid, Person) {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    test.org("Globex").await;
    let bea = test.person("Acme", "bea@example.org").await.person;
    let carol = test.person("Acme", "carol@example.org").await.person;
    test.person("Globex", "dan@example.org").await;
    let admin = Actor::new(
        Principal::Person {
            user_id: bea.user_id,
            sid: Some("console-session".into()),
        },
        Door::Console,
        vec![Grant::OrgAdmin { org_id: acme }],
    );
    test.admin
        .disable_person(&admin, &call(), &PersonRef::Id(carol.user_id))
        .await
        .unwrap();
    test.admin
        .disable_person(
            &operator(),
            &call(),
            &PersonRef::Address("dan@example.org".into()),
        )
        .await
        .unwrap();
    (test, acme, bea)
}

#[tokio::test]
async fn an_admins_actions_on_others_and_an_organizations_admin_actions_are_listed() {
    let (test, acme, bea) = two_organizations_with_a_disabled_person_each().await;

    let by_bea = test
        .admin
        .actions_by(&operator(), &PersonRef::Id(bea.user_id), (None, None))
        .await
        .unwrap();
    let kinds: Vec<&str> = by_bea
        .iter()
        .map(|action| action.entry.event_type.as_str())
        .collect();
    assert_eq!(kinds, ["user.disabled", "user.sessions.ended"]);
    assert!(
        by_bea
            .iter()
            .all(|action| action.subject == "carol@example.org")
    );

    let in_acme = test
        .admin
        .actions_in(
            &auditor(Scope::Organization(acme)),
            &OrgRef::Id(acme),
            (None, None),
        )
        .await
        .unwrap();
    let subjects: Vec<&str> = in_acme
        .iter()
        .map(|action| action.subject.as_str())
        .collect();
    assert!(subjects.contains(&"carol@example.org"));
    assert!(
        subjects.contains(&"Acme"),
        "the organization's creation: {subjects:?}"
    );
    assert!(
        !subjects.contains(&"dan@example.org"),
        "Globex's are not Acme's"
    );

    // An auditor of Acme cannot list Globex's.
    let hidden = test
        .admin
        .actions_in(
            &auditor(Scope::Organization(acme)),
            &OrgRef::Name("Globex".into()),
            (None, None),
        )
        .await
        .unwrap_err();
    assert!(matches!(hidden, AdminError::NotFound(_)), "{hidden:?}");
}

/// The events' search: by type or its start, by who did it, by organization, a page at a
/// time; an organization's auditor finds only their organization's events, and names
/// of another's do not exist for them.
#[tokio::test]
async fn events_are_searched_by_type_actor_and_organization_within_what_one_may_read() {
    let (test, acme, bea) = two_organizations_with_a_disabled_person_each().await;
    let search = |query: EventQuery, actor: Actor| {
        let admin = &test.admin;
        async move { admin.search_events(&actor, &query).await }
    };
    let types = |page: &EventsPage| -> Vec<(String, String)> {
        page.events
            .iter()
            .map(|action| (action.entry.event_type.clone(), action.subject.clone()))
            .collect()
    };

    let disabled = EventQuery {
        event_type: Some("user.disabled".into()),
        limit: 50,
        ..EventQuery::default()
    };
    let everywhere = search(disabled.clone(), operator()).await.unwrap();
    assert_eq!(
        types(&everywhere),
        [
            ("user.disabled".into(), "carol@example.org".into()),
            ("user.disabled".into(), "dan@example.org".into())
        ]
    );
    assert_eq!(everywhere.next, None);
    let acme_auditor = auditor(Scope::Organization(acme));
    let in_acme = search(disabled.clone(), acme_auditor.clone())
        .await
        .unwrap();
    assert_eq!(
        types(&in_acme),
        [("user.disabled".into(), "carol@example.org".into())],
        "Globex's are not an Acme auditor's"
    );

    // By who did it: Bea's actions only.
    let by_bea = search(
        EventQuery {
            actor: Some(PersonRef::Id(bea.user_id)),
            limit: 50,
            ..EventQuery::default()
        },
        acme_auditor.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        types(&by_bea),
        [
            ("user.disabled".into(), "carol@example.org".into()),
            ("user.sessions.ended".into(), "carol@example.org".into())
        ]
    );

    // By the start of a type, one organization, a page at a time.
    let of_users = EventQuery {
        event_type: Some("user".into()),
        org: Some(OrgRef::Id(acme)),
        limit: 1,
        ..EventQuery::default()
    };
    let mut seen = Vec::new();
    let mut query = of_users.clone();
    loop {
        let page = search(query.clone(), operator()).await.unwrap();
        assert!(page.events.len() <= 1);
        seen.extend(types(&page));
        match page.next {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    let all = search(
        EventQuery {
            limit: 50,
            ..of_users
        },
        operator(),
    )
    .await
    .unwrap();
    assert_eq!(seen, types(&all), "the pages add up to the whole");
    assert!(seen.iter().all(|(kind, _)| kind.starts_with("user.")));
    assert!(seen.iter().all(|(_, subject)| subject != "dan@example.org"));
    assert_eq!(
        seen.len(),
        4,
        "two created, one disabled, its sessions ended: {seen:?}"
    );

    // A time range after everything finds nothing.
    let newest = test.events().await.last().unwrap().recorded_at;
    let later = search(
        EventQuery {
            from: Some(newest + chrono::Duration::seconds(1)),
            limit: 50,
            ..EventQuery::default()
        },
        operator(),
    )
    .await
    .unwrap();
    assert!(later.events.is_empty());

    // A range in the middle: exactly the events recorded in it, a page at a time.
    let events = test.events().await;
    let (from, to) = (events[2].recorded_at, events[events.len() - 2].recorded_at);
    let expected: Vec<u64> = events
        .iter()
        .filter(|event| event.recorded_at >= from && event.recorded_at < to)
        .map(|event| event.position)
        .collect();
    assert!(!expected.is_empty());
    let mut query = EventQuery {
        from: Some(from),
        to: Some(to),
        limit: 2,
        ..EventQuery::default()
    };
    let mut found = Vec::new();
    loop {
        let page = search(query.clone(), operator()).await.unwrap();
        found.extend(page.events.iter().map(|action| action.entry.position));
        match page.next {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    assert_eq!(found, expected);

    // Another organization, or someone of it, does not exist for Acme's auditor.
    for query in [
        EventQuery {
            org: Some(OrgRef::Name("Globex".into())),
            limit: 50,
            ..EventQuery::default()
        },
        EventQuery {
            actor: Some(PersonRef::Address("dan@example.org".into())),
            limit: 50,
            ..EventQuery::default()
        },
    ] {
        let hidden = search(query, acme_auditor.clone()).await.unwrap_err();
        assert!(matches!(hidden, AdminError::NotFound(_)), "{hidden:?}");
    }
}

/// The whole log — its head and its pages, what the chain is recomputed from and the
/// export made of — is read only with a reading grant over the instance.
#[tokio::test]
async fn the_whole_log_is_read_only_with_a_grant_over_the_instance() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    test.person("Acme", "bea@example.org").await;
    let head = test
        .admin
        .log_head(&auditor(Scope::Instance))
        .await
        .unwrap();
    assert_eq!(head.position, test.head().await);
    let events = test.events().await;
    assert_eq!(head.hash, events.last().unwrap().hash);
    let page = test
        .admin
        .log_page(&auditor(Scope::Instance), 0)
        .await
        .unwrap();
    // The page is the log as stored (personal data sealed): the same events, by their
    // positions and the hashes that cover them.
    let covered = |events: &[verity_domain::RecordedEvent]| {
        events
            .iter()
            .map(|event| (event.position, event.hash.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(covered(&page), covered(&events));
    assert!(
        test.admin
            .log_page(&auditor(Scope::Instance), head.position)
            .await
            .unwrap()
            .is_empty()
    );
    for refused in [auditor(Scope::Organization(acme)), org_admin(acme)] {
        let error = test.admin.log_head(&refused).await.unwrap_err();
        assert_forbidden(&error, Permission::ReadLog, Scope::Instance);
        let error = test.admin.log_page(&refused, 0).await.unwrap_err();
        assert_forbidden(&error, Permission::ReadLog, Scope::Instance);
    }
}
