//! A running Verity for the conformance tests: the real binary on a port the system
//! chooses (it prints the address it bound), clients and people registered through the
//! CLI, and browsers: the test kit's agent over TCP, with the typed sign-in steps.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use verity_testkit::remote::Remote;
use verity_testkit::{Agent, Authorization, Person};

use crate::support::{Target, json_lines};

/// A browser against the real binary.
pub type Browser = Agent<Remote>;

/// Verity serving on a loopback port.
pub struct Provider {
    pub target: Target,
    /// Where it listens: `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its issuer: the base, unless `[server] public_url` says otherwise.
    pub issuer: String,
    /// Where `/metrics` answers when it has a listener of its own (`[server]
    /// metrics_bind`): `http://127.0.0.1:PORT`.
    pub metrics: Option<String>,
    child: Child,
    /// The extra environment it was started with (for a restart).
    env: Vec<(String, String)>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registered client.
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// The PKCE verifier of the requests [`RegisteredClient::authorization`] builds: every
/// client must send PKCE unless it opted out.
pub const VERIFIER: &str = "conformance-pkce-verifier-0123456789-abcdefghijklmnop";

impl RegisteredClient {
    /// A code-flow request of this client to [`REDIRECT_URI`] (scope `openid`), with a
    /// PKCE challenge for [`VERIFIER`].
    pub fn authorization(&self) -> Authorization {
        Authorization::code(&self.client_id, REDIRECT_URI).pkce(VERIFIER)
    }

    /// The client at the back channel (`client_secret_basic`).
    pub fn basic(&self) -> verity_testkit::oauth::Client {
        verity_testkit::oauth::Client::basic(
            &self.client_id,
            self.client_secret.as_deref().unwrap_or_default(),
        )
    }
}

pub const REDIRECT_URI: &str = "http://localhost:4000/callback";
pub const POST_LOGOUT_URI: &str = "http://localhost:4000/signed-out";

/// What `verity serve` prints once it listens: `Verity listening on http://ADDRESS
/// (issuer URL)`. Returns the base URL and the issuer.
fn listening(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("Verity listening on ")?;
    let (base, issuer) = rest.split_once(" (issuer ")?;
    Some((base.to_owned(), issuer.strip_suffix(')')?.to_owned()))
}

/// What `verity serve` prints before that line when `/metrics` has a listener of its own:
/// `Verity metrics on http://ADDRESS/metrics`. Returns `http://ADDRESS`.
fn metrics_listening(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("Verity metrics on ")?;
    Some(rest.strip_suffix("/metrics")?.to_owned())
}

/// Reads stdout until the line that names the address, on a blocking thread: the base,
/// the issuer, and the metrics' listener if it was named on the way.
pub async fn wait_for_address(stdout: ChildStdout) -> (String, String, Option<String>) {
    let read = tokio::task::spawn_blocking(move || {
        let mut metrics = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.ok()?;
            metrics = metrics.or_else(|| metrics_listening(&line));
            if let Some((base, issuer)) = listening(&line) {
                return Some((base, issuer, metrics));
            }
        }
        None
    });
    match tokio::time::timeout(Duration::from_secs(60), read).await {
        Ok(Ok(Some(listening))) => listening,
        Ok(Ok(None)) => panic!("verity serve ended without saying where it listens"),
        Ok(Err(error)) => panic!("reading verity serve's output: {error}"),
        Err(_) => panic!("verity serve did not say where it listens within 60 s"),
    }
}

impl Provider {
    /// Starts Verity on SQLite in a fresh directory.
    pub async fn start() -> Self {
        Self::start_with(Target::sqlite(), &[]).await
    }

    /// Starts Verity on `target`'s store with extra environment variables, on port 0:
    /// the address and the issuer are read from the line the server prints.
    pub async fn start_with(target: Target, env: &[(&str, &str)]) -> Self {
        target.ok(&["org", "list"]);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        let (child, base, issuer, metrics) = serve(&target, &env).await;
        let provider = Self {
            target,
            base,
            issuer,
            metrics,
            child,
            env,
        };
        provider.wait_until_ready().await;
        provider
    }

    /// Kills the server (SIGKILL: no graceful shutdown), keeping its store.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same store and environment (a new port).
    pub async fn restart(&mut self) {
        self.stop();
        let (child, base, issuer, metrics) = serve(&self.target, &self.env).await;
        (self.child, self.base, self.issuer, self.metrics) = (child, base, issuer, metrics);
        self.wait_until_ready().await;
    }

