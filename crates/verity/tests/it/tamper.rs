//! Tampering with the database behind Verity's back, through raw SQL, without recomputing
//! the hashes: `audit verify` names the first bad position every time, and the server
//! refuses to start, naming it too. Rewrites that do recompute them, and cut tails, are
//! for the signed checkpoints (`trust.rs`).

use sqlx::Connection;

use crate::support::{Target, stderr};

/// A store with a handful of events (positions 1..=6).
fn populated(target: &Target) {
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "grace", "edsger"] {
        target.create_user("Acme", name);
    }
    assert!(
        target
            .ok(&["audit", "verify"])
            .starts_with("6 events, head ")
    );
}

/// Each attack: the SQL after the append-only triggers are dropped, and what the
/// report must say.
const ATTACKS: &[(&str, &[&str], &str)] = &[
    (
        "changed payload",
        &["UPDATE events SET data = replace(data, 'grace', 'mallory') WHERE position = 5"],
        "event 5: stored hash does not match",
    ),
    (
        "deleted row",
        &["DELETE FROM events WHERE position = 4"],
        "position 5 follows position 3",
    ),
    (
        "swapped rows",
        &[
            "UPDATE events SET position = -1 WHERE position = 3",
            "UPDATE events SET position = 3 WHERE position = 4",
            "UPDATE events SET position = 4 WHERE position = -1",
        ],
        "event 3: stored hash does not match",
    ),
    (
        "inserted row",
        &[
            "UPDATE events SET position = position + 100 WHERE position >= 4",
            "UPDATE events SET position = position - 99 WHERE position >= 100",
            "INSERT INTO events (position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash) \
             SELECT 4, 'user-forged', 1, 'user.created', 1, '{}', metadata, recorded_at, hash FROM events WHERE position = 3",
        ],
        "event 4: stored hash does not match",
    ),
];

/// Runs the attack's statements, the append-only triggers dropped.
async fn tamper(target: &Target, statements: &[&str]) {
    let statements: Vec<String> = statements.iter().map(|s| (*s).to_owned()).collect();
    crate::trust::raw_sql(target, &statements).await;
}

fn assert_detected(target: &Target, attack: &str, expected: &str) {
    let output = target.run(&["audit", "verify"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{attack}: not detected: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = stderr(&output);
    assert!(
        stderr.contains(expected),
        "{attack}: expected {expected:?}, got {stderr}"
    );
    // The log holds no checkpoint yet: the server verifies all of it at start.
    let said = crate::trust::refused_at_start(target);
    assert!(
        said.contains(expected),
        "{attack}: expected {expected:?} at start, got {said}"
    );
}

#[tokio::test]
async fn every_kind_of_tampering_is_detected_on_sqlite() {
    for (attack, statements, expected) in ATTACKS {
        let target = Target::sqlite();
        populated(&target);
        tamper(&target, statements).await;
        assert_detected(&target, attack, expected);
    }
}

#[tokio::test]
async fn every_kind_of_tampering_is_detected_on_postgres() {
    for (attack, statements, expected) in ATTACKS {
        let Some(target) = Target::postgres().await else {
            return;
        };
        populated(&target);
        tamper(&target, statements).await;
        assert_detected(&target, attack, expected);
    }
}

#[tokio::test]
async fn the_log_refuses_updates_and_deletes_through_sql() {
    let target = Target::sqlite();
    populated(&target);
    let url = format!("sqlite:{}", target.sqlite_path().display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let update = sqlx::query("UPDATE events SET data = '{}' WHERE position = 1")
        .execute(&mut connection)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events")
        .execute(&mut connection)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

/// SQLite packs a page of events with control characters between fields
/// (`verity-store/src/sqlite.rs`); a field edited to contain one cannot shift the others
/// into place: the page is reported unreadable, and appends refuse such names.
#[tokio::test]
async fn a_separator_smuggled_into_a_field_is_reported_not_misread() {
    for statement in [
        "UPDATE events SET stream = stream || char(31) || 'x' WHERE position = 5",
        "UPDATE events SET event_type = event_type || char(30) || '7' WHERE position = 5",
    ] {
        let target = Target::sqlite();
        populated(&target);
        tamper(&target, &[statement]).await;
        let output = target.run(&["audit", "verify"]);
        assert!(!output.status.success(), "{statement}: not detected");
        let stderr = stderr(&output);
        assert!(
            stderr.contains("unreadable page after position 0"),
            "{statement}: {stderr}"
        );
    }
}
