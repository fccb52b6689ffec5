//! Who may call SCIM, and what SCIM ends: only a live token of the organization (401
//! otherwise, before anything is read), which sees and changes only its own people;
//! `active: false` and DELETE end the person's sessions and tokens, and a deleted
//! person's history stays in the log; a token made with `--no-email` sends no
//! temporary-password email.

use reqwest::Method;
use serde_json::{Value, json};
use verity_testkit::{Device, Person};

use super::{Scim, patch_op, user};
use crate::provider::{Browser, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::json_lines;

#[tokio::test]
async fn a_missing_wrong_or_revoked_token_is_401_and_nothing_is_read_or_changed() {
    let scim = Scim::start().await;
    let ada = scim.create(&user("ada@example.org", "Ada")).await;
    let path = format!("/Users/{}", ada["id"].as_str().unwrap());
    let (_, secret) = scim.token.rsplit_once('.').unwrap();
    let wrong_secret = scim
        .token
        .replace(secret, "A".repeat(secret.len()).as_str());
    let events = scim.event_count();

    let listed = json_lines(
        &scim
            .provider
            .target
            .ok(&["scim", "token", "list", "--json"]),
    );
    let revoked = scim.token_of("Default", &["--label", "Old Okta"]).await;
    let revoked_id = revoked.split('.').nth(1).unwrap().to_owned();
    assert_eq!(listed.len(), 1);
    scim.provider
        .target
        .ok(&["scim", "token", "revoke", &revoked_id]);
    scim.provider.caught_up().await;
    let events_with_tokens = scim.event_count();
    assert_eq!(events_with_tokens, events + 2, "created and revoked");

    for token in [
        None,
        Some(""),
        Some("vscim.nope"),
        Some(wrong_secret.as_str()),
        Some(revoked.as_str()),
    ] {
        for (method, target, body) in [
            (Method::GET, "/Users", None),
            (Method::GET, path.as_str(), None),
            (Method::POST, "/Users", Some(user("eve@example.org", "Eve"))),
            (
                Method::PATCH,
                path.as_str(),
                Some(patch_op(
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )),
            ),
            (Method::DELETE, path.as_str(), None),
            (Method::GET, "/ServiceProviderConfig", None),
            (Method::GET, "/Nothing", None),
        ] {
            let answer = scim.send_as(token, method, target, body.as_ref()).await;
            answer.assert_error(401, None);
            assert_eq!(
                answer.header("www-authenticate").as_deref(),
                Some("Bearer realm=\"scim\"")
            );
        }
    }
    // The token in another scheme is not a bearer token.
    let basic = scim
        .answer(
            crate::provider::http_client()
                .get(format!("{}/Users", scim.url))
                .header("authorization", format!("Basic {}", scim.token)),
        )
        .await;
    basic.assert_error(401, None);

    assert_eq!(scim.event_count(), events_with_tokens, "nothing recorded");
    assert_eq!(scim.get(&path).await.json, ada);
    let revoked_list = scim.provider.target.ok(&["scim", "token", "list"]);
    assert!(revoked_list.contains("revoked"), "{revoked_list}");
}

#[tokio::test]
async fn another_organizations_token_sees_and_changes_nothing() {
    let scim = Scim::start().await;
    let ada = scim
        .create(&json!({"userName": "ada@example.org", "displayName": "Ada", "externalId": "e-1"}))
        .await;
    let path = format!("/Users/{}", ada["id"].as_str().unwrap());
    scim.organization("Rivals");
    let rival = scim.token_of("Rivals", &[]).await;
    let events = scim.event_count();
    let as_rival = |method: Method, target: &str, body: Option<Value>| {
        let target = target.to_owned();
        let scim = &scim;
        let rival = rival.clone();
        async move {
            scim.send_as(Some(&rival), method, &target, body.as_ref())
                .await
        }
    };

    as_rival(Method::GET, &path, None)
        .await
        .assert_error(404, None);
    let mut renamed = ada.clone();
    renamed["displayName"] = json!("Mallory");
    as_rival(Method::PUT, &path, Some(renamed))
        .await
        .assert_error(404, None);
    as_rival(
        Method::PATCH,
        &path,
        Some(patch_op(
            json!([{"op": "replace", "path": "active", "value": false}]),
        )),
    )
    .await
    .assert_error(404, None);
    as_rival(Method::DELETE, &path, None)
        .await
        .assert_error(404, None);
    for filter in [
        "userName%20eq%20%22ada@example.org%22",
        "externalId%20eq%20%22e-1%22",
        "userName%20pr",
    ] {
        let found = as_rival(Method::GET, &format!("/Users?filter={filter}"), None).await;
        assert_eq!(found.status, 200);
        assert_eq!(found.json["totalResults"], 0, "{filter}: {:?}", found.json);
    }
    let all = as_rival(Method::GET, "/Users", None).await;
    assert_eq!(all.json["totalResults"], 0);

    assert_eq!(scim.event_count(), events, "nothing recorded");
    assert_eq!(scim.get(&path).await.json, ada, "nothing changed");
}

/// A SCIM-created person signs in with their emailed temporary password through a client
/// with the code flow; their refresh and access tokens.
async fn signed_in(
    scim: &Scim,
    person: &mut Person,
) -> (Browser, RegisteredClient, String, String) {
    let client = scim.provider.client(&[]).await;
    let mut browser = scim.provider.browser();
    let redirect = browser
        .code_flow(&client.authorization().query(), person, Device::Forget)
        .await;
    let code = redirect.code().expect("a code");
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(browser.userinfo(&access).await.status, 200);
    (browser, client, access, refresh)
}

/// Every token is refused and the browser must sign in again.
async fn access_has_ended(
    browser: &mut Browser,
    client: &RegisteredClient,
    access: &str,
    refresh: &str,
) {
    let refreshed = browser.refresh(&client.basic(), refresh, None).await;
    assert_eq!(refreshed.status, 400, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    let introspected = browser.introspect(&client.basic(), access).await;
    assert_eq!(introspected.json(), json!({"active": false}));
    assert_eq!(browser.userinfo(access).await.status, 401);
    let silent = client
        .authorization()
        .with("prompt", "none")
        .with("state", "s")
        .query();
    let answer = browser.authorize(&silent).await;
    assert_eq!(
        answer.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn patch_active_false_disables_the_person_and_ends_their_sessions_and_tokens() {
    let scim = Scim::start().await;
    let created = scim.create(&user("ada@example.org", "Ada Lovelace")).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let mut ada = scim.invited("ada@example.org");
    let (mut browser, client, access, refresh) = signed_in(&scim, &mut ada).await;

    // Okta's deactivation: a PATCH without a path.
    let disabled = scim
        .patch(
            &path,
            &patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.json);
    assert_eq!(disabled.json["active"], false);
    access_has_ended(&mut browser, &client, &access, &refresh).await;

    let ended = scim.provider.events("user.sessions.ended");
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["data"]["reason"], "disabled");
    assert_eq!(ended[0]["metadata"]["actor"]["kind"], "scim_token");
    assert_eq!(scim.provider.events("user.disabled").len(), 1);

    // They cannot sign in again until SCIM activates them.
    let mut again = scim.provider.browser();
    let page = again.authorize(&client.authorization().query()).await;
    let refused = again.sign_in(&page, &ada.email, &ada.password).await;
    assert_ne!(
        refused.step(),
        verity_testkit::Step::Redirect,
        "{}",
        refused.body
    );
    let enabled = scim
        .patch(
            &path,
            &patch_op(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(enabled.json["active"], true);
    assert_eq!(scim.provider.events("user.enabled").len(), 1);
}

#[tokio::test]
async fn delete_ends_access_frees_the_address_and_the_history_stays() {
    let scim = Scim::start().await;
    let created = scim.create(&user("ada@example.org", "Ada Lovelace")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut ada = scim.invited("ada@example.org");
    let (mut browser, client, access, refresh) = signed_in(&scim, &mut ada).await;

    let deleted = scim.delete(&format!("/Users/{id}")).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.json);
    assert_eq!(deleted.json, Value::Null, "no body");
    access_has_ended(&mut browser, &client, &access, &refresh).await;

    // Gone from every read and filter; a second delete is 404.
    scim.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    assert_eq!(
        scim.filter("userName eq \"ada@example.org\"").await.json["totalResults"],
        0
    );
    scim.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);

    // The history stays in the log, with who deleted them.
    let stream = format!("user-{id}");
    let history = json_lines(
        &scim
            .provider
            .target
            .ok(&["events", "export", "--stream", &stream]),
    );
    let types: Vec<&str> = history
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"user.created"), "{types:?}");
    assert!(types.contains(&"user.password.changed"), "{types:?}");
    let by_scim = |event_type: &str| {
        history.iter().any(|event| {
            event["type"] == event_type && event["metadata"]["actor"]["kind"] == "scim_token"
        })
    };
    assert!(by_scim("user.deleted"), "{types:?}");
    assert!(by_scim("user.sessions.ended"), "{types:?}");
    scim.provider.target.ok(&["audit", "verify"]);

    // The address is free again: a new person, with a new id.
    let recreated = scim.create(&user("ada@example.org", "Ada Lovelace")).await;
    assert_ne!(recreated["id"].as_str().unwrap(), id);
}

#[tokio::test]
async fn a_token_made_with_no_email_creates_people_without_the_temporary_password_email() {
    let scim = Scim::start().await;
    let quiet = scim
        .token_of("Default", &["--no-email", "--label", "Entra ID"])
        .await;
    let listed = scim.provider.target.ok(&["scim", "token", "list"]);
    assert!(
        listed.contains("Entra ID") && listed.contains("no-email"),
        "{listed}"
    );

    let created = scim
        .send_as(
            Some(&quiet),
            Method::POST,
            "/Users",
            Some(&user("quiet@example.org", "Quiet")),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    assert!(scim.outbox().is_empty(), "no email");
    let recorded = scim.provider.events("user.created");
    assert_eq!(recorded.len(), 1);

    // The default token sends it.
    scim.create(&user("told@example.org", "Told")).await;
    let outbox = scim.outbox();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].header("To").unwrap().contains("told@example.org"));
}
