//! Personal data in the log (docs/adr/0010-per-person-encryption.md): which fields of
//! which events hold it, whose it is, and the port of the keys it is sealed with.
//!
//! The log keeps personal fields sealed with a key of the person they are about; erasing
//! the person destroys the key, and the chain, which covers the sealed bytes, still
//! verifies. The sealing itself (a cipher, random nonces) is not pure and lives in
//! `verity-store`; this module only says what is personal, as a data format does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::store::{StoreError, UniqueKey};

/// How an erased text field reads.
pub const ERASED_TEXT: &str = "[erased]";

/// How an erased address reads: a valid address (the payload types still parse) that
/// can belong to nobody (`.invalid` is reserved, RFC 2606).
pub const ERASED_EMAIL: &str = "erased@erased.invalid";

/// What a personal field holds, so that an erased one still reads as its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An email address.
    Email,
    /// Any other text (a name, an IP address, a User-Agent, a device label).
    Text,
}

impl FieldKind {
    /// The value an erased field of this kind reads as.
    pub fn erased(self) -> &'static str {
        match self {
            Self::Email => ERASED_EMAIL,
            Self::Text => ERASED_TEXT,
        }
    }
}

/// A personal field of an event's payload: its path from the payload's root (a string
/// value, or absent, or null); `*` stands for each item of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalField {
    /// Member names from the payload's root.
    pub path: &'static [&'static str],
    /// What it holds.
    pub kind: FieldKind,
}

const fn text(path: &'static [&'static str]) -> PersonalField {
    PersonalField {
        path,
        kind: FieldKind::Text,
    }
}

const fn email(path: &'static [&'static str]) -> PersonalField {
    PersonalField {
        path,
        kind: FieldKind::Email,
    }
}

/// Where a request came from: the browser's address and User-Agent (`signin::Origin`,
/// flattened into the payload).
const ORIGIN: [PersonalField; 2] = [text(&["ip"]), text(&["user_agent"])];

/// A person's directory attributes (`user::directory::Directory`) under `root`.
macro_rules! directory {
    ($root:literal) => {
        [
            text(&[$root, "external_id"]),
            text(&[$root, "name", "formatted"]),
            text(&[$root, "name", "family_name"]),
            text(&[$root, "name", "given_name"]),
            text(&[$root, "name", "middle_name"]),
            text(&[$root, "name", "honorific_prefix"]),
            text(&[$root, "name", "honorific_suffix"]),
            email(&[$root, "emails", "*", "value"]),
        ]
    };
}

const CREATED: [PersonalField; 10] = {
    let [a, b, c, d, e, f, g, h] = directory!("directory");
    [email(&["email"]), text(&["name"]), a, b, c, d, e, f, g, h]
};

const DIRECTORY_CHANGED: [PersonalField; 16] = {
    let [a, b, c, d, e, f, g, h] = directory!("before");
    let [i, j, k, l, m, n, o, p] = directory!("after");
    [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]
};

/// The personal fields of each event type that has any. A new payload field about a
/// person (an address, a phone number, a directory attribute) must be listed here, or it
/// is stored in clear and survives erasure.
pub const FIELDS: &[(&str, &[PersonalField])] = &[
    ("user.created", &CREATED),
    ("user.directory.changed", &DIRECTORY_CHANGED),
    ("user.deleted", &[email(&["email"])]),
    ("user.name.changed", &[text(&["before"]), text(&["after"])]),
    (
        "user.email.changed",
        &[email(&["before"]), email(&["after"])],
    ),
    ("user.erased", &[email(&["email"])]),
    ("user.signin.succeeded", &ORIGIN),
    (
        "user.signin.failed",
        &[email(&["email"]), text(&["ip"]), text(&["user_agent"])],
    ),
    ("user.signin.locked", &ORIGIN),
    ("user.device.trusted", &[text(&["label"])]),
    ("session.started", &ORIGIN),
];

/// The personal fields of `event_type` (none for most types).
pub fn fields(event_type: &str) -> &'static [PersonalField] {
    FIELDS
        .iter()
        .find(|(name, _)| *name == event_type)
        .map_or(&[], |(_, fields)| fields)
}

/// The prefix of the streams that belong to one person.
const USER_STREAM: &str = "user-";

/// Whose data an event of `stream` with payload `data` holds: the person of a
/// `user-<id>` stream, or else the payload's `user_id` (a session's start). `None` for
/// events about nobody in particular (a failed sign-in for an address without an
/// account), which are not sealed.
pub fn subject(stream: &str, data: &Value) -> Option<Uuid> {
    if let Some(id) = stream.strip_prefix(USER_STREAM) {
        return Uuid::try_parse(id).ok();
    }
    data.get("user_id")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::try_parse(id).ok())
}

