//! The authorization matrix over a real store: every person command and query as an org
//! admin of another organization (not found, as if the person did not exist), as an
//! auditor (forbidden), and as an org admin of the person's own organization (done, and
//! named in the event). A refused command writes nothing and sends nothing.

use verity_admin::invitations::NewPerson;
use verity_admin::{Actor, AdminError, Missing, OrgRef, Permission, PersonRef, Scope};

use crate::support::{
    TestAdmin, assert_forbidden, auditor, by_email, call, console, operator, org_admin,
};

/// Every command on a person, by name, with what it answered.
async fn every_command(
    test: &TestAdmin,
    actor: &Actor,
    person: &PersonRef,
) -> Vec<(&'static str, AdminError)> {
    let (admin, call) = (&test.admin, call());
    let mut refused = Vec::new();
    let mut expect_err = |name, result: Result<(), AdminError>| match result {
        Ok(()) => panic!("{name} was allowed"),
        Err(error) => refused.push((name, error)),
    };
    expect_err(
        "reset_password",
        admin.reset_password(actor, &call, person).await.map(drop),
    );
    expect_err(
        "disable_person",
        admin.disable_person(actor, &call, person).await.map(drop),
    );
    expect_err(
        "enable_person",
        admin.enable_person(actor, &call, person).await.map(drop),
    );
    expect_err(
        "forget_devices",
        admin.forget_devices(actor, &call, person).await.map(drop),
    );
    expect_err(
        "reset_authenticator",
        admin
            .reset_authenticator(actor, &call, person)
            .await
            .map(drop),
    );
    expect_err(
        "unlock_person",
        admin.unlock_person(actor, &call, person).await.map(drop),
    );
    refused
}

/// Every query about a person.
async fn every_query(
    test: &TestAdmin,
    actor: &Actor,
    person: &PersonRef,
) -> Vec<(&'static str, Result<(), AdminError>)> {
    vec![
        ("person", test.admin.person(actor, person).map(drop)),
        (
            "devices",
            test.admin.devices(actor, &call(), person).await.map(drop),
        ),
    ]
}

#[tokio::test]
async fn an_org_admin_cannot_read_or_change_another_organizations_person() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    test.org("Globex").await;
    let carol = test.person("Globex", "carol@example.org").await.person;
    test.enroll(carol.user_id).await;
    test.trust(carol.user_id).await;
    let (head, emails) = (test.head().await, test.mailer.count());
    let intruder = org_admin(acme);

    for person in [
        PersonRef::Id(carol.user_id),
        by_email("Globex", "carol@example.org"),
        // Naming their own organization does not reach the person either.
        by_email("Acme", "carol@example.org"),
    ] {
        for (name, error) in every_command(&test, &intruder, &person).await {
            assert!(
                matches!(error, AdminError::NotFound(_)),
                "{name} on {person:?}: {error:?}"
            );
        }
        for (name, answer) in every_query(&test, &intruder, &person).await {
            assert!(
                matches!(answer, Err(AdminError::NotFound(_))),
                "{name} on {person:?}: {answer:?}"
            );
        }
    }
    let hidden = test
        .admin
        .person(&intruder, &PersonRef::Id(carol.user_id))
        .unwrap_err();
    assert_eq!(
        hidden.to_string(),
        format!("no user {}", carol.user_id),
        "the same answer as for an id that does not exist"
    );
    let listing = test
        .admin
        .people(&intruder, &OrgRef::Name("Globex".into()))
        .unwrap_err();
    assert!(
        matches!(listing, AdminError::NotFound(Missing::Organization(_))),
        "{listing:?}"
    );
    let creating = test
        .admin
        .create_person(
            &intruder,
            &call(),
            &NewPerson {
                org: OrgRef::Name("Globex".into()),
                email: "mallory@example.org".into(),
                name: "Mallory".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(creating, AdminError::NotFound(_)), "{creating:?}");

    assert_eq!(test.head().await, head, "a refused command wrote events");
    assert_eq!(
        test.mailer.count(),
        emails,
        "a refused command sent an email"
    );
    let carol_now = test
        .admin
        .person(&operator(), &PersonRef::Id(carol.user_id))
        .unwrap();
    assert!(carol_now.has_authenticator);
}

