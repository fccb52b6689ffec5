//! RP-initiated logout: a confirmation page, then the session ends; the client gets its
//! person back only at a registered address; the browser may be forgotten as a trusted
//! device on the way out.

use verity_domain::key::SigningAlgorithm;
use verity_testkit::{Agent, Device, Person, Step};

use crate::fixtures::{ClientSpec, POST_LOGOUT_URI, RegisteredClient};
use crate::support::{InProcess, TestApp, tokens};

/// Ada signed in through `client` in a new browser (ticking "Remember this device" as
/// `device` says), with the ID token the client received.
async fn signed_in(
    app: &TestApp,
    client: &RegisteredClient,
    ada: &mut Person,
    device: Device,
) -> (Agent<InProcess>, String) {
    let mut browser = app.browser();
    let request = client.authorization().query();
    let tokens = tokens(&mut browser, client, &request, ada, device).await;
    (browser, tokens["id_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn logout_asks_first_then_ends_the_session() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut browser, _) = signed_in(&app, &client, &mut ada, Device::Forget).await;

    let asked = browser.logout("").await;
    assert_eq!(asked.status, 200);
    assert_eq!(asked.step(), Step::Logout);
    assert!(asked.says("Do you want to sign out?"));
    assert!(asked.says("Forget this device as trusted environment"));
    assert!(
        !asked.body.contains(" checked"),
        "not a trusted device: unticked"
    );
    assert!(asked.csrf().is_some());
    assert!(
        !browser.has_cookie("verity_csrf"),
        "the token is bound to the session, not to a cookie of its own"
    );
    assert!(
        app.events("session.ended").await.is_empty(),
        "asking ends nothing"
    );

    let done = browser.confirm_logout(&asked).await;
    assert_eq!(done.status, 200);
    assert_eq!(done.heading().as_deref(), Some("Signed out"));
    assert!(done.says("You are signed out."));
    assert!(!browser.has_cookie("verity_session"));
    let ended = app.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(TestApp::data(&ended[0])["reason"], "logout");
    let silent = browser
        .authorize(&client.authorization().with("prompt", "none").query())
        .await;
    assert_eq!(
        silent.redirect_param("error").as_deref(),
        Some("login_required")
    );
    // Without a session there is nothing to confirm.
    let again = browser.logout("").await;
    assert_eq!((again.status, again.step()), (200, Step::Message));
}

#[tokio::test]
async fn logout_returns_to_a_registered_address_with_state_and_nowhere_else() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut browser, hint) = signed_in(&app, &client, &mut ada, Device::Remember).await;

    let unregistered = browser
        .logout(&format!(
            "client_id={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
            client.client_id
        ))
        .await;
    assert_eq!(unregistered.field("post_logout_redirect_uri"), None);
    let done = browser.confirm_logout(&unregistered).await;
    assert_eq!(
        (done.status, done.location()),
        (200, None),
        "never to an unregistered URI"
    );

    let (mut browser, _) = signed_in(&app, &client, &mut ada, Device::Remember).await;
    let query = format!(
        "id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
        verity_testkit::agent::encode(POST_LOGOUT_URI)
    );
    let asked = browser.logout(&query).await;
    assert_eq!(
        asked.field("client_id").as_deref(),
        Some(client.client_id.as_str()),
        "from the hint"
    );
    let back = browser.confirm_logout(&asked).await;
    assert_eq!(back.status, 303);
    assert_eq!(
        back.location(),
        Some(format!("{POST_LOGOUT_URI}?state=bye").as_str())
    );
}

#[tokio::test]
async fn a_bad_hint_or_a_contradicting_client_is_refused() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let other = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut browser, hint) = signed_in(&app, &client, &mut ada, Device::Forget).await;
    let forged = browser
        .logout("id_token_hint=eyJhbGciOiJub25lIn0.e30.")
        .await;
    assert_eq!(forged.status, 400);
    assert_eq!(
        forged.error().as_deref(),
        Some("The id_token_hint is not a valid ID token of this provider.")
    );
    let contradicting = browser
        .logout(&format!(
            "id_token_hint={hint}&client_id={}",
            other.client_id
        ))
        .await;
    assert_eq!(contradicting.status, 400);
    assert_eq!(
        contradicting.error().as_deref(),
        Some("client_id does not match the id_token_hint.")
    );
    assert!(app.events("session.ended").await.is_empty());
}

