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
}
