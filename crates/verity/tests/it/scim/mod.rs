//! SCIM 2.0 provisioning at `/scim/v2` (docs/scim.md), against the real binary: the
//! User resource, filters, paging and attribute selection ([`resources`]), the errors
//! and bad input that change nothing ([`errors`]), who may call and what ends access
//! ([`access`]), and an independent SCIM client library driving it all ([`library`]).

mod access;
mod errors;
mod library;
mod resources;

use reqwest::Method;
use serde_json::Value;
use verity_testkit::Person;
use verity_testkit::smtp::ReceivedMail;

use crate::provider::{Provider, http_client};
use crate::support::json_lines;

/// SCIM's media type.
pub const SCIM_JSON: &str = "application/scim+json";

/// Verity serving SCIM, with a token of the Default organization.
pub struct Scim {
    pub provider: Provider,
    /// `<issuer>/scim/v2`.
    pub url: String,
    /// A live token of the Default organization.
    pub token: String,
}

/// One SCIM answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON (`Null` when empty).
    pub json: Value,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts a SCIM error body (RFC 7644 §3.12) with `status` and `scim_type`, sent as
    /// `application/scim+json`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{:?}", self.json);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some(SCIM_JSON),
            "{self:?}"
        );
        assert_eq!(
            self.json["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.json["status"], status.to_string().as_str());
        assert!(
            self.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{:?}",
            self.json
        );
        match scim_type {
            Some(scim_type) => assert_eq!(self.json["scimType"], scim_type, "{:?}", self.json),
            None => assert!(self.json.get("scimType").is_none(), "{:?}", self.json),
        }
    }

    /// The ids of a list answer's resources.
    pub fn ids(&self) -> Vec<String> {
        self.json["Resources"]
            .as_array()
            .map(|resources| {
                resources
                    .iter()
                    .map(|resource| resource["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Scim {
    /// Verity on SQLite with a SCIM token of the Default organization.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// The same with extra environment variables (its configuration).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let provider = Provider::start_with(crate::support::Target::sqlite(), env).await;
        let url = format!("{}/scim/v2", provider.issuer);
        let mut scim = Self {
            provider,
            url,
            token: String::new(),
        };
        scim.token = scim.token_of("Default", &[]).await;
        scim
    }

    /// A new token of `org` (`verity scim token create --org ORG --json EXTRA`), once the
    /// server has seen it.
    pub async fn token_of(&self, org: &str, extra: &[&str]) -> String {
        let mut args = vec!["scim", "token", "create", "--org", org, "--json"];
        args.extend_from_slice(extra);
        let created = json_lines(&self.provider.target.ok(&args));
        self.provider.caught_up().await;
        created[0]["token"].as_str().unwrap().to_owned()
    }

    /// A new organization.
    pub fn organization(&self, name: &str) {
        self.provider.target.ok(&["org", "create", name]);
    }

    /// `method path` with `token` (none: no `Authorization`) and a JSON body.
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = http_client().request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", SCIM_JSON)
                .body(body.to_string());
        }
        self.answer(request).await
    }

    /// Sends a request built by the caller.
    pub async fn answer(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    /// `method path` with the Default organization's token.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        self.send_as(Some(&self.token), method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a person and returns their User resource (asserting 201).
    pub async fn create(&self, user: &Value) -> Value {
        let created = self.post("/Users", user).await;
        assert_eq!(created.status, 201, "{:?}", created.json);
        created.json
    }

    /// The people a filter finds.
    pub async fn filter(&self, filter: &str) -> Answer {
        let request = http_client()
            .get(format!("{}/Users", self.url))
            .bearer_auth(&self.token)
            .query(&[("filter", filter)]);
        self.answer(request).await
    }

    /// How many events the log holds: a refused request adds none.
    pub fn event_count(&self) -> usize {
        self.provider
            .target
            .ok(&["events", "export"])
            .lines()
            .count()
    }

    /// The temporary-password emails in the outbox (no SMTP server is configured).
    pub fn outbox(&self) -> Vec<ReceivedMail> {
        let outbox = self.provider.target.dir.path().join("data").join("outbox");
        let Ok(entries) = std::fs::read_dir(outbox) else {
            return Vec::new();
        };
        entries
            .map(|entry| ReceivedMail {
                from: String::new(),
                to: Vec::new(),
                raw: std::fs::read_to_string(entry.unwrap().path()).unwrap(),
            })
            .collect()
    }

    /// The person `address` as their temporary-password email lets them sign in.
    pub fn invited(&self, address: &str) -> Person {
        let mail = self
            .outbox()
            .into_iter()
            .find(|mail| {
                mail.header("To")
                    .is_some_and(|to| to.contains(&format!("<{address}>")))
            })
            .unwrap_or_else(|| panic!("no email to {address}"));
        let text = mail.text();
        let password = text
            .lines()
            .find_map(|line| line.strip_prefix("Temporary password:"))
            .unwrap_or_else(|| panic!("no temporary password in:\n{text}"))
            .trim();
        Person::new(address, password)
    }
}

/// A User resource with the core schema.
pub fn user(user_name: &str, display_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "displayName": display_name,
    })
}

/// A PATCH request with `operations`.
pub fn patch_op(operations: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    })
}
