//! `verity backup` while the server serves and writes, `verity restore` into an empty data
//! directory: the chain verifies, the keys come back, and a person signs in as before.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sqlx::Connection;
use verity_testkit::Device;

use crate::provider::{Provider, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::{Target, assert_clear_error};

/// The number of events a backup or restore reports (`... N events ...`).
fn events_in(output: &str) -> u64 {
    output
        .split_whitespace()
        .zip(output.split_whitespace().skip(1))
        .find_map(|(count, word)| {
            (word.trim_end_matches(',') == "events")
                .then(|| count.parse().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no event count in {output:?}"))
}

/// Signs `person` in at `provider` and redeems the code: the token response's status.
async fn sign_in_and_redeem(
    provider: &Provider,
    client: &RegisteredClient,
    person: &mut verity_testkit::Person,
) -> u16 {
    let mut browser = provider.browser();
    let request = client.authorization().with("state", "s").query();
    let redirect = browser.code_flow(&request, person, Device::Forget).await;
    assert_eq!(redirect.status, 303, "{}", redirect.body);
    let code = redirect.code().expect("a code");
    provider
        .browser()
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .status
}

#[tokio::test]
async fn a_backup_made_while_serving_restores_into_an_empty_directory_and_signs_people_in() {
    let provider = Provider::start().await;
    let client = provider.client(&[]).await;
    let mut ada = provider.person("ada@example.org").await;
    provider.caught_up().await;
    assert_eq!(sign_in_and_redeem(&provider, &client, &mut ada).await, 200);
    let before = events_in(&provider.target.ok(&["audit", "verify"]));

    // Other writes go on while the backup is made: people created, sign-in pages opened.
    let out = provider.target.dir.path().join("backup.db");
    let mut backup = provider.target.command();
    backup.arg("backup").arg("--out").arg(&out);
    let backup = tokio::task::spawn_blocking(move || backup.output().unwrap());
    let mut browser = provider.browser();
    let mut created = 0;
    while !backup.is_finished() {
        let email = format!("during-{created}@example.org");
        provider.target.ok(&[
            "user", "create", "--org", "Default", "--email", &email, "--name", "During",
        ]);
        let page = browser
            .authorize(&client.authorization().with("state", "x").query())
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        created += 1;
    }
    let backup = backup.await.unwrap();
    let printed = String::from_utf8(backup.stdout).unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let copied = events_in(&printed);
    let after = events_in(&provider.target.ok(&["audit", "verify"]));
    assert!(
        (before..=after).contains(&copied),
        "{before} <= {copied} <= {after}"
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The master key is named as something to keep apart, and is not in the file.
    let key_file = provider.target.dir.path().join("data").join("master.key");
    assert!(printed.contains(&format!("the master key file {}", key_file.display())));
    let master_key = std::fs::read_to_string(&key_file).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !bytes
            .windows(master_key.trim().len())
            .any(|window| window == master_key.trim().as_bytes())
    );

    // A data directory in use is refused; an empty one takes the backup.
    let out_arg = out.to_str().unwrap();
    assert_clear_error(&provider.target.run(&["restore", out_arg]), "is not empty");
    let restored = Target::sqlite();
    let data = restored.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let report = restored.ok(&["restore", out_arg]);
    assert_eq!(events_in(&report), copied);
    assert!(report.contains("chain verified"), "{report}");
    assert!(report.contains("supply master key"), "{report}");
    assert_eq!(
        events_in(&restored.ok(&["audit", "verify"])),
        copied,
        "the restored chain verifies to the backup's head"
    );

    // The operator brings the master key and the audit key back; the restored node signs
    // Ada in with the password she chose and her authenticator app, and publishes the same
    // keys.
    assert!(report.contains("supply audit key"), "{report}");
    std::fs::copy(&key_file, data.join("master.key")).unwrap();
    let audit_dir = restored.dir.path().join("data-audit");
    std::fs::create_dir(&audit_dir).unwrap();
    std::fs::set_permissions(&audit_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let audit_key = provider
        .target
        .dir
        .path()
        .join("data-audit")
        .join("audit.key");
    std::fs::copy(&audit_key, audit_dir.join("audit.key")).unwrap();
    let node = Provider::start_with(restored, &[]).await;
    assert_eq!(sign_in_and_redeem(&node, &client, &mut ada).await, 200);
    assert_eq!(
        node.browser().peek("/jwks").await.body,
        provider.browser().peek("/jwks").await.body
    );
}

/// Runs raw SQL on a SQLite file behind Verity's back.
async fn tamper(path: &Path, statements: &[&str]) {
    let url = format!("sqlite:{}", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
}

fn assert_empty(directory: &Path) {
    let left: Vec<_> = std::fs::read_dir(directory).unwrap().collect();
    assert!(left.is_empty(), "a failed restore left {left:?}");
}

#[tokio::test]
async fn a_backup_that_does_not_verify_or_is_not_a_store_is_not_restored() {
    let source = Target::sqlite();
    source.ok(&["org", "create", "Acme"]);
    let out = source.dir.path().join("backup.db");
    source.ok(&["backup", "--out", out.to_str().unwrap()]);
    assert_clear_error(
        &source.run(&["backup", "--out", out.to_str().unwrap()]),
        "already exists",
    );
    tamper(
        &out,
        &[
            "DROP TRIGGER events_no_update",
            "UPDATE events SET data = replace(data, 'Acme', 'Evil') WHERE position = 3",
        ],
    )
    .await;
    let target = Target::sqlite();
    assert_clear_error(
        &target.run(&["restore", out.to_str().unwrap()]),
        "the backup's chain is broken: event 3",
    );
    assert_empty(&target.dir.path().join("data"));

    let garbage = source.dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    assert_clear_error(
        &target.run(&["restore", garbage.to_str().unwrap()]),
        "not a database",
    );
    assert_empty(&target.dir.path().join("data"));

    let output = target.run(&[
        "--database-url",
        "postgres://verity@127.0.0.1:1/verity",
        "backup",
        "--out",
        "x.db",
    ]);
    assert_clear_error(&output, "pg_dump");
}
