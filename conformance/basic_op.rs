//! The OpenID Foundation's Basic OP test plan, driven with the `openidconnect` crate as
//! the relying party against Verity over real HTTP. `conformance/README.md` maps each test
//! module of the plan to the test here that covers it.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use serde_json::Value;
use verity_testkit::oauth::{self, Client, jwt_header};
use verity_testkit::{Device, Person, Step};

use crate::provider::{Browser, POST_LOGOUT_URI, Provider, REDIRECT_URI, VERIFIER, http_client};

const CONFIDENTIAL: &[&str] = &[
    "--grant",
    "authorization_code",
    "--grant",
    "refresh_token",
    "--grant",
    "client_credentials",
    "--scope",
    "profile",
    "--scope",
    "email",
    "--scope",
    "api",
];

struct Relying {
    client: openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    client_id: String,
    client_secret: String,
}

impl Relying {
    /// The client at the back channel (`client_secret_basic`).
    fn credentials(&self) -> Client {
        Client::basic(&self.client_id, &self.client_secret)
    }
}

async fn relying_party(provider: &Provider, extra: &[&str]) -> Relying {
    let registered = provider.client(extra).await;
    let http = http_client();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(provider.issuer.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    let secret = registered.client_secret.clone().unwrap_or_default();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.client_id.clone()),
        registered.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    Relying {
        client,
        client_id: registered.client_id,
        client_secret: secret,
    }
}

struct Started {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

fn start(relying: &Relying, scopes: &[&str]) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = relying
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).into()));
    }
    let (url, state, nonce) = request.url();
    Started {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// Signs in through the browser and returns the code from the redirect.
async fn code_for(
    provider: &Provider,
    browser: &mut Browser,
    started: &Started,
    person: &mut Person,
) -> String {
    let page = browser.get(&started.url).await;
    // With a live session the provider answers at once; otherwise it asks.
    let redirect = if page.step() == Step::SignIn {
        browser.sign_in_as(&page, person, Device::Remember).await
    } else {
        page
    };
    assert_eq!(redirect.status, 303, "{}", redirect.body);
    assert!(redirect.location().unwrap().starts_with(REDIRECT_URI));
    assert_eq!(
        redirect.redirect_param("state").as_deref(),
        Some(started.state.secret().as_str())
    );
    assert_eq!(
        redirect.redirect_param("iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    redirect.code().unwrap()
}

async fn exchange(
    relying: &Relying,
    code: String,
    verifier: PkceCodeVerifier,
) -> openidconnect::core::CoreTokenResponse {
    relying
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .unwrap()
}

/// oidcc-server (+ oidcc-userinfo-get, oidcc-scope-profile, oidcc-scope-email):
/// discovery, the code flow with PKCE, ID token signature, nonce and at_hash, userinfo.
#[tokio::test]
async fn the_code_flow_with_pkce_yields_verified_tokens_and_userinfo() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let started = start(&relying, &["profile", "email"]);
    let code = code_for(&provider, &mut browser, &started, &mut ada).await;
    let tokens = exchange(&relying, code, started.verifier).await;

    let id_token = tokens.id_token().expect("an ID token");
    let verifier = relying.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &started.nonce)
        .expect("a valid ID token");
    assert_eq!(claims.issuer().as_str(), provider.issuer);
    assert_eq!(
        claims.audiences().first().unwrap().as_str(),
        relying.client_id
    );
    assert!(claims.auth_time().is_some());
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(expected_hash, &actual_hash);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.org"));

    let userinfo: CoreUserInfoClaims = relying
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client())
        .await
        .unwrap();
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("ada@example.org")
    );
    assert_eq!(
        userinfo
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Ada Lovelace")
    );

    // The access token is an RFC 9068 JWT, verifiable offline with the JWKS.
    let header = jwt_header(tokens.access_token().secret());
    assert_eq!(header["typ"], "at+jwt");
    let access = oauth::claims(tokens.access_token().secret());
    for claim in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "jti",
        "exp",
        "iat",
    ] {
        assert!(
            !access[claim].is_null(),
            "{claim} missing from the access token"
        );
    }
    let id = oauth::claims(id_token.to_string().as_str());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp"]));
    for claim in ["sid", "azp", "acr", "auth_time"] {
        assert!(!id[claim].is_null(), "{claim} missing from the ID token");
    }

    // oidcc-userinfo-post-header and -post-body.
    let access_token = tokens.access_token().secret();
    let by_header = browser.userinfo_by_post(access_token).await;
    assert_eq!(by_header.status, 200);
    let by_body = browser.userinfo_in_body(access_token).await;
    assert_eq!(by_body.status, 200);
    let bad = browser.userinfo("not-a-token").await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
}

