//! The [`PersonKeys`](verity_domain::personal::PersonKeys) port on both backends: the
//! table `person_keys` beside the log, and renaming claims in `unique_keys`. One macro
//! writes both from their SQL, as `sql.rs` does for the log.

use chrono::DateTime;
use uuid::Uuid;
use verity_domain::StoreError;
use verity_domain::personal::{KeysInOrder, StoredKey};

/// A row of `person_keys`: its place in the order keys were added, subject, sealed key,
/// when erased.
type KeyRow = (i64, String, Option<Vec<u8>>, Option<i64>);

/// A key as the store hands it over: its place, whose it is, and the key.
type Key = (u64, Uuid, StoredKey);

/// A run of `person_keys` rows packed by SQLite: how many, the place of the last, and the
/// rows one after the other ([`unpack_keys`]).
type PackedKeys = (i64, Option<i64>, Option<Vec<u8>>);

/// How a packed row of a sealed key goes on after its subject: then the key's length
/// ([`packed_length`]), then the key.
const PACKED_SEALED: u8 = b'k';
/// How a packed row of an erasure goes on after its subject: then when, in decimal
/// microseconds, up to [`PACKED_ERASED_END`].
const PACKED_ERASED: u8 = b'x';
/// The end of a packed erasure's time.
const PACKED_ERASED_END: u8 = b';';

fn into_key(row: KeyRow) -> Result<Key, StoreError> {
    let (place, subject, sealed, erased_at) = row;
    let subject = crate::sql::person_key_subject(&subject)?;
    let stored = match (sealed, erased_at) {
        (Some(sealed), _) => StoredKey::Sealed(sealed),
        (None, Some(at)) => erased_at_of(subject, at)?,
        (None, None) => {
            return Err(StoreError::Corrupt(format!(
                "person key of {subject}: neither a key nor an erasure"
            )));
        }
    };
    Ok((place_of(place)?, subject, stored))
}

/// An erasure at `at` (microseconds since the Unix epoch), checked.
fn erased_at_of(subject: Uuid, at: i64) -> Result<StoredKey, StoreError> {
    DateTime::from_timestamp_micros(at)
        .map(StoredKey::Erased)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("person key of {subject}: erased_at out of range"))
        })
}

/// A place in the order keys were added, checked not to be negative.
fn place_of(place: i64) -> Result<u64, StoreError> {
    u64::try_from(place)
        .map_err(|_| StoreError::Corrupt(format!("person_keys: the place {place} is negative")))
}

/// The keys `select` finds with its parameters on PostgreSQL.
async fn fetch_rows<'query>(
    pool: &sqlx::PgPool,
    select: sqlx::query::QueryAs<
        'query,
        sqlx::Postgres,
        KeyRow,
        <sqlx::Postgres as sqlx::Database>::Arguments,
    >,
) -> Result<KeysInOrder, StoreError> {
    let mut connection = crate::sql::Shrinking::acquire(pool).await?;
    let rows = select
        .fetch_all(&mut *connection)
        .await
        .map_err(crate::sql::map_error)?;
    let mut run = KeysInOrder::default();
    for row in rows {
        let (place, subject, stored) = into_key(row)?;
        run.last = run.last.max(Some(place));
        run.keys.push((subject, stored));
    }
    Ok(run)
}

/// The same on SQLite, where each `select` packs its rows in one value (after a count and
/// the last place): sqlx hands SQLite rows over one by one from its worker thread, and a
/// replay from the start asks for a hundred thousand keys, a page's people at a time (as
/// `sqlite::read_all_packed` reads events). A row is its subject, then the key's bytes
/// after their length or the erasure's time: no number is written as text for a key,
/// which halved SQLite's time for a replay's 100,000 keys (docs/performance.md).
async fn fetch_rows_packed<'query>(
    pool: &sqlx::SqlitePool,
    select: sqlx::query::QueryAs<
        'query,
        sqlx::Sqlite,
        PackedKeys,
        <sqlx::Sqlite as sqlx::Database>::Arguments,
    >,
) -> Result<KeysInOrder, StoreError> {
    let (count, last, packed) = select
        .fetch_one(pool)
        .await
        .map_err(crate::sql::map_error)?;
    let corrupt = || StoreError::Corrupt("unreadable rows in person_keys".into());
    let keys = unpack_keys(packed.as_deref().unwrap_or_default(), count).ok_or_else(corrupt)??;
    let last = last.map(place_of).transpose()?;
    Ok(KeysInOrder { keys, last })
}

