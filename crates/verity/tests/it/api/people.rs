//! An admin's own token (the authorization code flow through a client registered with
//! `verity:admin`) acting on a person who signed in: their sessions and devices, ending
//! one session, forgetting one device, resetting their app, disabling them, every event
//! naming the admin and their session; and the admin's token ending with their session.

use serde_json::{Value, json};
use verity_testkit::Device;

use super::{ADMIN_SCOPE, Server, admin_app};

#[tokio::test]
async fn an_admins_own_token_manages_a_signed_in_person_and_ends_with_the_admins_session() {
    let server = Server::start().await;
    let (admin_id, mut admin) = server.person("Default", "root@example.org");
    server.cli(&["role", "grant", "root@example.org", "instance-admin"]);
    let app = admin_app(&server).await;
    let mut admin_browser = server.provider.browser();
    let scope = format!("openid {ADMIN_SCOPE}");
    let token = server
        .person_token(&app, &mut admin_browser, &mut admin, &scope)
        .await;
    let api = server.api(Some(token));
    api.wait_until_served().await;

    // Grace signs in to an ordinary application twice: the second time she has her app
    // and lets this browser be remembered.
    let (grace, mut person) = server.person("Default", "grace@example.org");
    let ordinary = server.provider.client(&[]).await;
    let mut browser = server.provider.browser();
    let request = ordinary.authorization().query();
    let first = browser
        .code_flow(&request, &mut person, Device::Forget)
        .await;
    assert!(first.code().is_some(), "{}", first.body);
    browser.log_out().await;
    let second = browser
        .code_flow(&request, &mut person, Device::Remember)
        .await;
    assert!(second.code().is_some(), "{}", second.body);

    let sessions = api.get(&format!("/api/v1/people/{grace}/sessions")).await;
    let live = sessions.body["live"].as_array().unwrap();
    assert_eq!(live.len(), 1, "{}", sessions.text);
    assert_eq!(
        live[0]["applications"][0]["client_id"],
        ordinary.client_id.as_str()
    );
    let sid = live[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(sessions.body["ended"][0]["reason"], "logout");

    let devices = api.get(&format!("/api/v1/people/{grace}/devices")).await;
    let device = devices.body["devices"][0].clone();
    assert_eq!(device["status"], "active", "{}", devices.text);
    let name = device["device"].as_str().unwrap();
    let forgotten = api
        .delete(&format!("/api/v1/people/{grace}/devices/{name}"))
        .await;
    assert_eq!(forgotten.status, 200, "{}", forgotten.text);
    let devices = api.get(&format!("/api/v1/people/{grace}/devices")).await;
    assert_eq!(devices.body["devices"][0]["status"], "forgotten");

    let ended = api
        .delete(&format!("/api/v1/people/{grace}/sessions/{sid}"))
        .await;
    assert_eq!(ended.status, 204, "{}", ended.text);
    let sessions = api.get(&format!("/api/v1/people/{grace}/sessions")).await;
    assert_eq!(sessions.body["live"], json!([]));
    assert_eq!(sessions.body["ended"][0]["sid"], sid.as_str());
    assert_eq!(sessions.body["ended"][0]["reason"], "revoked");

    let reset = api.act(&format!("/api/v1/people/{grace}/reset-mfa")).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.body["person"]["has_authenticator"], false);
    let disabled = api.act(&format!("/api/v1/people/{grace}/disable")).await;
    assert_eq!(disabled.body["status"], "disabled");

    // The history names the admin by address; the log names them and their session.
    let history = api.get(&format!("/api/v1/people/{grace}/history")).await;
    let events = history.body["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|event| event["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.get(..2),
        Some(["user.sessions.ended", "user.disabled"].as_slice()),
        "newest first: disabling ends every session"
    );
    for newest in &events[..2] {
        assert_eq!(newest["actor"]["kind"], "admin");
        assert_eq!(newest["actor"]["label"], "root@example.org");
    }
    let recorded: Vec<Value> = server.provider.events("user.disabled");
    let actor = &recorded.last().unwrap()["metadata"]["actor"];
    assert_eq!(actor["kind"], "user");
    assert_eq!(actor["user_id"], admin_id.as_str());
    assert!(actor["sid"].is_string(), "{actor}");

    // The admin signs themselves out everywhere: their token ends with their session.
    let out = api
        .act(&format!("/api/v1/people/{admin_id}/sign-out"))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    let after = api.get("/api/v1/organizations").await;
    after.assert_problem(401, "session has ended");
    assert!(
        after
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.contains("invalid_token"))
    );
}
