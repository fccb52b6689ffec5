//! `verity audit verify` recomputes the hash chain and checks signed checkpoints against
//! it; `verity audit checkpoint` signs the head of a verified chain (docs/audit.md).
//!
//! The chain shows that no event was altered, inserted or removed *inside* the log, but
//! whoever can write the database can cut its tail off, or cut it and append other
//! events, and the chain stays whole. A checkpoint — the position and hash of the head,
//! signed with the issuer's key — kept somewhere the database's operators cannot write,
//! shows both: the log must still hold that event, with that hash.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Map, Value, json};
use verity_domain::EventStore;
use verity_domain::key::SigningAlgorithm;
use verity_oidc::keys::{KeyRing, decode_header};
use verity_store::chain::{self, ChainReport, VerifyError};

use super::{EXIT_CHAIN_BROKEN, print_json};
use crate::app::App;
use crate::config::Config;

/// The `typ` of a checkpoint's JWS header: it is neither an ID nor an access token.
const CHECKPOINT_TYP: &str = "verity-checkpoint+jwt";

/// `verity audit verify [--checkpoint FILE ...]`.
pub(super) async fn verify(
    config: Config,
    json: bool,
    checkpoints: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(&config).await?;
    let report = match chain::verify(store.as_ref(), |_| {}).await {
        Ok(report) => report,
        Err(VerifyError::Broken(broken)) => {
            return broken_log(json, &format!("chain broken: {broken}"), &[]);
        }
        Err(VerifyError::Store(error)) => return Err(error.into()),
    };
    let mut checked = Vec::new();
    if !checkpoints.is_empty() {
        let app = App::open(config).await?;
        let ring = app
            .projector
            .read(|models| KeyRing::verifying_every_key(&models.keys))?;
        for path in checkpoints {
            for (line, token) in read_checkpoints(path)? {
                let place = format!("{}:{line}", path.display());
                match check(app.raw.as_ref(), &ring, &report, token).await? {
                    Ok(position) => {
                        checked.push(json!({ "checkpoint": place, "position": position }))
                    }
                    Err(problem) => {
                        return broken_log(
                            json,
                            &format!("checkpoint {place}: {problem}"),
                            &checked,
                        );
                    }
                }
            }
        }
    }
    if json {
        print_json(&json!({
            "valid": true, "events": report.events, "head": report.head, "checkpoints": checked,
        }));
    } else {
        println!("{} events, head {}", report.events, report.head);
        for checkpoint in &checked {
            println!(
                "checkpoint {} at position {}: the log holds it",
                checkpoint["checkpoint"].as_str().unwrap_or_default(),
                checkpoint["position"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reports a log that does not verify and exits with [`EXIT_CHAIN_BROKEN`].
fn broken_log(json: bool, problem: &str, checked: &[Value]) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&json!({ "valid": false, "error": problem, "checkpoints": checked }));
    } else {
        eprintln!("{problem}");
    }
    Ok(ExitCode::from(EXIT_CHAIN_BROKEN))
}

/// The checkpoints of a file: one compact JWS per non-empty line, with its line number.
fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoint file {}", path.display()))?;
    let tokens: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, line.trim().to_owned()))
        .collect();
    if tokens.is_empty() {
        anyhow::bail!("{} holds no checkpoint", path.display());
    }
    Ok(tokens)
}

/// Whether the verified log holds what `token` signed: `Ok(position)`, or what is wrong.
async fn check(
    store: &dyn EventStore,
    ring: &KeyRing,
    report: &ChainReport,
    token: String,
) -> anyhow::Result<Result<u64, String>> {
    let typ = decode_header(&token)
        .ok()
        .and_then(|header| header.get("typ").and_then(Value::as_str).map(str::to_owned));
    if typ.as_deref() != Some(CHECKPOINT_TYP) {
        return Ok(Err(format!(
            "not a checkpoint (typ must be {CHECKPOINT_TYP})"
        )));
    }
    let claims = match ring.verify(&token) {
        Ok(claims) => claims,
        Err(error) => {
            return Ok(Err(format!(
                "its signature does not verify with any key the log recorded ({error})"
            )));
        }
    };
    let (Some(position), Some(hash)) = (
        claims.get("position").and_then(Value::as_u64),
        claims.get("hash").and_then(Value::as_str),
    ) else {
        return Ok(Err("it names no position and hash".to_owned()));
    };
    if position > report.events {
        return Ok(Err(format!(
            "the log ends at position {}, before the checkpoint's position {position}: events were removed",
            report.events
        )));
    }
    let held = store
        .read_all(position.saturating_sub(1), 1)
        .await?
        .into_iter()
        .next()
        .filter(|event| event.position == position)
        .map(|event| event.hash);
    match held {
        Some(held) if held == hash => Ok(Ok(position)),
        Some(held) => Ok(Err(format!(
            "the event at position {position} has hash {held}, the checkpoint signed {hash}: the log was rewritten"
        ))),
        None => Ok(Err(format!(
            "the log holds no event at position {position}"
        ))),
    }
}

/// `verity audit checkpoint`: verifies the chain, then signs its head with the issuer's
/// active key and prints the compact JWS (one line, to keep outside the database).
pub(super) async fn checkpoint(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let app = App::open(config).await?;
    // Keys first: a log without any gets them now, and the checkpoint covers their events.
    let shared = crate::signing::key_ring(&app).await?;
    let report = match chain::verify(app.raw.as_ref(), |_| {}).await {
        Ok(report) => report,
        Err(VerifyError::Broken(broken)) => {
            eprintln!("chain broken: {broken}; no checkpoint signed");
            return Ok(ExitCode::from(EXIT_CHAIN_BROKEN));
        }
        Err(VerifyError::Store(error)) => return Err(error.into()),
    };
    let ring = crate::signing::current_ring(&app, &shared)?;
    let alg = SigningAlgorithm::ALL
        .into_iter()
        .find(|alg| ring.active_kid(*alg).is_some())
        .context("no active signing key to sign the checkpoint with")?;
    let issued_at = crate::app::now();
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::String(app.config.public_url()));
    claims.insert("position".into(), Value::from(report.events));
    claims.insert("hash".into(), Value::String(report.head.clone()));
    claims.insert("iat".into(), Value::from(issued_at.timestamp()));
    let token = ring.sign(alg, Some(CHECKPOINT_TYP), &claims)?;
    if json {
        print_json(&json!({
            "position": report.events, "hash": report.head, "issued_at": issued_at, "checkpoint": token,
        }));
    } else {
        println!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}
