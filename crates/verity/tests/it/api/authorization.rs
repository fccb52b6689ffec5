//! Who may call the admin API and what they may do: only tokens carrying `verity:admin`,
//! only holders of a role, each within their role and organization; what they may not
//! see is not found, what they may see but not change is forbidden, and a refused call
//! writes nothing (the head of the log does not move).

use serde_json::json;

use super::{ADMIN_SCOPE, Server, admin_app};

#[tokio::test]
async fn an_org_admin_reads_and_changes_only_their_own_organization() {
    let server = Server::start().await;
    server.organization("Acme");
    let globex = server.organization("Globex");
    let (theirs, _) = server.person("Globex", "gus@globex.test");
    let (ours, _) = server.person("Acme", "ann@acme.test");
    let acme = server.service("org-admin", Some("Acme")).await;
    let globex_client = server
        .provider
        .client(&["--org", "Globex", "--grant", "client_credentials"])
        .await
        .client_id;
    server.cli(&[
        "role",
        "grant",
        "gus@globex.test",
        "auditor",
        "--org",
        "Globex",
    ]);
    let head = server.head();

    // Another organization's person, client, organization and roles: not found.
    let refused = [
        acme.get(&format!("/api/v1/people/{theirs}")).await,
        acme.act(&format!("/api/v1/people/{theirs}/disable")).await,
        acme.act(&format!("/api/v1/people/{theirs}/reset-password"))
            .await,
        acme.patch(&format!("/api/v1/people/{theirs}"), json!({"name": "Gus"}))
            .await,
        acme.get(&format!("/api/v1/people/{theirs}/history")).await,
        acme.get(&format!("/api/v1/people/{theirs}/sessions")).await,
        acme.get(&format!("/api/v1/people?org={globex}")).await,
        acme.get(&format!("/api/v1/clients/{globex_client}")).await,
        acme.act(&format!("/api/v1/clients/{globex_client}/secret"))
            .await,
        acme.delete(&format!("/api/v1/clients/{globex_client}"))
            .await,
        acme.get("/api/v1/organizations/Globex").await,
        acme.get("/api/v1/roles?org=Globex").await,
    ];
    for answer in &refused {
        answer.assert_problem(404, "no ");
    }
    let lists = acme.get("/api/v1/clients").await;
    assert!(!lists.text.contains(&globex_client), "{}", lists.text);
    let roles = acme.get("/api/v1/roles").await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    assert!(!roles.text.contains(&theirs), "{}", roles.text);
    assert!(!roles.text.contains(&globex), "{}", roles.text);

    // Another organization's role, or a role in their own organization for another
    // organization's person or client: the holder is not found.
    let by_id = json!({"role": "auditor", "org": "Globex", "user_id": theirs});
    acme.post("/api/v1/roles/revoke", by_id)
        .await
        .assert_problem(422, "no organization");
    let by_address = json!({"role": "auditor", "email": "gus@globex.test"});
    acme.post("/api/v1/roles/revoke", by_address)
        .await
        .assert_problem(403, "you may not grant or revoke roles in this instance");
    let to_theirs = json!({"role": "auditor", "org": "Acme", "user_id": theirs});
    acme.post("/api/v1/roles", to_theirs)
        .await
        .assert_problem(422, "no user");
    let to_their_address = json!({"role": "auditor", "org": "Acme", "email": "gus@globex.test"});
    acme.post("/api/v1/roles", to_their_address)
        .await
        .assert_problem(422, "no user");
    let to_their_client = json!({"role": "auditor", "org": "Acme", "client_id": globex_client});
    acme.post("/api/v1/roles", to_their_client)
        .await
        .assert_problem(422, "no client");
    let orgs = acme.get("/api/v1/organizations").await;
    assert_eq!(orgs.body["organizations"][0]["name"], "Acme");
    assert_eq!(orgs.body["organizations"].as_array().unwrap().len(), 1);

    // Creating in another organization, or beyond the role: refused.
    acme.post(
        "/api/v1/people",
        json!({"org": "Globex", "email": "new@globex.test", "name": "New"}),
    )
    .await
    .assert_problem(422, "no organization");
    acme.post("/api/v1/organizations", json!({"name": "Initech"}))
        .await
        .assert_problem(403, "you may not manage organizations");
    acme.post("/api/v1/clients", json!({"name": "Anywhere"}))
        .await
        .assert_problem(403, "you may not manage clients in this instance");
    acme.post(
        "/api/v1/roles",
        json!({"role": "org-admin", "org": "Globex", "user_id": theirs}),
    )
    .await
    .assert_problem(422, "no organization");
    acme.post(
        "/api/v1/roles",
        json!({"role": "instance-admin", "user_id": ours}),
    )
    .await
    .assert_problem(403, "you may not grant or revoke roles in this instance");
    assert_eq!(server.head(), head, "a refused call wrote something");

    // Their own organization: allowed.
    let disabled = acme.act(&format!("/api/v1/people/{ours}/disable")).await;
    assert_eq!(disabled.body["status"], "disabled");
    let granted = acme
        .post(
            "/api/v1/roles",
            json!({"role": "auditor", "org": "Acme", "user_id": ours}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
}

#[tokio::test]
async fn an_auditor_reads_and_changes_nothing() {
    let server = Server::start().await;
    let (ada, _) = server.person("Default", "ada@example.org");
    let auditor = server.service("auditor", None).await;
    assert_eq!(
        auditor.get(&format!("/api/v1/people/{ada}")).await.status,
        200
    );
    assert_eq!(auditor.get("/api/v1/people?org=Default").await.status, 200);
    assert_eq!(
        auditor
            .get(&format!("/api/v1/people/{ada}/history"))
            .await
            .status,
        200
    );
    assert_eq!(auditor.get("/api/v1/clients").await.status, 200);
    assert_eq!(auditor.get("/api/v1/roles").await.status, 200);
    let head = server.head();
    let refused = [
        auditor.act(&format!("/api/v1/people/{ada}/disable")).await,
        auditor.act(&format!("/api/v1/people/{ada}/sign-out")).await,
        auditor.act(&format!("/api/v1/people/{ada}/unlock")).await,
        auditor
            .patch(&format!("/api/v1/people/{ada}"), json!({"name": "A"}))
            .await,
        auditor
            .delete(&format!("/api/v1/people/{ada}/devices"))
            .await,
        auditor
            .post(
                "/api/v1/people",
                json!({"org": "Default", "email": "x@example.org", "name": "X"}),
            )
            .await,
        auditor.post("/api/v1/clients", json!({"name": "X"})).await,
        auditor
            .post("/api/v1/organizations", json!({"name": "X"}))
            .await,
        auditor
            .post("/api/v1/roles", json!({"role": "auditor", "user_id": ada}))
            .await,
    ];
    for answer in &refused {
        answer.assert_problem(403, "you may not");
    }
    assert_eq!(server.head(), head, "a refused call wrote something");
}

#[tokio::test]
async fn only_a_token_with_verity_admin_whose_holder_has_a_role_gets_in() {
    let server = Server::start().await;
    let anonymous = server.api(None);
    let missing = anonymous.get("/api/v1/organizations").await;
    missing.assert_problem(401, "send an access token");
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"verity\"")
    );
    let forged = server.api(Some("not-a-token".into()));
    let refused = forged.get("/api/v1/organizations").await;
    refused.assert_problem(401, "signature");
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.contains("error=\"invalid_token\""))
    );

    // A service client holding a role, but registered without the scope: it cannot even
    // ask for it, and its ordinary token is refused.
    let plain = server
        .provider
        .client(&["--grant", "client_credentials", "--scope", "profile"])
        .await;
    server.cli(&[
        "role",
        "grant",
        "--client",
        &plain.client_id,
        "instance-admin",
    ]);
    let asked = server
        .provider
        .browser()
        .client_credentials(&plain.basic(), Some(ADMIN_SCOPE))
        .await;
    assert_eq!(asked.status, 400, "{}", asked.body);
    assert_eq!(asked.json()["error"], "invalid_scope");
    let ordinary = server.token(&plain, "profile").await;
    let answer = server
        .api(Some(ordinary))
        .get("/api/v1/organizations")
        .await;
    answer.assert_problem(403, "verity:admin");
    assert!(answer.header("www-authenticate").is_some_and(|challenge| {
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"verity:admin\"")
    }));

    // Registered with the scope but holding no role.
    let roleless = server
        .provider
        .client(&["--grant", "client_credentials", "--scope", ADMIN_SCOPE])
        .await;
    let token = server.token(&roleless, ADMIN_SCOPE).await;
    server
        .api(Some(token))
        .get("/api/v1/organizations")
        .await
        .assert_problem(403, "has no role");

    // An instance admin's token from an application that may not ask for the scope: the
    // scope is dropped at /authorize, and the token administers nothing.
    let (_, mut admin) = server.person("Default", "root@example.org");
    server.cli(&["role", "grant", "root@example.org", "instance-admin"]);
    let app = server.provider.client(&["--scope", "email"]).await;
    let mut browser = server.provider.browser();
    let scope = format!("openid email {ADMIN_SCOPE}");
    let token = server
        .person_token(&app, &mut browser, &mut admin, &scope)
        .await;
    server
        .api(Some(token))
        .get("/api/v1/organizations")
        .await
        .assert_problem(403, "verity:admin");
    // The same person through the admin's application gets in.
    let admin_app = admin_app(&server).await;
    let token = server
        .person_token(&admin_app, &mut browser, &mut admin, &scope)
        .await;
    assert_eq!(
        server
            .api(Some(token))
            .get("/api/v1/organizations")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_revoked_role_or_a_deleted_client_counts_from_the_next_call() {
    let server = Server::start().await;
    let root = server.service("instance-admin", None).await;
    let helper = server.service("org-admin", Some("Default")).await;
    let helper_id = root.get("/api/v1/roles").await.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|held| held["role"] == "org-admin")
        .unwrap()["holder"]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(helper.get("/api/v1/people?org=Default").await.status, 200);
    let revoked = root
        .post(
            "/api/v1/roles/revoke",
            json!({"role": "org-admin", "org": "Default", "client_id": helper_id}),
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    helper
        .get("/api/v1/people?org=Default")
        .await
        .assert_problem(403, "has no role");

    let granted = root
        .post(
            "/api/v1/roles",
            json!({"role": "auditor", "org": "Default", "client_id": helper_id}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    assert_eq!(helper.get("/api/v1/people?org=Default").await.status, 200);
    let deleted = root.delete(&format!("/api/v1/clients/{helper_id}")).await;
    assert_eq!(deleted.status, 204);
    helper
        .get("/api/v1/people?org=Default")
        .await
        .assert_problem(401, "no longer registered");
}

#[tokio::test]
async fn an_expired_or_revoked_token_gets_401_and_changes_nothing() {
    // Access tokens live two seconds here.
    let server = Server::start_with(&[("VERITY__OIDC__ACCESS_TOKEN_LIFETIME_SECONDS", "2")]).await;
    let client = server
        .provider
        .client(&["--grant", "client_credentials", "--scope", ADMIN_SCOPE])
        .await;
    server.cli(&[
        "role",
        "grant",
        "--client",
        &client.client_id,
        "instance-admin",
    ]);
    server
        .api(Some(server.token(&client, ADMIN_SCOPE).await))
        .wait_until_served()
        .await;
    let create = json!({"name": "Initech"});

    // Revoked by its client (RFC 7009): refused from the next call.
    let token = server.token(&client, ADMIN_SCOPE).await;
    let api = server.api(Some(token.clone()));
    assert_eq!(api.get("/api/v1/organizations").await.status, 200);
    let revoked = server
        .provider
        .browser()
        .revoke(&client.basic(), &token)
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let head = server.head();
    let answer = api.post("/api/v1/organizations", create.clone()).await;
    answer.assert_problem(401, "the token was revoked");
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.contains("error=\"invalid_token\""))
    );

    // Expired: a token that worked a moment ago no longer does.
    let api = server.api(Some(server.token(&client, ADMIN_SCOPE).await));
    assert_eq!(api.get("/api/v1/organizations").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    api.post("/api/v1/organizations", create)
        .await
        .assert_problem(401, "the token has expired");
    assert_eq!(server.head(), head, "a refused token wrote something");
    let names = server.cli(&["org", "list"]);
    assert!(
        names.iter().all(|org| org["name"] != "Initech"),
        "{names:?}"
    );
}
