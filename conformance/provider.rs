//! A running Verity for the conformance tests: the real binary on a free port, clients and
//! people registered through the CLI, and a browser that posts the sign-in form.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::{Target, json_lines};

/// Verity serving on a free loopback port.
pub struct Provider {
    pub target: Target,
    pub issuer: String,
    child: Child,
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

pub const REDIRECT_URI: &str = "http://localhost:4000/callback";
pub const POST_LOGOUT_URI: &str = "http://localhost:4000/signed-out";

impl Provider {
    /// Starts Verity on SQLite in a fresh directory.
    pub async fn start() -> Self {
        Self::start_with(Target::sqlite(), &[]).await
    }

    /// Starts Verity on `target`'s store with extra environment variables.
    pub async fn start_with(target: Target, env: &[(&str, &str)]) -> Self {
        target.ok(&["org", "list"]);
        let port = verity_testkit::free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let mut command = target.command();
        command
            .arg("serve")
            .env("VERITY__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let provider = Self {
            target,
            issuer,
            child,
        };
        let http = http_client();
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{}/readyz", provider.issuer)).send().await
                && response.status().is_success()
            {
                return provider;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("Verity did not become ready");
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
        self.wait_until_served(&client.client_id).await;
        client
    }

    /// Waits until the server's read models know the client (it follows the log).
    async fn wait_until_served(&self, client_id: &str) {
        let http = http_client();
        for _ in 0..100 {
            let url = format!(
                "{}/authorize?client_id={client_id}&redirect_uri={REDIRECT_URI}",
                self.issuer
            );
            let response = http.get(url).send().await.unwrap();
            let body = response.text().await.unwrap();
            if !body.contains("not registered") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never saw client {client_id}");
    }

    /// Creates a person; returns email and password.
    pub fn person(&self, email: &str) -> (String, String) {
        let created = json_lines(&self.target.ok(&[
            "user",
            "create",
            "--org",
            "Default",
            "--email",
            email,
            "--name",
            "Ada Lovelace",
            "--json",
            "--show-password",
        ]));
        (
            email.to_owned(),
            created[0]["temporary_password"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }
}

/// An HTTP client that does not follow redirects (a test looks at each one).
pub fn http_client() -> reqwest::Client {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: a cookie jar and form posts, and the person at the keyboard who remembers
/// the password they chose and holds the authenticator app.
pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    people: HashMap<String, Person>,
    /// An `X-Forwarded-For` header sent with every request (as a proxy would add it).
    forwarded_for: Option<String>,
}

/// What the person at the keyboard knows.
#[derive(Default, Clone)]
pub struct Person {
    /// The password they chose at their first sign-in.
    pub password: Option<String>,
    /// The authenticator app's secret (Base32).
    pub secret: Option<String>,
    /// The last time step whose code they used (a code works once).
    pub last_step: Option<u64>,
    /// The recovery codes they were last shown (and wrote down).
    pub recovery_codes: Vec<String>,
}

/// The password the test people choose.
pub const CHOSEN_PASSWORD: &str = "Violet-Harbor-Quartz-7391-Lantern";

/// The current TOTP code for a Base32 secret, skipping steps already used: a code is
/// accepted once, and one step of clock skew lets the next step's code in early.
pub async fn totp_code(secret: &str, last_step: Option<u64>) -> (String, u64) {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .unwrap();
    loop {
        #[allow(clippy::disallowed_methods)] // The person reads the time off their phone.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let current = now / 30;
        let step = match last_step {
            Some(last) if last >= current => last + 1,
            _ => current,
        };
        if step <= current + 1 {
            return (totp.generate(step * 30).to_string(), step);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What a page or redirect looked like.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of a hidden form field, with HTML escapes undone as a browser would.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape_html(&self.body[start..end]))
    }

    /// Whether this is the sign-in form.
    pub fn is_sign_in(&self) -> bool {
        self.status == 200 && self.body.contains("action=\"/login\"")
    }

    /// A query parameter of the redirect.
    pub fn redirect_param(&self, name: &str) -> Option<String> {
        let location = self.location.as_ref()?;
        let query = location.split_once('?')?.1;
        query_param(query, name)
    }
}

/// Undoes the HTML escapes the templates produce.
pub fn unescape_html(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: http_client(),
            cookies: HashMap::new(),
            people: HashMap::new(),
            forwarded_for: None,
        }
    }

    /// A browser whose requests carry `X-Forwarded-For: <value>`.
    pub fn forwarded_for(value: &str) -> Self {
        Self {
            forwarded_for: Some(value.to_owned()),
            ..Self::new()
        }
    }

    fn with_forwarded_for(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.forwarded_for {
            Some(value) => request.header("x-forwarded-for", value),
            None => request,
        }
    }

    /// What the person with `email` knows (shared between browsers of one test).
    pub fn person(&self, email: &str) -> Person {
        self.people.get(email).cloned().unwrap_or_default()
    }

    /// Tells the person at this browser what they know from another one (the same person
    /// on a second device: their password, their authenticator app).
    pub fn knows(&mut self, email: &str, person: Person) {
        self.people.insert(email.to_owned(), person);
    }

    /// Whether the browser holds a cookie of this name.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| value.to_str().unwrap().to_owned());
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            retry_after,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let response = self
            .with_forwarded_for(self.http.get(url))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .with_forwarded_for(self.http.post(url))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Confirms the logout page shown on `page`, ticking "Forget this device as trusted
    /// environment" or not.
    pub async fn confirm_logout(&mut self, issuer: &str, page: &Page, forget_device: bool) -> Page {
        assert!(
            page.body
                .contains("Forget this device as trusted environment"),
            "expected the logout page: {}",
            page.body
        );
        let mut form: Vec<(&str, String)> = vec![("confirm", "yes".into())];
        for name in ["csrf", "client_id", "post_logout_redirect_uri", "state"] {
            if let Some(value) = page.field(name) {
                form.push((name, value));
            }
        }
        if forget_device {
            form.push(("forget_device", "yes".into()));
        }
        let pairs: Vec<(&str, &str)> = form
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        self.post(&format!("{issuer}/logout"), &pairs).await
    }

    /// Submits the sign-in form shown on `page` and walks the journey after it: a new
    /// password instead of the temporary one, the authenticator set-up, the recovery
    /// codes, the code (ticking "Remember this device" when `remember` says so). Returns
    /// the first page that is not a step of the journey (usually the redirect).
    pub async fn sign_in(
        &mut self,
        issuer: &str,
        page: &Page,
        email: &str,
        password: &str,
    ) -> Page {
        self.sign_in_remembering(issuer, page, email, password, true)
            .await
    }

    /// [`Browser::sign_in`], choosing whether to tick "Remember this device".
    pub async fn sign_in_remembering(
        &mut self,
        issuer: &str,
        page: &Page,
        email: &str,
        temporary: &str,
        remember: bool,
    ) -> Page {
        assert!(
            page.is_sign_in(),
            "expected the sign-in form, got {} {}",
            page.status,
            page.body
        );
        let mut person = self.person(email);
        let password = person
            .password
            .clone()
            .unwrap_or_else(|| temporary.to_owned());
        let mut current = self
            .submit(
                issuer,
                page,
                "/login",
                &[("email", email), ("password", &password)],
            )
            .await;
        for _ in 0..6 {
            if current.body.contains("action=\"/login/password\"") {
                current = self
                    .submit(
                        issuer,
                        &current,
                        "/login/password",
                        &[
                            ("new_password", CHOSEN_PASSWORD),
                            ("confirm_password", CHOSEN_PASSWORD),
                        ],
                    )
                    .await;
                person.password = Some(CHOSEN_PASSWORD.to_owned());
            } else if current.body.contains("action=\"/login/totp\"") {
                let secret = current.totp_secret().expect("the secret in text");
                let (code, step) = totp_code(&secret, person.last_step).await;
                person.secret = Some(secret);
                person.last_step = Some(step);
                current = self
                    .submit(
                        issuer,
                        &current,
                        "/login/totp",
                        &[("app_name", "Test phone"), ("code", &code)],
                    )
                    .await;
            } else if current.body.contains("action=\"/login/continue\"") {
                let codes = current.recovery_codes();
                if !codes.is_empty() {
                    person.recovery_codes = codes;
                }
                current = self.submit(issuer, &current, "/login/continue", &[]).await;
            } else if current.body.contains("action=\"/login/mfa\"") {
                let secret = person
                    .secret
                    .clone()
                    .expect("the person has an authenticator");
                let (code, step) = totp_code(&secret, person.last_step).await;
                person.last_step = Some(step);
                let mut fields = vec![("code", code.as_str())];
                if remember {
                    fields.push(("remember_device", "yes"));
                }
                current = self.submit(issuer, &current, "/login/mfa", &fields).await;
            } else {
                break;
            }
        }
        self.people.insert(email.to_owned(), person);
        current
    }

    /// Posts the journey form on `page` to `action` with its tx and csrf and `fields`.
    pub async fn submit(
        &mut self,
        issuer: &str,
        page: &Page,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let tx = page.field("tx").expect("the form's tx");
        let csrf = page.field("csrf").expect("the form's csrf");
        let mut form = vec![("tx", tx.as_str()), ("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(&format!("{issuer}{action}"), &form).await
    }
}

impl Page {
    /// The recovery codes listed on "Your recovery codes", in order (none on other pages).
    pub fn recovery_codes(&self) -> Vec<String> {
        self.body
            .split("<li><code>")
            .skip(1)
            .filter_map(|item| item.split('<').next())
            .map(str::to_owned)
            .collect()
    }

    /// The authenticator secret shown in text on the set-up page (spaces removed).
    pub fn totp_secret(&self) -> Option<String> {
        let marker = "id=\"totp-secret\">";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('<')? + start;
        Some(self.body[start..end].split_whitespace().collect())
    }
}

pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
