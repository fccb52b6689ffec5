//! When access ends, it ends everywhere (docs/sessions.md, ADR 0007): a relying party
//! (the `openidconnect` crate) signs a person in with their code, then an admin or the
//! person ends access — and within seconds the client's back-channel logout URI receives
//! a valid logout token for that `sid` and `sub`, the refresh token gets
//! `invalid_grant`, introspection says `active: false`, userinfo answers 401 and
//! `prompt=none` answers `login_required`. Clients that are down, slow, failing or
//! redirecting get retries; no notice is lost across a restart; with two nodes on one
//! PostgreSQL each notice is sent once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use josekit::jwk::JwkSet;
use josekit::jws::{self, JwsVerifier};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, TokenResponse,
};
use serde_json::Value;
use verity_testkit::oauth::{self, jwt_header};
use verity_testkit::{Device, Person, Step};

use crate::multi_node::{SHARED_AUDIT_KEY, SHARED_MASTER_KEY, share_master_key};

use crate::provider::{Browser, Provider, REDIRECT_URI, RegisteredClient, http_client};
use crate::support::{Target, assert_clear_error};

/// How a test client's back-channel endpoint answers, one reply per request (then 200).
#[derive(Debug, Clone)]
enum Reply {
    Status(u16),
    Slow(Duration),
    Redirect,
}

/// What the endpoint received.
#[derive(Debug, Clone)]
struct Received {
    content_type: String,
    logout_token: String,
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
}

/// A relying party's back-channel logout endpoint on a loopback port.
struct Receiver {
    uri: String,
    inbox: Arc<Inbox>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    inbox.received.lock().unwrap().push(Received {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        logout_token: token,
    });
    let reply = inbox.script.lock().unwrap().pop_front();
    match reply {
        None => StatusCode::OK.into_response(),
        Some(Reply::Status(status)) => StatusCode::from_u16(status).unwrap().into_response(),
        Some(Reply::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            StatusCode::OK.into_response()
        }
        Some(Reply::Redirect) => (
            StatusCode::FOUND,
            [(header::LOCATION, "http://127.0.0.1:9/elsewhere")],
        )
            .into_response(),
    }
}

impl Receiver {
    async fn start(script: &[Reply]) -> Self {
        let inbox = Arc::new(Inbox::default());
        inbox.script.lock().unwrap().extend(script.iter().cloned());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/backchannel", axum::routing::post(receive))
            .with_state(inbox.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            uri: format!("http://{address}/backchannel"),
            inbox,
            server,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    /// Waits until `count` posts arrived (at most `within`); the posts.
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} back-channel posts expected within {within:?}, got {}",
            self.received().len()
        );
    }
}

