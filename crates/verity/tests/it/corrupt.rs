//! A corrupted event in the store — data that is not JSON, a type no aggregate has, a
//! field renamed, a schema from the future — made with raw SQL: the server does not start,
//! and `replay` and `events export` stop, each naming the event's position in one clear
//! error line, never a panic; `audit verify` names it while the hashes are not redone.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};
use verity_store::chain::{EventFields, GENESIS};

use crate::support::{Target, assert_clear_error, stderr};

/// The corrupted position: the second person's `user.created`.
const BAD: u64 = 5;

/// Each corruption: its name and the SQL that makes it.
const CORRUPTIONS: &[(&str, &str)] = &[
    (
        "data that is not JSON",
        "UPDATE events SET data = '{\"user_id\": ' WHERE position = 5",
    ),
    (
        "a type no aggregate has",
        "UPDATE events SET event_type = 'user.exploded' WHERE position = 5",
    ),
    (
        "a field renamed",
        "UPDATE events SET data = replace(data, '\"email\"', '\"emial\"') WHERE position = 5",
    ),
    (
        "a schema from the future",
        "UPDATE events SET schema_version = 9 WHERE position = 5",
    ),
];

/// Positions 1 to 6: the instance, two organizations, three people.
fn populated(target: &Target) {
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "grace", "edsger"] {
        target.create_user("Acme", name);
    }
}

/// Runs `statements` on the target's database with the append-only triggers dropped.
async fn raw_sql(target: &Target, statements: &[String]) {
    let drops: &[&str] = match target.database_url {
        Some(_) => &["DROP TRIGGER IF EXISTS events_no_update_or_delete ON events"],
        None => &[
            "DROP TRIGGER IF EXISTS events_no_update",
            "DROP TRIGGER IF EXISTS events_no_delete",
        ],
    };
    let all: Vec<String> = drops
        .iter()
        .map(|drop| (*drop).to_owned())
        .chain(statements.iter().cloned())
        .collect();
    match &target.database_url {
        Some(url) => run_all(sqlx::PgConnection::connect(url).await.unwrap(), &all).await,
        None => {
            let url = format!("sqlite:{}", target.sqlite_path().display());
            run_all(sqlx::SqliteConnection::connect(&url).await.unwrap(), &all).await;
        }
    }
}

async fn run_all<C>(mut connection: C, statements: &[String])
where
    C: Connection,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = C::Database>,
{
    for statement in statements {
        sqlx::Executor::execute(&mut connection, AssertSqlSafe(statement.clone()))
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
}

/// Recomputes every hash from `from` on, as someone who knows the algorithm would: the
/// chain is whole again, and only reading the events shows what is wrong.
async fn rehash(target: &Target, from: u64) {
    let location = match &target.database_url {
        Some(url) => verity_store::Location::Postgres(url.clone()),
        None => verity_store::Location::Sqlite(target.sqlite_path()),
    };
    let store = verity_store::open(&location).await.unwrap();
    let events = store.read_all(0, 1000).await.unwrap();
    let mut previous = GENESIS;
    let mut updates = Vec::new();
    for event in &events {
        let hash = EventFields::of(event).hash(&previous);
        if event.position >= from {
            let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
            let literal = match target.database_url {
                Some(_) => format!("decode('{hex}', 'hex')"),
                None => format!("X'{hex}'"),
            };
            updates.push(format!(
                "UPDATE events SET hash = {literal} WHERE position = {}",
                event.position
            ));
        }
        previous = hash;
    }
    drop(store);
    raw_sql(target, &updates).await;
}

/// Starts `verity serve` and waits for it to end (it must refuse to start).
fn serve_until_it_ends(target: &Target) -> Output {
    let mut child = target
        .command()
        .arg("serve")
        .env("VERITY__SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("verity serve started on a corrupted log");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    crate::support::assert_no_panic(&output);
    output
}

/// Every way in that reads the events stops at the corrupted one, naming it.
async fn corruption_is_named(target_for: impl AsyncFn() -> Option<Target>) {
    let position = format!("position {BAD}");
    for (corruption, statement) in CORRUPTIONS {
        let Some(target) = target_for().await else {
            return;
        };
        populated(&target);
        raw_sql(&target, &[(*statement).to_owned()]).await;

        // With the hashes left as they were, the chain names the event.
        let verify = target.run(&["audit", "verify"]);
        assert_eq!(verify.status.code(), Some(2), "{corruption}: not detected");
        assert!(
            stderr(&verify).contains(&format!("event {BAD}:")),
            "{corruption}: {}",
            stderr(&verify)
        );

        // With the hashes redone, reading the event shows it.
        rehash(&target, BAD).await;
        let context = |output: &Output| format!("{corruption}: {}", stderr(output));
        let started = serve_until_it_ends(&target);
        assert!(!started.status.success(), "{}", context(&started));
        assert_clear_error(&started, &position);
        let replay = target.run(&["replay"]);
        assert_clear_error(&replay, &position);
        let listed = target.run(&["user", "list", "--org", "Acme"]);
        assert_clear_error(&listed, &position);

        let export = target.run(&["events", "export"]);
        let exported = String::from_utf8(export.stdout.clone()).unwrap();
        for line in exported.lines() {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{corruption}: unreadable line {line}: {error}"));
            assert!(event["position"].as_u64().is_some());
        }
        if corruption.contains("not JSON") {
            assert_clear_error(&export, &position);
            assert_eq!(exported.lines().count() as u64, BAD - 1, "{corruption}");
        } else {
            // The export is the log as stored: the event is there, as it is.
            assert!(export.status.success(), "{}", context(&export));
            assert_eq!(exported.lines().count(), 6, "{corruption}");
        }
    }
}

#[tokio::test]
async fn a_corrupted_event_is_named_by_its_position_on_sqlite() {
    corruption_is_named(async || Some(Target::sqlite())).await;
}

#[tokio::test]
async fn a_corrupted_event_is_named_by_its_position_on_postgres() {
    corruption_is_named(Target::postgres).await;
}
