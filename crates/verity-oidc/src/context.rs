//! One request, one context: the time it is decided at (read once), its id, and where it
//! came from. Every event and log line of a request carries the same id, and one
//! sign-in never reads the clock twice (so its `auth_time`s agree).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use verity_domain::signin::Origin;
use verity_domain::{Actor, Context, EventMetadata};

/// Longest User-Agent kept (it is stored in events and shown to the person).
const MAX_USER_AGENT: usize = 256;

/// What every engine call of one request shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The time the request is decided at.
    pub now: DateTime<Utc>,
    /// The request's id (logs, events' metadata, the `X-Request-Id` answer header).
    pub request_id: String,
    /// The client's IP address, when known (the peer or a trusted proxy's word).
    pub ip: Option<IpAddr>,
    /// The browser's User-Agent, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// A context for a request at `now`.
    pub fn new(
        now: DateTime<Utc>,
        request_id: impl Into<String>,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Self {
        Self {
            now,
            request_id: request_id.into(),
            ip,
            user_agent: user_agent.map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
        }
    }

    /// Where the request came from, for the sign-in facts.
    pub fn origin(&self, client_id: Option<&str>) -> Origin {
        Origin {
            client_id: client_id.map(str::to_owned),
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
        }
    }

    /// The metadata of a fact `actor` caused in this request.
    pub fn metadata(&self, actor: Actor) -> EventMetadata {
        self.domain(actor).metadata()
    }

    /// The metadata of a fact caused by a person (or by nobody known yet, for failures).
    pub fn metadata_of(&self, user_id: Option<&str>) -> EventMetadata {
        self.metadata(user_id.map_or(Actor::System, |user_id| Actor::User {
            user_id: user_id.to_owned(),
            sid: None,
        }))
    }

    /// The domain's context for a command `actor` gives in this request.
    pub fn domain(&self, actor: Actor) -> Context {
        Context {
            now: self.now,
            actor,
            request_id: Some(self.request_id.clone()),
            client_ip: self.ip.map(|ip| ip.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_of_a_request_shares_its_time_and_id() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let context = RequestContext::new(
            now,
            "req-1",
            "192.0.2.7".parse().ok(),
            Some(&"x".repeat(300)),
        );
        let metadata = context.metadata_of(Some("u"));
        assert_eq!(metadata.occurred_at, now);
        assert_eq!(metadata.request_id.as_deref(), Some("req-1"));
        assert_eq!(metadata.client_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(
            metadata.actor,
            Actor::User {
                user_id: "u".into(),
                sid: None,
            }
        );
        assert_eq!(context.metadata_of(None).actor, Actor::System);
        let origin = context.origin(Some("client"));
        assert_eq!(origin.user_agent.map(|agent| agent.len()), Some(256));
        assert_eq!(origin.client_id.as_deref(), Some("client"));
    }
}
