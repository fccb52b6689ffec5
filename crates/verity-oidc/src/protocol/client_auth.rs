//! `private_key_jwt` client authentication (RFC 7523, OIDC Core 9): a JWT signed with a key
//! from the client's registered JWK Set.

use josekit::jwk::JwkSet;
use josekit::jws::{self, JwsVerifier};
use josekit::jwt;
use serde_json::Value;

use super::error::OAuthError;

/// The `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A verified assertion's replay-relevant facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// Its `jti`, to be accepted once.
    pub jti: String,
    /// Its expiry (seconds since the epoch).
    pub exp: i64,
}

/// Longest lifetime accepted for an assertion, in seconds.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;

fn refused(description: &str) -> OAuthError {
    OAuthError::invalid_client(format!("client assertion refused: {description}"))
}

/// Verifies `assertion` for `client_id` against its registered `jwks`: signature, `iss` =
/// `sub` = client, `aud` one of `audiences`, not expired, not too long-lived, with a `jti`.
pub fn verify_client_assertion(
    jwks: &Value,
    assertion: &str,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<VerifiedAssertion, OAuthError> {
    let set = JwkSet::from_bytes(jwks.to_string().as_bytes())
        .map_err(|_| refused("the registered key set is unusable"))?;
    let header = jwt::decode_header(assertion).map_err(|_| refused("not a JWT"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let candidates: Vec<_> = match &kid {
        Some(kid) => set.get(kid),
        None => set.keys(),
    };
    let verified = candidates.into_iter().find_map(|jwk| {
        let verifier: Box<dyn JwsVerifier> = match alg.as_str() {
            "RS256" => Box::new(jws::RS256.verifier_from_jwk(jwk).ok()?),
            "ES256" => Box::new(jws::ES256.verifier_from_jwk(jwk).ok()?),
            "EdDSA" => Box::new(jws::EdDSA.verifier_from_jwk(jwk).ok()?),
            "PS256" => Box::new(jws::PS256.verifier_from_jwk(jwk).ok()?),
            _ => return None,
        };
        jwt::decode_with_verifier(assertion, verifier.as_ref()).ok()
    });
    let Some((payload, _)) = verified else {
        return Err(refused(
            "the signature does not verify with a registered key",
        ));
    };
    let claim = |name: &str| payload.claim(name).cloned();
    let text = |name: &str| claim(name).and_then(|value| value.as_str().map(str::to_owned));
    if text("iss").as_deref() != Some(client_id) || text("sub").as_deref() != Some(client_id) {
        return Err(refused("iss and sub must be the client_id"));
    }
    let audience_ok = match claim("aud") {
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.contains(&aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(refused("aud must be the token endpoint or the issuer"));
    }
    let exp = claim("exp")
        .and_then(|value| value.as_i64())
        .ok_or_else(|| refused("exp is missing"))?;
    if exp <= now {
        return Err(refused("it has expired"));
    }
    if exp - now > MAX_ASSERTION_LIFETIME {
        return Err(refused("it lives too long"));
    }
    let jti = text("jti").ok_or_else(|| refused("jti is missing"))?;
    Ok(VerifiedAssertion { jti, exp })
}
