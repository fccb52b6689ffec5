//! The soak's clock and its fault windows, shared by the run, the nodes and the checks.

use std::time::{SystemTime, UNIX_EPOCH};

/// A fault and when it lasted (Unix seconds), for the checks and the plot.
#[derive(Debug, Clone)]
pub struct Window {
    /// What was done.
    pub fault: &'static str,
    /// The node it was done to, if one.
    pub node: Option<usize>,
    /// When it began.
    pub from: f64,
    /// When it was over (the node or the database answering again).
    pub to: f64,
}

/// Seconds since the Unix epoch: the clock the journal's times are in (the xtask is a
/// tool, not the server: it reads the clock itself).
#[allow(clippy::disallowed_methods)]
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
