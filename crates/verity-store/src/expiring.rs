//! The expiring store on SQLite and PostgreSQL: one table (`expiring`, migration 0002)
//! in the same database as the log, so every process sharing the database shares it.
//!
//! Each operation is one statement, which makes it atomic on both backends: `take` is a
//! `DELETE ... RETURNING` (of concurrent takers, exactly one deletes the row), `put_many`,
//! `put_new` and `increment`/`increment_many`/`decrement_many` are upserts, `replace` and `hold`
//! conditional updates (PostgreSQL re-checks an `UPDATE`'s condition on the row a
//! concurrent writer left; SQLite has one writer at a time). Times are stored
//! as microseconds since the epoch, like the log's `recorded_at`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use verity_domain::ExpiringStore;

/// Both dialects accept numbered `$n` parameters (sqlx binds SQLite's by number too), so
/// the statements are written once.
pub(crate) mod statements {
    /// Inserts or replaces an entry.
    pub(crate) const PUT: &str = "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at";
    /// [`PUT`] for `entries` entries at once: each entry's kind, key, value and expiry.
    pub(crate) fn put_many(entries: usize) -> String {
        let rows: Vec<String> = (0..entries)
            .map(|entry| {
                let kind = 1 + 4 * entry;
                format!("(${kind}, ${}, ${}, 0, ${})", kind + 1, kind + 2, kind + 3)
            })
            .collect();
        format!(
            "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES {} \
             ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at",
            rows.join(", ")
        )
    }
    /// Inserts, or replaces an expired entry; changes no row when a live one exists.
    pub(crate) const PUT_NEW: &str = "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at \
         WHERE expiring.expires_at <= $5";
    /// The value of a live entry.
    pub(crate) const GET: &str =
        "SELECT value FROM expiring WHERE kind = $1 AND key = $2 AND expires_at > $3";
    /// The live entries of `pairs` (kind, key) pairs: `$1` is now, then each pair's kind
    /// and key. Both planners use the primary key for each `OR` term.
    pub(crate) fn get_many(pairs: usize) -> String {
        let terms: Vec<String> = (0..pairs)
            .map(|pair| format!("(kind = ${} AND key = ${})", 2 * pair + 2, 2 * pair + 3))
            .collect();
        format!(
            "SELECT kind, key, value, count, expires_at FROM expiring WHERE expires_at > $1 AND ({})",
            terms.join(" OR ")
        )
    }
    /// Deletes an entry, live or expired, and returns it.
    pub(crate) const TAKE: &str =
        "DELETE FROM expiring WHERE kind = $1 AND key = $2 RETURNING value, expires_at";
    /// Deletes an entry.
    pub(crate) const REMOVE: &str = "DELETE FROM expiring WHERE kind = $1 AND key = $2";
    /// Starts a counter at 1, restarts an expired one, or increments a live one (which
    /// keeps its window). The SET expressions all read the row as it was.
    pub(crate) const INCREMENT: &str = "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES ($1, $2, $5, 1, $3) \
         ON CONFLICT (kind, key) DO UPDATE SET \
         count = CASE WHEN expiring.expires_at <= $4 THEN 1 ELSE expiring.count + 1 END, \
         value = CASE WHEN expiring.expires_at <= $4 THEN excluded.value ELSE expiring.value END, \
         expires_at = CASE WHEN expiring.expires_at <= $4 THEN excluded.expires_at ELSE expiring.expires_at END \
         RETURNING count";
    /// [`INCREMENT`] for `counters` counters at once: `$1` is now, `$2` the empty value,
    /// then each counter's kind, key and window end. PostgreSQL locks the rows in the
    /// order given.
    pub(crate) fn increment_many(counters: usize) -> String {
        let rows: Vec<String> = (0..counters)
            .map(|counter| {
                let kind = 3 + 3 * counter;
                format!("(${kind}, ${}, $2, 1, ${})", kind + 1, kind + 2)
            })
            .collect();
        format!(
            "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES {} \
             ON CONFLICT (kind, key) DO UPDATE SET \
             count = CASE WHEN expiring.expires_at <= $1 THEN 1 ELSE expiring.count + 1 END, \
             value = CASE WHEN expiring.expires_at <= $1 THEN excluded.value ELSE expiring.value END, \
             expires_at = CASE WHEN expiring.expires_at <= $1 THEN excluded.expires_at ELSE expiring.expires_at END \
             RETURNING kind, key, count, expires_at",
            rows.join(", ")
        )
    }
    /// Takes one back from each live counter above 0 of `pairs` (kind, key) pairs: `$1`
    /// is now, `$2` the empty value. An upsert rather than an `UPDATE ... OR ...`, so
    /// that PostgreSQL locks the rows in the order given, as [`increment_many`] does: two
    /// statements over the same counters cannot deadlock. A counter that is not there is
    /// not made: its placeholder expires now, which reads as absent (and is purged).
    pub(crate) fn decrement_many(pairs: usize) -> String {
        let rows: Vec<String> = (0..pairs)
            .map(|pair| {
                let kind = 3 + 2 * pair;
                format!("(${kind}, ${}, $2, 0, $1)", kind + 1)
            })
            .collect();
        format!(
            "INSERT INTO expiring (kind, key, value, count, expires_at) VALUES {} \
             ON CONFLICT (kind, key) DO UPDATE SET \
             count = CASE WHEN expiring.expires_at > $1 AND expiring.count > 0 \
             THEN expiring.count - 1 ELSE expiring.count END",
            rows.join(", ")
        )
    }
    /// Holds a live counter that reached a count until a new end, with a value.
    pub(crate) const HOLD: &str = "UPDATE expiring SET expires_at = $3, value = $6 \
         WHERE kind = $1 AND key = $2 AND count >= $4 AND expires_at > $5";
    /// Replaces a live entry's value and expiry if it holds the expected value.
    pub(crate) const REPLACE: &str = "UPDATE expiring SET value = $4, expires_at = $5 \
         WHERE kind = $1 AND key = $2 AND value = $3 AND expires_at > $6";
    /// The count of a live counter.
    pub(crate) const COUNT: &str =
        "SELECT count FROM expiring WHERE kind = $1 AND key = $2 AND expires_at > $3";
    /// Deletes every expired entry.
    pub(crate) const PURGE: &str = "DELETE FROM expiring WHERE expires_at <= $1";
}

