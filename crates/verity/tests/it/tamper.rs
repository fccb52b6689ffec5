//! Tampering with the database behind Verity's back, through raw SQL: `audit verify`
//! names the first bad position every time.

use sqlx::{AssertSqlSafe, Connection};

use crate::support::{Target, stderr};

/// A store with a handful of events (positions 1..=6).
fn populated(target: &Target) {
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "grace", "edsger"] {
        target.ok(&[
            "user",
            "create",
            "--org",
            "Acme",
            "--email",
            &format!("{name}@example.org"),
            "--name",
            name,
        ]);
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
        &[
            "UPDATE events SET data = replace(data, 'temporary_password_hash', 'temporary_password_hasx') WHERE position = 5",
        ],
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

async fn tamper_sqlite(target: &Target, statements: &[&str]) {
    let url = format!("sqlite:{}", target.sqlite_path().display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for drop in [
        "DROP TRIGGER events_no_update",
        "DROP TRIGGER events_no_delete",
    ] {
        sqlx::query(drop).execute(&mut connection).await.unwrap();
    }
    for statement in statements {
        sqlx::query(AssertSqlSafe(*statement))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
}

async fn tamper_postgres(target: &Target, statements: &[&str]) {
    let mut connection = sqlx::PgConnection::connect(target.database_url.as_deref().unwrap())
        .await
        .unwrap();
    sqlx::query("DROP TRIGGER events_no_update_or_delete ON events")
        .execute(&mut connection)
        .await
        .unwrap();
    for statement in statements {
        sqlx::query(AssertSqlSafe(*statement))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
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
}

#[tokio::test]
async fn every_kind_of_tampering_is_detected_on_sqlite() {
    for (attack, statements, expected) in ATTACKS {
        let target = Target::sqlite();
        populated(&target);
        tamper_sqlite(&target, statements).await;
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
        tamper_postgres(&target, statements).await;
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
        tamper_sqlite(&target, &[statement]).await;
        let output = target.run(&["audit", "verify"]);
        assert!(!output.status.success(), "{statement}: not detected");
        let stderr = stderr(&output);
        assert!(
            stderr.contains("unreadable page after position 0"),
            "{statement}: {stderr}"
        );
    }
}

/// Signs a checkpoint of the head into a file of the test's directory.
fn checkpoint(target: &Target, name: &str) -> std::path::PathBuf {
    let token = target.ok(&["audit", "checkpoint"]);
    assert_eq!(token.trim().split('.').count(), 3, "a compact JWS: {token}");
    let path = target.dir.path().join(name);
    std::fs::write(&path, token).unwrap();
    path
}

fn verify_with(target: &Target, checkpoints: &[&std::path::Path]) -> std::process::Output {
    let mut args = vec!["audit".to_owned(), "verify".to_owned()];
    for path in checkpoints {
        args.push("--checkpoint".to_owned());
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    target.run(&args)
}

fn assert_checkpoint_refused(output: &std::process::Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(
        stderr(output).contains(expected),
        "expected {expected:?}, got {}",
        stderr(output)
    );
}

/// What the chain alone cannot see — the tail cut off, or cut off and other events
/// appended — a signed checkpoint kept outside the database shows.
async fn checkpoints_catch_truncation_and_rewriting(target: Target, postgres: bool) {
    populated(&target);
    let first = checkpoint(&target, "first.jws");
    let position =
        |output: &str| -> u64 { output.split_whitespace().next().unwrap().parse().unwrap() };
    let kept = position(&target.ok(&["audit", "verify"]));
    target.ok(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "alan@example.org",
        "--name",
        "Alan",
    ]);
    let second = checkpoint(&target, "second.jws");
    let signed = position(&target.ok(&["audit", "verify"]));
    assert!(signed > kept);
    let both = verify_with(&target, &[&first, &second]);
    assert_eq!(both.status.code(), Some(0), "{}", stderr(&both));
    assert!(
        String::from_utf8_lossy(&both.stdout)
            .contains(&format!("at position {signed}: the log holds it"))
    );

    // Cut the tail back to the first checkpoint: the chain is still whole.
    let cut = format!("DELETE FROM events WHERE position > {kept}");
    if postgres {
        tamper_postgres(&target, &[&cut]).await;
    } else {
        tamper_sqlite(&target, &[&cut]).await;
    }
    assert_eq!(target.run(&["audit", "verify"]).status.code(), Some(0));
    assert_checkpoint_refused(
        &verify_with(&target, &[&first, &second]),
        &format!(
            "the log ends at position {kept}, before the checkpoint's position {signed}: events were removed"
        ),
    );
    let still = verify_with(&target, &[&first]);
    assert_eq!(still.status.code(), Some(0), "{}", stderr(&still));

    // Other events where the cut ones were: the position is back, its hash is not.
    target.ok(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "mallory@example.org",
        "--name",
        "M",
    ]);
    assert_eq!(position(&target.ok(&["audit", "verify"])), signed);
    assert_checkpoint_refused(
        &verify_with(&target, &[&second]),
        &format!("the event at position {signed} has hash"),
    );

    // A checkpoint whose claims were edited does not verify.
    let token = std::fs::read_to_string(&first).unwrap();
    let parts: Vec<&str> = token.trim().split('.').collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
    let edited = claims.replace(&format!("\"position\":{kept}"), "\"position\":1");
    assert_ne!(edited, claims);
    let forged = target.dir.path().join("forged.jws");
    std::fs::write(
        &forged,
        format!("{}.{}.{}", parts[0], engine.encode(edited), parts[2]),
    )
    .unwrap();
    assert_checkpoint_refused(
        &verify_with(&target, &[&forged]),
        "its signature does not verify",
    );
    // Something else than a checkpoint is said to be one.
    let other = target.dir.path().join("other.txt");
    std::fs::write(&other, "not a token\n").unwrap();
    assert_checkpoint_refused(&verify_with(&target, &[&other]), "not a checkpoint");
}

#[tokio::test]
async fn checkpoints_catch_truncation_and_rewriting_on_sqlite() {
    checkpoints_catch_truncation_and_rewriting(Target::sqlite(), false).await;
}

#[tokio::test]
async fn checkpoints_catch_truncation_and_rewriting_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    checkpoints_catch_truncation_and_rewriting(target, true).await;
}
