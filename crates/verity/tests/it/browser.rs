//! End to end in a real browser: Debian's Chromium, driven through chromedriver (which
//! `cargo xtask test` installs and starts), against the real `verity serve` on a port
//! the system chose, with a relying party of our own that receives the authorization response and
//! exchanges the code with the `openidconnect` crate.
//!
//! [`BrowserSession`] is what a person does: open a page, type into the field with a
//! given label, press the button with a given text, read the page. Every test gets a
//! fresh browser profile, and a test that fails leaves a screenshot (and the page's
//! HTML) under `target/e2e-screenshots/`.
//!
//! Without `VERITY_TEST_WEBDRIVER_URL` the tests here skip loudly (and fail under
//! `--strict`/CI): run them with `cargo xtask test -- -p verity --test it browser`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::Html;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::Value;
use tempfile::TempDir;
use thirtyfour::{WebDriver, WebElement};
use tokio::sync::mpsc;

use verity_testkit::steps::CHOSEN_PASSWORD;
use verity_testkit::totp::Authenticator;

use crate::provider::{Provider, http_client};

/// How long a page may take to load, and how long the helpers wait for something.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where screenshots of failed tests go: `<target dir>/e2e-screenshots`, next to the
/// `<profile>/deps/it-<hash>` test binary. `None` if the binary's path says otherwise.
pub fn screenshot_directory() -> Option<PathBuf> {
    let executable = std::env::current_exe().ok()?;
    Some(executable.ancestors().nth(3)?.join("e2e-screenshots"))
}

/// The running test's name as a file name (`browser::signs_in` becomes
/// `browser__signs_in`); the harness names each test's thread after the test.
pub fn test_file_stem() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("browser-session")
        .replace("::", "__")
}

/// A Chromium session of one test, with a profile of its own.
///
/// Prefer [`BrowserSession::quit`] at the end of a test; when the session is dropped
/// instead (above all while a failing test unwinds), `Drop` saves a screenshot and the
/// page's HTML if the thread is panicking, and ends the session either way.
pub struct BrowserSession {
    /// `None` once the session has ended.
    driver: Option<WebDriver>,
    webdriver_url: String,
    session_id: String,
    /// Names the screenshot of a failure: the test's name.
    file_stem: String,
    /// Chromium's `--user-data-dir`; removed after the session has ended.
    _profile: TempDir,
}

