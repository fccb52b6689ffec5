//! Tests of the master key, the ring and rotation, over one in-memory log.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;

use serde_json::json;
use verity_domain::key::{KeyGenerated, SigningKey, SigningKeyCommand, SigningKeyEvent};
use verity_domain::{Actor, Aggregate, Context, DomainEvent, RecordedEvent};
use verity_projection::Projection;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use josekit::jws;
use serde_json::{Map, Value};
use verity_projection::Keys;

use super::*;

fn at(hour: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::hours(hour)
}

/// Keys as the binary builds them: plans executed through the aggregate's rules,
/// their events folded into the read model.
#[derive(Default)]
struct Log {
    aggregates: HashMap<String, SigningKey>,
    keys: Keys,
    position: u64,
}

impl Log {
    fn execute(&mut self, steps: &[KeyStep], now: DateTime<Utc>) {
        let context = Context {
            now,
            actor: Actor::System,
            request_id: None,
            client_ip: None,
        };
        for step in steps {
            let aggregate = self.aggregates.remove(&step.kid).unwrap_or_default();
            let events = aggregate.decide(&step.command, &context).unwrap();
            let mut aggregate = aggregate;
            for event in &events {
                aggregate = aggregate.evolve(event);
                self.position += 1;
                self.keys
                    .apply(&RecordedEvent {
                        position: self.position,
                        stream: step.stream(),
                        version: 1,
                        event_type: event.event_type().into(),
                        schema: event.schema(),
                        data: event.to_data(),
                        metadata: "{}".into(),
                        recorded_at: now,
                        hash: String::new(),
                    })
                    .unwrap();
            }
            self.aggregates.insert(step.kid.clone(), aggregate);
        }
    }

    /// Rotates `alg` to a fresh key; returns its kid.
    fn rotate(&mut self, alg: SigningAlgorithm, master: &MasterKey, now: DateTime<Utc>) -> String {
        let key = generate(alg, &new_kid(), master).unwrap();
        let steps = plan_rotation(&self.keys, &key, now, DEFAULT_GRACE);
        self.execute(&steps, now);
        key.kid
    }
}

/// A log with one active key per algorithm.
fn bootstrapped(master: &MasterKey) -> Log {
    let mut log = Log::default();
    for alg in SigningAlgorithm::ALL {
        log.rotate(alg, master, at(0));
    }
    log
}

/// A master key and a ring of a fresh key per algorithm.
fn fresh_ring() -> (MasterKey, KeyRing) {
    let master = MasterKey::generate();
    let ring = KeyRing::from_keys(&bootstrapped(&master).keys, &master, at(0)).unwrap();
    (master, ring)
}

/// The token with one bit of its signature flipped.
fn tampered_signature(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[0] ^= 1;
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature))
}

/// The token's header and signature over other claims (`sub: admin`).
fn signature_over_other_claims(token: &str) -> String {
    let mut elevated = claims();
    elevated.insert("sub".into(), json!("admin"));
    let (header, _) = token.split_once('.').unwrap();
    let (_, signature) = token.rsplit_once('.').unwrap();
    format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(Value::Object(elevated).to_string())
    )
}

fn claims() -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "iss": "https://id.example.org", "sub": "ada", "aud": "app", "exp": 1_900_000_000,
        "scope": "openid email",
    }) else {
        unreachable!()
    };
    claims
}

fn header_of(token: &str) -> Map<String, Value> {
    decode_header(token).unwrap()
}

/// Replaces the header of a token, keeping payload and signature.
fn with_header(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    let rest = parts.next().unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[test]
fn each_algorithm_signs_and_verifies_with_kid_and_typ_in_the_header() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    for alg in SigningAlgorithm::ALL {
        let token = ring.sign(alg, Some("at+jwt"), &claims()).unwrap();
        let header = header_of(&token);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["kid"].as_str(), ring.active_kid(alg));
        assert_eq!(ring.verify(&token).unwrap(), claims());

        // JWS signatures, not DER: what relying parties' libraries expect (RFC 7518).
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        let expected_len = match alg {
            SigningAlgorithm::RS256 => 256,
            SigningAlgorithm::ES256 | SigningAlgorithm::EdDSA => 64,
        };
        assert_eq!(signature.len(), expected_len, "{alg}");

        let untyped = ring.sign(alg, None, &claims()).unwrap();
        assert!(!header_of(&untyped).contains_key("typ"));
    }
}

