//! People: created with a temporary password that is emailed first and recorded after,
//! reset, listed, disabled and enabled.

use std::sync::atomic::Ordering;

use verity_admin::invitations::NewPerson;
use verity_admin::people::{PasswordKind, Status};
use verity_admin::{AdminError, Missing, OrgRef, PersonRef, Refusal};
use verity_domain::user::UserError;
use verity_oidc::credentials::verify_password;
use verity_oidc::mail::TemporaryPasswordReason;

use crate::support::{TestAdmin, by_email, call, now, operator};

fn ada(org: &str) -> NewPerson {
    NewPerson {
        org: OrgRef::Name(org.into()),
        email: " Ada@Example.org ".into(),
        name: " Ada Lovelace ".into(),
    }
}

/// The password hash an event recorded.
fn hash_in(event: &verity_domain::RecordedEvent) -> String {
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    data["temporary_password_hash"]
        .as_str()
        .map(str::to_owned)
        .unwrap()
}

#[tokio::test]
async fn a_new_person_gets_the_temporary_password_by_email_and_the_log_only_its_hash() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let invitation = test
        .admin
        .create_person(&operator(), &call(), &ada("Acme"))
        .await
        .unwrap();
    let person = &invitation.person;
    assert_eq!(person.email.as_str(), "ada@example.org");
    assert_eq!(person.name, "Ada Lovelace");
    assert_eq!(person.org_id, acme);
    assert_eq!(
        (person.status, person.password, person.has_authenticator),
        (Status::Active, PasswordKind::Temporary, false)
    );
    assert_eq!(invitation.organization.name, "Acme");
    assert_eq!(invitation.expires_at, now() + chrono::Duration::days(7));

    let sent = test.mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "ada@example.org");
    assert_eq!(sent[0].subject, "Your Verity account");
    assert!(sent[0].text.contains("https://id.example.org"));
    let emailed = test.mailer.last_password();
    assert_eq!(emailed, invitation.temporary_password.expose());
    assert!(
        !format!("{invitation:?}").contains(&emailed),
        "Debug hides it"
    );

    let created = test.events_of("user.created").await;
    assert_eq!(created.len(), 1);
    assert!(verify_password(&emailed, &hash_in(&created[0])));
    assert!(!created[0].data.contains(&emailed));
    assert_eq!(
        created[0].decoded_metadata().unwrap().actor,
        verity_domain::Actor::Cli {
            os_user: Some("root".into())
        }
    );
}

#[tokio::test]
async fn a_failed_delivery_records_nothing() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    test.mailer.failing.store(true, Ordering::SeqCst);
    let head = test.head().await;
    let failed = test
        .admin
        .create_person(&operator(), &call(), &ada("Acme"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            failed,
            AdminError::DeliveryFailed {
                reason: TemporaryPasswordReason::AccountCreated,
                ..
            }
        ),
        "{failed:?}"
    );
    assert!(
        failed.to_string().ends_with("; no account was created"),
        "{failed}"
    );
    assert!(!failed.is_refusal());
    assert_eq!(test.head().await, head);
    assert!(
        test.admin
            .people(&operator(), &OrgRef::Name("Acme".into()))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_input_and_a_taken_address_are_refused_before_any_email() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    test.person("Acme", "ada@example.org").await;
    let head = test.head().await;
    let cases = [
        (
            NewPerson {
                email: "not-an-email".into(),
                ..ada("Acme")
            },
            "not an email address",
        ),
        (
            ada("Acme"),
            "ada@example.org already has an account in organization Acme",
        ),
        (ada("Nowhere"), "no organization \"Nowhere\""),
        (
            NewPerson {
                email: "bob@example.org".into(),
                name: "   ".into(),
                ..ada("Acme")
            },
            "a name must have",
        ),
    ];
    for (new, expected) in cases {
        let refused = test
            .admin
            .create_person(&operator(), &call(), &new)
            .await
            .unwrap_err();
        assert!(refused.is_refusal(), "{refused:?}");
        assert!(
            refused.to_string().contains(expected),
            "{refused} / {expected}"
        );
    }
    assert_eq!(test.mailer.count(), 1, "only the first person's email");
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn a_reset_emails_a_new_password_that_replaces_the_old_one() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    let first = test.person("Acme", "ada@example.org").await;
    let reset = test
        .admin
        .reset_password(&operator(), &call(), &by_email("Acme", "ADA@example.org"))
        .await
        .unwrap();
    assert_ne!(reset.temporary_password, first.temporary_password);
    assert_eq!(
        test.mailer.last_password(),
        reset.temporary_password.expose()
    );
    let issued = test.events_of("user.temporary_password.issued").await;
    assert_eq!(issued.len(), 1);
    let hash = hash_in(&issued[0]);
    assert!(verify_password(reset.temporary_password.expose(), &hash));
    assert!(!verify_password(first.temporary_password.expose(), &hash));
    assert_eq!(
        test.mailer.sent.lock().unwrap()[1].subject,
        "Your new temporary password for Verity"
    );
}

