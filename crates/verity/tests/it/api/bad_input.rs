//! Bad input to the admin API: each gets a clear problem+json answer with the right
//! status, never a server error, and nothing is written (the head of the log does not
//! move).

use axum::http::Method;
use serde_json::json;

use super::Server;

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let server = Server::start().await;
    let (ada, _) = server.person("Default", "ada@example.org");
    server.person("Default", "bea@example.org");
    let api = server.service("instance-admin", None).await;
    let head = server.head();

    let person = |email: &str| json!({"org": "Default", "email": email, "name": "Someone"});
    api.post("/api/v1/people", person("ADA@example.org"))
        .await
        .assert_problem(409, "ada@example.org already has an account");
    api.post(
        "/api/v1/people",
        json!({"org": "Nowhere", "email": "new@example.org", "name": "New"}),
    )
    .await
    .assert_problem(422, "no organization \"Nowhere\"");
    api.post("/api/v1/people", person("not an address"))
        .await
        .assert_problem(422, "not an email address");
    api.post(
        "/api/v1/people",
        json!({"org": "Default", "email": "b@example.org"}),
    )
    .await
    .assert_problem(422, "missing field `name`");
    api.post(
        "/api/v1/people",
        json!({"org": "Default", "email": "b@example.org", "name": "B", "role": "admin"}),
    )
    .await
    .assert_problem(422, "unknown field `role`");
    api.post(
        "/api/v1/people",
        json!({"org": 7, "email": "b@example.org", "name": "B"}),
    )
    .await
    .assert_problem(422, "invalid type");
    api.post("/api/v1/people", person(""))
        .await
        .assert_problem(422, "");
    api.post(
        "/api/v1/people",
        json!({"org": "Default", "email": "b@example.org", "name": " "}),
    )
    .await
    .assert_problem(422, "a name must have");
    api.raw(
        Method::POST,
        "/api/v1/people",
        "application/json",
        br#"{"org": "Default", "email": "#.to_vec(),
    )
    .await
    .assert_problem(400, "Failed to parse the request body as JSON");
    api.raw(
        Method::POST,
        "/api/v1/people",
        "application/x-www-form-urlencoded",
        b"org=Default&email=b%40example.org&name=B".to_vec(),
    )
    .await
    .assert_problem(415, "Content-Type: application/json");
    let huge = json!({"org": "Default", "email": "b@example.org", "name": "x".repeat(100_000)});
    api.post("/api/v1/people", huge)
        .await
        .assert_problem(413, "");
    api.patch(&format!("/api/v1/people/{ada}"), json!({"email": "nope"}))
        .await
        .assert_problem(422, "not an email address");
    api.patch(&format!("/api/v1/people/{ada}"), json!({"name": ""}))
        .await
        .assert_problem(422, "a name must have");
    api.patch(
        &format!("/api/v1/people/{ada}"),
        json!({"email": "Bea@Example.org"}),
    )
    .await
    .assert_problem(409, "bea@example.org already has an account");
    api.raw(
        Method::PATCH,
        &format!("/api/v1/people/{ada}"),
        "application/json",
        b"{\"name\": \"Ada\",}".to_vec(),
    )
    .await
    .assert_problem(400, "Failed to parse the request body as JSON");
    api.act(&format!("/api/v1/people/{ada}/enable"))
        .await
        .assert_problem(409, "already enabled");

    // Queries and paths.
    api.get("/api/v1/people?org=Default&after=forged")
        .await
        .assert_problem(422, "cursor");
    api.get("/api/v1/people?org=Default&limit=many")
        .await
        .assert_problem(400, "limit");
    api.get("/api/v1/people?org=Default&limit=201")
        .await
        .assert_problem(422, "limit must be from 0 to 200, not 201");
    api.get(&format!("/api/v1/people/{ada}/history?limit=0"))
        .await
        .assert_problem(422, "limit must be from 1 to 200, not 0");
    api.get("/api/v1/people?org=Default&status=asleep")
        .await
        .assert_problem(400, "status");
    api.get("/api/v1/people").await.assert_problem(400, "org");
    api.get("/api/v1/people/not-an-id")
        .await
        .assert_problem(404, "no user \"not-an-id\"");
    api.get("/api/v1/people/0b7d3c8e-3b54-4a4c-9d1e-1f1c1e0c2d4a")
        .await
        .assert_problem(404, "no user 0b7d3c8e");
    api.get("/api/v1/people/0b7d3c8e-3b54-4a4c-9d1e-1f1c1e0c2d4a/history?before=-1")
        .await
        .assert_problem(400, "before");
    api.get("/api/v1/people?org=Nowhere")
        .await
        .assert_problem(404, "no organization \"Nowhere\"");
    api.get("/api/v1/people/%FF")
        .await
        .assert_problem(400, "UTF-8");
    api.get("/api/v1/clients/%FF")
        .await
        .assert_problem(400, "UTF-8");
    api.get("/api/v1/organizations/%FF")
        .await
        .assert_problem(400, "UTF-8");
    api.delete(&format!("/api/v1/people/{ada}/sessions/%FF"))
        .await
        .assert_problem(400, "UTF-8");
    for unknown in ["/api/v1/nothing-here", "/api/v1/", "/api/v1"] {
        api.get(unknown)
            .await
            .assert_problem(404, "no such endpoint");
    }
    let wrong_method = api
        .raw(
            Method::PUT,
            "/api/v1/organizations",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    wrong_method.assert_problem(405, "Allow");
    assert!(
        wrong_method
            .header("allow")
            .is_some_and(|allow| allow.contains("POST"))
    );

    // Clients and roles.
    api.post(
        "/api/v1/clients",
        json!({"name": "Bad", "redirect_uris": ["not a uri"]}),
    )
    .await
    .assert_problem(422, "invalid redirect URI");
    api.post(
        "/api/v1/clients",
        json!({"name": "Bad", "client_type": "public", "require_pkce": false, "redirect_uris": ["https://app.example/cb"]}),
    )
    .await
    .assert_problem(422, "always requires PKCE");
    api.post(
        "/api/v1/clients",
        json!({"name": "Bad", "grant_types": ["password"]}),
    )
    .await
    .assert_problem(422, "unknown variant `password`");
    api.post("/api/v1/clients", json!({"name": "Bad", "org": "Nowhere"}))
        .await
        .assert_problem(422, "no organization");
    api.act("/api/v1/clients/no-such-client/secret")
        .await
        .assert_problem(404, "no client");
    api.post(
        "/api/v1/roles",
        json!({"role": "auditor", "user_id": ada, "client_id": "x"}),
    )
    .await
    .assert_problem(422, "exactly one of");
    api.post("/api/v1/roles", json!({"role": "owner", "user_id": ada}))
        .await
        .assert_problem(422, "unknown variant `owner`");
    api.post(
        "/api/v1/roles",
        json!({"role": "org-admin", "user_id": ada}),
    )
    .await
    .assert_problem(422, "");
    api.post(
        "/api/v1/roles/revoke",
        json!({"role": "auditor", "user_id": ada}),
    )
    .await
    .assert_problem(409, "do not hold");
    api.post(
        "/api/v1/roles",
        json!({"role": "auditor", "org": "Nowhere", "user_id": ada}),
    )
    .await
    .assert_problem(422, "no organization \"Nowhere\"");
    api.post("/api/v1/organizations", json!({"name": "default"}))
        .await
        .assert_problem(409, "already exists");

    assert_eq!(server.head(), head, "bad input wrote something");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408_problem_and_the_connection_closes() {
    let server = Server::start_with(&[("VERITY__SERVER__BODY_READ_TIMEOUT_SECONDS", "1")]).await;
    let root = server.service("instance-admin", None).await;
    let token = root.token.clone().unwrap();
    let head = server.head();
    let (answer, body) = crate::serve::late_json_body(
        &server.provider.base,
        "/api/v1/organizations",
        &format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"),
        "{\"name\": \"Sl",
    )
    .await;
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert_eq!(body["type"], "urn:verity:problem:body-too-slow");
    assert_eq!(body["status"], 408);
    assert_eq!(server.head(), head, "nothing was written");
}
