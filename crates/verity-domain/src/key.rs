//! Signing keys: generated (published in the JWKS), activated (signing), retired (kept
//! in the JWKS until a grace period ends, so tokens signed before stay verifiable).
//!
//! The private part never enters the log in clear: the aggregate accepts it only as a
//! compact JWE (encrypted under the master key by the engine, which this crate knows
//! nothing of), and refuses a public JWK that carries private parameters.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Context};
use crate::event::domain_events;

/// The prefix of signing-key streams.
pub const STREAM_PREFIX: &str = "key-";

/// The stream of the key with this key id.
pub fn stream(kid: &str) -> String {
    format!("{STREAM_PREFIX}{kid}")
}

/// Longest key id accepted.
pub const MAX_KID: usize = 64;

/// Stored type name of [`KeyGenerated`].
pub const KEY_GENERATED: &str = "key.generated";
/// Stored type name of [`KeyActivated`].
pub const KEY_ACTIVATED: &str = "key.activated";
/// Stored type name of [`KeyRetired`].
pub const KEY_RETIRED: &str = "key.retired";

/// JWK members that hold private key material (RFC 7518 section 6): none may appear in
/// a public key.
pub const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The JWS algorithms Verity signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// EdDSA on Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// Every algorithm, in the order keys are listed.
    pub const ALL: [Self; 3] = [Self::RS256, Self::ES256, Self::EdDSA];

    /// The JWA name (`RS256`, `ES256`, `EdDSA`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A name that is not one of [`SigningAlgorithm::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm {0:?} (expected RS256, ES256 or EdDSA)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// What can be asked of a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeyCommand {
    /// Record a freshly generated key pair. It is published (JWKS) but does not sign yet.
    Generate {
        /// The key id: 1 to [`MAX_KID`] characters of `A-Z a-z 0-9 - _`.
        kid: String,
        /// What it signs with.
        alg: SigningAlgorithm,
        /// The public key as a JWK object, with `kid` and `alg` equal to the above.
        public_jwk: serde_json::Value,
        /// The private key as a compact JWE under the master key.
        encrypted_private_key: String,
    },
    /// Start signing with it.
    Activate,
    /// Stop signing with it; it stays published until `keep_until`.
    Retire {
        /// When it leaves the JWKS.
        keep_until: DateTime<Utc>,
    },
}

/// What a signing key records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningKeyEvent {
    /// `key.generated`
    Generated(KeyGenerated),
    /// `key.activated`
    Activated(KeyActivated),
    /// `key.retired`
    Retired(KeyRetired),
}

/// Payload of `key.generated`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerated {
    /// The key id.
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlgorithm,
    /// The public key (JWK object).
    pub public_jwk: serde_json::Value,
    /// The private key, a compact JWE under the master key.
    pub encrypted_private_key: String,
    /// When it was generated.
    pub generated_at: DateTime<Utc>,
}

/// `Debug` shows the size of the encrypted private key, not the key: even encrypted, it
/// has no business in logs.
impl fmt::Debug for KeyGenerated {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("KeyGenerated")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .field(
                "encrypted_private_key",
                &format_args!("<{} bytes>", self.encrypted_private_key.len()),
            )
            .field("generated_at", &self.generated_at)
            .finish()
    }
}

/// Payload of `key.activated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyActivated {
    /// When it started signing.
    pub activated_at: DateTime<Utc>,
}

/// Payload of `key.retired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRetired {
    /// When it stopped signing.
    pub retired_at: DateTime<Utc>,
    /// When it leaves the JWKS.
    pub keep_until: DateTime<Utc>,
}

domain_events! {
    SigningKeyEvent {
        Generated(KeyGenerated) => KEY_GENERATED,
        Activated(KeyActivated) => KEY_ACTIVATED,
        Retired(KeyRetired) => KEY_RETIRED,
    }
}

