//! Signing keys through the real binary: made on first start, rotated with a grace
//! period, never in the log in clear, under a master key from a private file or the
//! environment. Tokens are signed and verified in-test through the library, with the
//! same store and master key file as the binary.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use verity::app::App;
use verity::config::Config;
use verity_oidc::keys::{KeyError, SigningAlgorithm};

use crate::support::{Target, assert_clear_error, assert_no_panic, json_lines};

/// The configuration the binary runs with for `target`.
fn config(target: &Target) -> Config {
    let mut config = Config::default();
    config.store.data_dir = target.dir.path().join("data");
    config.store.database_url = target.database_url.clone();
    config
}

fn claims() -> Map<String, Value> {
    let Value::Object(claims) = serde_json::json!({
        "iss": "http://127.0.0.1:8080", "sub": "ada", "aud": "app", "scope": "openid",
    }) else {
        unreachable!()
    };
    claims
}

/// Signs with the active key of `alg`, as the server would.
async fn sign(target: &Target, alg: SigningAlgorithm) -> String {
    let app = App::open(config(target)).await.unwrap();
    let shared = verity::signing::key_ring(&app).await.unwrap();
    let ring = verity::signing::current_ring(&app, &shared).unwrap();
    ring.sign(alg, Some("at+jwt"), &claims()).unwrap()
}

/// Verifies with the key ring as it is now.
async fn verify(target: &Target, token: &str) -> Result<Map<String, Value>, KeyError> {
    let app = App::open(config(target)).await.unwrap();
    let shared = verity::signing::key_ring(&app).await.unwrap();
    verity::signing::current_ring(&app, &shared)
        .unwrap()
        .verify(token)
}

