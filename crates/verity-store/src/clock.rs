//! The store's clock: the one place it reads the time.

use chrono::{DateTime, Utc};

/// The recording time of a batch, and the time of the periodic purge of expired entries.
#[allow(clippy::disallowed_methods)]
pub(crate) fn recorded_now() -> DateTime<Utc> {
    Utc::now()
}
