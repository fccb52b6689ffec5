//! Passwords: generating temporary ones, hashing with Argon2id, verifying.
//!
//! Hashes are PHC strings with OWASP's parameters for Argon2id (m = 19 MiB, t = 2,
//! p = 1): the only form in which a password ever reaches the event log.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use rand::{Rng, RngExt};

/// Characters of temporary passwords: no look-alikes (0/O, 1/l/I), easy to type from an
/// email.
pub const READABLE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Length of a temporary password: 20 characters of a 56-symbol alphabet, ~116 bits.
pub const TEMPORARY_PASSWORD_LENGTH: usize = 20;

/// Why hashing failed (parameters rejected by the library: a programming error, reported
/// rather than panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The Argon2id instance with OWASP's parameters.
fn argon2() -> Result<Argon2<'static>, HashError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|error| HashError(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Generates a temporary password from [`READABLE_ALPHABET`] with the given RNG.
pub fn generate_temporary_password(rng: &mut impl Rng) -> String {
    (0..TEMPORARY_PASSWORD_LENGTH)
        .map(|_| {
            let index = rng.random_range(0..READABLE_ALPHABET.len());
            READABLE_ALPHABET
                .get(index)
                .copied()
                .map_or('x', char::from)
        })
        .collect()
}

/// Hashes a password with Argon2id and a fresh random salt; returns the PHC string.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Hashes on a blocking thread, so a burst of hashes never stalls the async runtime.
pub async fn hash_password_blocking(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| HashError(error.to_string()))?
}

/// Whether `password` matches the PHC string (the comparison inside is constant-time).
/// A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    fn temporary_passwords_are_long_readable_and_different() {
        let mut rng = rand::rng();
        let first = generate_temporary_password(&mut rng);
        let second = generate_temporary_password(&mut rng);
        assert_eq!(first.chars().count(), TEMPORARY_PASSWORD_LENGTH);
        assert!(first.bytes().all(|byte| READABLE_ALPHABET.contains(&byte)));
        assert_ne!(first, second);
    }

    #[test]
    fn hashes_are_argon2id_phc_and_verify_only_the_right_password() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("correct horse battery stapler", &hash));
        assert!(!verify_password("anything", "not a phc string"));
        assert_ne!(
            hash,
            hash_password("correct horse battery staple").unwrap(),
            "salted"
        );
    }
}