/// Why a signing-key command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    /// The stream already holds a key.
    #[error("the key is already generated")]
    AlreadyGenerated,
    /// No such key.
    #[error("no such key")]
    NotFound,
    /// Empty, overlong or with characters outside `A-Z a-z 0-9 - _`.
    #[error("a key id must have 1 to {MAX_KID} characters of A-Z, a-z, 0-9, '-' and '_'")]
    InvalidKid,
    /// The private key is not a compact JWE: it would enter the log in clear.
    #[error("a private key must be stored encrypted, as a compact JWE")]
    PrivateKeyNotEncrypted,
    /// The public JWK is not an object, carries private members, or names another key id
    /// or algorithm.
    #[error("the public key must be a JWK object without private members, with this kid and alg")]
    InvalidPublicKey,
    /// Activating an active key.
    #[error("the key is already active")]
    AlreadyActive,
    /// Retiring a key that never signed.
    #[error("only an active key can be retired")]
    NotActive,
    /// A retired key stays retired.
    #[error("the key is retired")]
    Retired,
    /// The grace period would end before it starts.
    #[error("a retired key must be kept until a time after its retirement")]
    KeepUntilInThePast,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyLife {
    /// Nothing recorded yet.
    #[default]
    Absent,
    /// Published, not signing.
    Generated,
    /// Signing.
    Active,
    /// No longer signing.
    Retired,
}

/// A signing key as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningKey {
    /// Where it is in its life.
    pub life: KeyLife,
}