/// oidcc-codereuse and oidcc-codereuse-30seconds: a second use fails and revokes what the
/// first issued.
#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_first_tokens() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let started = start(&relying, &[]);
    let code = code_for(&provider, &mut browser, &started, &mut ada).await;
    let verifier = started.verifier.secret().clone();
    let tokens = exchange(&relying, code.clone(), started.verifier).await;
    let again = relying
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http_client())
        .await;
    assert!(format!("{:?}", again.unwrap_err()).contains("invalid_grant"));
    let userinfo: Result<CoreUserInfoClaims, _> = relying
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client())
        .await;
    assert!(userinfo.is_err(), "the first access token must be revoked");
    let refreshed = relying
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http_client())
        .await;
    assert!(
        refreshed.is_err(),
        "the first refresh token must be revoked"
    );
    let export = provider
        .target
        .ok(&["events", "export", "--type", "grant.revoked"]);
    assert!(export.contains("code_reused"));
}

/// A wrong PKCE verifier, a wrong redirect_uri and a missing verifier are refused.
#[tokio::test]
async fn pkce_and_redirect_uri_are_checked_at_the_token_endpoint() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    for case in ["wrong verifier", "no verifier", "wrong redirect"] {
        let started = start(&relying, &[]);
        let code = code_for(&provider, &mut browser, &started, &mut ada).await;
        let (redirect_uri, verifier) = match case {
            "wrong verifier" => (REDIRECT_URI, Some("x".repeat(43))),
            "no verifier" => (REDIRECT_URI, None),
            _ => (
                "http://localhost:4000/other",
                Some(started.verifier.secret().clone()),
            ),
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = &verifier {
            form.push(("code_verifier", verifier));
        }
        let (status, body) = token_request(&browser, &relying, &form).await;
        assert_eq!(status, 400, "{case}");
        assert_eq!(body["error"], "invalid_grant", "{case}: {body}");
    }
}

/// A token request by `relying` (`client_secret_basic`): status and body, after checking
/// that the answer may not be cached.
async fn token_request(
    browser: &Browser,
    relying: &Relying,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let answer = browser
        .back_channel("/token", &relying.credentials(), form)
        .await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    (answer.status, answer.json())
}

/// oidcc-prompt-none-not-logged-in, oidcc-prompt-none-logged-in, oidcc-prompt-login,
/// oidcc-max-age-1, oidcc-max-age-10000.
#[tokio::test]
async fn prompt_and_max_age_decide_whether_to_ask_again() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();

    let none = start(&relying, &[]);
    let page = browser.get(&format!("{}&prompt=none", none.url)).await;
    assert_eq!(
        page.redirect_param("error").as_deref(),
        Some("login_required")
    );
    assert_eq!(
        page.redirect_param("state").as_deref(),
        Some(none.state.secret().as_str())
    );

    let first = start(&relying, &[]);
    code_for(&provider, &mut browser, &first, &mut ada).await;

    let silent = start(&relying, &[]);
    let page = browser.get(&format!("{}&prompt=none", silent.url)).await;
    assert!(
        page.redirect_param("code").is_some(),
        "a session answers prompt=none with a code"
    );

    let login = start(&relying, &[]);
    assert!(
        browser
            .get(&format!("{}&prompt=login", login.url))
            .await
            .step()
            == Step::SignIn
    );

    let generous = start(&relying, &[]);
    assert!(
        browser
            .get(&format!("{}&max_age=10000", generous.url))
            .await
            .redirect_param("code")
            .is_some()
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let strict = start(&relying, &[]);
    let page = browser.get(&format!("{}&max_age=1", strict.url)).await;
    assert!(page.step() == Step::SignIn, "max_age exceeded asks again");
    let redirect = browser.sign_in_as(&page, &mut ada, Device::Remember).await;
    let tokens = exchange(
        &relying,
        redirect.redirect_param("code").unwrap(),
        strict.verifier,
    )
    .await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&relying.client.id_token_verifier(), &strict.nonce)
        .unwrap();
    #[allow(clippy::disallowed_methods)] // The test compares with the wall clock.
    let auth_age = chrono::Utc::now() - claims.auth_time().unwrap();
    assert!(
        auth_age.num_seconds() <= 2,
        "auth_time reflects the new sign-in"
    );
}

