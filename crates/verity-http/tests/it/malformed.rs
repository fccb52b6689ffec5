//! Malformed requests of every kind, at every route: none is answered 5xx, the protocol's
//! endpoints refuse each with a 4xx, and nothing but a refused sign-in reaches the log. Bodies (invalid UTF-8, broken percent-encoding, repeated
//! or missing fields, JSON, multipart, oversized, control characters), headers (content
//! types, `Authorization`, cookies, `X-Forwarded-For`) and query strings; without a
//! session, and from a browser in the middle of a sign-in (valid transaction and CSRF
//! token, bad everything else).

use axum::http::{Method, Request, header};
use bytes::Bytes;
use verity_testkit::{Agent, Page};

use crate::support::{InProcess, TestApp};

/// Every route that takes a body.
const POSTS: &[&str] = &[
    "/authorize",
    "/devices/forget",
    "/password",
    "/recovery-codes",
    "/sessions/end",
    "/sessions/end-all",
    "/login",
    "/login/password",
    "/login/totp",
    "/login/continue",
    "/login/mfa",
    "/login/recovery",
    "/login/recovery/regenerate",
    "/logout",
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
];

/// Every route that answers GET.
const GETS: &[&str] = &[
    "/authorize",
    "/",
    "/logout",
    "/userinfo",
    "/healthz",
    "/readyz",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/jwks",
    "/static/style.css",
    "/metrics",
];

/// Bodies no form or JSON parser should accept: a content type and the bytes.
fn bad_bodies(tx: &str, csrf: &str) -> Vec<(&'static str, Option<&'static str>, Vec<u8>)> {
    let form = Some("application/x-www-form-urlencoded");
    let valid = format!("tx={tx}&csrf={csrf}");
    vec![
        (
            "no content type",
            None,
            b"email=a@b.org&password=x".to_vec(),
        ),
        ("empty form", form, Vec::new()),
        ("invalid UTF-8", form, vec![0xff, 0xfe, b'=', 0xc3, 0x28]),
        (
            "invalid UTF-8 after the tokens",
            form,
            [valid.as_bytes(), b"&email=\xff\xfe&password=\xc3\x28"].concat(),
        ),
        (
            "broken percent-encoding",
            form,
            b"tx=%zz&csrf=%&email=%".to_vec(),
        ),
        (
            "percent-encoded invalid UTF-8",
            form,
            format!("{valid}&email=%ff%fe&password=%c3%28&code=%ff").into_bytes(),
        ),
        (
            "repeated fields",
            form,
            format!("{valid}&{valid}&email=a@b.org&email=c@d.org&grant_type=a&grant_type=b")
                .into_bytes(),
        ),
        ("no fields but the tokens", form, valid.clone().into_bytes()),
        (
            "control characters",
            form,
            format!("{valid}&email=a%00b%0a@c.org&password=%00&code=%00%01&app_name=%07")
                .into_bytes(),
        ),
        (
            "long values",
            form,
            format!(
                "{valid}&email={}&password={}&code={}&new_password={}",
                "a".repeat(20_000),
                "p".repeat(20_000),
                "1".repeat(5_000),
                "n".repeat(10_000)
            )
            .into_bytes(),
        ),
        ("too large", form, vec![b'a'; 200 * 1024]),
        ("JSON as a form", form, br#"{"email":"a@b.org"}"#.to_vec()),
        ("broken JSON", Some("application/json"), b"{\"a\":".to_vec()),
        (
            "JSON of the wrong shape",
            Some("application/json"),
            b"[1,2,3]".to_vec(),
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"tx\"\r\n\r\n1\r\n--x--".to_vec(),
        ),
        (
            "unknown content type",
            Some("text/plain; charset=\u{0}"),
            b"x".to_vec(),
        ),
        (
            "grant type garbage",
            form,
            b"grant_type=%00&code=&redirect_uri=::&code_verifier=%ff&client_id=%00".to_vec(),
        ),
    ]
}

/// Headers no extractor should trip over.
fn bad_headers() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        (
            "Basic without base64",
            "authorization",
            b"Basic !!!".to_vec(),
        ),
        (
            "Basic without a colon",
            "authorization",
            b"Basic bm8tY29sb24=".to_vec(),
        ),
        (
            "Basic of invalid UTF-8",
            "authorization",
            b"Basic //79".to_vec(),
        ),
        (
            "Bearer without a token",
            "authorization",
            b"Bearer".to_vec(),
        ),
        ("Bearer with two", "authorization", b"Bearer a b".to_vec()),
        (
            "Bearer garbage",
            "authorization",
            b"Bearer \xff\xfe".to_vec(),
        ),
        (
            "an unknown scheme",
            "authorization",
            b"Negotiate abc".to_vec(),
        ),
        (
            "a broken cookie header",
            "cookie",
            b"=;;; __Host-verity_session=\xff; a=b=c; ;".to_vec(),
        ),
        (
            "X-Forwarded-For garbage",
            "x-forwarded-for",
            b"not an ip, \xff".to_vec(),
        ),
        (
            "a content type of bytes",
            "content-type",
            b"\xff\xfe/\x80".to_vec(),
        ),
    ]
}

