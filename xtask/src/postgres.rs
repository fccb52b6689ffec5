//! A throw-away PostgreSQL cluster for the test run.
//!
//! The cluster lives in a directory of its own under the temporary directory,
//! listens on 127.0.0.1 on a free port (and on a Unix socket in that same
//! directory, never in `/var/run/postgresql`), trusts every local connection
//! and is deleted with its directory when the run ends. The tests reach it
//! through `VERITY_TEST_POSTGRES_URL`, and `verity_testkit::postgres_database`
//! creates a fresh database in it for each test.

use crate::services::{Mode, Service};
use crate::system::{self, last_lines, run_quietly, run_visibly, succeeds};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the Debian and Ubuntu packages put the server binaries, one directory
/// per major version.
const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// The variable through which the tests find the cluster.
const URL_VARIABLE: &str = "VERITY_TEST_POSTGRES_URL";

/// The superuser that `initdb` creates; the URL connects as this role.
const SUPERUSER: &str = "verity";

/// The system user that runs the server when the xtask runs as root, because
/// `initdb` and `postgres` refuse to run as root.
const SYSTEM_USER: &str = "postgres";

/// Directories of clusters are named with this prefix and the xtask's process
/// id, so that one left behind by a killed run can be recognised and removed.
const DIRECTORY_PREFIX: &str = "verity-pg-";

/// The server binaries of one installed PostgreSQL version.
#[derive(Debug, PartialEq, Eq)]
struct Installation {
    version: String,
    bin: PathBuf,
}

/// A running cluster. Dropping it stops the server and deletes its directory.
pub struct Cluster {
    installation: Installation,
    directory: PathBuf,
    as_system_user: bool,
    port: Option<u16>,
}

