//! People: created by an admin with a temporary password, then managing their own.
//! Their name and address as admins change them: [`profile`]. What a provisioning system
//! keeps besides (external id, name parts, other addresses): [`directory`].

pub mod directory;
pub mod profile;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Context};
use crate::email::Email;
use crate::event::domain_events;
use crate::mfa::{ForgetReason, MfaCommand, MfaError, MfaEvent, MfaState};
use crate::store::UniqueKey;
pub use directory::{
    Directory, DirectoryChanged, DirectoryError, NameParts, OtherEmail, USER_DIRECTORY_CHANGED,
};
pub use profile::{EmailChanged, MAX_NAME, NameChanged, ProfileError};
use profile::{USER_EMAIL_CHANGED, USER_NAME_CHANGED};

/// The stream of a user.
pub fn stream(user_id: Uuid) -> String {
    format!("user-{user_id}")
}

/// The user whose own stream `stream` is ([`stream`]'s inverse).
pub fn of_stream(stream: &str) -> Option<Uuid> {
    stream
        .strip_prefix("user-")
        .and_then(|id| Uuid::try_parse(id).ok())
}

/// The unique key that keeps an email address to one person within an organization.
pub fn email_key(org_id: Uuid, email: &Email) -> UniqueKey {
    UniqueKey(format!("email:{org_id}:{email}"))
}

/// Whether `hash` is an Argon2id PHC string: the only form a password may take in the log.
fn is_argon2id_phc(hash: &str) -> bool {
    hash.starts_with("$argon2id$") && hash.len() < 512
}

/// What can be asked of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    /// An admin creates the account with a temporary password.
    Create {
        /// A fresh id.
        user_id: Uuid,
        /// The organization the person belongs to.
        org_id: Uuid,
        /// Their address, normalised.
        email: Email,
        /// Their display name.
        name: String,
        /// Argon2id PHC hash of the temporary password (the password itself never
        /// reaches the domain).
        temporary_password_hash: String,
        /// When the temporary password stops working.
        temporary_password_expires_at: DateTime<Utc>,
    },
    /// The person sets a password of their own.
    ChangePassword {
        /// Argon2id PHC hash of the new password.
        password_hash: String,
        /// Which of their sessions end with the change (their other ones, when they change
        /// it while signed in; none at the first sign-in).
        end_sessions: EndSessions,
    },
    /// An admin issues a new temporary password (`verity user reset-password`): the
    /// person's own password stops working and they choose a new one at the next sign-in.
    IssueTemporaryPassword {
        /// Argon2id PHC hash of the new temporary password.
        temporary_password_hash: String,
        /// When it stops working.
        expires_at: DateTime<Utc>,
    },
    /// An admin blocks sign-in: every session ends, every trusted device is forgotten.
    Disable,
    /// Every session of the person ends (an admin's `user sign-out`, the person's "Sign
    /// out everywhere"): their refresh tokens and access tokens stop working with them.
    SignOut {
        /// A session that stays (none: all end).
        except_sid: Option<String>,
    },
    /// An admin allows sign-in again.
    Enable,
    /// An admin lifts the sign-in locks (too many wrong passwords or codes). The locks
    /// are protocol state outside the log; this records who lifted them, and when.
    Unlock,
    /// An admin changes the person's display name, the address they sign in with
    /// (unique in their organization), or both; what is left `None` stays.
    ChangeProfile {
        /// The new name.
        name: Option<String>,
        /// The new address, normalised.
        email: Option<Email>,
    },
    /// A provisioning system creates the account with its directory attributes, in one
    /// append (the same rules as [`UserCommand::Create`]).
    CreateProvisioned {
        /// The account, as `user.created` will record it.
        account: UserCreated,
        /// The directory attributes (nothing recorded for them when empty).
        directory: Directory,
    },
    /// A provisioning system sets what it manages, in one append: the name, the address,
    /// the directory attributes and whether the person may sign in (`false` disables
    /// them: every session ends). What is `None` stays; refused as unchanged when
    /// nothing would change.
    Provision(Provision),
    /// The person is deleted: every session ends, the address is free again, and the
    /// stream takes no command any more but [`UserCommand::Erase`]. Their history stays in
    /// the log.
    Delete,
    /// The second factor: authenticator app, recovery codes, trusted devices.
    Mfa(MfaCommand),
    /// An admin erases the person (GDPR Art. 17): every session ends, the address is
    /// released, and nothing more can be asked of the account. Their personal data is made
    /// unreadable outside the domain, by destroying their key ([`crate::personal`]). A
    /// deleted person can be erased too (their sessions ended with the deletion).
    Erase,
}

