//! What every service the tests need shares: the [`Mode`] that says whether a missing
//! one is an error, and the [`Service`] a started one is. `postgres`, `chromium` and
//! `scim_client` each start one; `main` starts them all for `cargo xtask test`.

/// Whether a missing service is an error (CI) or a loud skip (a developer's
/// machine without the service installed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Lenient,
    Strict,
}

/// A service started for the test run. Dropping it stops the service and
/// removes whatever it left on disk, also when the tests failed or the xtask
/// is leaving with an error.
pub trait Service {
    /// Environment variables telling the tests where the service is.
    fn environment(&self) -> Vec<(&'static str, String)>;
}
