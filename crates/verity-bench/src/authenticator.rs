//! The authenticator app: the current time-based code for a person's secret (RFC 6238
//! with the parameters Verity enrolls: SHA-1, 6 digits, 30 s).

use std::time::{SystemTime, UNIX_EPOCH};

/// The code the person's authenticator app shows now, for a Base32 `secret`.
pub fn current_code(secret: &str) -> anyhow::Result<String> {
    code_at(secret, unix_now()?)
}

/// The code for a Base32 `secret` at `unix_seconds`.
fn code_at(secret: &str, unix_seconds: u64) -> anyhow::Result<String> {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .map_err(|error| anyhow::anyhow!("an authenticator secret: {error:?}"))?;
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .map_err(|error| anyhow::anyhow!("an authenticator secret: {error:?}"))?;
    Ok(totp.generate(unix_seconds).to_string())
}

/// Seconds since the Unix epoch: the app's clock, the one clock this tool reads.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> anyhow::Result<u64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret ("12345678901234567890"), Base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_rfc_6238() {
        // The RFC lists 8 digits (94287082, 07081804); an app with 6 shows the last six.
        assert_eq!(code_at(RFC_SECRET, 59).unwrap(), "287082");
        assert_eq!(code_at(RFC_SECRET, 1_111_111_109).unwrap(), "081804");
    }

    #[test]
    fn a_secret_that_is_not_base32_is_an_error() {
        assert!(code_at("not base32!", 59).is_err());
    }
}
