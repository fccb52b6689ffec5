//! Verity's cookies, by hand: their names, the `Cookie` header parsed, `Set-Cookie`
//! values built, and the form tokens bound to a session cookie.
//!
//! When the issuer is https, every cookie is `Secure` and named with the `__Host-` prefix:
//! a browser then keeps it only if this origin set it over https with `Path=/` and no
//! `Domain`, so neither a sibling subdomain nor a plain-http page can plant or overwrite
//! one (RFC 6265bis 4.1.3.2). Only the prefixed names are read then.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use verity_oidc::protocol::tokens::token_digest;

/// One of Verity's cookies: every name Verity sets is in this one list, so no two
/// doors can collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// The SSO session.
    Session,
    /// The trusted device: a 256-bit random id; only its hash is stored.
    Device,
    /// The CSRF token of the sign-in forms (double submit).
    Csrf,
    /// The admin console's session (bound to an SSO session; `verity-admin-http`).
    Console,
    /// The admin console's sign-in in progress: names its state, nonce and PKCE
    /// verifier between the redirect to `/authorize` and the callback.
    ConsoleSignIn,
}

/// The SSO session cookie.
pub(crate) const SESSION: Cookie = Cookie::Session;
/// The trusted-device cookie.
pub(crate) const DEVICE: Cookie = Cookie::Device;
/// The CSRF cookie of the sign-in forms.
pub(crate) const CSRF: Cookie = Cookie::Csrf;

/// How this server names and marks its cookies: `__Host-` and `Secure` over https.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jar {
    https: bool,
}

impl Jar {
    /// The cookies of a server whose issuer is `issuer`.
    pub(crate) fn for_issuer(issuer: &str) -> Self {
        Self {
            https: issuer.starts_with("https://"),
        }
    }

    /// Whether the issuer is https (cookies `Secure` and `__Host-`, HSTS).
    pub fn https(self) -> bool {
        self.https
    }

    /// The name `cookie` has on this server.
    pub fn name(self, cookie: Cookie) -> &'static str {
        match (cookie, self.https) {
            (Cookie::Console, false) => "verity_console",
            (Cookie::Console, true) => "__Host-verity_console",
            (Cookie::ConsoleSignIn, false) => "verity_console_signin",
            (Cookie::ConsoleSignIn, true) => "__Host-verity_console_signin",
            (Cookie::Session, false) => "verity_session",
            (Cookie::Session, true) => "__Host-verity_session",
            (Cookie::Device, false) => "verity_device",
            (Cookie::Device, true) => "__Host-verity_device",
            (Cookie::Csrf, false) => "verity_csrf",
            (Cookie::Csrf, true) => "__Host-verity_csrf",
        }
    }

    /// The value of `cookie`, if the request sent it (under this server's name for it).
    pub fn get(self, headers: &HeaderMap, cookie: Cookie) -> Option<&str> {
        let name = self.name(cookie);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Path=/`, no `Domain`; `Secure`
    /// over https.
    pub fn set(self, cookie: Cookie, value: &str, max_age: i64) -> String {
        let secure = if self.https { "; Secure" } else { "" };
        let name = self.name(cookie);
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    /// A `Set-Cookie` value that deletes the cookie.
    pub fn clear(self, cookie: Cookie) -> String {
        self.set(cookie, "", 0)
    }
}

/// Adds a `Set-Cookie` header to a response.
pub fn set_on(response: &mut axum::response::Response, cookie: &str) {
    if let Ok(value) = axum::http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
}

/// The CSRF token of the forms of Verity's own pages (`form`: which ones) for a session
/// cookie: only a browser holding the cookie can know it, so no cookie an attacker plants
/// can stand in for it, and it ends with the session.
pub fn session_bound_token(session_cookie: &str, form: &str) -> String {
    token_digest(&format!("verity-{form}-csrf:{session_cookie}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_bound_token_is_bound_to_the_session_and_the_form_and_is_not_its_digest() {
        let token = session_bound_token("session-one", "account");
        assert_eq!(token, session_bound_token("session-one", "account"));
        assert_ne!(token, session_bound_token("session-two", "account"));
        assert_ne!(token, session_bound_token("session-one", "logout"));
        // The session is stored under token_digest(cookie): the token must differ.
        assert_ne!(token, token_digest("session-one"));
        assert_eq!(token.len(), 64);
    }

    #[test]
    fn over_https_cookies_are_host_prefixed_and_secure_and_only_those_names_count() {
        let https = Jar::for_issuer("https://id.example.org");
        assert_eq!(
            https.set(SESSION, "v", 60),
            "__Host-verity_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "verity_session=planted".parse().unwrap());
        assert_eq!(https.get(&headers, SESSION), None);
        headers.insert(
            COOKIE,
            "verity_session=planted; __Host-verity_session=real"
                .parse()
                .unwrap(),
        );
        assert_eq!(https.get(&headers, SESSION), Some("real"));

        let http = Jar::for_issuer("http://localhost:8080");
        assert_eq!(
            http.clear(DEVICE),
            "verity_device=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
        assert_eq!(http.get(&headers, SESSION), Some("planted"));
    }
}
