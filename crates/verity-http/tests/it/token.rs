//! `/token`: codes exchanged once (PKCE, redirect URI), refresh tokens that rotate,
//! scopes that only narrow, tokens for machines, and every way a client authenticates.

use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;
use verity_domain::client::{GrantType, TokenEndpointAuthMethod};
use verity_testkit::oauth::{ClientAuth, claims, jwt_header};
use verity_testkit::{Agent, Device, Page, Person};

use crate::fixtures::{ClientSpec, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::{ISSUER, InProcess, TestApp, now};

/// Signs Ada in through `request` (a query of `client`'s) and returns the code.
async fn code(browser: &mut Agent<InProcess>, request: &str, ada: &mut Person) -> String {
    let redirect = browser.code_flow(request, ada, Device::Remember).await;
    redirect.code().unwrap_or_else(|| {
        panic!(
            "no code: {} {:?} {}",
            redirect.status,
            redirect.location(),
            redirect.body
        )
    })
}

fn assert_oauth_error(page: &Page, status: u16, error: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert_eq!(page.json()["error"], error, "{}", page.body);
    assert!(page.json()["error_description"].is_string());
}

#[tokio::test]
async fn a_code_is_exchanged_for_an_id_token_an_access_token_and_a_refresh_token() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let request = client
        .authorization()
        .with("scope", "openid profile email unknown")
        .with("nonce", "n-0S6");
    let code = code(&mut browser, &request.query(), &mut ada).await;
    let answer = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    let tokens = answer.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(
        tokens["scope"], "openid profile email",
        "unknown scopes are dropped"
    );
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|token| token.len() >= 32)
    );

    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], ISSUER);
    assert_eq!(id["aud"], client.client_id.as_str());
    assert_eq!(id["sub"], app.user_id("ada@example.org").to_string());
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(
        (id["name"].as_str(), id["email"].as_str()),
        (Some("Ada Lovelace"), Some("ada@example.org"))
    );
    for claim in ["at_hash", "auth_time", "sid", "acr", "azp", "exp", "iat"] {
        assert!(!id[claim].is_null(), "{claim} missing");
    }
    assert_eq!(
        jwt_header(tokens["id_token"].as_str().unwrap())["alg"],
        "RS256"
    );
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_header(access)["typ"], "at+jwt");
    assert_eq!(claims(access)["client_id"], client.client_id.as_str());
    assert_eq!(claims(access)["sid"], id["sid"]);
}

