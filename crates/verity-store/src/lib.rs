//! Verity's event-store backends and what they share.
//!
//! - [`SqliteStore`]: the embedded default, one file under the data directory.
//! - [`PostgresStore`]: the production store, shared by any number of Verity processes.
//!
//! Both implement [`verity_domain::EventStore`] and [`verity_domain::SnapshotStore`] with
//! group commit ([`batch`]) and the hash chain ([`chain`]), and
//! [`verity_domain::ExpiringStore`] for short-lived protocol state ([`spawn_purge`] keeps
//! its table small); both pass one contract test suite (`tests/it/contract.rs`).
//! [`backup`] copies the embedded store while it serves.

pub mod backup;
mod batch;
pub mod chain;
mod clock;
mod expiring;
mod migrations;
pub mod personal;
mod postgres;
mod sql;
mod sqlite;
mod store;

use std::path::PathBuf;
use std::sync::Arc;

use verity_domain::StoreError;

pub use expiring::{PURGE_EVERY, spawn_purge};
pub use personal::{PersonalSecrets, SealedStore};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::Store;

/// Where the log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database URL (`postgres://...`).
    Postgres(String),
}

impl Location {
    /// Reads a `--database-url`: `postgres://` or `postgresql://` URLs, or `sqlite:PATH`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            Err(StoreError::Invalid(format!(
                "unsupported database URL {:?}: expected postgres://... or sqlite:PATH",
                redact(url)
            )))
        }
    }

    /// A description safe to print (no password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => redact(url),
        }
    }
}

/// Removes a password from a URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens the store at `location`.
pub async fn open(location: &Location) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        Location::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_hide_passwords() {
        assert_eq!(
            Location::parse("sqlite:data/verity.db").unwrap(),
            Location::Sqlite("data/verity.db".into())
        );
        let postgres = Location::parse("postgres://verity:s3cret@127.0.0.1:5432/verity").unwrap();
        assert_eq!(
            postgres.describe(),
            "postgres://verity:***@127.0.0.1:5432/verity"
        );
        assert!(matches!(
            Location::parse("mysql://x"),
            Err(StoreError::Invalid(_))
        ));
    }
}
