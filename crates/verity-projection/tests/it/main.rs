//! The projection test binary: the projector against a real (SQLite) store — catch-up,
//! live following, snapshots, versions, failures — and the property that the live read
//! models always equal a rebuild from position 0.

// Test helpers outside `#[test]` functions (fixtures, strategies) fail loudly on
// purpose; clippy's `allow-*-in-tests` settings only cover the test functions. Fixtures
// draw ids freely: the purity rule is the domain's, not the tests'.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

mod projector;
mod property;
mod support;
