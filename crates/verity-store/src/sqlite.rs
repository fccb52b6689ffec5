//! The embedded backend: one SQLite file in WAL mode. One writer connection with
//! `synchronous=FULL` commits batches of events (`BEGIN IMMEDIATE`, which also serialises
//! writers of other processes on the same file), so an acknowledged append is on disk; a
//! small pool serves reads and writes protocol state and snapshots with
//! `synchronous=NORMAL` (docs/adr/0004-protocol-state-durability.md).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use verity_domain::{AppendOutcome, AppendRequest, RecordedEvent, StoreError};

use crate::batch::{Appender, BatchWriter, apply};
use crate::sql::sql_backend;

/// The SQLite event store.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    appender: Appender,
}

struct Writer {
    pool: SqlitePool,
}

#[async_trait]
impl BatchWriter for Writer {
    async fn write_batch(
        &self,
        requests: &[AppendRequest],
        metadata_json: &[Vec<String>],
    ) -> Result<(Vec<Result<AppendOutcome, StoreError>>, u64), StoreError> {
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(crate::sql::map_error)?;
        let result = apply(
            &mut Tx(&mut transaction),
            requests,
            metadata_json,
            crate::clock::recorded_now(),
        )
        .await?;
        transaction.commit().await.map_err(crate::sql::map_error)?;
        Ok(result)
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database file at `path` and brings its schema up
    /// to date. Refuses a file that is not SQLite, a SQLite file of another application,
    /// and a schema newer than this binary.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        restrict_to_owner(path)?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(crate::sql::map_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let describe = |error: StoreError| match error {
            StoreError::Corrupt(message) => {
                StoreError::Corrupt(format!("{}: {message}", path.display()))
            }
            other => other,
        };
        let writer_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(crate::sql::map_error)
            .map_err(describe)?;
        crate::migrations::run(
            &writer_pool,
            crate::migrations::SQLITE,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .await
        .map_err(describe)?;
        // The pool writes only protocol state and snapshots, never events: see
        // docs/adr/0004-protocol-state-durability.md.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(crate::sql::map_error)?;
        let head = read_head(&pool).await?;
        Ok(Self {
            pool,
            appender: Appender::spawn(Writer { pool: writer_pool }, head),
        })
    }