impl BrowserSession {
    /// Opens a new browser, or returns `None` after a loud skip when no WebDriver
    /// server is running (a failure under strict mode).
    pub async fn start() -> Option<Self> {
        let webdriver_url = verity_testkit::webdriver_url()?;
        let file_stem = test_file_stem();
        let profile = tempfile::Builder::new()
            .prefix("verity-chromium-")
            .tempdir()
            .unwrap();
        let Value::Object(capabilities) = verity_testkit::chrome_capabilities(profile.path())
        else {
            panic!("the capabilities are a JSON object");
        };
        let driver = WebDriver::new(webdriver_url.as_str(), capabilities)
            .await
            .unwrap_or_else(|error| {
                panic!("cannot open a Chromium session through {webdriver_url}: {error}")
            });
        driver.set_page_load_timeout(PAGE_TIMEOUT).await.unwrap();
        let session_id = driver.session_id().to_string();
        Some(Self {
            driver: Some(driver),
            webdriver_url,
            session_id,
            file_stem,
            _profile: profile,
        })
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the session has not ended")
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.driver()
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// The address of the page shown now.
    pub async fn current_url(&self) -> String {
        self.driver().current_url().await.unwrap().to_string()
    }

    /// The text a person sees on the page (the body's rendered text).
    pub async fn text(&self) -> String {
        let body = self
            .driver()
            .find(thirtyfour::By::Tag("body"))
            .await
            .unwrap();
        body.text().await.unwrap()
    }

    /// The rendered text of the one element that `css` selects (for what a person
    /// reads off a page, such as the authenticator secret).
    pub async fn text_of(&self, css: &str) -> String {
        let element = self
            .driver()
            .find(thirtyfour::By::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css:?} on the page: {error}"));
        element.text().await.unwrap()
    }

    /// The page's HTML as the browser has it now.
    pub async fn html(&self) -> String {
        self.driver().source().await.unwrap()
    }

    /// Types `value` into the field labelled `label`, replacing what it held.
    ///
    /// The field is found as a person (and a screen reader) finds it: by the text of
    /// its `<label>`, which must be on the page exactly once.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.labelled(label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Ticks (`true`) or unticks the checkbox labelled `label`.
    pub async fn set_checked(&self, label: &str, checked: bool) {
        let checkbox = self.labelled(label).await;
        if checkbox.is_selected().await.unwrap() != checked {
            checkbox.click().await.unwrap();
        }
    }

    /// The form control that the one `<label>` with the text `label` names (through
    /// `for`, or by wrapping it), as the browser resolves it (`HTMLLabelElement.control`).
    async fn labelled(&self, label: &str) -> WebElement {
        const SCRIPT: &str = r#"
            const normal = (text) => (text || "").replace(/\s+/g, " ").trim();
            const all = Array.from(document.querySelectorAll("label"));
            const matching = all.filter((label) => normal(label.textContent) === arguments[0]);
            if (matching.length !== 1) {
                return { found: matching.length, labels: all.map((label) => normal(label.textContent)) };
            }
            return matching[0].control || { found: 1, control: null };
        "#;
        let returned = self
            .driver()
            .execute(SCRIPT, vec![Value::from(label)])
            .await
            .unwrap();
        if returned.json().get("found").is_some() {
            panic!(
                "expected one field labelled {label:?} on {}, found {}",
                self.current_url().await,
                returned.json()
            );
        }
        returned.element().unwrap()
    }

    /// Presses the button showing `text` and waits for the page it leads to.
    ///
    /// Every button on Verity's pages submits a form (they work without JavaScript),
    /// so a press always loads a new page, if only the same form with an error.
    pub async fn click_button(&self, text: &str) {
        const FIND: &str = r#"
            const normal = (text) => (text || "").replace(/\s+/g, " ").trim();
            const all = Array.from(document.querySelectorAll(
                "button, input[type=submit], input[type=button]"));
            const shown = (button) => normal(button.tagName === "INPUT" ? button.value : button.textContent);
            const matching = all.filter((button) => shown(button) === arguments[0]);
            if (matching.length !== 1) {
                return { found: matching.length, buttons: all.map(shown) };
            }
            window.__verityBeforeClick = true;
            return matching[0];
        "#;
        self.press(FIND, text, "button").await;
    }

    /// Follows the link showing `text` and waits for the page it leads to.
    pub async fn click_link(&self, text: &str) {
        const FIND: &str = r#"
            const normal = (text) => (text || "").replace(/\s+/g, " ").trim();
            const all = Array.from(document.querySelectorAll("a[href]"));
            const matching = all.filter((link) => normal(link.textContent) === arguments[0]);
            if (matching.length !== 1) {
                return { found: matching.length, links: all.map((link) => normal(link.textContent)) };
            }
            window.__verityBeforeClick = true;
            return matching[0];
        "#;
        self.press(FIND, text, "link").await;
    }

    /// Presses the one button whose accessible name (its `aria-label`) starts with
    /// `name`, as a screen reader announces it, and waits for the page it leads to: for
    /// lists where several buttons show the same text ("Sign out").
    pub async fn click_button_named(&self, name: &str) {
        const FIND: &str = r#"
            const all = Array.from(document.querySelectorAll("button[aria-label]"));
            const matching = all.filter((button) => button.getAttribute("aria-label").startsWith(arguments[0]));
            if (matching.length !== 1) {
                return { found: matching.length, names: all.map((b) => b.getAttribute("aria-label")) };
            }
            window.__verityBeforeClick = true;
            return matching[0];
        "#;
        self.press(FIND, name, "button named").await;
    }

    /// Runs `find` (a script that returns the one element matching its argument, or
    /// `{found: N, ...}` when not exactly one does) with `text`, clicks the element and
    /// waits for the page it leads to.
    async fn press(&self, find: &str, text: &str, what: &str) {
        let returned = self
            .driver()
            .execute(find, vec![Value::from(text)])
            .await
            .unwrap();
        if returned.json().get("found").is_some() {
            panic!(
                "expected one {what} {text:?} on {}, found {}",
                self.current_url().await,
                returned.json()
            );
        }
        returned.element().unwrap().click().await.unwrap();
        self.wait_for_new_page(text).await;
    }

    /// Waits until the page that carried the marker of [`Self::click_button`] has been
    /// replaced by a new, completely loaded one.
    async fn wait_for_new_page(&self, button: &str) {
        const LOADED: &str = r#"
            return window.__verityBeforeClick !== true && document.readyState === "complete";
        "#;
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            // While the browser navigates, a script may fail: that is "not yet".
            if let Ok(returned) = self.driver().execute(LOADED, Vec::new()).await
                && returned.json() == &Value::Bool(true)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pressing {button:?} loaded no new page within {} s",
                PAGE_TIMEOUT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's text contains `text` (for pages that change by
    /// themselves, such as a redirect the server answers later).
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            if self.text().await.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{text:?} did not appear within {} s on {}; the page says:\n{}",
                    PAGE_TIMEOUT.as_secs(),
                    self.current_url().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the browser's window to `path`, creating the
    /// directories it needs.
    pub async fn screenshot(&self, path: &Path) {
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory).unwrap();
        }
        self.driver().screenshot(path).await.unwrap();
    }

