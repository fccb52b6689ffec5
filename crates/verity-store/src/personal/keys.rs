//! The [`PersonKeys`](verity_domain::personal::PersonKeys) port on both backends: the
//! table `person_keys` beside the log, and renaming claims in `unique_keys`. One macro
//! writes both from their SQL, as `sql.rs` does for the log.

use chrono::DateTime;
use uuid::Uuid;
use verity_domain::StoreError;
use verity_domain::personal::StoredKey;

/// A row of `person_keys`: its place in the order keys were added, subject, sealed key,
/// when erased.
type KeyRow = (i64, String, Option<Vec<u8>>, Option<i64>);

/// A key as the store hands it over: its place, whose it is, and the key.
type Key = (u64, Uuid, StoredKey);

/// A run of `person_keys` rows packed by SQLite: how many, the rows, the keys' bytes.
type PackedKeys = (i64, Option<String>, Option<Vec<u8>>);

fn into_key(row: KeyRow) -> Result<Key, StoreError> {
    let (place, subject, sealed, erased_at) = row;
    key_of(place, &subject, sealed, erased_at)
}

/// A row's values checked: a user id, a key or an erasure, a place that is not negative.
fn key_of(
    place: i64,
    subject: &str,
    sealed: Option<Vec<u8>>,
    erased_at: Option<i64>,
) -> Result<Key, StoreError> {
    let subject = crate::sql::person_key_subject(subject)?;
    let stored = match (sealed, erased_at) {
        (Some(sealed), _) => StoredKey::Sealed(sealed),
        (None, Some(at)) => {
            StoredKey::Erased(DateTime::from_timestamp_micros(at).ok_or_else(|| {
                StoreError::Corrupt(format!("person key of {subject}: erased_at out of range"))
            })?)
        }
        (None, None) => {
            return Err(StoreError::Corrupt(format!(
                "person key of {subject}: neither a key nor an erasure"
            )));
        }
    };
    let place = u64::try_from(place)
        .map_err(|_| StoreError::Corrupt(format!("person key of {subject}: a negative place")))?;
    Ok((place, subject, stored))
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
) -> Result<Vec<Key>, StoreError> {
    let mut connection = crate::sql::Shrinking::acquire(pool).await?;
    select
        .fetch_all(&mut *connection)
        .await
        .map_err(crate::sql::map_error)?
        .into_iter()
        .map(into_key)
        .collect()
}

/// The same on SQLite, where each `select` packs its rows in two values (after a count):
/// the rows as text without their keys, each naming its key's length, and the keys' bytes
/// one after the other. sqlx hands SQLite rows over one by one from its worker thread, and
/// a replay from the start asks for a hundred thousand keys, a page's people at a time
/// (as `sqlite::read_all_packed` reads events); keys handed over as bytes need no
/// `hex()` on SQLite's side nor decoding on this one (a third of reading them).
async fn fetch_rows_packed<'query>(
    pool: &sqlx::SqlitePool,
    select: sqlx::query::QueryAs<
        'query,
        sqlx::Sqlite,
        PackedKeys,
        <sqlx::Sqlite as sqlx::Database>::Arguments,
    >,
) -> Result<Vec<Key>, StoreError> {
    let (count, packed, keys) = select
        .fetch_one(pool)
        .await
        .map_err(crate::sql::map_error)?;
    let corrupt = || StoreError::Corrupt("unreadable rows in person_keys".into());
    // The count is SQLite's, of a query with a limit; the cap only keeps a surprise small.
    let mut rows: Vec<Key> =
        Vec::with_capacity(usize::try_from(count).unwrap_or_default().min(1 << 16));
    let mut keys = keys.as_deref().unwrap_or_default();
    if let Some(packed) = packed {
        for row in crate::sqlite::parts(&packed, b';') {
            rows.push(unpack_key(row, &mut keys).ok_or_else(corrupt)??);
        }
    }
    if i64::try_from(rows.len()) != Ok(count) || !keys.is_empty() {
        return Err(corrupt());
    }
    Ok(rows)
}

/// One packed key row: its place, subject, the length of its sealed key (empty once
/// erased), when erased; the key is taken from the front of `keys`. `None` when the row
/// does not split so or `keys` is shorter.
fn unpack_key(row: &str, keys: &mut &[u8]) -> Option<Result<Key, StoreError>> {
    let mut fields = crate::sqlite::parts(row, b',');
    let place = fields.next()?.parse().ok()?;
    let subject = fields.next()?;
    let sealed = match fields.next()? {
        "" => None,
        length => {
            let (key, rest) = keys.split_at_checked(length.parse().ok()?)?;
            *keys = rest;
            Some(key.to_vec())
        }
    };
    let erased_at = match fields.next()? {
        "" => None,
        text => Some(text.parse().ok()?),
    };
    fields
        .next()
        .is_none()
        .then(|| key_of(place, subject, sealed, erased_at))
}

macro_rules! person_keys_backend {
    (
        store: $store:ty,
        fetch: $fetch:path,
        select: $select:literal,
        in_order: $in_order:literal,
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
                    for (_, subject, stored) in
                        $fetch(self.pool(), sqlx::query_as($select).bind(list)).await?
                    {
                        found.push((subject, stored));
                    }
                }
                Ok(found)
            }

            async fn person_keys_in_order(
                &self,
                after: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Uuid, StoredKey)>, StoreError> {
                let select = sqlx::query_as($in_order)
                    .bind(crate::sql::to_i64(after)?)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX));
                let mut found = $fetch(self.pool(), select).await?;
                found.sort_unstable_by_key(|(place, _, _)| *place);
                Ok(found)
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
    // The keys' bytes are joined as text and read back as a blob: a cast between the two
    // keeps every byte (the database is UTF-8; SQLite checks nothing), `group_concat`
    // skips an erased row's NULL, and both aggregates see the rows in one order.
    select: "SELECT count(*), group_concat(concat_ws(',', rowid, subject, coalesce(length(sealed), ''), coalesce(erased_at, '')), ';'), CAST(group_concat(CAST(sealed AS TEXT), '') AS BLOB) FROM person_keys WHERE subject IN (SELECT value FROM json_each(?))",
    // The rowid is the order rows were added in (the table has no INTEGER PRIMARY KEY; a
    // VACUUM may renumber it, which the callers take as a hint gone stale).
    in_order: "SELECT count(*), group_concat(concat_ws(',', rowid, subject, coalesce(length(sealed), ''), coalesce(erased_at, '')), ';'), CAST(group_concat(CAST(sealed AS TEXT), '') AS BLOB) FROM (SELECT rowid, * FROM person_keys WHERE rowid > ? ORDER BY rowid LIMIT ?)",
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
    in_order: "SELECT added, subject, sealed, erased_at FROM person_keys WHERE added > $1 ORDER BY added LIMIT $2",
    insert: "INSERT INTO person_keys (subject, sealed) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING",
    select_one: "SELECT added, subject, sealed, erased_at FROM person_keys WHERE subject = $1",
    erase: "INSERT INTO person_keys (subject, sealed, erased_at) VALUES ($1, NULL, $2) ON CONFLICT (subject) DO UPDATE SET sealed = NULL, erased_at = $2",
    before_erase: "SELECT 1",
    keys_like: "SELECT key FROM unique_keys WHERE left(key, length($1)) = $1",
    rename: "UPDATE unique_keys SET key = $1 WHERE key = $2",
}