/// Starts a throw-away cluster, or returns `None` when PostgreSQL is not
/// installed (and cannot be) under [`Mode::Lenient`], so that the tests skip.
///
/// When `VERITY_TEST_POSTGRES_URL` is already set, that cluster is used and
/// none is started.
pub fn start(mode: Mode) -> Result<Option<Cluster>> {
    if let Ok(url) = std::env::var(URL_VARIABLE) {
        println!("xtask: using the PostgreSQL cluster at {URL_VARIABLE}={url}");
        return Ok(None);
    }
    let Some(installation) = find_or_install(mode)? else {
        return Ok(None);
    };
    let as_system_user = system::is_root()?;
    if as_system_user {
        ensure_system_user()?;
    }
    let base = base_directory(as_system_user)?;
    remove_stale_clusters(&base, as_system_user);

    let directory = base.join(format!("{DIRECTORY_PREFIX}{}", std::process::id()));
    if directory.exists() {
        // Left behind by an earlier process that had the same id.
        std::fs::remove_dir_all(&directory)
            .with_context(|| format!("cannot remove {}", directory.display()))?;
    }
    std::fs::create_dir(&directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    // From here on, dropping `cluster` cleans up whatever was done.
    let mut cluster = Cluster {
        installation,
        directory,
        as_system_user,
        port: None,
    };
    cluster.initialise()?;
    cluster.start_server()?;
    Ok(Some(cluster))
}

impl Service for Cluster {
    fn environment(&self) -> Vec<(&'static str, String)> {
        self.port
            .map(|port| (URL_VARIABLE, admin_url(port)))
            .into_iter()
            .collect()
    }
}

fn admin_url(port: u16) -> String {
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres")
}

impl Cluster {
    fn data_directory(&self) -> PathBuf {
        self.directory.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.directory.join("log")
    }

    /// A command running the PostgreSQL binary `program`, as the system user
    /// when we are root.
    fn command(&self, program: &str) -> Command {
        server_command(
            &self.installation,
            program,
            self.as_system_user,
            &self.directory,
        )
    }

    fn initialise(&self) -> Result<()> {
        if self.as_system_user {
            run_quietly(
                Command::new("chown")
                    .args(["-R", &format!("{SYSTEM_USER}:{SYSTEM_USER}")])
                    .arg(&self.directory),
            )?;
        }
        run_quietly(
            self.command("initdb")
                .arg("-D")
                .arg(self.data_directory())
                .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8"])
                // The C locale exists everywhere and sorts the same everywhere.
                .args(["--no-locale", "--no-sync"]),
        )
        .context("cannot create the PostgreSQL cluster")
    }

    fn start_server(&mut self) -> Result<()> {
        let port = system::free_port()?;
        self.start_server_on(port)
    }

    /// The URL of the cluster's `postgres` database, while it runs.
    pub fn url(&self) -> Option<String> {
        self.port.map(admin_url)
    }

    /// Stops the server (fast: open connections are cut, as in a crash of the network)
    /// and starts it again on the same port, as an operator's restart would.
    pub fn restart(&mut self) -> Result<()> {
        let port = self.port.context("PostgreSQL is not running")?;
        self.stop_server()?;
        self.port = None;
        self.start_server_on(port)
    }

    fn start_server_on(&mut self, port: u16) -> Result<()> {
        println!(
            "xtask: starting PostgreSQL {} on 127.0.0.1:{port}",
            self.installation.version
        );
        let socket_directory = shell_quoted(&self.directory)?;
        let started = run_quietly(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data_directory())
                .arg("-l")
                .arg(self.log_file())
                .arg("-o")
                .arg(format!(
                    "-c listen_addresses=127.0.0.1 -p {port} -k {socket_directory} \
                     -c fsync=on -c max_connections=200"
                ))
                .args(["-w", "start"]),
        );
        if let Err(error) = started {
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            return Err(error.context(format!(
                "cannot start PostgreSQL; its log says:\n{}",
                last_lines(&log, 30)
            )));
        }
        self.port = Some(port);
        Ok(())
    }

    fn stop_server(&self) -> Result<()> {
        run_quietly(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data_directory())
                .args(["-m", "fast", "-w", "stop"]),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port.is_some() {
            println!("xtask: stopping PostgreSQL");
            if let Err(error) = self.stop_server() {
                eprintln!("xtask: warning: cannot stop PostgreSQL: {error:#}");
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            eprintln!(
                "xtask: warning: cannot remove {}: {error}",
                self.directory.display()
            );
        }
    }
}

fn server_command(
    installation: &Installation,
    program: &str,
    as_system_user: bool,
    directory: &Path,
) -> Command {
    let program = installation.bin.join(program);
    let mut command = if as_system_user {
        let mut command = Command::new("runuser");
        command.args(["-u", SYSTEM_USER, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    // The caller's working directory may be closed to the system user.
    command.current_dir(directory);
    command
}

/// Finds the server binaries, installing them with apt-get when we are root.
fn find_or_install(mode: Mode) -> Result<Option<Installation>> {
    if let Some(installation) = find_installation(Path::new(INSTALL_ROOT)) {
        return Ok(Some(installation));
    }
    let install_hint = format!(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in {INSTALL_ROOT}/*/bin; \
         install them with `sudo apt-get install postgresql`"
    );
    if system::is_root()? {
        println!("xtask: PostgreSQL is not installed; installing it with apt-get");
        if let Err(error) = install_with_apt() {
            if mode == Mode::Strict {
                return Err(error.context(install_hint));
            }
            eprintln!("xtask: warning: {error:#}");
        }
        if let Some(installation) = find_installation(Path::new(INSTALL_ROOT)) {
            return Ok(Some(installation));
        }
    }
    if mode == Mode::Strict {
        bail!("{install_hint}");
    }
    eprintln!(
        "\nxtask: WARNING: {install_hint}.\n\
         xtask: WARNING: continuing without PostgreSQL; its tests will be SKIPPED.\n"
    );
    Ok(None)
}

fn install_with_apt() -> Result<()> {
    run_visibly(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    run_visibly(
        Command::new("apt-get")
            .args(["install", "-y", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The highest installed version under `root` (`root/<version>/bin`) that has
/// all three server binaries.
fn find_installation(root: &Path) -> Option<Installation> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().into_owned();
            let bin = entry.path().join("bin");
            let complete = ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|program| bin.join(program).is_file());
            complete.then_some(Installation { version, bin })
        })
        .max_by_key(|installation| version_key(&installation.version))
}

/// `"9.6"` sorts before `"15"`; names that are not versions sort first.
fn version_key(version: &str) -> Vec<u32> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

fn ensure_system_user() -> Result<()> {
    if system::user_exists(SYSTEM_USER)? {
        return Ok(());
    }
    println!("xtask: creating the system user `{SYSTEM_USER}` to run PostgreSQL");
    run_quietly(Command::new("useradd").args(["--system", "--user-group", SYSTEM_USER]))
        .with_context(|| {
            format!(
                "PostgreSQL cannot run as root and the system user `{SYSTEM_USER}` \
                 does not exist; create it with `useradd --system --user-group {SYSTEM_USER}`"
            )
        })
}

/// The directory that holds the cluster's directory: the temporary directory,
/// or `/tmp` when the system user cannot reach the temporary directory (say,
/// `TMPDIR` under `/root`).
fn base_directory(as_system_user: bool) -> Result<PathBuf> {
    let candidates = [std::env::temp_dir(), PathBuf::from("/tmp")];
    let Some(base) = candidates
        .into_iter()
        .find(|candidate| !as_system_user || reachable_by_system_user(candidate))
    else {
        bail!(
            "neither the temporary directory nor /tmp can be reached by the user \
             `{SYSTEM_USER}`, which runs PostgreSQL because we are root"
        );
    };
    // A Unix socket path is limited to 107 bytes; the socket is
    // `<base>/verity-pg-<pid>/.s.PGSQL.<port>`.
    if base.as_os_str().len() > 60 {
        bail!(
            "the temporary directory {} is too long to hold PostgreSQL's socket; \
             run with TMPDIR=/tmp",
            base.display()
        );
    }
    Ok(base)
}

fn reachable_by_system_user(directory: &Path) -> bool {
    succeeds(
        Command::new("runuser")
            .args(["-u", SYSTEM_USER, "--", "test", "-x"])
            .arg(directory),
    )
}

/// Stops and removes clusters left behind by runs that were killed (say, with
/// Ctrl-C) before they could clean up: their process no longer exists.
fn remove_stale_clusters(base: &Path, as_system_user: bool) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(DIRECTORY_PREFIX)
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let directory = entry.path();
        let data_directory = directory.join("data");
        if data_directory.join("postmaster.pid").exists()
            && let Some(installation) = find_installation(Path::new(INSTALL_ROOT))
        {
            // Best effort: the server may already be gone.
            let _ = run_quietly(
                server_command(&installation, "pg_ctl", as_system_user, &directory)
                    .arg("-D")
                    .arg(&data_directory)
                    .args(["-m", "immediate", "-w", "stop"]),
            );
        }
        match std::fs::remove_dir_all(&directory) {
            Ok(()) => println!("xtask: removed a stale cluster in {}", directory.display()),
            Err(error) => eprintln!(
                "xtask: warning: cannot remove the stale cluster in {}: {error}",
                directory.display()
            ),
        }
    }
}

/// `path` in single quotes for the shell through which `pg_ctl` starts the
/// server.
fn shell_quoted(path: &Path) -> Result<String> {
    let Some(text) = path.to_str() else {
        bail!("{} is not valid UTF-8", path.display());
    };
    if text.contains('\'') {
        bail!("{text} contains a single quote, which pg_ctl cannot pass on");
    }
    Ok(format!("'{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_complete_version_wins() {
        let root = std::env::temp_dir().join(format!("xtask-find-test-{}", std::process::id()));
        for (version, programs) in [
            ("9.6", &["initdb", "pg_ctl", "postgres"][..]),
            ("15", &["initdb", "pg_ctl", "postgres"][..]),
            ("16", &["initdb", "pg_ctl"][..]),
        ] {
            let bin = root.join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for program in programs {
                std::fs::write(bin.join(program), "").unwrap();
            }
        }
        let found = find_installation(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            found,
            Some(Installation {
                version: "15".to_owned(),
                bin: root.join("15").join("bin"),
            })
        );
        assert_eq!(find_installation(&root), None);
    }

    #[test]
    fn versions_sort_numerically() {
        assert!(version_key("9.6") < version_key("15"));
        assert!(version_key("15") < version_key("16"));
        assert!(version_key("main") < version_key("9.6"));
    }

    #[test]
    fn the_url_names_the_superuser_port_and_admin_database() {
        assert_eq!(admin_url(5433), "postgres://verity@127.0.0.1:5433/postgres");
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quoted(Path::new("/tmp/a b")).unwrap(), "'/tmp/a b'");
        assert!(shell_quoted(Path::new("/tmp/it's")).is_err());
    }
}