    /// Makes the browser's window `width` × `height` pixels (a laptop, a phone).
    pub async fn resize(&self, width: u32, height: u32) {
        self.driver()
            .set_window_rect(0, 0, width, height)
            .await
            .unwrap();
    }

    /// The form controls on the page that no `<label>` names (each as its `name`): an
    /// accessible form has none.
    pub async fn unlabelled_fields(&self) -> Vec<String> {
        const SCRIPT: &str = r#"
            return Array.from(document.querySelectorAll("input, select, textarea"))
                .filter((field) => field.type !== "hidden" && field.labels.length === 0)
                .map((field) => field.name || field.id || field.outerHTML);
        "#;
        let returned = self.driver().execute(SCRIPT, Vec::new()).await.unwrap();
        serde_json::from_value(returned.json().clone()).unwrap()
    }

    /// Types `keys` (a key such as `Key::Tab`, or text) on the keyboard, into whatever
    /// has the focus.
    pub async fn press_key(&self, keys: impl Into<thirtyfour::TypingData>) {
        self.driver()
            .action_chain()
            .send_keys(keys)
            .perform()
            .await
            .unwrap();
    }

    /// Presses Enter on what has the focus and waits for the page it leads to.
    pub async fn press_enter(&self) {
        self.driver()
            .execute("window.__verityBeforeClick = true;", Vec::new())
            .await
            .unwrap();
        self.press_key(thirtyfour::Key::Enter).await;
        self.wait_for_new_page("Enter").await;
    }

    /// Presses Tab until the focus reaches what is named `name` (at most `most` times),
    /// checking that a focus ring shows at every step; the names passed on the way.
    pub async fn tab_to(&self, name: &str, most: usize) -> Vec<String> {
        let mut passed = Vec::new();
        for _ in 0..most {
            self.press_key(thirtyfour::Key::Tab).await;
            let (focused, ring) = self.focused().await;
            assert!(
                ring,
                "no focus ring on {focused:?} at {}",
                self.current_url().await
            );
            if focused == name {
                return passed;
            }
            passed.push(focused);
        }
        panic!(
            "Tab did not reach {name:?} in {most} presses on {}: {passed:?}",
            self.current_url().await
        );
    }

    /// Posts a form to `action` with `fields` from the page shown, as a hand-made form
    /// would, and waits for the answer.
    pub async fn post_form(&self, action: &str, fields: &[(&str, &str)]) {
        const SCRIPT: &str = r#"
            const form = document.createElement("form");
            form.method = "post";
            form.action = arguments[0];
            for (const [name, value] of arguments[1]) {
                const input = document.createElement("input");
                input.type = "hidden";
                input.name = name;
                input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            window.__verityBeforeClick = true;
            form.submit();
        "#;
        let fields: Vec<Value> = fields
            .iter()
            .map(|(name, value)| Value::from(vec![*name, *value]))
            .collect();
        self.driver()
            .execute(SCRIPT, vec![Value::from(action), Value::from(fields)])
            .await
            .unwrap();
        self.wait_for_new_page(action).await;
    }

    /// What has the keyboard's focus — its accessible name (`aria-label`, else its text,
    /// else its label's) — and whether a focus ring shows around it.
    pub async fn focused(&self) -> (String, bool) {
        const SCRIPT: &str = r#"
            const element = document.activeElement;
            if (!element || element === document.body) { return ["", false]; }
            const label = element.labels && element.labels.length ? element.labels[0].innerText : "";
            const name = element.getAttribute("aria-label") || element.innerText.trim() || label;
            const style = getComputedStyle(element);
            const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                || style.boxShadow !== "none";
            return [name, ring];
        "#;
        let returned = self.driver().execute(SCRIPT, Vec::new()).await.unwrap();
        serde_json::from_value(returned.json().clone()).unwrap()
    }

    /// Whether the page is wider than the window, so that reading it needs a sideways
    /// scroll.
    pub async fn scrolls_sideways(&self) -> bool {
        const SCRIPT: &str =
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth;";
        let returned = self.driver().execute(SCRIPT, Vec::new()).await.unwrap();
        returned.json() == &Value::Bool(true)
    }

    /// Ends the session: Chromium closes and its profile is removed.
    pub async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.quit().await.unwrap();
        }
    }
}