/// Whether the client address in an event's metadata is the subject's own: they acted
/// themselves (or the system recorded what their browser did). An admin's address stays
/// the admin's.
pub fn metadata_address_is_subjects(actor: &crate::Actor, subject: Uuid) -> bool {
    match actor {
        crate::Actor::User { user_id, .. } => Uuid::try_parse(user_id).ok() == Some(subject),
        crate::Actor::System => true,
        crate::Actor::Cli { .. } | crate::Actor::Client { .. } | crate::Actor::ScimToken { .. } => {
            false
        }
    }
}

/// A person's data key as the key store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredKey {
    /// The key, sealed under the master key.
    Sealed(Vec<u8>),
    /// The person was erased then: their key is gone.
    Erased(DateTime<Utc>),
}

/// A run of stored keys in the order they were added ([`PersonKeys::person_keys_in_order`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeysInOrder {
    /// Each person's stored key, in the order they were added.
    pub keys: Vec<(Uuid, StoredKey)>,
    /// The place of the run's last key, to read the next run after; `None` when the run
    /// is empty.
    pub last: Option<u64>,
}

/// Where the persons' data keys live: outside the chain, so that destroying one changes
/// no event. The same database as the log.
#[async_trait]
pub trait PersonKeys: Send + Sync + 'static {
    /// The stored keys of these people; a person without a key is absent.
    async fn person_keys(&self, subjects: &[Uuid]) -> Result<Vec<(Uuid, StoredKey)>, StoreError>;

    /// Up to `limit` stored keys in the order they were added, after the one at `after`
    /// in that order (0: from the first), with the place of the run's last. People first
    /// appear in the log in about this order, so a reader of the log from its start reads
    /// their keys a run at a time instead of looking each one up. The places are a hint,
    /// not a promise: a compaction of the database may renumber them.
    async fn person_keys_in_order(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<KeysInOrder, StoreError>;

    /// Stores `sealed` as the person's key unless they already have one (or were erased),
    /// and returns what is stored: several processes agree on one key. A key made for a
    /// person's first sealed append goes with that append instead
    /// ([`AppendRequest::person_keys`](crate::AppendRequest::person_keys)), in its
    /// transaction; this serves keys made on their own (the master key's check).
    async fn add_person_key(&self, subject: Uuid, sealed: Vec<u8>)
    -> Result<StoredKey, StoreError>;

    /// Destroys the person's key for good, leaving when it was destroyed.
    async fn erase_person_key(&self, subject: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// The unique keys held that start with `prefix`.
    async fn unique_keys_like(&self, prefix: &str) -> Result<Vec<UniqueKey>, StoreError>;

    /// Renames held unique keys (old, new), all or none.
    async fn rename_unique_keys(
        &self,
        renames: &[(UniqueKey, UniqueKey)],
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_subject_is_the_persons_stream_or_the_payloads_person() {
        let id = Uuid::from_u128(7);
        assert_eq!(subject(&format!("user-{id}"), &json!({})), Some(id));
        assert_eq!(
            subject("session-s1", &json!({"user_id": id.to_string()})),
            Some(id)
        );
        assert_eq!(subject("signin-unknown", &json!({"user_id": null})), None);
        assert_eq!(subject("org-x", &json!({})), None);
    }

    #[test]
    fn personal_fields_are_listed_by_type() {
        assert_eq!(fields("user.created").len(), 10);
        assert_eq!(fields("user.directory.changed").len(), 16);
        assert_eq!(fields("user.disabled"), &[]);
        assert_eq!(FieldKind::Email.erased(), ERASED_EMAIL);
        assert!(crate::Email::parse(ERASED_EMAIL).is_ok());
    }

    #[test]
    fn only_the_persons_own_address_is_theirs() {
        let id = Uuid::from_u128(7);
        let themselves = crate::Actor::User {
            user_id: id.to_string(),
            sid: None,
        };
        let admin = crate::Actor::User {
            user_id: Uuid::from_u128(8).to_string(),
            sid: None,
        };
        assert!(metadata_address_is_subjects(&themselves, id));
        assert!(!metadata_address_is_subjects(&admin, id));
        assert!(!metadata_address_is_subjects(
            &crate::Actor::Cli { os_user: None },
            id
        ));
    }
}
