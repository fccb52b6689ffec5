//! Facts about one client network (stream `network-<network>`: an IPv4 address or an IPv6
//! /64, as the per-IP sign-in limit counts them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;

/// Stored type of [`NetworkUnlocked`].
pub const NETWORK_UNLOCKED: &str = "network.unlocked";
/// Stored type of [`NetworkLocked`].
pub const NETWORK_LOCKED: &str = "network.locked";

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

/// Payload of `network.locked`: the failed sign-in that reached the per-IP limit locked
/// sign-in from the network. Its refusals until then are counted in the metrics, not
/// recorded one by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkLocked {
    /// The network as the limit counts it: an IPv4 address or an IPv6 /64.
    pub network: String,
    /// When sign-in from it is allowed again.
    pub until: DateTime<Utc>,
    /// The failures that locked it.
    pub failures: u64,
}

/// A network fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkEvent {
    /// An admin lifted the network's lock.
    Unlocked(NetworkUnlocked),
    /// Too many failed sign-ins locked the network.
    Locked(NetworkLocked),
}

domain_events! {
    NetworkEvent {
        Unlocked(NetworkUnlocked) => NETWORK_UNLOCKED,
        Locked(NetworkLocked) => NETWORK_LOCKED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainEvent;
    use crate::event::recorded;

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn network_facts_keep_their_stored_shape() {
        let locked = NetworkEvent::Locked(NetworkLocked {
            network: "2001:db8:1:2::/64".into(),
            until: time("2026-11-28T10:15:00Z"),
            failures: 100,
        });
        assert_eq!(
            locked.to_data(),
            r#"{"network":"2001:db8:1:2::/64","until":"2026-11-28T10:15:00Z","failures":100}"#
        );
        let stored = recorded(stream("2001:db8:1:2::/64"), &locked);
        assert_eq!(stored.stream, "network-2001:db8:1:2::/64");
        assert_eq!(stored.event_type, NETWORK_LOCKED);
        assert_eq!(NetworkEvent::decode(&stored).unwrap(), Some(locked));

        let unlocked = NetworkEvent::Unlocked(NetworkUnlocked {
            network: "192.0.2.7".into(),
            locked_until: None,
            failures: 3,
        });
        assert_eq!(
            unlocked.to_data(),
            r#"{"network":"192.0.2.7","locked_until":null,"failures":3}"#
        );
        let stored = recorded(stream("192.0.2.7"), &unlocked);
        assert_eq!(NetworkEvent::decode(&stored).unwrap(), Some(unlocked));
    }
}
