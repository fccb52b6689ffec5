//! Verifying a bundle: the small files first, then `events.jsonl` streamed line by line
//! through the verifier, so a bundle of any size is checked in constant memory.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;

use flate2::read::GzDecoder;

use super::format::{CHECKPOINTS, EVENTS, FORMAT, KEY, MANIFEST, Manifest, README, ROOT};
use crate::checkpoint_file;
use crate::key::AuditPublicKey;
use crate::log::AuditError;
use crate::verifier::{External, Report, Verifier};

/// Checks the bundle at `path` against the pinned key and the checkpoints `extra` (kept
/// by the auditor: they count as much as the bundle's own).
pub fn verify_bundle(
    path: &Path,
    pinned: &AuditPublicKey,
    extra: Vec<External>,
) -> Result<Report, AuditError> {
    let reading = || format!("cannot read the bundle {}", path.display());
    let file = std::fs::File::open(path).map_err(AuditError::io(reading()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let entries = archive.entries().map_err(AuditError::io(reading()))?;
    let mut manifest: Option<Manifest> = None;
    let mut externals = extra;
    let mut seen = Vec::new();
    let mut report = None;
    for entry in entries {
        let mut entry = entry.map_err(AuditError::io(reading()))?;
        let name = entry
            .path()
            .map_err(AuditError::io(reading()))?
            .strip_prefix(ROOT)
            .map_err(|_| AuditError::Bundle(format!("a file outside {ROOT}/")))?
            .to_string_lossy()
            .into_owned();
        if seen.contains(&name) || report.is_some() {
            return Err(AuditError::Bundle(format!(
                "{name} is there twice, or after the events"
            )));
        }
        seen.push(name.clone());
        match name.as_str() {
            EVENTS => {
                let Some(manifest) = &manifest else {
                    return Err(AuditError::Bundle(format!(
                        "{EVENTS} comes before {MANIFEST}"
                    )));
                };
                if manifest.key != pinned.fingerprint() {
                    return Err(AuditError::Bundle(format!(
                        "it was written with the audit key {}, not the pinned key {}",
                        manifest.key,
                        pinned.fingerprint()
                    )));
                }
                let verifier = Verifier::new(Some(pinned.clone()), std::mem::take(&mut externals))?;
                report = Some(check_events(&mut entry, verifier)?);
            }
            MANIFEST | KEY | CHECKPOINTS | README => {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(AuditError::io(format!("cannot read {name} in the bundle")))?;
                match name.as_str() {
                    MANIFEST => manifest = Some(read_manifest(&text)?),
                    KEY => check_key(&text, pinned)?,
                    CHECKPOINTS => externals.extend(checkpoint_file::parse(
                        &format!("bundle {CHECKPOINTS}"),
                        &text,
                        1,
                    )?),
                    _ => {}
                }
            }
            other => return Err(AuditError::Bundle(format!("an unexpected file {other}"))),
        }
    }
    let (Some(report), Some(manifest)) = (report, manifest) else {
        return Err(AuditError::Bundle(format!("no {EVENTS} or no {MANIFEST}")));
    };
    if (report.events, report.head.as_str()) != (manifest.events, manifest.head.as_str()) {
        return Err(AuditError::Bundle(format!(
            "the manifest says {} events with head {}, {EVENTS} holds {} with head {}",
            manifest.events, manifest.head, report.events, report.head
        )));
    }
    Ok(report)
}

fn read_manifest(text: &str) -> Result<Manifest, AuditError> {
    let manifest: Manifest = serde_json::from_str(text)
        .map_err(|error| AuditError::Bundle(format!("{MANIFEST}: {error}")))?;
    if manifest.format != FORMAT {
        return Err(AuditError::Bundle(format!(
            "format {:?}, this verity reads {FORMAT:?}",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// The bundle's key is informational; one that differs from the pinned key is refused.
fn check_key(text: &str, pinned: &AuditPublicKey) -> Result<(), AuditError> {
    let key = AuditPublicKey::from_text(text)
        .map_err(|error| AuditError::Bundle(format!("{KEY}: {error}")))?;
    if key != *pinned {
        return Err(AuditError::Bundle(format!(
            "its {KEY} has the fingerprint {}, not the pinned key's {}",
            key.fingerprint(),
            pinned.fingerprint()
        )));
    }
    Ok(())
}

fn check_events(events: impl std::io::Read, mut verifier: Verifier) -> Result<Report, AuditError> {
    let mut lines = BufReader::with_capacity(1 << 20, events);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = lines.read_line(&mut line).map_err(AuditError::io(format!(
            "cannot read {EVENTS} in the bundle"
        )))?;
        if read == 0 {
            break;
        }
        number += 1;
        let event = crate::export::from_line(line.trim_end_matches('\n'))
            .map_err(|error| AuditError::Bundle(format!("{EVENTS} line {number}: {error}")))?;
        verifier.check(&event)?;
    }
    Ok(verifier.finish()?)
}