/// What [`UserCommand::Provision`] sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provision {
    /// The display name.
    pub name: Option<String>,
    /// The sign-in address, normalised.
    pub email: Option<Email>,
    /// The directory attributes, as a whole.
    pub directory: Option<Directory>,
    /// Whether the person may sign in.
    pub active: Option<bool>,
}

/// What a user records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserEvent {
    /// `user.created`
    Created(UserCreated),
    /// `user.password.changed`
    PasswordChanged(PasswordChanged),
    /// `user.temporary_password.issued`
    TemporaryPasswordIssued(TemporaryPasswordIssued),
    /// `user.disabled`
    Disabled,
    /// `user.enabled`
    Enabled,
    /// `user.unlocked`
    Unlocked,
    /// `user.sessions.ended`
    SessionsEnded(SessionsEnded),
    /// `user.name.changed`
    NameChanged(NameChanged),
    /// `user.email.changed`
    EmailChanged(EmailChanged),
    /// `user.erased`
    Erased(UserErased),
    /// `user.directory.changed` (boxed: two whole sets of attributes)
    DirectoryChanged(Box<DirectoryChanged>),
    /// `user.deleted`
    Deleted(UserDeleted),
    /// `user.totp.*`, `user.recovery_code*`, `user.device.*` (see [`crate::mfa`]).
    Mfa(MfaEvent),
}

/// Payload of `user.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCreated {
    /// The user's id.
    pub user_id: Uuid,
    /// Their organization.
    pub org_id: Uuid,
    /// Their normalised address.
    pub email: Email,
    /// Their display name.
    pub name: String,
    /// Argon2id PHC hash of the temporary password.
    pub temporary_password_hash: String,
    /// When the temporary password expires.
    pub temporary_password_expires_at: DateTime<Utc>,
}

/// Payload of `user.deleted`: the address it frees, in its organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// Their organization.
    pub org_id: Uuid,
    /// The address they signed in with.
    pub email: Email,
}

/// Payload of `user.password.changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    /// Argon2id PHC hash of the new password.
    pub password_hash: String,
}

/// Payload of `user.temporary_password.issued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryPasswordIssued {
    /// Argon2id PHC hash of the new temporary password.
    pub temporary_password_hash: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Payload of `user.erased`. The address is there to release its claim in the
/// organization; like every personal field it is sealed with the person's key, so it
/// reads as erased afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserErased {
    /// The person's organization.
    pub org_id: Uuid,
    /// Their address when they were erased.
    pub email: Email,
}

/// Which sessions end with a password change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessions {
    /// None (the first sign-in: the person has no other session).
    None,
    /// All but this one (the session the person changes it from).
    AllExcept(String),
}

/// Why every session of a person ended at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEndReason {
    /// An admin disabled the account.
    Disabled,
    /// An admin issued a new temporary password.
    PasswordReset,
    /// An admin reset the authenticator app.
    AuthenticatorReset,
    /// Signed out everywhere: by an admin (`user sign-out`) or by the person; the event's
    /// actor says who.
    SignedOut,
    /// The person chose a new password while signed in: their other sessions end.
    PasswordChanged,
    /// An admin erased the person.
    Erased,
    /// The person was deleted.
    Deleted,
}

/// Payload of `user.sessions.ended`: every session of the person that started before
/// this event (but `except_sid`) ended, and every token issued for them stopped working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsEnded {
    /// Why.
    pub reason: AccessEndReason,
    /// The session that stays, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except_sid: Option<String>,
}

/// Stored type name of [`UserCreated`].
pub const USER_CREATED: &str = "user.created";
/// Stored type name of [`PasswordChanged`].
pub const USER_PASSWORD_CHANGED: &str = "user.password.changed";
/// Stored type name of [`TemporaryPasswordIssued`].
pub const USER_TEMPORARY_PASSWORD_ISSUED: &str = "user.temporary_password.issued";
/// Stored type name of [`UserEvent::Disabled`].
pub const USER_DISABLED: &str = "user.disabled";
/// Stored type name of [`UserEvent::Enabled`].
pub const USER_ENABLED: &str = "user.enabled";
/// Stored type name of [`UserEvent::Unlocked`].
pub const USER_UNLOCKED: &str = "user.unlocked";
/// Stored type name of [`SessionsEnded`].
pub const USER_SESSIONS_ENDED: &str = "user.sessions.ended";
/// Stored type name of [`UserErased`].
pub const USER_ERASED: &str = "user.erased";
/// Stored type name of [`UserDeleted`].
pub const USER_DELETED: &str = "user.deleted";

