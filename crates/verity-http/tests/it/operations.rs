//! What operators rely on: the security headers on every answer, the limit on failed
//! sign-ins per client address (429 with `Retry-After`), and the Prometheus metrics.

use std::net::IpAddr;

use verity_http::TrustedProxies;
use verity_oidc::limits::FailureLimit;
use verity_testkit::{Device, Page, Step};

use crate::fixtures::POST_LOGOUT_URI;
use crate::support::{PEER, Settings, TestApp};

const IP_LOCKED: &str = "Too many failed sign-ins from your network. Try again later.";

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let answers = [
        browser.authorize(&client.authorization().query()).await,
        browser.get("/.well-known/openid-configuration").await,
        browser
            .post_raw("/token", "application/json", Vec::new())
            .await,
        browser.get("/no-such-page").await,
        browser.get("/").await,
    ];
    for page in answers {
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{}: {csp}",
            page.status
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            page.header("strict-transport-security"),
            None,
            "not over http"
        );
        assert!(!page.body.contains("<script"), "no script on any page");
    }
}

/// The `form-action` directive of an answer's Content-Security-Policy.
fn form_action(page: &Page) -> String {
    let policy = page.header("content-security-policy").unwrap_or_default();
    policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("form-action"))
        .unwrap_or_default()
        .to_owned()
}

/// Forms may post to Verity itself, and lead on to a client only from the pages whose
/// forms end there: every sign-in step (its last one redirects to the client's redirect
/// URI, and Chromium applies `form-action` to that redirect) and the logout confirmation
/// that returns to the client. Nowhere else.
#[tokio::test]
async fn form_action_allows_verity_and_only_the_client_a_form_leads_to() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let to_the_client = "form-action 'self' https://app.example";

    let form = browser.authorize(&client.authorization().query()).await;
    assert_eq!(form.step(), Step::SignIn);
    assert_eq!(form_action(&form), to_the_client);
    let code_page = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(code_page.step(), Step::Code);
    assert_eq!(form_action(&code_page), to_the_client);
    let code = ada.next_code().await;
    let redirect = browser.code(&code_page, &code).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);

    let own_page = browser.get("/").await;
    assert_eq!(form_action(&own_page), "form-action 'self'");
    let discovery = browser.get("/.well-known/openid-configuration").await;
    assert_eq!(form_action(&discovery), "form-action 'self'");
    let stay = browser.logout("").await;
    assert_eq!(form_action(&stay), "form-action 'self'");
    let back_to_the_client = browser
        .logout(&format!(
            "client_id={}&post_logout_redirect_uri={}",
            client.client_id,
            verity_testkit::agent::encode(POST_LOGOUT_URI)
        ))
        .await;
    assert_eq!(back_to_the_client.step(), Step::Logout);
    assert_eq!(form_action(&back_to_the_client), to_the_client);
}