impl Drop for BrowserSession {
    fn drop(&mut self) {
        let Some(driver) = self.driver.take() else {
            return;
        };
        // The session is ended below, without the driver's own asynchronous clean-up.
        let _ = driver.leak();
        let failure = std::thread::panicking()
            .then(|| screenshot_directory().map(|directory| directory.join(&self.file_stem)))
            .flatten();
        let webdriver_url = self.webdriver_url.clone();
        let session_id = self.session_id.clone();
        // `Drop` cannot await, and the test's runtime may be the one unwinding: a
        // thread of its own with a runtime and a connection of its own does the work.
        // Nothing here may panic (a panic while panicking aborts the tests).
        let ended = std::thread::Builder::new()
            .name("browser-session-end".to_owned())
            .spawn(move || end_session(&webdriver_url, &session_id, failure.as_deref()))
            .map(std::thread::JoinHandle::join);
        if !matches!(ended, Ok(Ok(()))) {
            eprintln!(
                "browser: could not end WebDriver session {}",
                self.session_id
            );
        }
    }
}

/// Saves `<failure>.png` and `<failure>.html` when `failure` is given, then deletes
/// the session. Reports problems on stderr instead of panicking.
fn end_session(webdriver_url: &str, session_id: &str, failure: Option<&Path>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("browser: cannot end the session: {error}");
            return;
        }
    };
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let session = format!("{webdriver_url}/session/{session_id}");
        if let Some(failure) = failure {
            save_failure(&http, &session, failure).await;
        }
        let deleted = http.delete(&session).timeout(PAGE_TIMEOUT).send().await;
        if let Err(error) = deleted {
            eprintln!("browser: cannot delete WebDriver session {session}: {error}");
        }
    });
}

async fn save_failure(http: &reqwest::Client, session: &str, failure: &Path) {
    use base64::Engine as _;
    let Some(directory) = failure.parent() else {
        return;
    };
    if let Err(error) = std::fs::create_dir_all(directory) {
        eprintln!("browser: cannot create {}: {error}", directory.display());
        return;
    }
    if let Some(Value::String(png)) = webdriver_value(http, &format!("{session}/screenshot")).await
    {
        let path = failure.with_extension("png");
        match base64::engine::general_purpose::STANDARD.decode(png) {
            Ok(bytes) => match std::fs::write(&path, bytes) {
                Ok(()) => eprintln!("browser: screenshot of the failure: {}", path.display()),
                Err(error) => eprintln!("browser: cannot write {}: {error}", path.display()),
            },
            Err(error) => eprintln!("browser: the screenshot is not base64: {error}"),
        }
    }
    if let Some(Value::String(html)) = webdriver_value(http, &format!("{session}/source")).await {
        let path = failure.with_extension("html");
        match std::fs::write(&path, html) {
            Ok(()) => eprintln!("browser: HTML of the failure: {}", path.display()),
            Err(error) => eprintln!("browser: cannot write {}: {error}", path.display()),
        }
    }
}

/// The `value` of a WebDriver GET command's answer.
async fn webdriver_value(http: &reqwest::Client, url: &str) -> Option<Value> {
    let answer = async {
        let response = http.get(url).timeout(PAGE_TIMEOUT).send().await?;
        response.bytes().await
    }
    .await;
    match answer.map(|bytes| serde_json::from_slice::<Value>(&bytes)) {
        Ok(Ok(mut json)) => Some(json["value"].take()),
        Ok(Err(error)) => {
            eprintln!("browser: {url} answered something other than JSON: {error}");
            None
        }
        Err(error) => {
            eprintln!("browser: cannot GET {url}: {error}");
            None
        }
    }
}

/// The `openidconnect` client as configured from discovery.
type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What arrived at the relying party's redirect URI.
#[derive(Debug)]
pub struct Callback {
    /// All query parameters (`code`, `state`, `iss`, or `error` ...).
    pub parameters: HashMap<String, String>,
}

impl Callback {
    /// One query parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }
}

/// An authorization request the relying party is waiting to see answered.
pub struct AuthorizationRequest {
    /// The authorize URL to open in the browser.
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

/// A relying party: a confidential client registered with the provider, whose redirect
/// URI is a small HTTP endpoint on a loopback port the system chose (it binds port 0).
/// The endpoint records each authorization response and answers with a page that says
/// "signed in".
pub struct RelyingParty {
    pub client_id: String,
    pub redirect_uri: String,
    client: OidcClient,
    callbacks: mpsc::UnboundedReceiver<Callback>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RelyingParty {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RelyingParty {
    /// Starts the endpoint, registers the client (PKCE required, the default grants and
    /// scopes plus `extra` arguments for `verity client create`) and discovers the
    /// provider.
    pub async fn start(provider: &Provider, extra: &[&str]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirect_uri = format!("http://{}/callback", listener.local_addr().unwrap());
        let (sender, callbacks) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/callback",
            axum::routing::get(move |Query(parameters): Query<HashMap<String, String>>| {
                let signed_in = parameters.contains_key("code");
                // The test may have finished and dropped the receiver; nothing to tell.
                let _ = sender.send(Callback { parameters });
                async move {
                    Html(if signed_in {
                        "<!doctype html><title>Relying party</title><p>signed in</p>"
                    } else {
                        "<!doctype html><title>Relying party</title><p>not signed in</p>"
                    })
                }
            }),
        );
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });

