//! Personal data sealed with a key per person (docs/adr/0010-per-person-encryption.md).
//!
//! [`SealedStore`] wraps a store: on append it seals the personal fields of each event
//! (`verity_domain::personal::FIELDS`, and the client address of what a person did
//! themselves) with the person's data key, and stores address claims as a keyed hash; on
//! read it opens them. Everything above it reads plain values; the chain, `audit verify`
//! and the export read the store below it, ciphertext and all. Erasing a person destroys
//! their key: from then on every personal field about them reads as erased — sealed or,
//! in events written before sealing existed, in clear.

mod cipher;
mod in_text;
mod keys;
mod store;
mod text_bound;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, LazyLock, RwLock};

use chrono::{DateTime, Utc};
use memchr::memmem;
use serde_json::Value;
use uuid::Uuid;
use verity_domain::personal::{self, PersonalField, StoredKey};
use verity_domain::store::PersonalReads;
use verity_domain::user::USER_ERASED;
use verity_domain::{
    AppendRequest, EventMetadata, ExpectedVersion, NewEvent, RecordedEvent, StoreError, UniqueKey,
};

use cipher::{DataKey, first_sealed, holds_sealed, is_sealed_value};
pub use cipher::{PersonalSecrets, SEALED_IN_TEXT_PREFIX, SEALED_PREFIX, SEALED_TOGETHER_PREFIX};
use in_text::Paths;

use crate::store::Store;

/// Length of a person's id as text (hyphenated).
const UUID_TEXT_LEN: usize = 36;

/// The prefix of the unique keys that hold an address in clear (`verity_domain::user::email_key`).
const CLEAR_EMAIL_KEY: &str = "email:";
/// The prefix of the same claims as they are stored: a keyed hash of the rest.
const HASHED_EMAIL_KEY: &str = "email-hmac:";
/// The path of the client address in the metadata, for the associated data.
const METADATA_ADDRESS: [&str; 2] = ["metadata", "client_ip"];
/// The client address's member in the metadata's JSON.
const METADATA_ADDRESS_MEMBER: &str = "\"client_ip\"";
/// The client address in the metadata, as a path from its root (its text is read as a
/// payload's is).
const METADATA_ADDRESS_FIELD: [PersonalField; 1] = [PersonalField {
    path: &["client_ip"],
    kind: personal::FieldKind::Text,
}];
/// Whom a payload is about when its stream is not theirs (a session's start).
const PAYLOAD_PERSON: [PersonalField; 1] = [PersonalField {
    path: &["user_id"],
    kind: personal::FieldKind::Text,
}];
/// How many persons' keys stay in memory; beyond it the cache starts again, so memory
/// does not grow with people.
const CACHE_LIMIT: usize = 100_000;
/// A page that lacks at least this many persons' keys (a catch-up, not a live page) reads
/// the next run of keys in the order they were added before looking any up.
const IN_ORDER_FROM: usize = 64;
/// How many keys one such run brings.
const KEYS_IN_ORDER: usize = 4_096;

/// What is known of a person's key.
#[derive(Clone)]
enum Known {
    /// Their key, to seal and open with.
    Key(DataKey),
    /// They were erased.
    Erased,
    /// They have no key (yet): their events hold no sealed field.
    Absent,
}

/// A data key made for a person who had none, stored with the append it seals.
struct MadeKey {
    subject: Uuid,
    key: DataKey,
    /// The key sealed under the master key, as it is stored.
    sealed: Vec<u8>,
}

/// An append with its personal data sealed.
struct Sealed {
    request: AppendRequest,
    /// The keys it made (and stores).
    made: Vec<MadeKey>,
    /// The request as it came, when it made keys.
    unsealed: Option<AppendRequest>,
}

/// What sealing one event takes ([`SealedStore::plan`]).
struct Plan {
    /// The personal fields of its type.
    fields: &'static [PersonalField],
    data: Value,
    subject: Uuid,
    address: bool,
    known: Known,
}

/// Where reading keys in the order they were added stands.
struct InOrder {
    /// The place of the last key read.
    after: u64,
    /// Whether the runs still bring the keys the pages lack: a catch-up from a snapshot,
    /// or past the cache's limit, meets people out of that order and looks them up.
    serving: bool,
}

/// The store with personal data sealed on the way in and opened on the way out. It is
/// every port of the store it wraps ([`Store`]), so the binary hands it to everything
/// that reads or writes people.
pub struct SealedStore {
    inner: Arc<dyn Store>,
    secrets: PersonalSecrets,
    cache: RwLock<HashMap<Uuid, Known, foldhash::fast::RandomState>>,
    in_order: tokio::sync::Mutex<InOrder>,
}

impl std::fmt::Debug for SealedStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SealedStore")
            .finish_non_exhaustive()
    }
}