domain_events! {
    UserEvent {
        Created(UserCreated) => USER_CREATED,
        PasswordChanged(PasswordChanged) => USER_PASSWORD_CHANGED,
        TemporaryPasswordIssued(TemporaryPasswordIssued) => USER_TEMPORARY_PASSWORD_ISSUED,
        Disabled => USER_DISABLED,
        Enabled => USER_ENABLED,
        Unlocked => USER_UNLOCKED,
        SessionsEnded(SessionsEnded) => USER_SESSIONS_ENDED,
        NameChanged(NameChanged) => USER_NAME_CHANGED,
        EmailChanged(EmailChanged) => USER_EMAIL_CHANGED,
        Erased(UserErased) => USER_ERASED,
        DirectoryChanged(Box<DirectoryChanged>) => USER_DIRECTORY_CHANGED,
        Deleted(UserDeleted) => USER_DELETED,
    }
    else Mfa(MfaEvent)
}

/// Why a user command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// The stream already holds a user.
    #[error("the user already exists")]
    AlreadyExists,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// A change of name or address refused (an invalid name, nothing to change).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A password that is not an Argon2id PHC hash would put a secret in clear in the log.
    #[error("a password must be stored as an Argon2id PHC hash")]
    PasswordNotHashed,
    /// The temporary password would already be expired.
    #[error("the temporary password must expire in the future")]
    ExpiryInThePast,
    /// A disabled person cannot change their password.
    #[error("the user is disabled")]
    Disabled,
    /// Disabling twice.
    #[error("the user is already disabled")]
    AlreadyDisabled,
    /// Enabling an active user.
    #[error("the user is already enabled")]
    AlreadyEnabled,
    /// Directory attributes refused.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// A rule of the second factor refused.
    #[error(transparent)]
    Mfa(#[from] MfaError),
    /// The person was erased: nothing more can be asked of the account.
    #[error("the user was erased")]
    Erased,
}

/// The user as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// Present once created.
    pub created: Option<UserCreated>,
    /// Their display name now.
    pub name: String,
    /// Their address now.
    pub email: Option<Email>,
    /// Whether sign-in is blocked.
    pub disabled: bool,
    /// Whether the person was deleted.
    pub deleted: bool,
    /// What a provisioning system keeps about them.
    pub directory: Directory,
    /// The person's own password, once chosen.
    pub password_hash: Option<String>,
    /// The second factor.
    pub mfa: MfaState,
    /// Whether the person was erased.
    pub erased: bool,
}

impl Aggregate for User {
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;

