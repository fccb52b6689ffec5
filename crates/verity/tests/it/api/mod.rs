//! The admin API at `/api/v1` against the real binary (docs/api.md): service clients and
//! admins with tokens carrying `verity:admin`, every endpoint, authorization by role and
//! organization, bad input answered as problem+json with nothing written. Every answer of
//! these tests is checked against the OpenAPI document the server serves
//! ([`contract`]).

mod authorization;
mod bad_input;
mod contract;
mod people;
mod tour;

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::Value;
use verity_testkit::{Device, Person};

use self::contract::Contract;
use crate::provider::{Browser, Provider, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::json_lines;

/// The scope of the admin API.
pub const ADMIN_SCOPE: &str = "verity:admin";

/// A running Verity and the OpenAPI document it serves.
pub struct Server {
    pub provider: Provider,
    pub contract: Arc<Contract>,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts Verity on SQLite with extra environment variables (its configuration).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let provider = Provider::start_with(crate::support::Target::sqlite(), env).await;
        let document = provider.browser().peek("/api/v1/openapi.json").await;
        assert_eq!(document.status, 200, "{}", document.body);
        Self {
            contract: Arc::new(Contract::new(document.json())),
            provider,
        }
    }

    /// Runs `verity ARGS` as the operator and returns its JSON lines.
    pub fn cli(&self, args: &[&str]) -> Vec<Value> {
        let mut args = args.to_vec();
        args.push("--json");
        json_lines(&self.provider.target.ok(&args))
    }

    /// Creates an organization with the CLI.
    pub fn organization(&self, name: &str) -> String {
        self.cli(&["org", "create", name])[0]["org_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a person in `org` with the CLI: their id and what they know.
    pub fn person(&self, org: &str, email: &str) -> (String, Person) {
        let created = self.cli(&[
            "user",
            "create",
            "--org",
            org,
            "--email",
            email,
            "--name",
            "Test Person",
            "--show-password",
        ]);
        let user_id = created[0]["user_id"].as_str().unwrap().to_owned();
        let password = created[0]["temporary_password"].as_str().unwrap();
        (user_id, Person::new(email, password))
    }

    /// The position of the newest event in the log.
    pub fn head(&self) -> u64 {
        let events = json_lines(&self.provider.target.ok(&["events", "export"]));
        events.last().unwrap()["position"].as_u64().unwrap()
    }

    /// A service client registered with `verity:admin` (of `org`, when given) holding
    /// `role` (in `org`), and the API as it calls it.
    pub async fn service(&self, role: &str, org: Option<&str>) -> Api {
        let mut extra = vec!["--grant", "client_credentials", "--scope", ADMIN_SCOPE];
        if let Some(org) = org {
            extra.extend(["--org", org]);
        }
        let client = self.provider.client(&extra).await;
        let mut grant = vec!["role", "grant", "--client", &client.client_id, role];
        if let Some(org) = org {
            grant.extend(["--org", org]);
        }
        self.cli(&grant);
        let api = self.api(Some(self.token(&client, ADMIN_SCOPE).await));
        api.wait_until_served().await;
        api
    }

    /// A `client_credentials` token of `client` for `scope`.
    pub async fn token(&self, client: &RegisteredClient, scope: &str) -> String {
        let answer = self
            .provider
            .browser()
            .client_credentials(&client.basic(), Some(scope))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// A person's access token through `client` (a code-flow client) for `scope`, after
    /// they signed in (the journey they are due: new password, authenticator, code) in
    /// `browser`.
    pub async fn person_token(
        &self,
        client: &RegisteredClient,
        browser: &mut Browser,
        person: &mut Person,
        scope: &str,
    ) -> String {
        let request = client.authorization().with("scope", scope).query();
        let redirect = browser.code_flow(&request, person, Device::Forget).await;
        let code = redirect
            .code()
            .unwrap_or_else(|| panic!("no code: {}", redirect.body));
        let tokens = browser
            .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
            .await;
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        tokens.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// The API as a caller with `token` (none: no `Authorization` header) sees it.
    pub fn api(&self, token: Option<String>) -> Api {
        Api {
            browser: self.provider.browser(),
            token,
            contract: self.contract.clone(),
        }
    }
}

/// One answer of the API.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json answer of `status` whose detail contains `detail`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, detail: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|kind| kind.starts_with("urn:verity:problem:")),
            "{}",
            self.text
        );
        assert!(self.body["title"].is_string());
        let said = self.body["detail"].as_str().unwrap_or_default();
        assert!(said.contains(detail), "expected {detail:?} in {said:?}");
    }
}

/// The admin API as one caller sees it: every answer is checked against the document.
pub struct Api {
    browser: Browser,
    token: Option<String>,
    contract: Arc<Contract>,
}

impl Api {
    pub async fn get(&self, target: &str) -> Answer {
        self.send(Method::GET, target, None).await
    }

    pub async fn post(&self, target: &str, body: Value) -> Answer {
        self.send(
            Method::POST,
            target,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    /// `POST` with no body.
    pub async fn act(&self, target: &str) -> Answer {
        self.send(Method::POST, target, None).await
    }

    pub async fn patch(&self, target: &str, body: Value) -> Answer {
        self.send(
            Method::PATCH,
            target,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    pub async fn delete(&self, target: &str) -> Answer {
        self.send(Method::DELETE, target, None).await
    }

    /// A request with a raw body of `content_type`.
    pub async fn raw(
        &self,
        method: Method,
        target: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.send(method, target, Some((content_type, body))).await
    }

    async fn send(&self, method: Method, target: &str, body: Option<(&str, Vec<u8>)>) -> Answer {
        let (content_type, bytes) = match body {
            Some((content_type, bytes)) => (Some(content_type), bytes),
            None => (None, Vec::new()),
        };
        let mut request = self
            .browser
            .request(method.clone(), target, bytes, content_type);
        request.headers_mut().remove(axum::http::header::COOKIE);
        if let Some(token) = &self.token {
            request
                .headers_mut()
                .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        }
        let page = self.browser.send_without_cookies(request).await;
        let answer = Answer {
            status: page.status,
            body: page.json(),
            text: page.body.clone(),
            headers: page.headers.clone(),
        };
        self.check(&method, target, &answer);
        answer
    }

    /// What every answer must be: never a server error, never cached, and as the
    /// document says (unknown paths and methods: a problem).
    #[track_caller]
    fn check(&self, method: &Method, target: &str, answer: &Answer) {
        assert!(
            answer.status < 500,
            "{method} {target}: a server error: {}",
            answer.text
        );
        assert_eq!(answer.header(CACHE_CONTROL.as_str()), Some("no-store"));
        let path = target.split('?').next().unwrap_or(target);
        let documented = self.contract.template(path).is_some_and(|template| {
            self.contract
                .operations()
                .contains(&(method.as_str().to_owned(), template))
        });
        if !documented {
            assert!(
                matches!(answer.status, 404 | 405),
                "{method} {target} is not in the document, yet answered {}",
                answer.status
            );
            assert_eq!(
                answer.header(CONTENT_TYPE.as_str()),
                Some("application/problem+json")
            );
            return;
        }
        if let Err(why) = self.contract.check(
            method.as_str(),
            path,
            answer.status,
            answer.header(CONTENT_TYPE.as_str()),
            &answer.text,
        ) {
            panic!("the answer breaks the OpenAPI document: {why}");
        }
    }

    /// Waits until the server's read models show what the CLI just wrote (it follows the
    /// log): the caller's client and role.
    pub async fn wait_until_served(&self) {
        for _ in 0..100 {
            if self.get("/api/v1/organizations").await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never let the service client in");
    }
}

/// The client of `browser`'s journeys: a code-flow client that may ask for `verity:admin`.
pub async fn admin_app(server: &Server) -> RegisteredClient {
    server
        .provider
        .client(&["--scope", ADMIN_SCOPE, "--scope", "email"])
        .await
}
