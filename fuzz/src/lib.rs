//! What the fuzz targets share: a registered client, a key that signs what a target
//! wants signed (so the checks after a signature are reached, not only the parsing
//! before it), and the small framing some targets give their input.
//!
//! Every target calls Verity's own parsers; nothing here parses what they parse.

use chrono::{DateTime, Utc};
use josekit::jwk::Jwk;
use josekit::jws::{self, EdDSA, JwsHeader};
use serde_json::{Map, Value};
use verity_domain::RecordedEvent;
use verity_domain::client::{ClientSettings, ClientType, GrantType, TokenEndpointAuthMethod};
use verity_domain::key::{KEY_GENERATED, KeyGenerated, SigningAlgorithm};
use verity_oidc::keys::KeyRing;
use verity_projection::{ClientView, Keys, Projection};

/// The issuer the targets' server has.
pub const ISSUER: &str = "https://id.example.org";
/// The registered client's id.
pub const CLIENT_ID: &str = "fuzz-client";
/// Its one redirect URI.
pub const REDIRECT_URI: &str = "https://app.example.org/callback";
/// The key id of [`signing_key`]'s public half, in the client's JWK Set and in the ring.
pub const KID: &str = "fuzz-key";
/// The time the targets check against (2026-11-28T10:00:00Z).
pub const NOW: i64 = 1_795_860_000;

/// The fixed private key of the fuzz targets (never a real key): an Ed25519 seed in
/// PKCS#8 DER, so runs and crash reproductions are deterministic.
fn signing_key_der() -> Vec<u8> {
    // PKCS#8 for Ed25519: the fixed prefix, then the 32-byte seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend((0u8..32).map(|byte| byte.wrapping_mul(7).wrapping_add(3)));
    der
}

/// The public JWK of the targets' key (with `kid` and `alg`), or `None` if josekit cannot
/// read the fixed key (then the target has nothing to check).
pub fn public_jwk() -> Option<Jwk> {
    let pair = EdDSA.key_pair_from_der(signing_key_der()).ok()?;
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id(KID);
    jwk.set_algorithm("EdDSA");
    Some(jwk)
}

/// The client's JWK Set: the targets' public key.
pub fn client_jwks() -> Value {
    let keys: Vec<Value> = public_jwk()
        .map(|jwk| Value::Object(jwk.as_ref().clone()))
        .into_iter()
        .collect();
    serde_json::json!({ "keys": keys })
}

/// A compact JWS over `payload` with `header`'s members (its `alg` forced to EdDSA),
/// signed with the targets' key; `None` when the input does not make a JSON object.
pub fn sign(header: &[u8], payload: &[u8]) -> Option<String> {
    let members: Map<String, Value> = serde_json::from_slice(header).ok()?;
    let mut header = JwsHeader::from_map(members).ok()?;
    header.set_algorithm("EdDSA");
    let signer = jws::EdDSA.signer_from_der(signing_key_der()).ok()?;
    jws::serialize_compact(payload, &header, &signer).ok()
}

/// A client registered with the targets' key, for `private_key_jwt`, the authorization
/// code and refresh grants, and scopes `openid`, `email` and `profile`.
pub fn client() -> ClientView {
    ClientView {
        client_id: CLIENT_ID.to_owned(),
        client_type: ClientType::Confidential,
        settings: client_settings(Some(client_jwks())),
        secret_hash: None,
        created_at: now(),
        updated_at: now(),
        secret_rotated_at: None,
    }
}

/// The settings of [`client`], with `jwks` as its key set.
pub fn client_settings(jwks: Option<Value>) -> ClientSettings {
    ClientSettings {
        name: "Fuzz".to_owned(),
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        post_logout_redirect_uris: vec!["https://app.example.org/bye".to_owned()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
        id_token_signed_response_alg: SigningAlgorithm::EdDSA,
        scopes: vec![
            "openid".to_owned(),
            "email".to_owned(),
            "profile".to_owned(),
        ],
        require_pkce: true,
        jwks,
        backchannel_logout_uri: None,
        org_id: None,
    }
}

/// [`NOW`] as a time.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap_or_default()
}

