//! The second factor: setting up the authenticator app, the code (once only, locked
//! after too many wrong ones), recovery codes, and the trusted device that stands in for
//! the code.

use serde_json::json;

use verity_oidc::limits::FailureLimit;
use verity_testkit::steps::APP_NAME;
use verity_testkit::totp::Authenticator;
use verity_testkit::{Device, Step};

use crate::support::{Settings, TestApp, id_token_claims, post_twice_at_once};

const WRONG_CODE: &str = "That code is not correct. Enter the current code from your app.";
const WRONG_RECOVERY_CODE: &str = "That recovery code is not valid or was already used.";

#[tokio::test]
async fn a_person_without_an_app_sets_one_up_and_is_shown_recovery_codes_once() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let grace = app.person_with_password("grace@example.org").await;
    let mut browser = app.browser();
    let setup = browser
        .authorize_and_sign_in(&client.authorization().query(), &grace)
        .await;
    assert_eq!(setup.step(), Step::SetUpAuthenticator, "{}", setup.body);
    assert_eq!(
        setup.heading().as_deref(),
        Some("Set up your authenticator app")
    );
    assert!(setup.says("time-based") && setup.body.contains("<svg"));
    let secret = setup.totp_secret().unwrap();
    assert_eq!(secret.len(), 32, "a 160-bit secret in Base32");

    let wrong = browser.enroll(&setup, "Work phone", "000000").await;
    assert_eq!(wrong.step(), Step::SetUpAuthenticator);
    assert_eq!(wrong.error().as_deref(), Some(WRONG_CODE));
    assert_eq!(wrong.totp_secret(), Some(secret.clone()), "the same secret");
    assert!(
        wrong.body.contains("value=\"Work phone\""),
        "the name stays"
    );
    let mut authenticator = Authenticator::new(&secret);
    let code = authenticator.next_code().await;
    let nameless = browser.enroll(&setup, "  ", &code).await;
    assert_eq!(
        nameless.error().as_deref(),
        Some("Give the app a name of 1 to 64 characters.")
    );

    let codes = browser.enroll(&setup, "Work phone", &code).await;
    assert_eq!(codes.step(), Step::RecoveryCodes, "{}", codes.body);
    let recovery_codes = codes.recovery_codes();
    assert_eq!(recovery_codes.len(), 10);
    let again = browser.enroll(&setup, "Work phone", &code).await;
    assert!(
        again
            .error()
            .unwrap()
            .starts_with("Your sign-in took too long"),
        "shown once"
    );
    let redirect = browser.continue_(&codes).await;
    assert_eq!(
        id_token_claims(&browser, &client, &redirect).await["amr"],
        json!(["pwd", "otp"])
    );

    let enrolled = app.events("user.totp.enrolled").await;
    assert_eq!(enrolled.len(), 1);
    assert_eq!(TestApp::data(&enrolled[0])["app_name"], "Work phone");
    assert_eq!(app.events("user.recovery_codes.generated").await.len(), 1);
    let log: String = app
        .all_events()
        .await
        .iter()
        .map(|event| event.data.clone())
        .collect();
    assert!(!log.contains(&secret), "the secret only sealed");
    assert!(
        recovery_codes
            .iter()
            .all(|code| !log.contains(code.as_str()))
    );
}

#[tokio::test]
async fn an_enrolled_person_enters_the_code_from_their_app() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = browser
        .authorize(&client.authorization().with("state", "st").query())
        .await;
    let asked = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(asked.step(), Step::Code);
    assert_eq!(
        asked.heading().as_deref(),
        Some(format!("Enter the code from {APP_NAME}").as_str())
    );
    assert!(asked.says("Remember this device") && asked.says("public or shared computer"));
    assert!(asked.has_form("/login/recovery"), "a recovery code instead");
    let code = ada.next_code().await;
    let redirect = browser.code(&asked, &code).await;
    assert_eq!(redirect.step(), Step::Redirect, "{}", redirect.body);
    assert_eq!(redirect.redirect_param("state").as_deref(), Some("st"));
    assert!(!browser.has_cookie("verity_device"), "not remembered");
    assert!(
        !browser.has_cookie("verity_csrf"),
        "the form's cookie is cleared"
    );
    let claims = id_token_claims(&browser, &client, &redirect).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    let succeeded = app.events("user.signin.succeeded").await;
    assert_eq!(TestApp::data(&succeeded[0])["second_factor"], "totp");
    assert_eq!(TestApp::data(&succeeded[0])["sid"], claims["sid"]);
    assert_eq!(app.events("session.started").await.len(), 1);
}