/// Query strings no parameter parser should accept.
const BAD_QUERIES: &[&str] = &[
    "?%zz",
    "?client_id=a&client_id=b",
    "?client_id=%ff%fe&redirect_uri=%c3%28&response_type=code&scope=openid",
    "?response_type=code&client_id=x&redirect_uri=http://[::1&scope=openid",
    "?id_token_hint=not.a.jwt&post_logout_redirect_uri=%00",
    "?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.&state=%ff",
    "?max_age=-1&prompt=%00&nonce=&ui_locales=%ff",
    "?access_token=%ff",
];

fn request(
    browser: &Agent<InProcess>,
    method: Method,
    target: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    header: Option<(&str, &[u8])>,
) -> Request<Bytes> {
    let mut request = browser.request(method, target, Vec::new(), None);
    *request.body_mut() = Bytes::from(body);
    let headers = request.headers_mut();
    if let Some(content_type) = content_type
        && let Ok(value) = header::HeaderValue::from_bytes(content_type.as_bytes())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some((name, value)) = header {
        let name = header::HeaderName::from_bytes(name.as_bytes()).unwrap();
        // Appended: a browser's own cookie header stays beside a broken one.
        headers.append(name, header::HeaderValue::from_bytes(value).unwrap());
    }
    request
}

/// The protocol's endpoints: what they refuse is a 4xx with an OAuth error or an error
/// page. The sign-in pages answer a person's mistake with the page again (200, its error
/// shown), `POST /logout` takes anything that is not a form as a logout without
/// parameters, and the routes that read no input answer as usual: none of them a 5xx.
const PROTOCOL: &[&str] = &[
    "/authorize",
    "/token",
    "/introspect",
    "/revoke",
    "/userinfo",
];

/// Notes an answer that breaks the rule for its route.
fn check(failures: &mut Vec<String>, route: &str, what: String, page: &Page) {
    let path = route.split('?').next().unwrap_or(route);
    let refused = (400..500).contains(&page.status);
    if page.status >= 500 || (PROTOCOL.contains(&path) && !refused) {
        failures.push(format!(
            "{what}: {} {}",
            page.status,
            first_line(&page.body)
        ));
    }
}

fn first_line(body: &str) -> String {
    body.lines()
        .find(|line| line.contains("error") || line.contains("alert"))
        .unwrap_or(body)
        .chars()
        .take(200)
        .collect()
}

#[tokio::test]
async fn malformed_requests_are_refused_without_a_5xx_and_write_nothing() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let _ada = app.enrolled_person("ada@example.org").await;
    let before = app.all_events().await.len();

    // A browser in the middle of a sign-in: a live transaction and its CSRF token.
    let mut signing_in = app.browser();
    let form = signing_in
        .authorize(&client.authorization().with("state", "s").query())
        .await;
    let (tx, csrf) = (form.tx().unwrap(), form.csrf().unwrap());
    let strangers = app.browser();

    let mut failures = Vec::new();
    for browser in [&strangers, &signing_in] {
        for route in POSTS {
            for (what, content_type, body) in bad_bodies(&tx, &csrf) {
                let sent = request(browser, Method::POST, route, content_type, body, None);
                let page = browser.send_without_cookies(sent).await;
                check(&mut failures, route, format!("POST {route} {what}"), &page);
            }
            for (what, name, value) in bad_headers() {
                let body = format!("tx={tx}&csrf={csrf}&token=x&grant_type=authorization_code");
                let sent = request(
                    browser,
                    Method::POST,
                    route,
                    Some("application/x-www-form-urlencoded"),
                    body.into_bytes(),
                    Some((name, &value)),
                );
                let page = browser.send_without_cookies(sent).await;
                check(&mut failures, route, format!("POST {route} {what}"), &page);
            }
        }
        for route in GETS {
            for query in BAD_QUERIES {
                let target = format!("{route}{query}");
                let sent = request(browser, Method::GET, &target, None, Vec::new(), None);
                let page = browser.send_without_cookies(sent).await;
                check(&mut failures, &target, format!("GET {target}"), &page);
            }
            for (what, name, value) in bad_headers() {
                let sent = request(
                    browser,
                    Method::GET,
                    route,
                    None,
                    Vec::new(),
                    Some((name, &value)),
                );
                let page = browser.send_without_cookies(sent).await;
                check(&mut failures, route, format!("GET {route} {what}"), &page);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} answers were 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing was written: a malformed request is refused before anything is decided.
    let after = app.all_events().await;
    let written: Vec<&str> = after[before..]
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    assert!(
        written
            .iter()
            .all(|event_type| *event_type == "user.signin.failed"),
        "written: {written:?}"
    );
}
