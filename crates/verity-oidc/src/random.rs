//! The engine's random source: the one place it draws random values (opaque tokens,
//! ids, secrets). The domain never does; it receives them in commands.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// The thread-local cryptographically secure generator, by its concrete type (for APIs
/// that ask for a `CryptoRng`).
#[allow(clippy::disallowed_methods)]
pub fn crypto_rng() -> rand::rngs::ThreadRng {
    rand::rng()
}

/// A fresh opaque token: 256 random bits, base64url.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    crypto_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh random (version 4) UUID from the thread-local generator. `Uuid::new_v4` asks
/// the kernel for its bytes (a system call per id), which the token endpoint would pay on
/// every request.
pub fn uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    crypto_rng().fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A fresh id for a person created at `now`: a time-ordered (version 7) UUID, the
/// millisecond then 74 random bits. People's ids key the tables that grow with them
/// (their streams, their keys); ids that follow one another put each new row beside the
/// last one instead of on a random page (docs/adr/0013-time-ordered-person-ids.md).
pub fn person_id(now: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
    let mut bytes = [0u8; 10];
    crypto_rng().fill_bytes(&mut bytes);
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids_are_fresh() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 43);
        let id = uuid();
        assert_ne!(id, uuid());
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn person_ids_are_fresh_and_follow_the_clock() {
        let now = chrono::DateTime::from_timestamp_millis(1_796_000_000_000).unwrap();
        let first = person_id(now);
        let second = person_id(now + chrono::Duration::milliseconds(1));
        assert_eq!(first.get_version_num(), 7);
        assert_ne!(first, person_id(now));
        assert_eq!(
            first.get_timestamp().map(|at| at.to_unix()),
            Some((1_796_000_000, 0))
        );
        // Made a millisecond or more apart, they sort in the order they were made, as
        // bytes and as the text that keys a stream.
        assert!(first < second);
        assert!(first.to_string() < second.to_string());
    }
}
