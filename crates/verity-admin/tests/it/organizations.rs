//! Organizations: created by instance admins, seen by whoever has a grant over them.

use verity_admin::{AdminError, Grant, Missing, OrgRef, Permission, Refusal, Scope};

use crate::support::{TestAdmin, assert_forbidden, auditor, call, console, operator, org_admin};

#[tokio::test]
async fn the_operator_creates_and_lists_organizations() {
    let test = TestAdmin::new().await;
    let created = test
        .admin
        .create_organization(&operator(), &call(), "  Acme  ")
        .await
        .unwrap();
    assert_eq!(created.name, "Acme");
    let found = test
        .admin
        .organization(&operator(), &OrgRef::parse("acme"))
        .unwrap();
    assert_eq!(found, created);
    let by_id = OrgRef::parse(&created.org_id.to_string());
    assert_eq!(by_id, OrgRef::Id(created.org_id));
    assert_eq!(
        test.admin.organization(&operator(), &by_id).unwrap(),
        created
    );
    assert_eq!(test.admin.organizations(&operator()), vec![created.clone()]);

    let events = test.events_of("org.created").await;
    assert_eq!(events.len(), 1);
    let metadata = events[0].decoded_metadata().unwrap();
    assert_eq!(
        metadata.actor,
        verity_domain::Actor::Cli {
            os_user: Some("root".into())
        }
    );
    assert_eq!(metadata.occurred_at, crate::support::now());
}

#[tokio::test]
async fn a_duplicate_or_empty_name_is_refused_and_writes_nothing() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let head = test.head().await;
    let duplicate = test
        .admin
        .create_organization(&operator(), &call(), "ACME")
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, AdminError::Conflict(message) if message == "an organization named \"ACME\" already exists"),
        "{duplicate:?}"
    );
    let empty = test
        .admin
        .create_organization(&operator(), &call(), "   ")
        .await
        .unwrap_err();
    assert!(
        matches!(empty, AdminError::Refused(Refusal::Organization(_))),
        "{empty:?}"
    );
    assert!(duplicate.is_refusal() && empty.is_refusal());
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn only_an_instance_admin_creates_organizations() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let head = test.head().await;
    for actor in [
        org_admin(acme),
        auditor(Scope::Instance),
        console(Vec::new()),
    ] {
        let refused = test
            .admin
            .create_organization(&actor, &call(), "Globex")
            .await
            .unwrap_err();
        assert_forbidden(&refused, Permission::ManageOrganizations, Scope::Instance);
    }
    assert_eq!(test.head().await, head);
    let admin = console(vec![Grant::InstanceAdmin]);
    let globex = test
        .admin
        .create_organization(&admin, &call(), "Globex")
        .await
        .unwrap();
    let events = test.events_of("org.created").await;
    assert_eq!(
        events.last().unwrap().decoded_metadata().unwrap().actor,
        verity_domain::Actor::User {
            user_id: uuid::Uuid::from_u128(0xad).to_string(),
            sid: Some("sid-1".into()),
        },
        "the console's admin is named in the event, with their session"
    );
    assert_eq!(globex.name, "Globex");
}

#[tokio::test]
async fn each_actor_sees_the_organizations_of_their_grants_only() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    let names = |actor| {
        test.admin
            .organizations(&actor)
            .into_iter()
            .map(|org| org.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(operator()), ["Acme", "Globex"]);
    assert_eq!(names(auditor(Scope::Instance)), ["Acme", "Globex"]);
    assert_eq!(names(org_admin(acme)), ["Acme"]);
    assert_eq!(names(auditor(Scope::Organization(globex))), ["Globex"]);
    assert!(names(console(Vec::new())).is_empty());

    // Another organization by name or id answers as if it did not exist.
    for org in [OrgRef::Name("Globex".into()), OrgRef::Id(globex)] {
        let hidden = test.admin.organization(&org_admin(acme), &org).unwrap_err();
        assert!(
            matches!(hidden, AdminError::NotFound(Missing::Organization(_))),
            "{hidden:?}"
        );
    }
    let missing = test
        .admin
        .organization(&operator(), &OrgRef::Name("Nowhere".into()))
        .unwrap_err();
    assert_eq!(missing.to_string(), "no organization \"Nowhere\"");
}
