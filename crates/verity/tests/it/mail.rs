//! The temporary-password email, through the real binary: delivered to a real SMTP
//! server (mailin-embedded, in this process), written to the outbox without one, and a
//! failed delivery that leaves nothing in the log.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Duration;

use verity::app::App;
use verity::config::Config;
use verity_domain::Email;
use verity_oidc::credentials::verify_password;
use verity_projection::PasswordState;
use verity_testkit::smtp::{ReceivedMail, Sink};

use crate::support::{Target, assert_clear_error, assert_no_panic, json_lines, stderr};

const WAIT: Duration = Duration::from_secs(20);

/// `verity ARGS` with the SMTP settings of a server on `port` (plain SMTP on loopback).
fn run_with_smtp(target: &Target, port: u16, args: &[&str]) -> Output {
    let output = target
        .command()
        .env("VERITY__SMTP__HOST", "127.0.0.1")
        .env("VERITY__SMTP__PORT", port.to_string())
        .env("VERITY__SMTP__TLS", "none")
        .env("VERITY__SMTP__FROM", "Verity <no-reply@verity.test>")
        .env("VERITY__SMTP__TIMEOUT_SECONDS", "10")
        .env("VERITY__SERVER__PUBLIC_URL", "https://id.verity.test")
        .args(args)
        .output()
        .unwrap();
    assert_no_panic(&output);
    output
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "failed: {}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// The temporary password as the text body gives it.
fn password_in(text: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix("Temporary password:"))
        .map(|password| password.trim().to_owned())
        .unwrap_or_else(|| panic!("no temporary password in:\n{text}"))
}

