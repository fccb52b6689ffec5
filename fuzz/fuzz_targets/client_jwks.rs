//! A client's JWK Set, as `verity client register --jwks-file` reads it: JSON, checked by
//! the client aggregate when the client is registered, then used to verify an assertion
//! signed with the targets' key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use verity_domain::client::{Client, ClientCommand, ClientType};
use verity_domain::{Actor, Aggregate, Context};
use verity_fuzz::{CLIENT_ID, ISSUER, NOW, client_settings, now, sign};
use verity_oidc::protocol::client_auth::verify_client_assertion;

fuzz_target!(|data: &[u8]| {
    let Ok(jwks) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let context = Context {
        now: now(),
        actor: Actor::System,
        request_id: None,
        client_ip: None,
    };
    let command = ClientCommand::Register {
        client_id: CLIENT_ID.to_owned(),
        client_type: ClientType::Confidential,
        settings: client_settings(Some(jwks.clone())),
        secret_hash: None,
    };
    if Client::default().decide(&command, &context).is_err() {
        return;
    }
    let claims = serde_json::json!({
        "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": ISSUER, "jti": "j", "exp": NOW + 60,
    });
    let Some(assertion) = sign(br#"{"kid":"fuzz-key"}"#, claims.to_string().as_bytes()) else {
        return;
    };
    let _ = verify_client_assertion(&jwks, &assertion, CLIENT_ID, &[ISSUER], NOW);
});