/// The hint only identifies the client (RP-Initiated Logout 1.0, section 2: an expired
/// ID token is expected there): an expired one is accepted, and so is one signed by a
/// retired key as long as the key is published; once the key is gone from the JWKS the
/// hint is not a token of this provider any more.
#[tokio::test]
async fn an_expired_hint_or_one_by_a_retired_but_published_key_identifies_the_client() {
    for (grace, published) in [
        (chrono::Duration::hours(1), true),
        (chrono::Duration::seconds(1), false),
    ] {
        let app = TestApp::start_with(|settings| {
            settings.engine.id_token_lifetime = chrono::Duration::seconds(1);
        })
        .await;
        let client = app
            .client(ClientSpec {
                id_token_alg: SigningAlgorithm::EdDSA,
                ..ClientSpec::confidential()
            })
            .await;
        let mut ada = app.enrolled_person("ada@example.org").await;
        let (mut browser, hint) = signed_in(&app, &client, &mut ada, Device::Forget).await;
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let expired = browser.logout(&format!("id_token_hint={hint}")).await;
        assert_eq!(expired.step(), Step::Logout, "{}", expired.body);
        assert_eq!(
            expired.field("client_id").as_deref(),
            Some(client.client_id.as_str())
        );

        app.rotate_key(SigningAlgorithm::EdDSA, grace).await;
        if !published {
            // Past the grace period the key is gone from the JWKS.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let retired = browser.logout(&format!("id_token_hint={hint}")).await;
        if published {
            assert_eq!(retired.step(), Step::Logout, "{}", retired.body);
            assert_eq!(
                retired.field("client_id").as_deref(),
                Some(client.client_id.as_str())
            );
            assert_eq!(browser.confirm_logout(&retired).await.status, 200);
        } else {
            assert_eq!(retired.status, 400);
            assert_eq!(
                retired.error().as_deref(),
                Some("The id_token_hint is not a valid ID token of this provider.")
            );
        }
    }
}

#[tokio::test]
async fn a_confirmation_without_its_token_ends_nothing() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut browser, _) = signed_in(&app, &client, &mut ada, Device::Forget).await;
    let asked = browser.logout("").await;
    let forged = browser
        .post("/logout", &[("confirm", "yes"), ("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403);
    let missing = browser.post("/logout", &[("confirm", "yes")]).await;
    assert_eq!(missing.status, 403);
    assert!(app.events("session.ended").await.is_empty());
    assert!(browser.has_cookie("verity_session"));
    assert_eq!(browser.confirm_logout(&asked).await.status, 200);
}

/// The confirmation's token is bound to the session it ends: a token and a cookie
/// planted together (a sibling subdomain can set cookies) confirm nothing, and neither
/// does the token of another session of the same person.
#[tokio::test]
async fn a_planted_or_another_sessions_token_confirms_nothing() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut laptop, _) = signed_in(&app, &client, &mut ada, Device::Forget).await;
    let (mut phone, _) = signed_in(&app, &client, &mut ada, Device::Forget).await;

    laptop.set_cookie("verity_csrf", "planted");
    let planted = laptop
        .post("/logout", &[("confirm", "yes"), ("csrf", "planted")])
        .await;
    assert_eq!(planted.status, 403, "{}", planted.body);
    let phones_page = phone.logout("").await;
    let phones_token = phones_page.csrf().unwrap();
    let borrowed = laptop
        .post("/logout", &[("confirm", "yes"), ("csrf", &phones_token)])
        .await;
    assert_eq!(borrowed.status, 403);
    assert!(app.events("session.ended").await.is_empty());

    let own = laptop.logout("").await;
    assert_ne!(own.csrf().unwrap(), phones_token);
    assert_eq!(laptop.confirm_logout(&own).await.status, 200);
    assert_eq!(phone.confirm_logout(&phones_page).await.status, 200);
    assert_eq!(app.events("session.ended").await.len(), 2);
}

#[tokio::test]
async fn logout_can_forget_this_browser_as_a_trusted_device() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let (mut browser, _) = signed_in(&app, &client, &mut ada, Device::Remember).await;
    let asked = browser.logout("").await;
    assert!(asked.body.contains(" checked"), "a trusted browser: ticked");
    browser.confirm_logout(&asked).await;
    assert!(
        browser.has_cookie("verity_device"),
        "left unticked: still trusted"
    );

    let redirect = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    assert_eq!(
        redirect.step(),
        Step::Redirect,
        "the device stands in for the code"
    );
    let asked = browser.logout("").await;
    browser.confirm_logout_forgetting_device(&asked).await;
    assert!(
        !browser.has_cookie("verity_device"),
        "the device cookie is cleared"
    );
    let forgotten = app.events("user.device.forgotten").await;
    assert_eq!(forgotten.len(), 1);
    assert_eq!(TestApp::data(&forgotten[0])["reason"], "logout");
    let asked = browser
        .authorize_and_sign_in(&client.authorization().query(), &ada)
        .await;
    assert_eq!(asked.step(), Step::Code, "the code is asked again");
}