/// A packed key's length, written by SQLite's `char()` as the character of that code
/// point (one byte for the keys Verity makes, which are shorter than 128), and the bytes
/// after it.
fn packed_length(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let width = match bytes.first()? {
        0x00..0x80 => 1,
        0xc0..0xe0 => 2,
        0xe0..0xf0 => 3,
        _ => 4,
    };
    let (character, rest) = bytes.split_at_checked(width)?;
    let length = std::str::from_utf8(character).ok()?.chars().next()?;
    Some((usize::try_from(u32::from(length)).ok()?, rest))
}

/// The `count` rows packed one after the other in `packed`: each a subject (a user id as
/// its 36 characters), then [`PACKED_SEALED`], the key's length ([`packed_length`]) and
/// the key, or [`PACKED_ERASED`] and the time of the erasure up to [`PACKED_ERASED_END`].
/// `None` when the bytes do not split so or hold another number of rows.
fn unpack_keys(
    mut packed: &[u8],
    count: i64,
) -> Option<Result<Vec<(Uuid, StoredKey)>, StoreError>> {
    // The count is SQLite's, of a query with a limit; the cap only keeps a surprise small.
    let mut keys = Vec::with_capacity(usize::try_from(count).ok()?.min(1 << 16));
    while !packed.is_empty() {
        let (subject, rest) = packed.split_at_checked(uuid::fmt::Hyphenated::LENGTH)?;
        let subject = match crate::sql::person_key_subject(std::str::from_utf8(subject).ok()?) {
            Ok(subject) => subject,
            Err(error) => return Some(Err(error)),
        };
        let (stored, rest) = match rest.split_first()? {
            (&PACKED_SEALED, rest) => {
                let (length, rest) = packed_length(rest)?;
                let (key, rest) = rest.split_at_checked(length)?;
                (StoredKey::Sealed(key.to_vec()), rest)
            }
            (&PACKED_ERASED, rest) => {
                let end = memchr::memchr(PACKED_ERASED_END, rest)?;
                let at = std::str::from_utf8(rest.get(..end)?).ok()?.parse().ok()?;
                match erased_at_of(subject, at) {
                    Ok(stored) => (stored, rest.get(end + 1..)?),
                    Err(error) => return Some(Err(error)),
                }
            }
            _ => return None,
        };
        keys.push((subject, stored));
        packed = rest;
    }
    (i64::try_from(keys.len()) == Ok(count)).then_some(Ok(keys))
}

/// A run on PostgreSQL packed column by column as on SQLite ([`SQLITE_IN_ORDER_ALIKE`]):
/// one row instead of 4,096, each of which sqlx would decode on its own.
const POSTGRES_IN_ORDER_ALIKE: &str = "SELECT count(*), max(added), string_agg(subject, ''), \
     string_agg(sealed, ''::bytea), min(octet_length(sealed))::bigint, \
     max(octet_length(sealed))::bigint, \
     string_agg(CASE WHEN sealed IS NULL THEN subject || ':' || erased_at END, ',') \
     FROM (SELECT added, subject, sealed, erased_at FROM person_keys WHERE added > $1 \
     ORDER BY added LIMIT $2) AS run";

/// The same run row by row, when its keys differ in length.
const POSTGRES_IN_ORDER: &str = "SELECT added, subject, sealed, erased_at FROM person_keys \
     WHERE added > $1 ORDER BY added LIMIT $2";

/// The run of up to `limit` keys added after the place `after`, on PostgreSQL.
async fn postgres_keys_in_order(
    pool: &sqlx::PgPool,
    after: i64,
    limit: i64,
) -> Result<KeysInOrder, StoreError> {
    let run: AlikeRun = {
        let mut connection = crate::sql::Shrinking::acquire(pool).await?;
        sqlx::query_as(POSTGRES_IN_ORDER_ALIKE)
            .bind(after)
            .bind(limit)
            .fetch_one(&mut *connection)
            .await
            .map_err(crate::sql::map_error)?
    };
    alike_or_rows(
        run,
        fetch_rows(
            pool,
            sqlx::query_as(POSTGRES_IN_ORDER).bind(after).bind(limit),
        ),
    )
    .await
}