/// A time as the table stores it.
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A time the table stored.
pub(crate) fn from_micros(micros: i64) -> Result<DateTime<Utc>, verity_domain::StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| verity_domain::StoreError::Corrupt(format!("expiry {micros} out of range")))
}

/// Refuses a list that names one (kind, key) twice: a statement would count it twice or
/// fail halfway, depending on the backend.
pub(crate) fn distinct<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), verity_domain::StoreError> {
    let mut seen = std::collections::HashSet::new();
    for pair in pairs {
        if !seen.insert(pair) {
            return Err(verity_domain::StoreError::Invalid(format!(
                "{}/{} named twice",
                pair.0, pair.1
            )));
        }
    }
    Ok(())
}

/// Writes a backend's [`ExpiringStore`] implementation over its pool.
macro_rules! expiring_backend {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl verity_domain::ExpiringStore for $store {
            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn put(
                &self,
                kind: &str,
                key: &str,
                value: &[u8],
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), verity_domain::StoreError> {
                sqlx::query(statements::PUT)
                    .bind(kind)
                    .bind(key)
                    .bind(value)
                    .bind(micros(expires_at))
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(entries = entries.len()))]
            async fn put_many(
                &self,
                entries: &[verity_domain::NewEntry<'_>],
            ) -> Result<(), verity_domain::StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                distinct(entries.iter().map(|entry| (entry.kind, entry.key)))?;
                // Built from placeholder numbers only: no input reaches the text.
                let statement = sqlx::AssertSqlSafe(statements::put_many(entries.len()));
                let mut query = sqlx::query(statement);
                for entry in entries {
                    query = query
                        .bind(entry.kind)
                        .bind(entry.key)
                        .bind(entry.value)
                        .bind(micros(entry.expires_at));
                }
                query
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn put_new(
                &self,
                kind: &str,
                key: &str,
                value: &[u8],
                expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, verity_domain::StoreError> {
                let done = sqlx::query(statements::PUT_NEW)
                    .bind(kind)
                    .bind(key)
                    .bind(value)
                    .bind(micros(expires_at))
                    .bind(micros(now))
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn get(
                &self,
                kind: &str,
                key: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<Vec<u8>>, verity_domain::StoreError> {
                let row: Option<(Vec<u8>,)> = sqlx::query_as(statements::GET)
                    .bind(kind)
                    .bind(key)
                    .bind(micros(now))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(row.map(|(value,)| value))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(keys = keys.len()))]
            async fn get_many(
                &self,
                keys: &[(&str, &str)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<Option<verity_domain::Entry>>, verity_domain::StoreError> {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                // Built from placeholder numbers only: no input reaches the text.
                let statement = sqlx::AssertSqlSafe(statements::get_many(keys.len()));
                let mut query = sqlx::query_as::<_, (String, String, Vec<u8>, i64, i64)>(statement)
                    .bind(micros(now));
                for (kind, key) in keys {
                    query = query.bind(*kind).bind(*key);
                }
                let rows = query
                    .fetch_all(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                keys.iter()
                    .map(|(kind, key)| {
                        rows.iter()
                            .find(|row| row.0 == *kind && row.1 == *key)
                            .map(|(_, _, value, count, expires_at)| {
                                Ok(verity_domain::Entry {
                                    value: value.clone(),
                                    count: crate::sql::to_u64(*count)?,
                                    expires_at: from_micros(*expires_at)?,
                                })
                            })
                            .transpose()
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn take(
                &self,
                kind: &str,
                key: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<Vec<u8>>, verity_domain::StoreError> {
                let row: Option<(Vec<u8>, i64)> = sqlx::query_as(statements::TAKE)
                    .bind(kind)
                    .bind(key)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(row
                    .filter(|(_, expires_at)| *expires_at > micros(now))
                    .map(|(value, _)| value))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn remove(&self, kind: &str, key: &str) -> Result<(), verity_domain::StoreError> {
                sqlx::query(statements::REMOVE)
                    .bind(kind)
                    .bind(key)
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn increment(
                &self,
                kind: &str,
                key: &str,
                window_expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, verity_domain::StoreError> {
                let (count,): (i64,) = sqlx::query_as(statements::INCREMENT)
                    .bind(kind)
                    .bind(key)
                    .bind(micros(window_expires_at))
                    .bind(micros(now))
                    .bind(&[] as &[u8])
                    .fetch_one(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                crate::sql::to_u64(count)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(counters = counters.len()))]
            async fn increment_many(
                &self,
                counters: &[verity_domain::CounterKey<'_>],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<verity_domain::Counted>, verity_domain::StoreError> {
                if counters.is_empty() {
                    return Ok(Vec::new());
                }
                distinct(counters.iter().map(|counter| (counter.kind, counter.key)))?;
                // Built from placeholder numbers only: no input reaches the text.
                let statement = sqlx::AssertSqlSafe(statements::increment_many(counters.len()));
                let mut query = sqlx::query_as::<_, (String, String, i64, i64)>(statement)
                    .bind(micros(now))
                    .bind(&[] as &[u8]);
                for counter in counters {
                    query = query
                        .bind(counter.kind)
                        .bind(counter.key)
                        .bind(micros(counter.window_expires_at));
                }
                let rows = query
                    .fetch_all(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                counters
                    .iter()
                    .map(|counter| {
                        let (_, _, count, expires_at) = rows
                            .iter()
                            .find(|row| row.0 == counter.kind && row.1 == counter.key)
                            .ok_or_else(|| {
                                verity_domain::StoreError::Corrupt(format!(
                                    "counter {}/{} not returned",
                                    counter.kind, counter.key
                                ))
                            })?;
                        Ok(verity_domain::Counted {
                            count: crate::sql::to_u64(*count)?,
                            expires_at: from_micros(*expires_at)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(counters = counters.len()))]
            async fn decrement_many(
                &self,
                counters: &[(&str, &str)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), verity_domain::StoreError> {
                if counters.is_empty() {
                    return Ok(());
                }
                distinct(counters.iter().copied())?;
                // Built from placeholder numbers only: no input reaches the text.
                let statement = sqlx::AssertSqlSafe(statements::decrement_many(counters.len()));
                let mut query = sqlx::query(statement).bind(micros(now)).bind(&[] as &[u8]);
                for (kind, key) in counters {
                    query = query.bind(*kind).bind(*key);
                }
                query
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn hold(
                &self,
                kind: &str,
                key: &str,
                at_least: u64,
                value: &[u8],
                expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, verity_domain::StoreError> {
                let done = sqlx::query(statements::HOLD)
                    .bind(kind)
                    .bind(key)
                    .bind(micros(expires_at))
                    .bind(crate::sql::to_i64(at_least)?)
                    .bind(micros(now))
                    .bind(value)
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn replace(
                &self,
                kind: &str,
                key: &str,
                expected: &[u8],
                value: &[u8],
                expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, verity_domain::StoreError> {
                let done = sqlx::query(statements::REPLACE)
                    .bind(kind)
                    .bind(key)
                    .bind(expected)
                    .bind(value)
                    .bind(micros(expires_at))
                    .bind(micros(now))
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
            async fn count(
                &self,
                kind: &str,
                key: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, verity_domain::StoreError> {
                let row: Option<(i64,)> = sqlx::query_as(statements::COUNT)
                    .bind(kind)
                    .bind(key)
                    .bind(micros(now))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                row.map_or(Ok(0), |(count,)| crate::sql::to_u64(count))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn purge_expired(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, verity_domain::StoreError> {
                let done = sqlx::query(statements::PURGE)
                    .bind(micros(now))
                    .execute(self.pool())
                    .await
                    .map_err(crate::sql::map_error)?;
                Ok(done.rows_affected())
            }
        }
    };
}

expiring_backend!(crate::sqlite::SqliteStore);
expiring_backend!(crate::postgres::PostgresStore);

/// How often `verity serve` purges expired entries.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Deletes expired entries now and then every `every`, for as long as the returned task
/// runs (abort it, or let the runtime end). Expired entries already read as absent; the
/// purge only keeps the table small. Several processes may purge the same database.
pub fn spawn_purge(store: Arc<dyn ExpiringStore>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.purge_expired(crate::clock::recorded_now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "purged expired protocol state"),
                Err(error) => tracing::warn!(%error, "could not purge expired protocol state"),
            }
        }
    })
}
