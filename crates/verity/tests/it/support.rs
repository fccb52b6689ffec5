//! Running the real binary against a fresh store.

use std::path::PathBuf;
use std::process::{Command, Output};

use tempfile::TempDir;

/// A fresh store for the binary: SQLite in a temp dir, or a fresh PostgreSQL database.
pub struct Target {
    pub dir: TempDir,
    pub database_url: Option<String>,
}

impl Target {
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    pub async fn postgres() -> Option<Self> {
        let url = verity_testkit::postgres_database().await?;
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: Some(url),
        })
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("data").join("verity.db")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_verity"));
        command.current_dir(self.dir.path()).env_remove("RUST_LOG");
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("VERITY__")) {
            command.env_remove(key);
        }
        command.arg("--data-dir").arg(self.dir.path().join("data"));
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command
    }

    /// Runs `verity ARGS` and returns its output, asserting it never panicked.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().unwrap();
        assert_no_panic(&output);
        output
    }

    /// Creates `name@example.org`, named `name`, in `org`.
    pub fn create_user(&self, org: &str, name: &str) {
        self.ok(&[
            "user",
            "create",
            "--org",
            org,
            "--email",
            &format!("{name}@example.org"),
            "--name",
            name,
        ]);
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "verity {args:?} failed: {}",
            stderr(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn assert_no_panic(output: &Output) {
    let stderr = stderr(output);
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked: {stderr}"
    );
}

/// Asserts a failure with exactly one `error:` line naming `expected`.
pub fn assert_clear_error(output: &Output, expected: &str) {
    assert!(!output.status.success(), "expected failure, got success");
    let stderr = stderr(output);
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(
        error_lines.len(),
        1,
        "expected one error line, got: {stderr}"
    );
    assert!(
        error_lines[0].contains(expected),
        "expected {expected:?} in {stderr}"
    );
}

/// `verity user create` of a person in the default organization, the temporary password
/// printed as JSON (`temporary_password`): what the tests' people know.
pub fn create_person_args(email: &str) -> [&str; 10] {
    [
        "user",
        "create",
        "--org",
        "Default",
        "--email",
        email,
        "--name",
        "Ada Lovelace",
        "--json",
        "--show-password",
    ]
}

pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
