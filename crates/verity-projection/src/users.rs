//! The users read model: every person by id and by email within their organization.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use verity_domain::mfa::{
    USER_DEVICE_FORGOTTEN, USER_DEVICE_TRUSTED, USER_RECOVERY_CODE_USED,
    USER_RECOVERY_CODES_GENERATED, USER_TOTP_ENROLLED, USER_TOTP_RESET,
};
use verity_domain::signin::USER_SIGNIN_SUCCEEDED;
use verity_domain::user::USER_TEMPORARY_PASSWORD_ISSUED;
use verity_domain::user::profile::{
    EmailChanged, NameChanged, USER_EMAIL_CHANGED, USER_NAME_CHANGED,
};
use verity_domain::user::{Directory, DirectoryChanged, USER_DELETED, USER_DIRECTORY_CHANGED};
use verity_domain::user::{
    USER_CREATED, USER_DISABLED, USER_ENABLED, USER_ERASED, USER_PASSWORD_CHANGED, USER_UNLOCKED,
};
use verity_domain::{DecodeError, Email, RecordedEvent};

use crate::decode;
use crate::mfa::{Change, MfaView};
use crate::people_text::{PeopleText, TextMatches, TextQuery};
use crate::projection::Projection;

/// The prefix of user streams (`user-<uuid>`); events after `user.created` carry the
/// user's id only in their stream name.
const STREAM_PREFIX: &str = "user-";

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

/// Every person, by id and by (organization, normalised email), and the searchable text
/// of each organization's people.
///
/// Serialised as the list of views only; the indexes are rebuilt when a snapshot is read,
/// so they cannot disagree with the views.
#[derive(Debug, Clone, Default)]
pub struct Users {
    /// Boxed: the table stays small (a pointer per person), so growing it while a million
    /// events fold copies megabytes, not the views (docs/performance.md, "Replay").
    by_id: HashMap<Uuid, Box<UserView>>,
    /// Per organization, email to user id; ordered, so listing by email needs no sort.
    by_email: HashMap<Uuid, BTreeMap<Email, Uuid>>,
    /// "Search users": addresses and names in one buffer per organization.
    text: PeopleText,
}

/// Two models are equal when they hold the same people; the indexes follow from them.
impl PartialEq for Users {
    fn eq(&self, other: &Self) -> bool {
        self.by_id == other.by_id && self.by_email == other.by_email
    }
}

impl Eq for Users {}

/// The part of `user.created` this model needs. The email is borrowed from the stored
/// text when it has no escapes, and normalised once by [`Email::parse`].
#[derive(Deserialize)]
struct Created<'event> {
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

impl Users {
    /// The person with this id.
    pub fn get(&self, user_id: Uuid) -> Option<&UserView> {
        self.by_id.get(&user_id).map(AsRef::as_ref)
    }

    /// The person with this address in this organization.
    pub fn find_by_email(&self, org_id: Uuid, email: &Email) -> Option<&UserView> {
        self.by_email
            .get(&org_id)
            .and_then(|emails| emails.get(email))
            .and_then(|user_id| self.by_id.get(user_id))
            .map(AsRef::as_ref)
    }

    /// The people with this address in any organization (one per organization at most):
    /// the sign-in form asks for an email only, so every account with it is a candidate.
    pub fn find_by_email_anywhere(&self, email: &Email) -> Vec<&UserView> {
        self.by_email
            .values()
            .filter_map(|emails| emails.get(email))
            .filter_map(|user_id| self.by_id.get(user_id))
            .map(AsRef::as_ref)
            .collect()
    }

    /// The people of one organization, sorted by email.
    pub fn list_in_org(&self, org_id: Uuid) -> Vec<&UserView> {
        self.in_org_after(org_id, None).collect()
    }

