//! The forms of the sign-in pages and the account page: the `Content-Type` (the input's
//! first line) and the body (the rest), parsed as the handlers parse them, then each
//! field through the parser that reads it: the transaction id, the email address, a
//! new password against the policy, an authenticator code and a recovery code.
#![no_main]

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use verity_domain::Email;
use verity_fuzz::{first_line, now};
use verity_http::inputs::read_form;
use verity_oidc::mfa::{TotpSecret, normalise_recovery_code, recovery_code_hash, verify_code};
use verity_oidc::password_policy::{self, PolicyContext};
use verity_oidc::pending_logins::is_transaction_id;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = first_line(data);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    let Some(form) = read_form(&headers, body) else {
        return;
    };
    let field = |name: &str| form.get(name).unwrap_or_default();
    let _ = is_transaction_id(field("tx"));
    let email = Email::parse(field("email"));
    if let Ok(email) = &email {
        // The normalised address is what the log stores; it must read back as itself.
        assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(email));
    }
    let email = email.or_else(|_| Email::parse("ada@example.org"));
    if let Ok(email) = &email {
        let context =
            PolicyContext::new(email, 12).with_temporary_password(field("current_password"));
        let _ = password_policy::check(field("new_password"), field("confirm_password"), &context);
    }
    let secret = TotpSecret::from_bytes([7; 20]);
    let _ = verify_code(&secret, field("code"), now());
    if let Some(canonical) = normalise_recovery_code(field("recovery_code")) {
        assert!(recovery_code_hash(Uuid::nil(), &canonical).is_some());
    }
    let _ = field("app_name").trim();
});
