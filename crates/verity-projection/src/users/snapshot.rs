//! The people in a snapshot: how many, the organizations, then one entry per person, a
//! JSON array rather than an object, times as nanoseconds since 1970. Snapshots are what
//! a node starts from, so their size and how fast they read are start-up time
//! (docs/performance.md, "A million people per node"); the count comes first so that the
//! table and the indexes are allocated once. Changing this means bumping the version of
//! the projections that contain [`Users`].

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use verity_domain::user::Directory;

use super::{AUTHENTICATOR, CHOSEN_PASSWORD, DISABLED, LIVE, Users};

/// A person as a snapshot entry, borrowed for writing.
#[derive(Serialize)]
struct StoredRef<'person>(
    Uuid,                       // user_id
    u32,                        // their organization, an index in the list before
    &'person str,               // email
    &'person str,               // name
    u8,                         // flags: disabled, chosen password, authenticator
    Stamp,                      // expires_at (temporary) or changed_at (chosen)
    Stamp,                      // created_at
    Stamp,                      // updated_at
    Option<Stamp>,              // last_sign_in
    Option<&'person Directory>, // directory (null when empty)
    u64,                        // version
);

/// A snapshot entry, read back (fields as in [`StoredRef`]); the texts are borrowed from
/// the snapshot when they hold no escapes.
#[derive(Deserialize)]
struct Stored<'data>(
    Uuid,
    u32,
    #[serde(borrow)] Cow<'data, str>,
    #[serde(borrow)] Cow<'data, str>,
    u8,
    Stamp,
    Stamp,
    Stamp,
    Option<Stamp>,
    Option<Directory>,
    u64,
);

/// A time: nanoseconds since 1970 when they fit in an `i64` (1677 to 2262), else RFC 3339.
#[derive(Clone, Copy)]
struct Stamp(DateTime<Utc>);

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.timestamp_nanos_opt() {
            Some(nanos) => serializer.serialize_i64(nanos),
            None => self.0.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StampVisitor)
    }
}

struct StampVisitor;

impl Visitor<'_> for StampVisitor {
    type Value = Stamp;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("nanoseconds since 1970 or an RFC 3339 time")
    }

    fn visit_i64<E: serde::de::Error>(self, nanos: i64) -> Result<Stamp, E> {
        Ok(Stamp(DateTime::from_timestamp_nanos(nanos)))
    }

    fn visit_u64<E: serde::de::Error>(self, nanos: u64) -> Result<Stamp, E> {
        let nanos = i64::try_from(nanos).map_err(|_| E::custom("a time out of range"))?;
        self.visit_i64(nanos)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Stamp, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|time| Stamp(time.with_timezone(&Utc)))
            .map_err(E::custom)
    }
}

impl Serialize for Users {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(3)?;
        tuple.serialize_element(&self.len())?;
        let orgs: Vec<Uuid> = self.orgs.iter().map(|org| org.org_id).collect();
        tuple.serialize_element(&orgs)?;
        tuple.serialize_element(&Entries(self))?;
        tuple.end()
    }
}

/// The entries, written as a list.
struct Entries<'users>(&'users Users);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let users = self.0;
        let entries = users.people.iter().filter(|resident| resident.has(LIVE));
        serializer.collect_seq(entries.filter_map(|resident| {
            let org = users.orgs.get(resident.org as usize)?;
            Some(StoredRef(
                resident.user_id,
                resident.org,
                org.text.email(resident.text),
                org.text.name(resident.text),
                resident.flags & (DISABLED | CHOSEN_PASSWORD | AUTHENTICATOR),
                Stamp(resident.password_at),
                Stamp(resident.created_at),
                Stamp(resident.updated_at),
                resident.last_sign_in.map(Stamp),
                resident.directory.as_deref(),
                resident.version,
            ))
        }))
    }
}

/// Reads `[count, [organization ids], [entries]]`.
struct UsersVisitor;

impl<'de> Visitor<'de> for UsersVisitor {
    type Value = Users;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a count of users, their organizations and their list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut parts: A) -> Result<Users, A::Error> {
        let count: usize = parts
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let orgs: Vec<Uuid> = parts
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        let mut users = Users::default();
        // A count larger than the list is only a larger allocation, bounded here.
        let expected = count.min(1 << 20);
        users.people.reserve_exact(expected);
        users.by_id.reserve(expected, |_| 0);
        users.by_email.reserve(expected, |_| 0);
        parts
            .next_element_seed(EntriesSeed {
                users: &mut users,
                orgs: &orgs,
            })?
            .ok_or_else(|| A::Error::invalid_length(2, &self))?;
        Ok(users)
    }
}

/// Reads the entries straight into the table, without a list of them all in between.
struct EntriesSeed<'users> {
    users: &'users mut Users,
    orgs: &'users [Uuid],
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while let Some(stored) = entries.next_element::<Stored<'de>>()? {
            let Stored(
                user_id,
                org,
                email,
                name,
                flags,
                password_at,
                created_at,
                updated_at,
                last_sign_in,
                directory,
                version,
            ) = stored;
            let org_id = *self
                .orgs
                .get(org as usize)
                .ok_or_else(|| A::Error::custom("an entry of an organization not listed"))?;
            let users = &mut *self.users;
            let slot = users.add(
                user_id,
                org_id,
                (&email, &name),
                password_at.0,
                created_at.0,
                version,
            );
            let disabled = flags & DISABLED != 0;
            let Some(resident) = users.people.get_mut(slot as usize) else {
                continue;
            };
            resident.flags = LIVE | (flags & (DISABLED | CHOSEN_PASSWORD | AUTHENTICATOR));
            resident.updated_at = updated_at.0;
            resident.last_sign_in = last_sign_in.map(|stamp| stamp.0);
            resident.directory = directory
                .filter(|directory| !directory.is_empty())
                .map(Box::new);
            let (org, entry) = (resident.org, resident.text);
            if disabled && let Some(org) = users.orgs.get_mut(org as usize) {
                org.text.set_disabled(entry, true);
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(3, UsersVisitor)
    }
}
