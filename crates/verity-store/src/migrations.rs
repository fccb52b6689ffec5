//! Schema migrations, compiled into the binary from `migrations/<backend>/` and applied
//! with sqlx's migrator (checksummed, locked, in a transaction).

use std::borrow::Cow;

use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};
use sqlx::{Database, Pool, SqlSafeStr};
use verity_domain::StoreError;

/// A migration: version, description, SQL.
type Source = (i64, &'static str, &'static str);

/// The SQLite schema.
pub(crate) const SQLITE: &[Source] = &[
    (
        1,
        "event log",
        include_str!("../../../migrations/sqlite/0001_event_log.sql"),
    ),
    (
        2,
        "expiring store",
        include_str!("../../../migrations/sqlite/0002_expiring.sql"),
    ),
    (
        3,
        "snapshot seal",
        include_str!("../../../migrations/sqlite/0003_snapshot_seal.sql"),
    ),
    (
        4,
        "person keys",
        include_str!("../../../migrations/sqlite/0004_person_keys.sql"),
    ),
];

/// The PostgreSQL schema.
pub(crate) const POSTGRES: &[Source] = &[
    (
        1,
        "event log",
        include_str!("../../../migrations/postgres/0001_event_log.sql"),
    ),
    (
        2,
        "expiring store",
        include_str!("../../../migrations/postgres/0002_expiring.sql"),
    ),
    (
        3,
        "snapshot seal",
        include_str!("../../../migrations/postgres/0003_snapshot_seal.sql"),
    ),
    (
        4,
        "person keys",
        include_str!("../../../migrations/postgres/0004_person_keys.sql"),
    ),
    (
        5,
        "person keys order",
        include_str!("../../../migrations/postgres/0005_person_keys_order.sql"),
    ),
];

/// The newest schema version this binary knows.
fn latest(sources: &[Source]) -> i64 {
    sources
        .iter()
        .map(|(version, _, _)| *version)
        .max()
        .unwrap_or(0)
}

/// Applies the migrations after making sure the database is empty or Verity's own.
/// `list_tables` lists the names of the tables in the database.
pub(crate) async fn run<DB: Database>(
    pool: &Pool<DB>,
    sources: &[Source],
    list_tables: &'static str,
) -> Result<(), StoreError>
where
    DB::Connection: Migrate,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let tables: Vec<(String,)> = sqlx::query_as(list_tables)
        .fetch_all(pool)
        .await
        .map_err(crate::sql::map_error)?;
    let has = |name: &str| tables.iter().any(|(table,)| table == name);
    let ours = has("_sqlx_migrations") && has("events");
    if !tables.is_empty() && !ours {
        return Err(StoreError::Incompatible(
            "the database holds tables of another application; point Verity at an empty database or a Verity one".into(),
        ));
    }
    let migrations = sources
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations).run(pool).await.map_err(|error| match error {
        MigrateError::VersionMissing(version) => StoreError::Incompatible(format!(
            "the schema is at migration {version}, newer than this binary (which knows up to {}): upgrade Verity",
            latest(sources)
        )),
        MigrateError::VersionMismatch(version) => {
            StoreError::Incompatible(format!("migration {version} differs from the one this binary ships"))
        }
        other => StoreError::Unavailable(format!("migration failed: {other}")),
    })
}