#[test]
fn the_jwks_holds_public_members_only() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    let jwks = ring.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for key in keys {
        let members = key.as_object().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(!members.contains_key(private), "{private} in {key}");
        }
        assert_eq!(key["use"], "sig");
        let alg: SigningAlgorithm = key["alg"].as_str().unwrap().parse().unwrap();
        assert_eq!(key["kid"].as_str(), ring.active_kid(alg));
        let expected_kty = match alg {
            SigningAlgorithm::RS256 => "RSA",
            SigningAlgorithm::ES256 => "EC",
            SigningAlgorithm::EdDSA => "OKP",
        };
        assert_eq!(key["kty"], expected_kty);
    }
    assert_eq!(
        serde_json::from_str::<Value>(ring.jwks_json()).unwrap(),
        jwks
    );
}

#[test]
fn an_unsigned_token_is_refused() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    let kid = ring.active_kid(SigningAlgorithm::RS256).unwrap();
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims()).to_string());
    for alg in ["none", "None", "NONE"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": kid}).to_string());
        assert_eq!(
            ring.verify(&format!("{header}.{payload}.")),
            Err(KeyError::AlgNone)
        );
    }
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    let token = ring.sign(SigningAlgorithm::ES256, None, &claims()).unwrap();
    let forged = with_header(&token, &json!({"alg": "ES256", "kid": "someone-else"}));
    assert_eq!(
        ring.verify(&forged),
        Err(KeyError::UnknownKid("someone-else".into()))
    );
    let anonymous = with_header(&token, &json!({"alg": "ES256"}));
    assert_eq!(ring.verify(&anonymous), Err(KeyError::MissingKid));

    // A ring of other keys knows none of these.
    let other = KeyRing::from_keys(&bootstrapped(&master).keys, &master, at(0)).unwrap();
    assert!(matches!(other.verify(&token), Err(KeyError::UnknownKid(_))));
}

#[test]
fn an_algorithm_other_than_the_keys_is_refused() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    let token = ring.sign(SigningAlgorithm::RS256, None, &claims()).unwrap();
    let kid = ring.active_kid(SigningAlgorithm::RS256).unwrap();
    for alg in ["HS256", "ES256", "PS256"] {
        let confused = with_header(&token, &json!({"alg": alg, "kid": kid}));
        assert!(
            matches!(ring.verify(&confused), Err(KeyError::AlgMismatch { .. })),
            "{alg}"
        );
    }
    let critical = with_header(
        &token,
        &json!({"alg": "RS256", "kid": kid, "b64": false, "crit": ["b64"]}),
    );
    assert_eq!(ring.verify(&critical), Err(KeyError::CriticalHeader));
}

#[test]
fn a_tampered_signature_or_payload_is_refused() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
    for alg in SigningAlgorithm::ALL {
        let token = ring.sign(alg, None, &claims()).unwrap();
        let tampered = tampered_signature(&token);
        assert_eq!(
            ring.verify(&tampered),
            Err(KeyError::InvalidSignature),
            "{alg}"
        );

        let forged = signature_over_other_claims(&token);
        assert_eq!(
            ring.verify(&forged),
            Err(KeyError::InvalidSignature),
            "{alg}"
        );
    }
    assert!(matches!(
        ring.verify("not a token"),
        Err(KeyError::MalformedToken(_))
    ));
    assert!(matches!(
        ring.verify("a.b.c.d"),
        Err(KeyError::MalformedToken(_))
    ));
    assert!(matches!(
        ring.verify("!!.e30.c2ln"),
        Err(KeyError::MalformedToken(_))
    ));
}