impl SealedStore {
    /// Wraps `inner`, and stores the address claims it holds in clear (made before
    /// sealing existed) as keyed hashes.
    pub async fn open(inner: Arc<dyn Store>, secrets: PersonalSecrets) -> Result<Self, StoreError> {
        let sealed = Self {
            inner,
            secrets,
            cache: RwLock::new(HashMap::default()),
            in_order: tokio::sync::Mutex::new(InOrder {
                after: 0,
                serving: true,
            }),
        };
        sealed.check_master_key().await?;
        let clear = sealed.inner.unique_keys_like(CLEAR_EMAIL_KEY).await?;
        if !clear.is_empty() {
            let renames: Vec<(UniqueKey, UniqueKey)> = clear
                .into_iter()
                .map(|key| {
                    let hashed = sealed.hashed_key(&key);
                    (key, hashed)
                })
                .collect();
            sealed.inner.rename_unique_keys(&renames).await?;
            tracing::info!(
                claims = renames.len(),
                "address claims are now stored as keyed hashes"
            );
        }
        Ok(sealed)
    }

    /// Refuses a master key other than the one the database's keys were sealed with,
    /// before anything is sealed or rekeyed with it: the nil id's row holds a key sealed
    /// by the first process that opened the database.
    async fn check_master_key(&self) -> Result<(), StoreError> {
        let sentinel = Uuid::nil();
        let stored = match self.inner.person_keys(&[sentinel]).await?.pop() {
            Some((_, stored)) => stored,
            None => {
                let (_, sealed) = self.secrets.new_data_key(sentinel)?;
                self.inner.add_person_key(sentinel, sealed).await?
            }
        };
        match stored {
            StoredKey::Sealed(sealed) => self.secrets.open_data_key(sentinel, &sealed).map(|_| ()),
            StoredKey::Erased(_) => Err(StoreError::Corrupt(
                "the master key's check in person_keys was erased".into(),
            )),
        }
    }

    /// The store below, where events hold ciphertext: for the chain and the export.
    pub fn raw(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Destroys the person's data key for good: every personal field about them reads as
    /// erased from now on, here and (once they read `user.erased`) on every node.
    pub async fn erase(&self, subject: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.erase_person_key(subject, at).await?;
        self.remember(subject, Known::Erased);
        Ok(())
    }

    /// Whether the person's key was destroyed.
    pub async fn is_erased(&self, subject: Uuid) -> Result<bool, StoreError> {
        self.load(&[subject]).await?;
        Ok(matches!(self.cached(subject), Some(Known::Erased)))
    }

    /// The person an append erases (`user.erased` on their stream), and when.
    fn erasure_in(&self, request: &AppendRequest) -> Option<(Uuid, DateTime<Utc>)> {
        let subject = verity_domain::user::of_stream(&request.stream)?;
        request
            .events
            .iter()
            .find(|event| event.event_type == USER_ERASED)
            .map(|event| (subject, event.metadata.occurred_at))
    }

    /// The claim as it is stored: `email-hmac:<hex>` for `email:<org>:<address>`.
    fn hashed_key(&self, key: &UniqueKey) -> UniqueKey {
        match key.0.strip_prefix(CLEAR_EMAIL_KEY) {
            Some(rest) => UniqueKey(format!("{HASHED_EMAIL_KEY}{}", self.secrets.index(rest))),
            None => key.clone(),
        }
    }

    fn cached(&self, subject: Uuid) -> Option<Known> {
        self.cache
            .read()
            .ok()
            .and_then(|cache| cache.get(&subject).cloned())
    }

    fn remember(&self, subject: Uuid, known: Known) {
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(subject, known);
        }
    }

    /// Those of `subjects` whose key or erasure the cache does not know: not in it yet, or
    /// known to have no key (another process may have made it since).
    fn unknown<Found: FromIterator<Uuid>>(&self, subjects: &[Uuid]) -> Found {
        let cache = self.cache.read().ok();
        subjects
            .iter()
            .copied()
            .filter(|subject| {
                matches!(
                    cache.as_ref().and_then(|cache| cache.get(subject)),
                    None | Some(Known::Absent)
                )
            })
            .collect()
    }

    /// Reads the keys of the people whose key or erasure the cache does not know.
    async fn load(&self, subjects: &[Uuid]) -> Result<(), StoreError> {
        let mut missing: Vec<Uuid> = self.unknown(subjects);
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let mut found: HashMap<Uuid, Known, foldhash::fast::RandomState> = HashMap::default();
        for (subject, stored) in self.inner.person_keys(&missing).await? {
            found.insert(subject, self.known(subject, stored)?);
        }
        self.settle_all(
            missing
                .into_iter()
                .map(|subject| (subject, found.remove(&subject).unwrap_or(Known::Absent)))
                .collect(),
        );
        Ok(())
    }

    /// Puts what a read of the keys found in the cache (starting it again past its
    /// limit), unless the cache knows as much already: an erasure remembered while the
    /// read was under way stays, and only a person known to have no key learns one.
    fn settle_all(&self, read: Vec<(Uuid, Known)>) {
        let Ok(mut cache) = self.cache.write() else {
            return;
        };
        if cache.len() + read.len() > CACHE_LIMIT {
            cache.clear();
        }
        for (subject, known) in read {
            match cache.entry(subject) {
                Entry::Occupied(mut entry) => {
                    if matches!(entry.get(), Known::Absent) {
                        entry.insert(known);
                    }
                }
                Entry::Vacant(entry) => {
                    entry.insert(known);
                }
            }
        }
    }