#[tokio::test]
async fn an_org_admin_manages_people_of_their_own_organization_in_their_own_name() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let admin = org_admin(acme);
    let created = test
        .admin
        .create_person(
            &admin,
            &call(),
            &NewPerson {
                org: OrgRef::Id(acme),
                email: "ada@example.org".into(),
                name: "Ada".into(),
            },
        )
        .await
        .unwrap();
    let ada = PersonRef::Id(created.person.user_id);
    test.admin
        .disable_person(&admin, &call(), &ada)
        .await
        .unwrap();
    test.admin
        .enable_person(&admin, &call(), &ada)
        .await
        .unwrap();
    test.admin
        .reset_password(&admin, &call(), &ada)
        .await
        .unwrap();
    assert_eq!(
        test.admin.people(&admin, &OrgRef::Id(acme)).unwrap().len(),
        1
    );

    let acting = verity_domain::Actor::User {
        user_id: uuid::Uuid::from_u128(0xad).to_string(),
        sid: Some("sid-1".into()),
    };
    let events = test.events().await;
    let by_admin: Vec<_> = events
        .iter()
        .filter(|event| event.stream.starts_with("user-"))
        .map(|event| {
            (
                event.event_type.as_str(),
                event.decoded_metadata().unwrap().actor,
            )
        })
        .collect();
    assert_eq!(
        by_admin,
        [
            ("user.created", acting.clone()),
            ("user.disabled", acting.clone()),
            ("user.sessions.ended", acting.clone()),
            ("user.enabled", acting.clone()),
            ("user.temporary_password.issued", acting.clone()),
            ("user.sessions.ended", acting),
        ]
    );
}

#[tokio::test]
async fn an_auditor_reads_and_changes_nothing() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    test.enroll(ada.user_id).await;
    test.trust(ada.user_id).await;
    let (head, emails) = (test.head().await, test.mailer.count());
    let person = PersonRef::Id(ada.user_id);

    for reader in [auditor(Scope::Instance), auditor(Scope::Organization(acme))] {
        for (name, answer) in every_query(&test, &reader, &person).await {
            assert!(answer.is_ok(), "{name}: {answer:?}");
        }
        assert_eq!(
            test.admin.people(&reader, &OrgRef::Id(acme)).unwrap().len(),
            1
        );
        for (_, error) in every_command(&test, &reader, &person).await {
            assert_forbidden(&error, Permission::ManagePeople, Scope::Organization(acme));
        }
        let creating = test
            .admin
            .create_person(
                &reader,
                &call(),
                &NewPerson {
                    org: OrgRef::Id(acme),
                    email: "bob@example.org".into(),
                    name: "Bob".into(),
                },
            )
            .await
            .unwrap_err();
        assert_forbidden(
            &creating,
            Permission::ManagePeople,
            Scope::Organization(acme),
        );
    }
    // An auditor of Globex does not see Acme's people at all.
    let elsewhere = auditor(Scope::Organization(globex));
    for (name, answer) in every_query(&test, &elsewhere, &person).await {
        assert!(
            matches!(answer, Err(AdminError::NotFound(_))),
            "{name}: {answer:?}"
        );
    }
    assert_eq!(test.head().await, head);
    assert_eq!(test.mailer.count(), emails);
}

#[tokio::test]
async fn without_a_grant_nothing_is_visible_and_the_operator_may_do_everything() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    test.enroll(ada.user_id).await;
    let person = PersonRef::Id(ada.user_id);
    let head = test.head().await;
    let nobody = console(Vec::new());
    for (name, error) in every_command(&test, &nobody, &person).await {
        assert!(
            matches!(error, AdminError::NotFound(_)),
            "{name}: {error:?}"
        );
    }
    assert_eq!(test.head().await, head);

    let (admin, call) = (&test.admin, call());
    for (name, answer) in every_query(&test, &operator(), &person).await {
        assert!(answer.is_ok(), "{name}: {answer:?}");
    }
    admin
        .disable_person(&operator(), &call, &person)
        .await
        .unwrap();
    admin
        .enable_person(&operator(), &call, &person)
        .await
        .unwrap();
    admin
        .reset_password(&operator(), &call, &person)
        .await
        .unwrap();
    admin
        .reset_authenticator(&operator(), &call, &person)
        .await
        .unwrap();
    admin
        .unlock_person(&operator(), &call, &person)
        .await
        .unwrap();
    admin
        .forget_devices(&operator(), &call, &person)
        .await
        .unwrap();
    assert!(test.head().await > head);
}
