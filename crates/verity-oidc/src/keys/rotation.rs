//! Key generation and the rotation policy: [`plan_rotation`] is pure; given the keys, a
//! freshly generated key and `now`, it returns the commands that publish the new key,
//! activate it, and retire the previous one with a grace period.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use josekit::jwk::KeyPair;
use josekit::jws;
use serde_json::{Map, Value};
use verity_domain::key::SigningAlgorithm;
use verity_domain::key::{SigningKeyCommand, stream};
use verity_projection::{KeyState, Keys};

use super::error::KeyError;
use super::master::{MasterKey, encrypt_private_key};

/// Bits of the RSA keys generated for RS256.
pub const RSA_BITS: u32 = 2048;

/// Default time a retired key stays in the JWKS.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);

/// A key pair just generated: what `key.generated` records.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The key id.
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlgorithm,
    /// The public key: kid, alg, use = sig, kty and the public parameters.
    pub public_jwk: Value,
    /// The PKCS#8 private key, encrypted under the master key (compact JWE).
    pub encrypted_private_key: String,
}

impl GeneratedKey {
    /// The command that records it.
    pub fn generate_command(&self) -> SigningKeyCommand {
        SigningKeyCommand::Generate {
            kid: self.kid.clone(),
            alg: self.alg,
            public_jwk: self.public_jwk.clone(),
            encrypted_private_key: self.encrypted_private_key.clone(),
        }
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// A fresh key id: 32 random hex digits.
pub fn new_kid() -> String {
    crate::random::uuid().simple().to_string()
}

/// Generates a key pair for `alg` (RSA 2048, P-256 or Ed25519) and encrypts its private
/// part under `master`.
pub fn generate(
    alg: SigningAlgorithm,
    kid: &str,
    master: &MasterKey,
) -> Result<GeneratedKey, KeyError> {
    let generate_error = |error: josekit::JoseError| KeyError::Generate {
        alg,
        reason: error.to_string(),
    };
    let (private_der, public) = match alg {
        SigningAlgorithm::RS256 => {
            let pair = jws::RS256
                .generate_key_pair(RSA_BITS)
                .map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
        SigningAlgorithm::ES256 => {
            let pair = jws::ES256.generate_key_pair().map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
        SigningAlgorithm::EdDSA => {
            let pair = jws::EdDSA
                .generate_key_pair(josekit::jwk::Ed25519)
                .map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
    };
    Ok(GeneratedKey {
        kid: kid.to_owned(),
        alg,
        public_jwk: public_jwk(public.as_ref(), kid, alg),
        encrypted_private_key: encrypt_private_key(master, kid, &private_der)?,
    })
}

/// A JWKS entry: kty, use, alg, kid, then the public parameters of `members`; private
/// members are never copied.
fn public_jwk(members: &Map<String, Value>, kid: &str, alg: SigningAlgorithm) -> Value {
    let mut jwk = Map::new();
    jwk.insert(
        "kty".into(),
        members.get("kty").cloned().unwrap_or_default(),
    );
    jwk.insert("use".into(), Value::String("sig".into()));
    jwk.insert("alg".into(), Value::String(alg.as_str().into()));
    jwk.insert("kid".into(), Value::String(kid.into()));
    for member in ["crv", "x", "y", "n", "e"] {
        if let Some(value) = members.get(member) {
            jwk.insert(member.into(), value.clone());
        }
    }
    Value::Object(jwk)
}

/// One command of a plan: what to ask of which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStep {
    /// The key.
    pub kid: String,
    /// What to ask of it.
    pub command: SigningKeyCommand,
}

impl KeyStep {
    /// The key's stream.
    pub fn stream(&self) -> String {
        stream(&self.kid)
    }
}

/// The rotation policy, pure: the commands that rotate `new_key.alg` to `new_key`, to be
/// executed in order.
///
/// 1. Generate: the new key is published in the JWKS before it signs anything.
/// 2. Activate: it signs from now on.
/// 3. Retire every previously active key of the algorithm, kept in the JWKS until
///    `now + grace`, so that tokens it signed stay verifiable until then.
///
/// With no active key (first start), the plan is generate and activate.
pub fn plan_rotation(
    keys: &Keys,
    new_key: &GeneratedKey,
    now: DateTime<Utc>,
    grace: Duration,
) -> Vec<KeyStep> {
    let mut steps = vec![
        KeyStep {
            kid: new_key.kid.clone(),
            command: new_key.generate_command(),
        },
        KeyStep {
            kid: new_key.kid.clone(),
            command: SigningKeyCommand::Activate,
        },
    ];
    let keep_until = now + grace.max(Duration::zero());
    steps.extend(
        keys.list()
            .into_iter()
            .filter(|key| key.alg == new_key.alg && key.kid != new_key.kid)
            .filter(|key| matches!(key.state, KeyState::Active { .. }))
            .map(|key| KeyStep {
                kid: key.kid.clone(),
                command: SigningKeyCommand::Retire { keep_until },
            }),
    );
    steps
}
