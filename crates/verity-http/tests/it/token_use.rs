//! What tokens are good for after they are issued: introspection (RFC 7662) for
//! resource servers, revocation (RFC 7009), and userinfo (OIDC Core 5.3).

use serde_json::json;
use verity_testkit::oauth::ClientAuth;
use verity_testkit::{Agent, Device};

use crate::fixtures::{ClientSpec, RegisteredClient};
use crate::support::{ISSUER, InProcess, TestApp};

/// Signs Ada in for `client` with `scope` and returns the token answer.
async fn tokens_for_ada(
    app: &TestApp,
    browser: &mut Agent<InProcess>,
    client: &RegisteredClient,
    scope: &str,
) -> serde_json::Value {
    let mut ada = app.enrolled_person("ada@example.org").await;
    let request = client.authorization().with("scope", scope).query();
    crate::support::tokens(browser, client, &request, &mut ada, Device::Forget).await
}

#[tokio::test]
async fn introspection_tells_an_authenticated_client_what_a_token_is() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let tokens = tokens_for_ada(&app, &mut browser, &client, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap();

    let answer = browser.introspect(&client.basic(), access).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let active = answer.json();
    assert_eq!(active["active"], true);
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["scope"], "openid email");
    assert_eq!(active["client_id"], client.client_id.as_str());
    assert_eq!(active["sub"], app.user_id("ada@example.org").to_string());
    assert_eq!(active["iss"], ISSUER);
    for field in ["exp", "iat", "jti", "sid"] {
        assert!(!active[field].is_null(), "{field} missing: {active}");
    }
    let refresh = browser
        .introspect(&client.basic(), tokens["refresh_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(
        (refresh["active"].as_bool(), refresh["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );
    for inactive in ["garbage", tokens["id_token"].as_str().unwrap()] {
        let answer = browser.introspect(&client.basic(), inactive).await.json();
        assert_eq!(answer, serde_json::json!({ "active": false }));
    }
    let anonymous = browser
        .post_raw(
            "/introspect",
            "application/x-www-form-urlencoded",
            format!("token={access}").into_bytes(),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

/// RFC 7662 4 and RFC 9701: introspection answers confidential clients, each about its
/// own tokens only; another client's token is as inactive as an unknown one.
#[tokio::test]
async fn introspection_answers_a_confidential_client_about_its_own_tokens_only() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let other = app.confidential_client().await;
    let public = app.client(ClientSpec::public()).await;
    let mut browser = app.browser();
    let tokens = tokens_for_ada(&app, &mut browser, &client, "openid").await;
    let machine = browser
        .client_credentials(&client.basic(), Some("api"))
        .await
        .json();
    let theirs = [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        machine["access_token"].as_str().unwrap(),
    ];
    for token in theirs {
        let own = browser.introspect(&client.basic(), token).await.json();
        assert_eq!(own["active"], true, "{own}");
        let answer = browser.introspect(&other.basic(), token).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json(), json!({ "active": false }));
    }
    for token in theirs {
        let answer = browser
            .introspect(&public.with(ClientAuth::None), token)
            .await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_client");
    }
}

#[tokio::test]
async fn a_revoked_access_token_stops_working_everywhere() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let other = app.confidential_client().await;
    let browser = app.browser();
    let machine = browser
        .client_credentials(&client.basic(), Some("api"))
        .await
        .json();
    let access = machine["access_token"].as_str().unwrap();

    let by_another = browser.revoke(&other.basic(), access).await;
    assert_eq!(
        by_another.status, 200,
        "RFC 7009: 200 whatever became of it"
    );
    assert_eq!(
        browser.introspect(&client.basic(), access).await.json()["active"],
        true,
        "not its token"
    );
    let revoked = browser.revoke(&client.basic(), access).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        browser.introspect(&client.basic(), access).await.json()["active"],
        false
    );
    assert_eq!(
        browser.revoke(&client.basic(), "never-issued").await.status,
        200
    );
    assert_eq!(
        browser
            .revoke(
                &other.with(verity_testkit::oauth::ClientAuth::SecretBasic(
                    "wrong".into()
                )),
                access
            )
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let tokens = tokens_for_ada(&app, &mut browser, &client, "openid").await;
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(browser.revoke(&client.basic(), refresh).await.status, 200);
    assert_eq!(
        browser.refresh(&client.basic(), refresh, None).await.status,
        400
    );
    assert_eq!(
        browser.userinfo(access).await.status,
        401,
        "the grant's access token too"
    );
    let revoked = app.events("grant.revoked").await;
    assert_eq!(TestApp::data(&revoked[0])["reason"], "revoked");
}

#[tokio::test]
async fn userinfo_answers_a_bearer_token_in_the_header_or_the_body() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let tokens = tokens_for_ada(&app, &mut browser, &client, "openid profile email").await;
    let access = tokens["access_token"].as_str().unwrap();

    let by_header = browser.userinfo(access).await;
    assert_eq!(by_header.status, 200, "{}", by_header.body);
    assert_eq!(by_header.header("cache-control"), Some("no-store"));
    let claims = by_header.json();
    assert_eq!(claims["sub"], app.user_id("ada@example.org").to_string());
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["email"], "ada@example.org");
    assert_eq!(claims["email_verified"], false);
    let by_body = browser.userinfo_in_body(access).await;
    assert_eq!((by_body.status, by_body.json()), (200, claims.clone()));
    assert_eq!(browser.userinfo_by_post(access).await.json(), claims);
}

#[tokio::test]
async fn userinfo_refuses_a_missing_bad_or_machine_token_with_a_bearer_challenge() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let tokens = tokens_for_ada(&app, &mut browser, &client, "openid").await;
    let machine = browser
        .client_credentials(&client.basic(), Some("api"))
        .await
        .json();
    let id_token = tokens["id_token"].as_str().unwrap();
    for (token, case) in [
        ("not-a-token", "garbage"),
        (id_token, "an ID token"),
        (machine["access_token"].as_str().unwrap(), "no openid scope"),
    ] {
        let answer = browser.userinfo(token).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_token", "{case}");
        let challenge = answer.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
            "{case}: {challenge}"
        );
    }
    let missing = browser.get("/userinfo").await;
    assert_eq!(missing.status, 401);
    assert!(
        missing
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    // The token twice (header and body) is a malformed request.
    let access = tokens["access_token"].as_str().unwrap();
    let mut twice = browser.request(
        http::Method::POST,
        "/userinfo",
        format!("access_token={access}").into_bytes(),
        Some("application/x-www-form-urlencoded"),
    );
    twice
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    assert_eq!(browser.send_without_cookies(twice).await.status, 400);
}
