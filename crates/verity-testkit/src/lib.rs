//! Test support for Verity: throw-away PostgreSQL databases, a WebDriver server
//! for browser tests, loud skips, a port that refuses connections, and a browser-like [`agent::Agent`] with the typed
//! steps of the sign-in journey ([`steps`]) and of the back channel ([`oauth`]), over
//! any [`agent::Transport`]: the router in process, or the real binary ([`remote`]).
//!
//! Tests that need an external service ask this crate for it. When the service
//! is not there, plain `cargo test` skips such a test and says so loudly on
//! stderr; under CI (or `cargo xtask test --strict`) a missing service fails the
//! test instead, so nothing is skipped silently where it matters.
//!
//! `cargo xtask test` starts the services and tells the tests where they are
//! through environment variables (see [`POSTGRES_URL_VAR`] and
//! [`WEBDRIVER_URL_VAR`]).
//!
//! This crate is a dev-dependency only. Its functions panic on failure because
//! a failing test is the right outcome when test support itself breaks.

pub mod agent;
pub mod oauth;
pub mod page;
pub mod remote;
pub mod smtp;
pub mod steps;
pub mod totp;

pub use agent::{Agent, Transport};
pub use page::{Page, Step};
pub use steps::{Authorization, Device, Person};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;

/// Environment variable holding an admin URL to a running PostgreSQL cluster,
/// for example `postgres://verity@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL_VAR: &str = "VERITY_TEST_POSTGRES_URL";

/// Environment variable holding the URL of a running WebDriver server
/// (chromedriver), for example `http://127.0.0.1:9515`.
pub const WEBDRIVER_URL_VAR: &str = "VERITY_TEST_WEBDRIVER_URL";

/// Where Debian's `chromium` package installs the browser, which
/// `cargo xtask test` installs when it is missing.
pub const CHROMIUM_BINARY: &str = "/usr/bin/chromium";

/// Environment variable that forbids skipping when set to `1`.
pub const STRICT_VAR: &str = "VERITY_TEST_STRICT";

/// Whether skipping a test for want of a service is forbidden.
///
/// True when the environment variable `CI` is `true` or `1`, or when
/// `VERITY_TEST_STRICT` is `1`.
pub fn strict() -> bool {
    strict_from(
        std::env::var("CI").ok().as_deref(),
        std::env::var(STRICT_VAR).ok().as_deref(),
    )
}

fn strict_from(ci: Option<&str>, verity_test_strict: Option<&str>) -> bool {
    matches!(ci, Some("true" | "1")) || verity_test_strict == Some("1")
}

/// Skips the rest of a test because a required service is missing.
///
/// Prints `SKIPPED: <what>` loudly to stderr, with a hint to run
/// `cargo xtask test`. The caller returns early afterwards.
///
/// # Panics
///
/// Under [`strict()`] a missing service is a failure, not a skip: this panics
/// with `required service missing under CI: <what>`.
pub fn skip(what: &str) {
    // Written to the stderr handle rather than with `eprintln!`, which the test
    // harness captures and shows only for failing tests: a skip must be seen.
    skip_with(strict(), what, &mut std::io::stderr().lock());
}

/// The name of the running test: the test harness names each test's thread
/// after it (unless the tests run with `--test-threads=1`).
fn current_test() -> Option<String> {
    let thread = std::thread::current();
    thread
        .name()
        .filter(|name| *name != "main")
        .map(str::to_owned)
}

// A missing service under CI must fail the test, and panicking is how a test
// fails.
#[allow(clippy::panic)]
fn skip_with(strict: bool, what: &str, out: &mut dyn Write) {
    if strict {
        panic!("required service missing under CI: {what}");
    }
    // If stderr is gone there is nobody left to tell.
    let _ = out.write_all(skip_message(what, current_test().as_deref()).as_bytes());
}

fn skip_message(what: &str, test: Option<&str>) -> String {
    let test_line = test.map_or_else(String::new, |test| format!("in test {test}\n"));
    format!(
        "\n\
         ********************************************************************\n\
         SKIPPED: {what}\n\
         {test_line}\
         run `cargo xtask test` to start the services the tests need\n\
         ********************************************************************\n"
    )
}