#[test]
fn a_typed_verification_checks_the_type_and_remembers_only_what_verified() {
    let (master, ring) = fresh_ring();
    for alg in SigningAlgorithm::ALL {
        let token = ring.sign(alg, Some("at+jwt"), &claims()).unwrap();
        let first = ring.verify_typed(&token, "at+jwt").unwrap();
        assert_eq!(*first, claims());
        // Remembered: the same claims again, without a second verification.
        assert!(Arc::ptr_eq(
            &first,
            &ring.verify_typed(&token, "at+jwt").unwrap()
        ));
        // The type is checked for remembered tokens too.
        assert_eq!(
            ring.verify_typed(&token, "logout+jwt"),
            Err(KeyError::WrongType("at+jwt".into()))
        );
        for typ in [None, Some("logout+jwt"), Some("AT+JWT")] {
            let other = ring.sign(alg, typ, &claims()).unwrap();
            assert!(
                matches!(
                    ring.verify_typed(&other, "at+jwt"),
                    Err(KeyError::WrongType(_))
                ),
                "{alg} {typ:?}"
            );
        }

        // Other bytes are verified afresh: a changed signature, or the remembered
        // signature over other claims.
        let tampered = tampered_signature(&token);
        assert_eq!(
            ring.verify_typed(&tampered, "at+jwt"),
            Err(KeyError::InvalidSignature)
        );
        let forged = signature_over_other_claims(&token);
        assert_eq!(
            ring.verify_typed(&forged, "at+jwt"),
            Err(KeyError::InvalidSignature)
        );

        // A ring of other keys remembers nothing of this one's.
        let other = KeyRing::from_keys(&bootstrapped(&master).keys, &master, at(0)).unwrap();
        assert!(matches!(
            other.verify_typed(&token, "at+jwt"),
            Err(KeyError::UnknownKid(_))
        ));
    }
}

#[test]
fn a_null_crit_is_still_a_critical_header() {
    let (_, ring) = fresh_ring();
    let token = ring.sign(SigningAlgorithm::ES256, None, &claims()).unwrap();
    let kid = ring.active_kid(SigningAlgorithm::ES256).unwrap();
    let critical = with_header(&token, &json!({"alg": "ES256", "kid": kid, "crit": null}));
    assert_eq!(ring.verify(&critical), Err(KeyError::CriticalHeader));
}

#[test]
fn without_an_active_key_nothing_is_signed() {
    let master = MasterKey::generate();
    let ring = KeyRing::from_keys(&Keys::default(), &master, at(0)).unwrap();
    assert_eq!(
        ring.sign(SigningAlgorithm::EdDSA, None, &claims()),
        Err(KeyError::NoActiveKey(SigningAlgorithm::EdDSA))
    );
    assert_eq!(ring.jwks(), json!({"keys": []}));
    assert_eq!(ring.active_kid(SigningAlgorithm::RS256), None);
}

#[test]
fn a_private_key_round_trips_through_encryption() {
    let master = MasterKey::generate();
    let secret = b"private key bytes".to_vec();
    let encrypted = encrypt_private_key(&master, "k1", &secret).unwrap();
    assert_eq!(encrypted.split('.').count(), 5);
    assert!(!encrypted.contains("private key bytes"));
    assert_eq!(
        decrypt_private_key(&master, "k1", &encrypted).unwrap(),
        secret
    );
    // Each encryption uses a fresh IV.
    assert_ne!(
        encrypt_private_key(&master, "k1", &secret).unwrap(),
        encrypted
    );
}

#[test]
fn a_wrong_master_key_fails_cleanly_and_names_both_keys() {
    let master = MasterKey::generate();
    let other = MasterKey::generate();
    let encrypted = encrypt_private_key(&master, "k1", b"secret").unwrap();
    let error = decrypt_private_key(&other, "k1", &encrypted).unwrap_err();
    assert_eq!(
        error,
        KeyError::Decrypt {
            kid: "k1".into(),
            encrypted_under: master.id().into(),
            this_node: other.id().into(),
        }
    );
    assert!(
        error.to_string().contains("share one master key"),
        "{error}"
    );
    assert!(matches!(
        decrypt_private_key(&master, "k1", "garbage"),
        Err(KeyError::Decrypt { .. })
    ));
}

#[test]
fn a_ciphertext_moved_to_another_key_is_refused() {
    let master = MasterKey::generate();
    let encrypted = encrypt_private_key(&master, "k1", b"secret").unwrap();
    assert!(matches!(
        decrypt_private_key(&master, "k2", &encrypted),
        Err(KeyError::UnusableKey { .. })
    ));
}

#[test]
fn a_ring_cannot_be_built_under_another_master_key() {
    let master = MasterKey::generate();
    let log = bootstrapped(&master);
    let error = KeyRing::from_keys(&log.keys, &MasterKey::generate(), at(0)).unwrap_err();
    assert!(matches!(error, KeyError::Decrypt { .. }), "{error}");
}

