//! Why an admin command or query did not do what it was asked. Each door maps these to
//! its own answer (the CLI to one `error: ...` line; the console to a page; the API to
//! problem+json): a refusal is never a server error.

use std::fmt;

use uuid::Uuid;
use verity_domain::client::ClientError;
use verity_domain::key::SigningKeyError;
use verity_domain::organization::OrganizationError;
use verity_domain::role::RoleError;
use verity_domain::scim_token::ScimTokenError;
use verity_domain::session::SessionError;
use verity_domain::user::UserError;
use verity_domain::{DecodeError, Email, ExecuteError, StoreError};
use verity_oidc::credentials::HashError;
use verity_oidc::keys::KeyError;
use verity_oidc::mail::{MailError, TemporaryPasswordReason};
use verity_projection::ProjectionError;

use crate::actor::Scope;
use crate::permission::Permission;

/// What was looked for and not found (or not visible to the actor, which answers the
/// same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// An organization, by the name or id given.
    Organization(String),
    /// A person, by address, in an organization.
    Person {
        /// The address.
        email: Email,
        /// The organization's name.
        organization: String,
    },
    /// A person, by id.
    PersonId(Uuid),
    /// A person, by address, in any organization.
    Address(Email),
    /// A client, by id.
    Client(String),
    /// A SCIM token, by id.
    ScimToken(String),
}

impl fmt::Display for Missing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Organization(org) => write!(formatter, "no organization {org:?}"),
            Self::Person {
                email,
                organization,
            } => write!(formatter, "no user {email} in organization {organization}"),
            Self::PersonId(user_id) => write!(formatter, "no user {user_id}"),
            Self::Address(email) => write!(formatter, "no user {email}"),
            Self::Client(client_id) => write!(formatter, "no client {client_id:?}"),
            Self::ScimToken(token_id) => write!(formatter, "no SCIM token {token_id:?}"),
        }
    }
}

/// A rule of the domain that refused a command, typed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// An organization's rule.
    #[error(transparent)]
    Organization(#[from] OrganizationError),
    /// A person's rule (status, names, the second factor).
    #[error(transparent)]
    User(#[from] UserError),
    /// A client's rule (redirect URIs, grants, authentication).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A signing key's rule.
    #[error(transparent)]
    Key(#[from] SigningKeyError),
    /// A holder's roles (a grant given twice, a revocation of one not held).
    #[error(transparent)]
    Role(#[from] RoleError),
    /// A SCIM token's rule (revoked twice).
    #[error(transparent)]
    ScimToken(#[from] ScimTokenError),
    /// A session's rule.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// Why an admin command or query failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Nothing by that name or id that the actor may see.
    #[error("{0}")]
    NotFound(Missing),
    /// The actor sees it but may not do this.
    #[error("you may not {permission} {scope}")]
    Forbidden {
        /// What was needed.
        permission: Permission,
        /// Where.
        scope: Scope,
    },
    /// It conflicts with what exists (an address already taken, nothing to reset).
    #[error("{0}")]
    Conflict(String),
    /// The input is not acceptable (an address that is not one).
    #[error("{0}")]
    Invalid(String),
    /// A rule of the domain refused the command.
    #[error(transparent)]
    Refused(Refusal),
    /// The email with a temporary password could not be delivered; nothing was
    /// recorded.
    #[error("{error}; {}", nothing_recorded(*reason))]
    DeliveryFailed {
        /// Why delivery failed.
        error: MailError,
        /// Which email it was.
        reason: TemporaryPasswordReason,
    },
    /// The email with a temporary password went out, but recording it failed: the
    /// password in it does not work, and whoever acted must know.
    #[error(
        "the email to {email} was sent, but recording it failed ({reason}); the password in that email does not work: run the command again"
    )]
    SentButNotRecorded {
        /// The recipient.
        email: Email,
        /// Why recording failed.
        reason: String,
    },
    /// The event log or the expiring store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event cannot be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The read models did not catch up or failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A signing key could not be generated or read.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Password hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// An email could not be rendered.
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl AdminError {
    /// Whether whoever acted can do something about it (as opposed to a failure of the
    /// server's ports), e.g. to choose 4xx over 5xx.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::NotFound(_)
                | Self::Forbidden { .. }
                | Self::Conflict(_)
                | Self::Invalid(_)
                | Self::Refused(_)
        )
    }
}

/// What a failed delivery leaves behind: nothing.
fn nothing_recorded(reason: TemporaryPasswordReason) -> &'static str {
    match reason {
        TemporaryPasswordReason::AccountCreated => "no account was created",
        TemporaryPasswordReason::PasswordReset => {
            "no new password was issued and the current one still works"
        }
    }
}

impl<E> From<ExecuteError<E>> for AdminError
where
    E: std::error::Error + Into<Refusal> + 'static,
{
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Rejected(rule) => Self::Refused(rule.into()),
            ExecuteError::Store(error) => Self::Store(error),
            ExecuteError::Decode(error) => Self::Decode(error),
        }
    }
}

impl From<verity_domain::EmailError> for AdminError {
    fn from(error: verity_domain::EmailError) -> Self {
        Self::Invalid(error.to_string())
    }
}
