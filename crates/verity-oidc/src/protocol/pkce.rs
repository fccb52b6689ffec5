//! Proof Key for Code Exchange (RFC 7636), S256 only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::OAuthError;

/// Checks a `code_challenge` as sent to the authorization endpoint: 43 base64url
/// characters (a SHA-256 digest).
pub fn validate_challenge(challenge: &str, method: Option<&str>) -> Result<(), OAuthError> {
    match method {
        Some("S256") => {}
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method {other:?} is not supported; use S256"
            )));
        }
    }
    let decoded = URL_SAFE_NO_PAD.decode(challenge).ok();
    if challenge.len() != 43 || decoded.map(|bytes| bytes.len()) != Some(32) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the verifier",
        ));
    }
    Ok(())
}

/// Whether `verifier` (43-128 unreserved characters) hashes to `challenge`, compared in
/// constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte));
    if !well_formed {
        return false;
    }
    challenge_of(verifier)
        .as_bytes()
        .ct_eq(challenge.as_bytes())
        .into()
}

/// The S256 `code_challenge` of `verifier`: what a client of Verity (its own console)
/// sends to the authorization endpoint.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_of(verifier), challenge);
        validate_challenge(challenge, Some("S256")).unwrap();
        assert!(verify(verifier, challenge));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            challenge
        ));
        assert!(!verify("short", challenge));
    }

    #[test]
    fn plain_and_malformed_challenges_are_refused() {
        assert!(
            validate_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("plain"))
                .is_err()
        );
        assert!(validate_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None).is_err());
        assert!(validate_challenge("too-short", Some("S256")).is_err());
    }
}
