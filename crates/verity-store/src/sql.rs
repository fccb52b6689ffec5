//! What the SQL backends share: row decoding, error mapping, and one macro that writes
//! the [`BatchTx`](crate::batch::BatchTx) implementation and the read queries for a
//! backend from its SQL dialect, so the logic exists once.

use chrono::DateTime;
use verity_domain::{RecordedEvent, StoreError};

/// The columns of an event row, as both backends return them.
pub(crate) type EventRow = (i64, String, i64, String, i64, String, String, i64, Vec<u8>);

/// Turns a row into an event; a value out of range is corruption, not a panic.
pub(crate) fn into_event(row: EventRow) -> Result<RecordedEvent, StoreError> {
    let (position, stream, version, event_type, schema, data, metadata, recorded_at, hash) = row;
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!("event at position {position}: {what} out of range"))
    };
    Ok(RecordedEvent {
        position: u64::try_from(position).map_err(|_| corrupt("position"))?,
        stream,
        version: u64::try_from(version).map_err(|_| corrupt("version"))?,
        event_type,
        schema: u32::try_from(schema).map_err(|_| corrupt("schema"))?,
        data,
        metadata,
        recorded_at: DateTime::from_timestamp_micros(recorded_at)
            .ok_or_else(|| corrupt("recorded_at"))?,
        hash: hex::encode(hash),
    })
}

/// Most rows (or list items) bound in one statement: at 9 parameters a row this stays
/// far below SQLite's and PostgreSQL's parameter limits.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;

/// The person a `person_keys` row names, as stored (text), on both backends.
pub(crate) fn person_key_subject(stored: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::try_parse(stored)
        .map_err(|_| StoreError::Corrupt(format!("person key of {stored:?}: not a user id")))
}

/// Converts a position or count to the databases' signed 64-bit integers.
pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} is out of range")))
}

/// Converts a database integer that must not be negative.
pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative value {value}")))
}

/// A connection of a pool that gives back what a large message made its buffers grow
/// (a snapshot, a page of the log) when it is done: a pooled connection otherwise keeps
/// the largest message it ever carried for as long as it lives, and every node's sixteen
/// connections ratchet up to a snapshot's size each (docs/operations.md, "Soak").
pub(crate) struct Shrinking<DB: sqlx::Database>(sqlx::pool::PoolConnection<DB>);

impl<DB: sqlx::Database> Shrinking<DB> {
    /// A connection of `pool`.
    pub(crate) async fn acquire(pool: &sqlx::Pool<DB>) -> Result<Self, StoreError> {
        Ok(Self(pool.acquire().await.map_err(map_error)?))
    }
}

impl<DB: sqlx::Database> std::ops::Deref for Shrinking<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.0
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for Shrinking<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.0
    }
}

impl<DB: sqlx::Database> Drop for Shrinking<DB> {
    fn drop(&mut self) {
        // Buffers at their default size are left as they are: small queries cost nothing.
        sqlx::Connection::shrink_buffers(&mut *self.0);
    }
}

/// Maps a driver error: corruption is named as such, everything else is unavailability.
pub(crate) fn map_error(error: sqlx::Error) -> StoreError {
    let message = error.to_string();
    if message.contains("file is not a database") || message.contains("malformed") {
        StoreError::Corrupt(message)
    } else {
        StoreError::Unavailable(message)
    }
}