    /// The read pool, for maintenance commands and tests that inspect the file.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The database and its `-wal` and `-shm` files hold the log, every secret's hash and
/// the protocol state: only their owner may read them. A missing database is created
/// empty with mode 0600 before SQLite opens it (SQLite gives the `-wal` and `-shm` files
/// it creates the database's mode); existing files that group or others may read or
/// write are restricted to 0600.
fn restrict_to_owner(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let failed = |file: &Path, error: std::io::Error| {
            StoreError::Unavailable(format!("{}: {error}", file.display()))
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true).mode(0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(failed(path, error)),
        }
        let mut files = vec![path.to_owned()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files {
            let metadata = match std::fs::metadata(&file) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(failed(&file, error)),
            };
            if metadata.is_file() && metadata.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|error| failed(&file, error))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Pages smaller than this are read row by row.
const PACKED_FROM: usize = 256;

/// Separates the events of a packed page (the record separator, one byte in UTF-8).
const ROW_SEPARATOR: u8 = 0x1e;
/// Separates the fields of a packed event (the unit separator).
const FIELD_SEPARATOR: u8 = 0x1f;

/// The parts of `text` between `separator` bytes (an ASCII character, so every part is
/// text), found with SIMD: a replay splits every byte of the log twice, and the packed
/// runs of person keys (`personal/keys.rs`) the same way.
pub(crate) fn parts(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(separator, text.as_bytes())
        .chain(std::iter::once(text.len()))
        .map(move |end| {
            let part = text.get(start..end).unwrap_or_default();
            start = end + 1;
            part
        })
}

/// Reads a page of the log as one text built inside SQLite: the events' fields joined
/// by control characters (record and unit separators), which no field can contain — data
/// and metadata are JSON (control characters must be escaped there), stream names and
/// event types are refused with them (`batch.rs`), the rest are numbers and hex.
///
/// sqlx hands SQLite rows one by one from its worker thread, which caps a full read near
/// 150,000 events/s; one value per page is split here several times faster than JSON
/// (which SQLite had to escape and this side to unescape). Replay, catch-up and `audit
/// verify` read this way. A page whose text does not split into exactly the counted rows
/// of nine fields (a row edited behind Verity's back) is reported as corrupt.
async fn read_all_packed(
    pool: &SqlitePool,
    after: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    if limit < PACKED_FROM {
        return read_all(pool, after, limit).await;
    }
    let row = sqlx::query(
        "SELECT count(*), group_concat(concat_ws(char(31), position, stream, version, \
         event_type, schema_version, data, metadata, recorded_at, hex(hash)), char(30)) \
         FROM (SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?)",
    )
    .bind(crate::sql::to_i64(after)?)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await
    .map_err(crate::sql::map_error)?;
    // The page's text is borrowed from the row, not copied out of it: each event's
    // fields are copied once, into the event.
    let count: i64 = row.try_get(0).map_err(crate::sql::map_error)?;
    let packed: Option<&str> = row.try_get(1).map_err(crate::sql::map_error)?;
    let corrupt = || StoreError::Corrupt(format!("unreadable page after position {after}"));
    let Some(packed) = packed else {
        return if count == 0 {
            Ok(Vec::new())
        } else {
            Err(corrupt())
        };
    };
    let mut events = parts(packed, ROW_SEPARATOR)
        .map(|row| unpack(row).ok_or_else(corrupt)?)
        .collect::<Result<Vec<_>, StoreError>>()?;
    if i64::try_from(events.len()) != Ok(count) {
        return Err(corrupt());
    }
    events.sort_unstable_by_key(|event| event.position);
    Ok(events)
}

/// One packed event: nine fields, the hash in hex (SQLite writes it upper case).
fn unpack(row: &str) -> Option<Result<RecordedEvent, StoreError>> {
    let mut fields = parts(row, FIELD_SEPARATOR);
    let position = fields.next()?.parse::<i64>().ok()?;
    let stream = fields.next()?.to_owned();
    let version = fields.next()?.parse::<i64>().ok()?;
    let event_type = fields.next()?.to_owned();
    let schema = fields.next()?.parse::<i64>().ok()?;
    let data = fields.next()?.to_owned();
    let metadata = fields.next()?.to_owned();
    let recorded_at = fields.next()?.parse::<i64>().ok()?;
    let hash = fields.next()?.to_ascii_lowercase();
    if fields.next().is_some() {
        return None;
    }
    let row = (
        position,
        stream,
        version,
        event_type,
        schema,
        data,
        metadata,
        recorded_at,
        Vec::new(),
    );
    Some(crate::sql::into_event(row).map(|mut event| {
        event.hash = hash;
        event
    }))
}

sql_backend! {
    database: sqlx::Sqlite,
    head: "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
    claim: "INSERT INTO unique_keys (key, stream, position) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
    key_holder: "SELECT stream FROM unique_keys WHERE key = ?",
    release: "DELETE FROM unique_keys WHERE key = ? AND stream = ?",
    read_stream: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE stream = ? ORDER BY version",
    read_stream_back: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE stream = ? ORDER BY version DESC LIMIT ?",
    read_all: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE position > ? ORDER BY position LIMIT ?",
    read_all_with: read_all_packed,
    // Each bound walks the positions from its end of the log until an event of the range
    // (SQLite's `min`/`max` over the primary key): no index of times to keep on append.
    recorded_within: "SELECT (SELECT min(position) FROM events WHERE recorded_at >= ?1), (SELECT max(position) FROM events WHERE recorded_at < ?2)",
    load_snapshot: "SELECT version, position, data, chain_hash, seal FROM snapshots WHERE name = ?",
    save_snapshot: "INSERT INTO snapshots (name, version, position, data, chain_hash, seal) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position, data = excluded.data, chain_hash = excluded.chain_hash, seal = excluded.seal",
    store: SqliteStore,
    // Appends of this process wake waiters at once; other processes' are seen by polling.
    poll_every: Duration::from_millis(50),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_what_splitting_at_the_separator_gives() {
        for text in [
            "",
            "a",
            "\u{1e}",
            "a\u{1e}b",
            "\u{1e}a\u{1e}\u{1e}b\u{1e}",
            "é\u{1f}漢\u{1e}😀\u{1f}",
            ";a,b;;c,",
        ] {
            for separator in [ROW_SEPARATOR, FIELD_SEPARATOR, b';', b','] {
                let expected: Vec<&str> = text.split(char::from(separator)).collect();
                assert_eq!(
                    parts(text, separator).collect::<Vec<_>>(),
                    expected,
                    "{text:?}"
                );
            }
        }
    }

    /// One batch whose appends make persons' keys: the first key made for a person is
    /// stored and any other append of the batch making one for them is refused; an append
    /// refused for another reason takes the key it made away with it; the rest keep theirs.
    #[tokio::test]
    async fn a_batch_stores_the_keys_of_the_appends_it_accepts() {
        use uuid::Uuid;
        use verity_domain::personal::{PersonKeys, StoredKey};
        use verity_domain::{EventMetadata, ExpectedVersion, NewEvent};

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("verity.db"))
            .await
            .unwrap();
        let (ada, bea, cat) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let append = |stream: &str, expected, keys: &[(Uuid, u8)]| {
            let metadata = EventMetadata {
                actor: verity_domain::Actor::System,
                request_id: None,
                client_ip: None,
                occurred_at: chrono::DateTime::UNIX_EPOCH,
            };
            let mut request = AppendRequest::new(
                stream,
                expected,
                vec![NewEvent {
                    event_type: "test.happened".into(),
                    schema: 1,
                    data: "{}".into(),
                    metadata,
                }],
            );
            request.person_keys = keys
                .iter()
                .map(|(subject, byte)| (*subject, vec![*byte; 61]))
                .collect();
            request
        };
        let requests = [
            append("a", ExpectedVersion::NoStream, &[(ada, 1)]),
            append("b", ExpectedVersion::NoStream, &[(ada, 2)]),
            append("c", ExpectedVersion::Exact(7), &[(bea, 3)]),
            append("d", ExpectedVersion::NoStream, &[(cat, 4), (bea, 5)]),
        ];
        let metadata: Vec<Vec<String>> = requests
            .iter()
            .map(|request| crate::batch::metadata_json(request).unwrap())
            .collect();
        let writer = Writer {
            pool: store.pool().clone(),
        };
        let (outcomes, head) = writer.write_batch(&requests, &metadata).await.unwrap();
        assert!(outcomes[0].is_ok());
        assert!(matches!(
            outcomes[1],
            Err(StoreError::PersonKeyExists { subject }) if subject == ada
        ));
        assert!(matches!(outcomes[2], Err(StoreError::Conflict { .. })));
        assert!(
            matches!(
                outcomes[3],
                Err(StoreError::PersonKeyExists { subject }) if subject == bea
            ),
            "bea's key was the refused append's, in the same statement"
        );
        assert_eq!(head, 1);
        let mut stored = store.person_keys(&[ada, bea, cat]).await.unwrap();
        stored.sort_by_key(|(subject, _)| *subject);
        assert_eq!(stored, vec![(ada, StoredKey::Sealed(vec![1; 61]))]);

        let again = [append(
            "d",
            ExpectedVersion::NoStream,
            &[(cat, 4), (bea, 5)],
        )];
        let (outcomes, _) = writer.write_batch(&again, &metadata[3..]).await.unwrap();
        assert!(outcomes[0].is_ok());
        let mut stored = store.person_keys(&[bea, cat]).await.unwrap();
        stored.sort_by_key(|(subject, _)| *subject);
        assert_eq!(
            stored,
            vec![
                (bea, StoredKey::Sealed(vec![5; 61])),
                (cat, StoredKey::Sealed(vec![4; 61]))
            ]
        );
    }
}