/// The `temporary_password_hash` of the exported events of `event_type`.
fn hashes(target: &Target, event_type: &str) -> Vec<String> {
    json_lines(&target.ok(&["events", "export", "--type", event_type]))
        .iter()
        .map(|event| {
            event["data"]["temporary_password_hash"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn config(target: &Target) -> Config {
    let mut config = Config::default();
    config.store.data_dir = target.dir.path().join("data");
    config.store.database_url = target.database_url.clone();
    config
}

/// What the person's record says of their password, read in-process from the same store.
async fn password_state(target: &Target, email: &str) -> PasswordState {
    let app = App::open(config(target)).await.unwrap();
    let email = Email::parse(email).unwrap();
    let user_id = app.projector.read(|models| {
        let org = models.organizations.find_by_name("Default").unwrap().org_id;
        models.users.find_by_email(org, &email).unwrap().user_id
    });
    verity_projection::load_person(app.store.as_ref(), user_id)
        .await
        .unwrap()
        .unwrap()
        .password
}

const CREATE_ADA: &[&str] = &[
    "user",
    "create",
    "--org",
    "Default",
    "--email",
    "ada@example.org",
    "--name",
    "Ada Lovelace",
    "--json",
];

#[test]
fn user_create_emails_a_temporary_password_that_matches_the_log() {
    let sink = Sink::start();
    let target = Target::sqlite();

    let created = json_lines(&ok(run_with_smtp(&target, sink.port(), CREATE_ADA)));
    assert!(
        created[0].get("temporary_password").is_none(),
        "not printed without --show-password: {}",
        created[0]
    );
    assert!(
        created[0]["delivery"]["smtp"]
            .as_str()
            .unwrap()
            .starts_with("250"),
        "{}",
        created[0]
    );

    let mail = sink.wait_for_message(WAIT);
    assert_eq!(mail.to, vec!["ada@example.org".to_owned()]);
    assert_eq!(mail.from, "no-reply@verity.test");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Your Verity account")
    );
    let text = mail.text();
    let password = password_in(&text);
    assert!(password.len() >= 16, "{password}");
    assert!(
        text.contains("Sign in at: https://id.verity.test"),
        "{text}"
    );
    assert!(text.contains("expires in 7 days, on "), "{text}");
    let expires_at = created[0]["expires_at"].as_str().unwrap();
    let date = expires_at.get(..10).unwrap();
    assert!(text.contains(date), "expiry {date} in {text}");
    assert!(mail.html().contains(&password));

    // The password in the email is the one whose hash the log holds, and only the hash.
    let hashes = hashes(&target, "user.created");
    assert_eq!(hashes.len(), 1);
    assert!(verify_password(&password, &hashes[0]));
    assert!(!target.ok(&["events", "export"]).contains(&password));
}

#[test]
fn show_password_also_prints_the_password_that_was_emailed() {
    let sink = Sink::start();
    let target = Target::sqlite();
    let mut args = CREATE_ADA.to_vec();
    args.push("--show-password");
    let created = json_lines(&ok(run_with_smtp(&target, sink.port(), &args)));
    let printed = created[0]["temporary_password"].as_str().unwrap();
    assert_eq!(printed, password_in(&sink.wait_for_message(WAIT).text()));
}

#[test]
fn without_smtp_the_email_is_written_to_the_outbox() {
    let target = Target::sqlite();
    let stdout = target.ok(&[
        "user",
        "create",
        "--org",
        "Default",
        "--email",
        "ada@example.org",
        "--name",
        "Ada Lovelace",
    ]);
    assert!(!stdout.contains("temporary password:"), "{stdout}");
    let outbox = target.dir.path().join("data").join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert_eq!(file.extension().unwrap(), "eml");
    assert!(
        stdout.contains(&file.display().to_string()),
        "the path is shown: {stdout}"
    );
    assert_eq!(
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&outbox).unwrap().permissions().mode() & 0o777,
        0o700,
        "the outbox folder is the owner's only"
    );

    let mail = ReceivedMail {
        from: String::new(),
        to: Vec::new(),
        raw: std::fs::read_to_string(file).unwrap(),
    };
    assert_eq!(
        mail.header("To").as_deref(),
        Some("\"Ada Lovelace\" <ada@example.org>")
    );
    let password = password_in(&mail.text());
    assert!(verify_password(
        &password,
        &hashes(&target, "user.created")[0]
    ));
}

#[test]
fn an_unreachable_smtp_server_fails_the_command_and_records_nothing() {
    // Nobody listens there: connection refused.
    let closed = verity_testkit::RefusingPort::new();
    let target = Target::sqlite();
    let output = run_with_smtp(&target, closed.port(), CREATE_ADA);
    assert_clear_error(&output, "could not be sent");
    assert!(stderr(&output).contains("no account was created"));
    assert!(output.stdout.is_empty(), "nothing printed on failure");
    assert!(hashes(&target, "user.created").is_empty());
    assert!(json_lines(&target.ok(&["user", "list", "--org", "Default", "--json"])).is_empty());
}

#[tokio::test]
async fn reset_password_emails_a_new_temporary_password_that_replaces_the_old_one() {
    let sink = Sink::start();
    let target = Target::sqlite();
    ok(run_with_smtp(&target, sink.port(), CREATE_ADA));
    let first = password_in(&sink.wait_for_message(WAIT).text());

    let reset = json_lines(&ok(run_with_smtp(
        &target,
        sink.port(),
        &[
            "user",
            "reset-password",
            "ada@example.org",
            "--org",
            "Default",
            "--json",
        ],
    )));
    assert!(reset[0].get("temporary_password").is_none());
    let mail = sink.wait_for_message_after(1, WAIT);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Your new temporary password for Verity")
    );
    let second = password_in(&mail.text());
    assert_ne!(first, second);

    let issued = hashes(&target, "user.temporary_password.issued");
    assert_eq!(issued.len(), 1);
    assert!(verify_password(&second, &issued[0]));
    assert!(!verify_password(&first, &issued[0]));

    let PasswordState::Temporary { hash, expires_at } =
        password_state(&target, "ada@example.org").await
    else {
        panic!("expected a temporary password");
    };
    assert_eq!(hash, issued[0]);
    assert_eq!(
        expires_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        reset[0]["expires_at"].as_str().unwrap()
    );
}

#[test]
fn reset_password_is_refused_for_a_disabled_or_unknown_person_before_any_email() {
    let sink = Sink::start();
    let target = Target::sqlite();
    ok(run_with_smtp(&target, sink.port(), CREATE_ADA));
    sink.wait_for_message(WAIT);
    target.ok(&["user", "disable", "ada@example.org", "--org", "Default"]);

    let reset = [
        "user",
        "reset-password",
        "ada@example.org",
        "--org",
        "Default",
    ];
    assert_clear_error(&run_with_smtp(&target, sink.port(), &reset), "disabled");
    let unknown = [
        "user",
        "reset-password",
        "bob@example.org",
        "--org",
        "Default",
    ];
    assert_clear_error(&run_with_smtp(&target, sink.port(), &unknown), "no user");

    assert_eq!(sink.messages().len(), 1, "no email for refused resets");
    assert!(hashes(&target, "user.temporary_password.issued").is_empty());
}

#[test]
fn a_failed_reset_keeps_the_current_password() {
    let sink = Sink::start();
    let target = Target::sqlite();
    ok(run_with_smtp(&target, sink.port(), CREATE_ADA));
    sink.wait_for_message(WAIT);

    let closed = verity_testkit::RefusingPort::new();
    let output = run_with_smtp(
        &target,
        closed.port(),
        &[
            "user",
            "reset-password",
            "ada@example.org",
            "--org",
            "Default",
        ],
    );
    assert_clear_error(&output, "could not be sent");
    assert!(stderr(&output).contains("the current one still works"));
    assert!(hashes(&target, "user.temporary_password.issued").is_empty());
}