        let mut arguments = vec!["--redirect-uri", redirect_uri.as_str()];
        arguments.extend_from_slice(extra);
        let registered = provider.client(&arguments).await;
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(provider.issuer.clone()).unwrap(),
            &http_client(),
        )
        .await
        .unwrap();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(registered.client_id.clone()),
            registered.client_secret.map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.clone()).unwrap());
        Self {
            client_id: registered.client_id,
            redirect_uri,
            client,
            callbacks,
            server,
        }
    }

    /// A new authorization request (code flow, PKCE S256, a random state and nonce)
    /// for `openid` and `scopes`.
    pub fn authorize(&self, scopes: &[&str]) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        let (url, state, nonce) = request.url();
        AuthorizationRequest {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// The next authorization response that reached the redirect URI.
    pub async fn callback(&mut self) -> Callback {
        tokio::time::timeout(PAGE_TIMEOUT, self.callbacks.recv())
            .await
            .expect("the browser reached the relying party in time")
            .expect("the relying party's endpoint is running")
    }

    /// Exchanges `code` at the token endpoint (authenticating with the client secret)
    /// and verifies the ID token: signature against the published keys, issuer,
    /// audience, expiry and `nonce`. Returns the tokens and the ID token's claims.
    pub async fn exchange(
        &self,
        code: &str,
        request: AuthorizationRequest,
    ) -> (CoreTokenResponse, CoreIdTokenClaims) {
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .unwrap()
            .set_pkce_verifier(request.verifier)
            .request_async(&http_client())
            .await
            .unwrap();
        let claims = tokens
            .id_token()
            .expect("an ID token")
            .claims(&self.client.id_token_verifier(), &request.nonce)
            .expect("an ID token that verifies")
            .clone();
        (tokens, claims)
    }
}

/// A person's first sign-in in Chromium, by the labels and buttons on the pages: a wrong
/// password is refused with the one message for unknown emails and wrong passwords; the
/// right (temporary) one leads to a new password, the authenticator set-up with the
/// secret read off the page, the recovery codes, and on to the relying party, whose code
/// yields an ID token that verifies and says a code was used.
#[tokio::test]
async fn a_first_sign_in_in_chromium_reaches_the_relying_party_with_a_verified_id_token() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let provider = Provider::start().await;
    let mut relying = RelyingParty::start(&provider, &[]).await;
    let ada = provider.person("ada@example.org").await;
    let (email, temporary_password) = (ada.email, ada.password);
    let request = relying.authorize(&["profile", "email"]);

    browser.goto(&request.url).await;
    let sign_in_page = browser.current_url().await;
    assert!(
        sign_in_page.starts_with(&format!("{}/", provider.issuer)),
        "{sign_in_page}"
    );
    browser.fill("Email", &email).await;
    browser.fill("Password", "not the password").await;
    browser.click_button("Sign in").await;
    browser
        .wait_for_text("The email or password is not correct.")
        .await;

    // The form comes back with the email kept; the password is typed again.
    browser.fill("Email", &email).await;
    browser.fill("Password", &temporary_password).await;
    browser.click_button("Sign in").await;

    browser.wait_for_text("Choose a new password").await;
    browser.fill("New password", CHOSEN_PASSWORD).await;
    browser.fill("Confirm new password", CHOSEN_PASSWORD).await;
    browser.click_button("Save password").await;

    browser.wait_for_text("Set up your authenticator app").await;
    browser.fill("Authenticator app name", "Test phone").await;
    let secret: String = browser
        .text_of("#totp-secret")
        .await
        .split_whitespace()
        .collect();
    let code = Authenticator::new(secret).next_code().await;
    browser.fill("Code", &code).await;
    browser.click_button("Verify").await;

    browser.wait_for_text("Your recovery codes").await;
    browser.click_button("Continue").await;

    browser.wait_for_text("signed in").await;
    let callback = relying.callback().await;
    assert!(
        browser
            .current_url()
            .await
            .starts_with(&relying.redirect_uri)
    );
    assert_eq!(callback.get("state"), Some(request.state.secret().as_str()));
    assert_eq!(callback.get("iss"), Some(provider.issuer.as_str()));
    let code = callback.get("code").expect("a code").to_owned();

    let (_tokens, claims) = relying.exchange(&code, request).await;
    assert_eq!(claims.issuer().as_str(), provider.issuer);
    assert_eq!(
        claims.audiences().first().map(|audience| audience.as_str()),
        Some(relying.client_id.as_str())
    );
    assert_eq!(
        claims.email().map(|email| email.as_str()),
        Some("ada@example.org")
    );
    let methods: Vec<String> = claims
        .auth_method_refs()
        .expect("amr in the ID token")
        .iter()
        .map(|method| method.to_string())
        .collect();
    assert_eq!(methods, ["pwd", "otp"]);
    browser.quit().await;
}

