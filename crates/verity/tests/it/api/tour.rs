//! Every operation of the document, called by an instance admin's service client, each
//! answer checked against the document; at the end, no documented operation was left
//! out.

use serde_json::json;

use super::{ADMIN_SCOPE, Server};

#[tokio::test]
async fn every_operation_answers_as_its_document_says() {
    let server = Server::start().await;
    let api = server.service("instance-admin", None).await;

    // Organizations.
    let created = api
        .post("/api/v1/organizations", json!({"name": "Acme"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let org_id = created.body["org_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/organizations/{org_id}").as_str())
    );
    let listed = api.get("/api/v1/organizations").await;
    let names: Vec<&str> = listed.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|org| org["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Default"]);
    let by_name = api.get("/api/v1/organizations/acme").await;
    assert_eq!(by_name.body["org_id"], org_id.as_str());

    // People: create three, page through them, search, change one.
    let mut ids = Vec::new();
    for (email, name) in [
        ("ada@acme.test", "Ada Lovelace"),
        ("bea@acme.test", "Bea Byron"),
        ("cy@acme.test", "Cy Babbage"),
    ] {
        let created = api
            .post(
                "/api/v1/people",
                json!({"org": "Acme", "email": email, "name": name}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let person = &created.body["person"];
        assert_eq!(person["email"], email);
        assert_eq!(person["status"], "active");
        assert_eq!(person["password"], "temporary");
        assert!(created.body["temporary_password_expires_at"].is_string());
        assert!(
            !created.text.contains("temporary_password\""),
            "no password in the answer"
        );
        let user_id = person["user_id"].as_str().unwrap().to_owned();
        assert_eq!(
            created.header("location"),
            Some(format!("/api/v1/people/{user_id}").as_str())
        );
        ids.push(user_id);
    }
    let first = api
        .get(&format!("/api/v1/people?org={org_id}&limit=2"))
        .await;
    assert_eq!(first.body["total"], 3);
    let emails = |page: &serde_json::Value| -> Vec<String> {
        page["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|person| person["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails(&first.body), ["ada@acme.test", "bea@acme.test"]);
    let cursor = first.body["next"].as_str().unwrap();
    let second = api
        .get(&format!(
            "/api/v1/people?org=Acme&limit=2&after={}",
            verity_testkit::agent::encode(cursor)
        ))
        .await;
    assert_eq!(emails(&second.body), ["cy@acme.test"]);
    assert!(second.body.get("next").is_none());
    let found = api.get("/api/v1/people?org=Acme&q=BYRON").await;
    assert_eq!(emails(&found.body), ["bea@acme.test"]);
    let (ada, bea, cy) = (&ids[0], &ids[1], &ids[2]);
    let changed = api
        .patch(
            &format!("/api/v1/people/{cy}"),
            json!({"name": "Cyrus Babbage", "email": "cyrus@acme.test"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["name"], "Cyrus Babbage");
    assert_eq!(changed.body["email"], "cyrus@acme.test");
    let read = api.get(&format!("/api/v1/people/{cy}")).await;
    assert_eq!(read.body["email"], "cyrus@acme.test");

    // What an admin does to a person.
    let disabled = api.act(&format!("/api/v1/people/{bea}/disable")).await;
    assert_eq!(disabled.body["status"], "disabled");
    let only_disabled = api.get("/api/v1/people?org=Acme&status=disabled").await;
    assert_eq!(emails(&only_disabled.body), ["bea@acme.test"]);
    let enabled = api.act(&format!("/api/v1/people/{bea}/enable")).await;
    assert_eq!(enabled.body["status"], "active");
    let reset = api
        .act(&format!("/api/v1/people/{bea}/reset-password"))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.body["person"]["password"], "temporary");
    let no_app = api.act(&format!("/api/v1/people/{bea}/reset-mfa")).await;
    no_app.assert_problem(409, "has no authenticator app to reset");
    let unlocked = api.act(&format!("/api/v1/people/{bea}/unlock")).await;
    assert_eq!(unlocked.body["unlocked"], false);
    assert_eq!(unlocked.body["passwords"]["failures"], 0);
    let signed_out = api.act(&format!("/api/v1/people/{bea}/sign-out")).await;
    assert_eq!(signed_out.status, 200, "{}", signed_out.text);
    assert_eq!(signed_out.body["sessions_ended"], 0);
    let sessions = api.get(&format!("/api/v1/people/{bea}/sessions")).await;
    assert_eq!(sessions.body["live"], json!([]));
    api.delete(&format!("/api/v1/people/{bea}/sessions/no-such-session"))
        .await
        .assert_problem(404, "no live session");
    let devices = api.get(&format!("/api/v1/people/{bea}/devices")).await;
    assert_eq!(devices.body["devices"], json!([]));
    let forgotten = api.delete(&format!("/api/v1/people/{bea}/devices")).await;
    assert_eq!(forgotten.body["forgotten"], 0);
    api.delete(&format!("/api/v1/people/{bea}/devices/0123456789ab"))
        .await
        .assert_problem(404, "trusts no active device");
    let history = api
        .get(&format!("/api/v1/people/{bea}/history?limit=3"))
        .await;
    let events = history.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let types: Vec<&str> = events
        .iter()
        .map(|event| event["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.first(),
        Some(&"user.sessions.ended"),
        "newest first: {types:?}"
    );
    assert_eq!(events[0]["actor"]["kind"], "client");
    assert_eq!(
        events[0]["client_ip"], "127.0.0.1",
        "the caller's address is recorded"
    );
    let older = history.body["next_before"].as_u64().unwrap();
    let rest = api
        .get(&format!("/api/v1/people/{bea}/history?before={older}"))
        .await;
    let last = rest.body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event_type"], "user.created", "oldest last");

    // Clients: the secret once, a rotation that retires the old one, a deletion.
    let registered = api
        .post(
            "/api/v1/clients",
            json!({
                "name": "Payroll",
                "org": "Acme",
                "grant_types": ["client_credentials"],
                "scopes": [ADMIN_SCOPE],
            }),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let client_id = registered.body["client"]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = registered.body["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(registered.body["client"]["org_id"], org_id.as_str());
    let shown = api.get(&format!("/api/v1/clients/{client_id}")).await;
    assert_eq!(shown.body["has_secret"], true);
    assert!(!shown.text.contains(&secret), "the secret is shown once");
    let all = api.get("/api/v1/clients").await;
    assert!(all.text.contains(&client_id));
    let rotated = api
        .act(&format!("/api/v1/clients/{client_id}/secret"))
        .await;
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let browser = server.provider.browser();
    let old = verity_testkit::oauth::Client::basic(&client_id, &secret);
    assert_eq!(browser.client_credentials(&old, None).await.status, 401);
    let new = verity_testkit::oauth::Client::basic(&client_id, &new_secret);
    assert_eq!(browser.client_credentials(&new, None).await.status, 200);

    // Roles, for a person and for the new client.
    let granted = api
        .post(
            "/api/v1/roles",
            json!({"role": "org-admin", "org": "Acme", "user_id": ada}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    assert_eq!(granted.body["holder"]["email"], "ada@acme.test");
    let for_client = api
        .post(
            "/api/v1/roles",
            json!({"role": "auditor", "org": org_id, "client_id": client_id}),
        )
        .await;
    assert_eq!(for_client.status, 201, "{}", for_client.text);
    let roles = api.get("/api/v1/roles?org=Acme").await;
    assert_eq!(roles.body["roles"].as_array().unwrap().len(), 2);
    let revoked = api
        .post(
            "/api/v1/roles/revoke",
            json!({"role": "org-admin", "org": "Acme", "email": "ada@acme.test"}),
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let deleted = api.delete(&format!("/api/v1/clients/{client_id}")).await;
    assert_eq!(deleted.status, 204);
    api.get(&format!("/api/v1/clients/{client_id}"))
        .await
        .assert_problem(404, "no client");

    let missing: Vec<_> = server
        .contract
        .operations()
        .difference(&server.contract.seen())
        .cloned()
        .collect();
    assert_eq!(missing, Vec::new(), "operations no answer was checked for");
}
