//! SCIM provisioning tokens (docs/scim.md): bearer tokens that let an identity or HR
//! system provision the people of one organization over SCIM 2.0. Each token has a
//! stream of its own (`scim-token-<token_id>`): `scim_token.created` with its
//! organization, its label, whether people it creates get the temporary-password email,
//! and the SHA-256 hash of its secret (never the secret); `scim_token.revoked` ends it.
//! Who may create or revoke one is the admin layer's rule; the metadata names them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Context};
use crate::client::is_secret_hash;
use crate::event::domain_events;

/// Stored type of [`ScimTokenCreated`].
pub const SCIM_TOKEN_CREATED: &str = "scim_token.created";
/// Stored type of [`ScimTokenRevoked`].
pub const SCIM_TOKEN_REVOKED: &str = "scim_token.revoked";

/// Longest label accepted.
pub const MAX_LABEL: usize = 100;

/// The prefix of SCIM token streams.
pub const STREAM_PREFIX: &str = "scim-token-";

/// The stream of a token.
pub fn stream(token_id: &str) -> String {
    format!("{STREAM_PREFIX}{token_id}")
}

/// Whether `token_id` has the form the admin layer gives ids: 32 lowercase hex digits.
pub fn is_valid_token_id(token_id: &str) -> bool {
    token_id.len() == 32
        && token_id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// What the people a token creates receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invitations {
    /// The temporary-password email, as from the console (the default).
    #[default]
    TemporaryPassword,
    /// No email: the organization signs in another way (a temporary password nobody
    /// knows is still recorded; an admin's "Reset password" sends one later).
    None,
}

/// Payload of `scim_token.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenCreated {
    /// The token's id (the public part of the token).
    pub token_id: String,
    /// The organization it provisions.
    pub org_id: Uuid,
    /// What admins call it (e.g. "Okta").
    pub label: String,
    /// `sha256:` and the hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Whether people it creates get the temporary-password email.
    pub invitations: Invitations,
}

/// Payload of `scim_token.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenRevoked {
    /// The token's id.
    pub token_id: String,
    /// Its organization.
    pub org_id: Uuid,
}

/// What a token records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimTokenEvent {
    /// `scim_token.created`
    Created(ScimTokenCreated),
    /// `scim_token.revoked`
    Revoked(ScimTokenRevoked),
}

domain_events! {
    ScimTokenEvent {
        Created(ScimTokenCreated) => SCIM_TOKEN_CREATED,
        Revoked(ScimTokenRevoked) => SCIM_TOKEN_REVOKED,
    }
}

/// What can be asked of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimTokenCommand {
    /// Create it (its id and the hash of its secret are drawn by the caller).
    Create(ScimTokenCreated),
    /// End it: it opens nothing any more.
    Revoke,
}

/// Why a token command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimTokenError {
    /// The stream already holds a token.
    #[error("the SCIM token already exists")]
    AlreadyExists,
    /// No such token.
    #[error("no such SCIM token")]
    NotFound,
    /// Revoked already.
    #[error("the SCIM token is already revoked")]
    AlreadyRevoked,
    /// An id that is not 32 hex digits.
    #[error("a SCIM token id is 32 lowercase hex digits")]
    InvalidId,
    /// Empty or overlong label.
    #[error("a SCIM token's label must have 1 to {MAX_LABEL} characters")]
    InvalidLabel,
    /// A secret that is not a SHA-256 hash would put it in clear in the log.
    #[error("a SCIM token's secret must be stored as a sha256: hash")]
    SecretNotHashed,
}

