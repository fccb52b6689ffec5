//! `verity audit verify`: the chain and every checkpoint, with the pinned key, over the
//! database or over a bundle; then how old the newest checkpoint is.

use crate::commands::output::say;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;
use verity_audit::log::verify_store;
use verity_audit::{AuditError, AuditPublicKey, External, Report, Verifier, checkpoint_file};

use super::refusal::refused;
use crate::cli::VerifyArgs;
use crate::commands::output::{print_json, progress_bar};
use crate::config::Config;

pub(super) async fn run(config: Config, args: VerifyArgs, json: bool) -> anyhow::Result<ExitCode> {
    let pinned = args
        .public_key
        .as_deref()
        .map(read_public_key)
        .transpose()?;
    if pinned.is_none() && (args.bundle.is_some() || !args.checkpoints.is_empty()) {
        anyhow::bail!(
            "--bundle and --checkpoints need --public-key FILE: the audit key you pinned \
             (`verity audit key` prints it)"
        );
    }
    let externals: Result<Vec<External>, AuditError> =
        args.checkpoints
            .iter()
            .try_fold(Vec::new(), |mut all, path| {
                all.extend(checkpoint_file::read_all(path)?);
                Ok(all)
            });
    let started = Instant::now();
    let verification = match (externals, &args.bundle, pinned) {
        (Err(error), _, _) => Verification::Refused(error),
        (Ok(externals), Some(bundle), Some(pinned)) => {
            let bundle = bundle.clone();
            tokio::task::spawn_blocking(move || {
                verity_audit::bundle::verify_bundle(&bundle, &pinned, externals)
            })
            .await?
            .into()
        }
        (Ok(externals), _, pinned) => verify_database(&config, pinned, externals, json).await?,
    };
    match verification {
        Verification::Verified(report) => {
            print_report(&report, started.elapsed().as_secs_f64(), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Verification::Refused(error) => refused(error, json),
    }
}

/// What the verifier answered, once it could run: a report, or its refusal (a log or
/// bundle that does not verify, or a failure it met), which `refused` tells apart.
enum Verification {
    Verified(Report),
    Refused(AuditError),
}

impl From<Result<Report, AuditError>> for Verification {
    fn from(verified: Result<Report, AuditError>) -> Self {
        match verified {
            Ok(report) => Self::Verified(report),
            Err(error) => Self::Refused(error),
        }
    }
}

fn read_public_key(path: &Path) -> anyhow::Result<AuditPublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the public key {}", path.display()))?;
    AuditPublicKey::from_text(&text).with_context(|| format!("{}", path.display()))
}

async fn verify_database(
    config: &Config,
    pinned: Option<AuditPublicKey>,
    externals: Vec<External>,
    json: bool,
) -> anyhow::Result<Verification> {
    let store = crate::app::open_store(config).await?;
    let verifier = match Verifier::new(pinned, externals) {
        Ok(verifier) => verifier,
        Err(tampering) => return Ok(Verification::Refused(tampering.into())),
    };
    let bar = progress_bar(store.head().await?, json);
    let verified = verify_store(store.as_ref(), verifier, |position| {
        bar.set_position(position)
    })
    .await;
    bar.finish_and_clear();
    Ok(verified.into())
}

fn print_report(report: &Report, seconds: f64, json: bool) -> anyhow::Result<()> {
    let now = crate::app::now();
    let rate = (report.events as f64 / seconds.max(f64::EPSILON)).round();
    let newest = report.newest.as_ref().map(|newest| {
        let age = report.newest_age(now).unwrap_or_default();
        (newest, age)
    });
    if json {
        print_json(&json!({
            "valid": true,
            "events": report.events,
            "head": report.head,
            "seconds": seconds,
            "events_per_second": rate,
            "key": report.key,
            "checkpoints": { "log": report.log_checkpoints, "external": report.external_checkpoints },
            "newest_checkpoint": newest.map(|(newest, age)| json!({
                "position": newest.checkpoint.position,
                "hash": newest.checkpoint.hash,
                "signed_at": newest.checkpoint.signed_at,
                "age_seconds": age.num_seconds(),
                "origin": newest.origin,
            })),
            "events_after_newest_checkpoint": report.after_newest(),
        }))?;
        return Ok(());
    }
    say!("{} events, head {}", report.events, report.head);
    match &report.key {
        Some(key) => say!(
            "checkpoints: {} in the log and {} kept outside, every one signed by the pinned key {key} and still matching the log",
            report.log_checkpoints,
            report.external_checkpoints
        ),
        None => say!(
            "checkpoints: {} in the log, signatures NOT checked (give --public-key FILE: the audit key you pinned)",
            report.log_checkpoints
        ),
    }
    match newest {
        Some((newest, age)) => say!(
            "newest checkpoint: position {}, signed {} ({} ago, {}); events after it, protected by the chain alone: {}",
            newest.checkpoint.position,
            newest
                .checkpoint
                .signed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            human(age),
            newest.origin,
            report.after_newest()
        ),
        None => say!("no checkpoint: nothing in this log is signed"),
    }
    say!("verified in {seconds:.2} s ({rate} events/s)");
    Ok(())
}

/// A duration for people: the two largest units.
fn human(age: chrono::Duration) -> String {
    let seconds = age.num_seconds().max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, minutes) => format!("{minutes} min {} s", seconds % 60),
        (0, hours, minutes) => format!("{hours} h {minutes} min"),
        (days, hours, _) => format!("{days} d {hours} h"),
    }
}