    /// A stored key as the cache holds it: unwrapped with the master key.
    fn known(&self, subject: Uuid, stored: StoredKey) -> Result<Known, StoreError> {
        Ok(match stored {
            StoredKey::Sealed(sealed) => Known::Key(self.secrets.open_data_key(subject, &sealed)?),
            StoredKey::Erased(_) => Known::Erased,
        })
    }

    /// Reads the next run of keys in the order they were added when a page lacks many: a
    /// replay from the log's start meets people in about that order (a person's key is
    /// made with their first personal event), and a run read in order costs a fraction
    /// of looking each one up. Stops for good once a run brings fewer than half of what
    /// the page lacked. Answers the people of `wanted` a run did not bring, to be looked
    /// up.
    async fn read_keys_in_order(&self, wanted: Vec<Uuid>) -> Result<Vec<Uuid>, StoreError> {
        if wanted.len() < IN_ORDER_FROM {
            return Ok(wanted);
        }
        let mut order = self.in_order.lock().await;
        if !order.serving {
            return Ok(wanted);
        }
        // Another page's run, read while this one waited, may have brought them.
        let mut missing: std::collections::HashSet<Uuid, foldhash::fast::RandomState> =
            self.unknown(&wanted);
        if missing.len() < IN_ORDER_FROM {
            return Ok(missing.into_iter().collect());
        }
        let run = self
            .inner
            .person_keys_in_order(order.after, KEYS_IN_ORDER)
            .await?;
        let Some(last) = run.last else {
            order.serving = false;
            return Ok(missing.into_iter().collect());
        };
        order.after = last;
        let lacking = missing.len();
        let mut known = Vec::with_capacity(run.keys.len());
        for (subject, stored) in run.keys {
            missing.remove(&subject);
            known.push((subject, self.known(subject, stored)?));
        }
        self.settle_all(known);
        if (lacking - missing.len()) * 2 < lacking {
            tracing::debug!(
                after = order.after,
                lacking,
                brought = lacking - missing.len(),
                "keys are looked up from now on, not read in order"
            );
            order.serving = false;
        }
        Ok(missing.into_iter().collect())
    }

    /// The person's key to seal with. A person without one gets one, made here and added
    /// to `made`, for the append to store in its own transaction (nothing is stored yet).
    /// For a person whose own stream the append starts (`new_person`), the store is not
    /// asked first: they cannot have a key yet, and if they did the append would be
    /// refused and sealed again.
    async fn key_to_seal(
        &self,
        subject: Uuid,
        new_person: bool,
        made: &mut Vec<MadeKey>,
    ) -> Result<Known, StoreError> {
        if let Some(made) = made.iter().find(|made| made.subject == subject) {
            return Ok(Known::Key(made.key.clone()));
        }
        if !new_person {
            self.load(&[subject]).await?;
        }
        if let Some(known @ (Known::Key(_) | Known::Erased)) = self.cached(subject) {
            return Ok(known);
        }
        let (key, sealed) = self.secrets.new_data_key(subject)?;
        made.push(MadeKey {
            subject,
            key: key.clone(),
            sealed,
        });
        Ok(Known::Key(key))
    }

    /// Seals the personal data of an append, and hashes its address claims. The keys it
    /// made for people who had none go with it (`person_keys`); they are [`Sealed::made`],
    /// and the request as it came is kept in [`Sealed::unsealed`] to seal again should
    /// another process store one of those people's key first.
    async fn seal(&self, mut request: AppendRequest) -> Result<Sealed, StoreError> {
        // First whose data each event holds, and their keys; then the sealing.
        let mut plans = Vec::with_capacity(request.events.len());
        let mut made = Vec::new();
        let new_person = verity_domain::user::of_stream(&request.stream)
            .filter(|_| request.expected == ExpectedVersion::NoStream);
        for event in &request.events {
            plans.push(
                self.plan(&request.stream, event, new_person, &mut made)
                    .await?,
            );
        }
        let unsealed = (!made.is_empty()).then(|| request.clone());
        for key in request.claims.iter_mut().chain(request.releases.iter_mut()) {
            *key = self.hashed_key(key);
        }
        for (event, plan) in request.events.iter_mut().zip(plans) {
            if let Some(mut plan) = plan {
                seal_event(
                    event,
                    &mut plan.data,
                    plan.fields,
                    plan.address,
                    plan.subject,
                    &plan.known,
                )?;
            }
        }
        request.person_keys = made
            .iter()
            .map(|made| (made.subject, made.sealed.clone()))
            .collect();
        Ok(Sealed {
            request,
            made,
            unsealed,
        })
    }

