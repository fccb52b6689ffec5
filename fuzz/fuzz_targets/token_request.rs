//! `/token`, `/introspect` and `/revoke`: the `Authorization: Basic` header (the input's
//! first line) and the form body (the rest), as client authentication reads them, and a
//! PKCE verifier checked against a challenge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_fuzz::first_line;
use verity_oidc::grants::basic_credentials;
use verity_oidc::protocol::Params;
use verity_oidc::protocol::client_auth::JWT_BEARER;
use verity_oidc::protocol::pkce;

/// The challenge of the verifier `dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk` (RFC 7636
/// appendix B).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSxjrcYM";

fuzz_target!(|data: &[u8]| {
    let (header, body) = first_line(data);
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = basic_credentials(header);
    }
    let Ok(params) = Params::parse(body) else {
        return;
    };
    let _ = params.get("grant_type");
    let _ = params.get("client_assertion_type") == Some(JWT_BEARER);
    if let Some(verifier) = params.get("code_verifier") {
        let _ = pkce::verify(verifier, CHALLENGE);
        if let Some(challenge) = params.get("code_challenge") {
            let _ = pkce::verify(verifier, challenge);
            let _ = pkce::validate_challenge(challenge, params.get("code_challenge_method"));
        }
    }
    // A query and a body together: repeats across them are refused, never merged.
    if let Ok(query) = Params::parse(header) {
        let _ = query.merge(params);
    }
});
