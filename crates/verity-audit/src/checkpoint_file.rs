//! The checkpoint file: every checkpoint this node records, one JSON line each, appended
//! outside the database directory (`[audit] checkpoint_file`). It is what shows a log cut
//! or rewritten after its newest checkpoint: the database's writers cannot take a line
//! back out of it.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use verity_domain::audit::Checkpoint;

use crate::checkpoint::to_line;
use crate::log::AuditError;
use crate::tampering::Tampering;
use crate::verifier::External;

/// How much of the file's end [`read_newest`] reads: far more than one line.
const TAIL: u64 = 64 * 1024;

/// Appends `checkpoint` as one line and makes it durable. Creates the file (and its
/// directory) when missing.
pub fn append(path: &Path, checkpoint: &Checkpoint) -> Result<(), AuditError> {
    let what = || format!("cannot append to the checkpoint file {}", path.display());
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(AuditError::io(what()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(AuditError::io(what()))?;
    // One write of the whole line: appends of several processes do not interleave.
    file.write_all(format!("{}\n", to_line(checkpoint)).as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(AuditError::io(what()))
}

/// Every checkpoint of a file, with its `FILE:LINE`. A line that is not a checkpoint is
/// reported as tampering: nothing else is ever written there.
pub fn read_all(path: &Path) -> Result<Vec<External>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(AuditError::io(format!(
        "cannot read the checkpoint file {}",
        path.display()
    )))?;
    parse(&path.display().to_string(), &text, 1)
}

/// The newest (last) checkpoint of a file, or `None` when the file does not exist or is
/// empty. Reads only the file's end.
pub fn read_newest(path: &Path) -> Result<Option<External>, AuditError> {
    let what = || format!("cannot read the checkpoint file {}", path.display());
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(AuditError::io(what())(error)),
    };
    let length = file.metadata().map_err(AuditError::io(what()))?.len();
    let start = length.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))
        .map_err(AuditError::io(what()))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)
        .map_err(AuditError::io(what()))?;
    // Lines are counted from the end here: the origin says "last line".
    let last = tail.lines().rev().find(|line| !line.trim().is_empty());
    let Some(last) = last else { return Ok(None) };
    let origin = format!("{} (last line)", path.display());
    Ok(parse(&origin, last, 0)?.into_iter().next())
}

/// Parses checkpoint lines; `first_line` numbers them (0: the origin is used as is).
pub fn parse(origin: &str, text: &str, first_line: usize) -> Result<Vec<External>, AuditError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let origin = if first_line == 0 {
                origin.to_owned()
            } else {
                format!("{origin}:{}", index + first_line)
            };
            match serde_json::from_str::<Checkpoint>(line.trim()) {
                Ok(checkpoint) => Ok(External { origin, checkpoint }),
                Err(error) => Err(AuditError::Tampered(Tampering::UnreadableExternal {
                    origin,
                    reason: error.to_string(),
                })),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::sign;
    use crate::key::{AuditKey, SEED_LEN};

    #[test]
    fn appended_checkpoints_read_back_in_order_and_the_newest_from_the_end() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("audit").join("checkpoints.jsonl");
        assert_eq!(read_newest(&path).unwrap(), None);
        let key = AuditKey::from_seed([3; SEED_LEN]);
        let checkpoints: Vec<Checkpoint> = (1..=3)
            .map(|position| {
                sign(
                    &key,
                    position,
                    &[position as u8; 32],
                    chrono::DateTime::UNIX_EPOCH,
                )
            })
            .collect();
        for checkpoint in &checkpoints {
            append(&path, checkpoint).unwrap();
        }
        let read = read_all(&path).unwrap();
        assert_eq!(
            read.iter()
                .map(|e| e.checkpoint.clone())
                .collect::<Vec<_>>(),
            checkpoints
        );
        assert!(read[1].origin.ends_with("checkpoints.jsonl:2"));
        let newest = read_newest(&path).unwrap().unwrap();
        assert_eq!(newest.checkpoint, checkpoints[2]);
    }

    #[test]
    fn a_line_that_is_not_a_checkpoint_is_tampering() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("checkpoints.jsonl");
        std::fs::write(&path, "{\"position\":1}\n").unwrap();
        let error = read_all(&path).unwrap_err();
        assert!(
            matches!(&error, AuditError::Tampered(Tampering::UnreadableExternal { origin, .. }) if origin.ends_with(":1")),
            "{error}"
        );
    }
}
