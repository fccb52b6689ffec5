//! The admin layer over a real store: every command and query as the operator uses it
//! from the CLI, and the authorization matrix — what an org admin of another
//! organization and an auditor are refused, with nothing written.

// Test code may fail loudly: helpers outside #[test] functions unwrap too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod audit;
mod authorization;
mod clients;
mod devices;
mod directory;
mod erasure;
mod keys;
mod organizations;
mod people;
mod roles;
mod support;
mod unlock;
