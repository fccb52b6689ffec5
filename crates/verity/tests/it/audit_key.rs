//! The audit key as an operator meets it: its file created 0600 on the server's first
//! start, beside the data directory and not in it, kept across starts, refused once others
//! may read it; or given through the environment, and then no file at all. What
//! `verity audit key` prints is the key's public half, and what auditors pin.

use std::os::unix::fs::PermissionsExt;

use verity_audit::{AuditKey, AuditPublicKey};

use crate::files::mode;
use crate::support::{Target, stderr};
use crate::trust::starts;

#[test]
fn the_key_file_is_created_0600_at_first_start_outside_the_data_directory() {
    let target = Target::sqlite();
    let data = target.dir.path().join("data");
    let audit = target.dir.path().join("data-audit");
    let file = audit.join("audit.key");
    assert!(!file.exists());

    starts(&target, &[]);
    assert_eq!(mode(&file), 0o600, "the audit key file");
    assert_eq!(mode(&audit), 0o700, "the audit directory");
    assert!(data.join("verity.db").exists());
    assert!(!file.starts_with(&data));
    let written = std::fs::read_to_string(&file).unwrap();
    let key = AuditKey::from_text(&written).unwrap();

    // `audit key` prints that key's public half, and the printed text reads back as it.
    let printed = target.ok(&["audit", "key"]);
    assert_eq!(printed, key.public().to_text());
    let pinned = AuditPublicKey::from_text(&printed).unwrap();
    assert_eq!(&pinned, key.public());
    let json: serde_json::Value =
        serde_json::from_str(target.ok(&["--json", "audit", "key"]).trim()).unwrap();
    assert_eq!(json["fingerprint"], key.public().fingerprint());
    assert_eq!(json["jwk"]["crv"], "Ed25519");
    assert_eq!(json["jwk"]["kid"], key.public().fingerprint());

    // Another start keeps it.
    starts(&target, &[]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);

    // Readable by the group: refused, rather than used or replaced.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let refused = target.run(&["audit", "key"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("lets group or others read it; refusing to use it"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains(&file.display().to_string()),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
}

#[test]
fn a_key_from_the_environment_is_the_one_used_and_no_file_is_written() {
    let target = Target::sqlite();
    // The base64 of a 32-byte seed, as `openssl rand -base64 32` prints one.
    let seed = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let expected = AuditKey::from_text(seed).unwrap();
    let output = target
        .command()
        .args(["audit", "key"])
        .env("VERITY__AUDIT__KEY", seed)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        expected.public().to_text()
    );
    assert!(!target.dir.path().join("data-audit").exists());

    // Not a key: a clear error naming where it came from, and still no file.
    let output = target
        .command()
        .args(["audit", "key"])
        .env("VERITY__AUDIT__KEY", "not a key")
        .output()
        .unwrap();
    crate::support::assert_no_panic(&output);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("VERITY__AUDIT__KEY"),
        "{}",
        stderr(&output)
    );
    assert!(!target.dir.path().join("data-audit").exists());
}
