//! The people every node keeps in memory: each person's summary ([`PersonSummary`]) by
//! id and by address within their organization, and the text "Search users" scans.
//!
//! A million people fit in a few hundred megabytes (docs/performance.md, "A million
//! people per node"): a person is a fixed-size record in one table, their address and
//! name live once in their organization's text buffer ([`people_text`](crate::people_text)),
//! and the two indexes hold four bytes per person. What only a sign-in or an admin's
//! action on one person needs — the password hash, the second factor — is folded from
//! their stream when it is needed ([`load_person`]).

mod change;
mod snapshot;
mod summary;
mod view;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

use foldhash::quality::RandomState;

use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use uuid::Uuid;
use verity_domain::signin::{USER_SIGNIN_FAILED, USER_SIGNIN_LOCKED, USER_SIGNIN_SUCCEEDED};
use verity_domain::store::PersonalReads;
use verity_domain::user::Directory;
use verity_domain::{DecodeError, Email, RecordedEvent};

use crate::mfa::Change;
use crate::people_text::{OrgText, TextMatches, TextQuery};
use crate::projection::Projection;
use change::{Created, PersonChange, stream_person};
pub use summary::{PasswordStatus, PersonSummary};
pub use view::{PasswordState, UserView, load_person};

/// What the claims of a token say about a person ([`Users::profile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile<'users> {
    /// Their organization.
    pub org_id: Uuid,
    /// Their normalised address.
    pub email: &'users str,
    /// Their display name.
    pub name: &'users str,
    /// When the last event about them was recorded.
    pub updated_at: DateTime<Utc>,
}

/// A person's record in the table; removed ones stay as holes for the next person.
#[derive(Debug, Clone)]
struct Resident {
    user_id: Uuid,
    /// Index of their organization in [`Users::orgs`].
    org: u32,
    /// Index of their entry in their organization's text.
    text: u32,
    flags: u8,
    version: u64,
    /// When the temporary password expires, or when the chosen one was set.
    password_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_sign_in: Option<DateTime<Utc>>,
    /// Boxed and absent when empty: most people have none.
    directory: Option<Box<Directory>>,
}

const LIVE: u8 = 1;
const DISABLED: u8 = 1 << 1;
const CHOSEN_PASSWORD: u8 = 1 << 2;
const AUTHENTICATOR: u8 = 1 << 3;

impl Resident {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
}

/// An organization's people's text.
#[derive(Debug, Clone)]
struct Org {
    org_id: Uuid,
    text: OrgText,
}

/// Every person, by id and by (organization, normalised address), and the searchable
/// text of each organization's people.
///
/// Serialised as the list of summaries only; the indexes and the text are rebuilt when a
/// snapshot is read, so they cannot disagree with the people.
#[derive(Clone, Default)]
pub struct Users {
    people: Vec<Resident>,
    /// Holes in `people`, reused first.
    free: Vec<u32>,
    /// Slots in `people`, found by user id.
    by_id: HashTable<u32>,
    /// Slots in `people`, found by (organization, address).
    by_email: HashTable<u32>,
    orgs: Vec<Org>,
    org_index: HashMap<Uuid, u32>,
    hasher: RandomState,
}

impl Users {
    /// The person with this id.
    pub fn get(&self, user_id: Uuid) -> Option<PersonSummary> {
        self.slot_of(user_id).and_then(|slot| self.summary(slot))
    }

