//! Erasure: the person leaves every read model and search, their fields read as erased
//! in the log and its history, the database holds no trace of them in clear, and the
//! chain is as whole as before; others are untouched.

use verity_admin::{AdminError, OrgRef, PeopleQuery, PersonRef, Scope};
use verity_domain::personal::ERASED_TEXT;
use verity_store::chain;

use crate::support::{TestAdmin, auditor, by_email, call, operator, org_admin};

fn everyone(org: &str) -> PeopleQuery {
    PeopleQuery {
        org: OrgRef::Name(org.into()),
        text: String::new(),
        status: None,
        after: None,
        limit: 50,
    }
}

#[tokio::test]
async fn an_erased_person_is_gone_everywhere_and_the_chain_still_verifies() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person.user_id;
    let bea = test.person("Acme", "bea@example.org").await.person.user_id;
    test.start_session(ada, "ada-laptop", "wiki").await;
    let raw = |events: Vec<verity_domain::RecordedEvent>| {
        events
            .iter()
            .map(|event| format!("{} {}", event.data, event.metadata))
            .collect::<String>()
    };
    let before = chain::verify(test.raw.as_ref(), |_| {}).await.unwrap();
    assert!(
        !raw(test.raw.read_all(0, 10_000).await.unwrap()).contains("ada@example.org"),
        "sealed from the start"
    );

    let erasure = test
        .admin
        .erase_person(&operator(), &call(), &by_email("Acme", "ada@example.org"))
        .await
        .unwrap();
    assert_eq!((erasure.user_id, erasure.org_id), (ada, acme));

    // Gone from the read models and the search; Bea is as she was.
    assert!(matches!(
        test.admin
            .person(&operator(), &by_email("Acme", "ada@example.org")),
        Err(AdminError::NotFound(_))
    ));
    let page = test
        .admin
        .search_people(&operator(), &everyone("Acme"))
        .unwrap();
    let listed: Vec<&str> = page.people.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(listed, ["bea@example.org"]);
    assert_eq!(
        test.admin
            .person(&operator(), &PersonRef::Id(bea))
            .unwrap()
            .email
            .as_str(),
        "bea@example.org"
    );

    // The log: whole, the erasure naming its actor, Ada's fields erased.
    let after = chain::verify(test.raw.as_ref(), |_| {}).await.unwrap();
    assert_eq!(
        after.events,
        before.events + 2,
        "every session ended, then erased"
    );
    let erased = test.events_of("user.erased").await;
    assert!(
        erased[0].metadata.contains(r#""kind":"cli""#),
        "{}",
        erased[0].metadata
    );
    let history = test
        .admin
        .events_about(&operator(), &PersonRef::Id(ada), (None, None))
        .await
        .unwrap();
    assert_eq!(
        history[0].description,
        format!("account created for {ERASED_TEXT}")
    );
    assert!(
        history
            .iter()
            .any(|entry| entry.event_type == "user.erased")
    );
    let page = test
        .admin
        .person_history(&operator(), &PersonRef::Id(ada), None, 50)
        .await
        .unwrap();
    assert_eq!(page.entries.len(), history.len());
    let everything = raw(test.store.read_all(0, 10_000).await.unwrap());
    assert!(!everything.contains("ada@example.org"));
    assert!(
        !everything.contains("192.0.2.7"),
        "her session address: {everything}"
    );
    assert!(everything.contains("bea@example.org"));

    // The account at an instant after the erasure says so.
    let last = test.events().await.last().unwrap().recorded_at;
    let later = last + chrono::Duration::seconds(1);
    let now = test
        .admin
        .account_at(&operator(), &PersonRef::Id(ada), later)
        .await
        .unwrap();
    assert!(now.erased);
    assert_eq!(now.email, ERASED_TEXT);
    assert!(now.sessions.is_empty());

    // The address is free for someone new.
    test.person("Acme", "ada@example.org").await;
}

#[tokio::test]
async fn only_who_manages_the_person_may_erase_them() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    let ada = test.person("Acme", "ada@example.org").await.person.user_id;
    let who = PersonRef::Id(ada);

    let outsider = test
        .admin
        .erase_person(&org_admin(globex), &call(), &who)
        .await;
    assert!(
        matches!(outsider, Err(AdminError::NotFound(_))),
        "{outsider:?}"
    );
    let reader = test
        .admin
        .erase_person(&auditor(Scope::Organization(acme)), &call(), &who)
        .await;
    assert!(
        matches!(reader, Err(AdminError::Forbidden { .. })),
        "{reader:?}"
    );
    assert!(test.events_of("user.erased").await.is_empty());

    test.admin
        .erase_person(&org_admin(acme), &call(), &who)
        .await
        .unwrap();
    // Once erased, erasing again says so (to whoever may manage people there; to
    // others they are not found); their history is for those who may read people there.
    assert!(matches!(
        test.admin.erase_person(&operator(), &call(), &who).await,
        Err(AdminError::Refused(verity_admin::Refusal::User(
            verity_domain::user::UserError::Erased
        )))
    ));
    assert!(matches!(
        test.admin
            .erase_person(&org_admin(globex), &call(), &who)
            .await,
        Err(AdminError::NotFound(_))
    ));
    assert!(
        test.admin
            .events_about(&org_admin(globex), &who, (None, None))
            .await
            .is_err()
    );
    assert!(
        test.admin
            .events_about(&auditor(Scope::Organization(acme)), &who, (None, None))
            .await
            .is_ok()
    );
}

/// A person deleted by provisioning (SCIM's `DELETE`) left the read models, not the log:
/// their history stays readable by id, and they are erased by id, by who may manage
/// people there; their fields then read as erased.
#[tokio::test]
async fn a_deleted_person_is_erased_by_id() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let globex = test.org("Globex").await;
    let ada = test.person("Acme", "ada@example.org").await.person.user_id;
    let who = PersonRef::Id(ada);
    test.admin
        .delete_person(&operator(), &call(), &who)
        .await
        .unwrap();
    let history = test
        .admin
        .events_about(&auditor(Scope::Organization(acme)), &who, (None, None))
        .await
        .unwrap();
    assert_eq!(
        history[0].description,
        "account created for ada@example.org"
    );

    let outsider = test
        .admin
        .erase_person(&org_admin(globex), &call(), &who)
        .await;
    assert!(
        matches!(outsider, Err(AdminError::NotFound(_))),
        "{outsider:?}"
    );
    let erasure = test
        .admin
        .erase_person(&org_admin(acme), &call(), &who)
        .await
        .unwrap();
    assert_eq!((erasure.user_id, erasure.org_id), (ada, acme));
    // No session to end: the deletion ended them.
    assert_eq!(
        test.events()
            .await
            .last()
            .map(|event| event.event_type.clone())
            .as_deref(),
        Some("user.erased")
    );
    let history = test
        .admin
        .events_about(&operator(), &who, (None, None))
        .await
        .unwrap();
    assert_eq!(
        history[0].description,
        format!("account created for {ERASED_TEXT}")
    );
    let everything: String = test
        .store
        .read_all(0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|event| event.data.clone())
        .collect();
    assert!(!everything.contains("ada@example.org"));
}
