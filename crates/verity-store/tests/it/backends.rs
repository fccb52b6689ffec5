//! Fresh stores for tests, and small builders.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use verity_domain::{Actor, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use verity_store::{Location, Store};

/// A fresh, empty store and what keeps it alive.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub location: Location,
    _dir: Option<TempDir>,
}

impl Backend {
    /// Opens a second handle on the same database, as another node would.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        verity_store::open(&self.location).await.unwrap()
    }
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::Sqlite(dir.path().join("verity.db"));
    let store = verity_store::open(&location).await.unwrap();
    Backend {
        store,
        location,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> Option<Backend> {
    let url = verity_testkit::postgres_database().await?;
    let location = Location::Postgres(url);
    let store = verity_store::open(&location).await.unwrap();
    Some(Backend {
        store,
        location,
        _dir: None,
    })
}

pub fn metadata() -> EventMetadata {
    EventMetadata {
        actor: Actor::System,
        request_id: None,
        client_ip: None,
        occurred_at: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    }
}

pub fn event(event_type: &str, data: &str) -> NewEvent {
    NewEvent {
        event_type: event_type.into(),
        schema: 1,
        data: data.into(),
        metadata: metadata(),
    }
}

pub fn one(stream: &str, expected: ExpectedVersion) -> AppendRequest {
    AppendRequest::new(stream, expected, vec![event("test.happened", r#"{"n":1}"#)])
}

/// The SQLite backend as the suites open it (always there).
pub async fn sqlite_backend() -> Option<Backend> {
    Some(sqlite().await)
}

/// Runs each case (`async fn case(backend: Backend)` in the invoking module) once per
/// backend, as `on_sqlite::case` and `on_postgres::case`.
macro_rules! on_each_backend {
    ($($case:ident),+ $(,)?) => {
        $crate::backends::on_each_backend!(@backend on_sqlite, crate::backends::sqlite_backend, $($case),+);
        $crate::backends::on_each_backend!(@backend on_postgres, crate::backends::postgres, $($case),+);
    };
    (@backend $backend:ident, $open:path, $($case:ident),+) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(backend) = $open().await else { return };
                    super::$case(backend).await;
                }
            )+
        }
    };
}
pub(crate) use on_each_backend;
