//! Lifting sign-in locks: recorded first, naming the actor; nothing written when nothing
//! is locked or counted; networks are the instance's.

use verity_admin::{Permission, PersonRef, Scope};
use verity_domain::ExpiringStore;
use verity_oidc::limits::{
    FailureLimit, client_ip_failure_key, mfa_failure_key, password_failure_key,
};

use crate::support::{TestAdmin, assert_forbidden, call, now, operator, org_admin};

async fn fail(test: &TestAdmin, limit: &FailureLimit, key: &str, times: usize) {
    let store: &dyn ExpiringStore = test.store.as_ref();
    for _ in 0..times {
        limit.record_failure(store, key, now()).await.unwrap();
    }
}

#[tokio::test]
async fn a_person_is_unlocked_once_and_the_unlock_is_recorded() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let person = PersonRef::Id(ada.user_id);
    let settings = test.admin.settings().clone();
    let nothing = test
        .admin
        .unlock_person(&operator(), &call(), &person)
        .await
        .unwrap();
    assert!(!nothing.unlocked);
    assert!(test.events_of("user.unlocked").await.is_empty());

    let password_key = password_failure_key(&ada.email);
    fail(&test, &settings.password_limit, &password_key, 3).await;
    let code_key = mfa_failure_key(ada.user_id);
    fail(&test, &settings.mfa_limit, &code_key, 2).await;
    let unlocked = test
        .admin
        .unlock_person(&operator(), &call(), &person)
        .await
        .unwrap();
    assert!(unlocked.unlocked);
    assert_eq!(
        unlocked.passwords.lock.until(),
        Some(now() + chrono::Duration::minutes(15))
    );
    assert_eq!(unlocked.codes.failures, 2);
    assert_eq!(test.events_of("user.unlocked").await.len(), 1);

    let store: &dyn ExpiringStore = test.store.as_ref();
    let lock = settings
        .password_limit
        .state(store, &password_key, now())
        .await
        .unwrap();
    assert_eq!(lock.until(), None, "the lock is lifted");
    assert_eq!(
        settings
            .mfa_limit
            .failures(store, &code_key, now())
            .await
            .unwrap(),
        0
    );
    let again = test
        .admin
        .unlock_person(&operator(), &call(), &person)
        .await
        .unwrap();
    assert!(!again.unlocked);
    assert_eq!(test.events_of("user.unlocked").await.len(), 1);
}

#[tokio::test]
async fn a_network_is_unlocked_by_an_instance_admin_only() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let address = "2001:db8::7".parse().unwrap();
    let network = client_ip_failure_key(address);
    let limit = test.admin.settings().ip_limit;
    fail(&test, &limit, &network, 3).await;

    let head = test.head().await;
    let refused = test
        .admin
        .unlock_network(&org_admin(acme), &call(), address)
        .await
        .unwrap_err();
    assert_forbidden(&refused, Permission::ManageNetworks, Scope::Instance);
    assert_eq!(test.head().await, head);

    let unlocked = test
        .admin
        .unlock_network(&operator(), &call(), address)
        .await
        .unwrap();
    assert!(unlocked.unlocked);
    assert_eq!(unlocked.network, network);
    assert!(unlocked.standing.lock.until().is_some());
    let events = test.events_of("network.unlocked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].stream, format!("network-{network}"));
    let store: &dyn ExpiringStore = test.store.as_ref();
    assert_eq!(
        limit.state(store, &network, now()).await.unwrap().until(),
        None
    );
    let again = test
        .admin
        .unlock_network(&operator(), &call(), address)
        .await
        .unwrap();
    assert!(!again.unlocked);
    assert_eq!(test.events_of("network.unlocked").await.len(), 1);
}
