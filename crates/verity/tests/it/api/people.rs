//! An admin's own token (the authorization code flow through a client registered with
//! `verity:admin`) acting on a person who signed in: their sessions and devices, ending
//! one session, forgetting one device, resetting their app, disabling them, every event
//! naming the admin and their session; and the admin's token ending with their session.
//! A person created over the API gets the temporary-password email, as from the CLI.

use std::time::Duration;

use serde_json::{Value, json};
use verity_testkit::smtp::{ReceivedMail, Sink};
use verity_testkit::{Device, Person, Step};

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

/// The temporary password a mail carries.
fn temporary_password(mail: &ReceivedMail) -> String {
    mail.text()
        .lines()
        .find_map(|line| line.trim().strip_prefix("Temporary password:"))
        .expect("the temporary password in the mail")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn a_person_created_over_the_api_gets_the_email_and_signs_in_with_it() {
    let sink = Sink::start();
    let port = sink.port().to_string();
    let server = Server::start_with(&[
        ("VERITY__SMTP__HOST", "127.0.0.1"),
        ("VERITY__SMTP__PORT", port.as_str()),
        ("VERITY__SMTP__TLS", "none"),
        ("VERITY__SMTP__FROM", "Verity <no-reply@verity.test>"),
    ])
    .await;
    let api = server.service("org-admin", Some("Default")).await;
    let created = api
        .post(
            "/api/v1/people",
            json!({"org": "Default", "email": "lin@example.org", "name": "Lin Wei"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let user_id = created.body["person"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mail = sink.wait_for_message(Duration::from_secs(20));
    assert_eq!(mail.to, ["lin@example.org"]);
    let temporary = temporary_password(&mail);
    assert!(
        !created.text.contains(&temporary),
        "the password is in the mail only"
    );

    // She signs in with it (a new password, her app, a code).
    let mut lin = Person::new("lin@example.org", &temporary);
    let app = server.provider.client(&[]).await;
    let request = app.authorization().query();
    let mut browser = server.provider.browser();
    let signed_in = browser.code_flow(&request, &mut lin, Device::Forget).await;
    assert!(signed_in.code().is_some(), "{}", signed_in.body);
    let person = api.get(&format!("/api/v1/people/{user_id}")).await;
    assert_eq!(person.body["password"], "chosen", "{}", person.text);
    assert_eq!(person.body["has_authenticator"], true);
    assert!(person.body["last_sign_in"].is_string(), "{}", person.text);

    // A reset mails another temporary password, and only that one works now.
    let reset = api
        .act(&format!("/api/v1/people/{user_id}/reset-password"))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.body["person"]["password"], "temporary");
    let again = temporary_password(&sink.wait_for_message_after(1, Duration::from_secs(20)));
    assert_ne!(again, temporary);
    let mut chosen_before = lin.clone();
    let mut other = server.provider.browser();
    let refused = other
        .code_flow(&request, &mut chosen_before, Device::Forget)
        .await;
    assert_eq!(
        refused.step(),
        Step::SignIn,
        "the chosen password still worked: {}",
        refused.body
    );
    lin.password = again;
    let mut fresh = server.provider.browser();
    let signed_in = fresh.code_flow(&request, &mut lin, Device::Forget).await;
    assert!(signed_in.code().is_some(), "{}", signed_in.body);
}
