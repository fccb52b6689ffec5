//! The production backend: any number of Verity processes share one PostgreSQL database.
//!
//! Each process has one writer that commits batches. A transaction-scoped advisory lock
//! serialises the batches of all processes, so positions are assigned gaplessly and in
//! commit order (identity columns would leave gaps and commit out of order). Every commit
//! sends `NOTIFY verity_events`; each process LISTENs and so sees the others' appends at
//! once, with a slower poll as a safety net.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;
use verity_domain::{AppendOutcome, AppendRequest, StoreError};

use crate::batch::{Appender, BatchWriter, apply};
use crate::sql::sql_backend;

/// The advisory lock that serialises appends across processes ("VERITY" in ASCII).
const APPEND_LOCK: i64 = 0x5645_5249_5459;

/// The notification channel carrying the new head position.
const CHANNEL: &str = "verity_events";

/// The PostgreSQL event store.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    appender: Appender,
    listener: JoinHandle<()>,
}

struct Writer {
    pool: PgPool,
}

#[async_trait]
impl BatchWriter for Writer {
    async fn write_batch(
        &self,
        requests: &[AppendRequest],
        metadata_json: &[Vec<String>],
    ) -> Result<(Vec<Result<AppendOutcome, StoreError>>, u64), StoreError> {
        let mut transaction = self.pool.begin().await.map_err(crate::sql::map_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *transaction)
            .await
            .map_err(crate::sql::map_error)?;
        let (outcomes, head) = apply(
            &mut Tx(&mut transaction),
            requests,
            metadata_json,
            crate::clock::recorded_now(),
        )
        .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(head.to_string())
            .execute(&mut *transaction)
            .await
            .map_err(crate::sql::map_error)?;
        transaction.commit().await.map_err(crate::sql::map_error)?;
        Ok((outcomes, head))
    }
}

impl PostgresStore {
    /// Connects to `url` and brings the schema up to date (migrations take a lock, so
    /// several nodes may start at once). Refuses a schema newer than this binary.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        crate::migrations::run(
            &pool,
            crate::migrations::POSTGRES,
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .await?;
        let head = read_head(&pool).await?;
        let appender = Appender::spawn(Writer { pool: pool.clone() }, head);
        let listener = tokio::spawn(listen(pool.clone(), appender.head_sender()));
        Ok(Self {
            pool,
            appender,
            listener,
        })
    }

    /// The pool, for maintenance commands and tests that inspect the database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Follows other processes' appends; reconnects after a lost connection.
async fn listen(pool: PgPool, head: tokio::sync::watch::Sender<u64>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(CHANNEL).await {
                    tracing::warn!(%error, "cannot LISTEN for new events");
                } else {
                    while let Ok(notification) = listener.recv().await {
                        if let Ok(position) = notification.payload().parse::<u64>() {
                            crate::batch::advance(&head, position);
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot connect the event listener"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

sql_backend! {
    database: sqlx::Postgres,
    head: "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
    claim: "INSERT INTO unique_keys (key, stream, position) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    key_holder: "SELECT stream FROM unique_keys WHERE key = $1",
    release: "DELETE FROM unique_keys WHERE key = $1 AND stream = $2",
    read_stream: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE stream = $1 ORDER BY version",
    read_stream_back: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE stream = $1 ORDER BY version DESC LIMIT $2",
    read_all: "SELECT position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash FROM events WHERE position > $1 ORDER BY position LIMIT $2",
    read_all_with: read_all,
    recorded_within: "SELECT (SELECT min(position) FROM events WHERE recorded_at >= $1), (SELECT max(position) FROM events WHERE recorded_at < $2)",
    load_snapshot: "SELECT version, position, data, chain_hash, seal FROM snapshots WHERE name = $1",
    save_snapshot: "INSERT INTO snapshots (name, version, position, data, chain_hash, seal) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position, data = excluded.data, chain_hash = excluded.chain_hash, seal = excluded.seal",
    store: PostgresStore,
    // LISTEN/NOTIFY wakes waiters at once; the poll only covers a lost listener.
    poll_every: Duration::from_millis(500),
}