/// The rows of a run on SQLite: the `?2` rows after the rowid `?1`, as a range of rowids
/// that an aggregate reads in order straight from the table. The rowid is the order rows
/// were added in (the table has no INTEGER PRIMARY KEY; a VACUUM may renumber it, which
/// the callers take as a hint gone stale). A subquery with `ORDER BY ... LIMIT` read
/// through a co-routine cost a sixth more; an `ORDER BY` inside the aggregate sorts the
/// run again in a temporary index (220 M more instructions in a replay of 100,000 people).
macro_rules! sqlite_run {
    () => {
        "FROM person_keys WHERE rowid > ?1 AND rowid <= coalesce((SELECT rowid FROM person_keys \
         WHERE rowid > ?1 ORDER BY rowid LIMIT 1 OFFSET ?2 - 1), 9223372036854775807)"
    };
}

/// A run whose keys are all of one length, packed column by column ([`unpack_alike`]):
/// the subjects one after the other, the keys one after the other, the shortest and the
/// longest key, and each erasure as its subject and time. No row is written out on its
/// own: a replay's 100,000 keys took a third less time than packed row by row
/// (`SQLITE_IN_ORDER`), and 44 % less than read through a co-routine (docs/performance.md).
const SQLITE_IN_ORDER_ALIKE: &str = concat!(
    "SELECT count(*), max(rowid), group_concat(subject, ''), \
     CAST(group_concat(CAST(sealed AS TEXT), '') AS BLOB), min(length(sealed)), \
     max(length(sealed)), group_concat(CASE WHEN sealed IS NULL THEN subject || ':' || erased_at END, ',') ",
    sqlite_run!()
);

/// The same run with each row packed on its own ([`unpack_keys`]), when its keys differ
/// in length (keys made before AES-256-GCM beside later ones).
const SQLITE_IN_ORDER: &str = concat!(
    "SELECT count(*), max(rowid), CAST(group_concat(subject || coalesce('k' || \
     char(length(sealed)) || CAST(sealed AS TEXT), 'x' || erased_at || ';'), '') AS BLOB) ",
    sqlite_run!()
);

/// A run as [`SQLITE_IN_ORDER_ALIKE`] packs it.
type AlikeRun = (
    i64,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// The run of up to `limit` keys added after the place `after`, on SQLite.
async fn sqlite_keys_in_order(
    pool: &sqlx::SqlitePool,
    after: i64,
    limit: i64,
) -> Result<KeysInOrder, StoreError> {
    let run: AlikeRun = sqlx::query_as(SQLITE_IN_ORDER_ALIKE)
        .bind(after)
        .bind(limit)
        .fetch_one(pool)
        .await
        .map_err(crate::sql::map_error)?;
    alike_or_rows(
        run,
        fetch_rows_packed(
            pool,
            sqlx::query_as(SQLITE_IN_ORDER).bind(after).bind(limit),
        ),
    )
    .await
}

/// The keys of a run packed column by column, or, when its keys differ in length, those
/// `rows` reads row by row (a future that reads nothing unless awaited).
async fn alike_or_rows(
    run: AlikeRun,
    rows: impl std::future::Future<Output = Result<KeysInOrder, StoreError>>,
) -> Result<KeysInOrder, StoreError> {
    match unpack_alike(run)? {
        Some(run) => Ok(run),
        None => rows.await,
    }
}

/// The keys of a run packed column by column: `None` when its keys differ in length (the
/// run is to be read row by row). Each subject is 36 characters; the keys follow each
/// other, all of the one length; an erasure (`<subject>:<microseconds>`, in the run's
/// order) marks its row as one without a key. A row with neither, or columns that do
/// not add up, is corruption. The columns line up because one aggregation reads each
/// row into all of them in turn, whatever order the rows come in (the order of a run is
/// a hint to the cache, never needed to be right).
fn unpack_alike(run: AlikeRun) -> Result<Option<KeysInOrder>, StoreError> {
    let (count, last, subjects, keys, shortest, longest, erasures) = run;
    if shortest != longest {
        return Ok(None);
    }
    let corrupt = || StoreError::Corrupt("unreadable rows in person_keys".into());
    let length = shortest
        .map(|length| usize::try_from(length).map_err(|_| corrupt()))
        .transpose()?;
    let (subjects, keys) = (subjects.unwrap_or_default(), keys.unwrap_or_default());
    let mut erasures = erasures
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|erasure| !erasure.is_empty())
        .peekable();
    let mut rows = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
    let mut at = 0;
    for id in subjects.as_bytes().chunks(uuid::fmt::Hyphenated::LENGTH) {
        let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
        let subject = crate::sql::person_key_subject(id)?;
        let erased = erasures
            .next_if(|erasure| erasure.starts_with(id))
            .map(|erasure| {
                erasure
                    .get(id.len()..)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .and_then(|time| time.parse().ok())
            });
        let stored = match erased {
            Some(Some(time)) => erased_at_of(subject, time)?,
            Some(None) => return Err(corrupt()),
            None => {
                let end = at + length.ok_or_else(corrupt)?;
                let key = keys.get(at..end).ok_or_else(corrupt)?;
                at = end;
                StoredKey::Sealed(key.to_vec())
            }
        };
        rows.push((subject, stored));
    }
    if at != keys.len() || erasures.next().is_some() || i64::try_from(rows.len()) != Ok(count) {
        return Err(corrupt());
    }
    let last = last.map(place_of).transpose()?;
    Ok(Some(KeysInOrder { keys: rows, last }))
}

