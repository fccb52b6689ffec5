//! Cookies, by hand: parse the `Cookie` header, build `Set-Cookie` values.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The SSO session cookie.
pub(crate) const SESSION: &str = "verity_session";
/// The trusted-device cookie: a 256-bit random id; only its hash is stored.
pub(crate) const DEVICE: &str = "verity_device";
/// The CSRF cookie of the sign-in form (double submit).
pub(crate) const CSRF: &str = "verity_csrf";

/// The value of cookie `name`, if sent.
pub(crate) fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /, Secure when asked.
pub(crate) fn set(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

/// Adds a `Set-Cookie` header to a response.
pub(crate) fn set_on(response: &mut axum::response::Response, cookie: &str) {
    if let Ok(value) = axum::http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
}
