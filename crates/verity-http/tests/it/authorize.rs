//! `/authorize`: the client and its redirect URI are checked before anything can be sent
//! back to it; later errors go back to the client; a live session answers at once unless
//! the request asks otherwise.

use verity_testkit::{Authorization, Device, Step};

use crate::fixtures::{ClientSpec, REDIRECT_URI};
use crate::support::{ISSUER, TestApp, tokens};

/// Asserts an error page that sends nobody anywhere.
fn assert_shown_not_redirected(page: &verity_testkit::Page, expected: &str) {
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(
        page.location(),
        None,
        "never redirect before the redirect URI is known"
    );
    assert_eq!(page.step(), verity_testkit::Step::Message);
    assert_eq!(page.error().as_deref(), Some(expected), "{}", page.body);
}

#[tokio::test]
async fn an_unknown_client_or_a_missing_client_id_is_shown_not_redirected() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let unknown = Authorization::code("no-such-client", REDIRECT_URI);
    assert_shown_not_redirected(
        &browser.authorize(&unknown.query()).await,
        "The application that sent you here is not registered.",
    );
    let nameless = unknown.without("client_id");
    assert_shown_not_redirected(
        &browser.authorize(&nameless.query()).await,
        "The request names no client (client_id is missing).",
    );
}

#[tokio::test]
async fn an_unregistered_or_missing_redirect_uri_is_shown_not_redirected() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let evil = client
        .authorization()
        .with("redirect_uri", "https://evil.example/callback");
    assert_shown_not_redirected(
        &browser.authorize(&evil.query()).await,
        "The redirect_uri is not registered for this application, so you are not sent back to it.",
    );
    let missing = client.authorization().without("redirect_uri");
    assert_shown_not_redirected(
        &browser.authorize(&missing.query()).await,
        "The request has no redirect_uri.",
    );
    // A repeated parameter cannot be read safely: refused before any redirect.
    let repeated = client.authorization().repeat("response_type", "token");
    let page = browser.authorize(&repeated.query()).await;
    assert_eq!((page.status, page.location()), (400, None));
}

#[tokio::test]
async fn errors_after_the_redirect_uri_go_back_to_the_client_with_state_and_iss() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let cases = [
        (
            client.authorization().with("scope", "profile"),
            "invalid_scope",
        ),
        (
            client.authorization().with("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            client
                .authorization()
                .with("code_challenge", "abc")
                .with("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            client.authorization().with("prompt", "bogus"),
            "invalid_request",
        ),
        (
            client.authorization().with("max_age", "soon"),
            "invalid_request",
        ),
        (
            client.authorization().with("request", "eyJ.x.y"),
            "request_not_supported",
        ),
    ];
    for (request, expected) in cases {
        let page = browser
            .authorize(&request.with("state", "s-1").query())
            .await;
        assert_eq!(page.step(), Step::Redirect, "{expected}: {}", page.body);
        assert!(page.location().unwrap().starts_with(REDIRECT_URI));
        assert_eq!(page.redirect_param("error").as_deref(), Some(expected));
        assert!(page.redirect_param("error_description").is_some());
        assert_eq!(page.redirect_param("state").as_deref(), Some("s-1"));
        assert_eq!(page.redirect_param("iss").as_deref(), Some(ISSUER));
        assert_eq!(page.code(), None);
    }
}

/// RFC 9700: PKCE of every client unless a legacy confidential client opted out.
#[tokio::test]
async fn a_client_must_send_a_pkce_challenge_unless_it_is_a_legacy_one() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    for spec in [ClientSpec::public(), ClientSpec::confidential()] {
        let client = app.client(spec).await;
        let request = client.authorization();
        let without = request
            .clone()
            .without("code_challenge")
            .without("code_challenge_method");
        let refused = browser.authorize(&without.query()).await;
        assert_eq!(
            refused.redirect_param("error").as_deref(),
            Some("invalid_request")
        );
        let with = browser.authorize(&request.query()).await;
        assert_eq!(with.step(), Step::SignIn, "{}", with.body);
    }
    let legacy = app.client(ClientSpec::legacy()).await;
    let without = legacy
        .authorization()
        .without("code_challenge")
        .without("code_challenge_method");
    assert_eq!(
        browser.authorize(&without.query()).await.step(),
        Step::SignIn
    );
}

