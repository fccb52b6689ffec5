//! Every stored event type this binary knows, so that a reader can tell an event it has
//! no use for from one it cannot understand. The read models fold the whole log: an event
//! of a type no aggregate has (written by a newer Verity, or a row altered behind
//! Verity's back) stops them with its position, rather than being passed over in silence
//! and leaving them wrong.
//!
//! Every enum that `domain_events!` implements is listed here; a test checks that none is
//! missing.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::{DecodeError, RecordedEvent};

/// The types of every aggregate's events, by enum.
const ALL: &[&[&str]] = &[
    crate::audit::AuditEvent::EVENT_TYPES,
    crate::backchannel::BackchannelEvent::EVENT_TYPES,
    crate::client::ClientEvent::EVENT_TYPES,
    crate::grant::GrantEvent::EVENT_TYPES,
    crate::instance::InstanceEvent::EVENT_TYPES,
    crate::key::SigningKeyEvent::EVENT_TYPES,
    crate::mfa::MfaEvent::EVENT_TYPES,
    crate::network::NetworkEvent::EVENT_TYPES,
    crate::organization::OrganizationEvent::EVENT_TYPES,
    crate::role::RoleEvent::EVENT_TYPES,
    crate::scim_token::ScimTokenEvent::EVENT_TYPES,
    crate::session::SessionEvent::EVENT_TYPES,
    crate::signin::SignInEvent::EVENT_TYPES,
    crate::token::TokenEvent::EVENT_TYPES,
    crate::user::UserEvent::EVENT_TYPES,
];

static KNOWN: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| ALL.iter().flat_map(|types| types.iter().copied()).collect());

/// Whether some aggregate of this binary has `event_type`.
pub fn is_known(event_type: &str) -> bool {
    KNOWN.contains(event_type)
}

/// Refuses an event whose type this binary does not know, naming its position.
pub fn check_known(event: &RecordedEvent) -> Result<(), DecodeError> {
    if is_known(&event.event_type) {
        Ok(())
    } else {
        Err(DecodeError::UnknownType {
            event_type: event.event_type.clone(),
            position: event.position,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `domain_events! { Name {` in this crate's sources must be in [`ALL`].
    #[test]
    fn every_enum_of_events_is_listed() {
        let listed = include_str!("known_types.rs");
        let mut sources = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut found = 0;
        while let Some(path) = sources.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    sources.push(entry.unwrap().path());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for invocation in text.split("\ndomain_events! {").skip(1) {
                let name = invocation.split_whitespace().next().unwrap();
                assert!(
                    listed.contains(&format!("::{name}::EVENT_TYPES")),
                    "{name} ({}) is missing from known_types::ALL",
                    path.display()
                );
                found += 1;
            }
        }
        assert_eq!(
            found,
            ALL.len(),
            "ALL lists an enum twice or one that is gone"
        );
    }

    #[test]
    fn types_of_every_aggregate_are_known_and_others_are_refused_with_their_position() {
        assert!(is_known("user.created"));
        assert!(is_known("user.totp.enrolled"));
        assert!(is_known("session.ended"));
        assert!(!is_known("user.exploded"));
        let event = RecordedEvent {
            position: 42,
            stream: "user-1".into(),
            version: 1,
            event_type: "user.exploded".into(),
            schema: 1,
            data: "{}".into(),
            metadata: "{}".into(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            hash: String::new(),
        };
        let refused = check_known(&event).unwrap_err();
        assert!(refused.to_string().contains("position 42"), "{refused}");
    }
}