    /// What sealing `event` takes: its payload, its person and their key, and whether its
    /// client address is theirs; `None` when it holds nothing personal.
    async fn plan(
        &self,
        stream: &str,
        event: &NewEvent,
        new_person: Option<Uuid>,
        made: &mut Vec<MadeKey>,
    ) -> Result<Option<Plan>, StoreError> {
        let fields = personal::fields(&event.event_type);
        if fields.is_empty() && event.metadata.client_ip.is_none() {
            return Ok(None);
        }
        let data: Value = serde_json::from_str(&event.data)
            .map_err(|error| StoreError::Invalid(format!("event data: {error}")))?;
        let Some(subject) = personal::subject(stream, &data) else {
            return Ok(None);
        };
        let address = event.metadata.client_ip.is_some()
            && personal::metadata_address_is_subjects(&event.metadata.actor, subject);
        if fields.is_empty() && !address {
            return Ok(None);
        }
        let known = self
            .key_to_seal(subject, new_person == Some(subject), made)
            .await?;
        Ok(Some(Plan {
            fields,
            data,
            subject,
            address,
            known,
        }))
    }

    /// Opens the personal data of events read back that their reader reads (`reads`), in
    /// place; the rest is left as stored.
    async fn open_all(
        &self,
        events: &mut [RecordedEvent],
        reads: PersonalReads,
    ) -> Result<(), StoreError> {
        // Most events hold nothing personal (a password change, a disable): they are not
        // looked at again, nor their person's key. The others, by their place in the page:
        let mut reuse = Reuse::default();
        let looks: Vec<(usize, Look)> = events
            .iter()
            .enumerate()
            .filter_map(|(at, event)| {
                Look::at(event, reads, &mut reuse.text).map(|look| (at, look))
            })
            .collect();
        // An erasure in this very page hides the person's earlier events too; a key an
        // erasure left behind (a failure between the append and the key's destruction)
        // is destroyed now.
        for (at, look) in &looks {
            let subject = look.subject;
            if let Some(event) = events.get(*at)
                && event.event_type == USER_ERASED
                && !matches!(self.cached(subject), Some(Known::Erased))
            {
                self.load(&[subject]).await?;
                if matches!(self.cached(subject), Some(Known::Key(_))) {
                    tracing::warn!(%subject, "destroying the key an erasure left behind");
                    self.inner
                        .erase_person_key(subject, event.recorded_at)
                        .await?;
                }
                self.remember(subject, Known::Erased);
            }
        }
        // What the cache knows of each one's person, looked up once; people known to
        // have no key are asked again only when a page holds a sealed field of theirs: a
        // log written before sealing costs no query per page.
        let mut known: Vec<Option<Known>> = {
            let cache = self.cache.read().ok();
            looks
                .iter()
                .map(
                    |(_, look)| match cache.as_ref().and_then(|cache| cache.get(&look.subject)) {
                        Some(Known::Absent) if look.sealed() => None,
                        known => known.cloned(),
                    },
                )
                .collect()
        };
        let wanted: Vec<Uuid> = known
            .iter()
            .zip(&looks)
            .filter(|(known, _)| known.is_none())
            .map(|(_, (_, look))| look.subject)
            .collect();
        if !wanted.is_empty() {
            let rest = self.read_keys_in_order(wanted).await?;
            self.load(&rest).await?;
            let cache = self.cache.read().ok();
            for (slot, (_, look)) in known.iter_mut().zip(&looks) {
                if slot.is_none() {
                    *slot = cache
                        .as_ref()
                        .and_then(|cache| cache.get(&look.subject).cloned());
                }
            }
        }
        for ((at, look), known) in looks.iter().zip(&known) {
            if let Some(event) = events.get_mut(*at) {
                open_event(event, look, known.as_ref(), &mut reuse);
            }
        }
        Ok(())
    }
}

/// What one look at an event read back found: the person whose personal data it may
/// hold (a sealed field, a type with personal fields — in clear when written before
/// sealing — or a client address), and where it holds sealed fields. Each text is
/// searched once per read.
struct Look {
    subject: Uuid,
    /// The paths of the personal fields of the event's type, if it has any.
    paths: Option<&'static Paths<'static>>,
    data_sealed: bool,
    /// Where the first of the payload's values stands when they are sealed together
    /// bound to its text ([`text_bound`]): they open without a walk of the payload, or
    /// the metadata.
    data_in_text: Option<usize>,
    metadata_sealed: bool,
    /// Whether its reader reads the client address (else it is read only as far as
    /// whether it is sealed with the payload's values, and left as stored).
    opens_address: bool,
}