/// Creates a fresh, empty PostgreSQL database and returns its URL.
///
/// Reads the admin URL from `VERITY_TEST_POSTGRES_URL`, connects to it, runs
/// `CREATE DATABASE verity_test_<uuid>` and returns the same URL with the
/// database replaced, so every test gets a database of its own. The databases
/// are not dropped: the cluster that `cargo xtask test` starts is thrown away
/// as a whole.
///
/// Returns `None` after a loud [`skip`] when the variable is not set; use it as
///
/// ```no_run
/// # async fn example() {
/// let Some(database_url) = verity_testkit::postgres_database().await else {
///     return;
/// };
/// # }
/// ```
///
/// # Panics
///
/// When the variable is not set under [`strict()`], when the cluster cannot
/// be reached or when the database cannot be created.
pub async fn postgres_database() -> Option<String> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        skip("PostgreSQL tests (VERITY_TEST_POSTGRES_URL is not set)");
        return None;
    };
    Some(create_database(&admin_url).await)
}

// A test that asked for a database cannot go on without one, and panicking is
// how a test fails.
// Test support is an adapter: it may name databases from the OS generator.
#[allow(clippy::panic, clippy::disallowed_methods)]
async fn create_database(admin_url: &str) -> String {
    let database_name = format!("verity_test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = match PgConnection::connect(admin_url).await {
        Ok(connection) => connection,
        Err(error) => panic!("cannot connect to {POSTGRES_URL_VAR}={admin_url}: {error}"),
    };
    // The name is generated above from hex digits only, so it needs no quoting.
    let statement = format!("CREATE DATABASE {database_name}");
    if let Err(error) = sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut connection)
        .await
    {
        panic!("cannot create database {database_name} on {admin_url}: {error}");
    }
    // Closing politely only saves the server a log line; a failure changes nothing.
    let _ = connection.close().await;
    with_database(admin_url, &database_name)
}

/// Returns `url` with its database (the path) replaced by `database`, keeping
/// user, host, port and query parameters.
fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |position| position + 3);
    let (head, rest) = url.split_at(authority_start);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after_authority) = rest.split_at(authority_end);
    let query_start = after_authority
        .find(['?', '#'])
        .unwrap_or(after_authority.len());
    let (_old_path, query) = after_authority.split_at(query_start);
    format!("{head}{authority}/{database}{query}")
}

/// The URL of the WebDriver server (chromedriver) that `cargo xtask test`
/// started, read from `VERITY_TEST_WEBDRIVER_URL`.
///
/// Returns `None` after a loud [`skip`] when the variable is not set; use it as
///
/// ```no_run
/// let Some(webdriver_url) = verity_testkit::webdriver_url() else {
///     return;
/// };
/// ```
///
/// # Panics
///
/// When the variable is not set under [`strict()`].
pub fn webdriver_url() -> Option<String> {
    let Ok(url) = std::env::var(WEBDRIVER_URL_VAR) else {
        skip("browser tests (VERITY_TEST_WEBDRIVER_URL is not set)");
        return None;
    };
    Some(url)
}

/// The command-line switches Chromium runs with in the tests.
///
/// Headless, as root without the sandbox (the tests run as root in CI), and
/// with every background connection switched off: on a machine without a
/// network those connections are refused, many at a time, and slow the browser
/// down. A fixed window size makes screenshots comparable.
pub const CHROMIUM_ARGUMENTS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
];

/// W3C capabilities for a new Chromium session through chromedriver: Debian's
/// [`CHROMIUM_BINARY`] with [`CHROMIUM_ARGUMENTS`] and `user_data_dir` as its
/// profile, which should be a new, empty directory per session so that no
/// cookie or cache leaks from one test into another.
pub fn chrome_capabilities(user_data_dir: &Path) -> serde_json::Value {
    let mut arguments: Vec<String> = CHROMIUM_ARGUMENTS
        .iter()
        .map(|&argument| argument.to_owned())
        .collect();
    arguments.push(format!("--user-data-dir={}", user_data_dir.display()));
    serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM_BINARY,
            "args": arguments,
        },
    })
}