#[test]
fn a_private_key_that_is_not_the_published_ones_is_refused() {
    let master = MasterKey::generate();
    let published = generate(SigningAlgorithm::EdDSA, "k1", &master).unwrap();
    let impostor = jws::EdDSA
        .generate_key_pair(josekit::jwk::Ed25519)
        .unwrap()
        .to_der_private_key();
    let swapped = GeneratedKey {
        encrypted_private_key: encrypt_private_key(&master, "k1", &impostor).unwrap(),
        ..published
    };
    let mut log = Log::default();
    log.execute(
        &plan_rotation(&log.keys.clone(), &swapped, at(0), DEFAULT_GRACE),
        at(0),
    );
    let error = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap_err();
    assert!(matches!(error, KeyError::UnusableKey { .. }), "{error}");
}

#[test]
fn generated_keys_satisfy_the_domain_and_keep_the_private_part_encrypted() {
    let master = MasterKey::generate();
    for alg in SigningAlgorithm::ALL {
        let key = generate(alg, "k1", &master).unwrap();
        let members = key.public_jwk.as_object().unwrap();
        assert_eq!(
            members
                .keys()
                .map(String::as_str)
                .take(4)
                .collect::<Vec<_>>(),
            ["kty", "use", "alg", "kid"]
        );
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(!members.contains_key(private));
        }
        let event = SigningKey::default()
            .decide(
                &key.generate_command(),
                &Context {
                    now: at(0),
                    actor: Actor::System,
                    request_id: None,
                    client_ip: None,
                },
            )
            .unwrap();
        assert!(!event[0].to_data().contains("\"d\":"));
        assert!(!format!("{key:?}").contains(&key.encrypted_private_key));
    }
}

#[test]
fn a_first_rotation_generates_and_activates() {
    let master = MasterKey::generate();
    let key = generate(SigningAlgorithm::ES256, "first", &master).unwrap();
    let steps = plan_rotation(&Keys::default(), &key, at(0), DEFAULT_GRACE);
    assert_eq!(
        steps,
        [
            KeyStep {
                kid: "first".into(),
                command: key.generate_command()
            },
            KeyStep {
                kid: "first".into(),
                command: SigningKeyCommand::Activate
            },
        ]
    );
}

#[test]
fn a_rotation_publishes_first_and_keeps_the_old_key_for_the_grace_period() {
    let master = MasterKey::generate();
    let mut log = bootstrapped(&master);
    let before = KeyRing::from_keys(&log.keys, &master, at(1)).unwrap();
    let old_kid = before
        .active_kid(SigningAlgorithm::RS256)
        .unwrap()
        .to_owned();
    let old_token = before
        .sign(SigningAlgorithm::RS256, None, &claims())
        .unwrap();

    let new_key = generate(SigningAlgorithm::RS256, "new", &master).unwrap();
    let steps = plan_rotation(&log.keys, &new_key, at(2), DEFAULT_GRACE);
    let commands: Vec<(&str, &SigningKeyCommand)> = steps
        .iter()
        .map(|step| (step.kid.as_str(), &step.command))
        .collect();
    assert_eq!(
        commands,
        [
            ("new", &new_key.generate_command()),
            ("new", &SigningKeyCommand::Activate),
            (
                old_kid.as_str(),
                &SigningKeyCommand::Retire {
                    keep_until: at(2) + DEFAULT_GRACE
                }
            ),
        ]
    );

    // Published before it signs: after the first step, the JWKS has the new key
    // while the old one still signs.
    log.execute(&steps[..1], at(2));
    let published = KeyRing::from_keys(&log.keys, &master, at(2)).unwrap();
    assert_eq!(
        published.active_kid(SigningAlgorithm::RS256),
        Some(old_kid.as_str())
    );
    assert!(published.jwks_json().contains("\"new\""));

    log.execute(&steps[1..], at(2));
    let after = KeyRing::from_keys(&log.keys, &master, at(3)).unwrap();
    assert_eq!(after.active_kid(SigningAlgorithm::RS256), Some("new"));
    assert_eq!(after.verify(&old_token).unwrap(), claims());
    let new_token = after
        .sign(SigningAlgorithm::RS256, None, &claims())
        .unwrap();
    assert_eq!(header_of(&new_token)["kid"], "new");
    let jwks = after.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["alg"] == "RS256")
        .map(|key| key["kid"].as_str().unwrap())
        .map(|kid| if kid == old_kid { "old" } else { kid })
        .collect();
    assert_eq!(kids, ["old", "new"]);
    assert_eq!(after.expires_at(), Some(at(2) + DEFAULT_GRACE));

    // Past the grace period the old key leaves the JWKS and its tokens fail.
    let later = KeyRing::from_keys(&log.keys, &master, at(2) + DEFAULT_GRACE).unwrap();
    assert!(!later.jwks_json().contains(&old_kid));
    assert!(matches!(
        later.verify(&old_token),
        Err(KeyError::UnknownKid(_))
    ));
    assert_eq!(later.verify(&new_token).unwrap(), claims());
}

