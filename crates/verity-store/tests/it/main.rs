//! The event-store test binary: one contract suite run against every backend, plus the
//! tests that need several OS processes (subscription, concurrent writers, durability
//! after SIGKILL).

// Test code may fail loudly: helpers outside #[test] functions unwrap too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod backends;
mod contract;
mod processes;
mod sealing;
