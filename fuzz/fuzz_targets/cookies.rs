//! What a browser's headers carry: each line of the input is one `Cookie` header (and
//! one `X-Forwarded-For` header), read as servers over https and over http read them;
//! the first line is also the `User-Agent` that names a trusted device.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use axum::http::header::{COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use verity_http::TrustedProxies;
use verity_http::inputs::read_cookies;
use verity_oidc::mfa::{device_id_hash, device_label};
use verity_oidc::protocol::tokens::token_digest;

static PROXIES: LazyLock<Option<TrustedProxies>> =
    LazyLock::new(|| TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).ok());

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&byte| byte == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value.clone());
            headers.append("x-forwarded-for", value);
        }
    }
    if let Some(first) = headers.get(COOKIE).cloned() {
        headers.insert(USER_AGENT, first);
    }
    for issuer in ["https://id.example.org", "http://localhost:8080"] {
        let cookies = read_cookies(&headers, issuer);
        if let Some(session) = cookies.session {
            assert!(!session.is_empty());
            let _ = token_digest(session);
        }
        if let Some(device) = cookies.device {
            let _ = device_id_hash(device);
        }
    }
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok());
    assert!(!device_label(user_agent).is_empty());
    if let Some(proxies) = PROXIES.as_ref() {
        let peer = Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        let _ = proxies.client_ip(peer, &headers);
    }
});
