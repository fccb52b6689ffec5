//! Chromium and chromedriver for the browser tests.
//!
//! Debian's `chromium` and `chromium-driver` packages put the browser at
//! `/usr/bin/chromium` and the driver at `/usr/bin/chromedriver`. When either
//! is missing and the xtask runs as root, it installs both with apt-get. It
//! then starts chromedriver on a free loopback port, waits until the driver's
//! `/status` answers, and tells the tests where it is through
//! `VERITY_TEST_WEBDRIVER_URL`. Each test opens its own browser session through
//! the driver (`verity_testkit::chrome_capabilities`). Dropping the service
//! shuts chromedriver down through its `/shutdown` command, which also quits
//! the browsers of sessions that a test left open, so nothing stays running.

use crate::services::{Mode, Service};
use crate::system::{self, run_visibly, succeeds};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package puts the browser. The tests name it in
/// their capabilities, so it must be this path.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where Debian's `chromium-driver` package puts the driver.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The variable through which the tests find the driver.
const URL_VARIABLE: &str = "VERITY_TEST_WEBDRIVER_URL";

/// How long chromedriver may take to answer `/status` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long chromedriver may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running chromedriver. Dropping it stops the driver (and with it the
/// browsers it started) and removes its log.
pub struct Chromedriver {
    child: Child,
    port: u16,
    log_file: PathBuf,
}

