//! The application in process: `verity_http::router(AppState)` over SQLite in a temporary
//! directory, driven with `tower::ServiceExt::oneshot` through the test kit's [`Agent`].
//!
//! [`app_state`] is the one place that knows `AppState`'s fields, and [`signing_keys`]
//! the one place that makes signing keys: when either changes, only they change.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Request, Response};
use tempfile::TempDir;
use tower::ServiceExt;
use uuid::Uuid;
use verity_domain::key::SigningKey;
use verity_domain::{Actor, Context, RecordedEvent, execute};
use verity_http::{AppState, TrustedProxies, router};
use verity_oidc::Engine;
use verity_oidc::credentials::Hashing;
use verity_oidc::keys::{GeneratedKey, MasterKey, SharedKeyRing, SigningAlgorithm};
use verity_projection::{Projector, ReadModels};
use verity_store::{Location, Store};
use verity_testkit::{Agent, Transport};

/// The issuer of every test app (in process, no socket: any name does).
pub const ISSUER: &str = "http://verity.test";

/// The instance's display name on the pages.
pub const INSTANCE: &str = "Verity Test";

/// The TCP peer of a browser that names no other.
pub const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

/// A master key for every test app (base64 of 32 bytes): the signing keys, made once per
/// test process, are encrypted under it.
const MASTER_KEY: &str = "dGhlLW1hc3Rlci1rZXktb2YtdGhlLWh0dHAtdGVzdCE=";

/// What a test may change before the app starts: the engine's settings (lifetimes,
/// limits) and the doors' (trusted proxies, metrics), as `verity serve` would take them
/// from the configuration.
pub struct Settings {
    /// The engine's.
    pub engine: verity_oidc::Settings,
    /// Whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Whether `GET /metrics` answers.
    pub metrics: bool,
    /// Password hashing (its threads and queue bound).
    pub hashing: Hashing,
}

/// One Verity, in process, on a fresh store.
pub struct TestApp {
    /// The router, as `verity serve` runs it.
    pub router: Router,
    /// The log and the expiring store.
    pub store: Arc<dyn Store>,
    /// The read models.
    pub projector: Arc<Projector<ReadModels>>,
    /// The master key (TOTP secrets are sealed under it).
    pub master: MasterKey,
    /// The organization people are created in.
    pub org_id: Uuid,
    /// The engine behind the router (for what a server runs beside it: the sweeper, the
    /// back-channel worker).
    pub engine: Option<Engine>,
    _dir: TempDir,
}

impl TestApp {
    /// Verity with the default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Verity with settings changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("verity.db"));
        let store = verity_store::open(&location).await.unwrap();
        let projector = Projector::start(store.clone(), store.clone())
            .await
            .unwrap();
        let master = MasterKey::from_base64(MASTER_KEY).unwrap();
        let mut settings = Settings {
            engine: verity_oidc::Settings::new(ISSUER, INSTANCE),
            trusted_proxies: TrustedProxies::default(),
            metrics: true,
            hashing: Hashing::new(2),
        };
        adjust(&mut settings);
        let mut app = Self {
            router: Router::new(),
            store,
            projector,
            master,
            org_id: Uuid::nil(),
            engine: None,
            _dir: dir,
        };
        signing_keys(&app).await;
        app.org_id = app.organization("Test Org").await;
        let state = app_state(&app, settings);
        app.engine = Some(state.engine.clone());
        app.router = router(state);
        app
    }

    /// A browser with no cookies, connecting from [`PEER`].
    pub fn browser(&self) -> Agent<InProcess> {
        self.browser_from(PEER)
    }

    /// A browser with no cookies, connecting from `peer`.
    pub fn browser_from(&self, peer: IpAddr) -> Agent<InProcess> {
        let transport = InProcess {
            router: self.router.clone(),
            peer: Some(SocketAddr::new(peer, 50_000)),
        };
        Agent::new(transport, ISSUER)
    }

    /// A browser whose requests carry no connection info (an unknown client address).
    pub fn browser_without_peer(&self) -> Agent<InProcess> {
        let transport = InProcess {
            router: self.router.clone(),
            peer: None,
        };
        Agent::new(transport, ISSUER)
    }

    /// The context of a command given by the test's administrator.
    pub fn admin_context(&self) -> Context {
        Context {
            now: now(),
            actor: Actor::Cli {
                os_user: Some("test".into()),
            },
            request_id: None,
            client_ip: None,
        }
    }

    /// Runs `command` on `stream` and waits until the read models show it.
    pub async fn execute<A: verity_domain::Aggregate>(&self, stream: &str, command: &A::Command)
    where
        A::Command: Sync,
    {
        let outcome = execute::<A>(self.store.as_ref(), stream, command, &self.admin_context())
            .await
            .unwrap_or_else(|error| panic!("{stream}: {error}"));
        self.wait_for(outcome.position).await;
    }

    /// Waits until the read models have folded `position`.
    pub async fn wait_for(&self, position: u64) {
        self.projector
            .wait_for(position, std::time::Duration::from_secs(10))
            .await
            .unwrap();
    }

    /// Every event of `event_type` in the log, in order.
    pub async fn events(&self, event_type: &str) -> Vec<RecordedEvent> {
        self.all_events()
            .await
            .into_iter()
            .filter(|event| event.event_type == event_type)
            .collect()
    }

    /// The whole log.
    pub async fn all_events(&self) -> Vec<RecordedEvent> {
        self.store.read_all(0, 100_000).await.unwrap()
    }

    /// The payload of an event as JSON.
    pub fn data(event: &RecordedEvent) -> serde_json::Value {
        serde_json::from_str(&event.data).unwrap()
    }

    /// The metadata of an event as JSON.
    pub fn metadata(event: &RecordedEvent) -> serde_json::Value {
        serde_json::from_str(&event.metadata).unwrap()
    }
}

