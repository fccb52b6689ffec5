//! The ES256 and EdDSA signers behind [`crate::keys::KeyRing`] (ADR 0003).
//!
//! josekit signs through OpenSSL's EVP interface, which looks the algorithm up in the
//! provider and builds a fresh context for every signature: for P-256 that costs about a
//! sixth of the signature itself. OpenSSL 3.0's Ed25519 signs at about a third of the rate
//! of ed25519-dalek on the same core. So ES256 calls OpenSSL's ECDSA directly, and EdDSA
//! signs with ed25519-dalek; RS256 stays with josekit, whose set-up is lost in the cost of
//! an RSA-2048 private-key operation.
//!
//! Both implement josekit's [`JwsSigner`]: the JWS header and encoding, and every
//! verification, stay josekit's.

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use josekit::JoseError;
use josekit::jws::{self, JwsAlgorithm, JwsSigner};
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::pkey::{PKey, Private};

/// Bytes of each of r and s in a P-256 signature.
const P256_SCALAR_LEN: i32 = 32;

/// ES256: ECDSA on P-256 with SHA-256, the signature as `r || s` (RFC 7518 3.4).
#[derive(Clone)]
pub(crate) struct Es256Signer {
    key: EcKey<Private>,
    kid: String,
}

impl Es256Signer {
    /// From a PKCS#8 DER private key.
    pub(crate) fn from_der(der: &[u8], kid: &str) -> Result<Self, ErrorStack> {
        Ok(Self {
            key: PKey::private_key_from_der(der)?.ec_key()?,
            kid: kid.to_owned(),
        })
    }

    fn sign_digest(&self, message: &[u8]) -> Result<Vec<u8>, ErrorStack> {
        let digest = openssl::sha::sha256(message);
        let signature = EcdsaSig::sign(&digest, &self.key)?;
        let mut encoded = signature.r().to_vec_padded(P256_SCALAR_LEN)?;
        encoded.extend(signature.s().to_vec_padded(P256_SCALAR_LEN)?);
        Ok(encoded)
    }
}

impl JwsSigner for Es256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &jws::ES256
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.sign_digest(message)
            .map_err(|error| JoseError::InvalidSignature(error.into()))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Es256Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// EdDSA with Ed25519 (RFC 8037): deterministic signatures, 64 bytes.
#[derive(Clone)]
pub(crate) struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
    kid: String,
}

impl Ed25519Signer {
    /// From a PKCS#8 DER private key (RFC 8410).
    pub(crate) fn from_der(der: &[u8], kid: &str) -> Result<Self, ed25519_dalek::pkcs8::Error> {
        Ok(Self {
            key: ed25519_dalek::SigningKey::from_pkcs8_der(der)?,
            kid: kid.to_owned(),
        })
    }

    /// The public key it signs for, as the JWK's `x` holds it (raw bytes).
    pub(crate) fn public_key(&self) -> [u8; ed25519_dalek::PUBLIC_KEY_LENGTH] {
        self.key.verifying_key().to_bytes()
    }
}

impl JwsSigner for Ed25519Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &jws::EdDSA
    }

    fn signature_len(&self) -> usize {
        ed25519_dalek::SIGNATURE_LENGTH
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        Ok(self.key.sign(message).to_bytes().to_vec())
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ed25519Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use josekit::jwk::KeyPair;
    use josekit::jws::JwsVerifier;

    use super::*;

    #[test]
    fn es256_signatures_are_r_and_s_and_verify_with_openssl_through_josekit() {
        let pair = jws::ES256.generate_key_pair().unwrap();
        let signer = Es256Signer::from_der(&pair.to_der_private_key(), "k1").unwrap();
        let verifier = jws::ES256
            .verifier_from_jwk(&pair.to_jwk_public_key())
            .unwrap();
        for message in [&b""[..], b"header.payload", &[0xff; 1000]] {
            let signature = signer.sign(message).unwrap();
            assert_eq!(signature.len(), 64);
            verifier.verify(message, &signature).unwrap();
            assert!(verifier.verify(b"another message", &signature).is_err());
        }
        // ECDSA is randomised: two signatures of one message differ.
        assert_ne!(signer.sign(b"m").unwrap(), signer.sign(b"m").unwrap());
    }

    #[test]
    fn ed25519_signatures_are_the_ones_openssl_makes() {
        let pair = jws::EdDSA.generate_key_pair(josekit::jwk::Ed25519).unwrap();
        let der = pair.to_der_private_key();
        let signer = Ed25519Signer::from_der(&der, "k1").unwrap();
        let x = pair.to_jwk_public_key();
        let x = URL_SAFE_NO_PAD
            .decode(x.parameter("x").unwrap().as_str().unwrap())
            .unwrap();
        assert_eq!(signer.public_key().to_vec(), x);
        let openssl = jws::EdDSA.signer_from_der(&der).unwrap();
        let verifier = jws::EdDSA
            .verifier_from_jwk(&pair.to_jwk_public_key())
            .unwrap();
        for message in [&b""[..], b"header.payload", &[0xff; 1000]] {
            // Ed25519 is deterministic (RFC 8032): both libraries must agree to the bit.
            let signature = signer.sign(message).unwrap();
            assert_eq!(signature, openssl.sign(message).unwrap());
            verifier.verify(message, &signature).unwrap();
        }
    }

    #[test]
    fn a_key_of_another_kind_is_refused() {
        let p256 = jws::ES256.generate_key_pair().unwrap().to_der_private_key();
        assert!(Ed25519Signer::from_der(&p256, "k1").is_err());
        let ed25519 = jws::EdDSA
            .generate_key_pair(josekit::jwk::Ed25519)
            .unwrap()
            .to_der_private_key();
        assert!(Es256Signer::from_der(&ed25519, "k1").is_err());
        assert!(Ed25519Signer::from_der(b"not a key", "k1").is_err());
    }

    #[test]
    fn debug_shows_the_kid_and_never_the_key() {
        let der = jws::EdDSA
            .generate_key_pair(josekit::jwk::Ed25519)
            .unwrap()
            .to_der_private_key();
        let shown = format!("{:?}", Ed25519Signer::from_der(&der, "k1").unwrap());
        assert_eq!(shown, "Ed25519Signer { kid: \"k1\", .. }");
    }
}