/// A page of our own for the tests of the helpers: a form whose fields are labelled both
/// ways (`for` and wrapping), and the page it submits to, which echoes the query.
async fn serve_form() -> (String, tokio::task::JoinHandle<()>) {
    const FORM: &str = r#"<!doctype html><title>Form</title>
        <form method="get" action="/submitted">
          <label for="name">Your  name</label> <input id="name" name="name" value="old">
          <label><input type="checkbox" name="remember"> Remember this device</label>
          <button type="submit">Send</button>
        </form>"#;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/form", axum::routing::get(|| async { Html(FORM) }))
        .route(
            "/submitted",
            axum::routing::get(|query: axum::extract::RawQuery| async move {
                Html(format!(
                    "<!doctype html><title>Submitted</title><p>submitted {}</p>",
                    query.0.unwrap_or_default()
                ))
            }),
        );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, server)
}

/// The helpers find fields as a person does, by their label's text (with the spaces
/// as they are seen), replace what a field held, tick a checkbox, press a button and
/// wait for the page it loads, and take a screenshot on request.
#[tokio::test]
async fn the_browser_helpers_find_fields_by_label_and_submit_forms() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let (base, server) = serve_form().await;
    browser.goto(&format!("{base}/form")).await;
    browser.fill("Your name", "Ada Lovelace").await;
    browser.set_checked("Remember this device", true).await;
    let directory = tempfile::tempdir().unwrap();
    let screenshot = directory.path().join("form").join("filled.png");
    browser.screenshot(&screenshot).await;
    assert!(std::fs::read(&screenshot).unwrap().starts_with(b"\x89PNG"));

    browser.click_button("Send").await;
    assert_eq!(
        browser.text().await,
        "submitted name=Ada+Lovelace&remember=on"
    );
    assert!(
        browser
            .current_url()
            .await
            .starts_with(&format!("{base}/submitted?"))
    );
    assert!(browser.html().await.contains("<title>Submitted</title>"));
    browser.quit().await;
    server.abort();
}

/// The harness itself: a test that panics with a browser open leaves a screenshot and
/// the page's HTML, named after the test, and its browser session ends.
#[tokio::test]
async fn a_failing_browser_test_leaves_a_screenshot_and_ends_its_session() {
    let Some(webdriver_url) = verity_testkit::webdriver_url() else {
        return;
    };
    let (base, server) = serve_form().await;
    let directory = screenshot_directory().unwrap();
    let screenshot = directory.join(format!("{}.png", test_file_stem()));
    let html = screenshot.with_extension("html");
    let _ = std::fs::remove_file(&screenshot);
    let _ = std::fs::remove_file(&html);

    // The failing "test" is a task: on this current-thread runtime it runs on this
    // thread, so it carries this test's name, and its panic ends only the task.
    let (session_sender, session_receiver) = tokio::sync::oneshot::channel();
    let failed = tokio::spawn(async move {
        let browser = BrowserSession::start().await.unwrap();
        browser
            .goto(&format!("{base}/submitted?the+page+at+the+failure"))
            .await;
        session_sender.send(browser.session_id.clone()).unwrap();
        panic!("a deliberate failure, to test the screenshot");
    })
    .await;
    assert!(failed.unwrap_err().is_panic());
    let session_id = session_receiver.await.unwrap();
    server.abort();

    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("submitted the+page+at+the+failure"), "{page}");
    std::fs::remove_file(&screenshot).unwrap();
    std::fs::remove_file(&html).unwrap();

    // The session is gone: chromedriver no longer knows its id.
    let response = http_client()
        .get(format!("{webdriver_url}/session/{session_id}/url"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["value"]["error"], "invalid session id");
}

