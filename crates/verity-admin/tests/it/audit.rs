//! The auditor's scans of the log: what one admin did to others, and the admin actions
//! in one organization, each as the authorization rule lets the reader see.

use verity_admin::{Actor, AdminError, Door, Grant, OrgRef, PersonRef, Principal, Scope};

use crate::support::{TestAdmin, auditor, call, operator};

#[tokio::test]
async fn an_admins_actions_on_others_and_an_organizations_admin_actions_are_listed() {
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