/// Over https every cookie is `__Host-` prefixed and `Secure` (so no sibling subdomain
/// and no plain-http page can plant one) and every answer carries HSTS; a cookie without
/// the prefix counts for nothing.
#[tokio::test]
async fn over_https_cookies_are_host_prefixed_and_secure_and_hsts_is_sent() {
    let app = TestApp::start_with(|settings| {
        settings.engine.issuer = "https://verity.test".into();
    })
    .await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let form = browser.authorize(&client.authorization().query()).await;
    assert_eq!(form.step(), Step::SignIn, "{}", form.body);
    let code_page = browser.sign_in(&form, &ada.email, &ada.password).await;
    let code = ada.next_code().await;
    let redirect = browser.code_remembering_device(&code_page, &code).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);

    let mut set = Vec::new();
    for page in [&form, &redirect] {
        assert_eq!(
            page.header("strict-transport-security"),
            Some("max-age=31536000; includeSubDomains")
        );
        set.extend(
            page.headers
                .get_all("set-cookie")
                .iter()
                .map(|value| value.to_str().unwrap().to_owned()),
        );
    }
    assert_eq!(set.len(), 4, "{set:?}");
    for cookie in &set {
        assert!(cookie.starts_with("__Host-verity_"), "{cookie}");
        assert!(
            cookie.contains("; Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    for name in ["__Host-verity_session", "__Host-verity_device"] {
        assert!(browser.has_cookie(name), "{name}");
    }

    let session = browser.cookie("__Host-verity_session").unwrap().to_owned();
    let silent = client.authorization().with("prompt", "none").query();
    let mut planted = app.browser();
    planted.set_cookie("verity_session", &session);
    let refused = planted.authorize(&silent).await;
    assert_eq!(
        refused.redirect_param("error").as_deref(),
        Some("login_required"),
        "an unprefixed cookie is not the session"
    );
    let mut copied = app.browser();
    copied.set_cookie("__Host-verity_session", &session);
    assert!(copied.authorize(&silent).await.code().is_some());
}

/// Settings where `failures` failed sign-ins from one address lock it, and where
/// `proxies` are believed about the client's address.
fn network_lock_after(failures: u64, proxies: &[&str]) -> impl FnOnce(&mut Settings) {
    let proxies = TrustedProxies::parse(proxies).unwrap();
    move |settings| {
        settings.engine.ip_limit = FailureLimit::client_ip(
            failures,
            chrono::Duration::minutes(15),
            chrono::Duration::minutes(15),
        );
        settings.trusted_proxies = proxies;
    }
}

/// Asserts the refusal for a locked network: 429, `Retry-After` within the lock, the
/// message on the page.
fn assert_refused_for_the_network(page: &Page, what: &str) {
    assert_eq!(page.status, 429, "{what}: {}", page.body);
    let seconds = page
        .retry_after()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!(
        (1..=900).contains(&seconds),
        "{what}: Retry-After {seconds}"
    );
    assert_eq!(page.error().as_deref(), Some(IP_LOCKED), "{what}");
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_lock_it_for_every_account() {
    let app = TestApp::start_with(network_lock_after(3, &[])).await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut attacker = app.browser();
    let form = attacker.authorize(&client.authorization().query()).await;
    let first = attacker.sign_in(&form, "a@example.org", "guess").await;
    assert_eq!(first.status, 200);
    attacker.sign_in(&form, "b@example.org", "guess").await;
    let third = attacker.sign_in(&form, "c@example.org", "guess").await;
    assert_refused_for_the_network(&third, "the failure that locks");

    // Another browser on the same address, with the right password, and with a made-up
    // X-Forwarded-For (the peer is no trusted proxy): refused, unchecked, unrecorded.
    let before = app.all_events().await.len();
    for mut browser in [app.browser(), app.browser().forwarded_for("198.51.100.77")] {
        let refused = browser
            .authorize_and_sign_in(&client.authorization().query(), &ada)
            .await;
        assert_refused_for_the_network(&refused, "a right password");
    }
    assert_eq!(app.all_events().await.len(), before, "nothing written");

    // Another address is not locked.
    let mut elsewhere = app.browser_from(IpAddr::from([203, 0, 113, 5]));
    let form = elsewhere.authorize(&client.authorization().query()).await;
    let asked = elsewhere.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(asked.step(), Step::Code);
    let failed = app.events("user.signin.failed").await;
    assert!(
        failed
            .iter()
            .all(|event| TestApp::metadata(event)["client_ip"] == PEER.to_string())
    );
}

#[tokio::test]
async fn wrong_codes_count_against_the_address_too() {
    let app = TestApp::start_with(network_lock_after(3, &[])).await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    for attempt in 1..=3 {
        let answer = browser.code(&asked, "999999").await;
        if attempt < 3 {
            assert_eq!(answer.status, 200);
        } else {
            // Before the person's own limit (5): the address is locked first.
            assert_refused_for_the_network(&answer, "the third wrong code");
        }
    }
    let right = ada.next_code().await;
    assert_refused_for_the_network(&browser.code(&asked, &right).await, "the right code");
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_address() {
    let proxy = "192.0.2.10";
    let app = TestApp::start_with(network_lock_after(3, &[proxy])).await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    // The client's own (made-up) entry comes first; the proxy appended the real one.
    let mut attacker = app.browser().forwarded_for("10.9.9.9, 198.51.100.7");
    let form = attacker.authorize(&client.authorization().query()).await;
    let mut last = None;
    for address in ["a@example.org", "b@example.org", "c@example.org"] {
        last = Some(attacker.sign_in(&form, address, "guess").await);
    }
    assert_refused_for_the_network(&last.unwrap(), "198.51.100.7 after three failures");

    let mut person = app.browser().forwarded_for("203.0.113.9");
    let redirect = person
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let succeeded = app.events("user.signin.succeeded").await;
    assert_eq!(TestApp::metadata(&succeeded[0])["client_ip"], "203.0.113.9");
    let failed = app.events("user.signin.failed").await;
    assert!(
        failed
            .iter()
            .all(|event| TestApp::metadata(event)["client_ip"] == "198.51.100.7")
    );
}

#[tokio::test]
async fn metrics_count_sign_ins_refusals_and_locks_by_route_and_reason() {
    let app = TestApp::start_with(|settings| {
        settings.engine.mfa_limit = FailureLimit::mfa(
            2,
            chrono::Duration::minutes(15),
            chrono::Duration::minutes(15),
        );
    })
    .await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    browser.log_out().await;
    let form = browser.authorize(&client.authorization().query()).await;
    browser.sign_in(&form, "nobody@example.org", "guess").await;
    let asked = browser.sign_in(&form, &ada.email, &ada.password).await;
    browser.code(&asked, "999999").await;
    browser.code(&asked, "999999").await;
    // Refused by the lock, unchecked: counted as such, and not as a wrong code.
    browser.code(&asked, "999999").await;

    let page = browser.get("/metrics").await;
    assert_eq!(page.status, 200);
    let text = &page.body;
    let expected = [
        (r#"verity_sign_ins_total{second_factor="totp"}"#, 1.0),
        (
            r#"verity_sign_in_failures_total{reason="unknown_email"}"#,
            1.0,
        ),
        (
            r#"verity_second_factor_failures_total{reason="wrong_code"}"#,
            2.0,
        ),
        (r#"verity_lockouts_total{limit="second_factor"}"#, 1.0),
        (r#"verity_lockouts_total{limit="password"}"#, 0.0),
        (
            r#"verity_locked_refusals_total{limit="second_factor"}"#,
            1.0,
        ),
        (
            r#"verity_http_requests_total{method="POST",route="/login/mfa",status="200"}"#,
            3.0,
        ),
        (
            r#"verity_http_requests_total{method="POST",route="/login/mfa",status="303"}"#,
            1.0,
        ),
        (
            r#"verity_http_requests_total{method="GET",route="/authorize",status="200"}"#,
            2.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(page.sample(series), value, "{series} in\n{text}");
    }
    assert!(
        !text.contains(&client.client_id),
        "no query string in a label"
    );
    assert!(
        !text.contains("ada@example.org") && !text.contains("nobody"),
        "no personal data"
    );
    assert!(page.sample("verity_projection_position") > 0.0);
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = TestApp::start_with(|settings| settings.metrics = false).await;
    assert_eq!(app.browser().get("/metrics").await.status, 404);
}

#[tokio::test]
async fn a_request_without_a_peer_address_still_signs_in() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser_without_peer();
    let redirect = browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let succeeded = app.events("user.signin.succeeded").await;
    assert!(TestApp::metadata(&succeeded[0])["client_ip"].is_null());
}

#[tokio::test]
async fn a_sign_in_beyond_the_hashing_queue_is_answered_503_at_once_and_the_rest_stays_up() {
    let hashing = verity_oidc::credentials::Hashing::new(1).with_queue_limit(0);
    let app = TestApp::start_with(|settings| {
        settings.hashing = hashing.clone();
        // One attempt at a time: a shed attempt that stayed counted would lock the next.
        let window = chrono::Duration::minutes(15);
        settings.engine.password_limit = FailureLimit::passwords(1, window, window);
    })
    .await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    // One check holds the only thread until released; the queue takes no more.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let busy = tokio::spawn({
        let hashing = hashing.clone();
        async move {
            hashing
                .run(move |_| {
                    let _ = released.recv();
                })
                .await
        }
    });
    while hashing.in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    let mut browser = app.browser();
    let form = browser.authorize(&client.authorization().query()).await;
    let shed = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(shed.status, 503, "{}", shed.body);
    assert_eq!(shed.header("retry-after"), Some("2"));
    assert!(shed.says("Verity is busy right now. Please try again in a moment."));
    // Discovery, JWKS and the metrics answer meanwhile; the metrics count the shed one.
    assert_eq!(
        browser
            .get("/.well-known/openid-configuration")
            .await
            .status,
        200
    );
    assert_eq!(browser.get("/jwks").await.status, 200);
    let metrics = browser.get("/metrics").await;
    assert_eq!(metrics.sample("verity_password_hashes_shed_total"), 1.0);
    assert_eq!(metrics.sample("verity_password_hashes_in_flight"), 1.0);

    release.send(()).unwrap();
    busy.await.unwrap().unwrap();
    let form = browser.authorize(&client.authorization().query()).await;
    let next = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(
        next.step(),
        Step::Code,
        "with the thread free, the sign-in goes on, not locked by the shed attempt: {}",
        next.body
    );
}
