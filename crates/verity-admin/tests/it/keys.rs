//! Signing keys: made at first start as Verity's own act, rotated by an instance admin,
//! read by auditors, never with private material.

use verity_admin::{Permission, Scope};
use verity_oidc::keys::SigningAlgorithm;
use verity_projection::KeyState;

use crate::support::{TestAdmin, assert_forbidden, auditor, call, operator, org_admin};

#[tokio::test]
async fn first_start_makes_one_key_per_algorithm_once_and_a_rotation_retires_the_old_one() {
    let test = TestAdmin::new().await;
    let made = test
        .admin
        .ensure_signing_keys(&call(), &test.master)
        .await
        .unwrap();
    assert_eq!(made.len(), SigningAlgorithm::ALL.len());
    let generated = test.events_of("key.generated").await;
    assert!(
        generated
            .iter()
            .all(|event| event.decoded_metadata().unwrap().actor == verity_domain::Actor::System)
    );
    let again = test
        .admin
        .ensure_signing_keys(&call(), &test.master)
        .await
        .unwrap();
    assert!(again.is_empty());

    let es256 = made
        .iter()
        .find(|rotation| rotation.alg == SigningAlgorithm::ES256)
        .unwrap();
    let rotation = test
        .admin
        .rotate_signing_key(&operator(), &call(), &test.master, SigningAlgorithm::ES256)
        .await
        .unwrap();
    assert_eq!(
        rotation.retired,
        [(
            es256.kid.clone(),
            crate::support::now() + chrono::Duration::hours(24)
        )]
    );
    let keys = test
        .admin
        .signing_keys(&auditor(Scope::Instance), &call())
        .unwrap();
    assert_eq!(keys.len(), 4);
    let old = keys.iter().find(|key| key.kid == es256.kid).unwrap();
    assert!(matches!(old.state, KeyState::Retired { .. }) && old.published);
    let new = keys.iter().find(|key| key.kid == rotation.kid).unwrap();
    assert!(matches!(new.state, KeyState::Active { .. }));
    let retired = test.events_of("key.retired").await;
    assert_eq!(
        retired[0].decoded_metadata().unwrap().actor,
        verity_domain::Actor::Cli {
            os_user: Some("root".into())
        }
    );
}

#[tokio::test]
async fn only_an_instance_admin_rotates_and_org_admins_do_not_read_keys() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let head = test.head().await;
    for actor in [auditor(Scope::Instance), org_admin(acme)] {
        let refused = test
            .admin
            .rotate_signing_key(&actor, &call(), &test.master, SigningAlgorithm::EdDSA)
            .await
            .unwrap_err();
        assert_forbidden(&refused, Permission::ManageKeys, Scope::Instance);
    }
    let reading = test
        .admin
        .signing_keys(&org_admin(acme), &call())
        .unwrap_err();
    assert_forbidden(&reading, Permission::ReadKeys, Scope::Instance);
    assert_eq!(test.head().await, head);
}
