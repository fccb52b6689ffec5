//! Snapshots of what people and clients see: every page as the server renders it, and
//! the token, introspection, discovery and key-set answers. What differs from run to
//! run (transactions, CSRF tokens, the QR code, secrets, codes, tokens, ids, times,
//! key material) is redacted, so a snapshot changes only when the answer does.
//!
//! `cargo insta review` (or `INSTA_UPDATE=always`) updates them after a deliberate change.

use insta::{assert_json_snapshot, assert_snapshot};
use serde_json::Value;
use verity_testkit::oauth::claims;
use verity_testkit::{Device, Step};

use crate::fixtures::REDIRECT_URI;
use crate::support::{TestApp, tokens};

/// `html` with every value that changes between runs replaced by a placeholder.
fn redact(html: &str) -> String {
    let mut text = html.to_owned();
    for name in ["tx", "csrf", "device", "client_id", "sid"] {
        let marker = format!("name=\"{name}\" value=\"");
        text = replace_after(&text, &marker, "\"", &format!("[{name}]"));
    }
    text = replace_after(&text, "id=\"totp-secret\">", "<", "[secret]");
    text = replace_after(&text, "<li><code>", "<", "[recovery code]");
    text = replace_span(&text, "<svg", "</svg>", "[QR code]");
    redact_times(&redact_dates(&text))
}

/// Replaces every `HH:MM UTC` with `[time] UTC`.
fn redact_times(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" UTC") {
        let before = &rest[..at];
        let is_time = before.len() >= 5
            && before.is_char_boundary(before.len() - 5)
            && before[before.len() - 5..]
                .bytes()
                .enumerate()
                .all(|(index, byte)| {
                    if index == 2 {
                        byte == b':'
                    } else {
                        byte.is_ascii_digit()
                    }
                });
        if is_time {
            out.push_str(&before[..before.len() - 5]);
            out.push_str("[time]");
        } else {
            out.push_str(before);
        }
        out.push_str(" UTC");
        rest = &rest[at + 4..];
    }
    out.push_str(rest);
    out
}

/// Replaces what follows each `marker` up to `end` with `placeholder`.
fn replace_after(text: &str, marker: &str, end: &str, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (before, after) = rest.split_at(at + marker.len());
        out.push_str(before);
        let stop = after.find(end).unwrap_or(after.len());
        out.push_str(placeholder);
        rest = &after[stop..];
    }
    out.push_str(rest);
    out
}

/// Replaces each span from `start` to `end` (both included) with `placeholder`.
fn replace_span(text: &str, start: &str, end: &str, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let stop = after.find(end).map_or(after.len(), |stop| stop + end.len());
        out.push_str(placeholder);
        rest = &after[stop..];
    }
    out.push_str(rest);
    out
}