#[tokio::test]
async fn a_code_works_once_and_a_wrong_code_is_said_to_be_wrong() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut first = app.browser();
    let redirect = first
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    assert!(redirect.code().is_some());

    let mut second = app.browser();
    let form = second.authorize(&client.authorization().query()).await;
    let asked = second.sign_in(&form, &ada.email, &ada.password).await;
    let used = ada.authenticator.as_ref().unwrap().used_code().unwrap();
    let reused = second.code(&asked, &used).await;
    assert_eq!(reused.step(), Step::Code);
    assert_eq!(
        reused.error().as_deref(),
        Some("That code was already used. Wait for the next code in your app.")
    );
    let wrong = second.code(&asked, "999999").await;
    assert_eq!(wrong.error().as_deref(), Some(WRONG_CODE));
    let malformed = second.code(&asked, "not a code at all").await;
    assert_eq!(malformed.error().as_deref(), Some(WRONG_CODE));
    assert_eq!(app.events("user.signin.succeeded").await.len(), 1);
}

/// Settings where `failures` wrong codes lock a person's code step.
fn code_lock_after(failures: u64) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.engine.mfa_limit = FailureLimit::mfa(
            failures,
            chrono::Duration::minutes(15),
            chrono::Duration::minutes(15),
        );
    }
}

#[tokio::test]
async fn wrong_codes_lock_the_step_and_then_the_right_code_is_refused_too() {
    let app = TestApp::start_with(code_lock_after(3)).await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    const LOCKED: &str = "Too many wrong codes. Entering codes is locked for 15 minutes.";
    for attempt in 1..=3 {
        let refused = browser.code(&asked, "999999").await;
        let expected = if attempt < 3 { WRONG_CODE } else { LOCKED };
        assert_eq!(
            refused.error().as_deref(),
            Some(expected),
            "attempt {attempt}"
        );
    }
    let right = ada.next_code().await;
    let still = browser.code(&asked, &right).await;
    assert_eq!(still.error().as_deref(), Some(LOCKED));
    // Recovery codes are behind the same lock.
    let recovery = browser.recovery_code(&asked, &ada.recovery_codes[0]).await;
    assert_eq!(recovery.error().as_deref(), Some(LOCKED));
    assert!(app.events("user.signin.succeeded").await.is_empty());
    assert!(app.events("user.recovery_code.used").await.is_empty());
}

#[tokio::test]
async fn a_recovery_code_works_once_in_place_of_a_code() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    let wrong = browser.recovery_code(&asked, "AAAA-BBBB-CCCC").await;
    assert_eq!(wrong.error().as_deref(), Some(WRONG_RECOVERY_CODE));

    let first = ada.recovery_codes[0].clone();
    let used = browser.recovery_code(&asked, &first.to_lowercase()).await;
    assert_eq!(used.step(), Step::RecoveryCodeUsed, "{}", used.body);
    assert_eq!(used.heading().as_deref(), Some("You used a recovery code"));
    assert!(used.says("You have 9 unused recovery codes left."));
    let continue_at = used.form_position("/login/continue").unwrap();
    let generate_at = used.form_position("/login/recovery/regenerate").unwrap();
    assert!(
        continue_at < generate_at,
        "with codes left, continuing comes first"
    );
    let redirect = browser.continue_(&used).await;
    let claims = id_token_claims(&browser, &client, &redirect).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));

    browser.log_out().await;
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    let again = browser.recovery_code(&asked, &first).await;
    assert_eq!(again.error().as_deref(), Some(WRONG_RECOVERY_CODE));
    assert_eq!(app.events("user.recovery_code.used").await.len(), 1);
    let succeeded = app.events("user.signin.succeeded").await;
    assert_eq!(
        TestApp::data(&succeeded[0])["second_factor"],
        "recovery_code"
    );
}

