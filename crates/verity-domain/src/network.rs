//! Facts about one client network (stream `network-<network>`: an IPv4 address or an IPv6
//! /64, as the per-IP sign-in limit counts them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`NetworkUnlocked`].
pub const NETWORK_UNLOCKED: &str = "network.unlocked";

/// The stream of facts about one client network.
pub fn stream(network: &str) -> String {
    format!("network-{network}")
}

/// Payload of `network.unlocked`: an admin lifted the per-IP sign-in lock of a network
/// (`verity network unlock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkUnlocked {
    /// The network as the limit counts it: an IPv4 address or an IPv6 /64.
    pub network: String,
    /// When its lock would have ended, if it was locked.
    pub locked_until: Option<DateTime<Utc>>,
    /// Failures counted in the current window, forgotten now.
    pub failures: u64,
}

/// A network fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkEvent {
    /// An admin lifted the network's lock.
    Unlocked(NetworkUnlocked),
}

domain_events! {
    NetworkEvent {
        Unlocked(NetworkUnlocked) => NETWORK_UNLOCKED,
    }
}