/// Writes a backend's transaction adapter and reads from its dialect's SQL.
macro_rules! sql_backend {
    (
        database: $database:ty,
        head: $head:literal,
        claim: $claim:literal,
        key_holder: $key_holder:literal,
        release: $release:literal,
        read_stream: $read_stream:literal,
        read_stream_back: $read_stream_back:literal,
        read_all: $read_all:literal,
        read_all_with: $read_all_with:path,
        recorded_within: $recorded_within:literal,
        load_snapshot: $load_snapshot:literal,
        save_snapshot: $save_snapshot:literal,
        store: $store:ty,
        poll_every: $poll_every:expr $(,)?
    ) => {
        #[async_trait::async_trait]
        impl verity_domain::EventStore for $store {
            async fn append(
                &self,
                request: verity_domain::AppendRequest,
            ) -> Result<verity_domain::AppendOutcome, verity_domain::StoreError> {
                self.appender.append(request).await
            }

            async fn read_stream(
                &self,
                stream: &str,
            ) -> Result<Vec<verity_domain::RecordedEvent>, verity_domain::StoreError> {
                read_stream(&self.pool, stream).await
            }

            async fn read_stream_back(
                &self,
                stream: &str,
                limit: usize,
            ) -> Result<Vec<verity_domain::RecordedEvent>, verity_domain::StoreError> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let mut connection = crate::sql::Shrinking::acquire(&self.pool).await?;
                let rows: Vec<crate::sql::EventRow> = sqlx::query_as($read_stream_back)
                    .bind(stream)
                    .bind(limit)
                    .fetch_all(&mut *connection)
                    .await
                    .map_err(crate::sql::map_error)?;
                rows.into_iter().map(crate::sql::into_event).collect()
            }

            async fn read_all(
                &self,
                after: u64,
                limit: usize,
            ) -> Result<Vec<verity_domain::RecordedEvent>, verity_domain::StoreError> {
                $read_all_with(&self.pool, after, limit).await
            }

            async fn head(&self) -> Result<u64, verity_domain::StoreError> {
                let head = read_head(&self.pool).await?;
                self.appender.observe_head(head);
                Ok(head)
            }

            async fn recorded_within(
                &self,
                from: Option<chrono::DateTime<chrono::Utc>>,
                to: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<Option<(u64, u64)>, verity_domain::StoreError> {
                let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as($recorded_within)
                    .bind(from.map_or(i64::MIN, |from| from.timestamp_micros()))
                    .bind(to.map_or(i64::MAX, |to| to.timestamp_micros()))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(match (first, last) {
                    (Some(first), Some(last)) if first <= last => Some((
                        crate::sql::to_u64(first)?,
                        crate::sql::to_u64(last)?,
                    )),
                    _ => None,
                })
            }

            async fn wait_beyond(
                &self,
                position: u64,
                timeout: std::time::Duration,
            ) -> Result<u64, verity_domain::StoreError> {
                self.appender
                    .wait_beyond(position, timeout, $poll_every, || read_head(&self.pool))
                    .await
            }
        }

        #[async_trait::async_trait]
        impl verity_domain::SnapshotStore for $store {
            async fn load_snapshot(
                &self,
                name: &str,
            ) -> Result<Option<verity_domain::Snapshot>, verity_domain::StoreError> {
                load_snapshot(&self.pool, name).await
            }

            async fn save_snapshot(
                &self,
                snapshot: verity_domain::Snapshot,
            ) -> Result<(), verity_domain::StoreError> {
                save_snapshot(&self.pool, snapshot).await
            }
        }

        /// One open batch transaction.
        pub(crate) struct Tx<'c>(&'c mut <$database as sqlx::Database>::Connection);

        #[async_trait::async_trait]
        impl crate::batch::BatchTx for Tx<'_> {
            async fn execute(
                &mut self,
                sql: &'static str,
            ) -> Result<(), verity_domain::StoreError> {
                sqlx::query(sql)
                    .execute(&mut *self.0)
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            async fn head(
                &mut self,
            ) -> Result<(u64, crate::chain::Hash), verity_domain::StoreError> {
                let row: Option<(i64, Vec<u8>)> = sqlx::query_as($head)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(crate::sql::map_error)?;
                match row {
                    None => Ok((0, crate::chain::GENESIS)),
                    Some((position, hash)) => {
                        let hash = crate::chain::Hash::try_from(hash.as_slice()).map_err(|_| {
                            verity_domain::StoreError::Corrupt(format!(
                                "hash at position {position} is not 32 bytes"
                            ))
                        })?;
                        Ok((crate::sql::to_u64(position)?, hash))
                    }
                }
            }

            async fn stream_versions(
                &mut self,
                streams: &[&str],
            ) -> Result<std::collections::HashMap<String, u64>, verity_domain::StoreError> {
                let mut versions = std::collections::HashMap::with_capacity(streams.len());
                for chunk in streams.chunks(crate::sql::ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::<$database>::new(
                        "SELECT stream, MAX(version) FROM events WHERE stream IN (",
                    );
                    let mut list = query.separated(", ");
                    for stream in chunk {
                        list.push_bind(*stream);
                    }
                    query.push(") GROUP BY stream");
                    let rows: Vec<(String, i64)> =
                        query.build_query_as().fetch_all(&mut *self.0).await.map_err(crate::sql::map_error)?;
                    for (stream, version) in rows {
                        versions.insert(stream, crate::sql::to_u64(version)?);
                    }
                }
                Ok(versions)
            }

            async fn claim(
                &mut self,
                key: &verity_domain::UniqueKey,
                stream: &str,
                position: u64,
            ) -> Result<String, verity_domain::StoreError> {
                sqlx::query($claim)
                    .bind(&key.0)
                    .bind(stream)
                    .bind(crate::sql::to_i64(position)?)
                    .execute(&mut *self.0)
                    .await
                    .map_err(crate::sql::map_error)?;
                let (holder,): (String,) = sqlx::query_as($key_holder)
                    .bind(&key.0)
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(holder)
            }

            async fn add_person_keys(
                &mut self,
                keys: &[(uuid::Uuid, &[u8])],
            ) -> Result<Vec<(uuid::Uuid, Vec<u8>)>, verity_domain::StoreError> {
                let mut stored = Vec::with_capacity(keys.len());
                for chunk in keys.chunks(crate::sql::ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::<$database>::new(
                        "INSERT INTO person_keys (subject, sealed) ",
                    );
                    query.push_values(chunk, |mut values, (subject, sealed)| {
                        values.push_bind(subject.to_string()).push_bind(*sealed);
                    });
                    query.push(" ON CONFLICT (subject) DO NOTHING RETURNING subject, sealed");
                    let rows: Vec<(String, Vec<u8>)> = query
                        .build_query_as()
                        .fetch_all(&mut *self.0)
                        .await
                        .map_err(crate::sql::map_error)?;
                    for (subject, sealed) in rows {
                        stored.push((crate::sql::person_key_subject(&subject)?, sealed));
                    }
                }
                Ok(stored)
            }

            async fn remove_person_keys(
                &mut self,
                subjects: &[uuid::Uuid],
            ) -> Result<(), verity_domain::StoreError> {
                for chunk in subjects.chunks(crate::sql::ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::<$database>::new(
                        "DELETE FROM person_keys WHERE subject IN (",
                    );
                    let mut list = query.separated(", ");
                    for subject in chunk {
                        list.push_bind(subject.to_string());
                    }
                    query.push(")");
                    query.build().execute(&mut *self.0).await.map_err(crate::sql::map_error)?;
                }
                Ok(())
            }

            async fn release(
                &mut self,
                key: &verity_domain::UniqueKey,
                stream: &str,
            ) -> Result<(), verity_domain::StoreError> {
                sqlx::query($release)
                    .bind(&key.0)
                    .bind(stream)
                    .execute(&mut *self.0)
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            async fn insert_all(&mut self, rows: &[crate::batch::Row<'_>]) -> Result<(), verity_domain::StoreError> {
                for chunk in rows.chunks(crate::sql::ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::<$database>::new(
                        "INSERT INTO events (position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash) ",
                    );
                    let mut failed = None;
                    query.push_values(chunk, |mut values, row| {
                        let fields = &row.fields;
                        match (crate::sql::to_i64(fields.position), crate::sql::to_i64(fields.version)) {
                            (Ok(position), Ok(version)) => {
                                values
                                    .push_bind(position)
                                    .push_bind(fields.stream)
                                    .push_bind(version)
                                    .push_bind(fields.event_type)
                                    .push_bind(i64::from(fields.schema))
                                    .push_bind(fields.data)
                                    .push_bind(fields.metadata)
                                    .push_bind(fields.recorded_at_micros)
                                    .push_bind(row.hash.as_slice());
                            }
                            (Err(error), _) | (_, Err(error)) => failed = Some(error),
                        }
                    });
                    if let Some(error) = failed {
                        return Err(error);
                    }
                    query.build().execute(&mut *self.0).await.map_err(crate::sql::map_error)?;
                }
                Ok(())
            }
        }

        /// The head position, read outside any batch.
        pub(crate) async fn read_head(
            pool: &sqlx::Pool<$database>,
        ) -> Result<u64, verity_domain::StoreError> {
            let row: Option<(i64, Vec<u8>)> = sqlx::query_as($head)
                .fetch_optional(pool)
                .await
                .map_err(crate::sql::map_error)?;
            row.map_or(Ok(0), |(position, _)| crate::sql::to_u64(position))
        }

        /// One stream, in version order.
        pub(crate) async fn read_stream(
            pool: &sqlx::Pool<$database>,
            stream: &str,
        ) -> Result<Vec<verity_domain::RecordedEvent>, verity_domain::StoreError> {
            let mut connection = crate::sql::Shrinking::acquire(pool).await?;
            let rows: Vec<crate::sql::EventRow> = sqlx::query_as($read_stream)
                .bind(stream)
                .fetch_all(&mut *connection)
                .await
                .map_err(crate::sql::map_error)?;
            rows.into_iter().map(crate::sql::into_event).collect()
        }

        /// A page of the log after `after`.
        pub(crate) async fn read_all(
            pool: &sqlx::Pool<$database>,
            after: u64,
            limit: usize,
        ) -> Result<Vec<verity_domain::RecordedEvent>, verity_domain::StoreError> {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut connection = crate::sql::Shrinking::acquire(pool).await?;
            let rows: Vec<crate::sql::EventRow> = sqlx::query_as($read_all)
                .bind(crate::sql::to_i64(after)?)
                .bind(limit)
                .fetch_all(&mut *connection)
                .await
                .map_err(crate::sql::map_error)?;
            rows.into_iter().map(crate::sql::into_event).collect()
        }

        /// The latest snapshot of a projection.
        pub(crate) async fn load_snapshot(
            pool: &sqlx::Pool<$database>,
            name: &str,
        ) -> Result<Option<verity_domain::Snapshot>, verity_domain::StoreError> {
            let mut connection = crate::sql::Shrinking::acquire(pool).await?;
            let row: Option<(i64, i64, Vec<u8>, String, Vec<u8>)> = sqlx::query_as($load_snapshot)
                .bind(name)
                .fetch_optional(&mut *connection)
                .await
                .map_err(crate::sql::map_error)?;
            let Some((version, position, data, hash, seal)) = row else {
                return Ok(None);
            };
            Ok(Some(verity_domain::Snapshot {
                name: name.to_owned(),
                version: u32::try_from(version).map_err(|_| {
                    verity_domain::StoreError::Corrupt(format!("snapshot {name}: bad version"))
                })?,
                position: crate::sql::to_u64(position)?,
                data,
                hash,
                seal,
            }))
        }

        /// Replaces a projection's snapshot.
        pub(crate) async fn save_snapshot(
            pool: &sqlx::Pool<$database>,
            snapshot: verity_domain::Snapshot,
        ) -> Result<(), verity_domain::StoreError> {
            let mut connection = crate::sql::Shrinking::acquire(pool).await?;
            sqlx::query($save_snapshot)
                .bind(snapshot.name)
                .bind(i64::from(snapshot.version))
                .bind(crate::sql::to_i64(snapshot.position)?)
                .bind(snapshot.data)
                .bind(snapshot.hash)
                .bind(snapshot.seal)
                .execute(&mut *connection)
                .await
                .map_err(crate::sql::map_error)?;
            Ok(())
        }
    };
}

pub(crate) use sql_backend;
