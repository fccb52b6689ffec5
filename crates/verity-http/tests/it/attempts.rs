//! Attempts at the limited steps under concurrency: of 50 wrong passwords or codes sent at
//! once, no more are checked than the limit allows (each check of a wrong guess records
//! a failure, or is the code step's count), a lock is recorded once when it is set, and
//! the refusals while it lasts are counted in the metrics but write nothing.

use tokio::task::JoinSet;
use verity_oidc::limits::{FailureLimit, ProgressiveDelay};
use verity_testkit::{Agent, Page, Step};

use crate::fixtures::RegisteredClient;
use crate::support::{InProcess, PEER, Settings, TestApp};

/// Concurrent attempts in each test.
const ATTEMPTS: usize = 50;

fn limit(failures: u64) -> (u64, chrono::Duration) {
    (failures, chrono::Duration::minutes(15))
}

/// Settings with `password`, `code` and `network` failures as the limits (none of them
/// in the way unless asked) and no progressive delay.
fn limits(password: u64, code: u64, network: u64) -> impl FnOnce(&mut Settings) {
    move |settings| {
        let engine = &mut settings.engine;
        let ((password, window), (code, _), (network, _)) =
            (limit(password), limit(code), limit(network));
        engine.password_limit = FailureLimit::passwords(password, window, window);
        engine.mfa_limit = FailureLimit::mfa(code, window, window);
        engine.ip_limit = FailureLimit::client_ip(network, window, window);
        engine.progressive_delay = ProgressiveDelay {
            after_failures: 1000,
            ..ProgressiveDelay::default()
        };
    }
}

/// `count` browsers, each at the sign-in form of its own authorization request.
async fn sign_in_forms(
    app: &TestApp,
    client: &RegisteredClient,
    count: usize,
) -> Vec<(Agent<InProcess>, Page)> {
    let mut forms = Vec::with_capacity(count);
    for _ in 0..count {
        let mut browser = app.browser();
        let form = browser.authorize(&client.authorization().query()).await;
        assert_eq!(form.step(), Step::SignIn);
        forms.push((browser, form));
    }
    forms
}

/// Posts every browser's form at once, with `(email, password)` for each: the pages.
async fn sign_in_at_once(
    forms: Vec<(Agent<InProcess>, Page)>,
    credentials: impl Fn(usize) -> (String, String),
) -> Vec<Page> {
    let mut attempts = JoinSet::new();
    for (index, (mut browser, form)) in forms.into_iter().enumerate() {
        let (email, password) = credentials(index);
        attempts.spawn(async move { browser.sign_in(&form, &email, &password).await });
    }
    attempts.join_all().await
}

/// The reasons of the `user.signin.failed` events: one per password checked and refused.
async fn failure_reasons(app: &TestApp) -> Vec<String> {
    app.events("user.signin.failed")
        .await
        .iter()
        .map(|event| TestApp::data(event)["reason"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_passwords_at_once_check_no_more_than_the_limit() {
    let app = TestApp::start_with(limits(4, 5, 1000)).await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let forms = sign_in_forms(&app, &client, ATTEMPTS).await;
    let pages = sign_in_at_once(forms, |index| {
        (ada.email.clone(), format!("wrong password {index}"))
    })
    .await;

    assert_eq!(
        failure_reasons(&app).await,
        ["wrong_password"; 4],
        "four guesses checked, the others refused unchecked"
    );
    let locked_out = "Too many failed sign-ins for this account. Try again in 15 minutes.";
    let said = |message: &str| {
        pages
            .iter()
            .filter(|page| page.error().as_deref() == Some(message))
            .count()
    };
    assert_eq!(said("The email or password is not correct."), 3);
    assert_eq!(
        said(locked_out),
        ATTEMPTS - 3,
        "the fourth failure locks, the rest are refused"
    );

    let locks = app.events("user.signin.locked").await;
    assert_eq!(locks.len(), 1, "one lock, recorded once");
    let lock = TestApp::data(&locks[0]);
    assert_eq!(lock["step"], "password");
    assert_eq!(lock["failures"], 4);
    assert_eq!(lock["user_id"], app.user_id(&ada.email).to_string());
    assert!(
        !locks[0].data.contains("ada@example.org"),
        "no address in clear"
    );
    assert_eq!(locks[0].stream, format!("user-{}", app.user_id(&ada.email)));

    // The right password is refused too while the lock lasts, unchecked and unrecorded.
    let before = app.all_events().await.len();
    let mut browser = app.browser();
    let form = browser.authorize(&client.authorization().query()).await;
    let page = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(page.error().as_deref(), Some(locked_out));
    assert_eq!(app.all_events().await.len(), before);
    let metrics = browser.get("/metrics").await;
    assert_eq!(
        metrics.sample(r#"verity_locked_refusals_total{limit="password"}"#),
        (ATTEMPTS - 4 + 1) as f64
    );
    assert_eq!(
        metrics.sample(r#"verity_lockouts_total{limit="password"}"#),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_failed_sign_ins_at_once_from_one_network_check_no_more_than_its_limit() {
    let app = TestApp::start_with(limits(1000, 1000, 5)).await;
    let client = app.confidential_client().await;
    let forms = sign_in_forms(&app, &client, ATTEMPTS).await;
    // A spray: a different address each time, so only the network's limit applies.
    sign_in_at_once(forms, |index| {
        (format!("nobody{index}@example.org"), "guess".to_owned())
    })
    .await;

    assert_eq!(failure_reasons(&app).await, ["unknown_email"; 5]);
    let locks = app.events("network.locked").await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].stream, format!("network-{PEER}"));
    let lock = TestApp::data(&locks[0]);
    assert_eq!(lock["network"], PEER.to_string());
    assert_eq!(lock["failures"], 5);
    assert!(lock["until"].is_string());
    assert!(
        app.events("user.signin.locked").await.is_empty(),
        "no address reached its own limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_codes_at_once_check_no_more_than_the_limit() {
    let app = TestApp::start_with(limits(1000, 3, 1000)).await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut asked = Vec::with_capacity(ATTEMPTS);
    for _ in 0..ATTEMPTS {
        let mut browser = app.browser();
        let page = browser
            .authorize_and_sign_in(&client.authorization().query(), &ada)
            .await;
        assert_eq!(page.step(), Step::Code, "{}", page.body);
        asked.push((browser, page));
    }
    let mut attempts = JoinSet::new();
    for (mut browser, page) in asked {
        attempts.spawn(async move { browser.code(&page, "999999").await });
    }
    let pages = attempts.join_all().await;

    let wrong = "That code is not correct. Enter the current code from your app.";
    let checked = pages
        .iter()
        .filter(|page| page.error().as_deref() == Some(wrong))
        .count();
    assert_eq!(checked, 2, "the third wrong code says the step is locked");
    let metrics = app.browser().get("/metrics").await;
    assert_eq!(
        metrics.sample(r#"verity_second_factor_failures_total{reason="wrong_code"}"#),
        3.0,
        "three codes checked"
    );
    assert_eq!(
        metrics.sample(r#"verity_locked_refusals_total{limit="second_factor"}"#),
        (ATTEMPTS - 3) as f64,
    );
    let locks = app.events("user.signin.locked").await;
    assert_eq!(locks.len(), 1);
    assert_eq!(TestApp::data(&locks[0])["step"], "second_factor");
}