#[tokio::test]
async fn a_valid_request_opens_the_sign_in_form_with_a_transaction_and_csrf_cookie() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let request = client.authorization().with("login_hint", "ada@example.org");
    let page = browser.authorize(&request.query()).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.step(), Step::SignIn);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let csrf = page.csrf().unwrap();
    assert_eq!(
        browser.cookie("verity_csrf"),
        Some(csrf.as_str()),
        "double submit"
    );
    assert!(page.tx().is_some_and(|tx| tx.len() >= 32));
    assert_eq!(page.field("email").as_deref(), None, "not a hidden field");
    assert!(
        page.body.contains("value=\"ada@example.org\""),
        "the hint pre-fills the email"
    );
    // The same request as a form POST opens the same step; a POST that is not a form is refused.
    let query = client.authorization().query();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let fields: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let posted = browser.post("/authorize", &fields).await;
    assert_eq!(posted.step(), Step::SignIn);
    let json = browser
        .post_raw("/authorize", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(json.status, 400);
}

#[tokio::test]
async fn prompt_none_without_a_session_answers_login_required() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let request = client
        .authorization()
        .with("prompt", "none")
        .with("state", "quiet");
    let page = app.browser().authorize(&request.query()).await;
    assert_eq!(
        page.redirect_param("error").as_deref(),
        Some("login_required")
    );
    assert_eq!(page.redirect_param("state").as_deref(), Some("quiet"));
}

#[tokio::test]
async fn a_live_session_answers_at_once_unless_prompt_login_asks_again() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let first = browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    assert!(first.code().is_some(), "{}", first.body);
    assert!(browser.has_cookie("verity_session"));

    let again = browser
        .authorize(&client.authorization().with("state", "2").query())
        .await;
    assert_eq!(again.step(), Step::Redirect);
    assert!(
        again
            .code()
            .is_some_and(|code| Some(&code) != first.code().as_ref())
    );
    assert_eq!(again.redirect_param("state").as_deref(), Some("2"));
    let silent = browser
        .authorize(&client.authorization().with("prompt", "none").query())
        .await;
    assert!(silent.code().is_some(), "a session answers prompt=none");
    let login = browser
        .authorize(&client.authorization().with("prompt", "login").query())
        .await;
    assert_eq!(login.step(), Step::SignIn);
    // Another browser has no session.
    let stranger = app
        .browser()
        .authorize(&client.authorization().query())
        .await;
    assert_eq!(stranger.step(), Step::SignIn);
}

#[tokio::test]
async fn max_age_asks_again_once_the_sign_in_is_older() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Remember)
        .await;
    let generous = browser
        .authorize(&client.authorization().with("max_age", "10000").query())
        .await;
    assert!(generous.code().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let strict = browser
        .authorize(&client.authorization().with("max_age", "1").query())
        .await;
    assert_eq!(
        strict.step(),
        Step::SignIn,
        "the sign-in is older than max_age"
    );
}

#[tokio::test]
async fn an_id_token_hint_of_someone_else_does_not_use_the_session() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut bob = app.enrolled_person("bob@example.org").await;
    let mut bobs_browser = app.browser();
    let request = client.authorization().query();
    let tokens = tokens(
        &mut bobs_browser,
        &client,
        &request,
        &mut bob,
        Device::Forget,
    )
    .await;
    let bobs_hint = tokens["id_token"].as_str().unwrap().to_owned();

    let mut adas_browser = app.browser();
    adas_browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Forget)
        .await;
    let hinted = |hint: &str| {
        client
            .authorization()
            .with("prompt", "none")
            .with("id_token_hint", hint)
            .query()
    };
    let refused = adas_browser.authorize(&hinted(&bobs_hint)).await;
    assert_eq!(
        refused.redirect_param("error").as_deref(),
        Some("login_required")
    );
    let own = bobs_browser.authorize(&hinted(&bobs_hint)).await;
    assert!(own.code().is_some(), "{:?}", own.location());
}
