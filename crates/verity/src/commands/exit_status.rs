//! The exit statuses of the commands beyond success and failure.

/// Exit status of a chain that does not verify.
pub const EXIT_CHAIN_BROKEN: u8 = 2;
/// Exit status of projections that differ from a rebuild.
pub const EXIT_REPLAY_MISMATCH: u8 = 3;
