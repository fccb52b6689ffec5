//! The soak's moving parts: the organization, clients and people it sets up with the
//! `verity` CLI, the nodes (each a `verity serve` on its own port and data directory,
//! all on one database, one master key and one audit key), the load generator, and an
//! admin disabling people while the load runs.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::window::unix_now;
use crate::system;

/// The organization every soak person belongs to.
pub const ORG: &str = "Soak";
/// The web client's redirect URI (nothing listens there: the generator reads the code
/// from the redirect).
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// Wrong passwords that lock a person (passed to every node, so the check knows it).
pub const MAX_FAILURES: u64 = 10;
/// The nodes' session lifetimes, short so that the state a node holds for its sessions
/// settles within the run: a session unused for 2 minutes ends, its mark is kept 6
/// minutes (access tokens live 60 s), and marks are pruned every quarter of that.
const IDLE_MINUTES: u32 = 2;
const ACCESS_TOKEN_SECONDS: u32 = 60;
const ENDED_MARKS_MINUTES: u32 = 6;
/// When the sessions' state has reached its level under steady load: sessions end by
/// idleness, their marks expire, a prune has run.
pub const STATE_SETTLES_SECONDS: f64 =
    (IDLE_MINUTES * 60 + ENDED_MARKS_MINUTES * 60 + ENDED_MARKS_MINUTES * 15) as f64;

/// What the set-up made.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The web client's id and secret.
    pub web: (String, String),
    /// The service client's id and secret.
    pub service: (String, String),
    /// The people who sign in (the first is the lock test's target).
    pub people: PathBuf,
    /// The people an admin disables while the load runs.
    pub to_disable: PathBuf,
    /// The master key file every node uses.
    pub master_key: PathBuf,
    /// The audit key file every node uses: nodes of one database sign its checkpoints
    /// with one key, and each refuses checkpoints signed with another.
    pub audit_key: PathBuf,
}

/// A `verity` command on the soak's database, run from `out/setup`.
pub fn verity(binaries: &Path, url: &str, out: &Path) -> Command {
    let mut command = Command::new(binaries.join("verity"));
    command
        .arg("--data-dir")
        .arg(out.join("setup"))
        .args(["--database-url", url])
        .env("VERITY__LOG__LEVEL", "warn");
    command
}

