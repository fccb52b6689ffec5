//! `verity user erase` end to end, on SQLite and PostgreSQL: the person leaves every list,
//! the export holds no trace of them in clear, `audit verify` and `replay` still pass,
//! and the others are untouched.

use crate::support::{Target, assert_clear_error};

fn erase_then_verify(target: &Target) {
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "bea"] {
        target.ok(&[
            "user",
            "create",
            "--org",
            "Acme",
            "--email",
            &format!("{name}@example.org"),
            "--name",
            &format!("{name} Lovelace"),
        ]);
    }
    let export = target.ok(&["events", "export"]);
    assert!(!export.contains("ada@example.org"), "sealed in the log");
    assert!(!export.contains("ada Lovelace"));
    let before = target.ok(&["audit", "verify"]);

    let erased = target.ok(&["user", "erase", "ada@example.org", "--org", "Acme"]);
    assert!(erased.starts_with("erased user "), "{erased}");

    let after = target.ok(&["audit", "verify"]);
    assert_ne!(before, after, "the erasure is recorded");
    assert!(after.starts_with("7 events, head "), "{after}");
    let listed = target.ok(&["user", "list", "--org", "Acme"]);
    assert!(!listed.contains("ada@example.org"), "{listed}");
    assert!(listed.contains("bea@example.org"), "{listed}");
    assert_clear_error(
        &target.run(&[
            "audit",
            "history",
            "--subject",
            "ada@example.org",
            "--org",
            "Acme",
        ]),
        "ada@example.org",
    );
    let export = target.ok(&["events", "export"]);
    assert!(export.contains(r#""type":"user.erased""#));
    assert!(!export.contains("ada@example.org"));
    target.ok(&["replay"]);
    // The address can be given to someone new.
    target.ok(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "ada@example.org",
        "--name",
        "Another Ada",
    ]);
}

#[tokio::test]
async fn an_erased_person_is_gone_and_the_log_still_verifies_on_sqlite() {
    erase_then_verify(&Target::sqlite());
}

#[tokio::test]
async fn an_erased_person_is_gone_and_the_log_still_verifies_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    erase_then_verify(&target);
}
