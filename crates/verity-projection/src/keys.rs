//! The signing keys read model: every key by id, with its public JWK, its private part
//! (encrypted under the master key, exactly as in the log) and where it is in its life.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use verity_domain::key::{KEY_ACTIVATED, KEY_GENERATED, KEY_RETIRED, STREAM_PREFIX};
use verity_domain::key::{KeyActivated, KeyGenerated, KeyRetired, SigningAlgorithm};
use verity_domain::{DecodeError, RecordedEvent};

use crate::decode;
use crate::projection::Projection;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyState {
    /// Published in the JWKS, not signing yet.
    Generated,
    /// Signing.
    Active {
        /// When it started signing.
        since: DateTime<Utc>,
    },
    /// No longer signing; published until `keep_until`.
    Retired {
        /// When it stopped signing.
        since: DateTime<Utc>,
        /// When it leaves the JWKS.
        keep_until: DateTime<Utc>,
    },
}

impl KeyState {
    /// `generated`, `active` or `retired`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Active { .. } => "active",
            Self::Retired { .. } => "retired",
        }
    }
}

/// A signing key as the rest of Verity sees it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// The key id.
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlgorithm,
    /// The public key (JWK object with kid, alg, use, kty and the public parameters).
    pub public_jwk: serde_json::Value,
    /// The private key, a compact JWE under the master key.
    pub encrypted_private_key: String,
    /// When it was generated.
    pub generated_at: DateTime<Utc>,
    /// Where it is in its life.
    pub state: KeyState,
}

impl KeyView {
    /// Whether the key belongs in the JWKS at `now`: generated, active, or retired and
    /// still within its grace period.
    pub fn is_published_at(&self, now: DateTime<Utc>) -> bool {
        match self.state {
            KeyState::Generated | KeyState::Active { .. } => true,
            KeyState::Retired { keep_until, .. } => now < keep_until,
        }
    }
}

/// `Debug` leaves the encrypted private key out: even encrypted, it has no business in
/// logs or assertion messages.
impl fmt::Debug for KeyView {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("KeyView")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .field(
                "encrypted_private_key",
                &format_args!("<{} bytes>", self.encrypted_private_key.len()),
            )
            .field("generated_at", &self.generated_at)
            .field("state", &self.state)
            .finish()
    }
}

/// Every signing key, by key id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    by_kid: BTreeMap<String, KeyView>,
    /// How many key events were folded: changes whenever a key does, so a holder of
    /// something built from the keys (the key ring) knows cheaply when to rebuild it.
    revision: u64,
}

