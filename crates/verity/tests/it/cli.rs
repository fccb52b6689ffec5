//! An operator's session with the CLI, on both backends.

use crate::support::{Target, json_lines};

fn operator_session(target: &Target) {
    // First use creates the instance and its default organization.
    let orgs = json_lines(&target.ok(&["org", "list", "--json"]));
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], "Default");

    let acme = json_lines(&target.ok(&["org", "create", "Acme", "--json"]));
    let acme_id = acme[0]["org_id"].as_str().unwrap().to_owned();
    let duplicate = target.run(&["org", "create", "ACME"]);
    crate::support::assert_clear_error(&duplicate, "already exists");

    let created = json_lines(&target.ok(&[
        "user",
        "create",
        "--org",
        "acme",
        "--email",
        " Ada@Example.org ",
        "--name",
        "Ada Lovelace",
        "--json",
        "--show-password",
    ]));
    let temporary_password = created[0]["temporary_password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(temporary_password.len() >= 16);
    assert_eq!(created[0]["email"], "ada@example.org");
    let user_id = created[0]["user_id"].as_str().unwrap().to_owned();

    // The same address (normalised) in the same organization is refused...
    let duplicate = target.run(&[
        "user",
        "create",
        "--org",
        &acme_id,
        "--email",
        "ADA@example.org",
        "--name",
        "Imposter",
    ]);
    crate::support::assert_clear_error(&duplicate, "already has an account");
    // ...but is fine in another one.
    target.ok(&[
        "user",
        "create",
        "--org",
        "Default",
        "--email",
        "ada@example.org",
        "--name",
        "Ada Elsewhere",
    ]);

    let users = json_lines(&target.ok(&["user", "list", "--org", "Acme", "--json"]));
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0]["status"].as_str(), users[0]["password"].as_str()),
        (Some("active"), Some("temporary"))
    );

    target.ok(&["user", "disable", "ada@example.org", "--org", "Acme"]);
    crate::support::assert_clear_error(
        &target.run(&["user", "disable", "ada@example.org", "--org", "Acme"]),
        "already disabled",
    );
    let users = json_lines(&target.ok(&["user", "list", "--org", "Acme", "--json"]));
    assert_eq!(users[0]["status"], "disabled");
    target.ok(&["user", "enable", "ada@example.org", "--org", "Acme"]);
    crate::support::assert_clear_error(
        &target.run(&["user", "enable", "nobody@example.org", "--org", "Acme"]),
        "no user",
    );

    // The export: every event, filters, and never the password in clear.
    let all = target.ok(&["events", "export"]);
    assert!(
        !all.contains(&temporary_password),
        "the temporary password is in the log in clear"
    );
    let events = json_lines(&all);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "instance.initialized",
            "org.created",
            "org.created",
            "user.created",
            "user.created",
            "user.disabled",
            "user.sessions.ended",
            "user.enabled"
        ]
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["position"], index as u64 + 1);
        for field in [
            "stream",
            "version",
            "schema",
            "data",
            "metadata",
            "recorded_at",
            "hash",
        ] {
            assert!(!event[field].is_null(), "{field} missing in {event}");
        }
    }
    assert!(
        events[3]["data"]["temporary_password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert_eq!(events[5]["metadata"]["actor"]["kind"], "cli");

    let stream = format!("user-{user_id}");
    let of_user = json_lines(&target.ok(&["events", "export", "--stream", &stream]));
    assert_eq!(
        of_user
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let created = json_lines(&target.ok(&["events", "export", "--type", "user.created"]));
    assert_eq!(created.len(), 2);
    let since = json_lines(&target.ok(&["events", "export", "--since", "5"]));
    assert_eq!(since.first().unwrap()["position"], 6);
    let future = json_lines(&target.ok(&["events", "export", "--from", "2100-01-01T00:00:00Z"]));
    assert!(future.is_empty());
    let past = json_lines(&target.ok(&["events", "export", "--to", "2000-01-01T00:00:00Z"]));
    assert!(past.is_empty());

    let verified = target.ok(&["audit", "verify"]);
    let head = events.last().unwrap()["hash"].as_str().unwrap();
    assert_eq!(
        verified.lines().next(),
        Some(format!("8 events, head {head}").as_str())
    );
    // Without the pinned audit key, verify says that signatures were not checked.
    assert!(verified.contains("signatures NOT checked"), "{verified}");

    let replay = json_lines(&target.ok(&["replay", "--json"]));
    assert_eq!(replay[0]["events"], 8);
    assert_eq!(replay[0]["match"], true);
}

#[test]
fn an_operator_manages_organizations_and_users_on_sqlite() {
    operator_session(&Target::sqlite());
}

#[tokio::test]
async fn an_operator_manages_organizations_and_users_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    operator_session(&target);
}

#[test]
fn a_command_whose_reader_went_away_ends_quietly() {
    let target = Target::sqlite();
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "bea", "cy"] {
        target.create_user("Acme", name);
    }
    for args in [
        &["events", "export"][..],
        &["user", "list", "--org", "Acme"],
        &["audit", "history", "--org", "Acme"],
        &["--json", "audit", "history", "--org", "Acme"],
        &["keys", "list"],
        &["audit", "key"],
    ] {
        // The pipe's reading end is closed before the command writes (`| head` that
        // has read enough): every write fails with EPIPE.
        let mut child = target
            .command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_is_available_everywhere() {
    let target = Target::sqlite();
    for args in [
        &["--help"][..],
        &["user", "--help"],
        &["user", "create", "--help"],
        &["events", "export", "--help"],
    ] {
        let output = target.ok(args);
        assert!(output.contains("Usage:"), "{args:?}: {output}");
    }
}
