//! Verity's HTTP surface at its seam: `verity_http::router` in process over SQLite in a
//! temporary directory, driven request by request (`tower::ServiceExt::oneshot`) through
//! the test kit's browser-like agent and typed steps. Black-box: nothing here reaches
//! into the crate's modules, only into its routes.

// Test code may fail loudly: helpers outside #[test] functions unwrap too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod account;
mod attempts;
mod authorize;
mod discovery;
mod fixtures;
mod logout;
mod malformed;
mod operations;
mod second_factor;
mod sign_in;
mod snapshots;
mod support;
mod temporary_password;
mod token;
mod token_use;
