//! The `verity` binary, driven as an operator would: commands, tampering detected by
//! `audit verify`, and bad input answered with one clear line.

mod bad_input;
mod cli;
mod support;
mod tamper;