    /// What tokens and userinfo release about a person, borrowed from the model: nothing
    /// is copied or parsed on the path of every userinfo request.
    pub fn profile(&self, user_id: Uuid) -> Option<Profile<'_>> {
        let resident = self.people.get(self.slot_of(user_id)? as usize)?;
        let org = self.orgs.get(resident.org as usize)?;
        Some(Profile {
            org_id: org.org_id,
            email: org.text.email(resident.text),
            name: org.text.name(resident.text),
            updated_at: resident.updated_at,
        })
    }

    /// The organization of the person with this id.
    pub fn org_of(&self, user_id: Uuid) -> Option<Uuid> {
        let slot = self.slot_of(user_id)?;
        let org = self.people.get(slot as usize)?.org;
        self.orgs.get(org as usize).map(|org| org.org_id)
    }

    /// The person with this address in this organization.
    pub fn find_by_email(&self, org_id: Uuid, email: &Email) -> Option<PersonSummary> {
        let org = *self.org_index.get(&org_id)?;
        self.email_slot(org, email.as_str())
            .and_then(|slot| self.summary(slot))
    }

    /// The people with this address in any organization (one per organization at most):
    /// the sign-in form asks for an email only, so every account with it is a candidate.
    pub fn find_by_email_anywhere(&self, email: &Email) -> Vec<PersonSummary> {
        (0..self.orgs.len())
            .filter_map(|org| self.email_slot(u32::try_from(org).ok()?, email.as_str()))
            .filter_map(|slot| self.summary(slot))
            .collect()
    }

    /// The people of one organization, sorted by email.
    pub fn list_in_org(&self, org_id: Uuid) -> Vec<PersonSummary> {
        self.in_org_after(org_id, None).collect()
    }

    /// The people of one organization in order of email, from the first address after
    /// `after` (all without one). The order is made when asked for: a sort of the
    /// organization's addresses.
    pub fn in_org_after<'a>(
        &'a self,
        org_id: Uuid,
        after: Option<&Email>,
    ) -> impl Iterator<Item = PersonSummary> + 'a {
        let org = self
            .org_index
            .get(&org_id)
            .and_then(|&org| self.orgs.get(org as usize));
        let mut order = org.map(|org| org.text.by_email()).unwrap_or_default();
        if let (Some(org), Some(after)) = (org, after) {
            let from = order.partition_point(|&entry| org.text.email(entry) <= after.as_str());
            order.drain(..from);
        }
        order.into_iter().filter_map(move |entry| {
            let org = org?;
            self.get(org.text.user_of(entry)?)
        })
    }

    /// The people of one organization whose address or name holds the query's text: how
    /// many, and the first page of them in address order.
    pub fn search_in_org(&self, org_id: Uuid, query: &TextQuery<'_>) -> TextMatches {
        self.org_index
            .get(&org_id)
            .and_then(|&org| self.orgs.get(org as usize))
            .map(|org| org.text.search(query))
            .unwrap_or_default()
    }

    /// How many people there are, in all organizations.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is nobody yet.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every person, in no particular order.
    fn live(&self) -> impl Iterator<Item = PersonSummary> + '_ {
        self.people
            .iter()
            .enumerate()
            .filter(|(_, resident)| resident.has(LIVE))
            .filter_map(|(slot, _)| self.summary(u32::try_from(slot).ok()?))
    }

    fn summary(&self, slot: u32) -> Option<PersonSummary> {
        let resident = self.people.get(slot as usize)?;
        let org = self.orgs.get(resident.org as usize)?;
        Some(PersonSummary {
            user_id: resident.user_id,
            org_id: org.org_id,
            email: Email::parse(org.text.email(resident.text)).ok()?,
            name: org.text.name(resident.text).to_owned(),
            disabled: resident.has(DISABLED),
            password: if resident.has(CHOSEN_PASSWORD) {
                PasswordStatus::Chosen {
                    changed_at: resident.password_at,
                }
            } else {
                PasswordStatus::Temporary {
                    expires_at: resident.password_at,
                }
            },
            has_authenticator: resident.has(AUTHENTICATOR),
            created_at: resident.created_at,
            updated_at: resident.updated_at,
            last_sign_in: resident.last_sign_in,
            directory: resident.directory.as_deref().cloned().unwrap_or_default(),
            version: resident.version,
        })
    }

    fn id_hash(&self, user_id: Uuid) -> u64 {
        self.hasher.hash_one(user_id)
    }

    fn email_hash(hasher: &RandomState, org: u32, email: &str) -> u64 {
        hasher.hash_one((org, email))
    }

    fn slot_of(&self, user_id: Uuid) -> Option<u32> {
        let people = &self.people;
        self.by_id
            .find(self.id_hash(user_id), |&slot| {
                people.get(slot as usize).map(|r| r.user_id) == Some(user_id)
            })
            .copied()
    }

    fn email_slot(&self, org: u32, email: &str) -> Option<u32> {
        let text = &self.orgs.get(org as usize)?.text;
        let people = &self.people;
        self.by_email
            .find(Self::email_hash(&self.hasher, org, email), |&slot| {
                people
                    .get(slot as usize)
                    .is_some_and(|r| r.org == org && text.email(r.text) == email)
            })
            .copied()
    }

    /// The (organization, address) key of a person as their entry has it.
    fn email_key(&self, slot: u32) -> Option<(u32, &str)> {
        email_key(&self.people, &self.orgs, slot)
    }

    /// Points the address of `slot` at it (replacing whoever had it: the last one
    /// recorded wins, as in the log).
    fn index_email(&mut self, slot: u32) {
        let (people, orgs, hasher) = (&self.people, &self.orgs, &self.hasher);
        // Field by field, so that the index can change while the table is read.
        let key_of = |slot: u32| email_key(people, orgs, slot);
        let Some((org, email)) = key_of(slot) else {
            return;
        };
        let hash = Self::email_hash(hasher, org, email);
        match self
            .by_email
            .find_entry(hash, |&other| key_of(other) == Some((org, email)))
        {
            Ok(mut entry) => *entry.get_mut() = slot,
            Err(_) => {
                self.by_email.insert_unique(hash, slot, |&other| {
                    key_of(other).map_or(0, |(org, email)| Self::email_hash(hasher, org, email))
                });
            }
        }
    }

    /// Takes the address of `slot` out of the index, if it points at `slot`.
    fn unindex_email(&mut self, slot: u32) {
        let Some((org, email)) = self.email_key(slot) else {
            return;
        };
        let hash = Self::email_hash(&self.hasher, org, email);
        if let Ok(entry) = self.by_email.find_entry(hash, |&other| other == slot) {
            entry.remove();
        }
    }

    /// The index of an organization, added when first seen.
    fn org(&mut self, org_id: Uuid) -> u32 {
        if let Some(&org) = self.org_index.get(&org_id) {
            return org;
        }
        let org = u32::try_from(self.orgs.len()).unwrap_or(u32::MAX);
        self.orgs.push(Org {
            org_id,
            text: OrgText::default(),
        });
        self.org_index.insert(org_id, org);
        org
    }

    /// Writes a person's entry in their organization's text (replacing the old one).
    fn write_text(&mut self, slot: u32, email: &str, name: &str) {
        let Some(resident) = self.people.get(slot as usize) else {
            return;
        };
        let (org, old, user_id, disabled) = (
            resident.org,
            resident.text,
            resident.user_id,
            resident.has(DISABLED),
        );
        let Some(text) = self.orgs.get_mut(org as usize).map(|org| &mut org.text) else {
            return;
        };
        let index = text.push(user_id, email, name, disabled);
        if let Some(resident) = self.people.get_mut(slot as usize) {
            resident.text = index;
        }
        self.kill_text(org, old);
    }

    /// Marks a text entry dead; when that rewrote the buffer, points everyone of the
    /// organization at their new entry.
    fn kill_text(&mut self, org: u32, entry: u32) {
        let Some(text) = self.orgs.get_mut(org as usize).map(|org| &mut org.text) else {
            return;
        };
        if !text.kill(entry) {
            return;
        }
        let moved: Vec<(u32, Uuid)> = self
            .orgs
            .get(org as usize)
            .map(|org| org.text.live_entries().collect())
            .unwrap_or_default();
        for (index, user_id) in moved {
            if let Some(slot) = self.slot_of(user_id)
                && let Some(resident) = self.people.get_mut(slot as usize)
            {
                resident.text = index;
            }
        }
    }

    /// Adds a person (replacing one with the same id).
    fn create(&mut self, created: Created, at: DateTime<Utc>, version: u64) -> u32 {
        self.add(
            created.user_id,
            created.org_id,
            (created.email.as_str(), &created.name),
            created.temporary_password_expires_at,
            at,
            version,
        )
    }

    /// Adds a person with a temporary password (replacing one with the same id); returns
    /// their slot.
    fn add(
        &mut self,
        user_id: Uuid,
        org_id: Uuid,
        (email, name): (&str, &str),
        password_at: DateTime<Utc>,
        at: DateTime<Utc>,
        version: u64,
    ) -> u32 {
        if let Some(slot) = self.slot_of(user_id) {
            self.remove(slot);
        }
        let org = self.org(org_id);
        let text = self
            .orgs
            .get_mut(org as usize)
            .map_or(0, |org| org.text.push(user_id, email, name, false));
        let resident = Resident {
            user_id,
            org,
            text,
            flags: LIVE,
            version,
            password_at,
            created_at: at,
            updated_at: at,
            last_sign_in: None,
            directory: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(hole) = self.people.get_mut(slot as usize) {
                    *hole = resident;
                }
                slot
            }
            None => {
                self.people.push(resident);
                u32::try_from(self.people.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let people = &self.people;
        let hasher = &self.hasher;
        self.by_id
            .insert_unique(hasher.hash_one(user_id), slot, |&slot| {
                people
                    .get(slot as usize)
                    .map_or(0, |resident| hasher.hash_one(resident.user_id))
            });
        self.index_email(slot);
        slot
    }

    /// Takes a person out of every index, the text and the table.
    fn remove(&mut self, slot: u32) {
        let Some(resident) = self.people.get(slot as usize) else {
            return;
        };
        let (user_id, org, text) = (resident.user_id, resident.org, resident.text);
        self.unindex_email(slot);
        if let Ok(entry) = self
            .by_id
            .find_entry(self.hasher.hash_one(user_id), |&other| other == slot)
        {
            entry.remove();
        }
        self.kill_text(org, text);
        if let Some(resident) = self.people.get_mut(slot as usize) {
            resident.flags = 0;
            resident.directory = None;
        }
        self.free.push(slot);
    }

    /// Applies a change after `user.created` to the person in `slot`.
    fn change(&mut self, slot: u32, change: PersonChange, at: DateTime<Utc>) {
        match change {
            PersonChange::SignedIn => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    resident.last_sign_in = Some(at);
                }
                return;
            }
            PersonChange::Created(_) | PersonChange::Removed => return,
            PersonChange::Renamed(name) => {
                let email = self.email_key(slot).map(|(_, email)| email.to_owned());
                if let Some(email) = email {
                    self.write_text(slot, &email, &name);
                }
            }
            PersonChange::NewEmail(email) => {
                let name = self.people.get(slot as usize).and_then(|resident| {
                    let org = self.orgs.get(resident.org as usize)?;
                    Some(org.text.name(resident.text).to_owned())
                });
                if let Some(name) = name {
                    self.unindex_email(slot);
                    self.write_text(slot, email.as_str(), &name);
                    self.index_email(slot);
                }
            }
            PersonChange::Disabled(disabled) => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    resident.set(DISABLED, disabled);
                    let (org, entry) = (resident.org, resident.text);
                    if let Some(org) = self.orgs.get_mut(org as usize) {
                        org.text.set_disabled(entry, disabled);
                    }
                }
            }
            PersonChange::PasswordChosen { .. } => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    resident.set(CHOSEN_PASSWORD, true);
                    resident.password_at = at;
                }
            }
            PersonChange::TemporaryPassword { expires_at, .. } => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    resident.set(CHOSEN_PASSWORD, false);
                    resident.password_at = expires_at;
                }
            }
            PersonChange::Directory(directory) => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    resident.directory = (!directory.is_empty()).then(|| Box::new(directory));
                }
            }
            PersonChange::Mfa(change) => {
                if let Some(resident) = self.people.get_mut(slot as usize) {
                    match change {
                        Change::Enrolled(_) => resident.set(AUTHENTICATOR, true),
                        Change::Reset => resident.set(AUTHENTICATOR, false),
                        _ => {}
                    }
                }
            }
            PersonChange::Unlocked => {}
        }
        if let Some(resident) = self.people.get_mut(slot as usize) {
            resident.updated_at = at;
        }
    }

    /// Notes the stream's version on the person every event of their stream is about.
    fn note_version(&mut self, event: &RecordedEvent) {
        if let Some(user_id) = stream_person(event)
            && let Some(slot) = self.slot_of(user_id)
            && let Some(resident) = self.people.get_mut(slot as usize)
        {
            resident.version = resident.version.max(event.version);
        }
    }
}