    fn decide(
        &self,
        command: &Self::Command,
        context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            UserCommand::Create {
                user_id,
                org_id,
                email,
                name,
                temporary_password_hash,
                temporary_password_expires_at,
            } => Ok(vec![self.create(
                &UserCreated {
                    user_id: *user_id,
                    org_id: *org_id,
                    email: email.clone(),
                    name: name.clone(),
                    temporary_password_hash: temporary_password_hash.clone(),
                    temporary_password_expires_at: *temporary_password_expires_at,
                },
                context,
            )?]),
            UserCommand::CreateProvisioned { account, directory } => {
                let created = self.create(account, context)?;
                directory.check()?;
                let mut events = vec![created];
                if !directory.is_empty() {
                    events.push(UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                        before: Directory::default(),
                        after: directory.clone(),
                    })));
                }
                Ok(events)
            }
            UserCommand::Provision(provision) => self.provision(provision, context),
            UserCommand::Delete => {
                let created = self.existing()?;
                Ok(vec![
                    UserEvent::Deleted(UserDeleted {
                        org_id: created.org_id,
                        email: self.email.clone().unwrap_or_else(|| created.email.clone()),
                    }),
                    sessions_ended(AccessEndReason::Deleted, None),
                ])
            }
            UserCommand::ChangePassword {
                password_hash,
                end_sessions,
            } => {
                self.existing()?;
                if self.disabled {
                    return Err(UserError::Disabled);
                }
                if !is_argon2id_phc(password_hash) {
                    return Err(UserError::PasswordNotHashed);
                }
                let changed = UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: password_hash.clone(),
                });
                Ok(match end_sessions {
                    EndSessions::None => vec![changed],
                    EndSessions::AllExcept(sid) => vec![
                        changed,
                        sessions_ended(AccessEndReason::PasswordChanged, Some(sid.clone())),
                    ],
                })
            }
            UserCommand::IssueTemporaryPassword {
                temporary_password_hash,
                expires_at,
            } => {
                self.existing()?;
                if self.disabled {
                    return Err(UserError::Disabled);
                }
                if !is_argon2id_phc(temporary_password_hash) {
                    return Err(UserError::PasswordNotHashed);
                }
                if *expires_at <= context.now {
                    return Err(UserError::ExpiryInThePast);
                }
                Ok(vec![
                    UserEvent::TemporaryPasswordIssued(TemporaryPasswordIssued {
                        temporary_password_hash: temporary_password_hash.clone(),
                        expires_at: *expires_at,
                    }),
                    sessions_ended(AccessEndReason::PasswordReset, None),
                ])
            }
            UserCommand::Disable => {
                self.existing()?;
                if self.disabled {
                    return Err(UserError::AlreadyDisabled);
                }
                Ok(self.disable(context))
            }
            // Allowed for a disabled person too: ending sessions grants nothing.
            UserCommand::SignOut { except_sid } => {
                self.existing()?;
                Ok(vec![sessions_ended(
                    AccessEndReason::SignedOut,
                    except_sid.clone(),
                )])
            }
            UserCommand::Enable => {
                self.existing()?;
                if !self.disabled {
                    return Err(UserError::AlreadyEnabled);
                }
                Ok(vec![UserEvent::Enabled])
            }
            // Allowed for a disabled person too: lifting a lock grants nothing by itself.
            UserCommand::Unlock => {
                self.existing()?;
                Ok(vec![UserEvent::Unlocked])
            }
            UserCommand::ChangeProfile { name, email } => {
                let created = self.existing()?;
                let current = profile::Current {
                    org_id: created.org_id,
                    name: &self.name,
                    email: self.email.as_ref().unwrap_or(&created.email),
                };
                let (name, email) = profile::change(current, name.as_deref(), email.as_ref())?;
                Ok(name
                    .map(UserEvent::NameChanged)
                    .into_iter()
                    .chain(email.map(UserEvent::EmailChanged))
                    .collect())
            }
            UserCommand::Mfa(command) => {
                self.existing()?;
                if self.disabled && command.refused_when_disabled() {
                    return Err(UserError::Disabled);
                }
                let events = self.mfa.decide(command, context.now)?;
                let mut events: Vec<UserEvent> = events.into_iter().map(UserEvent::Mfa).collect();
                // A reset authenticator vouches for no session any more.
                if matches!(command, MfaCommand::ResetAuthenticator) {
                    events.push(sessions_ended(AccessEndReason::AuthenticatorReset, None));
                }
                Ok(events)
            }
            UserCommand::Erase => {
                if self.erased {
                    return Err(UserError::Erased);
                }
                let created = self.created.as_ref().ok_or(UserError::NotFound)?;
                let erased = UserEvent::Erased(UserErased {
                    org_id: created.org_id,
                    email: self.email.clone().unwrap_or_else(|| created.email.clone()),
                });
                // Releasing the address again is harmless: a claim is released only by
                // the stream that holds it, never from whoever took the address since.
                Ok(if self.deleted {
                    vec![erased]
                } else {
                    vec![sessions_ended(AccessEndReason::Erased, None), erased]
                })
            }
        }
    }

    fn evolve(mut self, event: &Self::Event) -> Self {
        match event {
            UserEvent::Created(created) => {
                self.name = created.name.clone();
                self.email = Some(created.email.clone());
                self.created = Some(created.clone());
            }
            UserEvent::NameChanged(changed) => self.name = changed.after.clone(),
            UserEvent::EmailChanged(changed) => self.email = Some(changed.after.clone()),
            UserEvent::DirectoryChanged(changed) => self.directory = changed.after.clone(),
            UserEvent::Deleted(_) => self.deleted = true,
            UserEvent::PasswordChanged(changed) => {
                self.password_hash = Some(changed.password_hash.clone())
            }
            // The person's own password stops working: they sign in with the new
            // temporary one and choose again.
            UserEvent::TemporaryPasswordIssued(_) => self.password_hash = None,
            UserEvent::Disabled => self.disabled = true,
            UserEvent::Enabled => self.disabled = false,
            UserEvent::Unlocked | UserEvent::SessionsEnded(_) => {}
            UserEvent::Mfa(event) => self.mfa = std::mem::take(&mut self.mfa).evolve(event),
            UserEvent::Erased(_) => self.erased = true,
        }
        self
    }

    fn unique_keys(event: &Self::Event) -> (Vec<UniqueKey>, Vec<UniqueKey>) {
        match event {
            UserEvent::Created(created) => {
                (vec![email_key(created.org_id, &created.email)], Vec::new())
            }
            UserEvent::EmailChanged(changed) => (
                vec![email_key(changed.org_id, &changed.after)],
                vec![email_key(changed.org_id, &changed.before)],
            ),
            UserEvent::Erased(erased) => {
                (Vec::new(), vec![email_key(erased.org_id, &erased.email)])
            }
            UserEvent::Deleted(deleted) => {
                (Vec::new(), vec![email_key(deleted.org_id, &deleted.email)])
            }
            _ => (Vec::new(), Vec::new()),
        }
    }
}

/// `user.sessions.ended` for `reason`.
fn sessions_ended(reason: AccessEndReason, except_sid: Option<String>) -> UserEvent {
    UserEvent::SessionsEnded(SessionsEnded { reason, except_sid })
}