/// Whether `kid` is safe in a stream name, a JOSE header and a URL.
fn is_valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID
        && kid
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Whether `text` has the shape of a compact JWE (RFC 7516 section 7.1): five
/// base64url parts separated by dots; only the encrypted key may be empty (it is, for
/// direct encryption). A JWK, a PEM or DER text can never have this shape.
pub(crate) fn is_compact_jwe(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    let [header, _encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return false;
    };
    let base64url = |part: &str| {
        part.bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    [header, iv, ciphertext, tag]
        .iter()
        .all(|part| !part.is_empty())
        && parts.iter().all(|part| base64url(part))
}

/// Whether `jwk` is a public JWK of this key.
fn is_public_jwk_of(jwk: &serde_json::Value, kid: &str, alg: SigningAlgorithm) -> bool {
    let Some(members) = jwk.as_object() else {
        return false;
    };
    members.get("kid").and_then(|value| value.as_str()) == Some(kid)
        && members.get("alg").and_then(|value| value.as_str()) == Some(alg.as_str())
        && members.get("kty").is_some_and(|value| value.is_string())
        && PRIVATE_JWK_MEMBERS
            .iter()
            .all(|member| !members.contains_key(*member))
}

impl Aggregate for SigningKey {
    type Command = SigningKeyCommand;
    type Event = SigningKeyEvent;
    type Error = SigningKeyError;

    fn decide(
        &self,
        command: &Self::Command,
        context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            SigningKeyCommand::Generate {
                kid,
                alg,
                public_jwk,
                encrypted_private_key,
            } => {
                if self.life != KeyLife::Absent {
                    return Err(SigningKeyError::AlreadyGenerated);
                }
                if !is_valid_kid(kid) {
                    return Err(SigningKeyError::InvalidKid);
                }
                if !is_compact_jwe(encrypted_private_key) {
                    return Err(SigningKeyError::PrivateKeyNotEncrypted);
                }
                if !is_public_jwk_of(public_jwk, kid, *alg) {
                    return Err(SigningKeyError::InvalidPublicKey);
                }
                Ok(vec![SigningKeyEvent::Generated(KeyGenerated {
                    kid: kid.clone(),
                    alg: *alg,
                    public_jwk: public_jwk.clone(),
                    encrypted_private_key: encrypted_private_key.clone(),
                    generated_at: context.now,
                })])
            }
            SigningKeyCommand::Activate => match self.life {
                KeyLife::Absent => Err(SigningKeyError::NotFound),
                KeyLife::Active => Err(SigningKeyError::AlreadyActive),
                KeyLife::Retired => Err(SigningKeyError::Retired),
                KeyLife::Generated => Ok(vec![SigningKeyEvent::Activated(KeyActivated {
                    activated_at: context.now,
                })]),
            },
            SigningKeyCommand::Retire { keep_until } => match self.life {
                KeyLife::Absent => Err(SigningKeyError::NotFound),
                KeyLife::Generated => Err(SigningKeyError::NotActive),
                KeyLife::Retired => Err(SigningKeyError::Retired),
                KeyLife::Active if *keep_until < context.now => {
                    Err(SigningKeyError::KeepUntilInThePast)
                }
                KeyLife::Active => Ok(vec![SigningKeyEvent::Retired(KeyRetired {
                    retired_at: context.now,
                    keep_until: *keep_until,
                })]),
            },
        }
    }

    fn evolve(self, event: &Self::Event) -> Self {
        let life = match event {
            SigningKeyEvent::Generated(_) => KeyLife::Generated,
            SigningKeyEvent::Activated(_) => KeyLife::Active,
            SigningKeyEvent::Retired(_) => KeyLife::Retired,
        };
        Self { life }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::aggregate::scenario::{Scenario, context};
    use crate::event::{DomainEvent, recorded};

    const KID: &str = "k1";
    /// The shape of a `dir` + `A256GCM` JWE: the encrypted key part is empty.
    const JWE: &str =
        "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXZpdml2aXZpdml2.Y2lwaGVy.dGFndGFndGFndGFn";

    fn public_jwk() -> serde_json::Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": KID, "alg": "EdDSA", "use": "sig"})
    }

    fn generate() -> SigningKeyCommand {
        SigningKeyCommand::Generate {
            kid: KID.into(),
            alg: SigningAlgorithm::EdDSA,
            public_jwk: public_jwk(),
            encrypted_private_key: JWE.into(),
        }
    }

    fn generated() -> SigningKeyEvent {
        SigningKeyEvent::Generated(KeyGenerated {
            kid: KID.into(),
            alg: SigningAlgorithm::EdDSA,
            public_jwk: public_jwk(),
            encrypted_private_key: JWE.into(),
            generated_at: context().now,
        })
    }

    fn activated() -> SigningKeyEvent {
        SigningKeyEvent::Activated(KeyActivated {
            activated_at: context().now,
        })
    }

    fn retired() -> SigningKeyEvent {
        SigningKeyEvent::Retired(KeyRetired {
            retired_at: context().now,
            keep_until: context().now + chrono::Duration::hours(24),
        })
    }

    fn retire() -> SigningKeyCommand {
        SigningKeyCommand::Retire {
            keep_until: context().now + chrono::Duration::hours(24),
        }
    }

    fn generate_with(
        kid: &str,
        public_jwk: serde_json::Value,
        encrypted_private_key: &str,
    ) -> SigningKeyCommand {
        SigningKeyCommand::Generate {
            kid: kid.into(),
            alg: SigningAlgorithm::EdDSA,
            public_jwk,
            encrypted_private_key: encrypted_private_key.into(),
        }
    }

    #[test]
    fn a_key_is_generated_with_its_encrypted_private_part() {
        Scenario::<SigningKey>::given([])
            .when(generate())
            .then([generated()]);
    }

    #[test]
    fn a_key_is_generated_once() {
        Scenario::<SigningKey>::given([generated()])
            .when(generate())
            .then_err(SigningKeyError::AlreadyGenerated);
    }

    #[test]
    fn a_private_key_in_clear_is_refused() {
        let clear = [
            r#"{"kty":"OKP","crv":"Ed25519","d":"secret","x":"abc"}"#,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----",
            "MC4CAQAwBQYDK2VwBCIEIA",
            // A JWS has three parts, not five.
            "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
            // Five parts, but the ciphertext is missing.
            "eyJhbGciOiJkaXIifQ..aXY..dGFn",
            "",
        ];
        for private_key in clear {
            Scenario::<SigningKey>::given([])
                .when(generate_with(KID, public_jwk(), private_key))
                .then_err(SigningKeyError::PrivateKeyNotEncrypted);
        }
    }

    #[test]
    fn a_public_key_with_private_members_or_another_identity_is_refused() {
        let mut with_private = public_jwk();
        with_private["d"] = json!("secret");
        let mut other_kid = public_jwk();
        other_kid["kid"] = json!("k2");
        let mut other_alg = public_jwk();
        other_alg["alg"] = json!("RS256");
        for jwk in [
            with_private,
            other_kid,
            other_alg,
            json!("not an object"),
            json!({"kid": KID, "alg": "EdDSA"}),
        ] {
            Scenario::<SigningKey>::given([])
                .when(generate_with(KID, jwk, JWE))
                .then_err(SigningKeyError::InvalidPublicKey);
        }
    }

    #[test]
    fn a_key_id_must_be_safe_in_streams_headers_and_urls() {
        for kid in ["", "a/b", "a.b", "ä", &"x".repeat(MAX_KID + 1)] {
            let mut jwk = public_jwk();
            jwk["kid"] = json!(kid);
            Scenario::<SigningKey>::given([])
                .when(generate_with(kid, jwk, JWE))
                .then_err(SigningKeyError::InvalidKid);
        }
    }

    #[test]
    fn a_generated_key_is_activated() {
        Scenario::<SigningKey>::given([generated()])
            .when(SigningKeyCommand::Activate)
            .then([activated()]);
    }

    #[test]
    fn only_a_generated_key_can_be_activated() {
        Scenario::<SigningKey>::given([])
            .when(SigningKeyCommand::Activate)
            .then_err(SigningKeyError::NotFound);
        Scenario::<SigningKey>::given([generated(), activated()])
            .when(SigningKeyCommand::Activate)
            .then_err(SigningKeyError::AlreadyActive);
    }

    #[test]
    fn a_retired_key_cannot_be_activated_again() {
        Scenario::<SigningKey>::given([generated(), activated(), retired()])
            .when(SigningKeyCommand::Activate)
            .then_err(SigningKeyError::Retired);
    }

    #[test]
    fn an_active_key_is_retired_with_a_grace_period() {
        Scenario::<SigningKey>::given([generated(), activated()])
            .when(retire())
            .then([retired()]);
    }

    #[test]
    fn only_an_active_key_can_be_retired() {
        Scenario::<SigningKey>::given([])
            .when(retire())
            .then_err(SigningKeyError::NotFound);
        Scenario::<SigningKey>::given([generated()])
            .when(retire())
            .then_err(SigningKeyError::NotActive);
        Scenario::<SigningKey>::given([generated(), activated(), retired()])
            .when(retire())
            .then_err(SigningKeyError::Retired);
    }

    #[test]
    fn the_grace_period_cannot_end_before_the_retirement() {
        Scenario::<SigningKey>::given([generated(), activated()])
            .when(SigningKeyCommand::Retire {
                keep_until: context().now - chrono::Duration::seconds(1),
            })
            .then_err(SigningKeyError::KeepUntilInThePast);
    }

    #[test]
    fn algorithms_parse_from_their_jwa_names_only() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>(), Ok(alg));
            assert_eq!(
                serde_json::to_string(&alg).unwrap(),
                format!("\"{}\"", alg.as_str())
            );
        }
        assert!("none".parse::<SigningAlgorithm>().is_err());
        assert!("rs256".parse::<SigningAlgorithm>().is_err());
    }

    #[test]
    fn events_round_trip_through_the_envelope() {
        for event in [generated(), activated(), retired()] {
            let recorded = recorded(stream(KID), &event);
            assert_eq!(SigningKeyEvent::decode(&recorded).unwrap(), Some(event));
        }
    }

    #[test]
    fn debug_output_hides_the_encrypted_private_key() {
        let SigningKeyEvent::Generated(payload) = generated() else {
            unreachable!()
        };
        let debug = format!("{payload:?}");
        assert!(!debug.contains(JWE), "{debug}");
        assert!(debug.contains("bytes"), "{debug}");
    }
}
