//! What a relying party reads before anything else: the discovery documents, the JWK
//! Set, and whether the server is alive and ready.

use crate::support::{ISSUER, TestApp};

#[tokio::test]
async fn discovery_names_the_issuer_and_every_endpoint_under_it() {
    let app = TestApp::start().await;
    let page = app.browser().get("/.well-known/openid-configuration").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("application/json"));
    let document = page.json();
    assert_eq!(document["issuer"], ISSUER);
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/logout"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
    ] {
        assert_eq!(document[field], format!("{ISSUER}{path}"), "{field}");
    }
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        document["response_types_supported"],
        serde_json::json!(["code"])
    );
}

#[tokio::test]
async fn the_oauth_metadata_agrees_with_the_openid_configuration() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let openid = browser
        .get("/.well-known/openid-configuration")
        .await
        .json();
    let oauth = browser.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(oauth.status, 200);
    let oauth = oauth.json();
    assert_eq!(oauth["issuer"], ISSUER);
    for field in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        assert_eq!(oauth[field], openid[field], "{field}");
    }
    assert!(
        oauth.get("userinfo_endpoint").is_none(),
        "an OpenID Connect field"
    );
}

#[tokio::test]
async fn the_jwks_publishes_one_public_key_per_algorithm() {
    let app = TestApp::start().await;
    let page = app.browser().get("/jwks").await;
    assert_eq!(page.status, 200);
    let keys = page.json()["keys"].as_array().unwrap().clone();
    let mut algorithms: Vec<&str> = keys
        .iter()
        .map(|key| key["alg"].as_str().unwrap())
        .collect();
    algorithms.sort_unstable();
    assert_eq!(algorithms, ["ES256", "EdDSA", "RS256"]);
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
}

#[tokio::test]
async fn health_and_readiness_answer_and_the_stylesheet_is_served() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let health = browser.get("/healthz").await;
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(
        ready.json()["head"],
        ready.json()["projected"],
        "{}",
        ready.body
    );
    let css = browser.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(!css.body.is_empty());
    assert_eq!(browser.get("/no-such-page").await.status, 404);
}
