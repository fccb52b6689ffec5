//! The audit key: an Ed25519 key of its own, neither in the database nor an OIDC key nor
//! the master key. Its private half signs checkpoints and seals snapshots; its public half
//! is what auditors pin, printed as a JWK with its fingerprint (`verity audit key`), and
//! read back from that very text (`--public-key FILE`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Length of an Ed25519 seed (the private key) in bytes.
pub const SEED_LEN: usize = ed25519_dalek::SECRET_KEY_LENGTH;

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The private key text is neither PKCS#8 PEM nor a base64 seed.
    #[error(
        "not an Ed25519 private key: expected PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) \
         or the base64 of 32 random bytes ({0})"
    )]
    Private(String),
    /// The public key text is not the one `verity audit key` prints.
    #[error(
        "not an audit public key: expected the output of `verity audit key` (an Ed25519 JWK) ({0})"
    )]
    Public(String),
}

/// The private audit key. `Debug` shows only its fingerprint.
#[derive(Clone)]
pub struct AuditKey {
    signing: SigningKey,
    public: AuditPublicKey,
}

impl AuditKey {
    /// The key whose seed is these 32 bytes (from a CSPRNG: the caller's random source).
    pub fn from_seed(seed: [u8; SEED_LEN]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let public = AuditPublicKey::from_verifying(signing.verifying_key());
        Self { signing, public }
    }

    /// Reads a key from PKCS#8 PEM (what [`AuditKey::to_pem`] and `openssl genpkey
    /// -algorithm ed25519` write) or from the base64 of its 32-byte seed (e.g.
    /// `openssl rand -base64 32`); surrounding whitespace is ignored.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            let signing = SigningKey::from_pkcs8_pem(text)
                .map_err(|error| KeyError::Private(error.to_string()))?;
            let public = AuditPublicKey::from_verifying(signing.verifying_key());
            return Ok(Self { signing, public });
        }
        let unpadded = text.trim_end_matches('=');
        let decoded = if unpadded.contains(['-', '_']) {
            URL_SAFE_NO_PAD.decode(unpadded)
        } else {
            STANDARD_NO_PAD.decode(unpadded)
        }
        .map_err(|error| KeyError::Private(format!("not PEM, and not base64: {error}")))?;
        let seed: [u8; SEED_LEN] = decoded.try_into().map_err(|decoded: Vec<u8>| {
            KeyError::Private(format!("{SEED_LEN} bytes expected, got {}", decoded.len()))
        })?;
        Ok(Self::from_seed(seed))
    }

    /// The key as PKCS#8 PEM, for its file.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .map_err(|error| KeyError::Private(error.to_string()))
    }

    /// The public half, which auditors pin.
    pub fn public(&self) -> &AuditPublicKey {
        &self.public
    }

    /// Signs `message` (deterministic Ed25519).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; ed25519_dalek::SIGNATURE_LENGTH] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuditKey")
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The public audit key, with its fingerprint: the RFC 7638 JWK thumbprint (SHA-256 of
/// the JWK's required members in lexicographic order), base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditPublicKey {
    verifying: VerifyingKey,
    fingerprint: String,
}