impl Look {
    /// `None` for an event that holds nothing personal, or nothing its reader reads
    /// (`reads`). `buffers` read the payload for its person when its stream is not
    /// theirs.
    fn at(
        event: &RecordedEvent,
        reads: PersonalReads,
        buffers: &mut in_text::Buffers,
    ) -> Option<Self> {
        static ADDRESS: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new(METADATA_ADDRESS_MEMBER));
        let paths =
            in_text::paths_of(&event.event_type).filter(|_| reads.reads_type(&event.event_type));
        if paths.is_none() && !reads.client_addresses {
            return None;
        }
        // Only the fields of its type are ever sealed in a payload, or opened.
        let first_sealed = paths.and_then(|_| first_sealed(&event.data));
        let data_sealed = first_sealed.is_some();
        let data_in_text = first_sealed.filter(|&at| text_bound::starts_at(&event.data, at));
        // A sealed field in the metadata is its client address. A reader that does not
        // read it reads it only when it may be bound with the payload's values (to their
        // paths: bound to the text, they say themselves whether it is among them).
        let metadata_address = (reads.client_addresses || (data_sealed && data_in_text.is_none()))
            && ADDRESS.find(event.metadata.as_bytes()).is_some();
        if paths.is_none() && !metadata_address {
            return None;
        }
        let metadata_sealed = metadata_address && holds_sealed(&event.metadata);
        let subject = Self::subject(
            event,
            paths.is_some() || metadata_sealed,
            data_in_text.is_some(),
            buffers,
        )?;
        Some(Self {
            subject,
            paths,
            data_sealed,
            data_in_text,
            metadata_sealed,
            opens_address: reads.client_addresses,
        })
    }

    /// The person: the user stream's, or else the payload's `user_id` when the event
    /// holds personal or sealed data, read in its text only as far as that member (a
    /// session's start names them second). A payload that names two people (Verity never
    /// writes one) is read as about the first: what is sealed for the other reads as
    /// erased, as it does under any other key. Values bound to the payload's text
    /// (`in_text`) are bound to their person too, so the first `"user_id":"…"` of the text
    /// is taken without reading the JSON: taken wrongly, the values do not open.
    fn subject(
        event: &RecordedEvent,
        personal: bool,
        in_text: bool,
        buffers: &mut in_text::Buffers,
    ) -> Option<Uuid> {
        static USER_ID: LazyLock<Paths<'static>> = LazyLock::new(|| Paths::new(&PAYLOAD_PERSON));
        static USER_ID_MEMBER: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new(b"\"user_id\":\""));
        if let Some(id) = event.stream.strip_prefix("user-") {
            return Uuid::try_parse(id).ok();
        }
        if !personal {
            return None;
        }
        let member = USER_ID_MEMBER.needle().len();
        let named = in_text
            .then(|| USER_ID_MEMBER.find(event.data.as_bytes()))
            .flatten()
            .and_then(|at| event.data.get(at + member..at + member + UUID_TEXT_LEN + 1))
            .and_then(|id| id.strip_suffix('"'))
            .and_then(|id| Uuid::try_parse(id).ok());
        named.or_else(|| {
            in_text::first_string(&event.data, &USER_ID, buffers)
                .and_then(|id| Uuid::try_parse(&id).ok())
        })
    }

    /// Whether the event holds a sealed field.
    fn sealed(&self) -> bool {
        self.data_sealed || self.metadata_sealed
    }
}

/// The reader that opens sealed fields in a payload's text, for the fuzz target
/// `sealed_payload`: `text` with each string at a personal field's path of `event_type`
/// replaced by its length in characters, in brackets (`"[3]"`); `None` when the text is
/// not JSON. Not an API.
#[doc(hidden)]
pub fn mark_personal_fields(event_type: &str, text: &str) -> Option<String> {
    // The same trees of paths a replay follows.
    let none = Paths::new(&[]);
    let mut marked = text.to_owned();
    in_text::replace_fields(
        &mut marked,
        in_text::paths_of(event_type).unwrap_or(&none),
        &mut in_text::Buffers::default(),
        |_, _, _, value, out| {
            out.push_str(&format!("[{}]", value.chars().count()));
            true
        },
    )
    .ok()
    .map(|_| marked)
}

/// The associated data of a sealed field: the person and the field's path, its members
/// joined by dots.
fn binding(subject: Uuid, path: &[&str]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + 1 + 48);
    bind(&mut aad, subject, path);
    aad
}

/// Writes the associated data of a sealed field ([`binding`]) into `aad`, for a reader
/// that opens many fields with one buffer.
fn bind(aad: &mut Vec<u8>, subject: Uuid, path: &[&str]) {
    bind_paths(aad, subject, std::iter::once(path));
}

/// Writes the person and `paths` into `aad`: each path's members joined by dots, the
/// paths by commas (one path: a field sealed on its own; several: values sealed together).
fn bind_paths<'path>(
    aad: &mut Vec<u8>,
    subject: Uuid,
    paths: impl Iterator<Item = &'path [&'path str]>,
) {
    aad.clear();
    aad.extend_from_slice(subject.as_bytes());
    aad.push(b'|');
    for (index, path) in paths.enumerate() {
        if index > 0 {
            aad.push(b',');
        }
        for (step, member) in path.iter().enumerate() {
            if step > 0 {
                aad.push(b'.');
            }
            aad.extend_from_slice(member.as_bytes());
        }
    }
}

