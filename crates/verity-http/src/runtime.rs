//! The HTTP adapter's clock and randomness: the one place handlers read them.

use chrono::{DateTime, Utc};
use rand::Rng;

/// The current time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The operating system's cryptographically secure generator.
#[allow(clippy::disallowed_methods)]
pub(crate) fn rng() -> impl Rng {
    rand::rng()
}

/// A fresh opaque token (256 bits, base64url).
pub(crate) fn token() -> String {
    verity_oidc::protocol::tokens::opaque_token(&mut rng())
}

/// The thread-local cryptographically secure generator, by its concrete type (for APIs
/// that ask for a `CryptoRng`).
#[allow(clippy::disallowed_methods)]
pub(crate) fn crypto_rng() -> rand::rngs::ThreadRng {
    rand::rng()
}

/// A fresh random (version 4) UUID from the thread-local generator. `Uuid::new_v4` asks
/// the kernel for its bytes (a system call per id), which the token endpoint would pay on
/// every request.
pub(crate) fn uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    rng().fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
