//! The person's authenticator app: TOTP codes (SHA-1, 6 digits, 30 s) from a Base32
//! secret, through totp-rs as the server computes them.
//!
//! The server accepts a code once, and never a code older than one it accepted; it allows
//! one step of clock skew. So the app hands out the current step's code, or the next
//! step's once the current one was used, and waits for the clock beyond that.

use std::time::Duration;

/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;

/// An authenticator app holding one secret, remembering the last step whose code was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    /// The secret in Base32, as the set-up page shows it (spaces removed).
    pub secret: String,
    /// The last time step whose code the person used.
    pub last_step: Option<u64>,
}

impl Authenticator {
    /// An app that was given `secret` (Base32) and has not shown a code yet.
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            last_step: None,
        }
    }

    /// A fresh code: the current step's, or the next one if the current step's was used;
    /// waits for the clock when both were used.
    pub async fn next_code(&mut self) -> String {
        loop {
            let current = current_step();
            let step = match self.last_step {
                Some(last) if last >= current => last + 1,
                _ => current,
            };
            if step <= current + 1 {
                self.last_step = Some(step);
                return self.code_at(step);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The code of the last step used (refused by the server as already used), if any.
    pub fn used_code(&self) -> Option<String> {
        self.last_step.map(|step| self.code_at(step))
    }

    /// The code for time step `step`.
    pub fn code_at(&self, step: u64) -> String {
        totp(&self.secret).generate(step * STEP_SECONDS).to_string()
    }
}

/// The time step the clock is in now.
pub fn current_step() -> u64 {
    // The person reads the time off their phone: the wall clock is the point here.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    now / STEP_SECONDS
}

// A secret that is not Base32 is a broken test, and panicking is how a test fails.
#[allow(clippy::panic)]
fn totp(secret: &str) -> totp_rs::Totp {
    let bytes = match totp_rs::Secret::try_from_base32(secret) {
        Ok(bytes) => bytes,
        Err(error) => panic!("the authenticator secret {secret:?} is not Base32: {error:?}"),
    };
    let built = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(bytes)
        .build();
    match built {
        Ok(totp) => totp,
        Err(error) => panic!("the authenticator secret is unusable: {error:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238_for_sha1() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 s.
        let app = Authenticator::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(app.code_at(59 / STEP_SECONDS), "287082");
    }

    #[tokio::test]
    async fn a_step_is_handed_out_once_and_the_next_one_follows() {
        let mut app = Authenticator::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(app.used_code(), None);
        let first = app.next_code().await;
        let first_step = app.last_step.unwrap();
        assert_eq!(app.used_code(), Some(first));
        app.next_code().await;
        assert_eq!(app.last_step, Some(first_step + 1));
    }
}
