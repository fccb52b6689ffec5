//! The verifiers behind [`crate::keys::KeyRing::verify`], one per published key, built
//! once from its public JWK (the counterpart of [`crate::signers`]).
//!
//! josekit verifies through OpenSSL's EVP interface, which fetches the algorithm and
//! builds a fresh context for every signature, and for ES256 re-encodes the signature as
//! DER first: a third of an ES256 verification went to that set-up, and OpenSSL 3.0's
//! Ed25519 verifies at about half the rate of ed25519-dalek. So ES256 and RS256 verify
//! with ring (already in the tree through rustls; it takes the JWS `r || s` signature as
//! it is) and EdDSA with ed25519-dalek (which also signs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::{Map, Value};
use verity_domain::key::SigningAlgorithm;

/// Bytes of each coordinate of a P-256 point.
const P256_COORDINATE_LEN: usize = 32;

/// A published key, able to verify signatures of its algorithm.
pub(crate) enum Verifier {
    /// ECDSA on P-256 with SHA-256, the signature as `r || s`; the key as an uncompressed
    /// point.
    Es256(UnparsedPublicKey<Vec<u8>>),
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048 to 8192 bits.
    Rs256(RsaPublicKeyComponents<Vec<u8>>),
    /// Ed25519 (RFC 8037).
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl Verifier {
    /// The verifier of `alg` for a public JWK; an error says what is wrong with it.
    pub(crate) fn from_jwk(
        alg: SigningAlgorithm,
        jwk: &Map<String, Value>,
    ) -> Result<Self, String> {
        let member = |name: &str| -> Result<Vec<u8>, String> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the JWK has no {name}"))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| format!("the JWK's {name} is not base64url"))
        };
        let expect = |name: &str, value: &str| -> Result<(), String> {
            if jwk.get(name).and_then(Value::as_str) == Some(value) {
                Ok(())
            } else {
                Err(format!("the JWK's {name} is not {value}"))
            }
        };
        match alg {
            SigningAlgorithm::ES256 => {
                expect("kty", "EC")?;
                expect("crv", "P-256")?;
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != P256_COORDINATE_LEN || y.len() != P256_COORDINATE_LEN {
                    return Err("a P-256 coordinate is not 32 bytes".into());
                }
                let mut point = Vec::with_capacity(1 + 2 * P256_COORDINATE_LEN);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Ok(Self::Es256(UnparsedPublicKey::new(
                    &ECDSA_P256_SHA256_FIXED,
                    point,
                )))
            }
            SigningAlgorithm::RS256 => {
                expect("kty", "RSA")?;
                Ok(Self::Rs256(RsaPublicKeyComponents {
                    n: member("n")?,
                    e: member("e")?,
                }))
            }
            SigningAlgorithm::EdDSA => {
                expect("kty", "OKP")?;
                expect("crv", "Ed25519")?;
                let x: [u8; ed25519_dalek::PUBLIC_KEY_LENGTH] = member("x")?
                    .try_into()
                    .map_err(|_| "an Ed25519 key is not 32 bytes".to_owned())?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(Self::EdDsa)
                    .map_err(|_| "not an Ed25519 public key".into())
            }
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(key) => key.verify(message, signature).is_ok(),
            Self::Rs256(key) => key
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Self::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .and_then(|signature| key.verify_strict(message, &signature))
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use josekit::jwk::KeyPair;
    use josekit::jws::{self, JwsSigner};

    use super::*;

    fn public_members(pair: &impl KeyPair) -> Map<String, Value> {
        pair.to_jwk_public_key().as_ref().clone()
    }

    /// Each verifier accepts what josekit (OpenSSL) signs with the matching private key,
    /// and refuses another message, a changed signature, and another key's signature.
    #[test]
    fn each_verifier_accepts_the_keys_signatures_and_nothing_else() {
        let es256 = jws::ES256.generate_key_pair().unwrap();
        let rs256 = jws::RS256.generate_key_pair(2048).unwrap();
        let eddsa = jws::EdDSA.generate_key_pair(josekit::jwk::Ed25519).unwrap();
        type Case = (SigningAlgorithm, Box<dyn JwsSigner>, Map<String, Value>);
        let cases: [Case; 3] = [
            (
                SigningAlgorithm::ES256,
                Box::new(
                    jws::ES256
                        .signer_from_der(es256.to_der_private_key())
                        .unwrap(),
                ),
                public_members(&es256),
            ),
            (
                SigningAlgorithm::RS256,
                Box::new(
                    jws::RS256
                        .signer_from_der(rs256.to_der_private_key())
                        .unwrap(),
                ),
                public_members(&rs256),
            ),
            (
                SigningAlgorithm::EdDSA,
                Box::new(
                    jws::EdDSA
                        .signer_from_der(eddsa.to_der_private_key())
                        .unwrap(),
                ),
                public_members(&eddsa),
            ),
        ];
        let other = jws::ES256.generate_key_pair().unwrap();
        let other = Verifier::from_jwk(SigningAlgorithm::ES256, &public_members(&other)).unwrap();
        for (alg, signer, jwk) in &cases {
            let verifier = Verifier::from_jwk(*alg, jwk).unwrap();
            for message in [&b""[..], b"header.payload", &[0xff; 1000]] {
                let mut signature = signer.sign(message).unwrap();
                assert!(verifier.verify(message, &signature), "{alg}");
                assert!(!verifier.verify(b"another message", &signature), "{alg}");
                if *alg == SigningAlgorithm::ES256 {
                    assert!(!other.verify(message, &signature));
                }
                signature[0] ^= 1;
                assert!(!verifier.verify(message, &signature), "{alg}");
                assert!(!verifier.verify(message, &[]), "{alg}");
            }
        }
    }

    #[test]
    fn a_jwk_of_another_kind_or_malformed_is_refused() {
        let es256 = public_members(&jws::ES256.generate_key_pair().unwrap());
        let eddsa = public_members(&jws::EdDSA.generate_key_pair(josekit::jwk::Ed25519).unwrap());
        assert!(Verifier::from_jwk(SigningAlgorithm::EdDSA, &es256).is_err());
        assert!(Verifier::from_jwk(SigningAlgorithm::RS256, &es256).is_err());
        assert!(Verifier::from_jwk(SigningAlgorithm::ES256, &eddsa).is_err());
        let mut short = es256.clone();
        short.insert("x".into(), Value::String(URL_SAFE_NO_PAD.encode([1u8; 31])));
        assert!(Verifier::from_jwk(SigningAlgorithm::ES256, &short).is_err());
        let mut broken = es256;
        broken.insert("y".into(), Value::String("not base64url!".into()));
        assert!(Verifier::from_jwk(SigningAlgorithm::ES256, &broken).is_err());
    }
}