#[tokio::test]
async fn after_a_recovery_code_a_new_set_is_generated_once_before_continuing() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    let used = browser.recovery_code(&asked, &ada.recovery_codes[0]).await;
    let shown = browser.generate_recovery_codes(&used).await;
    assert_eq!(shown.step(), Step::RecoveryCodes, "{}", shown.body);
    let new_codes = shown.recovery_codes();
    assert_eq!(new_codes.len(), 10);
    assert!(
        new_codes
            .iter()
            .all(|code| !ada.recovery_codes.contains(code))
    );
    assert!(shown.says("Your previous recovery codes no longer work."));
    let again = browser.generate_recovery_codes(&used).await;
    assert!(
        again
            .error()
            .unwrap()
            .starts_with("Your sign-in took too long"),
        "shown once"
    );
    assert_eq!(app.events("user.recovery_codes.generated").await.len(), 2);
    let redirect = browser.continue_(&shown).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);

    browser.log_out().await;
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    let old = browser.recovery_code(&asked, &ada.recovery_codes[1]).await;
    assert_eq!(
        old.error().as_deref(),
        Some(WRONG_RECOVERY_CODE),
        "the old set is dead"
    );
    let new = browser.recovery_code(&asked, &new_codes[0]).await;
    assert_eq!(new.step(), Step::RecoveryCodeUsed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_recovery_codes_posted_twice_at_once_are_generated_once() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    let used = browser.recovery_code(&asked, &ada.recovery_codes[0]).await;
    assert_eq!(used.step(), Step::RecoveryCodeUsed);
    let (first, second) =
        post_twice_at_once(&browser, &used, "/login/recovery/regenerate", &[]).await;
    let shown: Vec<_> = [&first, &second]
        .into_iter()
        .filter(|page| page.step() == Step::RecoveryCodes)
        .collect();
    assert_eq!(shown.len(), 1, "{}\n{}", first.body, second.body);
    assert_eq!(
        app.events("user.recovery_codes.generated").await.len(),
        2,
        "the enrollment's set and one new set"
    );
}

#[tokio::test]
async fn a_trusted_device_skips_the_code_for_its_person_only() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut bob = app.enrolled_person("bob@example.org").await;
    let mut browser = app
        .browser()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    let redirect = browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Remember)
        .await;
    assert!(browser.has_cookie("verity_device"));
    assert_eq!(
        id_token_claims(&browser, &client, &redirect).await["amr"],
        json!(["pwd", "otp"])
    );
    let trusted = app.events("user.device.trusted").await;
    assert_eq!(trusted.len(), 1);
    assert!(
        TestApp::data(&trusted[0])["label"]
            .as_str()
            .unwrap()
            .contains("Firefox")
    );
    browser.log_out().await;

    let redirect = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    assert_eq!(
        redirect.step(),
        Step::Redirect,
        "the password alone: {}",
        redirect.body
    );
    let claims = id_token_claims(&browser, &client, &redirect).await;
    assert_eq!(claims["amr"], json!(["pwd", "trusted_device"]));
    let succeeded = app.events("user.signin.succeeded").await;
    assert_eq!(TestApp::data(&succeeded[1])["device_trust_used"], true);
    browser.log_out().await;

    // Ada's device cookie does nothing for Bob.
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &bob)
        .await;
    assert_eq!(asked.step(), Step::Code, "Bob is asked for his code");
    let code = bob.next_code().await;
    assert!(browser.code(&asked, &code).await.code().is_some());
}

#[tokio::test]
async fn a_person_holding_an_admin_role_gives_a_code_at_every_sign_in() {
    use verity_domain::role::{Grant, Holder, RoleCommand, Roles};

    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Remember)
        .await;
    assert!(browser.has_cookie("verity_device"));
    browser.log_out().await;

    let holder = Holder::User {
        user_id: app.user_id("ada@example.org"),
    };
    let command = RoleCommand::Grant {
        holder: holder.clone(),
        grant: Grant::InstanceAdmin,
    };
    app.execute::<Roles>(&holder.stream(), &command).await;

    // The device she trusted no longer stands in, and none is offered.
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    assert_eq!(asked.step(), Step::Code, "{}", asked.body);
    assert!(!asked.says("Remember this device"));
    assert!(asked.says("You hold an admin role, so Verity asks for a code at every sign-in."));
    let trusted_before = app.events("user.device.trusted").await.len();
    let code = ada.next_code().await;
    let redirect = browser.code_remembering_device(&asked, &code).await;
    assert_eq!(redirect.step(), Step::Redirect, "{}", redirect.body);
    assert_eq!(
        app.events("user.device.trusted").await.len(),
        trusted_before,
        "a forged tick trusts nothing"
    );
    let claims = id_token_claims(&browser, &client, &redirect).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
}