    async fn wait_until_ready(&self) {
        let browser = self.browser();
        for _ in 0..200 {
            if browser.peek("/readyz").await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("Verity did not become ready");
    }
}

/// Starts `verity serve` on `target` on port 0: the child, its base URL, its issuer and
/// the metrics' listener when it has its own.
async fn serve(
    target: &Target,
    env: &[(String, String)],
) -> (Child, String, String, Option<String>) {
    let mut command = target.command();
    command
        .arg("serve")
        .env("VERITY__SERVER__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (base, issuer, metrics) = wait_for_address(stdout).await;
    (child, base, issuer, metrics)
}

impl Provider {
    /// A browser with no cookies.
    pub fn browser(&self) -> Browser {
        Agent::new(Remote::new(), &self.base)
    }

    /// A browser whose requests carry `X-Forwarded-For: value`.
    pub fn browser_forwarded_for(&self, value: &str) -> Browser {
        self.browser().forwarded_for(value)
    }

    /// Registers a client with the CLI (while the server runs: it sees the event live).
    pub async fn client(&self, extra: &[&str]) -> RegisteredClient {
        let mut args = vec![
            "client",
            "create",
            "--name",
            "Conformance RP",
            "--redirect-uri",
            REDIRECT_URI,
            "--post-logout-redirect-uri",
            POST_LOGOUT_URI,
            "--json",
        ];
        args.extend_from_slice(extra);
        let created = json_lines(&self.target.ok(&args));
        let client = RegisteredClient {
            client_id: created[0]["client_id"].as_str().unwrap().to_owned(),
            client_secret: created[0]["client_secret"].as_str().map(str::to_owned),
        };
        self.wait_until_served(&client).await;
        client
    }

    /// Waits until the server's read models know the client (it follows the log).
    async fn wait_until_served(&self, client: &RegisteredClient) {
        let browser = self.browser();
        let request = client.authorization().query();
        for _ in 0..100 {
            let page = browser.peek(&format!("/authorize?{request}")).await;
            if !page.body.contains("not registered") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never saw client {}", client.client_id);
    }

    /// Creates a person with a temporary password (the server has seen them when this
    /// returns): what they know.
    pub async fn person(&self, email: &str) -> Person {
        let created = json_lines(&self.cli(&crate::support::create_person_args(email)).await);
        let temporary = created[0]["temporary_password"].as_str().unwrap();
        Person::new(email, temporary)
    }

    /// Runs a CLI command that must succeed, then waits until the server has folded what
    /// it wrote: the operator's command is done before the next request counts on it.
    pub async fn cli(&self, args: &[&str]) -> String {
        let stdout = self.target.ok(args);
        self.caught_up().await;
        stdout
    }

    /// Waits until the server's read models have folded everything the log holds now
    /// (its readiness answer names both): after a CLI command, before the next request
    /// counts on it.
    pub async fn caught_up(&self) {
        let client = http_client();
        let url = format!("{}/readyz", self.base);
        let mut last = serde_json::Value::Null;
        for _ in 0..400 {
            if let Ok(response) = client.get(&url).send().await {
                last = response.json().await.unwrap_or_default();
                if let (Some(head), Some(projected)) =
                    (last["head"].as_u64(), last["projected"].as_u64())
                    && projected >= head
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server did not fold the log up to its head: {last}");
    }

    /// The events of `event_type` in the log, as JSON lines.
    pub fn events(&self, event_type: &str) -> Vec<serde_json::Value> {
        json_lines(
            &self
                .target
                .ok(&["events", "export", "--open", "--type", event_type]),
        )
    }
}

/// An HTTP client that does not follow redirects, for the relying-party library.
pub fn http_client() -> reqwest::Client {
    Remote::new().client().clone()
}

#[test]
fn the_address_and_the_issuer_are_read_from_the_line_serve_prints() {
    let line = "Verity listening on http://127.0.0.1:40123 (issuer https://id.example.org)\n";
    assert_eq!(
        listening(line),
        Some((
            "http://127.0.0.1:40123".to_owned(),
            "https://id.example.org".to_owned()
        ))
    );
    assert_eq!(listening("something else"), None);
}

/// `[server] bind` with port 0: the server takes a port the system chooses and names it,
/// and without `[server] public_url` the issuer carries that port (not 0) everywhere.
#[tokio::test]
async fn a_server_on_port_0_names_the_port_it_got_and_issues_with_it() {
    let provider = Provider::start().await;
    let port: u16 = provider.base.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert_eq!(provider.issuer, provider.base);
    let discovery = provider
        .browser()
        .peek("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(discovery["issuer"], provider.issuer.as_str());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/token", provider.issuer)
    );

    let configured = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__SERVER__PUBLIC_URL", "https://id.example.org")],
    )
    .await;
    assert_eq!(configured.issuer, "https://id.example.org");
    let discovery = configured
        .browser()
        .peek("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(discovery["issuer"], "https://id.example.org");
}