macro_rules! person_keys_backend {
    (
        store: $store:ty,
        fetch: $fetch:path,
        select: $select:literal,
        in_order: $in_order:path,
        insert: $insert:literal,
        select_one: $select_one:literal,
        erase: $erase:literal,
        before_erase: $before_erase:literal,
        keys_like: $keys_like:literal,
        rename: $rename:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl verity_domain::personal::PersonKeys for $store {
            async fn person_keys(
                &self,
                subjects: &[Uuid],
            ) -> Result<Vec<(Uuid, StoredKey)>, StoreError> {
                let mut found = Vec::new();
                for chunk in subjects.chunks(crate::sql::ROWS_PER_STATEMENT) {
                    let ids: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
                    let list = serde_json::to_string(&ids)
                        .map_err(|error| StoreError::Invalid(error.to_string()))?;
                    found.extend(
                        $fetch(self.pool(), sqlx::query_as($select).bind(list))
                            .await?
                            .keys,
                    );
                }
                Ok(found)
            }

            async fn person_keys_in_order(
                &self,
                after: u64,
                limit: usize,
            ) -> Result<KeysInOrder, StoreError> {
                if limit == 0 {
                    return Ok(KeysInOrder::default());
                }
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                $in_order(self.pool(), crate::sql::to_i64(after)?, limit).await
            }

            async fn add_person_key(
                &self,
                subject: Uuid,
                sealed: Vec<u8>,
            ) -> Result<StoredKey, StoreError> {
                sqlx::query($insert)
                    .bind(subject.to_string())
                    .bind(sealed)
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                let row: KeyRow = sqlx::query_as($select_one)
                    .bind(subject.to_string())
                    .fetch_one(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(into_key(row)?.2)
            }

            async fn erase_person_key(
                &self,
                subject: Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                let mut connection = self.pool().acquire().await.map_err(crate::sql::map_error)?;
                sqlx::query($before_erase)
                    .execute(&mut *connection)
                    .await
                    .map_err(crate::sql::map_error)?;
                sqlx::query($erase)
                    .bind(subject.to_string())
                    .bind(at.timestamp_micros())
                    .execute(&mut *connection)
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            async fn unique_keys_like(
                &self,
                prefix: &str,
            ) -> Result<Vec<verity_domain::UniqueKey>, StoreError> {
                let keys: Vec<(String,)> = sqlx::query_as($keys_like)
                    .bind(prefix)
                    .fetch_all(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(keys
                    .into_iter()
                    .map(|(key,)| verity_domain::UniqueKey(key))
                    .collect())
            }

            async fn rename_unique_keys(
                &self,
                renames: &[(verity_domain::UniqueKey, verity_domain::UniqueKey)],
            ) -> Result<(), StoreError> {
                let mut transaction = self.pool().begin().await.map_err(crate::sql::map_error)?;
                for (old, new) in renames {
                    sqlx::query($rename)
                        .bind(&new.0)
                        .bind(&old.0)
                        .execute(&mut *transaction)
                        .await
                        .map_err(crate::sql::map_error)?;
                }
                transaction.commit().await.map_err(crate::sql::map_error)
            }
        }
    };
}

person_keys_backend! {
    store: crate::sqlite::SqliteStore,
    fetch: fetch_rows_packed,
    // Each row packed as `unpack_keys` reads it. The keys' bytes are joined as text and
    // read back as a blob: a cast between the two keeps every byte (the database is
    // UTF-8; SQLite checks nothing). A row without its key is an erasure (the `||` of a
    // NULL is NULL); one with neither is NULL, which `group_concat` skips, and the count
    // then tells.
    select: "SELECT count(*), max(rowid), CAST(group_concat(subject || coalesce('k' || char(length(sealed)) || CAST(sealed AS TEXT), 'x' || erased_at || ';'), '') AS BLOB) FROM person_keys WHERE subject IN (SELECT value FROM json_each(?))",
    in_order: sqlite_keys_in_order,
    insert: "INSERT INTO person_keys (subject, sealed) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING",
    select_one: "SELECT rowid, subject, sealed, erased_at FROM person_keys WHERE subject = ?",
    // The key's bytes are overwritten in the file's pages, not only unlinked.
    erase: "INSERT INTO person_keys (subject, sealed, erased_at) VALUES (?1, NULL, ?2) ON CONFLICT (subject) DO UPDATE SET sealed = NULL, erased_at = ?2",
    before_erase: "PRAGMA secure_delete = ON",
    // A range on the key's index (U+10FFFF sorts after every character): a scan of a
    // million claims at every start took seconds.
    keys_like: "SELECT key FROM unique_keys WHERE key >= ?1 AND key < ?1 || char(1114111)",
    rename: "UPDATE unique_keys SET key = ? WHERE key = ?",
}

person_keys_backend! {
    store: crate::postgres::PostgresStore,
    fetch: fetch_rows,
    select: "SELECT added, subject, sealed, erased_at FROM person_keys WHERE subject IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
    in_order: postgres_keys_in_order,
    insert: "INSERT INTO person_keys (subject, sealed) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING",
    select_one: "SELECT added, subject, sealed, erased_at FROM person_keys WHERE subject = $1",
    erase: "INSERT INTO person_keys (subject, sealed, erased_at) VALUES ($1, NULL, $2) ON CONFLICT (subject) DO UPDATE SET sealed = NULL, erased_at = $2",
    before_erase: "SELECT 1",
    keys_like: "SELECT key FROM unique_keys WHERE left(key, length($1)) = $1",
    rename: "UPDATE unique_keys SET key = $1 WHERE key = $2",
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: &str = "00000000-0000-0000-0000-00000000000a";
    const BEA: &str = "00000000-0000-0000-0000-00000000000b";

    fn packed(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn packed_rows_read_as_keys_and_erasures() {
        let long: Vec<u8> = (0..=255).collect();
        let rows = packed(&[
            ADA.as_bytes(),
            b"k\x03\x00;x",
            BEA.as_bytes(),
            b"x1700000000000000;",
            ADA.as_bytes(),
            "k\u{100}".as_bytes(),
            &long,
        ]);
        let keys = unpack_keys(&rows, 3).unwrap().unwrap();
        assert_eq!(
            keys[0],
            (Uuid::from_u128(10), StoredKey::Sealed(b"\x00;x".to_vec()))
        );
        assert_eq!(
            keys[1],
            (
                Uuid::from_u128(11),
                StoredKey::Erased(DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap())
            )
        );
        assert_eq!(keys[2].1, StoredKey::Sealed(long));
        assert_eq!(unpack_keys(b"", 0).unwrap().unwrap(), Vec::new());
    }

    #[test]
    fn rows_that_do_not_split_or_count_are_refused() {
        for (rows, count) in [
            (packed(&[ADA.as_bytes(), b"k\x03ab"]), 1),
            (packed(&[ADA.as_bytes(), b"k\x02ab"]), 2),
            (packed(&[ADA.as_bytes(), b"k\x02abc"]), 1),
            (packed(&[ADA.as_bytes(), b"z\x02ab"]), 1),
            (packed(&[ADA.as_bytes(), b"k\x80ab"]), 1),
            (packed(&[ADA.as_bytes(), b"x12"]), 1),
            (packed(&[ADA.as_bytes(), b"x1a;"]), 1),
            (packed(&[&ADA.as_bytes()[..35], b"k\x00"]), 1),
        ] {
            assert!(
                !matches!(unpack_keys(&rows, count), Some(Ok(_))),
                "{rows:?}"
            );
        }
        let not_an_id = packed(&[b"not-a-user-id-but-36-characters-long", b"k\x00"]);
        assert!(matches!(
            unpack_keys(&not_an_id, 1),
            Some(Err(StoreError::Corrupt(_)))
        ));
    }

    /// A run packed column by column: `(count, last, subjects, keys, shortest, longest,
    /// erasures)`.
    fn alike(
        subjects: &[&str],
        keys: &[u8],
        lengths: Option<i64>,
        erasures: Option<&str>,
    ) -> AlikeRun {
        (
            subjects.len() as i64,
            Some(9),
            Some(subjects.concat()),
            Some(keys.to_vec()),
            lengths,
            lengths,
            erasures.map(str::to_owned),
        )
    }

    #[test]
    fn runs_packed_column_by_column_read_as_keys_and_erasures() {
        let run = unpack_alike(alike(
            &[ADA, BEA, ADA],
            b"\x00;,\xffab",
            Some(3),
            Some(&format!("{BEA}:1700000000000000")),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(run.last, Some(9));
        assert_eq!(
            run.keys,
            vec![
                (Uuid::from_u128(10), StoredKey::Sealed(b"\x00;,".to_vec())),
                (
                    Uuid::from_u128(11),
                    StoredKey::Erased(
                        DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap()
                    )
                ),
                (Uuid::from_u128(10), StoredKey::Sealed(b"\xffab".to_vec())),
            ]
        );
        let empty_keys = unpack_alike(alike(&[ADA, BEA], b"", Some(0), None))
            .unwrap()
            .unwrap();
        assert_eq!(
            empty_keys.keys[1],
            (Uuid::from_u128(11), StoredKey::Sealed(Vec::new()))
        );
        let only_erasures = unpack_alike(alike(&[ADA], b"", None, Some(&format!("{ADA}:5"))))
            .unwrap()
            .unwrap();
        assert!(matches!(only_erasures.keys[0].1, StoredKey::Erased(_)));
        let nothing = unpack_alike((0, None, None, None, None, None, None))
            .unwrap()
            .unwrap();
        assert_eq!(nothing, KeysInOrder::default());
    }

    #[test]
    fn a_run_whose_keys_differ_in_length_is_left_to_be_read_row_by_row() {
        let mut run = alike(&[ADA, BEA], b"abcd", Some(1), None);
        run.5 = Some(3);
        assert_eq!(unpack_alike(run).unwrap(), None);
    }

    #[test]
    fn runs_whose_columns_do_not_add_up_are_refused() {
        let erased_ada = format!("{ADA}:5");
        for (name, run) in [
            ("a key too few", alike(&[ADA, BEA], b"ab", Some(2), None)),
            ("a key too many", alike(&[ADA], b"abcd", Some(2), None)),
            (
                "a row with neither",
                alike(&[ADA, BEA], b"ab", None, Some(erased_ada.as_str())),
            ),
            (
                "an erasure of no row",
                alike(&[BEA], b"ab", Some(2), Some(erased_ada.as_str())),
            ),
            (
                "an erasure out of order",
                alike(
                    &[BEA, ADA],
                    b"ab",
                    Some(2),
                    Some(&format!("{ADA}:5,{BEA}:6")),
                ),
            ),
            (
                "an erasure without its time",
                alike(&[ADA], b"", None, Some(&format!("{ADA}5"))),
            ),
            (
                "an erasure's time not a number",
                alike(&[ADA], b"", None, Some(&format!("{ADA}:5x"))),
            ),
            (
                "a subject cut short",
                alike(&[&ADA[..35]], b"ab", Some(2), None),
            ),
            (
                "a subject not an id",
                alike(
                    &["not-a-user-id-but-36-characters-long"],
                    b"ab",
                    Some(2),
                    None,
                ),
            ),
            ("a negative length", alike(&[ADA], b"", Some(-1), None)),
        ] {
            assert!(
                matches!(unpack_alike(run), Err(StoreError::Corrupt(_))),
                "{name}"
            );
        }
        let mut miscounted = alike(&[ADA], b"ab", Some(2), None);
        miscounted.0 = 2;
        assert!(unpack_alike(miscounted).is_err());
    }
}
