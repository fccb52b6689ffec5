//! The `verity` binary's library half: configuration, wiring and commands, so that tests
//! and benchmarks can use them. `main.rs` only parses arguments and reports errors.

pub mod admin;
pub mod app;
pub mod audit_key;
pub mod cli;
pub mod commands;
pub mod config;
pub mod listener;
pub mod mail;
pub mod signing;
