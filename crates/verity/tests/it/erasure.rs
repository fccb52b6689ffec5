//! `verity user erase` end to end, on SQLite and PostgreSQL: the person leaves every list,
//! the export holds no trace of them in clear, `audit verify` and `replay` still pass,
//! and the others are untouched.

use crate::support::{Target, assert_clear_error};

/// `verity user create` in Acme.
fn create(target: &Target, email: &str, name: &str) {
    let args = [
        "user", "create", "--org", "Acme", "--email", email, "--name", name,
    ];
    target.ok(&args);
}

fn erase_then_verify(target: &Target) {
    target.ok(&["org", "create", "Acme"]);
    create(target, "ada@example.org", "ada Lovelace");
    create(target, "bea@example.org", "bea Lovelace");
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
    create(target, "ada@example.org", "Another Ada");
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
