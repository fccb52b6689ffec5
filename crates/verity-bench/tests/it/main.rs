//! The `verity-bench` command line: what it refuses and how it says so. The generators
//! themselves run against a real server in the conformance journey
//! (`the_sign_in_benchmark_walks_the_journey_it_measures`).

// Test helpers outside `#[test]` functions fail loudly on purpose; clippy's
// `allow-*-in-tests` settings only cover the test functions.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// `verity-bench signin` against a server that is not there, with `people`.
fn signin(people: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verity-bench"))
        .args([
            "signin",
            "--issuer",
            "http://127.0.0.1:9",
            "--client-id",
            "bench",
        ])
        .args(["--redirect-uri", "http://127.0.0.1:9999/cb", "--people"])
        .arg(people)
        .output()
        .unwrap()
}

#[test]
fn a_missing_people_file_is_one_clear_line_and_a_failure() {
    let output = signin(Path::new("/nonexistent/people.jsonl"));
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: reading /nonexistent/people.jsonl: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_line_that_is_not_a_person_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let people = dir.path().join("people.jsonl");
    std::fs::write(
        &people,
        "{\"email\":\"a@example.org\",\"password\":\"p\",\"secret\":\"GEZDGNBV\"}\n{\"email\":1}\n",
    )
    .unwrap();
    let output = signin(&people);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{} line 2", people.display())),
        "{stderr}"
    );
}