#[tokio::test]
async fn a_reset_of_a_disabled_person_is_refused_before_any_email_and_a_failed_one_keeps_the_password()
 {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    test.person("Acme", "ada@example.org").await;
    let ada = by_email("Acme", "ada@example.org");

    test.mailer.failing.store(true, Ordering::SeqCst);
    let head = test.head().await;
    let failed = test
        .admin
        .reset_password(&operator(), &call(), &ada)
        .await
        .unwrap_err();
    assert!(
        failed
            .to_string()
            .ends_with("no new password was issued and the current one still works"),
        "{failed}"
    );
    assert_eq!(test.head().await, head);
    test.mailer.failing.store(false, Ordering::SeqCst);

    test.admin
        .disable_person(&operator(), &call(), &ada)
        .await
        .unwrap();
    let head = test.head().await;
    let refused = test
        .admin
        .reset_password(&operator(), &call(), &ada)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            AdminError::Refused(Refusal::User(UserError::Disabled))
        ),
        "{refused:?}"
    );
    assert_eq!(test.mailer.count(), 1);
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn people_are_listed_found_disabled_and_enabled() {
    let test = TestAdmin::new().await;
    test.org("Acme").await;
    test.org("Globex").await;
    let ada = test.person("Acme", "ada@example.org").await.person;
    test.person("Acme", "bob@example.org").await;
    test.person("Globex", "carol@example.org").await;

    let acme = test
        .admin
        .people(&operator(), &OrgRef::Name("acme".into()))
        .unwrap();
    let emails: Vec<_> = acme.iter().map(|person| person.email.as_str()).collect();
    assert_eq!(emails, ["ada@example.org", "bob@example.org"]);
    assert_eq!(
        test.admin
            .person(&operator(), &PersonRef::Id(ada.user_id))
            .unwrap(),
        ada
    );

    let target = by_email("Acme", "ada@example.org");
    let disabled = test
        .admin
        .disable_person(&operator(), &call(), &target)
        .await
        .unwrap();
    assert_eq!(disabled.status, Status::Disabled);
    let again = test
        .admin
        .disable_person(&operator(), &call(), &target)
        .await
        .unwrap_err();
    assert_eq!(again.to_string(), "the user is already disabled");
    assert!(again.is_refusal());
    let enabled = test
        .admin
        .enable_person(&operator(), &call(), &target)
        .await
        .unwrap();
    assert_eq!(enabled.status, Status::Active);
    assert_eq!(test.events_of("user.disabled").await.len(), 1);
    assert_eq!(test.events_of("user.enabled").await.len(), 1);

    let nobody = test
        .admin
        .enable_person(
            &operator(),
            &call(),
            &by_email("Acme", "nobody@example.org"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&nobody, AdminError::NotFound(Missing::Person { .. })),
        "{nobody:?}"
    );
    assert_eq!(
        nobody.to_string(),
        "no user nobody@example.org in organization Acme"
    );
}
