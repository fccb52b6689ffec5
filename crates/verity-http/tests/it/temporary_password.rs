//! A new password in place of a temporary one after an admin's reset: for a person who
//! has an authenticator, the new password is recorded only once their code (or a
//! recovery code) is verified, so whoever holds just the temporary password changes
//! nothing. (At a first sign-in, without an authenticator, the password comes first and
//! the set-up after it: `sign_in.rs`.)

use verity_testkit::Step;

use crate::support::TestApp;

const BAD_CREDENTIALS: &str = "The email or password is not correct.";

/// The new password the person chooses, unlike the one they had before the reset.
const NEW_PASSWORD: &str = "Amber-Meadow-Falcon-2846-Compass";

#[tokio::test]
async fn after_a_reset_the_new_password_is_recorded_only_once_the_code_is_verified() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let temporary = app.reset_password(&ada.email).await;
    let changes_before = app.events("user.password.changed").await.len();

    let mut browser = app.browser();
    let form = browser.authorize(&client.authorization().query()).await;
    let choose = browser.sign_in(&form, &ada.email, &temporary).await;
    assert_eq!(choose.step(), Step::ChoosePassword, "{}", choose.body);
    let asked = browser
        .choose_password(&choose, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(asked.step(), Step::Code, "{}", asked.body);
    let wrong = browser.code(&asked, "999999").await;
    assert_eq!(wrong.step(), Step::Code);
    assert_eq!(
        app.events("user.password.changed").await.len(),
        changes_before,
        "nothing recorded before the code"
    );
    let log: String = app
        .all_events()
        .await
        .iter()
        .map(|event| event.data.clone())
        .collect();
    assert!(!log.contains(NEW_PASSWORD));

    // Whoever held only the temporary password changed nothing: it still leads to
    // "Choose a new password", and the password chosen with it does not work.
    let mut other = app.browser();
    let other_form = other.authorize(&client.authorization().query()).await;
    let refused = other.sign_in(&other_form, &ada.email, NEW_PASSWORD).await;
    assert_eq!(refused.error().as_deref(), Some(BAD_CREDENTIALS));
    let still = other.sign_in(&other_form, &ada.email, &temporary).await;
    assert_eq!(still.step(), Step::ChoosePassword);

    let code = ada.next_code().await;
    let redirect = browser.code(&asked, &code).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let changed = app.events("user.password.changed").await;
    assert_eq!(changed.len(), changes_before + 1);
    let change = changed.last().unwrap();
    assert_eq!(TestApp::metadata(change)["actor"]["kind"], "user");
    let succeeded = app.events("user.signin.succeeded").await;
    assert!(
        change.position < succeeded[0].position,
        "before the sign-in ends"
    );

    // Now the new password is the one.
    ada.password = NEW_PASSWORD.to_owned();
    let mut later = app.browser();
    let form = later.authorize(&client.authorization().query()).await;
    let old = later.sign_in(&form, &ada.email, &temporary).await;
    assert_eq!(old.error().as_deref(), Some(BAD_CREDENTIALS));
    let new = later.sign_in(&form, &ada.email, NEW_PASSWORD).await;
    assert_eq!(new.step(), Step::Code);
}

#[tokio::test]
async fn after_a_reset_a_recovery_code_records_the_new_password_too() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let temporary = app.reset_password(&ada.email).await;
    let changes_before = app.events("user.password.changed").await.len();

    let mut browser = app.browser();
    let form = browser.authorize(&client.authorization().query()).await;
    let choose = browser.sign_in(&form, &ada.email, &temporary).await;
    let asked = browser
        .choose_password(&choose, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(asked.step(), Step::Code);
    assert_eq!(
        app.events("user.password.changed").await.len(),
        changes_before
    );
    let used = browser.recovery_code(&asked, &ada.recovery_codes[0]).await;
    assert_eq!(used.step(), Step::RecoveryCodeUsed, "{}", used.body);
    assert_eq!(
        app.events("user.password.changed").await.len(),
        changes_before + 1
    );
    let redirect = browser.continue_(&used).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
}