/// Starts chromedriver, or returns `None` when Chromium is not installed (and
/// cannot be) under [`Mode::Lenient`], so that the browser tests skip.
///
/// When `VERITY_TEST_WEBDRIVER_URL` is already set, that driver is used and
/// none is started.
pub fn start(mode: Mode) -> Result<Option<Chromedriver>> {
    if let Ok(url) = std::env::var(URL_VARIABLE) {
        println!("xtask: using the WebDriver server at {URL_VARIABLE}={url}");
        return Ok(None);
    }
    if !find_or_install(mode)? {
        return Ok(None);
    }
    let port = system::free_port()?;
    let log_file =
        std::env::temp_dir().join(format!("verity-chromedriver-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_file)
        .with_context(|| format!("cannot create {}", log_file.display()))?;
    let log_for_stderr = log
        .try_clone()
        .with_context(|| format!("cannot open {} twice", log_file.display()))?;
    println!("xtask: starting chromedriver on 127.0.0.1:{port}");
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr)
        .spawn()
        .with_context(|| format!("cannot run {CHROMEDRIVER}"))?;
    // From here on, dropping `driver` stops the process.
    let mut driver = Chromedriver {
        child,
        port,
        log_file,
    };
    driver.wait_until_ready()?;
    Ok(Some(driver))
}

impl Service for Chromedriver {
    fn environment(&self) -> Vec<(&'static str, String)> {
        vec![(URL_VARIABLE, driver_url(self.port))]
    }
}

fn driver_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl Chromedriver {
    /// Polls `GET /status` until the driver says it is ready, failing with
    /// the driver's log when it exits or takes too long.
    fn wait_until_ready(&mut self) -> Result<()> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(response) = http_get(address, "/status")
                && is_ready(&response)
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "chromedriver exited ({status}) before it was ready; its log says:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver did not answer /status within {} s; its log says:\n{}",
                    START_TIMEOUT.as_secs(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        system::last_lines(&text, 30)
    }

    /// Asks the driver to shut down (`GET /shutdown`, which also quits the
    /// browsers of sessions a test left open; SIGTERM would leave them running)
    /// and kills it when it has not exited after [`STOP_TIMEOUT`].
    fn stop(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            // Best effort: if the request fails, the deadline below kills it.
            let _ = http_get(address, "/shutdown");
            let deadline = Instant::now() + STOP_TIMEOUT;
            while self.child.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if self.child.try_wait()?.is_none() {
            eprintln!("xtask: warning: chromedriver did not shut down; killing it");
            self.child.kill().context("cannot kill chromedriver")?;
        }
        self.child.wait().context("cannot wait for chromedriver")?;
        Ok(())
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        println!("xtask: stopping chromedriver");
        if let Err(error) = self.stop() {
            eprintln!("xtask: warning: cannot stop chromedriver: {error:#}");
        }
        if let Err(error) = std::fs::remove_file(&self.log_file) {
            eprintln!(
                "xtask: warning: cannot remove {}: {error}",
                self.log_file.display()
            );
        }
    }
}

/// Whether the browser and the driver are both installed, installing them
/// with apt-get when we are root.
fn find_or_install(mode: Mode) -> Result<bool> {
    if installed() {
        return Ok(true);
    }
    let install_hint = format!(
        "Chromium and chromedriver ({CHROMIUM}, {CHROMEDRIVER}) are not installed; \
         install them with `sudo apt-get install chromium chromium-driver`"
    );
    if system::is_root()? {
        println!("xtask: Chromium or chromedriver is not installed; installing them with apt-get");
        if let Err(error) = install_with_apt() {
            if mode == Mode::Strict {
                return Err(error.context(install_hint));
            }
            eprintln!("xtask: warning: {error:#}");
        }
        if installed() {
            return Ok(true);
        }
    }
    if mode == Mode::Strict {
        bail!("{install_hint}");
    }
    eprintln!(
        "\nxtask: WARNING: {install_hint}.\n\
         xtask: WARNING: continuing without a browser; the browser tests will be SKIPPED.\n"
    );
    Ok(false)
}

fn installed() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

fn install_with_apt() -> Result<()> {
    // Without package lists (a fresh container) apt-get knows no packages:
    // update them first, and only then.
    let known = succeeds(
        Command::new("apt-cache")
            .args(["show", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
    if !known {
        run_visibly(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    run_visibly(
        Command::new("apt-get")
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// A plain HTTP/1.1 GET on loopback that returns the status line, headers and
/// body; enough for chromedriver's `/status`. chromedriver keeps the
/// connection open whatever the request asks, so the body ends after
/// `Content-Length` bytes (or when the server closes the connection).
fn http_get(address: SocketAddr, path: &str) -> Result<String> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        if let Some(length) = complete_length(&response) {
            response.truncate(length);
            break;
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        response.extend_from_slice(buffer.get(..read).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The length of the whole response once its headers and as many body bytes
/// as `Content-Length` announces have arrived; `None` while more is to come.
fn complete_length(response: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(response);
    let (head, _) = text.split_once("\r\n\r\n")?;
    let body_start = head.len() + 4;
    let content_length = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    })?;
    (response.len() >= body_start + content_length).then_some(body_start + content_length)
}

/// Whether a `/status` response says the driver can create sessions:
/// status 200 and `"ready": true` in the body.
fn is_ready(response: &str) -> bool {
    let status_ok = response
        .lines()
        .next()
        .is_some_and(|line| line.split_whitespace().nth(1) == Some("200"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    // A key `"ready"` whose value is `true` (the string also occurs as a value).
    let ready = body.match_indices("\"ready\"").any(|(position, key)| {
        body.get(position + key.len()..)
            .and_then(|after| after.trim_start().strip_prefix(':'))
            .is_some_and(|value| value.trim_start().starts_with("true"))
    });
    status_ok && ready
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_status_200_and_ready_true() {
        let ready = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n\
                     {\"value\":{\"build\":{},\"message\":\"ready\",\"ready\": true}}";
        assert!(is_ready(ready));
        let not_ready = "HTTP/1.1 200 OK\r\n\r\n{\"value\":{\"ready\":false}}";
        assert!(!is_ready(not_ready));
        let error = "HTTP/1.1 500 Internal Server Error\r\n\r\n{\"value\":{\"ready\":true}}";
        assert!(!is_ready(error));
        assert!(!is_ready(""));
    }

    #[test]
    fn the_url_is_loopback_with_the_port() {
        assert_eq!(driver_url(9515), "http://127.0.0.1:9515");
    }

    #[test]
    fn http_get_reads_the_whole_response() {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let (done_sender, done) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            // The request may arrive in several reads: read up to its blank line.
            let mut request = Vec::new();
            let mut chunk = [0_u8; 1024];
            while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = connection.read(&mut chunk).unwrap();
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..read]);
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            // Like chromedriver: no space after the colon, and the connection
            // stays open after the body.
            connection
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length:2\r\n\r\nok")
                .unwrap();
            let _ = done.recv_timeout(Duration::from_secs(10));
            request
        });
        // Waiting for the close would time out, an error.
        let response = http_get(address, "/status").unwrap();
        done_sender.send(()).unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /status HTTP/1.1\r\n"), "{request}");
        assert!(response.ends_with("\r\n\r\nok"), "{response}");
    }

    #[test]
    fn a_response_is_complete_after_content_length_bytes() {
        assert_eq!(
            complete_length(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"),
            None
        );
        assert_eq!(
            complete_length(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no"),
            None
        );
        assert_eq!(
            complete_length(b"HTTP/1.1 200 OK\r\ncontent-length:2\r\n\r\nok"),
            Some(39)
        );
        assert_eq!(complete_length(b"HTTP/1.1 200 OK\r\n\r\nok"), None);
    }
}
