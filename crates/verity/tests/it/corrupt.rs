//! A corrupted event in the store — data that is not JSON, a type no aggregate has, a
//! field renamed, a schema from the future — made with raw SQL: the server does not start,
//! and `replay` and `events export` stop, each naming the event's position in one clear
//! error line, never a panic; `audit verify` names it while the hashes are not redone.

use std::process::Output;

use crate::support::{Target, assert_clear_error, stderr};
use crate::trust::{ended_at_start, raw_sql, rewrite};

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
        rewrite(&target, |_| {}).await;
        let context = |output: &Output| format!("{corruption}: {}", stderr(output));
        let started = ended_at_start(&target);
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
