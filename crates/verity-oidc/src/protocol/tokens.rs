//! What tokens say: ID token and access token claims, `at_hash`, and the digests opaque
//! tokens (codes, refresh tokens, session ids; made by [`crate::random::token`]) are
//! stored under.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};
use verity_domain::key::SigningAlgorithm;

/// The key an opaque token is stored under: its SHA-256 in hex, so a leaked table holds no
/// usable token.
pub fn token_digest(token: &str) -> String {
    hex_encode(&Sha256::digest(token.as_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `at_hash` (OIDC Core 3.1.3.6): the left half of the hash of the access token, with the
/// hash of the ID token's algorithm (SHA-512 for Ed25519, per the EdDSA convention).
pub fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlgorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(half)
}

/// Who and how a person authenticated, carried from the session into tokens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Authentication {
    /// The user id (the `sub`).
    pub user_id: String,
    /// The SSO session id (`sid`).
    pub sid: String,
    /// When the person authenticated (seconds since the epoch).
    pub auth_time: i64,
    /// Methods used, e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// The authentication context class.
    pub acr: String,
}

/// Inputs of an ID token.
#[derive(Debug, Clone)]
pub struct IdTokenClaims<'a> {
    /// The issuer.
    pub issuer: &'a str,
    /// The client (audience and `azp`).
    pub client_id: &'a str,
    /// The authentication.
    pub authentication: &'a Authentication,
    /// The request's nonce.
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The signing algorithm.
    pub alg: SigningAlgorithm,
    /// Now (seconds since the epoch).
    pub now: i64,
    /// Lifetime in seconds.
    pub lifetime: i64,
    /// Extra claims allowed by the scopes (e.g. name, email).
    pub profile: Map<String, Value>,
}

impl IdTokenClaims<'_> {
    /// The claims object.
    pub fn to_claims(&self) -> Map<String, Value> {
        let authentication = self.authentication;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(authentication.user_id));
        claims.insert("aud".into(), json!(self.client_id));
        claims.insert("azp".into(), json!(self.client_id));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("exp".into(), json!(self.now + self.lifetime));
        claims.insert("auth_time".into(), json!(authentication.auth_time));
        claims.insert("sid".into(), json!(authentication.sid));
        claims.insert("amr".into(), json!(authentication.amr));
        claims.insert("acr".into(), json!(authentication.acr));
        if let Some(nonce) = self.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(access_token) = self.access_token {
            claims.insert("at_hash".into(), json!(at_hash(self.alg, access_token)));
        }
        for (name, value) in &self.profile {
            claims.insert(name.clone(), value.clone());
        }
        claims
    }
}

/// Inputs of an RFC 9068 access token.
#[derive(Debug, Clone)]
pub struct AccessTokenClaims<'a> {
    /// The issuer.
    pub issuer: &'a str,
    /// The subject: a user id, or the client id for `client_credentials`.
    pub subject: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// Granted scopes, space-separated.
    pub scope: &'a str,
    /// A unique id (for revocation).
    pub jti: &'a str,
    /// The grant it belongs to, if any (revoking the grant revokes the token).
    pub grant_id: Option<&'a str>,
    /// The authentication, for tokens issued to a person.
    pub authentication: Option<&'a Authentication>,
    /// Now (seconds since the epoch).
    pub now: i64,
    /// Lifetime in seconds.
    pub lifetime: i64,
}

/// The claim naming the grant an access token belongs to (a private claim).
pub const GRANT_CLAIM: &str = "verity_grant";

impl AccessTokenClaims<'_> {
    /// The claims object.
    pub fn to_claims(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(self.subject));
        claims.insert("aud".into(), json!(self.client_id));
        claims.insert("client_id".into(), json!(self.client_id));
        claims.insert("scope".into(), json!(self.scope));
        claims.insert("jti".into(), json!(self.jti));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("exp".into(), json!(self.now + self.lifetime));
        if let Some(grant_id) = self.grant_id {
            claims.insert(GRANT_CLAIM.into(), json!(grant_id));
        }
        if let Some(authentication) = self.authentication {
            claims.insert("auth_time".into(), json!(authentication.auth_time));
            claims.insert("sid".into(), json!(authentication.sid));
            claims.insert("amr".into(), json!(authentication.amr));
            claims.insert("acr".into(), json!(authentication.acr));
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example_construction() {
        // Left half of SHA-256, base64url: 16 bytes give 22 characters.
        let hash = at_hash(
            SigningAlgorithm::RS256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
        );
        assert_eq!(hash.len(), 22);
        assert_eq!(
            hash,
            URL_SAFE_NO_PAD
                .encode(&Sha256::digest(b"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")[..16])
        );
        assert_eq!(at_hash(SigningAlgorithm::EdDSA, "x").len(), 43);
    }

    #[test]
    fn opaque_tokens_are_distinct_and_stored_by_digest() {
        let first = crate::random::token();
        let second = crate::random::token();
        assert_ne!(first, second);
        assert_eq!(first.len(), 43);
        assert_eq!(token_digest(&first).len(), 64);
        assert_ne!(token_digest(&first), first);
    }
}
