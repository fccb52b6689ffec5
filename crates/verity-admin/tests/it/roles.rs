//! Roles over a real store: granting and revoking are events naming the admin; an admin
//! cannot hand on more than they hold; an organization's roles stay with its own people;
//! lists show each admin only what they may read; a refusal writes nothing.

use verity_admin::roles::{HolderDetails, HolderRef};
use verity_admin::{AdminError, Grant, OrgRef, Permission, PersonRef, Scope};
use verity_domain::role::ROLE_GRANTED;

use crate::support::{
    TestAdmin, assert_forbidden, auditor, by_email, call, console, operator, org_admin,
};

fn person(org: &str, email: &str) -> HolderRef {
    HolderRef::Person(by_email(org, email))
}

#[tokio::test]
async fn the_operator_makes_the_first_instance_admin_and_the_grant_is_an_event() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let held = test
        .admin
        .grant_role(
            &operator(),
            &call(),
            &HolderRef::Person(PersonRef::Address("ADA@example.org".into())),
            Grant::InstanceAdmin,
        )
        .await
        .unwrap();
    assert_eq!(held.grant, Grant::InstanceAdmin);
    assert!(matches!(held.holder, HolderDetails::Person { user_id, .. } if user_id == ada.user_id));
    assert_eq!(
        test.admin.grants_of_person(ada.user_id),
        vec![Grant::InstanceAdmin]
    );
    let events = test.events_of(ROLE_GRANTED).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].stream, format!("roles-user-{}", ada.user_id));
    assert!(
        events[0]
            .metadata
            .contains(r#""actor":{"kind":"cli","os_user":"root"}"#),
        "{}",
        events[0].metadata
    );

    test.admin
        .revoke_role(
            &operator(),
            &call(),
            &HolderRef::Person(PersonRef::Id(ada.user_id)),
            Grant::InstanceAdmin,
        )
        .await
        .unwrap();
    assert!(test.admin.grants_of_person(ada.user_id).is_empty());
}

#[tokio::test]
async fn an_org_admin_hands_on_their_organizations_roles_and_nothing_more() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    test.person("Acme", "bea@example.org").await;
    test.person("Globex", "carol@example.org").await;
    let admin = org_admin(acme);
    let head = test.head().await;

    // More than they hold: refused before anything is looked up or written.
    for grant in [
        Grant::InstanceAdmin,
        Grant::Auditor {
            scope: Scope::Instance,
        },
    ] {
        let error = test
            .admin
            .grant_role(&admin, &call(), &person("Acme", "bea@example.org"), grant)
            .await
            .unwrap_err();
        assert_forbidden(&error, Permission::ManageRoles, Scope::Instance);
    }
    let error = test
        .admin
        .grant_role(
            &admin,
            &call(),
            &person("Globex", "carol@example.org"),
            Grant::OrgAdmin { org_id: globex },
        )
        .await
        .unwrap_err();
    assert_forbidden(&error, Permission::ManageRoles, Scope::Organization(globex));
    // Another organization's person does not exist for them.
    let error = test
        .admin
        .grant_role(
            &admin,
            &call(),
            &person("Globex", "carol@example.org"),
            Grant::OrgAdmin { org_id: acme },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AdminError::NotFound(_)), "{error:?}");
    assert_eq!(test.head().await, head, "nothing was written");

    // Their own organization's roles: yes, named as them.
    let auditor_grant = Grant::Auditor {
        scope: Scope::Organization(acme),
    };
    test.admin
        .grant_role(
            &admin,
            &call(),
            &person("Acme", "bea@example.org"),
            auditor_grant,
        )
        .await
        .unwrap();
    let event = test.events_of(ROLE_GRANTED).await.pop().unwrap();
    assert!(
        event.metadata.contains(r#""sid":"sid-1""#),
        "{}",
        event.metadata
    );

    // Given twice: a refusal, nothing written.
    let head = test.head().await;
    let error = test
        .admin
        .grant_role(
            &admin,
            &call(),
            &person("Acme", "bea@example.org"),
            auditor_grant,
        )
        .await
        .unwrap_err();
    assert!(error.is_refusal());
    assert_eq!(
        error.to_string(),
        format!("they already hold {auditor_grant}")
    );
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn an_auditor_reads_roles_and_grants_none() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    test.person("Acme", "bea@example.org").await;
    let reader = auditor(Scope::Organization(acme));
    let error = test
        .admin
        .grant_role(
            &reader,
            &call(),
            &person("Acme", "bea@example.org"),
            Grant::Auditor {
                scope: Scope::Organization(acme),
            },
        )
        .await
        .unwrap_err();
    assert_forbidden(&error, Permission::ManageRoles, Scope::Organization(acme));
    test.admin
        .grant_role(
            &operator(),
            &call(),
            &person("Acme", "bea@example.org"),
            Grant::OrgAdmin { org_id: acme },
        )
        .await
        .unwrap();
    let listed = test
        .admin
        .roles(&reader, Some(&OrgRef::Name("acme".into())))
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].holder.label(), "bea@example.org");
}