impl User {
    /// The person as created, unless they do not exist or were deleted.
    fn existing(&self) -> Result<&UserCreated, UserError> {
        if self.erased {
            return Err(UserError::Erased);
        }
        self.created
            .as_ref()
            .filter(|_| !self.deleted)
            .ok_or(UserError::NotFound)
    }

    /// `user.created`, if the stream is new and the account keeps the rules.
    fn create(&self, account: &UserCreated, context: &Context) -> Result<UserEvent, UserError> {
        if self.created.is_some() {
            return Err(UserError::AlreadyExists);
        }
        let name = profile::valid_name(&account.name)?;
        if !is_argon2id_phc(&account.temporary_password_hash) {
            return Err(UserError::PasswordNotHashed);
        }
        if account.temporary_password_expires_at <= context.now {
            return Err(UserError::ExpiryInThePast);
        }
        Ok(UserEvent::Created(UserCreated {
            name: name.to_owned(),
            ..account.clone()
        }))
    }

    /// Disabling: every trusted device forgotten, every session ended.
    fn disable(&self, context: &Context) -> Vec<UserEvent> {
        let forgotten = self
            .mfa
            .forget_every_device(ForgetReason::AccountDisabled, context.now);
        std::iter::once(UserEvent::Disabled)
            .chain(forgotten.into_iter().map(UserEvent::Mfa))
            .chain([sessions_ended(AccessEndReason::Disabled, None)])
            .collect()
    }

