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
