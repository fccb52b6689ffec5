//! What every node keeps of a person: enough to find them, list them, release their
//! claims and show them to admins — never a password hash or a second factor's secret.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::Email;
use verity_domain::user::Directory;

use super::view::{PasswordState, UserView};

/// Which password a person has, without its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordStatus {
    /// The temporary password an admin set.
    Temporary {
        /// When it stops working.
        expires_at: DateTime<Utc>,
    },
    /// A password they chose.
    Chosen {
        /// When `user.password.changed` was recorded.
        changed_at: DateTime<Utc>,
    },
}

impl From<&PasswordState> for PasswordStatus {
    fn from(password: &PasswordState) -> Self {
        match password {
            PasswordState::Temporary { expires_at, .. } => Self::Temporary {
                expires_at: *expires_at,
            },
            PasswordState::Chosen { changed_at, .. } => Self::Chosen {
                changed_at: *changed_at,
            },
        }
    }
}

/// A person as every node knows them, from [`Users`](super::Users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSummary {
    /// Their id.
    pub user_id: Uuid,
    /// Their organization.
    pub org_id: Uuid,
    /// Their normalised address.
    pub email: Email,
    /// Their display name.
    pub name: String,
    /// Whether sign-in is blocked.
    pub disabled: bool,
    /// Which password they have.
    pub password: PasswordStatus,
    /// Whether they have set up an authenticator app.
    pub has_authenticator: bool,
    /// When `user.created` was recorded.
    pub created_at: DateTime<Utc>,
    /// When the last event about them was recorded.
    pub updated_at: DateTime<Utc>,
    /// When they last signed in, if ever.
    pub last_sign_in: Option<DateTime<Utc>>,
    /// What a provisioning system keeps about them (external id, name parts, other
    /// addresses): SCIM filters on it.
    pub directory: Directory,
    /// The version of their stream when it last changed: SCIM's `meta.version`.
    pub version: u64,
}

impl From<&UserView> for PersonSummary {
    fn from(view: &UserView) -> Self {
        Self {
            user_id: view.user_id,
            org_id: view.org_id,
            email: view.email.clone(),
            name: view.name.clone(),
            disabled: view.disabled,
            password: PasswordStatus::from(&view.password),
            has_authenticator: view.mfa.is_enrolled(),
            created_at: view.created_at,
            updated_at: view.updated_at,
            last_sign_in: view.last_sign_in,
            directory: view.directory.clone(),
            version: view.version,
        }
    }
}
