//! Verity's own page (`/`): who is signed in, their trusted devices, "Change password"
//! and new recovery codes, every form bound to the session by its CSRF token.

use verity_testkit::steps::CHOSEN_PASSWORD;
use verity_testkit::{Agent, Device, Person, Step};

use crate::support::{InProcess, TestApp};

/// A browser where `person` signed in through a fresh client.
async fn signed_in_browser(app: &TestApp, person: &mut Person, device: Device) -> Agent<InProcess> {
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let redirect = browser
        .code_flow(&client.authorization().query(), person, device)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    browser
}

#[tokio::test]
async fn the_page_tells_a_stranger_how_to_sign_in_and_a_person_who_they_are() {
    let app = TestApp::start().await;
    let stranger = app.browser().account().await;
    assert_eq!((stranger.status, stranger.step()), (200, Step::Message));
    assert!(stranger.says("You are not signed in."));
    assert!(!stranger.has_form("/password"));

    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = signed_in_browser(&app, &mut ada, Device::Forget).await;
    let page = browser.account().await;
    assert_eq!(page.step(), Step::Account, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.heading().as_deref(),
        Some("You are signed in as Ada Lovelace")
    );
    assert!(page.says("ada@example.org"));
    assert!(page.says("No device is trusted: every sign-in asks for a code."));
    assert!(page.says("You have 10 unused recovery codes left."));
    assert!(page.says("enter the current code from Test phone"));
    assert!(page.body.contains("href=\"/logout\""));
    let tokens = page.fields("csrf");
    // One per form: this session's "Sign out", "Sign out everywhere", the password and
    // the recovery codes.
    assert_eq!(tokens.len(), 4, "one per form");
    assert!(
        tokens
            .iter()
            .all(|token| Some(token) == page.csrf().as_ref())
    );
    assert!(
        !browser.has_cookie("verity_csrf"),
        "the page sets no cookie of its own"
    );
}

#[tokio::test]
async fn a_person_forgets_a_trusted_device_with_the_page_s_token_only() {
    let app = TestApp::start().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut phone = signed_in_browser(&app, &mut ada, Device::Remember).await;
    let mut laptop = signed_in_browser(&app, &mut ada, Device::Remember).await;
    let page = phone.account().await;
    let devices = page.fields("device");
    assert_eq!(devices.len(), 2, "{}", page.body);
    // "This device" marks the phone once among the sessions and once among the devices.
    assert_eq!(page.body.matches("(This device)").count(), 2);
    let phone_device = page.this_device().unwrap();
    let laptop_device = devices
        .iter()
        .find(|id| **id != phone_device)
        .unwrap()
        .clone();

    let laptop_page = laptop.account().await;
    assert_ne!(laptop_page.csrf(), page.csrf(), "bound to the session");
    let mut stranger = app.browser();
    for refused in [
        phone.forget_device(&laptop_page, &laptop_device).await,
        phone
            .post("/devices/forget", &[("device", &laptop_device)])
            .await,
        stranger.forget_device(&page, &laptop_device).await,
    ] {
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    assert!(app.events("user.device.forgotten").await.is_empty());

    let forgot = phone.forget_device(&page, &laptop_device).await;
    assert_eq!((forgot.status, forgot.location()), (303, Some("/")));
    let events = app.events("user.device.forgotten").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        TestApp::data(&events[0])["device_id_hash"],
        laptop_device.as_str()
    );
    assert_eq!(TestApp::data(&events[0])["reason"], "revoked");
    assert_eq!(TestApp::metadata(&events[0])["actor"]["kind"], "user");
    assert_eq!(
        phone.account().await.fields("device"),
        vec![phone_device.clone()]
    );

    let forgot = phone.forget_device(&page, &phone_device).await;
    assert_eq!(forgot.status, 303);
    assert!(
        !phone.has_cookie("verity_device"),
        "its own device: the cookie goes too"
    );
    assert!(phone.account().await.says("No device is trusted"));
}