#[tokio::test]
async fn pkce_verifiers_and_the_redirect_uri_are_checked() {
    let app = TestApp::start().await;
    let public = app.client(ClientSpec::public()).await;
    let confidential = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let verifier = "a-verifier-of-at-least-forty-three-characters-0123";
    let request = public.authorization().pkce(verifier).query();
    let none = public.with(ClientAuth::None);

    let wrong_verifier = code(&mut browser, &request, &mut ada).await;
    let wrong = browser
        .exchange(&none, &wrong_verifier, REDIRECT_URI, Some(&"x".repeat(43)))
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let no_verifier = code(&mut browser, &request, &mut ada).await;
    assert_oauth_error(
        &browser
            .exchange(&none, &no_verifier, REDIRECT_URI, None)
            .await,
        400,
        "invalid_grant",
    );
    let other_redirect = code(&mut browser, &request, &mut ada).await;
    assert_oauth_error(
        &browser
            .exchange(
                &none,
                &other_redirect,
                "https://app.example/other",
                Some(verifier),
            )
            .await,
        400,
        "invalid_grant",
    );
    let right = code(&mut browser, &request, &mut ada).await;
    let answer = browser
        .exchange(&none, &right, REDIRECT_URI, Some(verifier))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A verifier without a challenge in the request (a legacy client's), and another
    // client's code.
    let legacy = app.client(ClientSpec::legacy()).await;
    let without_pkce = legacy
        .authorization()
        .without("code_challenge")
        .without("code_challenge_method");
    let plain = code(&mut browser, &without_pkce.query(), &mut ada).await;
    assert_oauth_error(
        &browser
            .exchange(&legacy.basic(), &plain, REDIRECT_URI, Some(verifier))
            .await,
        400,
        "invalid_grant",
    );
    let stolen = code(&mut browser, &request, &mut ada).await;
    assert_oauth_error(
        &browser
            .exchange(&confidential.basic(), &stolen, REDIRECT_URI, Some(verifier))
            .await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_the_first_use_issued() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let code = code(&mut browser, &client.authorization().query(), &mut ada).await;
    let first = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(browser.userinfo(access).await.status, 200);

    let again = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await;
    assert_oauth_error(&again, 400, "invalid_grant");
    assert_eq!(
        browser.userinfo(access).await.status,
        401,
        "the access token is revoked"
    );
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_oauth_error(
        &browser.refresh(&client.basic(), refresh, None).await,
        400,
        "invalid_grant",
    );
    let revoked = app.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(TestApp::data(&revoked[0])["reason"], "code_reused");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let code = code(&mut browser, &client.authorization().query(), &mut ada).await;
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    let first = tokens["refresh_token"].as_str().unwrap();

    let rotated = browser.refresh(&client.basic(), first, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = rotated.json();
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    assert!(
        rotated["id_token"].is_string(),
        "openid is still in the scope"
    );
    let access = rotated["access_token"].as_str().unwrap();
    assert_eq!(browser.userinfo(access).await.status, 200);

    assert_oauth_error(
        &browser.refresh(&client.basic(), first, None).await,
        400,
        "invalid_grant",
    );
    assert_oauth_error(
        &browser.refresh(&client.basic(), second, None).await,
        400,
        "invalid_grant",
    );
    assert_eq!(
        browser.userinfo(access).await.status,
        401,
        "the whole grant is revoked"
    );
    let revoked = app.events("grant.revoked").await;
    assert_eq!(TestApp::data(&revoked[0])["reason"], "refresh_token_reused");
    // Another client cannot use the token either.
    let other = app.confidential_client().await;
    let code = self::code(&mut browser, &client.authorization().query(), &mut ada).await;
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_oauth_error(
        &browser.refresh(&other.basic(), refresh, None).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let request = client.authorization().with("scope", "openid profile email");
    let code = code(&mut browser, &request.query(), &mut ada).await;
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let widened = browser
        .refresh(&client.basic(), refresh, Some("openid api"))
        .await;
    assert_oauth_error(&widened, 400, "invalid_scope");

    // The refused refresh used the token up: start again from a fresh code.
    let code = self::code(&mut browser, &request.query(), &mut ada).await;
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let narrowed = browser
        .refresh(&client.basic(), refresh, Some("openid email"))
        .await
        .json();
    assert_eq!(narrowed["scope"], "openid email");
    let id = claims(narrowed["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "ada@example.org");
    assert!(id["name"].is_null(), "profile was narrowed away");
    let refresh = narrowed["refresh_token"].as_str().unwrap();
    let without_openid = browser
        .refresh(&client.basic(), refresh, Some("profile"))
        .await
        .json();
    assert_eq!(without_openid["scope"], "profile");
    assert!(
        without_openid["id_token"].is_null(),
        "no openid, no ID token"
    );
}

#[tokio::test]
async fn machines_get_tokens_for_the_scopes_they_may_ask_for() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let browser = app.browser();
    let answer = browser
        .client_credentials(&client.basic(), Some("api"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let tokens = answer.json();
    assert_eq!(tokens["scope"], "api");
    assert!(tokens["id_token"].is_null() && tokens["refresh_token"].is_null());
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], client.client_id.as_str());
    let default = browser
        .client_credentials(&client.basic(), None)
        .await
        .json();
    assert_eq!(
        default["scope"], "profile email api",
        "every allowed scope but openid"
    );
    for refused in ["admin", "openid", "api admin"] {
        let answer = browser
            .client_credentials(&client.basic(), Some(refused))
            .await;
        assert_oauth_error(&answer, 400, "invalid_scope");
    }
    let web_only = app
        .client(ClientSpec {
            grants: vec![GrantType::AuthorizationCode],
            ..ClientSpec::confidential()
        })
        .await;
    let answer = browser
        .client_credentials(&web_only.basic(), Some("api"))
        .await;
    assert_oauth_error(&answer, 400, "unauthorized_client");
}

#[tokio::test]
async fn client_secrets_are_checked_by_the_method_the_client_registered() {
    let app = TestApp::start().await;
    let basic = app.confidential_client().await;
    let post = app
        .client(ClientSpec {
            method: TokenEndpointAuthMethod::ClientSecretPost,
            ..ClientSpec::confidential()
        })
        .await;
    let mut browser = app.browser();
    let secret = |client: &RegisteredClient| client.secret.clone().unwrap();
    let ok = browser
        .client_credentials(&post.with(ClientAuth::SecretPost(secret(&post))), None)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let refusals = [
        basic.with(ClientAuth::SecretBasic("wrong".into())),
        basic.with(ClientAuth::SecretPost(secret(&basic))),
        post.with(ClientAuth::SecretBasic(secret(&post))),
        basic.with(ClientAuth::None),
        verity_testkit::oauth::Client::basic("no-such-client", "secret"),
    ];
    for client in refusals {
        let answer = browser.client_credentials(&client, None).await;
        assert_oauth_error(&answer, 401, "invalid_client");
        let challenge = answer.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Basic"), "{challenge}");
    }
    // Two methods at once, or a client_id that contradicts the Basic credentials.
    let both = browser
        .back_channel(
            "/token",
            &basic.basic(),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret(&basic)),
            ],
        )
        .await;
    assert_oauth_error(&both, 400, "invalid_request");
    let contradicting = browser
        .back_channel(
            "/token",
            &basic.basic(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &post.client_id),
            ],
        )
        .await;
    assert_oauth_error(&contradicting, 400, "invalid_request");
    let anonymous = browser
        .post_raw(
            "/token",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
        )
        .await;
    assert_oauth_error(&anonymous, 401, "invalid_client");
}

/// An ES256 key pair: the public JWK Set to register and the private key to sign with.
fn client_key(kid: &str) -> (serde_json::Value, Jwk) {
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    public.set_algorithm("ES256");
    let mut private = pair.to_jwk_private_key();
    private.set_key_id(kid);
    let jwks = json!({ "keys": [serde_json::to_value(public.as_ref()).unwrap()] });
    (jwks, private)
}

/// A client assertion (RFC 7523) for `client_id`, signed with `key`.
fn assertion(key: &Jwk, client_id: &str, audience: &str, lifetime: i64, jti: &str) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(key.key_id().unwrap());
    let mut payload = JwtPayload::new();
    payload.set_issuer(client_id);
    payload.set_subject(client_id);
    payload.set_audience(vec![audience]);
    payload.set_jwt_id(jti);
    payload
        .set_claim("exp", Some(json!(now().timestamp() + lifetime)))
        .unwrap();
    let signer = ES256.signer_from_jwk(key).unwrap();
    jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

#[tokio::test]
async fn private_key_jwt_accepts_a_fresh_assertion_once_and_nothing_else() {
    let app = TestApp::start().await;
    let (jwks, key) = client_key("client-key-1");
    let (_, other_key) = client_key("client-key-1");
    let client = app
        .client(ClientSpec {
            method: TokenEndpointAuthMethod::PrivateKeyJwt,
            jwks: Some(jwks),
            ..ClientSpec::confidential()
        })
        .await;
    let id = client.client_id.as_str();
    let token_endpoint = format!("{ISSUER}/token");
    let with = |assertion: String| client.with(ClientAuth::PrivateKeyJwt(assertion));
    let browser = app.browser();

    let fresh = assertion(&key, id, &token_endpoint, 60, "jti-1");
    let answer = browser
        .client_credentials(&with(fresh.clone()), Some("api"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let issuer_audience = assertion(&key, id, ISSUER, 60, "jti-2");
    assert_eq!(
        browser
            .client_credentials(&with(issuer_audience), None)
            .await
            .status,
        200
    );

    let refusals = [
        (fresh, "replayed"),
        (
            assertion(&other_key, id, &token_endpoint, 60, "jti-3"),
            "another key",
        ),
        (
            assertion(&key, id, "https://elsewhere.example/token", 60, "jti-4"),
            "another audience",
        ),
        (
            assertion(&key, id, &token_endpoint, -10, "jti-5"),
            "expired",
        ),
        (
            assertion(&key, id, &token_endpoint, 3600, "jti-6"),
            "too long-lived",
        ),
        (
            assertion(&key, "someone-else", &token_endpoint, 60, "jti-7"),
            "another issuer",
        ),
        ("not.a.jwt".to_owned(), "garbage"),
    ];
    for (assertion, case) in refusals {
        let answer = browser.client_credentials(&with(assertion), None).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_client", "{case}");
    }
    let wrong_type = browser
        .back_channel(
            "/token",
            &client.with(ClientAuth::None),
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:other"),
                (
                    "client_assertion",
                    &assertion(&key, id, &token_endpoint, 60, "jti-8"),
                ),
            ],
        )
        .await;
    assert_oauth_error(&wrong_type, 400, "invalid_request");
}

#[tokio::test]
async fn malformed_token_requests_are_refused_precisely() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut browser = app.browser();
    let unsupported = browser
        .back_channel("/token", &client.basic(), &[("grant_type", "password")])
        .await;
    assert_oauth_error(&unsupported, 400, "unsupported_grant_type");
    let missing = browser.back_channel("/token", &client.basic(), &[]).await;
    assert_oauth_error(&missing, 400, "invalid_request");
    let repeated = browser
        .back_channel(
            "/token",
            &client.basic(),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_oauth_error(&repeated, 400, "invalid_request");
    let json_body = browser
        .post_raw("/token", "application/json", b"{}".to_vec())
        .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
    let huge = format!("grant_type=client_credentials&x={}", "a".repeat(70 * 1024));
    let too_big = browser
        .post_raw(
            "/token",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(too_big.status, 413);
    let unknown_code = browser
        .exchange(&client.basic(), "no-such-code", REDIRECT_URI, None)
        .await;
    assert_oauth_error(&unknown_code, 400, "invalid_grant");
}