#[test]
fn the_shared_ring_is_rebuilt_only_when_keys_change_or_a_grace_period_ends() {
    let master = MasterKey::generate();
    let mut log = bootstrapped(&master);
    let shared = SharedKeyRing::new(master.clone());
    let first = shared.current(&log.keys, at(1)).unwrap();
    assert!(Arc::ptr_eq(
        &first,
        &shared.current(&log.keys, at(1)).unwrap()
    ));

    log.rotate(SigningAlgorithm::EdDSA, &master, at(2));
    let rotated = shared.current(&log.keys, at(2)).unwrap();
    assert!(!Arc::ptr_eq(&first, &rotated));
    assert_ne!(
        rotated.active_kid(SigningAlgorithm::EdDSA),
        first.active_kid(SigningAlgorithm::EdDSA)
    );
    assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 4);
    assert!(Arc::ptr_eq(
        &rotated,
        &shared.current(&log.keys, at(3)).unwrap()
    ));

    let expired = shared.current(&log.keys, at(2) + DEFAULT_GRACE).unwrap();
    assert!(!Arc::ptr_eq(&rotated, &expired));
    assert_eq!(expired.jwks()["keys"].as_array().unwrap().len(), 3);
}

#[test]
fn a_master_key_reads_from_any_base64_and_never_shows_itself() {
    let key = MasterKey::generate();
    let standard = key.to_base64();
    let url_safe = URL_SAFE_NO_PAD.encode(key.bytes);
    for text in [
        standard.clone(),
        format!("  {standard}\n"),
        standard.trim_end_matches('=').to_owned(),
        url_safe,
    ] {
        assert_eq!(MasterKey::from_base64(&text).unwrap().id(), key.id());
    }
    assert!(matches!(
        MasterKey::from_base64(&STANDARD.encode([7u8; 16])),
        Err(KeyError::InvalidMasterKey(_))
    ));
    assert!(matches!(
        MasterKey::from_base64("not base64 at all!"),
        Err(KeyError::InvalidMasterKey(_))
    ));
    assert_ne!(MasterKey::generate().id(), key.id());
    assert_eq!(key.id().len(), 16);
    let debug = format!("{key:?}");
    assert!(
        !debug.contains(&standard) && debug.contains(key.id()),
        "{debug}"
    );
}

#[cfg(unix)]
#[test]
fn the_master_key_file_is_created_private_once_and_then_reused() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("master.key");
    let (created, outcome) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(outcome, MasterKeyFile::Created);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (loaded, outcome) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(outcome, MasterKeyFile::Existing);
    assert_eq!(loaded.id(), created.id());
    // No temporary file is left behind.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
}

#[cfg(unix)]
#[test]
fn a_master_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let error = MasterKey::load_or_create(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("master.key") && message.contains("0640") && message.contains("chmod 600"),
        "{message}"
    );

    std::fs::write(dir.path().join("bad.key"), "short").unwrap();
    std::fs::set_permissions(
        dir.path().join("bad.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert!(matches!(
        MasterKey::load_or_create(&dir.path().join("bad.key")),
        Err(KeyError::MasterKeyFile { .. })
    ));
}

#[test]
fn events_of_a_rotation_carry_no_private_material() {
    let master = MasterKey::generate();
    let key = generate(SigningAlgorithm::RS256, "k1", &master).unwrap();
    let generated = SigningKeyEvent::Generated(KeyGenerated {
        kid: key.kid.clone(),
        alg: key.alg,
        public_jwk: key.public_jwk.clone(),
        encrypted_private_key: key.encrypted_private_key.clone(),
        generated_at: at(0),
    });
    let data = generated.to_data();
    for private in ["\"d\":", "\"p\":", "\"q\":", "PRIVATE KEY"] {
        assert!(!data.contains(private), "{private} in {data}");
    }
}