/// A token as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimToken {
    /// Present once created.
    pub created: Option<ScimTokenCreated>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl Aggregate for ScimToken {
    type Command = ScimTokenCommand;
    type Event = ScimTokenEvent;
    type Error = ScimTokenError;

    fn decide(
        &self,
        command: &Self::Command,
        _context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            ScimTokenCommand::Create(created) => {
                if self.created.is_some() {
                    return Err(ScimTokenError::AlreadyExists);
                }
                if !is_valid_token_id(&created.token_id) {
                    return Err(ScimTokenError::InvalidId);
                }
                let label = created.label.trim();
                if label.is_empty() || label.chars().count() > MAX_LABEL {
                    return Err(ScimTokenError::InvalidLabel);
                }
                if !is_secret_hash(&created.secret_hash) {
                    return Err(ScimTokenError::SecretNotHashed);
                }
                Ok(vec![ScimTokenEvent::Created(ScimTokenCreated {
                    label: label.to_owned(),
                    ..created.clone()
                })])
            }
            ScimTokenCommand::Revoke => {
                let created = self.created.as_ref().ok_or(ScimTokenError::NotFound)?;
                if self.revoked {
                    return Err(ScimTokenError::AlreadyRevoked);
                }
                Ok(vec![ScimTokenEvent::Revoked(ScimTokenRevoked {
                    token_id: created.token_id.clone(),
                    org_id: created.org_id,
                })])
            }
        }
    }

    fn evolve(mut self, event: &Self::Event) -> Self {
        match event {
            ScimTokenEvent::Created(created) => self.created = Some(created.clone()),
            ScimTokenEvent::Revoked(_) => self.revoked = true,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::scenario::Scenario;
    use crate::event::{DomainEvent, recorded};

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn created() -> ScimTokenCreated {
        ScimTokenCreated {
            token_id: ID.into(),
            org_id: Uuid::from_u128(1),
            label: "Okta".into(),
            secret_hash: format!("sha256:{}", "a".repeat(64)),
            invitations: Invitations::TemporaryPassword,
        }
    }

    #[test]
    fn an_admin_creates_a_token_with_its_secret_hashed_and_its_label_trimmed() {
        let mut asked = created();
        asked.label = "  Okta ".into();
        Scenario::<ScimToken>::given([])
            .when(ScimTokenCommand::Create(asked))
            .then([ScimTokenEvent::Created(created())]);
        Scenario::<ScimToken>::given([ScimTokenEvent::Created(created())])
            .when(ScimTokenCommand::Create(created()))
            .then_err(ScimTokenError::AlreadyExists);
    }

    #[test]
    fn a_secret_in_clear_a_bad_id_or_an_empty_label_is_refused() {
        let mut clear = created();
        clear.secret_hash = "vscim.secret".into();
        Scenario::<ScimToken>::given([])
            .when(ScimTokenCommand::Create(clear))
            .then_err(ScimTokenError::SecretNotHashed);
        let mut bad_id = created();
        bad_id.token_id = "okta".into();
        Scenario::<ScimToken>::given([])
            .when(ScimTokenCommand::Create(bad_id))
            .then_err(ScimTokenError::InvalidId);
        let mut unlabelled = created();
        unlabelled.label = " ".into();
        Scenario::<ScimToken>::given([])
            .when(ScimTokenCommand::Create(unlabelled))
            .then_err(ScimTokenError::InvalidLabel);
    }

    #[test]
    fn a_token_is_revoked_once_and_only_when_it_exists() {
        let revoked = ScimTokenEvent::Revoked(ScimTokenRevoked {
            token_id: ID.into(),
            org_id: Uuid::from_u128(1),
        });
        Scenario::<ScimToken>::given([ScimTokenEvent::Created(created())])
            .when(ScimTokenCommand::Revoke)
            .then([revoked.clone()]);
        Scenario::<ScimToken>::given([ScimTokenEvent::Created(created()), revoked])
            .when(ScimTokenCommand::Revoke)
            .then_err(ScimTokenError::AlreadyRevoked);
        Scenario::<ScimToken>::given([])
            .when(ScimTokenCommand::Revoke)
            .then_err(ScimTokenError::NotFound);
    }

    #[test]
    fn the_events_keep_their_stored_shape() {
        let event = ScimTokenEvent::Created(created());
        assert_eq!(
            event.to_data(),
            format!(
                r#"{{"token_id":"{ID}","org_id":"{}","label":"Okta","secret_hash":"sha256:{}","invitations":"temporary_password"}}"#,
                Uuid::from_u128(1),
                "a".repeat(64)
            )
        );
        let stored = recorded(stream(ID), &event);
        assert_eq!(ScimTokenEvent::decode(&stored), Ok(Some(event)));
    }
}
