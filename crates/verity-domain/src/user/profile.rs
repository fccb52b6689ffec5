//! A person's name and sign-in address as an admin changes them: `user.name.changed` and
//! `user.email.changed`, each carrying the value before and after, so the log says what
//! changed without replaying anything. The rules here are pure functions of the current
//! and the asked-for value; the [`User`](super::User) aggregate records their results.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::email::Email;

/// Stored type of [`NameChanged`].
pub const USER_NAME_CHANGED: &str = "user.name.changed";
/// Stored type of [`EmailChanged`].
pub const USER_EMAIL_CHANGED: &str = "user.email.changed";

/// Longest display name accepted.
pub const MAX_NAME: usize = 200;

/// Payload of `user.name.changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameChanged {
    /// The name before.
    pub before: String,
    /// The name after (trimmed).
    pub after: String,
}

/// Payload of `user.email.changed`. The organization is there because the address is
/// unique within it: the change claims the new address and releases the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChanged {
    /// The person's organization.
    pub org_id: Uuid,
    /// The address before.
    pub before: Email,
    /// The address after (normalised).
    pub after: Email,
}

/// Why a change of name or address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Empty or overlong display name.
    #[error("a name must have 1 to {MAX_NAME} characters")]
    InvalidName,
    /// The values asked for are the current ones: there is nothing to record.
    #[error("nothing changes: those are already their name and address")]
    Unchanged,
}

/// `name` trimmed, if it is a name a person may have.
pub fn valid_name(name: &str) -> Result<&str, ProfileError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ProfileError::InvalidName);
    }
    Ok(name)
}

/// A person's name and address as they are now.
#[derive(Debug, Clone, Copy)]
pub struct Current<'a> {
    /// Their organization (the address is unique within it).
    pub org_id: Uuid,
    /// Their display name.
    pub name: &'a str,
    /// Their address.
    pub email: &'a Email,
}

/// What changes when an admin asks for `name` and `email` (either may be left as it is):
/// a `user.name.changed` and a `user.email.changed` for the values that differ from the
/// current ones. Refused when nothing would change, so nothing empty is recorded.
pub fn change(
    current: Current<'_>,
    name: Option<&str>,
    email: Option<&Email>,
) -> Result<(Option<NameChanged>, Option<EmailChanged>), ProfileError> {
    let name = match name {
        Some(asked) => Some(valid_name(asked)?).filter(|after| *after != current.name),
        None => None,
    };
    let email = email.filter(|after| *after != current.email);
    if name.is_none() && email.is_none() {
        return Err(ProfileError::Unchanged);
    }
    Ok((
        name.map(|after| NameChanged {
            before: current.name.to_owned(),
            after: after.to_owned(),
        }),
        email.map(|after| EmailChanged {
            org_id: current.org_id,
            before: current.email.clone(),
            after: after.clone(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Email {
        Email::parse("ada@example.org").unwrap()
    }

    fn current(email: &Email) -> Current<'_> {
        Current {
            org_id: Uuid::from_u128(1),
            name: "Ada",
            email,
        }
    }

    #[test]
    fn a_name_is_trimmed_and_must_fit() {
        let email = ada();
        let (name, address) = change(current(&email), Some("  Ada King "), None).unwrap();
        assert_eq!(
            name,
            Some(NameChanged {
                before: "Ada".into(),
                after: "Ada King".into()
            })
        );
        assert_eq!(address, None);
        for bad in ["   ".to_owned(), "x".repeat(MAX_NAME + 1)] {
            assert_eq!(
                change(current(&email), Some(&bad), None),
                Err(ProfileError::InvalidName)
            );
        }
    }

    #[test]
    fn only_what_differs_is_recorded_and_nothing_at_all_is_refused() {
        let email = ada();
        let king = Email::parse("King@Example.org").unwrap();
        let (name, address) = change(current(&email), Some(" Ada "), Some(&king)).unwrap();
        assert_eq!(name, None, "the same name, trimmed");
        assert_eq!(address.unwrap().after.as_str(), "king@example.org");
        assert_eq!(
            change(
                current(&email),
                Some("Ada"),
                Some(&Email::parse("ADA@example.org").unwrap())
            ),
            Err(ProfileError::Unchanged)
        );
        assert_eq!(
            change(current(&email), None, None),
            Err(ProfileError::Unchanged)
        );
    }

    #[test]
    fn the_payloads_keep_their_stored_shape() {
        let changed = EmailChanged {
            org_id: Uuid::nil(),
            before: Email::parse("a@example.org").unwrap(),
            after: Email::parse("b@example.org").unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&changed).unwrap(),
            format!(
                r#"{{"org_id":"{}","before":"a@example.org","after":"b@example.org"}}"#,
                Uuid::nil()
            )
        );
    }
}
