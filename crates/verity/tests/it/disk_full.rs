//! A disk that fills up under a serving node: writes fail cleanly — the request gets an
//! error, the command one clear line, the log nothing half-written — and the node serves
//! again, without a restart, once there is space.
//!
//! The data directory is a 4 MiB tmpfs mounted in a user and mount namespace of the
//! server's own (`unshare -Urm`), which needs no root; the commands run in the same
//! namespaces (`nsenter`), and the test fills the disk with a ballast file, reached through
//! `/proc/PID/root`, that it deletes afterwards. Where user namespaces are not allowed, the
//! test says so loudly and skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use verity_testkit::remote::Remote;
use verity_testkit::{Agent, Device, Person, Step};

use crate::provider::{POST_LOGOUT_URI, REDIRECT_URI, wait_for_address};
use crate::support::{assert_clear_error, assert_no_panic, create_person_args, json_lines, stderr};

/// The server in its namespace, on its small disk.
struct SmallDisk {
    child: Child,
    /// The data directory as the server sees it.
    inside: PathBuf,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmallDisk {
    /// Starts `verity serve` with its data directory on a fresh 4 MiB tmpfs; `None` when
    /// this system allows no user namespaces.
    async fn start() -> Option<Self> {
        let probe = Command::new("unshare")
            .args(["-Urm", "true"])
            .stderr(Stdio::null())
            .status();
        let nsenter = Command::new("nsenter").arg("--version").output();
        if !probe.is_ok_and(|status| status.success()) || nsenter.is_err() {
            verity_testkit::skip(
                "a small tmpfs: `unshare -Urm` (user namespaces) is not allowed here",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("data");
        std::fs::create_dir(&inside).unwrap();
        let mut child = Command::new("unshare")
            .args(["-Urm", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o size=4m,mode=0700 tmpfs "$1" && exec "$2" --data-dir "$1" serve"#)
            .arg("sh")
            .arg(&inside)
            .arg(env!("CARGO_BIN_EXE_verity"))
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .env("VERITY__SERVER__BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (base, _, _) = wait_for_address(stdout).await;
        Some(Self {
            child,
            inside,
            base,
            _dir: dir,
        })
    }

    /// The data directory as seen from outside the namespace: for plain files only.
    fn data_dir(&self) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.child.id())).join(
            self.inside
                .strip_prefix("/")
                .unwrap_or(self.inside.as_path()),
        )
    }

    /// Runs `verity ARGS` on the server's data directory, inside its namespaces (SQLite
    /// processes sharing a WAL database through `/proc/PID/root` from outside do not see
    /// each other's writes).
    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("nsenter")
            .args(["-U", "-m", "--preserve-credentials", "-t"])
            .arg(self.child.id().to_string())
            .arg(env!("CARGO_BIN_EXE_verity"))
            .env_remove("RUST_LOG")
            .arg("--data-dir")
            .arg(&self.inside)
            .args(args)
            .output()
            .unwrap();
        assert_no_panic(&output);
        output
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    }

    fn browser(&self) -> Agent<Remote> {
        Agent::new(Remote::new(), &self.base)
    }

    fn person(&self, email: &str) -> Person {
        let created = json_lines(&self.ok(&create_person_args(email)));
        Person::new(email, created[0]["temporary_password"].as_str().unwrap())
    }

    /// Signs `person` in through `request` with a fresh browser, once the server has
    /// folded the whole log (it follows the CLI's writes by polling).
    async fn sign_in(&self, request: &str, person: &mut Person) {
        let head = json_lines(&self.ok(&["events", "export"]))
            .last()
            .and_then(|event| event["position"].as_u64())
            .unwrap_or(0) as f64;
        let mut browser = self.browser();
        for _ in 0..200 {
            let folded = browser.peek("/metrics").await;
            if folded.sample("verity_projection_position") >= head {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let form = browser.authorize(request).await;
        let signed_in = browser.sign_in_as(&form, person, Device::Forget).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    }

    /// Fills the disk with a ballast file until the file system refuses more.
    fn fill(&self) -> PathBuf {
        let ballast = self.data_dir().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(error) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
                assert_eq!(error.raw_os_error(), Some(28), "ENOSPC expected: {error}");
                break;
            }
        }
        ballast
    }

    /// Stops the server and returns what it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    }
}

fn events(disk: &SmallDisk, event_type: &str) -> Vec<serde_json::Value> {
    json_lines(&disk.ok(&["events", "export", "--type", event_type]))
}

#[tokio::test]
async fn a_full_disk_fails_writes_cleanly_and_the_node_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::start().await else {
        return;
    };
    let created = json_lines(&disk.ok(&[
        "client",
        "create",
        "--name",
        "RP",
        "--redirect-uri",
        REDIRECT_URI,
        "--post-logout-redirect-uri",
        POST_LOGOUT_URI,
        "--json",
    ]));
    let client_id = created[0]["client_id"].as_str().unwrap().to_owned();
    let request = verity_testkit::Authorization::code(&client_id, REDIRECT_URI)
        .pkce("disk-full-pkce-verifier-0123456789-abcdefghijklmnopq")
        .with("state", "s")
        .query();
    let mut ada = disk.person("ada@example.org");
    disk.sign_in(&request, &mut ada).await;
    let head = |verified: String| verified.lines().next().unwrap_or_default().to_owned();
    let head_before = head(disk.ok(&["audit", "verify"]));
    let mut late = disk.browser();
    let late_form = late.authorize(&request).await;
    assert_eq!(late_form.step(), Step::SignIn);

    // The disk fills up. Sign-ins go on being asked for until one cannot be written.
    let ballast = disk.fill();
    let mut refused = None;
    for _ in 0..5000 {
        let page = disk.browser().authorize(&request).await;
        if page.status != 200 {
            refused = Some(page);
            break;
        }
    }
    let refused = refused.expect("the full disk refused no write");
    assert!(
        (500..600).contains(&refused.status),
        "{}: {}",
        refused.status,
        refused.body
    );
    // A password posted now is answered with an error, and leaves no failure in the log.
    let failures = events(&disk, "user.signin.failed").len();
    let posted = late
        .sign_in(&late_form, "ada@example.org", "not her password")
        .await;
    assert!(
        (500..600).contains(&posted.status),
        "{}: {}",
        posted.status,
        posted.body
    );
    assert_eq!(events(&disk, "user.signin.failed").len(), failures);

    // Admin commands fail with one clear line and write nothing: one that claims a unique
    // name as it appends, and one whose email goes to the outbox first.
    assert_clear_error(&disk.run(&["org", "create", "Acme"]), "disk is full");
    let grace = disk.run(&[
        "user",
        "create",
        "--org",
        "Default",
        "--email",
        "grace@example.org",
        "--name",
        "Grace",
        "--show-password",
    ]);
    assert_clear_error(&grace, "No space left on device");
    assert!(stderr(&grace).contains("no account was created"));
    assert_eq!(head(disk.ok(&["audit", "verify"])), head_before);
    assert_eq!(events(&disk, "user.created").len(), 1);
    assert_eq!(events(&disk, "org.created").len(), 1);

    // Space returns: the same node, not restarted, signs people in and records again.
    std::fs::remove_file(&ballast).unwrap();
    let mut grace = disk.person("grace@example.org");
    disk.sign_in(&request, &mut grace).await;
    assert_eq!(events(&disk, "user.created").len(), 2);
    // The name the failed append would have claimed is free.
    disk.ok(&["org", "create", "Acme"]);
    assert_eq!(events(&disk, "org.created").len(), 2);
    assert_ne!(head(disk.ok(&["audit", "verify"])), head_before);
    assert_eq!(disk.browser().peek("/readyz").await.status, 200);
    let server_log = disk.stop();
    assert!(!server_log.contains("panicked"), "{server_log}");
}
