//! The event-store test binary: one contract suite run against every backend, plus the
//! tests that need several OS processes (subscription, concurrent writers, durability
//! after SIGKILL).

mod backends;
mod contract;
mod processes;