    /// The people of one organization in order of email, from the first address after
    /// `after` (all without one): a page at a time, without listing the rest.
    pub fn in_org_after<'a>(
        &'a self,
        org_id: Uuid,
        after: Option<&Email>,
    ) -> impl Iterator<Item = &'a UserView> + 'a {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |email| Bound::Excluded(email.clone()));
        self.by_email
            .get(&org_id)
            .into_iter()
            .flat_map(move |emails| emails.range((from.clone(), Bound::Unbounded)))
            .filter_map(|(_, user_id)| self.by_id.get(user_id))
            .map(AsRef::as_ref)
    }

    /// The people of one organization whose address or name holds the query's text: how
    /// many, and the first page of them in address order.
    pub fn search_in_org(&self, org_id: Uuid, query: &TextQuery<'_>) -> TextMatches {
        self.text.search(org_id, query)
    }

    /// How many people there are, in all organizations.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is nobody yet.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds (or replaces) a view and keeps the email index in step.
    fn insert(&mut self, view: UserView) {
        if let Some(previous) = self.by_id.get(&view.user_id) {
            self.text.remove(previous.org_id, view.user_id);
            if let Some(emails) = self.by_email.get_mut(&previous.org_id)
                && emails.get(&previous.email) == Some(&view.user_id)
            {
                emails.remove(&previous.email);
            }
        }
        self.by_email
            .entry(view.org_id)
            .or_default()
            .insert(view.email.clone(), view.user_id);
        put_text(&mut self.text, &view);
        self.by_id.insert(view.user_id, Box::new(view));
    }

    /// Takes a person out of every index and the table.
    fn take_out(&mut self, user_id: Uuid) {
        if let Some(view) = self.by_id.remove(&user_id) {
            self.text.remove(view.org_id, user_id);
            if let Some(emails) = self.by_email.get_mut(&view.org_id)
                && emails.get(&view.email) == Some(&user_id)
            {
                emails.remove(&view.email);
            }
        }
    }

    /// The view an event after `user.created` is about, if that user exists.
    fn existing(&mut self, event: &RecordedEvent) -> Result<Option<&mut UserView>, DecodeError> {
        let user_id = decode::stream_id(event, STREAM_PREFIX)?;
        let view = self.by_id.get_mut(&user_id).map(AsMut::as_mut);
        if view.is_none() {
            // The domain refuses commands on users that do not exist, so this is a log
            // written by something else; the fold skips it rather than invent a user.
            tracing::warn!(
                position = event.position,
                event_type = %event.event_type,
                %user_id,
                "event about a user that was never created; skipped"
            );
        }
        Ok(view)
    }

    fn apply_created(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let created: Created<'_> = decode::payload(event)?;
        let email = Email::parse(&created.email)
            .map_err(|error| decode::invalid(event, error.to_string()))?;
        self.insert(UserView {
            user_id: created.user_id,
            org_id: created.org_id,
            email,
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
        Ok(())
    }

    fn apply_directory_changed(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let changed: DirectoryChanged = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.directory = changed.after;
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    /// A deleted person leaves every list and lookup; their events stay in the log.
    fn apply_deleted(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        decode::check_schema(event)?;
        let user_id = decode::stream_id(event, STREAM_PREFIX)?;
        self.take_out(user_id);
        Ok(())
    }

    /// Notes the stream's version on the person every event of their stream is about.
    fn note_version(&mut self, event: &RecordedEvent) {
        if let Some(user_id) = event
            .stream
            .strip_prefix(STREAM_PREFIX)
            .and_then(|id| Uuid::try_parse(id).ok())
            && let Some(view) = self.by_id.get_mut(&user_id)
        {
            view.version = view.version.max(event.version);
        }
    }

    fn apply_signed_in(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        decode::check_schema(event)?;
        if let Some(view) = self.existing(event)? {
            view.last_sign_in = Some(event.recorded_at);
        }
        Ok(())
    }

    fn apply_renamed(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let changed: NameChanged = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.name = changed.after;
            view.updated_at = event.recorded_at;
            let user_id = view.user_id;
            // Borrowed again, field by field: the view and the text are apart.
            if let Some(view) = self.by_id.get(&user_id) {
                put_text(&mut self.text, view);
            }
        }
        Ok(())
    }

    /// A new address moves the person in their organization's email index.
    fn apply_email_changed(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let changed: EmailChanged = decode::payload(event)?;
        let Some(view) = self.existing(event)? else {
            return Ok(());
        };
        let mut moved = view.clone();
        moved.email = changed.after;
        moved.updated_at = event.recorded_at;
        self.insert(moved);
        Ok(())
    }

    /// The locks themselves are outside the log; the view only notes that something
    /// happened to the person.
    fn apply_unlocked(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if let Some(view) = self.existing(event)? {
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    fn apply_mfa(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let Some(change) = Change::decode(event)? else {
            return Ok(());
        };
        if let Some(view) = self.existing(event)? {
            view.mfa.apply(change, event.recorded_at);
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    fn apply_password_changed(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let changed: PasswordChanged = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.password = PasswordState::Chosen {
                hash: changed.password_hash,
                changed_at: event.recorded_at,
            };
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    /// An admin's new temporary password replaces whatever the person signed in with.
    fn apply_temporary_password_issued(
        &mut self,
        event: &RecordedEvent,
    ) -> Result<(), DecodeError> {
        let issued: TemporaryPasswordIssued = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.password = PasswordState::Temporary {
                hash: issued.temporary_password_hash,
                expires_at: issued.expires_at,
            };
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    /// An erased person leaves the model: nothing of them is found, listed or searched.
    fn apply_erased(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        decode::check_schema(event)?;
        let user_id = decode::stream_id(event, STREAM_PREFIX)?;
        self.take_out(user_id);
        Ok(())
    }

    fn apply_disabled(&mut self, event: &RecordedEvent, disabled: bool) -> Result<(), DecodeError> {
        decode::check_schema(event)?;
        if let Some(view) = self.existing(event)? {
            view.disabled = disabled;
            view.updated_at = event.recorded_at;
            let (org_id, user_id) = (view.org_id, view.user_id);
            self.text.set_disabled(org_id, user_id, disabled);
        }
        Ok(())
    }
}

/// Records a person's address, name and status in the searchable text.
fn put_text(text: &mut PeopleText, view: &UserView) {
    text.put(
        view.org_id,
        view.user_id,
        view.email.as_str(),
        &view.name,
        view.disabled,
    );
}

impl Projection for Users {
    const NAME: &'static str = "users";
    const VERSION: u32 = 5;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if event.stream.starts_with(STREAM_PREFIX) {
            self.apply_user_event(event)?;
            self.note_version(event);
        }
        Ok(())
    }
}

impl Users {
    fn apply_user_event(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        match event.event_type.as_str() {
            USER_CREATED => self.apply_created(event),
            USER_PASSWORD_CHANGED => self.apply_password_changed(event),
            USER_TEMPORARY_PASSWORD_ISSUED => self.apply_temporary_password_issued(event),
            USER_DISABLED => self.apply_disabled(event, true),
            USER_ENABLED => self.apply_disabled(event, false),
            USER_UNLOCKED => self.apply_unlocked(event),
            USER_NAME_CHANGED => self.apply_renamed(event),
            USER_EMAIL_CHANGED => self.apply_email_changed(event),
            USER_SIGNIN_SUCCEEDED => self.apply_signed_in(event),
            USER_ERASED => self.apply_erased(event),
            USER_DIRECTORY_CHANGED => self.apply_directory_changed(event),
            USER_DELETED => self.apply_deleted(event),
            USER_TOTP_ENROLLED
            | USER_RECOVERY_CODES_GENERATED
            | USER_RECOVERY_CODE_USED
            | USER_DEVICE_TRUSTED
            | USER_DEVICE_FORGOTTEN
            | USER_TOTP_RESET => self.apply_mfa(event),
            _ => Ok(()),
        }
    }
}

// Snapshots hold one entry per person, so their size is what a snapshot costs in memory
// and I/O (the store keeps a few copies of the bytes while it writes them). An entry is a
// JSON array rather than an object: without the field names, a quarter smaller. Changing
// it means bumping the version of the projections that contain `Users`.

/// A view as a snapshot entry, borrowed for writing.
#[derive(Serialize)]
struct StoredRef<'view>(
    Uuid,                     // user_id
    Uuid,                     // org_id
    &'view Email,             // email
    &'view str,               // name
    bool,                     // disabled
    bool,                     // whether the password was chosen (else temporary)
    &'view str,               // password hash
    DateTime<Utc>,            // expires_at (temporary) or changed_at (chosen)
    DateTime<Utc>,            // created_at
    DateTime<Utc>,            // updated_at
    Option<&'view MfaView>,   // mfa (null when nothing is recorded)
    Option<DateTime<Utc>>,    // last_sign_in
    Option<&'view Directory>, // directory (null when empty)
    u64,                      // version
);

/// A snapshot entry, read back (fields as in [`StoredRef`]).
#[derive(Deserialize)]
struct Stored(
    Uuid,
    Uuid,
    Email,
    String,
    bool,
    bool,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<MfaView>,
    Option<DateTime<Utc>>,
    Option<Directory>,
    u64,
);

impl<'view> StoredRef<'view> {
    fn new(view: &'view UserView) -> Self {
        let (chosen, hash, at) = match &view.password {
            PasswordState::Temporary { hash, expires_at } => (false, hash, *expires_at),
            PasswordState::Chosen { hash, changed_at } => (true, hash, *changed_at),
        };
        Self(
            view.user_id,
            view.org_id,
            &view.email,
            &view.name,
            view.disabled,
            chosen,
            hash,
            at,
            view.created_at,
            view.updated_at,
            (!view.mfa.is_empty()).then_some(&view.mfa),
            view.last_sign_in,
            (!view.directory.is_empty()).then_some(&view.directory),
            view.version,
        )
    }
}

impl From<Stored> for UserView {
    fn from(stored: Stored) -> Self {
        let Stored(
            user_id,
            org_id,
            email,
            name,
            disabled,
            chosen,
            hash,
            at,
            created_at,
            updated_at,
            mfa,
            last_sign_in,
            directory,
            version,
        ) = stored;
        let password = if chosen {
            PasswordState::Chosen {
                hash,
                changed_at: at,
            }
        } else {
            PasswordState::Temporary {
                hash,
                expires_at: at,
            }
        };
        Self {
            user_id,
            org_id,
            email,
            name,
            disabled,
            password,
            created_at,
            updated_at,
            last_sign_in,
            mfa: mfa.unwrap_or_default(),
            directory: directory.unwrap_or_default(),
            version,
        }
    }
}

impl Serialize for Users {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.by_id.values().map(|view| StoredRef::new(view)))
    }
}

/// Reads entries straight into the maps, without a list of them all in between.
struct UsersVisitor;

impl<'de> Visitor<'de> for UsersVisitor {
    type Value = Users;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut entries: A) -> Result<Users, A::Error> {
        let mut users = Users {
            by_id: HashMap::with_capacity(entries.size_hint().unwrap_or(0)),
            ..Users::default()
        };
        while let Some(stored) = entries.next_element::<Stored>()? {
            users.insert(stored.into());
        }
        Ok(users)
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(UsersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent;
    use verity_domain::user::TemporaryPasswordIssued;
    use verity_domain::user::{PasswordChanged, UserCreated, UserEvent, stream};

    use super::*;

    const TEMPORARY: &str = "$argon2id$v=19$m=19456,t=2,p=1$dGVtcG9yYXJ5$dGVtcG9yYXJ5aGFzaA";
    const CHOSEN: &str = "$argon2id$v=19$m=19456,t=2,p=1$Y2hvc2Vu$Y2hvc2VuaGFzaGhhc2g";

    fn at(minute: u64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minute as i64)
    }

    fn email(address: &str) -> Email {
        Email::parse(address).unwrap()
    }

    /// Events as the domain writes them, recorded at minute `position`.
    fn recorded(position: u64, user_id: Uuid, event: &UserEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream(user_id),
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(position),
            hash: String::new(),
        }
    }

    fn created(position: u64, user_id: Uuid, org_id: Uuid, address: &str) -> RecordedEvent {
        recorded(
            position,
            user_id,
            &UserEvent::Created(UserCreated {
                user_id,
                org_id,
                email: email(address),
                name: format!("Person {position}"),
                temporary_password_hash: TEMPORARY.into(),
                temporary_password_expires_at: at(7 * 24 * 60),
            }),
        )
    }

    fn fold(events: &[RecordedEvent]) -> Users {
        let mut users = Users::default();
        for event in events {
            users.apply(event).unwrap();
        }
        users
    }

    const ACME: Uuid = Uuid::from_u128(0xAC);
    const GLOBEX: Uuid = Uuid::from_u128(0x61);
    const ADA: Uuid = Uuid::from_u128(1);
    const BOB: Uuid = Uuid::from_u128(2);

    #[test]
    fn an_erased_person_is_found_nowhere_and_others_stay() {
        let erased = |position, user_id| {
            recorded(
                position,
                user_id,
                &UserEvent::Erased(verity_domain::user::UserErased {
                    org_id: ACME,
                    email: email(verity_domain::personal::ERASED_EMAIL),
                }),
            )
        };
        // Two people erased before their erasure could be read share the erased address.
        let erased_address = verity_domain::personal::ERASED_EMAIL;
        let users = fold(&[
            created(1, ADA, ACME, erased_address),
            created(2, BOB, ACME, erased_address),
            created(3, Uuid::from_u128(3), ACME, "cy@example.org"),
            erased(4, ADA),
            erased(5, BOB),
        ]);
        assert_eq!(users.get(ADA), None);
        assert_eq!(users.get(BOB), None);
        assert_eq!(users.find_by_email(ACME, &email(erased_address)), None);
        assert_eq!(
            users
                .list_in_org(ACME)
                .iter()
                .map(|view| view.email.as_str())
                .collect::<Vec<_>>(),
            ["cy@example.org"]
        );
    }

    #[test]
    fn a_created_user_has_a_temporary_password_and_is_found_by_id_and_email() {
        let users = fold(&[created(1, ADA, ACME, "Ada@Example.org")]);

        let expected = UserView {
            user_id: ADA,
            org_id: ACME,
            email: email("ada@example.org"),
            name: "Person 1".into(),
            disabled: false,
            password: PasswordState::Temporary {
                hash: TEMPORARY.into(),
                expires_at: at(7 * 24 * 60),
            },
            created_at: at(1),
            updated_at: at(1),
            last_sign_in: None,
            mfa: MfaView::default(),
            directory: Directory::default(),
            version: 1,
        };
        assert_eq!(users.get(ADA), Some(&expected));
        assert_eq!(
            users.find_by_email(ACME, &email(" ADA@example.ORG")),
            Some(&expected)
        );
        assert_eq!(users.find_by_email(GLOBEX, &email("ada@example.org")), None);
        assert_eq!(users.len(), 1);
    }

    #[test]
    fn the_same_address_in_two_organizations_is_two_people() {
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            created(2, BOB, GLOBEX, "ada@example.org"),
        ]);
        let address = email("ada@example.org");
        assert_eq!(
            users.find_by_email(ACME, &address).map(|u| u.user_id),
            Some(ADA)
        );
        assert_eq!(
            users.find_by_email(GLOBEX, &address).map(|u| u.user_id),
            Some(BOB)
        );
    }

    #[test]
    fn people_are_listed_per_organization_by_email() {
        let users = fold(&[
            created(1, Uuid::from_u128(1), ACME, "zoe@example.org"),
            created(2, Uuid::from_u128(2), GLOBEX, "hank@example.org"),
            created(3, Uuid::from_u128(3), ACME, "ada@example.org"),
            created(4, Uuid::from_u128(4), ACME, "Mia@example.org"),
        ]);
        let emails: Vec<&str> = users
            .list_in_org(ACME)
            .iter()
            .map(|view| view.email.as_str())
            .collect();
        assert_eq!(
            emails,
            ["ada@example.org", "mia@example.org", "zoe@example.org"]
        );
        assert!(users.list_in_org(Uuid::nil()).is_empty());
    }

    #[test]
    fn a_chosen_password_replaces_the_temporary_one() {
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                5,
                ADA,
                &UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: CHOSEN.into(),
                }),
            ),
        ]);
        let view = users.get(ADA).unwrap();
        assert_eq!(
            view.password,
            PasswordState::Chosen {
                hash: CHOSEN.into(),
                changed_at: at(5),
            }
        );
        assert_eq!(view.password.hash(), CHOSEN);
        assert_eq!(view.created_at, at(1));
        assert_eq!(view.updated_at, at(5));
    }

    #[test]
    fn a_new_temporary_password_replaces_the_chosen_one() {
        let issued = UserEvent::TemporaryPasswordIssued(TemporaryPasswordIssued {
            temporary_password_hash: TEMPORARY.into(),
            expires_at: at(9 * 24 * 60),
        });
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                5,
                ADA,
                &UserEvent::PasswordChanged(PasswordChanged {
                    password_hash: CHOSEN.into(),
                }),
            ),
            recorded(8, ADA, &issued),
        ]);
        let view = users.get(ADA).unwrap();
        assert_eq!(
            view.password,
            PasswordState::Temporary {
                hash: TEMPORARY.into(),
                expires_at: at(9 * 24 * 60),
            }
        );
        assert_eq!(view.updated_at, at(8));
    }

    #[test]
    fn a_user_is_disabled_and_enabled_again() {
        let disabled = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(2, ADA, &UserEvent::Disabled),
        ]);
        assert!(disabled.get(ADA).unwrap().disabled);
        assert_eq!(disabled.get(ADA).unwrap().updated_at, at(2));

        let enabled = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(2, ADA, &UserEvent::Disabled),
            recorded(3, ADA, &UserEvent::Enabled),
        ]);
        assert!(!enabled.get(ADA).unwrap().disabled);
        assert_eq!(enabled.get(ADA).unwrap().updated_at, at(3));
    }

    #[test]
    fn a_new_name_and_address_are_seen_and_the_person_is_found_by_the_new_address_only() {
        use verity_domain::user::{EmailChanged, NameChanged};
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                2,
                ADA,
                &UserEvent::NameChanged(NameChanged {
                    before: "Person 1".into(),
                    after: "Ada King".into(),
                }),
            ),
            recorded(
                3,
                ADA,
                &UserEvent::EmailChanged(EmailChanged {
                    org_id: ACME,
                    before: email("ada@example.org"),
                    after: email("king@example.org"),
                }),
            ),
        ]);
        let ada = users.get(ADA).unwrap();
        assert_eq!((ada.name.as_str(), ada.updated_at), ("Ada King", at(3)));
        assert_eq!(
            users
                .find_by_email(ACME, &email("king@example.org"))
                .map(|view| view.user_id),
            Some(ADA)
        );
        assert_eq!(users.find_by_email(ACME, &email("ada@example.org")), None);
        let restored: Users =
            serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
        assert_eq!(restored, users);
    }

    #[test]
    fn a_sign_in_is_the_last_one_until_the_next() {
        use verity_domain::signin::{SignInEvent, SignInSucceeded};
        let signed_in = |position| {
            let event = SignInEvent::Succeeded(SignInSucceeded {
                user_id: ADA.to_string(),
                sid: format!("s{position}"),
                amr: vec!["pwd".into(), "otp".into()],
                second_factor: None,
                device_trust_used: false,
                decision: None,
                origin: Default::default(),
            });
            RecordedEvent {
                event_type: event.event_type().into(),
                data: event.to_data(),
                ..recorded(position, ADA, &UserEvent::Unlocked)
            }
        };
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            signed_in(2),
            signed_in(5),
        ]);
        assert_eq!(users.get(ADA).unwrap().last_sign_in, Some(at(5)));
        let restored: Users =
            serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
        assert_eq!(restored.get(ADA).unwrap().last_sign_in, Some(at(5)));
    }

    #[test]
    fn events_about_users_never_created_are_skipped() {
        let users = fold(&[recorded(1, BOB, &UserEvent::Disabled)]);
        assert!(users.is_empty());
    }

    #[test]
    fn other_event_types_are_skipped_without_reading_them() {
        let mut event = created(1, ADA, ACME, "ada@example.org");
        event.event_type = "mfa.totp.enrolled".into();
        event.data = "not even json".into();
        event.stream = "mfa-whatever".into();
        assert!(fold(&[event]).is_empty());
    }

    #[test]
    fn an_unreadable_event_is_an_error_and_changes_nothing() {
        let users = fold(&[created(1, ADA, ACME, "ada@example.org")]);

        let mut bad_email = created(2, BOB, ACME, "bob@example.org");
        bad_email.data = bad_email.data.replace("bob@example.org", "not an address");
        let mut bad_stream = recorded(3, ADA, &UserEvent::Disabled);
        bad_stream.stream = "user-not-a-uuid".into();
        let mut missing_field = recorded(4, ADA, &UserEvent::Disabled);
        missing_field.event_type = USER_PASSWORD_CHANGED.into();

        for (position, event) in [(2, bad_email), (3, bad_stream), (4, missing_field)] {
            let mut after = users.clone();
            let error = after.apply(&event).unwrap_err();
            assert!(
                matches!(error, DecodeError::Payload { position: p, .. } if p == position),
                "{error:?}"
            );
            assert_eq!(after, users);
        }
    }

    #[test]
    fn a_newer_schema_is_refused_rather_than_misread() {
        let mut event = recorded(2, ADA, &UserEvent::Enabled);
        event.schema = 3;
        let error = Users::default().apply(&event).unwrap_err();
        assert!(matches!(
            error,
            DecodeError::UnknownSchema { schema: 3, .. }
        ));
    }

    #[test]
    fn debug_output_does_not_show_password_hashes() {
        let users = fold(&[created(1, ADA, ACME, "ada@example.org")]);
        let printed = format!("{users:?}");
        assert!(!printed.contains("argon2id"), "{printed}");
        assert!(printed.contains("ada@example.org"));
    }

    #[test]
    fn a_snapshot_round_trip_rebuilds_the_email_index() {
        let mut changed = recorded(
            4,
            ADA,
            &UserEvent::PasswordChanged(PasswordChanged {
                password_hash: CHOSEN.into(),
            }),
        );
        // Expiry times come from the clock with nanoseconds; the round trip keeps them.
        changed.recorded_at += chrono::Duration::nanoseconds(123_456_789);
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            created(2, BOB, GLOBEX, "bob@example.org"),
            recorded(3, BOB, &UserEvent::Disabled),
            changed,
        ]);
        let json = serde_json::to_string(&users).unwrap();
        let restored: Users = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, users);
        assert_eq!(
            restored
                .find_by_email(GLOBEX, &email("bob@example.org"))
                .map(|view| view.disabled),
            Some(true)
        );
    }

    #[test]
    fn directory_attributes_show_and_every_event_of_the_stream_moves_the_version() {
        use verity_domain::user::{NameParts, OtherEmail};
        let directory = Directory {
            external_id: Some("00u1".into()),
            name: NameParts {
                family_name: Some("Lovelace".into()),
                ..NameParts::default()
            },
            emails: vec![OtherEmail {
                value: email("ada@home.example"),
                kind: None,
                primary: false,
            }],
        };
        let mut changed = recorded(
            2,
            ADA,
            &UserEvent::DirectoryChanged(Box::new(DirectoryChanged {
                before: Directory::default(),
                after: directory.clone(),
            })),
        );
        changed.version = 2;
        let mut unlocked = recorded(3, ADA, &UserEvent::Unlocked);
        unlocked.version = 3;
        let users = fold(&[created(1, ADA, ACME, "ada@example.org"), changed, unlocked]);
        let ada = users.get(ADA).unwrap();
        assert_eq!(ada.directory, directory);
        assert_eq!((ada.version, ada.updated_at), (3, at(3)));
        let json = serde_json::to_string(&users).unwrap();
        assert_eq!(serde_json::from_str::<Users>(&json).unwrap(), users);
    }

    #[test]
    fn a_deleted_person_leaves_every_lookup_and_frees_the_address() {
        use verity_domain::user::UserDeleted;
        let deleted = recorded(
            3,
            ADA,
            &UserEvent::Deleted(UserDeleted {
                org_id: ACME,
                email: email("ada@example.org"),
            }),
        );
        let users = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            created(2, BOB, ACME, "bob@example.org"),
            deleted,
        ]);
        assert_eq!(users.get(ADA), None);
        assert_eq!(users.find_by_email(ACME, &email("ada@example.org")), None);
        assert_eq!(users.list_in_org(ACME).len(), 1);
        let again = fold(&[
            created(1, ADA, ACME, "ada@example.org"),
            recorded(
                2,
                ADA,
                &UserEvent::Deleted(UserDeleted {
                    org_id: ACME,
                    email: email("ada@example.org"),
                }),
            ),
            created(3, BOB, ACME, "ada@example.org"),
        ]);
        assert_eq!(
            again
                .find_by_email(ACME, &email("ada@example.org"))
                .map(|view| view.user_id),
            Some(BOB)
        );
    }

    /// One change to a person, as the property test below draws them.
    #[derive(Debug, Clone)]
    enum Step {
        Create(u8, bool, u8),
        Rename(u8, u8),
        Readdress(u8, u8),
        Disable(u8, bool),
        Delete(u8),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            (0u8..12, any::<bool>(), 0u8..6)
                .prop_map(|(who, acme, name)| Step::Create(who, acme, name)),
            (0u8..12, 0u8..6).prop_map(|(who, name)| Step::Rename(who, name)),
            (0u8..12, 0u8..30).prop_map(|(who, address)| Step::Readdress(who, address)),
            (0u8..12, any::<bool>()).prop_map(|(who, disabled)| Step::Disable(who, disabled)),
            (0u8..12).prop_map(Step::Delete),
        ]
    }

    const NAMES: [&str; 6] = [
        "Ada Lovelace",
        "ADA KING",
        "Émile Zola",
        "Bob",
        "Zoë Ünal",
        "ada",
    ];
    const NEEDLES: [&str; 9] = [
        "", "ada", "a", "example", "@globex", "émile", "ünal", "p1", "zz",
    ];

    /// The events the steps make, skipping the ones the domain would refuse (a second
    /// creation, a change to nobody, an address someone in the organization holds).
    fn events_of(steps: &[Step]) -> Vec<RecordedEvent> {
        use verity_domain::user::{EmailChanged, NameChanged, UserDeleted};
        let mut users = Users::default();
        let mut events = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let position = index as u64 + 1;
            let id = |who: &u8| Uuid::from_u128(100 + u128::from(*who));
            let event = match step {
                Step::Create(who, acme, name) if users.get(id(who)).is_none() => {
                    let org = if *acme { ACME } else { GLOBEX };
                    let address = format!(
                        "p{who}@{}.example.org",
                        if *acme { "acme" } else { "globex" }
                    );
                    if users.find_by_email(org, &email(&address)).is_some() {
                        continue;
                    }
                    let mut event = created(position, id(who), org, &address);
                    let mut data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                    data["name"] = NAMES[usize::from(*name)].into();
                    event.data = data.to_string();
                    event
                }
                Step::Rename(who, name) => {
                    let Some(view) = users.get(id(who)) else {
                        continue;
                    };
                    recorded(
                        position,
                        id(who),
                        &UserEvent::NameChanged(NameChanged {
                            before: view.name.clone(),
                            after: NAMES[usize::from(*name)].into(),
                        }),
                    )
                }
                Step::Readdress(who, address) => {
                    let Some(view) = users.get(id(who)) else {
                        continue;
                    };
                    let after = email(&format!("q{address}@example.org"));
                    if users.find_by_email(view.org_id, &after).is_some() {
                        continue;
                    }
                    recorded(
                        position,
                        id(who),
                        &UserEvent::EmailChanged(EmailChanged {
                            org_id: view.org_id,
                            before: view.email.clone(),
                            after,
                        }),
                    )
                }
                Step::Disable(who, disabled) if users.get(id(who)).is_some() => recorded(
                    position,
                    id(who),
                    &if *disabled {
                        UserEvent::Disabled
                    } else {
                        UserEvent::Enabled
                    },
                ),
                Step::Delete(who) => {
                    let Some(view) = users.get(id(who)) else {
                        continue;
                    };
                    recorded(
                        position,
                        id(who),
                        &UserEvent::Deleted(UserDeleted {
                            org_id: view.org_id,
                            email: view.email.clone(),
                        }),
                    )
                }
                _ => continue,
            };
            users.apply(&event).unwrap();
            events.push(event);
        }
        events
    }

    /// What a search must answer: the people of the organization, in address order,
    /// whose address or lower-cased name holds the needle.
    fn searched_by_hand(users: &Users, org: Uuid, query: &TextQuery<'_>) -> TextMatches {
        let matching: Vec<&UserView> = users
            .list_in_org(org)
            .into_iter()
            .filter(|view| {
                query
                    .disabled
                    .is_none_or(|disabled| view.disabled == disabled)
            })
            .filter(|view| {
                view.email.as_str().contains(query.needle)
                    || view.name.to_lowercase().contains(query.needle)
            })
            .collect();
        TextMatches {
            total: matching.len(),
            first: matching
                .iter()
                .filter(|view| query.after.is_none_or(|after| view.email.as_str() > after))
                .take(query.limit)
                .map(|view| view.user_id)
                .collect(),
        }
    }

    proptest::proptest! {
        #[test]
        fn a_search_finds_what_a_walk_over_the_views_finds(
            steps in proptest::collection::vec(step(), 0..60),
            limit in 0usize..5,
            after in proptest::option::of(0u8..12),
        ) {
            let users = fold(&events_of(&steps));
            let restored: Users =
                serde_json::from_str(&serde_json::to_string(&users).unwrap()).unwrap();
            let after = after.map(|who| format!("p{who}@acme.example.org"));
            for org in [ACME, GLOBEX] {
                for needle in NEEDLES {
                    for disabled in [None, Some(true), Some(false)] {
                        let query = TextQuery { needle, disabled, after: after.as_deref(), limit };
                        let expected = searched_by_hand(&users, org, &query);
                        proptest::prop_assert_eq!(&users.search_in_org(org, &query), &expected);
                        proptest::prop_assert_eq!(&restored.search_in_org(org, &query), &expected);
                    }
                }
            }
        }
    }
}
