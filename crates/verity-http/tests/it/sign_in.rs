//! The password step and the forms around it: wrong and unknown alike, disabled and
//! expired accounts, a temporary password that must be replaced under the policy, the
//! per-account lock, and forms that are forged, replayed or too late.

use verity_oidc::limits::{FailureLimit, ProgressiveDelay};
use verity_oidc::pending_logins::PendingLogins;
use verity_testkit::steps::{CHOSEN_PASSWORD, refused_passwords};
use verity_testkit::{Page, Step};

use crate::fixtures::RegisteredClient;
use crate::support::{PEER, Settings, TestApp, post_twice_at_once};

const BAD_CREDENTIALS: &str = "The email or password is not correct.";

/// The sign-in form of `client`'s authorization request, in `browser`.
async fn sign_in_form(
    browser: &mut verity_testkit::Agent<crate::support::InProcess>,
    client: &RegisteredClient,
) -> Page {
    let page = browser.authorize(&client.authorization().query()).await;
    assert_eq!(page.step(), Step::SignIn, "{}", page.body);
    page
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;

    let wrong = browser.sign_in(&form, &ada.email, "not her password").await;
    let unknown = browser
        .sign_in(&form, "nobody@example.org", "not her password")
        .await;
    for (page, typed) in [
        (&wrong, "ada@example.org"),
        (&unknown, "nobody@example.org"),
    ] {
        assert_eq!(page.status, 200);
        assert_eq!(page.step(), Step::SignIn, "asked again");
        assert_eq!(page.error().as_deref(), Some(BAD_CREDENTIALS));
        assert!(
            page.body.contains(&format!("value=\"{typed}\"")),
            "the address stays"
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert_eq!(page.tx(), form.tx(), "the same transaction goes on");
    }
    let failed = app.events("user.signin.failed").await;
    let reasons: Vec<(String, String)> = failed
        .iter()
        .map(|event| {
            let data = TestApp::data(event);
            (
                event.stream.clone(),
                data["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ada_stream = format!("user-{}", app.user_id("ada@example.org"));
    assert_eq!(
        reasons,
        [
            (ada_stream, "wrong_password".to_owned()),
            ("signin-unknown".to_owned(), "unknown_email".to_owned()),
        ]
    );
    let metadata = TestApp::metadata(&failed[0]);
    assert_eq!(metadata["client_ip"], PEER.to_string(), "{metadata}");
    assert!(
        !failed[0].data.contains("not her password"),
        "no password in the log"
    );
}

#[tokio::test]
async fn a_disabled_account_is_refused_even_with_the_right_password() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    app.disable(&ada.email).await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let page = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(page.step(), Step::SignIn);
    assert_eq!(
        page.error().as_deref(),
        Some("Your account is disabled. Ask your administrator.")
    );
    let failed = app.events("user.signin.failed").await;
    assert_eq!(TestApp::data(&failed[0])["reason"], "disabled");
    assert!(app.events("user.signin.succeeded").await.is_empty());
}

#[tokio::test]
async fn an_expired_temporary_password_is_refused_with_what_to_do() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let grace = app
        .person_with_expired_temporary_password("grace@example.org")
        .await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let page = browser.sign_in(&form, &grace.email, &grace.password).await;
    assert_eq!(page.step(), Step::SignIn);
    assert_eq!(
        page.error().as_deref(),
        Some("Your temporary password has expired — ask your administrator for a new one.")
    );
    let failed = app.events("user.signin.failed").await;
    assert_eq!(
        TestApp::data(&failed[0])["reason"],
        "temporary_password_expired"
    );
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_by_one_the_policy_accepts() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let grace = app
        .person_with_temporary_password("grace@example.org")
        .await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let page = browser.sign_in(&form, &grace.email, &grace.password).await;
    assert_eq!(page.step(), Step::ChoosePassword, "{}", page.body);
    assert_eq!(page.heading().as_deref(), Some("Choose a new password"));

    for (new, confirm, expected) in refused_passwords(&grace.password) {
        let refused = browser.choose_password(&page, new, confirm).await;
        assert_eq!(refused.step(), Step::ChoosePassword, "{new:?} accepted");
        let error = refused.error().unwrap_or_default();
        assert!(
            error.contains(expected),
            "{new:?}: expected {expected:?}, got {error:?}"
        );
        assert!(
            refused
                .body
                .contains("aria-describedby=\"password-rules form-error\"")
        );
    }
    assert!(
        app.events("user.password.changed").await.is_empty(),
        "nothing recorded"
    );

    let accepted = browser
        .choose_password(&page, CHOSEN_PASSWORD, CHOSEN_PASSWORD)
        .await;
    assert_eq!(
        accepted.step(),
        Step::SetUpAuthenticator,
        "{}",
        accepted.body
    );
    let changed = app.events("user.password.changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(TestApp::metadata(&changed[0])["actor"]["kind"], "user");
    let log: String = app
        .all_events()
        .await
        .iter()
        .map(|event| event.data.clone())
        .collect();
    assert!(!log.contains(CHOSEN_PASSWORD) && !log.contains(&grace.password));

    // The temporary password is dead now; the chosen one leads on.
    let mut other = app.browser();
    let form = sign_in_form(&mut other, &client).await;
    let old = other.sign_in(&form, &grace.email, &grace.password).await;
    assert_eq!(old.error().as_deref(), Some(BAD_CREDENTIALS));
    let new = other.sign_in(&form, &grace.email, CHOSEN_PASSWORD).await;
    assert_eq!(new.step(), Step::SetUpAuthenticator);
}

/// Settings where `failures` wrong passwords lock the account's password step, without
/// the progressive delay (unit-tested in verity-oidc) so the test need not wait for it.
fn password_lock_after(failures: u64) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.engine.password_limit = FailureLimit::passwords(
            failures,
            chrono::Duration::minutes(15),
            chrono::Duration::minutes(15),
        );
        settings.engine.progressive_delay = ProgressiveDelay {
            after_failures: 1000,
            ..ProgressiveDelay::default()
        };
    }
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_then_the_right_one_is_refused_too() {
    let app = TestApp::start_with(password_lock_after(3)).await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    for attempt in 1..=3 {
        let page = browser.sign_in(&form, &ada.email, "wrong password").await;
        let expected = if attempt < 3 {
            BAD_CREDENTIALS
        } else {
            "Too many failed sign-ins for this account. Try again in 15 minutes."
        };
        assert_eq!(page.error().as_deref(), Some(expected), "attempt {attempt}");
    }
    let locked = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(
        locked.step(),
        Step::SignIn,
        "the right password is refused while locked"
    );
    assert!(
        locked
            .error()
            .unwrap()
            .starts_with("Too many failed sign-ins for this account")
    );
    let reasons: Vec<String> = app
        .events("user.signin.failed")
        .await
        .iter()
        .map(|event| TestApp::data(event)["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons, ["wrong_password"; 3],
        "the refusal is not recorded"
    );
    let locks = app.events("user.signin.locked").await;
    assert_eq!(locks.len(), 1, "the lock is, once");
    let lock = TestApp::data(&locks[0]);
    assert_eq!(
        (&lock["step"], &lock["failures"]),
        (&"password".into(), &3.into())
    );
    assert_eq!(TestApp::metadata(&locks[0])["actor"]["kind"], "system");
    // A flood of refusals writes nothing.
    let before = app.all_events().await.len();
    for _ in 0..5 {
        browser.sign_in(&form, &ada.email, "another guess").await;
    }
    assert_eq!(app.all_events().await.len(), before);
    // Another account is not locked by Ada's failures.
    let bob = app.enrolled_person("bob@example.org").await;
    let bobs = browser.sign_in(&form, &bob.email, &bob.password).await;
    assert_eq!(bobs.step(), Step::Code);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_browser_is_refused() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let before = app.all_events().await.len();
    let tx = form.tx().unwrap();
    let csrf = form.csrf().unwrap();
    let credentials = [
        ("email", ada.email.as_str()),
        ("password", ada.password.as_str()),
    ];

    let missing = browser
        .post(
            "/login",
            &[&[("tx", tx.as_str())][..], &credentials].concat(),
        )
        .await;
    assert_eq!(missing.status, 400);
    let forged = browser
        .post(
            "/login",
            &[&[("tx", tx.as_str()), ("csrf", "forged")][..], &credentials].concat(),
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        forged.error().as_deref(),
        Some("This form could not be verified. Reload the page and try again.")
    );
    // The right token without the browser's cookie: the transaction is bound to it.
    let mut stranger = app.browser();
    let no_cookie = stranger
        .post(
            "/login",
            &[
                &[("tx", tx.as_str()), ("csrf", csrf.as_str())][..],
                &credentials,
            ]
            .concat(),
        )
        .await;
    assert_eq!(no_cookie.status, 403);
    let not_a_form = browser
        .post_raw("/login", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(not_a_form.status, 400);
    // A later step's form with this transaction: the step cannot be skipped.
    for skipped in [
        browser.enroll(&form, "Phone", "123456").await,
        browser.code(&form, "123456").await,
    ] {
        assert_eq!(skipped.status, 400);
        assert!(
            skipped
                .error()
                .unwrap()
                .starts_with("Your sign-in took too long")
        );
    }
    assert_eq!(app.all_events().await.len(), before, "nothing was written");
    // The untouched form still works.
    let page = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(page.step(), Step::Code);
}

#[tokio::test]
async fn a_finished_transaction_cannot_be_replayed_and_an_unknown_one_is_too_late() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let redirect = browser
        .sign_in_as(&form, &mut ada, verity_testkit::Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);

    let expired = "Your sign-in took too long or was already used. Go back to the application and start again.";
    // The browser lost its CSRF cookie with the finished sign-in; put it back as a
    // replaying attacker would.
    browser.set_cookie("verity_csrf", &form.csrf().unwrap());
    let replayed = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(
        (replayed.status, replayed.error().as_deref()),
        (400, Some(expired))
    );
    let csrf = form.csrf().unwrap();
    let unknown = browser
        .post(
            "/login",
            &[
                ("tx", "no-such-transaction"),
                ("csrf", &csrf),
                ("email", &ada.email),
            ],
        )
        .await;
    assert_eq!(unknown.error().as_deref(), Some(expired));
    assert_eq!(app.events("user.signin.succeeded").await.len(), 1);
}

#[tokio::test]
async fn a_password_step_that_went_on_takes_no_other_password() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let bob = app.enrolled_person("bob@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let asked = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(asked.step(), Step::Code);
    // The same form again, with her password or another person's: the transaction is
    // past that step and stays with Ada's code step.
    for (email, password) in [(&ada.email, &ada.password), (&bob.email, &bob.password)] {
        let replayed = browser.sign_in(&form, email, password).await;
        assert_eq!(replayed.status, 400, "{}", replayed.body);
        assert!(
            replayed
                .error()
                .unwrap()
                .starts_with("Your sign-in took too long")
        );
    }
    assert!(
        app.events("user.signin.failed").await.is_empty(),
        "no password was checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_posted_twice_at_once_moves_the_transaction_on_once() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    let credentials = [
        ("email", ada.email.as_str()),
        ("password", ada.password.as_str()),
    ];
    let (first, second) = post_twice_at_once(&browser, &form, "/login", &credentials).await;
    let mut answers = [first, second];
    answers.sort_by_key(|page| page.status);
    let [moved, refused] = answers;
    assert_eq!(
        (moved.status, moved.step()),
        (200, Step::Code),
        "{}",
        moved.body
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
}

#[tokio::test]
async fn a_transaction_expires() {
    let app = TestApp::start_with(|settings| {
        settings.engine.login_lifetime = chrono::Duration::seconds(1)
    })
    .await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = sign_in_form(&mut browser, &client).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(late.status, 400);
    assert!(
        late.error()
            .unwrap()
            .starts_with("Your sign-in took too long")
    );
    assert!(app.events("user.signin.failed").await.is_empty());
}

/// `[sign_in] max_pending_logins_per_address`: beyond it the oldest waiting sign-in of
/// an address is dropped, and its next step is the clear "took too long" page; the newer
/// ones go on.
#[tokio::test]
async fn beyond_the_pending_bound_the_oldest_sign_in_of_an_address_is_dropped() {
    let app = TestApp::start_with(|settings| {
        settings.engine.pending_logins = PendingLogins::new(2, 1_000);
    })
    .await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let (mut oldest, mut middle, mut newest) = (app.browser(), app.browser(), app.browser());
    let oldest_form = sign_in_form(&mut oldest, &client).await;
    let middle_form = sign_in_form(&mut middle, &client).await;
    let newest_form = sign_in_form(&mut newest, &client).await;

    let dropped = oldest
        .sign_in(&oldest_form, &ada.email, &ada.password)
        .await;
    assert_eq!(dropped.status, 400, "{}", dropped.body);
    assert!(
        dropped
            .error()
            .unwrap()
            .starts_with("Your sign-in took too long")
    );
    for (browser, form) in [(&mut middle, &middle_form), (&mut newest, &newest_form)] {
        let page = browser.sign_in(form, &ada.email, &ada.password).await;
        assert_eq!(page.step(), Step::Code, "{}", page.body);
    }
}