/// Replaces every date written `YYYY-MM-DD` with `[date]`.
fn redact_dates(text: &str) -> String {
    let is_date = |candidate: &[u8]| {
        candidate.len() == 10
            && candidate
                .iter()
                .enumerate()
                .all(|(index, byte)| match index {
                    4 | 7 => *byte == b'-',
                    _ => byte.is_ascii_digit(),
                })
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes.get(index..index + 10).is_some_and(is_date) {
            out.extend_from_slice(b"[date]");
            index += 10;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn redaction_replaces_what_changes_and_keeps_the_rest() {
    let html = "<input name=\"tx\" value=\"abc\"><input name=\"csrf\" value=\"def\">\
                <p id=\"totp-secret\">ABCD EFGH</p><svg viewBox=\"0 0 1 1\"><path/></svg>\
                <li><code>X1Y2</code></li> Trusted since 2026-12-05, until 2027-01-04";
    assert_eq!(
        redact(html),
        "<input name=\"tx\" value=\"[tx]\"><input name=\"csrf\" value=\"[csrf]\">\
         <p id=\"totp-secret\">[secret]</p>[QR code]\
         <li><code>[recovery code]</code></li> Trusted since [date], until [date]"
    );
}

#[tokio::test]
async fn the_pages_of_a_first_sign_in() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let grace = app
        .person_with_temporary_password("grace@example.org")
        .await;
    let mut browser = app.browser();
    let login = browser.authorize(&client.authorization().query()).await;
    assert_snapshot!("login", redact(&login.body));
    let refused = browser.sign_in(&login, &grace.email, "wrong").await;
    assert_snapshot!("login_refused", redact(&refused.body));
    let password = browser.sign_in(&login, &grace.email, &grace.password).await;
    assert_eq!(password.step(), Step::ChoosePassword);
    let refused = browser.choose_password(&password, "short", "short").await;
    assert_snapshot!("new_password_refused", redact(&refused.body));
    let setup = browser
        .choose_password(
            &password,
            verity_testkit::steps::CHOSEN_PASSWORD,
            verity_testkit::steps::CHOSEN_PASSWORD,
        )
        .await;
    assert_eq!(setup.step(), Step::SetUpAuthenticator);
    assert_snapshot!("totp_setup", redact(&setup.body));
    let mut app_of_grace = verity_testkit::totp::Authenticator::new(setup.totp_secret().unwrap());
    let codes = browser
        .enroll(&setup, "Work phone", &app_of_grace.next_code().await)
        .await;
    assert_eq!(codes.step(), Step::RecoveryCodes);
    assert_snapshot!("recovery_codes", redact(&codes.body));
}

#[tokio::test]
async fn the_pages_of_a_sign_in_with_a_code_or_a_recovery_code() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let login = browser.authorize(&client.authorization().query()).await;
    let asked = browser.sign_in(&login, &ada.email, &ada.password).await;
    assert_snapshot!("mfa", redact(&asked.body));
    let wrong = browser.code(&asked, "999999").await;
    assert_snapshot!("mfa_refused", redact(&wrong.body));
    let used = browser.recovery_code(&asked, &ada.recovery_codes[0]).await;
    assert_eq!(used.step(), Step::RecoveryCodeUsed);
    assert_snapshot!("recovery_used", redact(&used.body));
}

#[tokio::test]
async fn the_logout_and_message_pages() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Remember)
        .await;
    let query = format!(
        "client_id={}&post_logout_redirect_uri={}&state=bye",
        client.client_id,
        verity_testkit::agent::encode(crate::fixtures::POST_LOGOUT_URI)
    );
    let asked = browser.logout(&query).await;
    assert_snapshot!("logout", redact(&asked.body));
    let signed_out = browser.log_out().await;
    assert_snapshot!("signed_out", redact(&signed_out.body));
    let error = browser
        .authorize(&verity_testkit::Authorization::code("no-such-client", REDIRECT_URI).query())
        .await;
    assert_snapshot!("error", redact(&error.body));
}

#[tokio::test]
async fn the_account_page_signed_in_and_out() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app
        .browser()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    assert_snapshot!("home_signed_out", redact(&browser.account().await.body));
    browser
        .code_flow(&client.authorization().query(), &mut ada, Device::Remember)
        .await;
    assert_snapshot!("home_signed_in", redact(&browser.account().await.body));
}

#[tokio::test]
async fn the_token_and_introspection_answers() {
    let app = TestApp::start().await;
    let client = app.confidential_client().await;
    let mut ada = app.enrolled_person("ada@example.org").await;
    let mut browser = app.browser();
    let request = client
        .authorization()
        .with("scope", "openid profile email")
        .with("nonce", "n-0S6");
    let tokens = tokens(
        &mut browser,
        &client,
        &request.query(),
        &mut ada,
        Device::Forget,
    )
    .await;
    assert_json_snapshot!("token_response", tokens, {
        ".access_token" => "[jwt]",
        ".id_token" => "[jwt]",
        ".refresh_token" => "[opaque token]",
    });
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_json_snapshot!("id_token_claims", id_token, {
        ".sub" => "[user id]", ".aud" => "[client id]", ".azp" => "[client id]",
        ".sid" => "[session id]", ".at_hash" => "[hash]", ".org_id" => "[org id]",
        ".iat" => "[time]", ".exp" => "[time]", ".auth_time" => "[time]", ".updated_at" => "[time]",
    });
    let access = tokens["access_token"].as_str().unwrap();
    let introspection = browser.introspect(&client.basic(), access).await.json();
    assert_json_snapshot!("introspection", introspection, {
        ".sub" => "[user id]", ".client_id" => "[client id]", ".aud" => "[client id]",
        ".sid" => "[session id]", ".jti" => "[token id]", ".iat" => "[time]", ".exp" => "[time]",
    });
}

#[tokio::test]
async fn the_discovery_document_and_the_key_set() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let discovery = browser
        .get("/.well-known/openid-configuration")
        .await
        .json();
    assert_json_snapshot!("discovery", discovery);
    let mut keys: Vec<Value> = browser.get("/jwks").await.json()["keys"]
        .as_array()
        .unwrap()
        .clone();
    keys.sort_by_key(|key| key["alg"].as_str().unwrap_or_default().to_owned());
    assert_json_snapshot!("jwks", keys, {
        "[].n" => "[modulus]", "[].x" => "[x]", "[].y" => "[y]",
    });
}
