//! Writing a bundle: the events go to a temporary file first (a tar entry states its size
//! up front), then everything into `<out>.partial`, renamed to `<out>` once complete.

use std::io::{BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use verity_domain::EventStore;
use verity_store::chain::{GENESIS, PAGE};

use super::format::{CHECKPOINTS, EVENTS, FORMAT, KEY, MANIFEST, Manifest, README, ROOT};
use crate::key::AuditPublicKey;
use crate::log::AuditError;

/// Writes the whole log, the checkpoint file's text (`checkpoints`, empty when the node
/// keeps none) and the public key into a bundle at `out`.
pub async fn write_bundle(
    store: &dyn EventStore,
    key: &AuditPublicKey,
    checkpoints: &str,
    out: &Path,
    now: DateTime<Utc>,
) -> Result<Manifest, AuditError> {
    let scratch = || format!("cannot write a temporary file for {}", out.display());
    let mut events = BufWriter::new(tempfile::tempfile().map_err(AuditError::io(scratch()))?);
    let mut count = 0;
    let mut head = hex::encode(GENESIS);
    loop {
        let page = store.read_all(count, PAGE).await?;
        let Some(last) = page.last() else { break };
        count = last.position;
        head.clone_from(&last.hash);
        for event in &page {
            let line = crate::export::to_line(event)
                .map_err(|error| AuditError::Bundle(error.to_string()))?;
            writeln!(events, "{line}").map_err(AuditError::io(scratch()))?;
        }
    }
    let mut events = events
        .into_inner()
        .map_err(|error| AuditError::io(scratch())(error.into_error()))?;
    let events_size = events
        .seek(SeekFrom::End(0))
        .map_err(AuditError::io(scratch()))?;
    events
        .seek(SeekFrom::Start(0))
        .map_err(AuditError::io(scratch()))?;

    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created_at: now,
        events: count,
        head: head.to_ascii_lowercase(),
        key: key.fingerprint().to_owned(),
        checkpoints: checkpoints
            .lines()
            .filter(|line| !line.trim().is_empty())
            .count() as u64,
    };
    let readme = include_str!("README.md")
        .replace("{created_at}", &now.to_rfc3339())
        .replace("{events}", &count.to_string())
        .replace("{head}", &manifest.head)
        .replace("{fingerprint}", key.fingerprint());
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|error| AuditError::Bundle(error.to_string()))?;

    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let writing = || format!("cannot write the bundle {}", partial.display());
    let file = std::fs::File::create(&partial).map_err(AuditError::io(writing()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(BufWriter::new(file), Compression::default()));
    let mtime = u64::try_from(now.timestamp()).unwrap_or_default();
    let key_text = key.to_text();
    let small: [(&str, &[u8]); 4] = [
        (MANIFEST, &manifest_json),
        (README, readme.as_bytes()),
        (KEY, key_text.as_bytes()),
        (CHECKPOINTS, checkpoints.as_bytes()),
    ];
    for (name, bytes) in small {
        append(&mut tar, name, bytes.len() as u64, mtime, bytes)
            .map_err(AuditError::io(writing()))?;
    }
    append(&mut tar, EVENTS, events_size, mtime, events).map_err(AuditError::io(writing()))?;
    let gzip = tar.into_inner().map_err(AuditError::io(writing()))?;
    let mut buffered = gzip.finish().map_err(AuditError::io(writing()))?;
    buffered.flush().map_err(AuditError::io(writing()))?;
    let file = buffered
        .into_inner()
        .map_err(|error| AuditError::io(writing())(error.into_error()))?;
    file.sync_all().map_err(AuditError::io(writing()))?;
    std::fs::rename(&partial, out).map_err(AuditError::io(format!(
        "cannot move the bundle into place at {}",
        out.display()
    )))?;
    Ok(manifest)
}

/// Appends one regular file, readable by everyone, to the archive.
fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    mtime: u64,
    data: impl std::io::Read,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    tar.append_data(&mut header, format!("{ROOT}/{name}"), data)
}
