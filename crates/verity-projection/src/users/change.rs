//! One event of a person's stream, decoded once: both folds — the people every node keeps
//! ([`Users`](super::Users)) and one person's whole record ([`UserView`](super::UserView))
//! — apply the same decoded change.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;
use verity_domain::mfa::{
    USER_DEVICE_FORGOTTEN, USER_DEVICE_TRUSTED, USER_RECOVERY_CODE_USED,
    USER_RECOVERY_CODES_GENERATED, USER_TOTP_ENROLLED, USER_TOTP_RESET,
};
use verity_domain::signin::USER_SIGNIN_SUCCEEDED;
use verity_domain::user::profile::{
    EmailChanged, NameChanged, USER_EMAIL_CHANGED, USER_NAME_CHANGED,
};
use verity_domain::user::{
    Directory, DirectoryChanged, USER_CREATED, USER_DELETED, USER_DIRECTORY_CHANGED, USER_DISABLED,
    USER_ENABLED, USER_ERASED, USER_PASSWORD_CHANGED, USER_TEMPORARY_PASSWORD_ISSUED,
    USER_UNLOCKED,
};
use verity_domain::{DecodeError, Email, RecordedEvent};

use crate::decode;
use crate::mfa::Change;

/// The prefix of user streams (`user-<uuid>`); events after `user.created` carry the
/// user's id only in their stream name.
pub(super) const STREAM_PREFIX: &str = "user-";

/// What an event of a person's stream changes.
pub(super) enum PersonChange {
    /// `user.created`.
    Created(Box<Created>),
    /// `user.password.changed`: a password they chose.
    PasswordChosen { hash: String },
    /// `user.temporary_password.issued`: an admin's temporary password.
    TemporaryPassword {
        hash: String,
        expires_at: DateTime<Utc>,
    },
    /// `user.disabled` (true) or `user.enabled` (false).
    Disabled(bool),
    /// `user.unlocked`: the locks are outside the log; only the time moves.
    Unlocked,
    /// `user.name.changed`.
    Renamed(String),
    /// `user.email.changed`.
    NewEmail(Email),
    /// `user.signin.succeeded`.
    SignedIn,
    /// `user.erased` or `user.deleted`: the person leaves every list and lookup.
    Removed,
    /// `user.directory.changed`.
    Directory(Directory),
    /// A second-factor event.
    Mfa(Change),
}

/// `user.created`, read and checked.
pub(super) struct Created {
    pub(super) user_id: Uuid,
    pub(super) org_id: Uuid,
    pub(super) email: Email,
    pub(super) name: String,
    pub(super) temporary_password_hash: String,
    pub(super) temporary_password_expires_at: DateTime<Utc>,
}

/// The part of `user.created` the folds need. The email is borrowed from the stored text
/// when it has no escapes, and normalised once by [`Email::parse`].
#[derive(Deserialize)]
struct CreatedPayload<'event> {
    user_id: Uuid,
    org_id: Uuid,
    #[serde(borrow)]
    email: Cow<'event, str>,
    name: String,
    temporary_password_hash: String,
    temporary_password_expires_at: DateTime<Utc>,
}

/// The payload of `user.password.changed`.
#[derive(Deserialize)]
struct PasswordChanged {
    password_hash: String,
}

/// The payload of `user.temporary_password.issued`.
#[derive(Deserialize)]
struct TemporaryPasswordIssued {
    temporary_password_hash: String,
    expires_at: DateTime<Utc>,
}

impl PersonChange {
    /// The person an event of a user stream is about and what it changes; `Ok(None)` for
    /// events of other streams and of types that change nothing here. Fails, changing
    /// nothing, on an event it cannot read.
    pub(super) fn decode(event: &RecordedEvent) -> Result<Option<(Uuid, Self)>, DecodeError> {
        if !event.stream.starts_with(STREAM_PREFIX) {
            return Ok(None);
        }
        let change = match event.event_type.as_str() {
            USER_CREATED => {
                let created: CreatedPayload<'_> = decode::payload(event)?;
                let email = Email::parse(&created.email)
                    .map_err(|error| decode::invalid(event, error.to_string()))?;
                return Ok(Some((
                    created.user_id,
                    Self::Created(Box::new(Created {
                        user_id: created.user_id,
                        org_id: created.org_id,
                        email,
                        name: created.name,
                        temporary_password_hash: created.temporary_password_hash,
                        temporary_password_expires_at: created.temporary_password_expires_at,
                    })),
                )));
            }
            USER_PASSWORD_CHANGED => {
                let changed: PasswordChanged = decode::payload(event)?;
                Self::PasswordChosen {
                    hash: changed.password_hash,
                }
            }
            USER_TEMPORARY_PASSWORD_ISSUED => {
                let issued: TemporaryPasswordIssued = decode::payload(event)?;
                Self::TemporaryPassword {
                    hash: issued.temporary_password_hash,
                    expires_at: issued.expires_at,
                }
            }
            USER_DISABLED | USER_ENABLED => {
                decode::check_schema(event)?;
                Self::Disabled(event.event_type == USER_DISABLED)
            }
            USER_UNLOCKED => {
                decode::check_schema(event)?;
                Self::Unlocked
            }
            USER_NAME_CHANGED => Self::Renamed(decode::payload::<NameChanged>(event)?.after),
            USER_EMAIL_CHANGED => Self::NewEmail(decode::payload::<EmailChanged>(event)?.after),
            USER_SIGNIN_SUCCEEDED => {
                decode::check_schema(event)?;
                Self::SignedIn
            }
            USER_ERASED | USER_DELETED => {
                decode::check_schema(event)?;
                Self::Removed
            }
            USER_DIRECTORY_CHANGED => {
                Self::Directory(decode::payload::<DirectoryChanged>(event)?.after)
            }
            USER_TOTP_ENROLLED
            | USER_RECOVERY_CODES_GENERATED
            | USER_RECOVERY_CODE_USED
            | USER_DEVICE_TRUSTED
            | USER_DEVICE_FORGOTTEN
            | USER_TOTP_RESET => match Change::decode(event)? {
                Some(change) => Self::Mfa(change),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let user_id = decode::stream_id(event, STREAM_PREFIX)?;
        Ok(Some((user_id, change)))
    }
}

/// The person whose stream an event is in, if it is a user stream.
pub(super) fn stream_person(event: &RecordedEvent) -> Option<Uuid> {
    event
        .stream
        .strip_prefix(STREAM_PREFIX)
        .and_then(|id| Uuid::try_parse(id).ok())
}