#[tokio::test]
async fn an_organizations_roles_go_to_its_own_people_only() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let globex = test.org("Globex").await;
    let bea = test.person("Acme", "bea@example.org").await.person;
    let head = test.head().await;
    let error = test
        .admin
        .grant_role(
            &operator(),
            &call(),
            &HolderRef::Person(PersonRef::Id(bea.user_id)),
            Grant::OrgAdmin { org_id: globex },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AdminError::Invalid(_)), "{error:?}");
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn lists_show_each_admin_the_grants_within_their_reach() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    test.person("Acme", "bea@example.org").await;
    test.person("Globex", "carol@example.org").await;
    let grants = [
        (
            person("Acme", "bea@example.org"),
            Grant::OrgAdmin { org_id: acme },
        ),
        (person("Acme", "bea@example.org"), Grant::InstanceAdmin),
        (
            person("Globex", "carol@example.org"),
            Grant::Auditor {
                scope: Scope::Organization(globex),
            },
        ),
    ];
    for (holder, grant) in &grants {
        test.admin
            .grant_role(&operator(), &call(), holder, *grant)
            .await
            .unwrap();
    }
    let everything = test.admin.roles(&operator(), None).unwrap();
    let mut listed: Vec<Grant> = everything.iter().map(|held| held.grant).collect();
    listed.sort();
    let mut given: Vec<Grant> = grants.iter().map(|(_, grant)| *grant).collect();
    given.sort();
    assert_eq!(listed, given);
    assert_eq!(everything.len(), 3);
    assert_eq!(
        everything[0].grant,
        Grant::InstanceAdmin,
        "instance-wide first"
    );

    let acme_admin = org_admin(acme);
    let theirs = test.admin.roles(&acme_admin, None).unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].grant, Grant::OrgAdmin { org_id: acme });
    let error = test
        .admin
        .roles(&acme_admin, Some(&OrgRef::Id(globex)))
        .unwrap_err();
    assert!(matches!(error, AdminError::NotFound(_)), "{error:?}");
    assert!(
        test.admin
            .roles(&console(Vec::new()), None)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_service_client_holds_roles_of_its_own_organization_or_any_when_it_has_none() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    let registered = test
        .admin
        .register_client(
            &operator(),
            &call(),
            verity_admin::clients::NewClient {
                name: "HR sync".into(),
                grant_types: vec![verity_domain::client::GrantType::ClientCredentials],
                org_id: Some(acme),
                ..crate::clients::wiki()
            },
        )
        .await
        .unwrap();
    let client_id = registered.client.client_id;
    let holder = HolderRef::Client(client_id.clone());
    test.admin
        .grant_role(
            &operator(),
            &call(),
            &holder,
            Grant::OrgAdmin { org_id: acme },
        )
        .await
        .unwrap();
    assert_eq!(
        test.admin.grants_of_client(&client_id),
        vec![Grant::OrgAdmin { org_id: acme }]
    );
    let error = test
        .admin
        .grant_role(
            &operator(),
            &call(),
            &holder,
            Grant::OrgAdmin { org_id: globex },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AdminError::Invalid(_)), "{error:?}");
}
