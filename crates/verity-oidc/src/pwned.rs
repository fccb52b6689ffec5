//! The optional online check of a new password against Have I Been Pwned's Pwned
//! Passwords range API (docs/passwords.md).
//!
//! k-anonymity: only the first 5 hex characters of the password's SHA-1 leave Verity
//! (`GET <base>/range/ABCDE`); the service answers every suffix it knows under that
//! prefix (`SUFFIX:COUNT` lines), and the match is made here. Verity asks for padded
//! answers, so their size says nothing either.
//!
//! The check is advisory: a failing, slow or unreachable service never blocks a person
//! choosing a password. [`PwnedPasswords::check`] logs a warning and accepts.

use std::time::Duration;

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::password_policy::PolicyViolation;
use verity_domain::error_chain::ErrorChain;

/// The public service's base URL, for `[passwords] hibp_url`.
pub const HIBP_URL: &str = "https://api.pwnedpasswords.com";

/// Length of the prefix sent to the service, in hex characters.
const PREFIX_LENGTH: usize = 5;

/// Why the service gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum PwnedError {
    /// The HTTP client could not be built or the request failed (unreachable, timeout).
    #[error("the Pwned Passwords service is unreachable: {0}")]
    Unreachable(String),
    /// An answer other than 200.
    #[error("the Pwned Passwords service answered HTTP {0}")]
    Status(u16),
}

/// A client of the range API at a base URL.
#[derive(Debug, Clone)]
pub struct PwnedPasswords {
    client: reqwest::Client,
    base_url: String,
}

impl PwnedPasswords {
    /// A client of the service at `base_url` (e.g. [`HIBP_URL`]), giving up after
    /// `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, PwnedError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("Verity/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| PwnedError::Unreachable(error.to_string()))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// How many times the service has seen `password` in breaches (0: never).
    pub async fn breach_count(&self, password: &str) -> Result<u64, PwnedError> {
        let digest = hex::encode_upper(Sha1::digest(password.as_bytes()));
        let (prefix, suffix) = digest.split_at(PREFIX_LENGTH);
        let response = self
            .client
            .get(format!("{}/range/{prefix}", self.base_url))
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|error| PwnedError::Unreachable(error.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(PwnedError::Status(response.status().as_u16()));
        }
        let body = response
            .text()
            .await
            .map_err(|error| PwnedError::Unreachable(error.without_url().to_string()))?;
        Ok(count_in_range(&body, suffix))
    }

    /// The policy rule: [`PolicyViolation::Breached`] when the service knows the
    /// password. Any failure is logged as a warning and the password accepted: the
    /// offline rules have already been applied, and an outage elsewhere must not stop
    /// people from signing in.
    pub async fn check(&self, password: &str) -> Result<(), PolicyViolation> {
        match self.breach_count(password).await {
            Ok(0) => Ok(()),
            Ok(_) => Err(PolicyViolation::Breached),
            Err(error) => {
                tracing::warn!(
                    error = %ErrorChain(&error),
                    "Pwned Passwords check skipped; the password is accepted"
                );
                Ok(())
            }
        }
    }
}

/// The count of `suffix` in a range answer (`SUFFIX:COUNT` per line; padding lines have
/// count 0).
fn count_in_range(body: &str, suffix: &str) -> u64 {
    let wanted = suffix.to_ascii_uppercase();
    body.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(candidate, _)| {
            bool::from(
                candidate
                    .to_ascii_uppercase()
                    .as_bytes()
                    .ct_eq(wanted.as_bytes()),
            )
        })
        .and_then(|(_, count)| count.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// SHA-1 of "password": 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8.
    const PASSWORD_SUFFIX: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

    /// A stand-in for the range API on a free loopback port: answers every request with
    /// `status` and `body`, and records the request lines it saw.
    async fn range_server(status: u16, body: String) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    let read = socket.read(&mut buffer).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..read]);
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                recorded.lock().unwrap().push(text);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
        });
        (format!("http://{address}/"), seen)
    }

    fn client(base_url: &str) -> PwnedPasswords {
        PwnedPasswords::new(base_url, Duration::from_secs(10)).unwrap()
    }

    #[tokio::test]
    async fn a_breached_password_is_found_by_its_suffix_and_only_the_prefix_is_sent() {
        let body = format!(
            "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{PASSWORD_SUFFIX}:9659365\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n"
        );
        let (url, seen) = range_server(200, body).await;
        let pwned = client(&url);

        assert_eq!(pwned.breach_count("password").await.unwrap(), 9_659_365);
        assert_eq!(
            pwned.check("password").await,
            Err(PolicyViolation::Breached)
        );
        assert_eq!(pwned.check("violet tractor hums at dawn").await, Ok(()));

        let requests = seen.lock().unwrap().clone();
        let first = requests.first().unwrap();
        assert!(first.starts_with("GET /range/5BAA6 HTTP/1.1"), "{first}");
        assert!(first.to_ascii_lowercase().contains("add-padding: true"));
        for request in &requests {
            assert!(
                !request.contains(PASSWORD_SUFFIX),
                "the suffix never leaves"
            );
            assert!(!request.contains("password"), "nor the password");
        }
    }

    #[tokio::test]
    async fn padding_entries_with_count_zero_are_not_breaches() {
        let (url, _) = range_server(200, format!("{PASSWORD_SUFFIX}:0\r\n")).await;
        assert_eq!(client(&url).check("password").await, Ok(()));
    }

    #[tokio::test]
    async fn a_failing_service_does_not_block_the_password() {
        let (url, _) = range_server(503, "busy".into()).await;
        let pwned = client(&url);
        assert!(matches!(
            pwned.breach_count("password").await,
            Err(PwnedError::Status(503))
        ));
        assert_eq!(pwned.check("password").await, Ok(()));
    }

    #[tokio::test]
    async fn an_unreachable_service_does_not_block_the_password() {
        // A port that was free a moment ago: connection refused.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let pwned = client(&format!("http://{address}"));
        assert!(matches!(
            pwned.breach_count("password").await,
            Err(PwnedError::Unreachable(_))
        ));
        assert_eq!(pwned.check("password").await, Ok(()));
    }

    #[test]
    fn the_range_format_is_read_leniently() {
        let body = format!("\n{}:12 \r\nnot a line\r\n", PASSWORD_SUFFIX.to_lowercase());
        assert_eq!(count_in_range(&body, PASSWORD_SUFFIX), 12);
        assert_eq!(count_in_range("", PASSWORD_SUFFIX), 0);
    }
}
