//! Load generators that drive a running Verity over HTTP, as browsers and authenticator
//! apps would, for the figures in docs/performance.md. The `verity-bench` binary is their
//! command line; the conformance tests call them directly to keep them honest.
//!
//! They live outside the server's binary: what needs the store's internals (seeding
//! people, timing start-up, appends, Argon2id, signatures) stays in the hidden
//! `verity bench` commands, and everything that only talks HTTP to a server lives here.
//! Each generator has its own module (`signin`, `scim`, `soak`); what they share — the browser with its
//! cookie jar (`browser`), the authenticator app (`authenticator`), the people file
//! (`people`) and the timed run of concurrent workers (`load`) — has modules of its own.

pub mod authenticator;
pub mod browser;
pub mod load;
pub mod people;
pub mod scim;
pub mod signin;
pub mod soak;