/// A key ring that verifies with the targets' key, built as the server builds it: from
/// the `key.generated` event folded into the keys read model.
pub fn verifying_ring() -> Option<KeyRing> {
    let generated = KeyGenerated {
        kid: KID.to_owned(),
        alg: SigningAlgorithm::EdDSA,
        public_jwk: Value::Object(public_jwk()?.as_ref().clone()),
        encrypted_private_key: String::new(),
        generated_at: now(),
    };
    let mut keys = Keys::default();
    keys.apply(&RecordedEvent {
        position: 1,
        stream: verity_domain::key::stream(KID),
        version: 1,
        event_type: KEY_GENERATED.to_owned(),
        schema: 1,
        data: serde_json::to_string(&generated).ok()?,
        metadata: "{}".to_owned(),
        recorded_at: now(),
        hash: String::new(),
    })
    .ok()?;
    KeyRing::verifying_every_key(&keys).ok()
}

/// The compact JWS a target checks, from its input: after a first byte `s`, a header
/// JSON object on the first line and the payload after it, signed with the targets' key
/// (so the checks after the signature are reached); otherwise the input as sent.
pub fn token(data: &[u8]) -> Option<String> {
    match data.split_first() {
        Some((b's', rest)) => {
            let (header, payload) = first_line(rest);
            sign(header, payload)
        }
        _ => std::str::from_utf8(data).ok().map(str::to_owned),
    }
}

/// Splits `data` at its first newline: a line (a header, a selector) and the rest.
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&byte| byte == b'\n') {
        Some(at) => (
            data.get(..at).unwrap_or_default(),
            data.get(at + 1..).unwrap_or_default(),
        ),
        None => (data, &[]),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use verity_oidc::protocol::client_auth::verify_client_assertion;

    use super::*;

    fn claims() -> String {
        serde_json::json!({
            "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": format!("{ISSUER}/token"),
            "jti": "1", "exp": NOW + 100, "iat": NOW,
        })
        .to_string()
    }

    #[test]
    fn what_the_targets_sign_passes_the_signature_checks() {
        let token = sign(br#"{"kid":"fuzz-key"}"#, claims().as_bytes()).unwrap();
        let verified = verify_client_assertion(
            &client_jwks(),
            &token,
            CLIENT_ID,
            &[&format!("{ISSUER}/token")],
            NOW,
        )
        .unwrap();
        assert_eq!(verified.jti, "1");
        let ring = verifying_ring().unwrap();
        assert_eq!(ring.verify(&token).unwrap()["sub"], CLIENT_ID);
        // Another key's signature does not pass.
        let mut forged = token.clone();
        forged.truncate(token.len() - 4);
        forged.push_str("AAAA");
        assert!(ring.verify(&forged).is_err());
    }

    #[test]
    fn the_seeds_hold_the_targets_public_key() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/client_jwks/ed25519");
        let seeded: Value = serde_json::from_str(&std::fs::read_to_string(seeds).unwrap()).unwrap();
        assert_eq!(seeded, client_jwks());
    }

    #[test]
    fn every_target_has_small_seeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let targets: Vec<&str> = manifest
            .lines()
            .filter_map(|line| line.strip_prefix("name = \""))
            .filter_map(|rest| rest.strip_suffix('"'))
            .filter(|name| *name != "verity-fuzz")
            .collect();
        assert!(targets.len() >= 11, "{targets:?}");
        for target in targets {
            assert!(
                root.join("fuzz_targets")
                    .join(format!("{target}.rs"))
                    .is_file()
            );
            let seeds: Vec<_> = std::fs::read_dir(root.join("corpus").join(target))
                .unwrap()
                .map(|entry| entry.unwrap().metadata().unwrap().len())
                .collect();
            assert!(!seeds.is_empty(), "{target} has no seed");
            assert!(
                seeds.iter().all(|&size| size <= 16 * 1024),
                "{target}: {seeds:?}"
            );
        }
    }

    #[test]
    fn the_first_line_is_split_off() {
        assert_eq!(first_line(b"a\nb\nc"), (&b"a"[..], &b"b\nc"[..]));
        assert_eq!(first_line(b"a"), (&b"a"[..], &b""[..]));
    }
}