/// Every value at `path` (`*` stands for each item of an array).
fn values_at<'value>(value: &'value mut Value, path: &[&str], found: &mut Vec<&'value mut Value>) {
    match path.split_first() {
        None => found.push(value),
        Some((&"*", rest)) => {
            if let Some(items) = value.as_array_mut() {
                for item in items {
                    values_at(item, rest, found);
                }
            }
        }
        Some((member, rest)) => {
            if let Some(inner) = value.get_mut(*member) {
                values_at(inner, rest, found);
            }
        }
    }
}

/// The values of a personal field in a payload.
fn field_values<'value>(data: &'value mut Value, field: &PersonalField) -> Vec<&'value mut Value> {
    let mut found = Vec::new();
    values_at(data, field.path, &mut found);
    found
}

/// Writes the associated data of values sealed together into `aad`: the person and the
/// path of each value's field, in the text's order, then the metadata's client address
/// when it is sealed with them (`address`; [`bind_paths`]).
fn bind_together(aad: &mut Vec<u8>, subject: Uuid, all: &in_text::Values<'_>, address: bool) {
    let address = address.then_some(&METADATA_ADDRESS[..]);
    bind_paths(
        aad,
        subject,
        all.fields().map(|field| field.path).chain(address),
    );
}

fn seal_event(
    event: &mut NewEvent,
    data: &mut Value,
    fields: &[PersonalField],
    address: bool,
    subject: Uuid,
    known: &Known,
) -> Result<(), StoreError> {
    let cipher = match known {
        Known::Key(key) => Some(key.cipher()?),
        Known::Erased | Known::Absent => None,
    };
    match &cipher {
        Some(cipher) if cipher.seals_together() => {
            let ip = event.metadata.client_ip.as_deref().filter(|_| address);
            let (text, place) =
                seal_together(&event.event_type, data, fields, subject, cipher, ip)?;
            event.data = text;
            // The client address went with the payload's values: the metadata holds its place.
            if let Some(place) = place {
                event.metadata = EventMetadata {
                    client_ip: Some(format!("{SEALED_TOGETHER_PREFIX}{place}")),
                    ..event.metadata.clone()
                };
                return Ok(());
            }
        }
        // One by one: sealed with a key made before AES-256-GCM, or erased.
        _ => {
            for field in fields {
                for value in field_values(data, field) {
                    let Some(text) = value.as_str() else { continue };
                    *value = Value::String(match &cipher {
                        Some(cipher) => cipher.seal(&binding(subject, field.path), text)?,
                        None => field.kind.erased().to_owned(),
                    });
                }
            }
            event.data = verity_domain::event::to_json(data);
        }
    }
    if address && let Some(ip) = &event.metadata.client_ip {
        event.metadata = EventMetadata {
            client_ip: Some(match &cipher {
                Some(cipher) => cipher.seal(&binding(subject, &METADATA_ADDRESS), ip)?,
                None => personal::ERASED_TEXT.to_owned(),
            }),
            ..event.metadata.clone()
        };
    }
    Ok(())
}

/// The payload `data` of an `event_type` as text, with its personal values sealed
/// together (`pd3:`). Each value is first replaced by its number; the reader of the log
/// meets them in the text's order, so that order, found here by the same reader, is the
/// order of the sealed array. The first value holds them all, each other its place. The
/// client address (`address`, when it is the person's) is sealed with them, last, or,
/// bound to the text and one of the values already, named by the first: its place comes
/// back for the metadata to hold (one value to open per event, where it was two). The
/// values are bound to where they stand in the payload's text (`pd3:+`,
/// [`text_bound`]), or to their fields' paths when a clear string of the payload starts
/// as they would.
fn seal_together(
    event_type: &str,
    data: &mut Value,
    fields: &[PersonalField],
    subject: Uuid,
    cipher: &cipher::FieldCipher<'_>,
    address: Option<&str>,
) -> Result<(String, Option<usize>), StoreError> {
    let mut taken: Vec<String> = Vec::new();
    for field in fields {
        for value in field_values(data, field) {
            if let Value::String(text) = value {
                taken.push(std::mem::replace(text, taken.len().to_string()));
            }
        }
    }
    let mut text = verity_domain::event::to_json(data);
    if taken.is_empty() {
        return Ok((text, None));
    }
    let place = address.map(|_| taken.len());
    let cannot = || StoreError::Invalid(format!("cannot seal the personal data of {event_type}"));
    let paths = in_text::paths_of(event_type).ok_or_else(cannot)?;
    let bound_to_text = text_bound::may_bind(&text);
    // The values in the text's order, the address last; and, bound to their paths, the
    // first value's text.
    let mut in_order: Option<(Vec<&str>, Option<usize>)> = None;
    let mut sealed: Option<Result<String, StoreError>> = None;
    let mut aad = Vec::new();
    in_text::replace_fields(
        &mut text,
        paths,
        &mut in_text::Buffers::default(),
        |all, index, _, _, out| {
            if index > 0 {
                out.push_str(SEALED_TOGETHER_PREFIX);
                out.push_str(&index.to_string());
                return true;
            }
            // Every value found is one taken, each once.
            let mut seen = vec![false; taken.len()];
            let values: Option<Vec<&str>> = (0..all.len())
                .map(|at| {
                    let number: usize = all.raw(at)?.parse().ok()?;
                    let first_time = !std::mem::replace(seen.get_mut(number)?, true);
                    first_time.then(|| taken.get(number).map(String::as_str))?
                })
                .collect();
            let Some(mut values) = values.filter(|values| values.len() == taken.len()) else {
                return false;
            };
            if bound_to_text {
                // Sealed once the text is whole: the text is what binds them. The address,
                // when it is one of the values (a sign-in's own), is named, not sealed twice.
                let named = address.and_then(|ip| values.iter().position(|value| *value == ip));
                if named.is_none() {
                    values.extend(address);
                }
                out.push_str(SEALED_IN_TEXT_PREFIX);
                in_order = Some((values, named));
                return true;
            }
            values.extend(address);
            bind_together(&mut aad, subject, all, address.is_some());
            let first = cipher.seal_together(&aad, &values);
            if let Ok(first) = &first {
                out.push_str(first);
            }
            let written = first.is_ok();
            sealed = Some(first);
            written
        },
    )
    .map_err(|_| cannot())?;
    if let Some((values, named)) = in_order {
        text_bound::seal(&mut text, subject, cipher, &values, named).ok_or_else(cannot)??;
        return Ok((text, named.or(place)));
    }
    match sealed {
        Some(Ok(_)) => Ok((text, place)),
        Some(Err(error)) => Err(error),
        None => Err(cannot()),
    }
}