impl Keys {
    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&KeyView> {
        self.by_kid.get(kid)
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<&KeyView> {
        let mut keys: Vec<&KeyView> = self.by_kid.values().collect();
        keys.sort_by(|left, right| {
            (left.generated_at, &left.kid).cmp(&(right.generated_at, &right.kid))
        });
        keys
    }

    /// The key that signs with `alg`: of the active keys, the one activated last (two
    /// can be active at once when two nodes bootstrapped together; every node then picks
    /// the same one).
    pub fn active(&self, alg: SigningAlgorithm) -> Option<&KeyView> {
        self.by_kid
            .values()
            .filter(|key| key.alg == alg)
            .filter_map(|key| match key.state {
                KeyState::Active { since } => Some((since, key)),
                _ => None,
            })
            .max_by(|(left_since, left), (right_since, right)| {
                (left_since, &left.kid).cmp(&(right_since, &right.kid))
            })
            .map(|(_, key)| key)
    }

    /// The keys that belong in the JWKS at `now`, oldest first.
    pub fn published_at(&self, now: DateTime<Utc>) -> Vec<&KeyView> {
        self.list()
            .into_iter()
            .filter(|key| key.is_published_at(now))
            .collect()
    }

    /// Changes whenever a key event is folded.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// How many keys there are, in any state.
    pub fn len(&self) -> usize {
        self.by_kid.len()
    }

    /// Whether there is no key yet.
    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    /// The key of the event's stream. An event about a key that was never generated
    /// cannot come from the aggregate (it refuses that); it is skipped with a warning, as
    /// the users model does, rather than stopping every read model.
    fn existing(&mut self, event: &RecordedEvent) -> Option<&mut KeyView> {
        let kid = event.stream.strip_prefix(STREAM_PREFIX).unwrap_or_default();
        let view = self.by_kid.get_mut(kid);
        if view.is_none() {
            tracing::warn!(
                position = event.position,
                event_type = %event.event_type,
                stream = %event.stream,
                "event about a key that was never generated; skipped"
            );
        }
        view
    }
}

impl Projection for Keys {
    const NAME: &'static str = "keys";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        match event.event_type.as_str() {
            KEY_GENERATED => {
                let generated: KeyGenerated = decode::payload(event)?;
                self.by_kid.insert(
                    generated.kid.clone(),
                    KeyView {
                        kid: generated.kid,
                        alg: generated.alg,
                        public_jwk: generated.public_jwk,
                        encrypted_private_key: generated.encrypted_private_key,
                        generated_at: generated.generated_at,
                        state: KeyState::Generated,
                    },
                );
            }
            KEY_ACTIVATED => {
                let activated: KeyActivated = decode::payload(event)?;
                if let Some(view) = self.existing(event) {
                    view.state = KeyState::Active {
                        since: activated.activated_at,
                    };
                }
            }
            KEY_RETIRED => {
                let retired: KeyRetired = decode::payload(event)?;
                if let Some(view) = self.existing(event) {
                    view.state = KeyState::Retired {
                        since: retired.retired_at,
                        keep_until: retired.keep_until,
                    };
                }
            }
            _ => return Ok(()),
        }
        self.revision += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use verity_domain::DomainEvent;
    use verity_domain::key::{SigningKeyEvent, stream};

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-28T{hour:02}:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn recorded(position: u64, kid: &str, event: &SigningKeyEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream(kid),
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(0),
            hash: String::new(),
        }
    }

    fn generated(position: u64, kid: &str, alg: SigningAlgorithm, hour: u32) -> RecordedEvent {
        recorded(
            position,
            kid,
            &SigningKeyEvent::Generated(KeyGenerated {
                kid: kid.into(),
                alg,
                public_jwk: json!({"kty": "OKP", "kid": kid, "alg": alg.as_str()}),
                encrypted_private_key: format!("jwe-of-{kid}"),
                generated_at: at(hour),
            }),
        )
    }

    fn activated(position: u64, kid: &str, hour: u32) -> RecordedEvent {
        recorded(
            position,
            kid,
            &SigningKeyEvent::Activated(KeyActivated {
                activated_at: at(hour),
            }),
        )
    }

    fn retired(position: u64, kid: &str, hour: u32, keep_until: u32) -> RecordedEvent {
        recorded(
            position,
            kid,
            &SigningKeyEvent::Retired(KeyRetired {
                retired_at: at(hour),
                keep_until: at(keep_until),
            }),
        )
    }

    fn fold(events: &[RecordedEvent]) -> Keys {
        let mut keys = Keys::default();
        for event in events {
            keys.apply(event).unwrap();
        }
        keys
    }

    #[test]
    fn a_key_goes_from_generated_to_active_to_retired() {
        let mut keys = fold(&[generated(1, "a", SigningAlgorithm::RS256, 1)]);
        let key = keys.get("a").unwrap();
        assert_eq!(key.state, KeyState::Generated);
        assert_eq!(key.alg, SigningAlgorithm::RS256);
        assert_eq!(key.encrypted_private_key, "jwe-of-a");
        assert_eq!(key.public_jwk["kid"], "a");
        assert_eq!(key.generated_at, at(1));

        keys.apply(&activated(2, "a", 2)).unwrap();
        assert_eq!(
            keys.get("a").unwrap().state,
            KeyState::Active { since: at(2) }
        );
        keys.apply(&retired(3, "a", 3, 5)).unwrap();
        assert_eq!(
            keys.get("a").unwrap().state,
            KeyState::Retired {
                since: at(3),
                keep_until: at(5)
            }
        );
        assert_eq!(keys.revision(), 3);
    }

    #[test]
    fn the_active_key_of_an_algorithm_is_the_one_activated_last() {
        let keys = fold(&[
            generated(1, "old", SigningAlgorithm::RS256, 1),
            activated(2, "old", 1),
            generated(3, "new", SigningAlgorithm::RS256, 2),
            activated(4, "new", 2),
            generated(5, "ec", SigningAlgorithm::ES256, 2),
        ]);
        assert_eq!(
            keys.active(SigningAlgorithm::RS256)
                .map(|key| key.kid.as_str()),
            Some("new")
        );
        assert!(keys.active(SigningAlgorithm::ES256).is_none());
        assert!(keys.active(SigningAlgorithm::EdDSA).is_none());
    }

    #[test]
    fn retired_keys_are_published_until_their_grace_period_ends() {
        let keys = fold(&[
            generated(1, "old", SigningAlgorithm::ES256, 1),
            activated(2, "old", 1),
            generated(3, "new", SigningAlgorithm::ES256, 2),
            activated(4, "new", 2),
            retired(5, "old", 2, 6),
            generated(6, "next", SigningAlgorithm::ES256, 3),
        ]);
        let published = |hour| -> Vec<String> {
            keys.published_at(at(hour))
                .into_iter()
                .map(|key| key.kid.clone())
                .collect()
        };
        assert_eq!(published(5), ["old", "new", "next"]);
        assert_eq!(published(6), ["new", "next"]);
        assert_eq!(keys.list().len(), 3);
    }

    #[test]
    fn an_event_about_a_key_never_generated_is_skipped() {
        let mut keys = Keys::default();
        keys.apply(&activated(4, "ghost", 1)).unwrap();
        assert!(keys.is_empty());
    }

    #[test]
    fn an_unreadable_payload_is_an_error_and_changes_nothing() {
        let mut keys = fold(&[generated(1, "a", SigningAlgorithm::EdDSA, 1)]);
        let mut event = activated(2, "a", 2);
        event.data = r#"{"activated_at":"yesterday"}"#.into();
        let error = keys.apply(&event).unwrap_err();
        assert!(
            matches!(error, DecodeError::Payload { position: 2, .. }),
            "{error:?}"
        );
        assert_eq!(keys.get("a").unwrap().state, KeyState::Generated);
        assert_eq!(keys.revision(), 1);
    }

    #[test]
    fn other_event_types_are_skipped() {
        let mut event = generated(1, "a", SigningAlgorithm::EdDSA, 1);
        event.event_type = "user.created".into();
        let mut keys = Keys::default();
        keys.apply(&event).unwrap();
        assert!(keys.is_empty());
        assert_eq!(keys.revision(), 0);
    }

    #[test]
    fn a_snapshot_round_trip_keeps_everything() {
        let keys = fold(&[
            generated(1, "a", SigningAlgorithm::EdDSA, 1),
            activated(2, "a", 1),
            retired(3, "a", 2, 4),
        ]);
        let json = serde_json::to_string(&keys).unwrap();
        let restored: Keys = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, keys);
    }

    #[test]
    fn debug_output_leaves_the_private_key_out() {
        let keys = fold(&[generated(1, "a", SigningAlgorithm::EdDSA, 1)]);
        let debug = format!("{keys:?}");
        assert!(!debug.contains("jwe-of-a"), "{debug}");
    }
}
