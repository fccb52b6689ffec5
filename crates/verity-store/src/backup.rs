//! Online copies of the embedded store: `VACUUM INTO` from a read-only connection, while
//! the server goes on serving (docs/operations.md, "Backups and restore").
//!
//! Why `VACUUM INTO` and not SQLite's online backup API: sqlx does not expose the backup
//! API (reaching it means `unsafe` calls on the raw handle), and the API copies pages in
//! steps that start over whenever another connection writes the database — under a steady
//! stream of sign-ins a backup might never finish. `VACUUM INTO` reads the whole database
//! inside one read transaction, which in WAL mode blocks no writer, so the copy is one
//! consistent snapshot of every table (the log, unique keys, snapshots, protocol state)
//! however busy the server is. Its costs — the copy is rebuilt table by table, and the WAL
//! cannot be checkpointed past the reader until it ends — are a few seconds per hundred
//! megabytes.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use verity_domain::StoreError;

/// What a copy holds: its last position and that event's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedLog {
    /// The position of the last event in the copy (0: an empty log).
    pub head: u64,
    /// That event's hash, hex (empty for an empty log).
    pub head_hash: String,
}

/// Copies the SQLite store at `source` into a new file `out`, consistently, while other
/// processes read and write `source`. `out` must not exist: it is written under a
/// temporary name beside it (mode 0600, since it holds everything the store holds),
/// checked with `PRAGMA integrity_check`, flushed to disk, and only then given its name;
/// a failed copy leaves nothing behind.
pub async fn copy_sqlite(source: &Path, out: &Path) -> Result<CopiedLog, StoreError> {
    if !source.is_file() {
        return Err(StoreError::Unavailable(format!(
            "no database at {}",
            source.display()
        )));
    }
    // Empty and 0600: VACUUM INTO fills an empty file and keeps its mode.
    let partial = NewFile::beside(out)?;
    let mut reader = connect(source).await?;
    ensure_verity_store(&mut reader, source).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(partial.path().to_string_lossy().into_owned())
        .execute(&mut reader)
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot copy {}: {error}", source.display()))
        })?;
    reader.close().await.map_err(crate::sql::map_error)?;
    let copied = check_copy(partial.path()).await?;
    partial.finish()?;
    Ok(copied)
}

/// Puts the backup `file` in place as the store `target` (which must not exist): checked
/// first (a Verity store that passes `PRAGMA integrity_check`), then copied under a
/// temporary name beside `target` with mode 0600, flushed, and renamed. A failed restore
/// leaves nothing at `target`.
pub async fn install_copy(file: &Path, target: &Path) -> Result<CopiedLog, StoreError> {
    let copied = check_copy(file).await?;
    let mut partial = NewFile::beside(target)?;
    let mut backup = std::fs::File::open(file).map_err(|error| {
        StoreError::Unavailable(format!("cannot read {}: {error}", file.display()))
    })?;
    std::io::copy(&mut backup, partial.file.as_file_mut())
        .map_err(|error| partial.failed(error))?;
    partial.finish()?;
    Ok(copied)
}

/// Checks a finished copy: SQLite's own consistency check, and its head.
pub async fn check_copy(path: &Path) -> Result<CopiedLog, StoreError> {
    let mut copy = connect(path).await?;
    ensure_verity_store(&mut copy, path).await?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .map_err(crate::sql::map_error)?;
    if integrity != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{}: integrity check failed: {integrity}",
            path.display()
        )));
    }
    let head: Option<(i64, String)> = sqlx::query_as(
        "SELECT position, lower(hex(hash)) FROM events ORDER BY position DESC LIMIT 1",
    )
    .fetch_optional(&mut copy)
    .await
    .map_err(crate::sql::map_error)?;
    copy.close().await.map_err(crate::sql::map_error)?;
    let (head, head_hash) = match head {
        Some((position, hash)) => (crate::sql::to_u64(position)?, hash),
        None => (0, String::new()),
    };
    Ok(CopiedLog { head, head_hash })
}

/// A read-only connection: a backup never writes what it copies from.
async fn connect(path: &Path) -> Result<SqliteConnection, StoreError> {
    let describe = |error: sqlx::Error| match crate::sql::map_error(error) {
        StoreError::Corrupt(message) => {
            StoreError::Corrupt(format!("{}: {message}", path.display()))
        }
        StoreError::Unavailable(message) => {
            StoreError::Unavailable(format!("{}: {message}", path.display()))
        }
        other => other,
    };
    SqliteConnectOptions::from_str("sqlite:")
        .map_err(describe)?
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(describe)
}

/// Refuses a file that is not a Verity store before anything is copied from or to it.
async fn ensure_verity_store(
    connection: &mut SqliteConnection,
    path: &Path,
) -> Result<(), StoreError> {
    let tables: Result<Vec<(String,)>, _> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'")
            .fetch_all(&mut *connection)
            .await;
    match tables {
        Ok(tables) if !tables.is_empty() => Ok(()),
        Ok(_) => Err(StoreError::Incompatible(format!(
            "{} is not a Verity store (it has no event log)",
            path.display()
        ))),
        Err(error) => Err(match crate::sql::map_error(error) {
            StoreError::Corrupt(message) => {
                StoreError::Corrupt(format!("{}: {message}", path.display()))
            }
            other => other,
        }),
    }
}

/// A new file written under a temporary name beside where it goes (mode 0600), and given
/// its name only once it is whole and on disk; dropped unfinished, it is removed.
struct NewFile {
    file: tempfile::NamedTempFile,
    target: std::path::PathBuf,
}

impl NewFile {
    /// An empty file beside `target`, which must not exist.
    fn beside(target: &Path) -> Result<Self, StoreError> {
        if target.exists() {
            return Err(StoreError::Invalid(format!(
                "{} already exists: it is never overwritten",
                target.display()
            )));
        }
        let directory = directory_of(target);
        let file = tempfile::Builder::new()
            .prefix(".verity-")
            .suffix(".partial")
            .tempfile_in(directory)
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot write in {}: {error}", directory.display()))
            })?;
        Ok(Self {
            file,
            target: target.to_owned(),
        })
    }

    fn path(&self) -> &Path {
        self.file.path()
    }

    fn failed(&self, error: std::io::Error) -> StoreError {
        StoreError::Unavailable(format!("cannot write {}: {error}", self.target.display()))
    }

    /// Flushes the file, gives it its name (refusing a file that appeared there
    /// meanwhile) and flushes the directory.
    fn finish(self) -> Result<(), StoreError> {
        self.file
            .as_file()
            .sync_all()
            .map_err(|error| self.failed(error))?;
        let Self { file, target } = self;
        file.persist_noclobber(&target).map_err(|error| {
            StoreError::Unavailable(format!(
                "cannot write {}: {}",
                target.display(),
                error.error
            ))
        })?;
        sync_directory(directory_of(&target));
        Ok(())
    }
}

/// The directory a file is in (the current one for a bare name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Flushes a directory entry (the new name) to disk, where the platform allows it.
fn sync_directory(directory: &Path) {
    if let Ok(handle) = std::fs::File::open(directory) {
        let _ = handle.sync_all();
    }
}