/// What an opening reuses from one event to the next of a page: buffers, and the keys it
/// set up.
#[derive(Default)]
struct Reuse<'key> {
    text: in_text::Buffers,
    /// The metadata's, read before the payload's values open and replaced after.
    address: in_text::Buffers,
    /// Where values bound to the payload's text stand in it.
    slots: text_bound::Slots,
    opening: Opening,
    set_up: SetUp<'key>,
}

/// The keys set up for the people whose events were opened in one page: a person's
/// events come close together (a sign-in, then the session it starts), and setting up an
/// AES key costs about as much as opening a value with it.
#[derive(Default)]
struct SetUp<'key> {
    /// `None` for a person whose key could not be set up: it opens nothing. Boxed, as a
    /// key set up is about half a kilobyte.
    ciphers: HashMap<Uuid, Option<Box<cipher::FieldCipher<'key>>>>,
}

impl<'key> SetUp<'key> {
    /// The key that opens what `look` found sealed, when the person has one.
    fn cipher(
        &mut self,
        look: &Look,
        known: Option<&'key Known>,
    ) -> Option<&cipher::FieldCipher<'key>> {
        let Some(Known::Key(key)) = known else {
            return None;
        };
        if !look.sealed() {
            return None;
        }
        // A person has one key: set up for them, it is theirs.
        self.ciphers
            .entry(look.subject)
            .or_insert_with(|| key.cipher().ok().map(Box::new))
            .as_deref()
    }
}

/// The buffers that open sealed values, kept from one value to the next.
#[derive(Default)]
struct Opening {
    aad: Vec<u8>,
    scratch: Vec<u8>,
    /// A payload's values sealed together, opened.
    together: cipher::Together,
    /// Whether the event's client address is sealed with its payload's values bound to
    /// their paths (its metadata says so), and so bound with them.
    address_with_values: bool,
    /// Where the client address is among the values opened, when it is one of them.
    address_at: Option<usize>,
}

impl Opening {
    /// Writes the plaintext of the sealed value `text`, the one at `index` among `all`,
    /// into `out`; `false` when it does not open (another key, altered bytes). Values
    /// sealed together open at the first, which holds them all (and the client address,
    /// last, when it is sealed with them); each other must stand at its own place.
    fn open(
        &mut self,
        cipher: Option<&cipher::FieldCipher<'_>>,
        subject: Uuid,
        all: &in_text::Values<'_>,
        index: usize,
        text: &str,
        out: &mut String,
    ) -> bool {
        let Some(place) = text.strip_prefix(SEALED_TOGETHER_PREFIX) else {
            return all
                .field(index)
                .is_some_and(|field| self.open_alone(cipher, subject, field.path, text, out));
        };
        if index == 0 {
            let address = self.address_with_values;
            bind_together(&mut self.aad, subject, all, address);
            // One that does not open is left empty.
            let opened = cipher
                .is_some_and(|cipher| cipher.open_together(&self.aad, text, &mut self.together));
            if opened && self.together.len() != all.len() + usize::from(address) {
                self.together.clear();
            }
            self.address_at = (address && self.together.len() > 0).then_some(all.len());
        }
        let own = index == 0 || place.parse() == Ok(index);
        match self.together.value(index) {
            Some(value) if own => {
                out.push_str(value);
                true
            }
            _ => false,
        }
    }