/// Runs `command` and answers its standard output.
fn output(command: &mut Command) -> Result<String> {
    let output = command.output().context("cannot run verity")?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The organization, the two clients, and enough people that none signs in twice within
/// the life of an authenticator code at the rate a run reaches.
pub fn set_up(binaries: &Path, url: &str, out: &Path, duration: Duration) -> Result<Setup> {
    output(verity(binaries, url, out).args(["org", "create", ORG]))?;
    let client = |arguments: &[&str]| -> Result<(String, String)> {
        let text = output(
            verity(binaries, url, out)
                .args(["client", "create", "--json"])
                .args(arguments),
        )?;
        let field = |name: &str| {
            json_field(&text, name).with_context(|| format!("no {name} in `client create`: {text}"))
        };
        Ok((field("client_id")?, field("client_secret")?))
    };
    let web = client(&["--name", "soak web", "--redirect-uri", REDIRECT_URI])?;
    let service = client(&["--name", "soak service", "--grant", "client_credentials"])?;
    let people = out.join("people.jsonl");
    let to_disable = out.join("to-disable.jsonl");
    // ~20 sign-ins a second at most here; an authenticator code lives ~95 s.
    let signing_in = 2000.min(300 + duration.as_secs() * 10);
    let disabled = duration.as_secs() / 5 + 1;
    for (file, count) in [(&people, signing_in), (&to_disable, disabled)] {
        output(
            verity(binaries, url, out)
                .args([
                    "bench",
                    "people",
                    "--org",
                    ORG,
                    "--users",
                    &count.to_string(),
                    "--out",
                ])
                .arg(file),
        )?;
    }
    let master_key = out.join("setup/master.key");
    if !master_key.exists() {
        bail!("the set-up left no master key at {}", master_key.display());
    }
    // The audit key's public half, as an auditor pins it, for the chain's check.
    let public = output(verity(binaries, url, out).args(["audit", "key"]))?;
    std::fs::write(pinned_audit_key(out), public)?;
    let audit_key = out.join("setup-audit/audit.key");
    if !audit_key.exists() {
        bail!("the set-up left no audit key at {}", audit_key.display());
    }
    Ok(Setup {
        web,
        service,
        people,
        to_disable,
        master_key,
        audit_key,
    })
}

/// The public audit key the set-up printed (`verity audit key`).
pub fn pinned_audit_key(out: &Path) -> PathBuf {
    out.join("audit-key.jwk")
}

/// The checkpoint file of node `index` (in its audit directory, beside its data
/// directory).
pub fn checkpoint_file(out: &Path, index: usize) -> PathBuf {
    out.join(format!("node{index}-audit/checkpoints.jsonl"))
}

/// A string field of a one-line JSON object, without a JSON parser for the xtask.
fn json_field(text: &str, name: &str) -> Option<String> {
    let (_, rest) = text.split_once(&format!("\"{name}\":\""))?;
    Some(rest.split_once('"')?.0.to_owned())
}

/// One node: its port, data directory and process.
struct Node {
    port: u16,
    directory: PathBuf,
    child: Option<Child>,
}

/// The running nodes.
pub struct Nodes {
    binaries: PathBuf,
    url: String,
    out: PathBuf,
    nodes: Vec<Node>,
    issuer: String,
}

impl Nodes {
    /// `count` nodes on free ports, each with its own data directory holding a copy of
    /// the set-up's master key, and its own audit directory holding a copy of its audit
    /// key; answers once every node is ready.
    pub fn start(
        binaries: &Path,
        url: &str,
        out: &Path,
        setup: &Setup,
        count: usize,
    ) -> Result<Self> {
        let mut nodes = Vec::new();
        for index in 0..count {
            let directory = out.join(format!("node{index}"));
            std::fs::create_dir_all(&directory)?;
            let key = directory.join("master.key");
            std::fs::copy(&setup.master_key, &key)?;
            set_private(&key)?;
            set_private_directory(&directory)?;
            let audit = out.join(format!("node{index}-audit"));
            std::fs::create_dir_all(&audit)?;
            let key = audit.join("audit.key");
            std::fs::copy(&setup.audit_key, &key)?;
            set_private(&key)?;
            set_private_directory(&audit)?;
            nodes.push(Node {
                port: system::free_port()?,
                directory,
                child: None,
            });
        }
        let issuer = format!(
            "http://127.0.0.1:{}",
            nodes.first().map_or(0, |node| node.port)
        );
        let mut nodes = Self {
            binaries: binaries.to_owned(),
            url: url.to_owned(),
            out: out.to_owned(),
            nodes,
            issuer,
        };
        for index in 0..count {
            nodes.spawn(index)?;
        }
        nodes.wait_ready(Duration::from_secs(60))?;
        Ok(nodes)
    }

    fn spawn(&mut self, index: usize) -> Result<()> {
        let node = self.nodes.get_mut(index).context("no such node")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.out.join(format!("node{index}.log")))?;
        let child = Command::new(self.binaries.join("verity"))
            .arg("--data-dir")
            .arg(&node.directory)
            .args(["--database-url", &self.url, "serve"])
            .env("VERITY__SERVER__BIND", format!("127.0.0.1:{}", node.port))
            // One issuer for the cluster, as behind a load balancer.
            .env("VERITY__SERVER__PUBLIC_URL", &self.issuer)
            .env("VERITY__LOG__LEVEL", "warn")
            .env("VERITY__PASSWORDS__MAX_FAILURES", MAX_FAILURES.to_string())
            // Every request comes from 127.0.0.1: the address limit is not under test.
            .env("VERITY__SIGN_IN__IP_MAX_FAILURES", "1000000")
            .env("VERITY__SESSIONS__IDLE_MINUTES", IDLE_MINUTES.to_string())
            .env(
                "VERITY__OIDC__ACCESS_TOKEN_LIFETIME_SECONDS",
                ACCESS_TOKEN_SECONDS.to_string(),
            )
            .env(
                "VERITY__SESSIONS__ENDED_MARKS_MINUTES",
                ENDED_MARKS_MINUTES.to_string(),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start a node")?;
        node.child = Some(child);
        Ok(())
    }

    /// Each node's base URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("http://127.0.0.1:{}", node.port))
            .collect()
    }

    /// Waits until every node answers `/readyz` with 200.
    pub fn wait_ready(&self, patience: Duration) -> Result<()> {
        let deadline = Instant::now() + patience;
        for node in &self.nodes {
            while !ready(node.port) {
                if Instant::now() > deadline {
                    bail!(
                        "the node on port {} is not ready after {patience:?}",
                        node.port
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(())
    }

    /// SIGKILL to node `index`.
    pub fn kill(&mut self, index: usize) -> Result<()> {
        self.signal(index, "KILL")?;
        if let Some(child) = self
            .nodes
            .get_mut(index)
            .and_then(|node| node.child.as_mut())
        {
            child.wait()?;
        }
        Ok(())
    }

    /// Starts node `index` again and waits for it.
    pub fn restart(&mut self, index: usize) -> Result<()> {
        self.spawn(index)?;
        self.wait_ready(Duration::from_secs(60))
    }

    /// Sends `SIGNAL` (KILL, STOP, CONT, TERM) to node `index`.
    pub fn signal(&self, index: usize, signal: &str) -> Result<()> {
        let child = self
            .nodes
            .get(index)
            .and_then(|node| node.child.as_ref())
            .context("no such node")?;
        system::run_quietly(
            Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string()),
        )
    }

    /// Each live node's resident memory, in KiB.
    pub fn rss_kib(&self) -> Vec<(usize, u64)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(index, node)| {
                let pid = node.child.as_ref()?.id();
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
                let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
                let kib = line.split_whitespace().nth(1)?.parse().ok()?;
                Some((index, kib))
            })
            .collect()
    }

    /// Stops every node (SIGTERM, then waits).
    pub fn stop(&mut self) {
        for index in 0..self.nodes.len() {
            let _ = self.signal(index, "CONT");
            let _ = self.signal(index, "TERM");
        }
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `GET /readyz` on `port` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

fn set_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(0o600),
    )?)
}

