//! Bad input: one clear error line, a non-zero exit, no panic, nothing written.

use std::net::TcpListener;

use sqlx::Connection;

use crate::support::{Target, assert_clear_error};

#[test]
fn a_corrupt_database_file_is_refused_untouched() {
    let target = Target::sqlite();
    std::fs::create_dir_all(target.sqlite_path().parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(target.sqlite_path(), &garbage).unwrap();
    assert_clear_error(&target.run(&["org", "list"]), "not a database");
    assert_eq!(std::fs::read(target.sqlite_path()).unwrap(), garbage);
}

#[tokio::test]
async fn a_database_of_another_application_is_refused() {
    let target = Target::sqlite();
    std::fs::create_dir_all(target.sqlite_path().parent().unwrap()).unwrap();
    let url = format!("sqlite:{}?mode=rwc", target.sqlite_path().display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    assert_clear_error(&target.run(&["org", "list"]), "another application");
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let target = Target::sqlite();
    target.ok(&["org", "list"]);
    let url = format!("sqlite:{}", target.sqlite_path().display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    assert_clear_error(&target.run(&["org", "list"]), "newer than this binary");
}

#[test]
fn wrong_database_urls_are_clear_errors() {
    let target = Target::sqlite();
    assert_clear_error(
        &target.run(&[
            "--database-url",
            "mysql://root@localhost/verity",
            "org",
            "list",
        ]),
        "unsupported database URL",
    );
    let closed = verity_testkit::RefusingPort::new();
    let url = format!(
        "postgres://verity:secret@127.0.0.1:{}/verity",
        closed.port()
    );
    let output = target.run(&["--database-url", &url, "org", "list"]);
    assert_clear_error(&output, "cannot connect to PostgreSQL");
    assert!(
        !crate::support::stderr(&output).contains("secret"),
        "the password leaked into the error"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error_and_writes_nothing() {
    let target = Target::sqlite();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let output = target
        .command()
        .env("VERITY__SERVER__BIND", &bind)
        .arg("serve")
        .output()
        .unwrap();
    assert_clear_error(&output, "cannot listen on");
    assert!(
        !target.sqlite_path().exists(),
        "a failed start created the store"
    );
}

#[test]
fn an_unreadable_or_invalid_config_is_a_clear_error() {
    let target = Target::sqlite();
    let missing = target.dir.path().join("missing.toml");
    assert_clear_error(
        &target.run(&["--config", missing.to_str().unwrap(), "org", "list"]),
        "cannot read configuration file",
    );
    let invalid = target.dir.path().join("invalid.toml");
    std::fs::write(&invalid, "[server\nbind = ").unwrap();
    assert_clear_error(
        &target.run(&["--config", invalid.to_str().unwrap(), "org", "list"]),
        "invalid configuration",
    );
    let typo = target.dir.path().join("typo.toml");
    std::fs::write(&typo, "[store]\ndata_dri = \"x\"\n").unwrap();
    assert_clear_error(
        &target.run(&["--config", typo.to_str().unwrap(), "org", "list"]),
        "data_dri",
    );
    assert!(!target.sqlite_path().exists());
}

#[test]
fn invalid_arguments_are_refused_before_anything_is_written() {
    let target = Target::sqlite();
    target.ok(&["org", "list"]);
    let before = target.ok(&["events", "export"]);
    assert_clear_error(
        &target.run(&[
            "user",
            "create",
            "--org",
            "Default",
            "--email",
            "not-an-email",
            "--name",
            "X",
        ]),
        "not an email address",
    );
    assert_clear_error(
        &target.run(&[
            "user", "create", "--org", "Nowhere", "--email", "a@b.org", "--name", "X",
        ]),
        "no organization",
    );
    assert_clear_error(&target.run(&["org", "create", "   "]), "organization name");
    assert_eq!(target.ok(&["events", "export"]), before);
}
