//! The `verity` binary, driven as an operator would: commands, tampering detected by
//! `audit verify`, and bad input answered with one clear line.

// Test code may fail loudly: helpers outside #[test] functions unwrap too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bad_input;
mod cli;
mod clients;
mod keys;
mod support;
mod tamper;
