//! `private_key_jwt` client authentication (RFC 7523, OIDC Core 9): a JWT signed with a key
//! from the client's registered JWK Set.

use josekit::jwk::{Jwk, JwkSet};
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

/// Longest lifetime accepted for an assertion, in seconds: `exp - iat`, or `exp - now`
/// when it has no `iat`.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;

/// How far in the future an assertion's `iat` or `nbf` may lie (the client's clock may
/// run ahead of ours), in seconds.
pub const CLOCK_SKEW: i64 = 60;

/// The algorithms an assertion may be signed with: exactly those discovery advertises
/// (`token_endpoint_auth_signing_alg_values_supported`).
pub const ASSERTION_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

fn refused(description: &str) -> OAuthError {
    OAuthError::invalid_client(format!("client assertion refused: {description}"))
}

/// A verifier of `alg` for `jwk`, for the algorithms of [`ASSERTION_ALGS`] only.
fn verifier(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    Some(match alg {
        "RS256" => Box::new(jws::RS256.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(jws::ES256.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(jws::EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    })
}

/// Verifies `assertion` for `client_id` against its registered `jwks` (RFC 7523 3, OIDC
/// Core 9): signed with one of [`ASSERTION_ALGS`] by a registered key; `iss` = `sub` =
/// the client; `aud` one value (a string, or an array of exactly one) that is one of
/// `audiences`; `exp` in the future; `iat` and `nbf`, when present, not beyond
/// [`CLOCK_SKEW`] in the future; at most [`MAX_ASSERTION_LIFETIME`] long; a `jti`.
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
    if !ASSERTION_ALGS.contains(&alg.as_str()) {
        return Err(refused(&format!(
            "alg must be one of {}",
            ASSERTION_ALGS.join(", ")
        )));
    }
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let candidates: Vec<_> = match &kid {
        Some(kid) => set.get(kid),
        None => set.keys(),
    };
    let verified = candidates.into_iter().find_map(|jwk| {
        let verifier = verifier(&alg, jwk)?;
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
    let audience = match claim("aud") {
        Some(Value::String(aud)) => Some(aud),
        Some(Value::Array(list)) => match list.as_slice() {
            [Value::String(aud)] => Some(aud.clone()),
            _ => None,
        },
        _ => None,
    };
    if !audience.is_some_and(|aud| audiences.contains(&aud.as_str())) {
        return Err(refused(
            "aud must be one value: the token endpoint or the issuer",
        ));
    }
    let time = |name: &str| -> Result<Option<i64>, OAuthError> {
        match claim(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| refused(&format!("{name} must be a number of seconds"))),
        }
    };
    let exp = time("exp")?.ok_or_else(|| refused("exp is missing"))?;
    let (iat, nbf) = (time("iat")?, time("nbf")?);
    if exp <= now {
        return Err(refused("it has expired"));
    }
    if iat.is_some_and(|iat| iat > now + CLOCK_SKEW) {
        return Err(refused("iat is in the future"));
    }
    if nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW) {
        return Err(refused("it is not valid yet (nbf)"));
    }
    if exp.saturating_sub(iat.unwrap_or(now)) > MAX_ASSERTION_LIFETIME {
        return Err(refused("it lives too long"));
    }
    let jti = text("jti").ok_or_else(|| refused("jti is missing"))?;
    Ok(VerifiedAssertion { jti, exp })
}

#[cfg(test)]
mod tests {
    use josekit::jws::{JwsHeader, JwsSigner};
    use serde_json::json;

    use super::*;

    const CLIENT: &str = "the-client";
    const TOKEN_ENDPOINT: &str = "https://id.example/token";
    const ISSUER: &str = "https://id.example";
    const NOW: i64 = 1_700_000_000;

    /// A key pair of `alg`: the registered JWK Set and a signer.
    fn key(alg: &str) -> (Value, Box<dyn JwsSigner>) {
        let (public, signer): (Jwk, Box<dyn JwsSigner>) = match alg {
            "RS256" => {
                let pair = jws::RS256.generate_key_pair(2048).unwrap();
                (
                    pair.to_jwk_public_key(),
                    Box::new(
                        jws::RS256
                            .signer_from_jwk(&pair.to_jwk_private_key())
                            .unwrap(),
                    ),
                )
            }
            "PS256" => {
                let pair = jws::PS256.generate_key_pair(2048).unwrap();
                (
                    pair.to_jwk_public_key(),
                    Box::new(
                        jws::PS256
                            .signer_from_jwk(&pair.to_jwk_private_key())
                            .unwrap(),
                    ),
                )
            }
            "ES256" => {
                let pair = jws::ES256.generate_key_pair().unwrap();
                (
                    pair.to_jwk_public_key(),
                    Box::new(
                        jws::ES256
                            .signer_from_jwk(&pair.to_jwk_private_key())
                            .unwrap(),
                    ),
                )
            }
            "EdDSA" => {
                let pair = jws::EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .unwrap();
                (
                    pair.to_jwk_public_key(),
                    Box::new(
                        jws::EdDSA
                            .signer_from_jwk(&pair.to_jwk_private_key())
                            .unwrap(),
                    ),
                )
            }
            other => panic!("no test key for {other}"),
        };
        let mut public = public;
        public.set_key_id("k1");
        (json!({ "keys": [public] }), signer)
    }

    /// Claims of a fresh assertion for [`CLIENT`] to the token endpoint, `claims` added
    /// (a `null` removes one).
    fn sign(signer: &dyn JwsSigner, claims: Value) -> String {
        let mut all = json!({
            "iss": CLIENT, "sub": CLIENT, "aud": TOKEN_ENDPOINT, "jti": "j1",
            "iat": NOW, "exp": NOW + 60,
        });
        for (name, value) in claims.as_object().unwrap() {
            if value.is_null() {
                all.as_object_mut().unwrap().remove(name);
            } else {
                all[name] = value.clone();
            }
        }
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        header.set_token_type("JWT");
        jws::serialize_compact(all.to_string().as_bytes(), &header, signer).unwrap()
    }

    fn verify(jwks: &Value, assertion: &str) -> Result<VerifiedAssertion, String> {
        verify_client_assertion(jwks, assertion, CLIENT, &[TOKEN_ENDPOINT, ISSUER], NOW)
            .map_err(|error| error.error_description)
    }

    #[test]
    fn every_advertised_algorithm_is_accepted_and_nothing_else() {
        let discovery = crate::protocol::discovery::openid_configuration(ISSUER);
        assert_eq!(
            discovery["token_endpoint_auth_signing_alg_values_supported"],
            json!(ASSERTION_ALGS)
        );
        for alg in ASSERTION_ALGS {
            let (jwks, signer) = key(alg);
            let verified = verify(&jwks, &sign(signer.as_ref(), json!({})));
            assert_eq!(
                verified,
                Ok(VerifiedAssertion {
                    jti: "j1".into(),
                    exp: NOW + 60
                }),
                "{alg}"
            );
        }
        let (jwks, signer) = key("PS256");
        let refused = verify(&jwks, &sign(signer.as_ref(), json!({}))).unwrap_err();
        assert!(
            refused.contains("alg must be one of RS256, ES256, EdDSA"),
            "{refused}"
        );
    }

    #[test]
    fn the_audience_is_one_value_the_token_endpoint_or_the_issuer() {
        let (jwks, signer) = key("ES256");
        for aud in [json!(ISSUER), json!([TOKEN_ENDPOINT])] {
            assert!(
                verify(&jwks, &sign(signer.as_ref(), json!({ "aud": aud }))).is_ok(),
                "{aud}"
            );
        }
        for aud in [
            json!([TOKEN_ENDPOINT, "https://elsewhere.example"]),
            json!([ISSUER, TOKEN_ENDPOINT]),
            json!([]),
            json!("https://elsewhere.example"),
            json!(null),
        ] {
            let refused = verify(&jwks, &sign(signer.as_ref(), json!({ "aud": aud }))).unwrap_err();
            assert!(
                refused.contains("aud must be one value"),
                "{aud}: {refused}"
            );
        }
    }

    #[test]
    fn times_are_honoured_with_a_minute_of_skew_and_five_minutes_of_life() {
        let (jwks, signer) = key("ES256");
        let cases = [
            (json!({ "exp": null }), Some("exp is missing")),
            (
                json!({ "exp": NOW as f64 + 60.5 }),
                Some("exp must be a number of seconds"),
            ),
            (json!({ "exp": NOW }), Some("expired")),
            (
                json!({ "iat": NOW + 61, "exp": NOW + 120 }),
                Some("iat is in the future"),
            ),
            (json!({ "iat": NOW + 60, "exp": NOW + 120 }), None),
            (json!({ "nbf": NOW + 61 }), Some("not valid yet")),
            (json!({ "nbf": NOW + 30 }), None),
            (
                json!({ "iat": NOW - 400, "exp": NOW + 100 }),
                Some("lives too long"),
            ),
            (json!({ "iat": NOW - 200, "exp": NOW + 100 }), None),
            (
                json!({ "iat": null, "exp": NOW + 301 }),
                Some("lives too long"),
            ),
            (json!({ "iat": null, "exp": NOW + 300 }), None),
            (json!({ "iat": 0 }), Some("lives too long")),
        ];
        for (claims, refusal) in cases {
            let outcome = verify(&jwks, &sign(signer.as_ref(), claims.clone()));
            match refusal {
                None => assert!(outcome.is_ok(), "{claims}: {outcome:?}"),
                Some(why) => {
                    let refused = outcome.unwrap_err();
                    assert!(refused.contains(why), "{claims}: {refused}");
                }
            }
        }
    }
}
