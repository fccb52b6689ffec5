//! The `verity` binary, driven as an operator would: commands, tampering detected by
//! `audit verify`, and bad input answered with one clear line.

// Test code may fail loudly: helpers outside #[test] functions unwrap too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api;
mod audit_key;
mod audit_queries;
mod backup;
mod bad_input;
#[path = "../../../../conformance/basic_op.rs"]
mod basic_op;
mod browser;
mod cli;
mod clients;
mod console;
mod console_audit;
mod console_browser;
mod console_manage;
mod corrupt;
mod disk_full;
#[path = "../../../../conformance/ending_access.rs"]
mod ending_access;
mod erasure;
mod files;
#[path = "../../../../conformance/journey.rs"]
mod journey;
mod keys;
mod mail;
mod mfa;
#[path = "../../../../conformance/multi_node.rs"]
mod multi_node;
mod offline;
#[path = "../../../../conformance/provider.rs"]
mod provider;
mod roles;
mod scim;
mod serve;
mod support;
mod tamper;
mod trust;
