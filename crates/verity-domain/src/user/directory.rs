//! What a provisioning system (SCIM) keeps about a person besides their name and sign-in
//! address: its own id for them (`externalId`), the parts of their name, and their other
//! addresses ([`Directory`]). `user.directory.changed` records each change with the
//! whole value before and after. Every attribute is optional; the rules are limits that
//! keep the log and the answers small.

use serde::{Deserialize, Serialize};

use crate::email::Email;

/// Stored type of [`DirectoryChanged`].
pub const USER_DIRECTORY_CHANGED: &str = "user.directory.changed";

/// Longest `externalId`, name part or address type accepted.
pub const MAX_TEXT: usize = 256;

/// Most other addresses a person may have.
pub const MAX_EMAILS: usize = 20;

/// The parts of a person's name (SCIM's `name`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameParts {
    /// The whole name as it is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// The given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Titles before the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// Titles after the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

impl NameParts {
    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|part| part.is_none())
    }

    fn parts(&self) -> [&Option<String>; 6] {
        [
            &self.formatted,
            &self.family_name,
            &self.given_name,
            &self.middle_name,
            &self.honorific_prefix,
            &self.honorific_suffix,
        ]
    }
}

/// Another address of the person (SCIM's `emails`): never one they sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherEmail {
    /// The address, normalised.
    pub value: Email,
    /// What kind of address (`work`, `home`, `other`...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether the provisioning system calls it the primary one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

/// What a provisioning system keeps about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// The provisioning system's own id for the person (case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The parts of their name.
    #[serde(default, skip_serializing_if = "NameParts::is_empty")]
    pub name: NameParts,
    /// Their other addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<OtherEmail>,
}

/// Payload of `user.directory.changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryChanged {
    /// The attributes before.
    pub before: Directory,
    /// The attributes after.
    pub after: Directory,
}

/// Why directory attributes are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// An attribute that is empty or too long.
    #[error("{0} must have 1 to {MAX_TEXT} characters")]
    InvalidText(&'static str),
    /// Too many other addresses.
    #[error("a person may have at most {MAX_EMAILS} other addresses")]
    TooManyEmails,
    /// More than one address called primary.
    #[error("at most one address may be primary")]
    SeveralPrimary,
}

impl Directory {
    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.external_id.is_none() && self.name.is_empty() && self.emails.is_empty()
    }

    /// Checks the limits.
    pub fn check(&self) -> Result<(), DirectoryError> {
        let text = |what: &'static str, value: &Option<String>| match value {
            Some(value) if value.trim().is_empty() || value.chars().count() > MAX_TEXT => {
                Err(DirectoryError::InvalidText(what))
            }
            _ => Ok(()),
        };
        text("externalId", &self.external_id)?;
        for part in self.name.parts() {
            text("a part of the name", part)?;
        }
        if self.emails.len() > MAX_EMAILS {
            return Err(DirectoryError::TooManyEmails);
        }
        for email in &self.emails {
            text("an address's type", &email.kind)?;
        }
        if self.emails.iter().filter(|email| email.primary).count() > 1 {
            return Err(DirectoryError::SeveralPrimary);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(value: &str, primary: bool) -> OtherEmail {
        OtherEmail {
            value: Email::parse(value).unwrap(),
            kind: Some("work".into()),
            primary,
        }
    }

    #[test]
    fn limits_keep_the_attributes_small() {
        let mut directory = Directory {
            external_id: Some("00u1".into()),
            name: NameParts {
                given_name: Some("Ada".into()),
                ..NameParts::default()
            },
            emails: vec![other("a@work.example", true)],
        };
        assert_eq!(directory.check(), Ok(()));
        directory.emails.push(other("b@work.example", true));
        assert_eq!(directory.check(), Err(DirectoryError::SeveralPrimary));
        directory.emails = (0..=MAX_EMAILS)
            .map(|n| other(&format!("a{n}@work.example"), false))
            .collect();
        assert_eq!(directory.check(), Err(DirectoryError::TooManyEmails));
        directory.emails.clear();
        directory.external_id = Some(" ".into());
        assert_eq!(
            directory.check(),
            Err(DirectoryError::InvalidText("externalId"))
        );
        directory.external_id = None;
        directory.name.family_name = Some("x".repeat(MAX_TEXT + 1));
        assert!(directory.check().is_err());
    }

    #[test]
    fn the_payload_keeps_its_stored_shape_and_leaves_out_what_is_unassigned() {
        let changed = DirectoryChanged {
            before: Directory::default(),
            after: Directory {
                external_id: Some("00u1".into()),
                name: NameParts {
                    family_name: Some("Lovelace".into()),
                    ..NameParts::default()
                },
                emails: vec![other("Ada@Home.example", false)],
            },
        };
        assert_eq!(
            serde_json::to_string(&changed).unwrap(),
            r#"{"before":{},"after":{"external_id":"00u1","name":{"family_name":"Lovelace"},"emails":[{"value":"ada@home.example","type":"work"}]}}"#
        );
    }
}