fn set_private_directory(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(0o700),
    )?)
}

/// Starts `verity-bench soak` against `nodes`.
pub fn generator(
    binaries: &Path,
    setup: &Setup,
    nodes: &[String],
    out: &Path,
    duration: Duration,
) -> Result<Child> {
    let mut command = Command::new(binaries.join("verity-bench"));
    command.arg("soak");
    for node in nodes {
        command.args(["--node", node]);
    }
    command
        .args([
            "--web-client-id",
            &setup.web.0,
            "--web-client-secret",
            &setup.web.1,
        ])
        .args(["--service-client-id", &setup.service.0])
        .args(["--service-client-secret", &setup.service.1])
        .args(["--redirect-uri", REDIRECT_URI, "--people"])
        .arg(&setup.people)
        .args(["--seconds", &duration.as_secs().to_string(), "--journal"])
        .arg(out.join("journal.jsonl"))
        .stdout(Stdio::null());
    command.spawn().context("cannot start verity-bench soak")
}

/// An admin disabling one person every five seconds until `deadline` with
/// `verity user disable`; what was acknowledged goes to `out/disabled.txt`, one address
/// per line.
pub fn disable_people(
    binaries: &Path,
    url: &str,
    out: &Path,
    setup: &Setup,
    deadline: Instant,
) -> Result<()> {
    let text = std::fs::read_to_string(&setup.to_disable)?;
    let mut acknowledged = String::new();
    let mut refused = String::new();
    for line in text.lines() {
        if Instant::now() >= deadline {
            break;
        }
        let email = json_field(line, "email").context("a person without an email")?;
        let answer = verity(binaries, url, out)
            .args(["user", "disable", &email, "--org", ORG])
            .output()?;
        if answer.status.success() {
            acknowledged.push_str(&format!("{email}\n"));
        } else {
            // One line per refusal, the time first: the check reads it so (the CLI may
            // print a log line before its error).
            let stderr = String::from_utf8_lossy(&answer.stderr);
            let said: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect();
            refused.push_str(&format!(
                "{:.1} {email}: {}\n",
                unix_now(),
                said.join(" | ")
            ));
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    std::fs::write(out.join("disabled.txt"), acknowledged)?;
    std::fs::write(out.join("disable-errors.txt"), refused)?;
    Ok(())
}
