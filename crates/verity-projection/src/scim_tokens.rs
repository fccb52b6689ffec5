//! The SCIM tokens read model: every token by id with its organization and the hash of
//! its secret (from `scim_token.created` and `scim_token.revoked`), so the SCIM door can
//! check a presented token without reading the log, and admins can list them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use verity_domain::scim_token::{
    Invitations, SCIM_TOKEN_CREATED, SCIM_TOKEN_REVOKED, ScimTokenCreated, ScimTokenRevoked,
};
use verity_domain::{DecodeError, RecordedEvent};

use crate::decode;
use crate::projection::Projection;

/// A SCIM token as Verity knows it (its secret only as a hash).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenView {
    /// Its id.
    pub token_id: String,
    /// The organization it provisions.
    pub org_id: Uuid,
    /// What admins call it.
    pub label: String,
    /// `sha256:` and the hex SHA-256 of its secret.
    pub secret_hash: String,
    /// Whether people it creates get the temporary-password email.
    pub invitations: Invitations,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ScimTokenView {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ScimTokenView")
            .field("token_id", &self.token_id)
            .field("org_id", &self.org_id)
            .field("label", &self.label)
            .field("invitations", &self.invitations)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// Every SCIM token, revoked ones included (lists show them), by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokens {
    by_id: BTreeMap<String, ScimTokenView>,
}

impl ScimTokens {
    /// The token with this id, revoked or not.
    pub fn get(&self, token_id: &str) -> Option<&ScimTokenView> {
        self.by_id.get(token_id)
    }

    /// Every token, by id.
    pub fn all(&self) -> impl Iterator<Item = &ScimTokenView> {
        self.by_id.values()
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Projection for ScimTokens {
    const NAME: &'static str = "scim_tokens";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        match event.event_type.as_str() {
            SCIM_TOKEN_CREATED => {
                let created: ScimTokenCreated = decode::payload(event)?;
                self.by_id.insert(
                    created.token_id.clone(),
                    ScimTokenView {
                        token_id: created.token_id,
                        org_id: created.org_id,
                        label: created.label,
                        secret_hash: created.secret_hash,
                        invitations: created.invitations,
                        created_at: event.recorded_at,
                        revoked_at: None,
                    },
                );
            }
            SCIM_TOKEN_REVOKED => {
                let revoked: ScimTokenRevoked = decode::payload(event)?;
                if let Some(view) = self.by_id.get_mut(&revoked.token_id) {
                    view.revoked_at = Some(event.recorded_at);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent;
    use verity_domain::scim_token::{ScimTokenEvent, stream};

    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn fold(tokens: &mut ScimTokens, position: u64, event: &ScimTokenEvent) {
        let recorded = RecordedEvent {
            position,
            stream: stream(ID),
            version: position,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(position as i64),
            hash: String::new(),
        };
        tokens.apply(&recorded).unwrap();
    }

    #[test]
    fn a_token_is_known_from_its_creation_and_marked_when_revoked() {
        let mut tokens = ScimTokens::default();
        let org_id = Uuid::from_u128(1);
        fold(
            &mut tokens,
            1,
            &ScimTokenEvent::Created(ScimTokenCreated {
                token_id: ID.into(),
                org_id,
                label: "Okta".into(),
                secret_hash: format!("sha256:{}", "b".repeat(64)),
                invitations: Invitations::None,
            }),
        );
        let view = tokens.get(ID).unwrap();
        assert_eq!((view.org_id, view.label.as_str()), (org_id, "Okta"));
        assert_eq!(view.invitations, Invitations::None);
        assert_eq!(view.revoked_at, None);
        assert!(
            !format!("{view:?}").contains("bbbb"),
            "Debug hides the hash"
        );

        fold(
            &mut tokens,
            2,
            &ScimTokenEvent::Revoked(ScimTokenRevoked {
                token_id: ID.into(),
                org_id,
            }),
        );
        assert!(tokens.get(ID).unwrap().revoked_at.is_some());
        assert_eq!(tokens.len(), 1);
        let json = serde_json::to_string(&tokens).unwrap();
        assert_eq!(serde_json::from_str::<ScimTokens>(&json).unwrap(), tokens);
    }
}