fn kid_of(token: &str) -> String {
    let header = verity_oidc::keys::decode_header(token).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn keys(target: &Target) -> Vec<Value> {
    json_lines(&target.ok(&["keys", "list", "--json"]))
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

fn first_start_makes_one_active_key_per_algorithm(target: &Target) {
    let listed = keys(target);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let algs: BTreeSet<&str> = listed
        .iter()
        .map(|key| key["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, BTreeSet::from(["EdDSA", "ES256", "RS256"]));
    for key in &listed {
        assert_eq!(key["state"], "active");
        assert_eq!(key["published"], true);
        assert!(key.get("encrypted_private_key").is_none());
    }
    // A second start makes no more.
    assert_eq!(keys(target), listed);
    let types: Vec<String> = json_lines(&target.ok(&["events", "export"]))
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .filter(|event_type| event_type.starts_with("key."))
        .collect();
    assert_eq!(
        types,
        [
            "key.generated",
            "key.activated",
            "key.generated",
            "key.activated",
            "key.generated",
            "key.activated"
        ]
    );
}

#[test]
fn first_start_makes_one_active_key_per_algorithm_on_sqlite() {
    let target = Target::sqlite();
    first_start_makes_one_active_key_per_algorithm(&target);
    let mode = std::fs::metadata(target.dir.path().join("data").join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn first_start_makes_one_active_key_per_algorithm_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    first_start_makes_one_active_key_per_algorithm(&target);
}

async fn a_rotation_keeps_tokens_signed_before_verifiable(target: &Target) {
    let before = keys(target);
    let mut signed_before = Vec::new();
    for alg in SigningAlgorithm::ALL {
        signed_before.push((alg, sign(target, alg).await));
    }

    let rotations = json_lines(&target.ok(&["keys", "rotate", "--json"]));
    assert_eq!(rotations.len(), 3);
    let after = keys(target);
    assert_eq!(after.len(), 6);
    for old in &before {
        let now = after.iter().find(|key| key["kid"] == old["kid"]).unwrap();
        assert_eq!(now["state"], "retired");
        assert_eq!(now["published"], true);
        assert_eq!(
            time(&now["keep_until"]) - time(&now["retired_at"]),
            chrono::Duration::hours(24)
        );
    }
    let active: Vec<&Value> = after
        .iter()
        .filter(|key| key["state"] == "active")
        .collect();
    assert_eq!(active.len(), 3);

    // The JWKS publishes old and new keys, public members only.
    let jwks: Value = serde_json::from_str(&target.ok(&["keys", "jwks"])).unwrap();
    let published: BTreeSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = after
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published, all);
    for key in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
        assert_eq!(key["use"], "sig");
    }

    // Tokens signed before still verify; new ones are signed by the new keys.
    for (alg, token) in &signed_before {
        assert_eq!(verify(target, token).await.unwrap(), claims(), "{alg}");
        let fresh = sign(target, *alg).await;
        let new_kid = kid_of(&fresh);
        assert_ne!(new_kid, kid_of(token));
        assert!(
            active
                .iter()
                .any(|key| key["kid"] == new_kid.as_str() && key["alg"] == alg.as_str())
        );
    }

    let replay = json_lines(&target.ok(&["replay", "--json"]));
    assert_eq!(replay[0]["match"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_keeps_tokens_signed_before_verifiable_on_sqlite() {
    a_rotation_keeps_tokens_signed_before_verifiable(&Target::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_keeps_tokens_signed_before_verifiable_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    a_rotation_keeps_tokens_signed_before_verifiable(&target).await;
}

#[test]
fn one_algorithm_can_be_rotated_alone() {
    let target = Target::sqlite();
    let before = keys(&target);
    target.ok(&["keys", "rotate", "--alg", "es256"]);
    let after = keys(&target);
    assert_eq!(after.len(), 4);
    for key in &before {
        let now = after
            .iter()
            .find(|other| other["kid"] == key["kid"])
            .unwrap();
        let expected = if key["alg"] == "ES256" {
            "retired"
        } else {
            "active"
        };
        assert_eq!(now["state"], expected, "{now}");
    }
    assert_clear_error(
        &target.run(&["keys", "rotate", "--alg", "none"]),
        "invalid value 'none'",
    );
    assert_eq!(keys(&target).len(), 4);
}

#[test]
fn the_log_holds_no_private_key_in_clear() {
    let target = Target::sqlite();
    target.ok(&["keys", "rotate"]);
    let export = target.ok(&["events", "export"]);
    assert!(
        !export.contains("\"d\":"),
        "a private JWK member is in the log"
    );
    assert!(!export.contains("PRIVATE KEY"));
    let generated: Vec<Value> = json_lines(&export)
        .into_iter()
        .filter(|event| event["type"] == "key.generated")
        .collect();
    assert_eq!(generated.len(), 6);
    for event in &generated {
        let data = &event["data"];
        let encrypted = data["encrypted_private_key"].as_str().unwrap();
        assert_eq!(encrypted.split('.').count(), 5, "not a compact JWE");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(data["public_jwk"].get(private).is_none());
        }
    }
}

/// Runs `verity ARGS` with `VERITY__KEYS__MASTER_KEY` set.
fn with_master_key(target: &Target, master_key: &str, args: &[&str]) -> Output {
    let output = target
        .command()
        .env("VERITY__KEYS__MASTER_KEY", master_key)
        .args(args)
        .output()
        .unwrap();
    assert_no_panic(&output);
    output
}

#[test]
fn a_configured_master_key_is_used_and_another_one_is_a_clear_error() {
    let target = Target::sqlite();
    let key = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    assert!(
        with_master_key(&target, key, &["keys", "list"])
            .status
            .success()
    );
    assert!(
        !target.dir.path().join("data").join("master.key").exists(),
        "a key file was written although a master key is configured"
    );
    assert!(
        with_master_key(&target, key, &["keys", "jwks"])
            .status
            .success()
    );
    assert_clear_error(
        &with_master_key(&target, other, &["keys", "jwks"]),
        "share one master key",
    );
    assert_clear_error(
        &with_master_key(&target, "dG9vIHNob3J0", &["keys", "jwks"]),
        "master_key",
    );
}

#[test]
fn a_master_key_file_others_can_read_is_refused() {
    let target = Target::sqlite();
    target.ok(&["keys", "list"]);
    let path = target.dir.path().join("data").join("master.key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_clear_error(&target.run(&["keys", "list"]), "chmod 600");
}

#[test]
fn people_need_the_master_key_and_verifying_the_log_does_not() {
    let target = Target::sqlite();
    target.ok(&["org", "create", "Acme"]);
    let key = target.dir.path().join("data").join("master.key");
    assert!(key.exists(), "the seal of personal data needs it");
    let export = target.ok(&["events", "export"]);
    assert!(!export.contains("key.generated"), "no signing key was made");
    std::fs::remove_file(&key).unwrap();
    target.ok(&["audit", "verify"]);
    target.ok(&["events", "export"]);
    assert!(
        !key.exists(),
        "verifying and exporting read the log as stored"
    );
    // Another master key is refused rather than used.
    assert_clear_error(&target.run(&["org", "list"]), "sealed under another one");
}

#[test]
fn the_signing_benchmark_reports_a_rate() {
    let target = Target::sqlite();
    let report = json_lines(&target.ok(&["bench", "sign", "--alg", "EdDSA", "--seconds", "1"]));
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["alg"], "EdDSA");
    assert_eq!(report[0]["threads"], 1);
    assert!(report[0]["signatures_per_second"].as_f64().unwrap() > 0.0);
}