/// Signs in with email and password on the sign-in page the relying party sent us to.
async fn enter_password(
    browser: &BrowserSession,
    relying: &RelyingParty,
    email: &str,
    password: &str,
) -> AuthorizationRequest {
    let request = relying.authorize(&["email"]);
    browser.goto(&request.url).await;
    browser.fill("Email", email).await;
    browser.fill("Password", password).await;
    browser.click_button("Sign in").await;
    request
}

/// Back at the relying party: exchanges the code and returns the ID token's `amr`.
async fn amr_at_the_relying_party(
    browser: &BrowserSession,
    relying: &mut RelyingParty,
    request: AuthorizationRequest,
) -> Vec<String> {
    browser.wait_for_text("signed in").await;
    let callback = relying.callback().await;
    let code = callback.get("code").expect("a code").to_owned();
    let (_tokens, claims) = relying.exchange(&code, request).await;
    claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|method| method.to_string())
        .collect()
}

/// Logs out on Verity's confirmation page, ticking "Forget this device as trusted
/// environment" or not; `trusted` says whether the box must be ticked already.
async fn log_out(
    browser: &BrowserSession,
    provider: &Provider,
    forget_device: bool,
    trusted: bool,
) {
    browser.goto(&format!("{}/logout", provider.issuer)).await;
    browser.wait_for_text("Do you want to sign out?").await;
    let html = browser.html().await;
    assert_eq!(
        html.contains("checked"),
        trusted,
        "the box is ticked exactly when this browser is trusted"
    );
    browser
        .set_checked("Forget this device as trusted environment", forget_device)
        .await;
    browser.click_button("Confirm").await;
    browser.wait_for_text("You are signed out").await;
}

/// A server on SQLite that sends its mail to a real SMTP server in the test process, and
/// that server.
pub async fn provider_with_mail() -> (Provider, verity_testkit::smtp::Sink) {
    let sink = verity_testkit::smtp::Sink::start();
    let settings = mail_settings(&sink);
    let smtp: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let provider = Provider::start_with(crate::support::Target::sqlite(), &smtp).await;
    (provider, sink)
}