    /// What a provisioning system's values change, in one list of events.
    fn provision(
        &self,
        provision: &Provision,
        context: &Context,
    ) -> Result<Vec<UserEvent>, UserError> {
        let created = self.existing()?;
        let current = profile::Current {
            org_id: created.org_id,
            name: &self.name,
            email: self.email.as_ref().unwrap_or(&created.email),
        };
        let mut events =
            match profile::change(current, provision.name.as_deref(), provision.email.as_ref()) {
                Ok((name, email)) => name
                    .map(UserEvent::NameChanged)
                    .into_iter()
                    .chain(email.map(UserEvent::EmailChanged))
                    .collect(),
                Err(ProfileError::Unchanged) => Vec::new(),
                Err(refused) => return Err(refused.into()),
            };
        if let Some(directory) = provision
            .directory
            .as_ref()
            .filter(|d| **d != self.directory)
        {
            directory.check()?;
            events.push(UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                before: self.directory.clone(),
                after: directory.clone(),
            })));
        }
        match provision.active {
            Some(false) if !self.disabled => events.extend(self.disable(context)),
            Some(true) if self.disabled => events.push(UserEvent::Enabled),
            _ => {}
        }
        if events.is_empty() {
            return Err(ProfileError::Unchanged.into());
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::scenario::{Scenario, context};
    use crate::event::{DomainEvent, recorded};

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    const NEW_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g";

    fn create() -> UserCommand {
        UserCommand::Create {
            user_id: Uuid::nil(),
            org_id: Uuid::max(),
            email: Email::parse("Ada@Example.org").unwrap(),
            name: " Ada Lovelace ".into(),
            temporary_password_hash: HASH.into(),
            temporary_password_expires_at: context().now + chrono::Duration::days(7),
        }
    }

    fn created() -> UserEvent {
        UserEvent::Created(UserCreated {
            user_id: Uuid::nil(),
            org_id: Uuid::max(),
            email: Email::parse("ada@example.org").unwrap(),
            name: "Ada Lovelace".into(),
            temporary_password_hash: HASH.into(),
            temporary_password_expires_at: context().now + chrono::Duration::days(7),
        })
    }

    #[test]
    fn an_admin_creates_a_user_with_a_temporary_password() {
        Scenario::<User>::given([]).when(create()).then([created()]);
    }

    fn erased() -> UserEvent {
        UserEvent::Erased(UserErased {
            org_id: Uuid::max(),
            email: Email::parse("ada@example.org").unwrap(),
        })
    }

    #[test]
    fn erasing_ends_every_session_and_releases_the_address() {
        Scenario::<User>::given([created()])
            .when(UserCommand::Erase)
            .then([sessions_ended(AccessEndReason::Erased, None), erased()]);
        let (claims, releases) = User::unique_keys(&erased());
        assert!(claims.is_empty());
        assert_eq!(
            releases,
            vec![email_key(
                Uuid::max(),
                &Email::parse("ada@example.org").unwrap()
            )]
        );
    }

    #[test]
    fn nothing_can_be_asked_of_an_erased_person() {
        for command in [
            UserCommand::Erase,
            UserCommand::Disable,
            UserCommand::Unlock,
            UserCommand::SignOut { except_sid: None },
        ] {
            Scenario::<User>::given([created(), erased()])
                .when(command)
                .then_err(UserError::Erased);
        }
        Scenario::<User>::given([created(), erased()])
            .when(create())
            .then_err(UserError::AlreadyExists);
    }

    #[test]
    fn a_user_is_created_once() {
        Scenario::<User>::given([created()])
            .when(create())
            .then_err(UserError::AlreadyExists);
    }

    #[test]
    fn the_email_claims_a_key_within_the_organization() {
        let (claims, _) = User::unique_keys(&created());
        assert_eq!(
            claims,
            vec![UniqueKey(format!("email:{}:ada@example.org", Uuid::max()))]
        );
    }

    #[test]
    fn a_temporary_password_in_clear_is_refused() {
        let mut command = create();
        if let UserCommand::Create {
            temporary_password_hash,
            ..
        } = &mut command
        {
            *temporary_password_hash = "hunter2hunter2".into();
        }
        Scenario::<User>::given([])
            .when(command)
            .then_err(UserError::PasswordNotHashed);
    }

    #[test]
    fn an_already_expired_temporary_password_is_refused() {
        Scenario::<User>::given([])
            .at(context().now + chrono::Duration::days(8))
            .when(create())
            .then_err(UserError::ExpiryInThePast);
    }

    #[test]
    fn an_empty_name_is_refused() {
        let mut command = create();
        if let UserCommand::Create { name, .. } = &mut command {
            *name = "  ".into();
        }
        Scenario::<User>::given([])
            .when(command)
            .then_err(UserError::Profile(ProfileError::InvalidName));
    }

    #[test]
    fn a_user_changes_the_password() {
        Scenario::<User>::given([created()])
            .when(UserCommand::ChangePassword {
                password_hash: NEW_HASH.into(),
                end_sessions: EndSessions::None,
            })
            .then([UserEvent::PasswordChanged(PasswordChanged {
                password_hash: NEW_HASH.into(),
            })]);
    }

    #[test]
    fn a_disabled_user_cannot_change_the_password() {
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::ChangePassword {
                password_hash: NEW_HASH.into(),
                end_sessions: EndSessions::None,
            })
            .then_err(UserError::Disabled);
    }

    #[test]
    fn a_new_password_in_clear_is_refused() {
        Scenario::<User>::given([created()])
            .when(UserCommand::ChangePassword {
                password_hash: "correct horse".into(),
                end_sessions: EndSessions::None,
            })
            .then_err(UserError::PasswordNotHashed);
    }

    #[test]
    fn a_missing_user_cannot_be_changed() {
        Scenario::<User>::given([])
            .when(UserCommand::Disable)
            .then_err(UserError::NotFound);
        Scenario::<User>::given([])
            .when(UserCommand::ChangePassword {
                password_hash: NEW_HASH.into(),
                end_sessions: EndSessions::None,
            })
            .then_err(UserError::NotFound);
    }

    fn issue() -> UserCommand {
        UserCommand::IssueTemporaryPassword {
            temporary_password_hash: NEW_HASH.into(),
            expires_at: context().now + chrono::Duration::days(7),
        }
    }

    fn issued() -> UserEvent {
        UserEvent::TemporaryPasswordIssued(TemporaryPasswordIssued {
            temporary_password_hash: NEW_HASH.into(),
            expires_at: context().now + chrono::Duration::days(7),
        })
    }

    #[test]
    fn an_admin_issues_a_new_temporary_password() {
        Scenario::<User>::given([
            created(),
            UserEvent::PasswordChanged(PasswordChanged {
                password_hash: HASH.into(),
            }),
        ])
        .when(issue())
        .then([
            issued(),
            sessions_ended(AccessEndReason::PasswordReset, None),
        ]);
    }

    #[test]
    fn a_new_temporary_password_replaces_the_chosen_one() {
        let state = [
            created(),
            UserEvent::PasswordChanged(PasswordChanged {
                password_hash: HASH.into(),
            }),
            issued(),
        ]
        .iter()
        .fold(User::default(), |state, event| state.evolve(event));
        assert_eq!(state.password_hash, None);
    }

    #[test]
    fn no_temporary_password_for_an_unknown_user() {
        Scenario::<User>::given([])
            .when(issue())
            .then_err(UserError::NotFound);
    }

    #[test]
    fn no_temporary_password_for_a_disabled_user() {
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(issue())
            .then_err(UserError::Disabled);
    }

    #[test]
    fn a_new_temporary_password_in_clear_or_already_expired_is_refused() {
        Scenario::<User>::given([created()])
            .when(UserCommand::IssueTemporaryPassword {
                temporary_password_hash: "Kq7mZt4hWx9cRb2nPs3v".into(),
                expires_at: context().now + chrono::Duration::days(7),
            })
            .then_err(UserError::PasswordNotHashed);
        Scenario::<User>::given([created()])
            .at(context().now + chrono::Duration::days(8))
            .when(issue())
            .then_err(UserError::ExpiryInThePast);
    }

    #[test]
    fn an_admin_disables_and_enables_a_user() {
        Scenario::<User>::given([created()])
            .when(UserCommand::Disable)
            .then([
                UserEvent::Disabled,
                sessions_ended(AccessEndReason::Disabled, None),
            ]);
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::Enable)
            .then([UserEvent::Enabled]);
    }

    #[test]
    fn an_admin_unlocks_an_existing_person_even_a_disabled_one() {
        Scenario::<User>::given([created()])
            .when(UserCommand::Unlock)
            .then([UserEvent::Unlocked]);
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::Unlock)
            .then([UserEvent::Unlocked]);
        Scenario::<User>::given([])
            .when(UserCommand::Unlock)
            .then_err(UserError::NotFound);
    }

    #[test]
    fn disabling_twice_or_enabling_an_active_user_is_refused() {
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::Disable)
            .then_err(UserError::AlreadyDisabled);
        Scenario::<User>::given([created()])
            .when(UserCommand::Enable)
            .then_err(UserError::AlreadyEnabled);
    }

    #[test]
    fn events_round_trip_through_the_envelope() {
        for event in [created(), issued(), UserEvent::Disabled, UserEvent::Enabled] {
            let recorded = recorded(stream(Uuid::nil()), &event);
            assert_eq!(UserEvent::decode(&recorded).unwrap(), Some(event));
        }
    }

    #[test]
    fn a_password_changed_while_signed_in_ends_the_other_sessions() {
        Scenario::<User>::given([created()])
            .when(UserCommand::ChangePassword {
                password_hash: NEW_HASH.into(),
                end_sessions: EndSessions::AllExcept("this-one".into()),
            })
            .then([
                UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: NEW_HASH.into(),
                }),
                sessions_ended(AccessEndReason::PasswordChanged, Some("this-one".into())),
            ]);
    }

    #[test]
    fn signing_out_everywhere_ends_every_session_or_all_but_one() {
        Scenario::<User>::given([created()])
            .when(UserCommand::SignOut { except_sid: None })
            .then([sessions_ended(AccessEndReason::SignedOut, None)]);
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::SignOut {
                except_sid: Some("kept".into()),
            })
            .then([sessions_ended(
                AccessEndReason::SignedOut,
                Some("kept".into()),
            )]);
        Scenario::<User>::given([])
            .when(UserCommand::SignOut { except_sid: None })
            .then_err(UserError::NotFound);
    }

    #[test]
    fn disabling_forgets_every_trusted_device_and_ends_every_session() {
        use crate::mfa::{DeviceForgotten, DeviceTrusted, TotpEnrolled};
        let enrolled = UserEvent::Mfa(MfaEvent::TotpEnrolled(TotpEnrolled {
            app_name: "Phone".into(),
            encrypted_secret: "a.b.c.d.e".into(),
            enrolled_at: context().now,
        }));
        let trusted = UserEvent::Mfa(MfaEvent::DeviceTrusted(DeviceTrusted {
            device_id_hash: "d".repeat(64),
            label: "Firefox on Linux".into(),
            expires_at: context().now + chrono::Duration::days(30),
        }));
        Scenario::<User>::given([created(), enrolled, trusted])
            .when(UserCommand::Disable)
            .then([
                UserEvent::Disabled,
                UserEvent::Mfa(MfaEvent::DeviceForgotten(DeviceForgotten {
                    device_id_hash: "d".repeat(64),
                    reason: ForgetReason::AccountDisabled,
                })),
                sessions_ended(AccessEndReason::Disabled, None),
            ]);
    }

    #[test]
    fn the_sessions_ended_fact_keeps_its_stored_shape() {
        let event = sessions_ended(AccessEndReason::PasswordChanged, Some("s".into()));
        assert_eq!(event.event_type(), "user.sessions.ended");
        assert_eq!(
            event.to_data(),
            r#"{"reason":"password_changed","except_sid":"s"}"#
        );
        let without = sessions_ended(AccessEndReason::Disabled, None);
        assert_eq!(without.to_data(), r#"{"reason":"disabled"}"#);
    }

    #[test]
    fn an_admin_changes_a_name_and_an_address_in_one_append() {
        let king = Email::parse("king@example.org").unwrap();
        let renamed = UserEvent::NameChanged(NameChanged {
            before: "Ada Lovelace".into(),
            after: "Ada King".into(),
        });
        let moved = UserEvent::EmailChanged(EmailChanged {
            org_id: Uuid::max(),
            before: Email::parse("ada@example.org").unwrap(),
            after: king.clone(),
        });
        Scenario::<User>::given([created()])
            .when(UserCommand::ChangeProfile {
                name: Some(" Ada King ".into()),
                email: Some(king.clone()),
            })
            .then([renamed.clone(), moved.clone()]);
        let (claims, releases) = User::unique_keys(&moved);
        assert_eq!(claims, vec![email_key(Uuid::max(), &king)]);
        assert_eq!(
            releases,
            vec![email_key(
                Uuid::max(),
                &Email::parse("ada@example.org").unwrap()
            )]
        );
        // The current values are the changed ones.
        Scenario::<User>::given([created(), renamed, moved])
            .when(UserCommand::ChangeProfile {
                name: Some("Ada King".into()),
                email: Some(king),
            })
            .then_err(UserError::Profile(ProfileError::Unchanged));
    }

    fn directory() -> Directory {
        Directory {
            external_id: Some("00u1".into()),
            name: NameParts {
                given_name: Some("Ada".into()),
                ..NameParts::default()
            },
            emails: Vec::new(),
        }
    }

    fn account() -> UserCreated {
        match created() {
            UserEvent::Created(created) => created,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_provisioning_system_creates_a_person_with_their_directory_attributes_at_once() {
        Scenario::<User>::given([])
            .when(UserCommand::CreateProvisioned {
                account: account(),
                directory: directory(),
            })
            .then([
                created(),
                UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                    before: Directory::default(),
                    after: directory(),
                })),
            ]);
        Scenario::<User>::given([])
            .when(UserCommand::CreateProvisioned {
                account: account(),
                directory: Directory::default(),
            })
            .then([created()]);
        let mut too_long = directory();
        too_long.external_id = Some("x".repeat(directory::MAX_TEXT + 1));
        Scenario::<User>::given([])
            .when(UserCommand::CreateProvisioned {
                account: account(),
                directory: too_long,
            })
            .then_err(UserError::Directory(DirectoryError::InvalidText(
                "externalId",
            )));
    }

    #[test]
    fn provisioning_records_what_changes_in_one_append_and_active_false_ends_access() {
        let king = Email::parse("king@example.org").unwrap();
        Scenario::<User>::given([created()])
            .when(UserCommand::Provision(Provision {
                name: Some("Ada Lovelace".into()),
                email: Some(king.clone()),
                directory: Some(directory()),
                active: Some(false),
            }))
            .then([
                UserEvent::EmailChanged(EmailChanged {
                    org_id: Uuid::max(),
                    before: Email::parse("ada@example.org").unwrap(),
                    after: king,
                }),
                UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                    before: Directory::default(),
                    after: directory(),
                })),
                UserEvent::Disabled,
                sessions_ended(AccessEndReason::Disabled, None),
            ]);
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(UserCommand::Provision(Provision {
                active: Some(true),
                ..Provision::default()
            }))
            .then([UserEvent::Enabled]);
        Scenario::<User>::given([created()])
            .when(UserCommand::Provision(Provision {
                name: Some("Ada Lovelace".into()),
                directory: Some(Directory::default()),
                active: Some(true),
                ..Provision::default()
            }))
            .then_err(UserError::Profile(ProfileError::Unchanged));
    }

    #[test]
    fn removing_directory_attributes_records_them_before_and_none_after() {
        let set = UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
            before: Directory::default(),
            after: directory(),
        }));
        Scenario::<User>::given([created(), set])
            .when(UserCommand::Provision(Provision {
                directory: Some(Directory::default()),
                ..Provision::default()
            }))
            .then([UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                before: directory(),
                after: Directory::default(),
            }))]);
    }

    #[test]
    fn a_deleted_person_frees_their_address_ends_every_session_and_takes_no_command() {
        let deleted = UserEvent::Deleted(UserDeleted {
            org_id: Uuid::max(),
            email: Email::parse("ada@example.org").unwrap(),
        });
        Scenario::<User>::given([created()])
            .when(UserCommand::Delete)
            .then([
                deleted.clone(),
                sessions_ended(AccessEndReason::Deleted, None),
            ]);
        let (claims, releases) = User::unique_keys(&deleted);
        assert!(claims.is_empty());
        assert_eq!(
            releases,
            vec![UniqueKey(format!("email:{}:ada@example.org", Uuid::max()))]
        );
        for command in [
            UserCommand::Delete,
            UserCommand::Enable,
            UserCommand::Unlock,
        ] {
            Scenario::<User>::given([created(), deleted.clone()])
                .when(command)
                .then_err(UserError::NotFound);
        }
        Scenario::<User>::given([created(), deleted.clone()])
            .when(create())
            .then_err(UserError::AlreadyExists);
        // Deleted is not erased: their personal data can still be destroyed.
        Scenario::<User>::given([created(), deleted.clone()])
            .when(UserCommand::Erase)
            .then([erased()]);
        Scenario::<User>::given([created(), deleted, erased()])
            .when(UserCommand::Erase)
            .then_err(UserError::Erased);
    }
}
