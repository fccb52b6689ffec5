//! A browser-like agent for tests: it sends HTTP requests through a [`Transport`], keeps
//! the cookies the server sets, and hands back each answer as a [`Page`].
//!
//! The transport decides where requests go: the router in process (verity-http's own
//! tests, with `tower::ServiceExt::oneshot`) or the real binary over TCP
//! ([`crate::remote::Remote`]). The typed steps of the sign-in journey
//! ([`crate::steps`]) and of the token endpoints ([`crate::oauth`]) are written once on
//! top of it, so both kinds of test read the same.

use std::collections::BTreeMap;
use std::future::Future;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderValue, Method, Request, Response};

use crate::page::Page;

/// Sends one HTTP request and returns the answer, body read in full. A transport that
/// cannot reach the server panics: the test fails there.
pub trait Transport {
    /// Sends `request` (its URI absolute, e.g. `http://127.0.0.1:4000/login`).
    fn send(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send;
}

/// A browser: a transport, the server's base URL, a cookie jar, and optionally a header
/// a proxy would add. It follows no redirect: a test looks at each one.
pub struct Agent<T> {
    transport: T,
    base: String,
    cookies: BTreeMap<String, String>,
    forwarded_for: Option<String>,
    user_agent: Option<String>,
}

impl<T: Transport> Agent<T> {
    /// A browser with no cookies for the server at `base` (scheme, host and port, no
    /// trailing slash: the issuer).
    pub fn new(transport: T, base: impl Into<String>) -> Self {
        Self {
            transport,
            base: base.into().trim_end_matches('/').to_owned(),
            cookies: BTreeMap::new(),
            forwarded_for: None,
            user_agent: None,
        }
    }

    /// Every request carries `X-Forwarded-For: value`, as a proxy in front would add it.
    pub fn forwarded_for(mut self, value: &str) -> Self {
        self.forwarded_for = Some(value.to_owned());
        self
    }

    /// Every request carries `User-Agent: value`.
    pub fn user_agent(mut self, value: &str) -> Self {
        self.user_agent = Some(value.to_owned());
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `target`: a path on the server, or already a URL.
    pub fn url(&self, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            format!("{}{target}", self.base)
        }
    }

    /// The value of cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Whether the browser holds a cookie of this name.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    /// Drops every cookie (a fresh private window on the same machine).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// Sets a cookie as if the server had (a forged or copied cookie).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    /// `GET target` with the browser's cookies.
    pub async fn get(&mut self, target: &str) -> Page {
        let request = self.request(Method::GET, target, Vec::new(), None);
        self.send(request).await
    }

    /// `GET target` without the browser's cookies, keeping none it is sent: a look from
    /// outside the session (polling for readiness, say) that leaves the browser as it was.
    pub async fn peek(&self, target: &str) -> Page {
        let mut request = self.request(Method::GET, target, Vec::new(), None);
        request.headers_mut().remove(COOKIE);
        self.send_without_cookies(request).await
    }

    /// `POST target` with `fields` as a form (`application/x-www-form-urlencoded`) and the
    /// browser's cookies.
    pub async fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_body(fields);
        let request = self.request(
            Method::POST,
            target,
            body.into_bytes(),
            Some("application/x-www-form-urlencoded"),
        );
        self.send(request).await
    }

    /// `POST target` with a raw body of `content_type` and the browser's cookies.
    pub async fn post_raw(&mut self, target: &str, content_type: &str, body: Vec<u8>) -> Page {
        let request = self.request(Method::POST, target, body, Some(content_type));
        self.send(request).await
    }

    /// Sends a request built elsewhere (e.g. with an `Authorization` header), without the
    /// browser's cookies: what a relying party's back channel sends. Cookies it sets are
    /// not kept.
    pub async fn send_without_cookies(&self, request: Request<Bytes>) -> Page {
        Page::from_response(self.transport.send(request).await)
    }

    /// A request to `target` with the browser's headers and cookies.
    ///
    /// # Panics
    ///
    /// When `target` or a header value cannot be part of a request: a broken test.
    #[allow(clippy::panic)]
    pub fn request(
        &self,
        method: Method,
        target: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> Request<Bytes> {
        let mut builder = Request::builder().method(method).uri(self.url(target));
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        if !self.cookies.is_empty() {
            builder = builder.header(COOKIE, self.cookie_header());
        }
        if let Some(value) = &self.forwarded_for {
            builder = builder.header("x-forwarded-for", value);
        }
        if let Some(value) = &self.user_agent {
            builder = builder.header(http::header::USER_AGENT, value);
        }
        match builder.body(Bytes::from(body)) {
            Ok(request) => request,
            Err(error) => panic!("cannot build a request to {target}: {error}"),
        }
    }

    /// Sends `request` and keeps the cookies its answer sets.
    pub async fn send(&mut self, request: Request<Bytes>) -> Page {
        let response = self.transport.send(request).await;
        for value in response.headers().get_all(SET_COOKIE) {
            self.keep_cookie(value);
        }
        Page::from_response(response)
    }

    fn keep_cookie(&mut self, value: &HeaderValue) {
        let Ok(text) = value.to_str() else {
            return;
        };
        let pair = text.split(';').next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let expired = text
            .split(';')
            .any(|attribute| attribute.trim().eq_ignore_ascii_case("Max-Age=0"));
        if value.is_empty() || expired {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `fields` form-encoded.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// `value` percent-encoded for a query string or form.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers every request with the same canned response and remembers the requests.
    struct Canned {
        set_cookies: Vec<&'static str>,
        seen: Mutex<Vec<Request<Bytes>>>,
    }

    impl Transport for &Canned {
        async fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
            self.seen.lock().unwrap().push(request);
            let mut builder = Response::builder().status(200);
            for cookie in &self.set_cookies {
                builder = builder.header(SET_COOKIE, *cookie);
            }
            builder.body(Bytes::from_static(b"ok")).unwrap()
        }
    }

    #[tokio::test]
    async fn cookies_are_kept_sent_back_and_cleared() {
        let canned = Canned {
            set_cookies: vec!["a=1; Path=/; HttpOnly", "b=2; Max-Age=60"],
            seen: Mutex::new(Vec::new()),
        };
        let mut agent = Agent::new(&canned, "http://server.test/");
        agent.get("/first").await;
        assert_eq!(agent.cookie("a"), Some("1"));
        assert_eq!(agent.cookie("b"), Some("2"));
        agent.post("/second", &[("x", "a b&c")]).await;
        let seen = canned.seen.lock().unwrap();
        assert_eq!(seen[0].uri(), "http://server.test/first");
        assert!(seen[0].headers().get(COOKIE).is_none(), "no cookie yet");
        assert_eq!(seen[1].headers()[COOKIE], "a=1; b=2");
        assert_eq!(seen[1].body().as_ref(), b"x=a+b%26c");
        drop(seen);

        agent.keep_cookie(&HeaderValue::from_static("a=; Path=/; Max-Age=0"));
        agent.keep_cookie(&HeaderValue::from_static("b=gone; Max-Age=0"));
        assert!(!agent.has_cookie("a") && !agent.has_cookie("b"));
    }

    #[test]
    fn urls_are_joined_to_the_base_unless_absolute() {
        let canned = Canned {
            set_cookies: Vec::new(),
            seen: Mutex::new(Vec::new()),
        };
        let agent = Agent::new(&canned, "http://server.test");
        assert_eq!(agent.url("/login"), "http://server.test/login");
        assert_eq!(agent.url("https://rp.test/cb"), "https://rp.test/cb");
    }
}