/// oidcc-ensure-redirect-uri-in-authorization-request,
/// oidcc-ensure-registered-redirect-uri: no redirect to an unregistered URI; and errors
/// after validation are redirected (oidcc-ensure-request-without-nonce-succeeds-for-code-flow,
/// oidcc-ensure-request-with-unknown-parameter-succeeds, a request without openid).
#[tokio::test]
async fn authorization_requests_are_validated_before_anything_redirects() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let base = format!(
        "{}/authorize?response_type=code&client_id={}",
        provider.issuer, relying.client_id
    );

    let unregistered = browser
        .get(&format!(
            "{base}&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
        ))
        .await;
    assert_eq!(unregistered.status, 400);
    assert!(
        unregistered.location().is_none(),
        "never redirect to an unregistered URI"
    );
    let missing = browser.get(&format!("{base}&scope=openid")).await;
    assert_eq!((missing.status, missing.location().is_none()), (400, true));
    let unknown_client = browser.get(&format!("{}/authorize?response_type=code&client_id=nope&redirect_uri={REDIRECT_URI}&scope=openid", provider.issuer)).await;
    assert_eq!(
        (unknown_client.status, unknown_client.location().is_none()),
        (400, true)
    );

    let no_openid = browser
        .get(&format!(
            "{base}&redirect_uri={REDIRECT_URI}&scope=profile&state=s1"
        ))
        .await;
    assert_eq!(
        no_openid.redirect_param("error").as_deref(),
        Some("invalid_scope")
    );
    assert_eq!(no_openid.redirect_param("state").as_deref(), Some("s1"));
    let wrong_type = browser
        .get(&format!(
            "{base}&redirect_uri={REDIRECT_URI}&scope=openid&response_type=token"
        ))
        .await;
    assert_eq!(
        wrong_type.status, 400,
        "a repeated parameter is refused before redirecting"
    );
    let plain = browser.get(&format!("{base}&redirect_uri={REDIRECT_URI}&scope=openid&code_challenge=abc&code_challenge_method=plain")).await;
    assert_eq!(
        plain.redirect_param("error").as_deref(),
        Some("invalid_request")
    );

    // No nonce, an unknown parameter: fine for the code flow.
    let page = browser
        .get(&format!(
            "{base}&redirect_uri={REDIRECT_URI}&scope=openid&state=s2&unknown_parameter=whatever&code_challenge={}&code_challenge_method=S256",
            oauth::pkce_challenge(VERIFIER)
        ))
        .await;
    let redirect = browser.sign_in_as(&page, &mut ada, Device::Remember).await;
    let code = redirect.redirect_param("code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token_request(&browser, &relying, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(oauth::claims(body["id_token"].as_str().unwrap())["nonce"].is_null());
}

/// Refresh tokens rotate on every use; a reused one revokes the whole grant.
#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_grant() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let started = start(&relying, &[]);
    let code = code_for(&provider, &mut browser, &started, &mut ada).await;
    let tokens = exchange(&relying, code, started.verifier).await;
    let first = tokens.refresh_token().unwrap().clone();
    let http = http_client();
    let rotated = relying
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let second = rotated.refresh_token().unwrap().clone();
    assert_ne!(first.secret(), second.secret());
    let reuse = relying
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(format!("{:?}", reuse.unwrap_err()).contains("invalid_grant"));
    let after = relying
        .client
        .exchange_refresh_token(&RefreshToken::new(second.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "the whole grant is revoked after a reuse");
    let export = provider
        .target
        .ok(&["events", "export", "--type", "grant.revoked"]);
    assert!(export.contains("refresh_token_reused"));
}

