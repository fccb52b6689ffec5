//! One person's whole record — their password hash, second factor and directory
//! attributes with the rest — folded from their stream when a sign-in, the account page
//! or an admin's action needs it ([`load_person`]). Nodes do not keep it in memory
//! (docs/performance.md, "A million people per node").

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use verity_domain::user::{self, Directory};
use verity_domain::{DecodeError, Email, EventStore, RecordedEvent};

use super::change::{PersonChange, stream_person};
use crate::mfa::MfaView;
use crate::projector::ProjectionError;

/// Which password a person signs in with.
///
/// `Debug` does not print the hashes: views end up in logs and assertion messages, and
/// a password hash is still material for an offline guessing attack.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PasswordState {
    /// The temporary password an admin set when creating the account.
    Temporary {
        /// Argon2id PHC hash.
        hash: String,
        /// When it stops working.
        expires_at: DateTime<Utc>,
    },
    /// A password the person chose.
    Chosen {
        /// Argon2id PHC hash.
        hash: String,
        /// When `user.password.changed` was recorded.
        changed_at: DateTime<Utc>,
    },
}

impl PasswordState {
    /// The Argon2id PHC hash to verify a sign-in against.
    pub fn hash(&self) -> &str {
        match self {
            Self::Temporary { hash, .. } | Self::Chosen { hash, .. } => hash,
        }
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted<'secret>(&'secret str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<{} bytes redacted>", self.0.len())
    }
}

impl fmt::Debug for PasswordState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Temporary { hash, expires_at } => formatter
                .debug_struct("Temporary")
                .field("hash", &Redacted(hash))
                .field("expires_at", expires_at)
                .finish(),
            Self::Chosen { hash, changed_at } => formatter
                .debug_struct("Chosen")
                .field("hash", &Redacted(hash))
                .field("changed_at", changed_at)
                .finish(),
        }
    }
}

/// A person as the rest of Verity sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
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
    /// The password they sign in with.
    pub password: PasswordState,
    /// When `user.created` was recorded.
    pub created_at: DateTime<Utc>,
    /// When the last event about them was recorded.
    pub updated_at: DateTime<Utc>,
    /// When they last signed in (`user.signin.succeeded`), if ever.
    pub last_sign_in: Option<DateTime<Utc>>,
    /// Their second factor: authenticator app, recovery codes, trusted devices.
    pub mfa: MfaView,
    /// What a provisioning system keeps about them (external id, name parts, other
    /// addresses).
    pub directory: Directory,
    /// The version of their stream when it last changed: SCIM's `meta.version`.
    pub version: u64,
}

impl UserView {
    /// Folds one person's stream, oldest first: `None` when it holds no `user.created`, or
    /// when the person was erased or deleted. Events of other streams are passed over.
    pub fn fold<'event>(
        events: impl IntoIterator<Item = &'event RecordedEvent>,
    ) -> Result<Option<Self>, DecodeError> {
        let mut view: Option<Self> = None;
        for event in events {
            let Some((user_id, change)) = PersonChange::decode(event)? else {
                note_version(&mut view, event);
                continue;
            };
            match (change, view.as_mut()) {
                (PersonChange::Created(created), _) => {
                    view = Some(Self {
                        user_id: created.user_id,
                        org_id: created.org_id,
                        email: created.email,
                        name: created.name,
                        disabled: false,
                        password: PasswordState::Temporary {
                            hash: created.temporary_password_hash,
                            expires_at: created.temporary_password_expires_at,
                        },
                        created_at: event.recorded_at,
                        updated_at: event.recorded_at,
                        last_sign_in: None,
                        mfa: MfaView::default(),
                        directory: Directory::default(),
                        version: event.version,
                    });
                }
                (PersonChange::Removed, _) => view = None,
                (change, Some(person)) if person.user_id == user_id => {
                    person.apply(change, event.recorded_at);
                }
                _ => {}
            }
            note_version(&mut view, event);
        }
        Ok(view)
    }

    /// Applies a change after `user.created`.
    fn apply(&mut self, change: PersonChange, at: DateTime<Utc>) {
        match change {
            PersonChange::PasswordChosen { hash } => {
                self.password = PasswordState::Chosen {
                    hash,
                    changed_at: at,
                };
            }
            PersonChange::TemporaryPassword { hash, expires_at } => {
                self.password = PasswordState::Temporary { hash, expires_at };
            }
            PersonChange::Disabled(disabled) => self.disabled = disabled,
            PersonChange::Renamed(name) => self.name = name,
            PersonChange::NewEmail(email) => self.email = email,
            PersonChange::Directory(directory) => self.directory = directory,
            PersonChange::Mfa(change) => self.mfa.apply(change, at),
            PersonChange::SignedIn => {
                self.last_sign_in = Some(at);
                return;
            }
            PersonChange::Unlocked => {}
            PersonChange::Created(_) | PersonChange::Removed => return,
        }
        self.updated_at = at;
    }
}

/// Every event of the person's stream moves their version (SCIM's `meta.version`).
fn note_version(view: &mut Option<UserView>, event: &RecordedEvent) {
    if let Some(view) = view
        && stream_person(event) == Some(view.user_id)
    {
        view.version = view.version.max(event.version);
    }
}

/// One person's whole record, read from their stream in the log: what the sign-in checks
/// a password and a code against. `None` when there is no such person (any more).
pub async fn load_person(
    store: &dyn EventStore,
    user_id: Uuid,
) -> Result<Option<UserView>, ProjectionError> {
    let events = store.read_stream(&user::stream(user_id)).await?;
    Ok(UserView::fold(&events)?)
}
