//! A person's trusted devices and authenticator app, as admins manage them.

use verity_admin::devices::HASH_PREFIX;
use verity_admin::{AdminError, PersonRef};
use verity_projection::DeviceState;

use crate::support::{TestAdmin, call, operator};

#[tokio::test]
async fn devices_are_listed_without_their_hash_and_forgotten_all_at_once() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let person = PersonRef::Id(ada.user_id);
    let none = test
        .admin
        .devices(&operator(), &call(), &person)
        .await
        .unwrap();
    assert!(none.devices.is_empty());
    let forgotten = test
        .admin
        .forget_devices(&operator(), &call(), &person)
        .await
        .unwrap();
    assert_eq!(forgotten.forgotten, 0);
    assert!(test.events_of("user.device.forgotten").await.is_empty());

    test.enroll(ada.user_id).await;
    test.trust(ada.user_id).await;
    test.trust(ada.user_id).await;
    let listed = test
        .admin
        .devices(&operator(), &call(), &person)
        .await
        .unwrap();
    assert_eq!(listed.devices.len(), 2);
    for device in &listed.devices {
        assert_eq!(device.device.len(), HASH_PREFIX);
        assert_eq!(device.state, DeviceState::Active);
        assert_eq!(device.label, "Firefox on Linux");
    }

    let forgotten = test
        .admin
        .forget_devices(&operator(), &call(), &person)
        .await
        .unwrap();
    assert_eq!(forgotten.forgotten, 2);
    let events = test.events_of("user.device.forgotten").await;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|event| event.decoded_metadata().unwrap().actor
                == verity_domain::Actor::Cli {
                    os_user: Some("root".into())
                })
    );
    let after = test
        .admin
        .devices(&operator(), &call(), &person)
        .await
        .unwrap();
    assert!(
        after
            .devices
            .iter()
            .all(|device| device.state == DeviceState::Forgotten)
    );
}

#[tokio::test]
async fn an_authenticator_reset_removes_the_app_and_forgets_the_devices() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    let person = PersonRef::Id(ada.user_id);
    let head = test.head().await;
    let nothing = test
        .admin
        .reset_authenticator(&operator(), &call(), &person)
        .await
        .unwrap_err();
    assert!(
        matches!(&nothing, AdminError::Conflict(message) if message == "ada@example.org has no authenticator app to reset"),
        "{nothing:?}"
    );
    assert_eq!(test.head().await, head);

    test.enroll(ada.user_id).await;
    test.trust(ada.user_id).await;
    let reset = test
        .admin
        .reset_authenticator(&operator(), &call(), &person)
        .await
        .unwrap();
    assert_eq!(reset.devices_forgotten, 1);
    assert!(!reset.person.has_authenticator);
    assert_eq!(test.events_of("user.totp.reset").await.len(), 1);
    assert_eq!(test.events_of("user.device.forgotten").await.len(), 1);
}