    /// Writes the client address sealed with the payload's values into `out`: the one
    /// among them that is the address (sealed last, or named by the first), which `place`
    /// (the metadata's `pd3:<place>`) must name; `false` when they did not open with it.
    fn address(&self, place: &str, out: &mut String) -> bool {
        match self
            .address_at
            .and_then(|at| Some((at, self.together.value(at)?)))
        {
            Some((at, address)) if place.parse() == Ok(at) => {
                out.push_str(address);
                true
            }
            _ => false,
        }
    }

    /// Writes the plaintext of `text`, a value sealed on its own at `path`, into `out`;
    /// `false` when it does not open.
    fn open_alone(
        &mut self,
        cipher: Option<&cipher::FieldCipher<'_>>,
        subject: Uuid,
        path: &[&str],
        text: &str,
        out: &mut String,
    ) -> bool {
        bind(&mut self.aad, subject, path);
        cipher.is_some_and(|cipher| cipher.open_into(&self.aad, text, &mut self.scratch, out))
    }
}

/// Opens (or, for an erased person, blanks) the personal fields of one event. A field
/// that does not open (another key, altered bytes) reads as erased.
fn open_event<'key>(
    event: &mut RecordedEvent,
    look: &Look,
    known: Option<&'key Known>,
    reuse: &mut Reuse<'key>,
) {
    static ADDRESS: LazyLock<Paths<'static>> =
        LazyLock::new(|| Paths::new(&METADATA_ADDRESS_FIELD));
    let subject = look.subject;
    let erased = matches!(known, Some(Known::Erased));
    let Reuse {
        text,
        address,
        slots,
        opening,
        set_up,
    } = reuse;
    // One that cannot be set up opens nothing.
    let cipher = set_up.cipher(look, known);
    opening.together.clear();
    opening.address_at = None;
    // Values bound to the payload's text open by themselves; any that do not are read as
    // the others are, below (as erased).
    let in_text = look
        .data_in_text
        .zip(cipher)
        .and_then(|(from, cipher)| {
            text_bound::open(
                &mut event.data,
                from,
                subject,
                cipher,
                slots,
                &mut opening.together,
            )
        })
        .map(|opened| opening.address_at = opened.address_at)
        .is_some();
    // The sealed client address is read in the metadata's text (parsing the metadata and
    // writing it again cost more than opening it), first: sealed with the payload's
    // values and bound to their paths, it is bound with them.
    // `Some(whether it is sealed with the values)` when it was read.
    let address_read = (look.metadata_sealed && !erased)
        .then(|| in_text::first_string(&event.metadata, &ADDRESS, address))
        .flatten()
        .map(|ip| ip.starts_with(SEALED_TOGETHER_PREFIX));
    opening.address_with_values = !in_text && address_read == Some(true);
    if let Some(paths) = look.paths
        && !in_text
        && (look.data_sealed || erased)
    {
        // A payload that is not JSON is left as it is, for its decoder to refuse.
        let _ = in_text::replace_fields(
            &mut event.data,
            paths,
            text,
            |all, index, field, text, out| {
                let sealed = is_sealed_value(text);
                match known {
                    Some(Known::Key(_)) if sealed => {
                        if !opening.open(cipher, subject, all, index, text, out) {
                            out.push_str(field.kind.erased());
                        }
                        true
                    }
                    None | Some(Known::Key(_) | Known::Absent) if !sealed => false,
                    _ => {
                        out.push_str(field.kind.erased());
                        true
                    }
                }
            },
        );
    }
    if !look.opens_address {
        // Left as stored.
    } else if erased {
        blank_address(event, subject);
    } else if address_read.is_some() {
        let theirs = matches!(known, Some(Known::Key(_)));
        let _ = in_text::replace_found(
            &mut event.metadata,
            &ADDRESS,
            address,
            |_, _, _, ip, out| {
                if !is_sealed_value(ip) {
                    return false;
                }
                let opened = theirs
                    && match ip.strip_prefix(SEALED_TOGETHER_PREFIX) {
                        Some(place) => opening.address(place, out),
                        None => opening.open_alone(cipher, subject, &METADATA_ADDRESS, ip, out),
                    };
                if !opened {
                    out.clear();
                    out.push_str(personal::ERASED_TEXT);
                }
                true
            },
        );
    }
}

/// Blanks the client address in the metadata of an erased person's event: sealed, or in
/// clear when it was theirs (they acted themselves), which takes the actor.
fn blank_address(event: &mut RecordedEvent, subject: Uuid) {
    let Ok(mut metadata) = serde_json::from_str::<EventMetadata>(&event.metadata) else {
        return;
    };
    let Some(ip) = &metadata.client_ip else {
        return;
    };
    if !is_sealed_value(ip) && !personal::metadata_address_is_subjects(&metadata.actor, subject) {
        return;
    }
    metadata.client_ip = Some(personal::ERASED_TEXT.to_owned());
    event.metadata = verity_domain::event::to_json(&metadata);
}

#[cfg(test)]
mod tests;