/// The (organization, address) key of the person in `slot`, as their text entry has it.
fn email_key<'a>(people: &[Resident], orgs: &'a [Org], slot: u32) -> Option<(u32, &'a str)> {
    let resident = people.get(slot as usize)?;
    let org = orgs.get(resident.org as usize)?;
    Some((resident.org, org.text.email(resident.text)))
}

/// The sign-in facts, whose personal values (where each came from) no fold reads.
pub(crate) const SIGN_IN_FACTS: [&str; 3] = [
    USER_SIGNIN_SUCCEEDED,
    USER_SIGNIN_FAILED,
    USER_SIGNIN_LOCKED,
];

impl Projection for Users {
    const NAME: &'static str = "users";
    const VERSION: u32 = 6;
    /// A sign-in only moves the person's last sign-in time: where it came from (its
    /// sealed address and browser) is read from the log by their history, not here; nor
    /// is any client address.
    const PERSONAL_READS: PersonalReads = PersonalReads {
        unread_types: &SIGN_IN_FACTS,
        client_addresses: false,
    };

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if let Some((user_id, change)) = PersonChange::decode(event)? {
            match change {
                PersonChange::Created(created) => {
                    self.create(*created, event.recorded_at, event.version);
                }
                PersonChange::Removed => {
                    if let Some(slot) = self.slot_of(user_id) {
                        self.remove(slot);
                    }
                }
                change => match self.slot_of(user_id) {
                    Some(slot) => self.change(slot, change, event.recorded_at),
                    // The domain refuses commands on users that do not exist, so this is
                    // a log written by something else; the fold skips it rather than
                    // invent a user.
                    None => tracing::warn!(
                        position = event.position,
                        event_type = %event.event_type,
                        %user_id,
                        "event about a user that was never created; skipped"
                    ),
                },
            }
        }
        self.note_version(event);
        Ok(())
    }
}

/// Two models are equal when they hold the same people; the indexes follow from them.
impl PartialEq for Users {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .live()
                .all(|person| other.get(person.user_id).as_ref() == Some(&person))
    }
}

impl Eq for Users {}

impl fmt::Debug for Users {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.live()).finish()
    }
}

#[cfg(test)]
mod tests;