/// Verifies a logout token as a relying party must (OIDC Back-Channel Logout 1.0, 2.6):
/// signature with a key of the JWKS, `typ`, `iss`, `aud`, `iat`, `exp`, `jti`, the event,
/// no `nonce`. Returns the claims.
async fn verified_logout_token(provider: &Provider, token: &str, client_id: &str) -> Value {
    let header = jwt_header(token);
    assert_eq!(header["typ"], "logout+jwt", "{header}");
    let jwks = provider.browser().peek("/jwks").await.body;
    let set = JwkSet::from_bytes(jwks.as_bytes()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = set.get(kid).into_iter().next().expect("a published key");
    let verifier: Box<dyn JwsVerifier> = match header["alg"].as_str().unwrap() {
        "RS256" => Box::new(jws::RS256.verifier_from_jwk(jwk).unwrap()),
        "ES256" => Box::new(jws::ES256.verifier_from_jwk(jwk).unwrap()),
        "EdDSA" => Box::new(jws::EdDSA.verifier_from_jwk(jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (payload, _) =
        jws::deserialize_compact(token, verifier.as_ref()).expect("a valid signature");
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["aud"], client_id);
    assert!(claims["iat"].as_i64().is_some());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(
        (1..=300).contains(&lifetime),
        "a short-lived token: {claims}"
    );
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    assert_eq!(
        claims["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims.get("nonce").is_none(), "never a nonce: {claims}");
    claims
}

/// A confidential client that may refresh, with `receiver` as its back-channel URI.
async fn client_with_backchannel(provider: &Provider, receiver: &Receiver) -> RegisteredClient {
    provider
        .client(&[
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--backchannel-logout-uri",
            &receiver.uri,
        ])
        .await
}

/// What the relying party holds after signing the person in.
struct SignedIn {
    sid: String,
    sub: String,
    access_token: String,
    refresh_token: String,
    id_token: String,
}

/// The `openidconnect` relying party signs `person` in through `browser` (password and
/// code), with PKCE, and redeems the code.
async fn sign_in_with_rp(
    provider: &Provider,
    client: &RegisteredClient,
    browser: &mut Browser,
    person: &mut Person,
) -> SignedIn {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(provider.issuer.clone()).unwrap(),
        &http_client(),
    )
    .await
    .unwrap();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.client_id.clone()),
        client.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let page = browser.get(url.as_str()).await;
    let redirect = if page.step() == Step::SignIn {
        browser.sign_in_as(&page, person, Device::Forget).await
    } else {
        page
    };
    let code = redirect.code().expect("a code");
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    let raw = oauth::claims(&id_token.to_string());
    let refresh_token = tokens.refresh_token().expect("a refresh token");
    // The refresh token works while the session lives.
    let refreshed = rp
        .exchange_refresh_token(&RefreshToken::new(refresh_token.secret().clone()))
        .unwrap()
        .request_async(&http_client())
        .await
        .unwrap();
    SignedIn {
        sid: raw["sid"].as_str().expect("sid in the ID token").to_owned(),
        sub: claims.subject().to_string(),
        access_token: refreshed.access_token().secret().clone(),
        refresh_token: refreshed.refresh_token().unwrap().secret().clone(),
        id_token: id_token.to_string(),
    }
}

/// Every token of the relying party is refused, and the browser must sign in again.
async fn access_has_ended(
    provider: &Provider,
    client: &RegisteredClient,
    browser: &mut Browser,
    held: &SignedIn,
) {
    let refreshed = browser
        .refresh(&client.basic(), &held.refresh_token, None)
        .await;
    assert_eq!(refreshed.status, 400, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    let introspected = browser
        .introspect(&client.basic(), &held.access_token)
        .await;
    assert_eq!(introspected.status, 200, "{}", introspected.body);
    assert_eq!(introspected.json(), serde_json::json!({ "active": false }));
    let userinfo = browser.userinfo(&held.access_token).await;
    assert_eq!(userinfo.status, 401, "{}", userinfo.body);
    let silent = client
        .authorization()
        .with("prompt", "none")
        .with("state", "s")
        .pkce("a-verifier-long-enough-for-pkce-0123456789")
        .query();
    let answer = browser.authorize(&silent).await;
    assert_eq!(
        answer.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        answer.body
    );
    let _ = provider;
}

#[tokio::test]
async fn disabling_a_person_ends_their_access_everywhere_and_tells_the_client() {
    let provider = Provider::start().await;
    let receiver = Receiver::start(&[]).await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    let held = sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;

    let started = Instant::now();
    provider
        .cli(&["user", "disable", "ada@example.org", "--org", "Default"])
        .await;
    let posts = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(posts[0].content_type, "application/x-www-form-urlencoded");
    let claims = verified_logout_token(&provider, &posts[0].logout_token, &client.client_id).await;
    assert_eq!(claims["sid"], held.sid.as_str());
    assert_eq!(claims["sub"], held.sub.as_str());
    access_has_ended(&provider, &client, &mut browser, &held).await;

    // The log says who ended what, and the notice was closed.
    let ended = provider.events("user.sessions.ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "disabled");
    assert_eq!(ended[0]["metadata"]["actor"]["kind"], "cli");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provider.events("backchannel.delivered").len(), 1);
    let shown = provider.target.ok(&["client", "show", &client.client_id]);
    assert!(
        shown.contains(&format!("backchannel_logout_uri: {}", receiver.uri)),
        "{shown}"
    );
    assert!(shown.contains("backchannel pending: 0"), "{shown}");
    assert!(
        !shown.contains("backchannel last delivered: never"),
        "{shown}"
    );
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_tells_the_client() {
    let provider = Provider::start().await;
    let receiver = Receiver::start(&[]).await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    let held = sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;

    let asked = browser
        .logout(&format!("id_token_hint={}", held.id_token))
        .await;
    let done = browser.confirm_logout(&asked).await;
    assert!(done.status < 400, "{}", done.body);
    let posts = receiver.wait_for(1, Duration::from_secs(5)).await;
    let claims = verified_logout_token(&provider, &posts[0].logout_token, &client.client_id).await;
    assert_eq!(claims["sid"], held.sid.as_str());
    assert_eq!(claims["sub"], held.sub.as_str());
    access_has_ended(&provider, &client, &mut browser, &held).await;
    let ended = provider.events("session.ended");
    assert_eq!(ended.last().unwrap()["data"]["reason"], "logout");
}

#[tokio::test]
async fn every_admin_ending_refuses_the_tokens_and_records_its_reason() {
    let provider = Provider::start().await;
    let receiver = Receiver::start(&[]).await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let cases: [(&[&str], &str); 3] = [
        (&["user", "sign-out"], "signed_out"),
        (&["user", "reset-password"], "password_reset"),
        (&["user", "reset-mfa"], "authenticator_reset"),
    ];
    for (index, (command, reason)) in cases.into_iter().enumerate() {
        let mut browser = provider.browser();
        let held = sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;
        let mut args = command.to_vec();
        args.extend(["ada@example.org", "--org", "Default", "--json"]);
        if *reason == *"password_reset" {
            args.push("--show-password");
        }
        let output = provider.cli(&args).await;
        // What the person learns: a new temporary password, or that their app is gone.
        let line = &crate::support::json_lines(&output)[0];
        if let Some(temporary) = line["temporary_password"].as_str() {
            temporary.clone_into(&mut ada.password);
        }
        if reason == "authenticator_reset" {
            ada.authenticator = None;
        }
        receiver.wait_for(index + 1, Duration::from_secs(5)).await;
        access_has_ended(&provider, &client, &mut browser, &held).await;
        let ended = provider.events("user.sessions.ended");
        assert_eq!(ended.last().unwrap()["data"]["reason"], reason);
    }
}

#[tokio::test]
async fn a_client_that_is_down_failing_or_redirecting_gets_retries_and_nothing_is_lost_across_a_restart()
 {
    let provider = Provider::start().await;
    // 500, then a redirect (never followed), then a slow answer beyond the 5 s timeout,
    // then 200.
    let receiver = Receiver::start(&[
        Reply::Status(500),
        Reply::Redirect,
        Reply::Slow(Duration::from_secs(7)),
    ])
    .await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    let held = sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;
    provider
        .cli(&["user", "sign-out", "ada@example.org", "--org", "Default"])
        .await;
    // Three failed attempts (0 s, 1 s, 2 s backoff, the third cut off at 5 s), then the
    // fourth delivers.
    let posts = receiver.wait_for(4, Duration::from_secs(30)).await;
    let mut jtis = Vec::new();
    for post in &posts {
        let claims = verified_logout_token(&provider, &post.logout_token, &client.client_id).await;
        assert_eq!(claims["sid"], held.sid.as_str());
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), posts.len(), "a fresh jti on every attempt");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = provider.events("backchannel.delivered");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["data"]["attempts"], 4);
    let metrics = provider.browser().peek("/metrics").await;
    assert!(metrics.sample("verity_backchannel_attempts_total{outcome=\"retried\"}") >= 3.0);
    assert_eq!(
        metrics.sample("verity_backchannel_attempts_total{outcome=\"delivered\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_notice_pending_when_the_server_stops_is_delivered_after_it_restarts() {
    let mut provider = Provider::start().await;
    let receiver = Receiver::start(&[Reply::Status(503), Reply::Status(503)]).await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    let held = sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;
    provider
        .cli(&["user", "sign-out", "ada@example.org", "--org", "Default"])
        .await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    provider.stop();
    let shown = provider.target.ok(&["client", "show", &client.client_id]);
    assert!(shown.contains("backchannel pending: 1"), "{shown}");
    assert!(shown.contains("(HTTP 503)"), "{shown}");
    provider.restart().await;
    let posts = receiver.wait_for(3, Duration::from_secs(15)).await;
    let claims = verified_logout_token(&provider, &posts[2].logout_token, &client.client_id).await;
    assert_eq!(claims["sid"], held.sid.as_str());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provider.events("backchannel.delivered").len(), 1);
}

#[tokio::test]
async fn a_4xx_gives_the_notice_up_and_client_show_says_why() {
    let provider = Provider::start().await;
    let receiver = Receiver::start(&[Reply::Status(400)]).await;
    let client = client_with_backchannel(&provider, &receiver).await;
    let mut ada = provider.person("ada@example.org").await;
    let mut browser = provider.browser();
    sign_in_with_rp(&provider, &client, &mut browser, &mut ada).await;
    provider
        .cli(&["user", "sign-out", "ada@example.org", "--org", "Default"])
        .await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1, "a 4xx is not retried");
    let failed = provider.events("backchannel.failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["reason"], "HTTP 400");
    let shown = provider.target.ok(&["client", "show", &client.client_id]);
    assert!(shown.contains("(HTTP 400)"), "{shown}");
    assert!(shown.contains("backchannel pending: 0"), "{shown}");
}

#[test]
fn back_channel_uris_are_checked_at_registration() {
    let target = Target::sqlite();
    for (uri, why) in [
        ("not a uri", "invalid back-channel logout URI"),
        (
            "http://rp.example.org/logout",
            "http is only allowed for localhost",
        ),
        (
            "https://rp.example.org/logout#frag",
            "must not contain a fragment",
        ),
        ("ftp://rp.example.org/logout", "must use https"),
    ] {
        let output = target.run(&[
            "client",
            "create",
            "--name",
            "RP",
            "--redirect-uri",
            "https://rp.example.org/cb",
            "--backchannel-logout-uri",
            uri,
        ]);
        assert_clear_error(&output, why);
    }
    let accepted = target.ok(&[
        "client",
        "create",
        "--name",
        "RP",
        "--redirect-uri",
        "https://rp.example.org/cb",
        "--backchannel-logout-uri",
        "http://127.0.0.1:8123/logout",
        "--json",
    ]);
    assert!(accepted.contains("client_id"));
}

#[tokio::test]
async fn two_nodes_send_each_notice_once_even_when_the_sending_node_dies() {
    let Some(first_target) = Target::postgres().await else {
        return;
    };
    let url = first_target.database_url.clone().unwrap();
    let env = [
        ("VERITY__KEYS__MASTER_KEY", SHARED_MASTER_KEY),
        ("VERITY__AUDIT__KEY", SHARED_AUDIT_KEY),
    ];
    share_master_key(&first_target);
    let mut node_a = Provider::start_with(first_target, &env).await;
    let second_target = Target {
        dir: tempfile::tempdir().unwrap(),
        database_url: Some(url),
    };
    share_master_key(&second_target);
    let node_b = Provider::start_with(second_target, &env).await;
    // The first post hangs long enough for its node to be killed while sending.
    let receiver = Receiver::start(&[Reply::Slow(Duration::from_secs(4))]).await;
    let client = client_with_backchannel(&node_a, &receiver).await;
    let mut ada = node_a.person("ada@example.org").await;
    let mut browser = node_a.browser();
    sign_in_with_rp(&node_a, &client, &mut browser, &mut ada).await;

    node_b
        .target
        .ok(&["user", "sign-out", "ada@example.org", "--org", "Default"]);
    // One node takes it (the other sees the claim); kill whichever is node A now: if it
    // was sending, node B takes over once the claim lapses.
    receiver.wait_for(1, Duration::from_secs(5)).await;
    node_a.stop();
    // Whichever node was sending, the notice is delivered and recorded once: by B at
    // once, or by B after A's claim lapsed (15 s).
    let deadline = Instant::now() + Duration::from_secs(40);
    while node_b.events("backchannel.delivered").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = node_b.events("backchannel.delivered");
    assert_eq!(delivered.len(), 1, "one delivery recorded");
    let all = receiver.received();
    assert!(
        (1..=2).contains(&all.len()),
        "sent once, or once more after the sending node died: {}",
        all.len()
    );
}