/// client_credentials, introspection and revocation; client authentication errors.
#[tokio::test]
async fn machines_get_tokens_that_introspect_and_revoke() {
    let provider = Provider::start().await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let machine = |scope| [("grant_type", "client_credentials"), ("scope", scope)];
    let (status, body) = token_request(&browser, &relying, &machine("api")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "api");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = token_request(&browser, &relying, &machine("admin")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    let client = relying.credentials();
    let active = browser.introspect(&client, &token).await.json();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], relying.client_id.as_str());
    assert_eq!(browser.revoke(&client, &token).await.status, 200);
    assert_eq!(
        browser.introspect(&client, &token).await.json()["active"],
        false
    );
    assert_eq!(
        browser.introspect(&client, "garbage").await.json()["active"],
        false
    );

    let wrong = Client::basic(&relying.client_id, "wrong");
    let wrong_secret = browser.client_credentials(&wrong, None).await;
    assert_eq!(wrong_secret.status, 401);
    assert!(
        wrong_secret
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let json_body = browser
        .post_raw("/token", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(json_body.status, 400);
    let duplicated = browser
        .back_channel(
            "/token",
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(duplicated.status, 400);
    let huge = format!("grant_type=client_credentials&x={}", "a".repeat(70 * 1024));
    let too_big = browser
        .post_raw(
            "/token",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(too_big.status, 413);
}

/// ES256 and EdDSA ID tokens verify with the published keys.
#[tokio::test]
async fn id_tokens_are_signed_with_the_clients_algorithm() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    for (alg, expected) in [
        ("ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        ("EdDSA", CoreJwsSigningAlgorithm::EdDsa),
    ] {
        let mut args = CONFIDENTIAL.to_vec();
        args.extend(["--id-token-alg", alg]);
        let relying = relying_party(&provider, &args).await;

        let started = start(&relying, &[]);
        let code = code_for(&provider, &mut browser, &started, &mut ada).await;
        let tokens = exchange(&relying, code, started.verifier).await;
        let id_token = tokens.id_token().unwrap();
        assert_eq!(id_token.signing_alg().unwrap(), &expected);
        let verifier = relying
            .client
            .id_token_verifier()
            .set_allowed_algs(vec![expected]);
        let claims = id_token
            .claims(&verifier, &started.nonce)
            .expect("verifies with the JWKS");
        let expected_hash = claims.access_token_hash().unwrap();
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(expected_hash, &actual, "{alg} at_hash");
    }
}

/// RP-initiated logout: id_token_hint, post_logout_redirect_uri, state; the session ends.
#[tokio::test]
async fn logout_ends_the_session_and_returns_to_the_client() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let relying = relying_party(&provider, CONFIDENTIAL).await;
    let mut browser = provider.browser();
    let started = start(&relying, &[]);
    let code = code_for(&provider, &mut browser, &started, &mut ada).await;
    let tokens = exchange(&relying, code, started.verifier).await;
    let hint = tokens.id_token().unwrap().to_string();

    let unregistered = browser
        .logout(&format!(
            "client_id={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
            relying.client_id
        ))
        .await;
    assert!(
        unregistered.location().is_none(),
        "logout asks before anything else"
    );
    let confirmed = browser.confirm_logout(&unregistered).await;
    assert!(
        confirmed.location().is_none(),
        "never redirect to an unregistered URI"
    );
    assert!(confirmed.says("You are signed out"));

    // Sign in again, then log out properly.
    let again = start(&relying, &[]);
    code_for(&provider, &mut browser, &again, &mut ada).await;
    let asked = browser
        .logout(&format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
            verity_testkit::agent::encode(POST_LOGOUT_URI)
        ))
        .await;
    assert_eq!(asked.status, 200);
    let logout = browser.confirm_logout(&asked).await;
    assert_eq!(logout.status, 303);
    assert!(logout.location().unwrap().starts_with(POST_LOGOUT_URI));
    assert_eq!(logout.redirect_param("state").as_deref(), Some("bye"));
    let silent = start(&relying, &[]);
    assert_eq!(
        browser
            .get(&format!("{}&prompt=none", silent.url))
            .await
            .redirect_param("error")
            .as_deref(),
        Some("login_required")
    );
    let ended = provider
        .target
        .ok(&["events", "export", "--type", "session.ended"]);
    assert!(ended.contains("\"logout\""));
}

/// Discovery and JWKS documents, snapshotted with the varying parts redacted.
#[tokio::test]
async fn discovery_and_jwks_documents() {
    let provider = Provider::start().await;
    let browser = provider.browser();
    let discovery = browser
        .peek("/.well-known/openid-configuration")
        .await
        .json();
    let redacted = serde_json::to_string_pretty(&discovery)
        .unwrap()
        .replace(&provider.issuer, "[issuer]");
    insta::assert_snapshot!("discovery", redacted);
    let metadata = browser
        .peek("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(metadata["issuer"], provider.issuer.as_str());
    let jwks = browser.peek("/jwks").await.json();
    let mut keys = jwks["keys"].as_array().unwrap().clone();
    keys.sort_by_key(|key| key["alg"].as_str().unwrap().to_owned());
    for key in &keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
    insta::assert_json_snapshot!("jwks", keys, {
        "[].kid" => "[kid]", "[].n" => "[modulus]", "[].x" => "[x]", "[].y" => "[y]",
    });
}

/// `[oidc] access_token_alg`: access tokens signed with ES256 or EdDSA verify with the
/// JWKS and introspect as active.
#[tokio::test]
async fn access_tokens_are_signed_with_the_configured_algorithm() {
    for alg in ["ES256", "EdDSA"] {
        let provider = Provider::start_with(
            crate::support::Target::sqlite(),
            &[("VERITY__OIDC__ACCESS_TOKEN_ALG", alg)],
        )
        .await;
        let relying = relying_party(&provider, CONFIDENTIAL).await;
        let browser = provider.browser();
        let form = [("grant_type", "client_credentials")];
        let (status, body) = token_request(&browser, &relying, &form).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap();
        let header = jwt_header(token);
        assert_eq!(
            (header["alg"].as_str(), header["typ"].as_str()),
            (Some(alg), Some("at+jwt"))
        );
        let jwks = browser.peek("/jwks").await.json();
        let published = jwks["keys"].as_array().unwrap();
        assert!(
            published
                .iter()
                .any(|key| key["kid"] == header["kid"] && key["alg"] == alg)
        );
        let introspected = browser
            .introspect(&relying.credentials(), token)
            .await
            .json();
        assert_eq!(introspected["active"], true, "{alg}: {introspected}");
    }
}