#[tokio::test]
async fn a_person_changes_their_password_after_proving_the_current_one() {
    let app = TestApp::start().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = signed_in_browser(&app, &mut ada, Device::Forget).await;
    let page = browser.account().await;
    let changes = app.events("user.password.changed").await.len();
    assert_eq!(changes, 1, "the fixture's: the password she chose");
    const NEW: &str = "Quiet-Meadow-Lantern-5820-Harbor";
    let refusals = [
        (
            "wrong password",
            NEW,
            "The current password is not correct.",
        ),
        (
            CHOSEN_PASSWORD,
            "password1234",
            "common and leaked passwords",
        ),
        (CHOSEN_PASSWORD, CHOSEN_PASSWORD, "is your current password"),
    ];
    for (current, new, expected) in refusals {
        let refused = browser.change_password(&page, current, new, new).await;
        assert_eq!(refused.status, 200);
        assert_eq!(refused.step(), Step::Account);
        let error = refused.error().unwrap_or_default();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let forged = browser
        .post(
            "/password",
            &[
                ("csrf", "forged"),
                ("current_password", CHOSEN_PASSWORD),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        app.events("user.password.changed").await.len(),
        1,
        "nothing recorded"
    );

    let changed = browser
        .change_password(&page, CHOSEN_PASSWORD, NEW, NEW)
        .await;
    assert_eq!(
        (changed.status, changed.location()),
        (303, Some("/?changed=password"))
    );
    let notice = browser.get("/?changed=password").await;
    assert!(notice.says("Your password is changed."));
    let recorded = app.events("user.password.changed").await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(TestApp::metadata(&recorded[1])["actor"]["kind"], "user");
    assert!(!recorded[1].data.contains(NEW), "only the hash");

    browser.log_out().await;
    let client = app.confidential_client().await;
    let form = browser.authorize(&client.authorization().query()).await;
    let old = browser.sign_in(&form, &ada.email, CHOSEN_PASSWORD).await;
    assert_eq!(
        old.error().as_deref(),
        Some("The email or password is not correct.")
    );
    let new = browser.sign_in(&form, &ada.email, NEW).await;
    assert_eq!(new.step(), Step::Code);
}

#[tokio::test]
async fn new_recovery_codes_need_a_current_code_and_are_shown_once() {
    let app = TestApp::start().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = signed_in_browser(&app, &mut ada, Device::Forget).await;
    let page = browser.account().await;
    let wrong = browser.new_recovery_codes(&page, "999999").await;
    assert_eq!(wrong.step(), Step::Account);
    assert_eq!(
        wrong.error().as_deref(),
        Some("That code is not correct. Enter the current code from your app.")
    );
    let no_token = browser.post("/recovery-codes", &[("code", "999999")]).await;
    assert_eq!(no_token.status, 403);
    assert_eq!(
        app.events("user.recovery_codes.generated").await.len(),
        1,
        "the enrollment's"
    );

    let code = ada.next_code().await;
    let shown = browser.new_recovery_codes(&page, &code).await;
    assert_eq!(shown.step(), Step::RecoveryCodes, "{}", shown.body);
    let codes = shown.recovery_codes();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|code| !ada.recovery_codes.contains(code)));
    assert!(shown.says("Your previous recovery codes no longer work."));
    assert!(
        shown.body.contains("href=\"/\""),
        "back to the account, not on to a client"
    );
    let again = browser.new_recovery_codes(&page, &code).await;
    assert!(again.error().unwrap().contains("already used"));
    let generated = app.events("user.recovery_codes.generated").await;
    assert_eq!(generated.len(), 2);
    assert_eq!(TestApp::metadata(&generated[1])["actor"]["kind"], "user");
}

#[tokio::test]
async fn the_page_s_forms_must_be_forms_from_a_live_session() {
    let app = TestApp::start().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = signed_in_browser(&app, &mut ada, Device::Forget).await;
    let page = browser.account().await;
    let not_a_form = browser
        .post_raw("/password", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(not_a_form.status, 400);
    browser.log_out().await;
    let after_logout = browser
        .change_password(&page, CHOSEN_PASSWORD, "x", "x")
        .await;
    assert_eq!(after_logout.status, 403);
    assert_eq!(
        after_logout.error().as_deref(),
        Some("You are not signed in (any more). Sign in through your application again.")
    );
}
