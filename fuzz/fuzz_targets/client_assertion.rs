//! `private_key_jwt`: a client assertion checked against the client's registered JWK
//! Set. The first byte picks the input's shape: `s` signs the rest (a header JSON
//! object on the first line, the claims after it) with the registered key, so the
//! claim checks are reached; anything else is the assertion as sent.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use verity_fuzz::{CLIENT_ID, ISSUER, NOW};
use verity_oidc::protocol::client_auth::{
    CLOCK_SKEW, MAX_ASSERTION_LIFETIME, verify_client_assertion,
};

static JWKS: LazyLock<Value> = LazyLock::new(verity_fuzz::client_jwks);

fuzz_target!(|data: &[u8]| {
    let Some(assertion) = verity_fuzz::token(data) else {
        return;
    };
    let token_endpoint = format!("{ISSUER}/token");
    let audiences = [token_endpoint.as_str(), ISSUER];
    if let Ok(verified) = verify_client_assertion(&JWKS, &assertion, CLIENT_ID, &audiences, NOW) {
        assert!(verified.exp > NOW);
        assert!(verified.exp <= NOW + MAX_ASSERTION_LIFETIME + CLOCK_SKEW);
    }
});
