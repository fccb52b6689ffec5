//! When access ends (docs/sessions.md): the person's own ways (changing the password ends
//! the other sessions, "Sign out" one, "Sign out everywhere"), an admin's, timeouts —
//! each refuses the refresh token, makes the access token inactive and asks the browser
//! to sign in again; and a client of one organization is not for another's people.

use std::time::Duration;

use serde_json::Value;
use verity_domain::user::{self, User, UserCommand};
use verity_testkit::steps::CHOSEN_PASSWORD;
use verity_testkit::{Agent, Device, Person, Step};

use crate::fixtures::{ClientSpec, RegisteredClient};
use crate::support::{InProcess, TestApp, tokens};

/// What a client holds after signing the person in through `browser`.
struct Held {
    access_token: String,
    refresh_token: String,
}

async fn sign_in(
    app: &TestApp,
    client: &RegisteredClient,
    browser: &mut Agent<InProcess>,
    person: &mut Person,
) -> Held {
    let answer = tokens(
        browser,
        client,
        &client.authorization().query(),
        person,
        Device::Forget,
    )
    .await;
    let _ = app;
    Held {
        access_token: answer["access_token"].as_str().unwrap().to_owned(),
        refresh_token: answer["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Whether the client's tokens still work: the refresh token rotates, the access token
/// introspects as active.
async fn tokens_work(browser: &Agent<InProcess>, client: &RegisteredClient, held: &Held) -> bool {
    let introspected = browser
        .introspect(&client.basic(), &held.access_token)
        .await
        .json();
    let refreshed = browser
        .refresh(&client.basic(), &held.refresh_token, None)
        .await;
    let active = introspected["active"] == Value::Bool(true);
    let refresh_works = refreshed.status == 200;
    assert_eq!(
        active, refresh_works,
        "access and refresh agree: {introspected} {}",
        refreshed.body
    );
    active
}

/// Whether the browser's session still signs the person in without a password.
async fn session_works(browser: &mut Agent<InProcess>, client: &RegisteredClient) -> bool {
    let silent = client.authorization().with("prompt", "none").query();
    let answer = browser.authorize(&silent).await;
    answer.code().is_some()
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut laptop = app.browser();
    let on_laptop = sign_in(&app, &client, &mut laptop, &mut ada).await;
    let mut phone = app.browser();
    let on_phone = sign_in(&app, &client, &mut phone, &mut ada).await;

    let page = phone.account().await;
    let changed = phone
        .change_password(
            &page,
            CHOSEN_PASSWORD,
            "a brand new passphrase 42",
            "a brand new passphrase 42",
        )
        .await;
    assert!(changed.status < 400, "{}", changed.body);

    assert!(!tokens_work(&laptop, &client, &on_laptop).await);
    assert!(!session_works(&mut laptop, &client).await);
    assert!(tokens_work(&phone, &client, &on_phone).await);
    assert!(session_works(&mut phone, &client).await);
    let ended = app.events("user.sessions.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(TestApp::data(&ended[0])["reason"], "password_changed");
    assert_eq!(TestApp::metadata(&ended[0])["actor"]["kind"], "user");
}

#[tokio::test]
async fn the_person_signs_out_one_session_then_everywhere() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut laptop = app.browser();
    let on_laptop = sign_in(&app, &client, &mut laptop, &mut ada).await;
    let mut phone = app.browser();
    let on_phone = sign_in(&app, &client, &mut phone, &mut ada).await;

    let page = phone.account().await;
    let sids = page.fields("sid");
    assert_eq!(sids.len(), 2, "{}", page.body);
    let csrf = page.csrf().unwrap();
    // The laptop's session is the one not marked "This device".
    let laptop_sid = sids
        .iter()
        .find(|sid| {
            page.body
                .split("<li>")
                .any(|item| item.contains(sid.as_str()) && !item.contains("(This device)"))
        })
        .unwrap()
        .clone();
    // Another person's session id, or none, changes nothing.
    let stranger = phone
        .post(
            "/sessions/end",
            &[("csrf", &csrf), ("sid", "not-a-session")],
        )
        .await;
    assert_eq!(stranger.status, 303);
    assert!(tokens_work(&laptop, &client, &on_laptop).await);
    // Without the page's token, nothing either.
    let forged = phone.post("/sessions/end", &[("sid", &laptop_sid)]).await;
    assert_eq!(forged.status, 403);

    let ended = phone
        .post("/sessions/end", &[("csrf", &csrf), ("sid", &laptop_sid)])
        .await;
    assert_eq!(ended.status, 303);
    assert!(!tokens_work(&laptop, &client, &on_laptop).await);
    assert!(!session_works(&mut laptop, &client).await);
    assert!(tokens_work(&phone, &client, &on_phone).await);
    let page = phone.account().await;
    assert_eq!(page.fields("sid").len(), 1);

    let everywhere = phone
        .post("/sessions/end-all", &[("csrf", &page.csrf().unwrap())])
        .await;
    assert_eq!(everywhere.status, 303);
    assert!(!phone.account().await.has_form("/password"));
    assert!(!session_works(&mut phone, &client).await);
    let reasons: Vec<String> = app
        .events("session.ended")
        .await
        .iter()
        .map(|event| TestApp::data(event)["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["revoked"]);
    assert_eq!(app.events("user.sessions.ended").await.len(), 1);
}

#[tokio::test]
async fn an_admin_ending_access_refuses_every_token_of_the_person_at_once() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browsers = Vec::new();
    for _ in 0..3 {
        let mut browser = app.browser();
        let held = sign_in(&app, &client, &mut browser, &mut ada).await;
        browsers.push((browser, held));
    }
    let user_id = app.user_id("ada@example.org");
    app.execute::<User>(
        &user::stream(user_id),
        &UserCommand::SignOut { except_sid: None },
    )
    .await;
    for (mut browser, held) in browsers {
        assert!(!tokens_work(&browser, &client, &held).await);
        assert!(!session_works(&mut browser, &client).await);
        let userinfo = browser.userinfo(&held.access_token).await;
        assert_eq!(userinfo.status, 401);
    }
}

#[tokio::test]
async fn an_idle_session_ends_and_so_do_its_tokens() {
    let app = TestApp::start_with(|settings| {
        settings.engine.session_idle_timeout = chrono::Duration::seconds(1);
    })
    .await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let held = sign_in(&app, &client, &mut browser, &mut ada).await;
    assert!(session_works(&mut browser, &client).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!session_works(&mut browser, &client).await);
    assert!(!tokens_work(&browser, &client, &held).await);
    let ended = app.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(TestApp::data(&ended[0])["reason"], "idle_timeout");
    assert_eq!(TestApp::metadata(&ended[0])["actor"]["kind"], "system");
}

#[tokio::test]
async fn a_session_older_than_its_lifetime_asks_for_the_password_again() {
    let app = TestApp::start_with(|settings| {
        settings.engine.session_lifetime = chrono::Duration::seconds(1);
    })
    .await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let held = sign_in(&app, &client, &mut browser, &mut ada).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let asked = browser.authorize(&client.authorization().query()).await;
    assert_eq!(asked.step(), Step::SignIn, "{}", asked.body);
    // The refresh finds the session past its lifetime and ends it (a server's sweeper
    // would have within two seconds); then its access tokens are refused too.
    let refreshed = browser
        .refresh(&client.basic(), &held.refresh_token, None)
        .await;
    assert_eq!(
        refreshed.json()["error"],
        "invalid_grant",
        "{}",
        refreshed.body
    );
    let ended = app.events("session.ended").await;
    assert_eq!(TestApp::data(&ended[0])["reason"], "expired");
    let introspected = browser
        .introspect(&client.basic(), &held.access_token)
        .await;
    assert_eq!(introspected.json(), serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn a_client_of_one_organization_is_not_for_another_organization_s_people() {
    let app = TestApp::start().await;
    let other_org = app.organization("Other Org").await;
    let theirs = app
        .client(ClientSpec {
            org_id: Some(other_org),
            ..ClientSpec::confidential()
        })
        .await;
    let ours = app
        .client(ClientSpec {
            org_id: Some(app.org_id),
            ..ClientSpec::confidential()
        })
        .await;
    let mut ada = app.enrolled_person("ada@example.org").await;

    // Signing in at the other organization's application: a clear page, no code.
    let mut browser = app.browser();
    let form = browser.authorize(&theirs.authorization().query()).await;
    let refused = browser.sign_in(&form, &ada.email, &ada.password).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.says("This application is not available to your organization."));
    assert!(refused.code().is_none());

    // Signed in at her own organization's, the session does not reach theirs either.
    let redirect = browser
        .code_flow(&ours.authorization().query(), &mut ada, Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let reused = browser.authorize(&theirs.authorization().query()).await;
    assert_eq!(reused.status, 403, "{}", reused.body);
    assert!(reused.says("This application is not available to your organization."));
    assert!(reused.code().is_none());

    let refusals = app.events("user.signin.failed").await;
    assert_eq!(refusals.len(), 2);
    for refusal in &refusals {
        assert_eq!(
            TestApp::data(refusal)["reason"],
            "client_of_another_organization"
        );
    }
}

#[tokio::test]
async fn id_tokens_and_userinfo_name_the_person_s_organization() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let answer = tokens(
        &mut browser,
        &client,
        &client.authorization().query(),
        &mut ada,
        Device::Forget,
    )
    .await;
    let id = verity_testkit::oauth::claims(answer["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], app.org_id.to_string());
    assert_eq!(id["org_name"], "Test Org");
    let userinfo = browser
        .userinfo(answer["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(userinfo["org_id"], app.org_id.to_string());
    assert_eq!(userinfo["org_name"], "Test Org");
}

#[tokio::test]
async fn the_sweeper_ends_a_session_nobody_uses_any_more() {
    let app = TestApp::start_with(|settings| {
        settings.engine.session_idle_timeout = chrono::Duration::seconds(1);
    })
    .await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut idle = app.browser();
    sign_in(&app, &client, &mut idle, &mut ada).await;
    let mut busy = app.browser();
    sign_in(&app, &client, &mut busy, &mut ada).await;
    let engine = app.engine.clone().unwrap();
    let mut sweeper = verity_oidc::timeouts::Sweeper::default();
    let context = |now| verity_oidc::RequestContext::new(now, "sweep", None, None);
    // Young sessions are not even looked at.
    let swept = sweeper
        .sweep(&engine, &context(crate::support::now()))
        .await
        .unwrap();
    assert_eq!(swept, 0);
    // One browser keeps using its session; the other does not.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(session_works(&mut busy, &client).await);
    }
    let swept = sweeper
        .sweep(&engine, &context(crate::support::now()))
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let ended = app.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(TestApp::data(&ended[0])["reason"], "idle_timeout");
    assert!(session_works(&mut busy, &client).await);
    assert!(!session_works(&mut idle, &client).await);
}
