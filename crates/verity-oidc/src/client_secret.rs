//! Client ids and client secrets: generating them, hashing a secret for the log, and
//! verifying a presented secret against a client's stored hash in constant time.
//!
//! A client secret is 32 random bytes (256 bits), base64url without padding. Because it is
//! that long and random, it is stored as a plain SHA-256 hash (`sha256:<hex>`) rather than
//! with a slow password hash: nobody can guess through 2^256 candidates, and verifying it
//! costs microseconds instead of the ~16 ms an Argon2id hash would add to every
//! `client_credentials` request. See `docs/adr/0002-client-secret-hashing.md`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use verity_domain::client::SECRET_HASH_PREFIX;
use verity_projection::ClientView;

/// Random bytes in a client id: 128 bits, 32 hex characters.
pub const CLIENT_ID_BYTES: usize = 16;

/// Random bytes in a client secret: 256 bits, 43 characters.
pub const CLIENT_SECRET_BYTES: usize = 32;

/// A fresh client id: lowercase hex, so it needs no escaping anywhere and never starts
/// with a `-` that a command line would take for an option (base64url ids did).
pub fn generate_client_id(rng: &mut impl Rng) -> String {
    let mut bytes = [0_u8; CLIENT_ID_BYTES];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh client secret, to be shown once and stored only as [`hash_client_secret`].
pub fn generate_client_secret(rng: &mut impl Rng) -> String {
    let mut bytes = [0_u8; CLIENT_SECRET_BYTES];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The form in which a secret enters the log: `sha256:` and the lowercase hex SHA-256 of
/// the secret's bytes as presented.
pub fn hash_client_secret(secret: &str) -> String {
    let mut hash = String::with_capacity(SECRET_HASH_PREFIX.len() + 64);
    hash.push_str(SECRET_HASH_PREFIX);
    hash.push_str(&hex_digest(secret));
    hash
}

/// Whether `presented` is the client's secret. The digests are compared in constant time;
/// a client without a secret (public, or `private_key_jwt`) or with a malformed hash never
/// matches.
pub fn verify_client_secret(view: &ClientView, presented: &str) -> bool {
    view.secret_hash
        .as_deref()
        .is_some_and(|stored| matches_secret_hash(stored, presented))
}

/// Whether `presented` is the secret whose [`hash_client_secret`] is `stored` (a client
/// secret, a SCIM token's secret): the digests are compared in constant time, and a
/// malformed stored hash never matches.
pub fn matches_secret_hash(stored: &str, presented: &str) -> bool {
    let Some(stored) = stored.strip_prefix(SECRET_HASH_PREFIX) else {
        return false;
    };
    let computed = hex_digest(presented);
    // Both sides are 64 hex digits of a digest; only a malformed stored hash differs in
    // length, and the length of a digest is no secret.
    stored.len() == computed.len() && bool::from(stored.as_bytes().ct_eq(computed.as_bytes()))
}

/// The lowercase hex SHA-256 of `secret`.
fn hex_digest(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        for nibble in [byte >> 4, byte & 0x0f] {
            hex.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    hex
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use verity_domain::client::{
        ClientSettings, ClientType, GrantType, SigningAlgorithm, TokenEndpointAuthMethod,
        is_secret_hash, is_valid_client_id,
    };

    use super::*;

    fn view(secret_hash: Option<String>) -> ClientView {
        let at = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        ClientView {
            client_id: "wiki".into(),
            client_type: ClientType::Confidential,
            settings: ClientSettings {
                name: "Wiki".into(),
                redirect_uris: vec!["https://wiki.example.org/cb".into()],
                post_logout_redirect_uris: Vec::new(),
                grant_types: vec![GrantType::AuthorizationCode],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                id_token_signed_response_alg: SigningAlgorithm::RS256,
                scopes: vec!["openid".into()],
                require_pkce: false,
                jwks: None,
                backchannel_logout_uri: None,
                org_id: None,
            },
            secret_hash,
            created_at: at,
            updated_at: at,
            secret_rotated_at: None,
        }
    }

    #[test]
    fn the_hash_is_prefixed_hex_sha256_and_valid_for_the_domain() {
        // SHA-256("hello"), a published test value.
        assert_eq!(
            hash_client_secret("hello"),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(is_secret_hash(&hash_client_secret("anything")));
    }

    #[test]
    fn only_the_right_secret_verifies() {
        let client = view(Some(hash_client_secret("s3cret-value")));
        assert!(verify_client_secret(&client, "s3cret-value"));
        assert!(!verify_client_secret(&client, "s3cret-valuE"));
        assert!(!verify_client_secret(&client, ""));
        assert!(!verify_client_secret(&view(None), ""));
        assert!(!verify_client_secret(&view(Some("sha256:abc".into())), ""));
        assert!(!verify_client_secret(
            &view(Some(
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into()
            )),
            "hello"
        ));
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    fn ids_and_secrets_are_url_safe_random_and_long() {
        let mut rng = rand::rng();
        let secret = generate_client_secret(&mut rng);
        assert_eq!(secret.len(), 43);
        assert_ne!(secret, generate_client_secret(&mut rng));
        let client_id = generate_client_id(&mut rng);
        assert_eq!(client_id.len(), 32);
        assert!(
            client_id
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
        );
        assert!(is_valid_client_id(&client_id) && is_valid_client_id(&secret));
        assert!(verify_client_secret(
            &view(Some(hash_client_secret(&secret))),
            &secret
        ));
    }
}