/// The environment that sends Verity's mail (the server's or a command's) to `sink`.
pub fn mail_settings(sink: &verity_testkit::smtp::Sink) -> [(&'static str, String); 4] {
    [
        ("VERITY__SMTP__HOST", "127.0.0.1".to_owned()),
        ("VERITY__SMTP__PORT", sink.port().to_string()),
        ("VERITY__SMTP__TLS", "none".to_owned()),
        (
            "VERITY__SMTP__FROM",
            "Verity <no-reply@verity.test>".to_owned(),
        ),
    ]
}

/// The product's journey end to end in Chromium, with a real SMTP server receiving the
/// mail: the admin creates a person -> the email arrives -> sign-in with the temporary
/// password -> a weak and a breached password refused -> a new password -> the
/// authenticator set up from the secret on the page (a wrong code first) -> the recovery
/// codes -> the relying party's code says `otp` -> logout keeping the device -> the code
/// is asked, "Remember this device" ticked -> the next sign-in skips the code -> logout
/// forgetting the device -> the code is asked again.
#[tokio::test]
async fn the_whole_journey_from_the_email_to_forgetting_the_device() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let (provider, sink) = provider_with_mail().await;
    let mut relying = RelyingParty::start(&provider, &[]).await;
    let email = "ada@example.org";

    // The admin creates the person; the email arrives with the temporary password.
    let created = provider
        .target
        .command()
        .envs(mail_settings(&sink))
        .args([
            "user",
            "create",
            "--org",
            "Default",
            "--email",
            email,
            "--name",
            "Ada Lovelace",
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let mail = sink.wait_for_message(Duration::from_secs(20)).text();
    let temporary = mail
        .lines()
        .find_map(|line| line.trim().strip_prefix("Temporary password:"))
        .expect("the temporary password in the mail")
        .trim()
        .to_owned();

    // First sign-in: a new password (a weak and a breached one refused first).
    let request = enter_password(&browser, &relying, email, &temporary).await;
    browser.wait_for_text("Choose a new password").await;
    for (refused, message) in [
        ("too-short", "at least 12 characters"),
        ("password1234", "common and leaked passwords"),
    ] {
        browser.fill("New password", refused).await;
        browser.fill("Confirm new password", refused).await;
        browser.click_button("Save password").await;
        browser.wait_for_text(message).await;
    }
    browser.fill("New password", CHOSEN_PASSWORD).await;
    browser.fill("Confirm new password", CHOSEN_PASSWORD).await;
    browser.click_button("Save password").await;

    // The authenticator app: a wrong code first, then the right one.
    browser.wait_for_text("Set up your authenticator app").await;
    assert!(browser.text().await.contains("time-based"));
    browser.fill("Authenticator app name", "Ada's phone").await;
    let secret: String = browser
        .text_of("#totp-secret")
        .await
        .split_whitespace()
        .collect();
    browser.fill("Code", "000000").await;
    browser.click_button("Verify").await;
    browser.wait_for_text("That code is not correct").await;
    let mut authenticator = Authenticator::new(secret);
    let code = authenticator.next_code().await;
    browser.fill("Authenticator app name", "Ada's phone").await;
    browser.fill("Code", &code).await;
    browser.click_button("Verify").await;
    browser.wait_for_text("Your recovery codes").await;
    browser.click_button("Continue").await;
    assert_eq!(
        amr_at_the_relying_party(&browser, &mut relying, request).await,
        ["pwd", "otp"]
    );

    // Logout keeping the device (none is trusted yet); the code is asked; remember it.
    log_out(&browser, &provider, false, false).await;
    let request = enter_password(&browser, &relying, email, CHOSEN_PASSWORD).await;
    browser
        .wait_for_text("Enter the code from Ada's phone")
        .await;
    let code = authenticator.next_code().await;
    browser.fill("Code", &code).await;
    browser.set_checked("Remember this device", true).await;
    browser.click_button("Verify").await;
    assert_eq!(
        amr_at_the_relying_party(&browser, &mut relying, request).await,
        ["pwd", "otp"]
    );

    // Logout keeping the device: the next sign-in skips the code.
    log_out(&browser, &provider, false, true).await;
    let request = enter_password(&browser, &relying, email, CHOSEN_PASSWORD).await;
    assert_eq!(
        amr_at_the_relying_party(&browser, &mut relying, request).await,
        ["pwd", "trusted_device"]
    );
    // Verity's own page lists the device as this one.
    browser.goto(&format!("{}/", provider.issuer)).await;
    browser.wait_for_text("Trusted devices").await;
    assert!(browser.text().await.contains("(This device)"));

    // Logout forgetting the device: the code is asked again.
    log_out(&browser, &provider, true, true).await;
    enter_password(&browser, &relying, email, CHOSEN_PASSWORD).await;
    browser
        .wait_for_text("Enter the code from Ada's phone")
        .await;
    browser.quit().await;
}

/// Verity's own page in Chromium lists the person's sessions — this browser marked "This
/// device", another signed in elsewhere — and "Sign out" ends the other one (its browser
/// must sign in again), "Sign out everywhere" ends this one too.
#[tokio::test]
async fn the_sessions_page_signs_out_one_session_and_then_all() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let provider = Provider::start().await;
    let relying = RelyingParty::start(&provider, &[]).await;
    let mut ada = provider.person("ada@example.org").await;
    // Elsewhere: a laptop (the test kit's browser) signs in first and sets up the app.
    let mut laptop = provider
        .browser()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    let query = |request: &AuthorizationRequest| {
        request
            .url
            .split_once('?')
            .map(|(_, query)| query.to_owned())
            .unwrap()
    };
    let back = laptop
        .code_flow(
            &query(&relying.authorize(&[])),
            &mut ada,
            verity_testkit::Device::Forget,
        )
        .await;
    assert!(back.code().is_some(), "{}", back.body);

    // Here: Chromium signs in with the chosen password and a code.
    let request = relying.authorize(&[]);
    browser.goto(&request.url).await;
    browser.fill("Email", &ada.email).await;
    browser.fill("Password", &ada.password).await;
    browser.click_button("Sign in").await;
    let code = ada.next_code().await;
    browser.fill("Code", &code).await;
    browser.click_button("Verify").await;
    browser.wait_for_text("signed in").await;

    browser.goto(&format!("{}/", provider.issuer)).await;
    browser.wait_for_text("Sessions").await;
    let page = browser.text().await;
    assert!(page.contains("Firefox on Linux"), "{page}");
    assert!(page.contains("Chrome on Linux (This device)"), "{page}");
    browser
        .click_button_named("Sign out: Firefox on Linux")
        .await;
    let page = browser.text().await;
    assert!(!page.contains("Firefox on Linux"), "{page}");
    assert!(page.contains("(This device)"), "{page}");
    // The laptop's session is over: its next authorization asks for the password.
    let again = laptop.authorize(&query(&relying.authorize(&[]))).await;
    assert_eq!(again.step(), verity_testkit::Step::SignIn, "{}", again.body);
    let ended = provider.events("session.ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "revoked");

    browser.click_button("Sign out everywhere").await;
    browser.wait_for_text("You are not signed in").await;
    assert_eq!(provider.events("user.sessions.ended").len(), 1);
    browser.quit().await;
}