/// A port on 127.0.0.1 that refuses connections, for tests of what happens when a
/// server is not there (an SMTP server, a database).
///
/// The port is bound but not listening for as long as the value lives: nothing else can
/// take it meanwhile, and a connection to it is refused at once. Servers under test
/// bind port 0 themselves and report the address they got; nothing needs a port that
/// is free for someone else to bind.
pub struct RefusingPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl RefusingPort {
    /// Binds a loopback port without listening on it.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    // Without a port the test cannot run, and panicking is how a test fails.
    #[allow(clippy::panic)]
    pub fn new() -> Self {
        let bound = tokio::net::TcpSocket::new_v4().and_then(|socket| {
            socket.bind((Ipv4Addr::LOCALHOST, 0).into())?;
            let port = socket.local_addr()?.port();
            Ok((socket, port))
        });
        match bound {
            Ok((socket, port)) => Self {
                _socket: socket,
                port,
            },
            Err(error) => panic!("cannot bind a loopback port: {error}"),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_follows_ci_and_verity_test_strict() {
        assert!(!strict_from(None, None));
        assert!(strict_from(Some("true"), None));
        assert!(strict_from(Some("1"), None));
        assert!(!strict_from(Some("false"), None));
        assert!(!strict_from(Some(""), None));
        assert!(strict_from(None, Some("1")));
        assert!(!strict_from(None, Some("0")));
        assert!(strict_from(Some("false"), Some("1")));
    }

    #[test]
    fn skip_message_names_what_was_skipped_and_the_way_out() {
        let message = skip_message("PostgreSQL tests", Some("store::appends"));
        assert!(message.contains("SKIPPED: PostgreSQL tests\n"));
        assert!(message.contains("in test store::appends\n"));
        assert!(message.contains("cargo xtask test"));
        assert!(!skip_message("PostgreSQL tests", None).contains("in test"));
    }

    #[test]
    fn skip_prints_when_not_strict() {
        let mut out = Vec::new();
        skip_with(false, "PostgreSQL tests", &mut out);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("SKIPPED: PostgreSQL tests\n"), "{out}");
        assert!(
            out.contains("in test tests::skip_prints_when_not_strict\n"),
            "{out}"
        );
    }

    #[test]
    #[should_panic(expected = "required service missing under CI: PostgreSQL")]
    fn skip_panics_when_strict() {
        skip_with(true, "PostgreSQL", &mut Vec::new());
    }

    #[test]
    fn with_database_replaces_the_path_only() {
        assert_eq!(
            with_database("postgres://verity@127.0.0.1:5432/postgres", "fresh"),
            "postgres://verity@127.0.0.1:5432/fresh"
        );
        assert_eq!(
            with_database("postgres://verity@127.0.0.1:5432", "fresh"),
            "postgres://verity@127.0.0.1:5432/fresh"
        );
        assert_eq!(
            with_database("postgres://u:p@host/postgres?sslmode=disable", "fresh"),
            "postgres://u:p@host/fresh?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://host?sslmode=disable", "fresh"),
            "postgresql://host/fresh?sslmode=disable"
        );
    }

    #[test]
    fn chrome_capabilities_name_the_binary_the_switches_and_the_profile() {
        let capabilities = chrome_capabilities(Path::new("/tmp/profile-1"));
        assert_eq!(capabilities["browserName"], "chrome");
        let options = &capabilities["goog:chromeOptions"];
        assert_eq!(options["binary"], "/usr/bin/chromium");
        let arguments: Vec<&str> = options["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|argument| argument.as_str().unwrap())
            .collect();
        for switch in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=/tmp/profile-1",
        ] {
            assert!(
                arguments.contains(&switch),
                "{switch} missing: {arguments:?}"
            );
        }
    }

    #[test]
    fn a_refusing_port_refuses_connections_and_cannot_be_taken() {
        let refusing = RefusingPort::new();
        assert_ne!(refusing.port(), 0);
        let refused = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, refusing.port()));
        assert_eq!(
            refused.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
        assert!(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, refusing.port())).is_err());
    }

    #[tokio::test]
    async fn postgres_database_is_fresh_and_reachable() {
        let Some(first_url) = postgres_database().await else {
            return;
        };
        let Some(second_url) = postgres_database().await else {
            return;
        };
        assert_ne!(first_url, second_url);

        let mut connection = PgConnection::connect(&first_url).await.unwrap();
        let (database,): (String,) = sqlx::query_as("SELECT current_database()")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert!(database.starts_with("verity_test_"), "{database}");
        assert!(first_url.ends_with(&format!("/{database}")), "{first_url}");

        // A fresh database holds no tables of ours.
        let (tables,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert_eq!(tables, 0);
        connection.close().await.unwrap();
    }
}