impl AuditPublicKey {
    fn from_verifying(verifying: VerifyingKey) -> Self {
        let x = URL_SAFE_NO_PAD.encode(verifying.as_bytes());
        // RFC 7638 §3.2: exactly these members, in this order, no whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let fingerprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            verifying,
            fingerprint,
        }
    }

    /// The fingerprint auditors compare when they pin the key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key as a JWK (RFC 8037), its fingerprint as `kid`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.verifying.as_bytes()),
            "kid": self.fingerprint,
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// What `verity audit key` prints and `--public-key FILE` reads: a comment line with
    /// the fingerprint, then the JWK on one line.
    pub fn to_text(&self) -> String {
        format!(
            "# Verity audit key. Fingerprint (SHA-256 JWK thumbprint, RFC 7638): {}\n{}\n",
            self.fingerprint,
            self.jwk()
        )
    }

    /// Reads what [`AuditPublicKey::to_text`] wrote (lines starting with `#` are
    /// comments), or the `--json` form of `verity audit key` (`{"jwk": ..., ...}`), or a
    /// bare Ed25519 JWK. A `kid` or `fingerprint` that is not the key's own thumbprint is
    /// refused: the file was edited.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let json: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let value: Value = serde_json::from_str(&json)
            .map_err(|error| KeyError::Public(format!("not JSON: {error}")))?;
        let (jwk, stated_fingerprint) = match value.get("jwk") {
            Some(jwk) => (jwk, value.get("fingerprint").and_then(Value::as_str)),
            None => (&value, None),
        };
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("kty") != Some("OKP") || member("crv") != Some("Ed25519") {
            return Err(KeyError::Public(
                "kty must be OKP and crv Ed25519".to_owned(),
            ));
        }
        let x = member("x").ok_or_else(|| KeyError::Public("no x".to_owned()))?;
        let bytes: [u8; ed25519_dalek::PUBLIC_KEY_LENGTH] = URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| KeyError::Public("x is not 32 bytes of base64url".to_owned()))?;
        let verifying = VerifyingKey::from_bytes(&bytes)
            .map_err(|error| KeyError::Public(format!("x is not a curve point: {error}")))?;
        let key = Self::from_verifying(verifying);
        for stated in [member("kid"), stated_fingerprint].into_iter().flatten() {
            if stated != key.fingerprint {
                return Err(KeyError::Public(format!(
                    "it states the fingerprint {stated}, but its key's fingerprint is {}",
                    key.fingerprint
                )));
            }
        }
        Ok(key)
    }

    /// Whether `signature` is this key's signature of `message` (strict verification:
    /// no malleable or small-order forms).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.verifying.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for AuditPublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuditPublicKey")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey::from_seed([7; SEED_LEN])
    }

    #[test]
    fn the_printed_public_key_reads_back_as_the_same_key() {
        let public = key().public().clone();
        let text = public.to_text();
        assert!(text.contains(public.fingerprint()));
        assert_eq!(AuditPublicKey::from_text(&text).unwrap(), public);
        let json = json!({ "jwk": public.jwk(), "fingerprint": public.fingerprint() });
        assert_eq!(
            AuditPublicKey::from_text(&json.to_string()).unwrap(),
            public
        );
    }

    #[test]
    fn the_fingerprint_is_the_rfc_7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#);
        let public = AuditPublicKey::from_text(&jwk).unwrap();
        assert_eq!(
            public.fingerprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_public_key_file_with_an_edited_fingerprint_or_another_curve_is_refused() {
        let public = key().public().clone();
        let other = AuditKey::from_seed([8; SEED_LEN]);
        let mut jwk = public.jwk();
        jwk["kid"] = Value::String(other.public().fingerprint().to_owned());
        let error = AuditPublicKey::from_text(&jwk.to_string()).unwrap_err();
        assert!(error.to_string().contains("states the fingerprint"));
        let mut jwk = public.jwk();
        jwk["crv"] = Value::String("X25519".into());
        assert!(AuditPublicKey::from_text(&jwk.to_string()).is_err());
        assert!(AuditPublicKey::from_text("# only a comment\n").is_err());
    }

    #[test]
    fn private_keys_read_from_pem_or_a_base64_seed() {
        let key = key();
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(AuditKey::from_text(&pem).unwrap().public(), key.public());
        let seed = base64::engine::general_purpose::STANDARD.encode([7; SEED_LEN]);
        assert_eq!(
            AuditKey::from_text(&format!(" {seed}\n")).unwrap().public(),
            key.public()
        );
        assert!(AuditKey::from_text("c2hvcnQ=").is_err());
        assert!(
            AuditKey::from_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(!format!("{key:?}").contains(&seed));
    }

    #[test]
    fn only_the_key_s_own_signature_verifies() {
        let key = key();
        let signature = key.sign(b"message");
        assert!(key.public().verifies(b"message", &signature));
        assert!(!key.public().verifies(b"massage", &signature));
        let other = AuditKey::from_seed([9; SEED_LEN]);
        assert!(!other.public().verifies(b"message", &signature));
        assert!(!key.public().verifies(b"message", &signature[..63]));
    }
}