/// The wall clock, read by the tests' fixtures (the server reads its own).
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// What every handler may use, as `verity serve` builds it (crates/verity/src/commands/
/// serve.rs), over the test app's store.
fn app_state(app: &TestApp, settings: Settings) -> AppState {
    let engine = Engine {
        store: app.store.clone(),
        expiring: app.store.clone(),
        projector: app.projector.clone(),
        keys: Arc::new(SharedKeyRing::new(app.master.clone())),
        hashing: settings.hashing,
        settings: Arc::new(settings.engine),
    };
    let doors = verity_http::Settings {
        trusted_proxies: settings.trusted_proxies,
        metrics: settings.metrics,
        body_read_timeout: None,
    };
    AppState::new(engine, doors).unwrap()
}

/// One signing key per algorithm, generated once per test process (RSA takes a while)
/// and recorded in each app's log as `verity serve` does on first start: generated, then
/// activated.
async fn signing_keys(app: &TestApp) {
    static GENERATED: OnceLock<Vec<GeneratedKey>> = OnceLock::new();
    let generated = GENERATED.get_or_init(|| {
        SigningAlgorithm::ALL
            .into_iter()
            .map(|alg| {
                let kid = format!("test-{}", alg.to_string().to_lowercase());
                verity_oidc::keys::generate(alg, &kid, &app.master).unwrap()
            })
            .collect()
    });
    for key in generated {
        app.put_in_service(key, chrono::Duration::hours(24)).await;
    }
}

impl TestApp {
    /// Rotates the signing key of `alg` as `verity keys rotate` does: a new key signs
    /// from now on; the one it replaces is retired and stays published for `grace`.
    pub async fn rotate_key(&self, alg: SigningAlgorithm, grace: chrono::Duration) {
        let kid = format!("test-rotated-{}", verity_oidc::random::uuid().simple());
        let key = verity_oidc::keys::generate(alg, &kid, &self.master).unwrap();
        self.put_in_service(&key, grace).await;
    }

    /// Records `key` as generated and activated, retiring the active key of its
    /// algorithm with `grace`.
    async fn put_in_service(&self, key: &GeneratedKey, grace: chrono::Duration) {
        let keys = self.projector.read(|models| models.keys.clone());
        for step in verity_oidc::keys::plan_rotation(&keys, key, now(), grace) {
            self.execute::<SigningKey>(&step.stream(), &step.command)
                .await;
        }
    }
}

/// [`Transport`] into the router: each request is one `oneshot`, with the browser's TCP
/// peer as `ConnectInfo` so that the client-IP extractor sees an address.
#[derive(Clone)]
pub struct InProcess {
    router: Router,
    peer: Option<SocketAddr>,
}

impl Transport for InProcess {
    async fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        let mut request = Request::from_parts(parts, Body::from(body));
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Response::from_parts(parts, bytes)
    }
}

/// Posts the form of `page` that goes to `action` (its `tx` and `csrf`, and `fields`)
/// twice at once from `browser`, as a double submit or a replayed copy would: both
/// answers, in the order sent.
pub async fn post_twice_at_once(
    browser: &Agent<InProcess>,
    page: &verity_testkit::Page,
    action: &str,
    fields: &[(&str, &str)],
) -> (verity_testkit::Page, verity_testkit::Page) {
    let (tx, csrf) = (page.tx().unwrap(), page.csrf().unwrap());
    let mut form = vec![("tx", tx.as_str()), ("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let post = || {
        let body = verity_testkit::agent::form_body(&form).into_bytes();
        browser.request(
            http::Method::POST,
            action,
            body,
            Some("application/x-www-form-urlencoded"),
        )
    };
    let (first, second) = (post(), post());
    tokio::join!(
        browser.send_without_cookies(first),
        browser.send_without_cookies(second)
    )
}

/// Exchanges the code of `redirect` for `client` (`client_secret_basic`): the token
/// answer, which must be a success.
pub async fn exchange(
    browser: &Agent<InProcess>,
    client: &crate::fixtures::RegisteredClient,
    redirect: &verity_testkit::Page,
) -> serde_json::Value {
    let code = redirect
        .code()
        .unwrap_or_else(|| panic!("no code: {} {:?}", redirect.status, redirect.location()));
    let answer = browser
        .exchange(
            &client.basic(),
            &code,
            crate::fixtures::REDIRECT_URI,
            Some(crate::fixtures::VERIFIER),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// Signs `person` in through `request` in `browser` and exchanges the code for
/// `client`: the token answer.
pub async fn tokens(
    browser: &mut Agent<InProcess>,
    client: &crate::fixtures::RegisteredClient,
    request: &str,
    person: &mut verity_testkit::Person,
    device: verity_testkit::Device,
) -> serde_json::Value {
    let redirect = browser.code_flow(request, person, device).await;
    exchange(browser, client, &redirect).await
}

/// Exchanges the code of `redirect` for `client` and returns the ID token's claims.
pub async fn id_token_claims(
    browser: &Agent<InProcess>,
    client: &crate::fixtures::RegisteredClient,
    redirect: &verity_testkit::Page,
) -> serde_json::Value {
    let tokens = exchange(browser, client, redirect).await;
    verity_testkit::oauth::claims(tokens["id_token"].as_str().unwrap())
}
