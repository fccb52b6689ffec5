//! The text of one organization's people: every person's address, lower-cased name and
//! name in one buffer, so that "Search users" is one SIMD substring scan over contiguous
//! memory (`memchr::memmem`) instead of a walk over a hundred thousand records scattered
//! on the heap (docs/performance.md, "The console's Users page"). It is also where the
//! [`Users`](crate::Users) model keeps each person's address and name: they are stored
//! once.
//!
//! A change appends the person's new entry and leaves the old one dead; the buffer is
//! rewritten when the dead outnumber the living, and the owner then learns each living
//! entry's new index from [`OrgText::live_entries`]. The buffer is derived from the
//! people and never stored: a snapshot rebuilds it.

use std::collections::BinaryHeap;

use memchr::memmem;
use uuid::Uuid;

/// Separates the fields of an entry.
const FIELD_END: char = '\u{1f}';
/// Fewer dead entries than this never trigger a rewrite.
const MIN_DEAD_TO_COMPACT: usize = 1_024;

/// What a search looks for in one organization.
#[derive(Debug, Clone, Copy)]
pub struct TextQuery<'query> {
    /// Part of an address or name, lower case; empty: everyone.
    pub needle: &'query str,
    /// Only disabled people (`Some(true)`) or only enabled ones (`Some(false)`).
    pub disabled: Option<bool>,
    /// Only addresses after this one.
    pub after: Option<&'query str>,
    /// How many people, at most, in address order.
    pub limit: usize,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextMatches {
    /// How many people match in all.
    pub total: usize,
    /// The first [`TextQuery::limit`] of them after [`TextQuery::after`], in address
    /// order.
    pub first: Vec<Uuid>,
}

/// One person's entry: `text[start..end]` is `address FIELD_END lower-cased name
/// FIELD_END name`; searches look in `text[start..searched_end]` only.
#[derive(Debug, Clone)]
struct Entry {
    start: u32,
    email_end: u32,
    searched_end: u32,
    end: u32,
    user_id: Uuid,
    disabled: bool,
    live: bool,
}

/// One organization's buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgText {
    text: String,
    /// In buffer order, so the entry of a position is found by binary search.
    entries: Vec<Entry>,
    live: usize,
    dead: usize,
}

impl OrgText {
    /// Appends a person's entry; returns its index.
    pub(crate) fn push(&mut self, user_id: Uuid, email: &str, name: &str, disabled: bool) -> u32 {
        let position = |text: &String| u32::try_from(text.len()).unwrap_or(u32::MAX);
        let start = position(&self.text);
        self.text.push_str(email);
        let email_end = position(&self.text);
        self.text.push(FIELD_END);
        // Control characters never match a search (see `search`), so leaving them out
        // of the searched name cannot hide anyone.
        let lower = name.to_lowercase();
        self.text
            .extend(lower.chars().filter(|c| !c.is_ascii_control()));
        let searched_end = position(&self.text);
        self.text.push(FIELD_END);
        self.text.push_str(name);
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        self.entries.push(Entry {
            start,
            email_end,
            searched_end,
            end: position(&self.text),
            user_id,
            disabled,
            live: true,
        });
        self.live += 1;
        index
    }

    /// Notes a person's status.
    pub(crate) fn set_disabled(&mut self, entry: u32, disabled: bool) {
        if let Some(entry) = self.entries.get_mut(entry as usize) {
            entry.disabled = disabled;
        }
    }

    /// Marks an entry dead. Returns true when the buffer was rewritten: every living
    /// entry has a new index then ([`OrgText::live_entries`]).
    pub(crate) fn kill(&mut self, entry: u32) -> bool {
        let Some(entry) = self.entries.get_mut(entry as usize) else {
            return false;
        };
        if !entry.live {
            return false;
        }
        entry.live = false;
        self.live -= 1;
        self.dead += 1;
        if self.dead >= MIN_DEAD_TO_COMPACT && self.dead > self.live {
            self.compact();
            return true;
        }
        false
    }

    /// The index and person of every living entry.
    pub(crate) fn live_entries(&self) -> impl Iterator<Item = (u32, Uuid)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.live)
            .map(|(index, entry)| (u32::try_from(index).unwrap_or(u32::MAX), entry.user_id))
    }

    /// The living entries' indexes in order of address.
    pub(crate) fn by_email(&self) -> Vec<u32> {
        let mut order: Vec<u32> = self.live_entries().map(|(index, _)| index).collect();
        order.sort_unstable_by(|a, b| self.email(*a).cmp(self.email(*b)));
        order
    }

    /// The person of an entry.
    pub(crate) fn user_of(&self, entry: u32) -> Option<Uuid> {
        self.entries.get(entry as usize).map(|entry| entry.user_id)
    }

    /// The address of an entry.
    pub(crate) fn email(&self, entry: u32) -> &str {
        self.entries
            .get(entry as usize)
            .and_then(|entry| {
                self.text
                    .get(entry.start as usize..entry.email_end as usize)
            })
            .unwrap_or_default()
    }

    /// The name of an entry, as given.
    pub(crate) fn name(&self, entry: u32) -> &str {
        self.entries
            .get(entry as usize)
            .and_then(|entry| {
                self.text
                    .get(entry.searched_end as usize + 1..entry.end as usize)
            })
            .unwrap_or_default()
    }

    /// Rewrites the buffer with the living entries only.
    fn compact(&mut self) {
        let old = std::mem::take(self);
        self.text.reserve(old.text.len() / 2);
        self.entries.reserve(old.live);
        for entry in old.entries.iter().filter(|entry| entry.live) {
            let start = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
            let shift = |at: u32| at - entry.start + start;
            self.text.push_str(
                old.text
                    .get(entry.start as usize..entry.end as usize)
                    .unwrap_or_default(),
            );
            self.entries.push(Entry {
                start,
                email_end: shift(entry.email_end),
                searched_end: shift(entry.searched_end),
                end: shift(entry.end),
                ..entry.clone()
            });
        }
        self.live = self.entries.len();
    }

    /// The people that match.
    pub(crate) fn search(&self, query: &TextQuery<'_>) -> TextMatches {
        let mut found = Selection::new(self, query);
        if query.needle.is_empty() {
            self.entries.iter().for_each(|entry| found.offer(entry));
            return found.finish();
        }
        if query.needle.bytes().any(|byte| byte.is_ascii_control()) {
            return found.finish();
        }
        let finder = memmem::Finder::new(query.needle.as_bytes());
        let needle = query.needle.len();
        let mut from = 0;
        while let Some(at) = self
            .text
            .as_bytes()
            .get(from..)
            .and_then(|rest| finder.find(rest))
        {
            let at = from + at;
            // The entry holding the match: the last one starting at or before it.
            let Some(entry) = self
                .entries
                .partition_point(|entry| entry.start as usize <= at)
                .checked_sub(1)
                .and_then(|index| self.entries.get(index))
            else {
                break;
            };
            let inside = at + needle <= entry.searched_end as usize;
            if inside {
                found.offer(entry);
            }
            // One match per entry is enough; a match in the name as given, or one that
            // ran into the next entry's text, is looked for again from there.
            from = if inside || at >= entry.searched_end as usize {
                entry.end as usize
            } else {
                at + 1
            };
        }
        found.finish()
    }
}

/// The count of the matches and the first few of them in address order, kept in a
/// bounded heap: a search that matches everyone still costs one pass and no sort.
struct Selection<'org, 'query> {
    org: &'org OrgText,
    query: &'query TextQuery<'query>,
    total: usize,
    /// The smallest addresses seen so far, the largest on top.
    first: BinaryHeap<(&'org [u8], Uuid)>,
}

impl<'org, 'query> Selection<'org, 'query> {
    fn new(org: &'org OrgText, query: &'query TextQuery<'query>) -> Self {
        Self {
            org,
            query,
            total: 0,
            first: BinaryHeap::with_capacity(query.limit + 1),
        }
    }

    fn offer(&mut self, entry: &Entry) {
        if !entry.live
            || self
                .query
                .disabled
                .is_some_and(|disabled| disabled != entry.disabled)
        {
            return;
        }
        self.total += 1;
        let email = self
            .org
            .text
            .as_bytes()
            .get(entry.start as usize..entry.email_end as usize)
            .unwrap_or_default();
        if self.query.limit == 0
            || self
                .query
                .after
                .is_some_and(|after| email <= after.as_bytes())
        {
            return;
        }
        if self.first.len() < self.query.limit {
            self.first.push((email, entry.user_id));
        } else if self
            .first
            .peek()
            .is_some_and(|(largest, _)| email < *largest)
        {
            self.first.pop();
            self.first.push((email, entry.user_id));
        }
    }

    fn finish(self) -> TextMatches {
        TextMatches {
            total: self.total,
            first: self
                .first
                .into_sorted_vec()
                .into_iter()
                .map(|(_, user_id)| user_id)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn query(needle: &str) -> TextQuery<'_> {
        TextQuery {
            needle,
            disabled: None,
            after: None,
            limit: 10,
        }
    }

    /// Organizations' buffers with the index of each person's entry, as `Users` keeps
    /// them.
    #[derive(Default)]
    struct PeopleText {
        orgs: HashMap<Uuid, OrgText>,
        entry: HashMap<Uuid, (Uuid, u32)>,
    }

    impl PeopleText {
        fn put(&mut self, org: Uuid, user_id: Uuid, email: &str, name: &str, disabled: bool) {
            self.remove(org, user_id);
            let index = self
                .orgs
                .entry(org)
                .or_default()
                .push(user_id, email, name, disabled);
            self.entry.insert(user_id, (org, index));
        }

        fn set_disabled(&mut self, org: Uuid, user_id: Uuid, disabled: bool) {
            let (_, index) = self.entry[&user_id];
            self.orgs
                .get_mut(&org)
                .unwrap()
                .set_disabled(index, disabled);
        }

        fn remove(&mut self, org: Uuid, user_id: Uuid) {
            let Some((_, index)) = self.entry.remove(&user_id) else {
                return;
            };
            let text = self.orgs.get_mut(&org).unwrap();
            if text.kill(index) {
                for (index, user_id) in text.live_entries() {
                    self.entry.insert(user_id, (org, index));
                }
            }
        }

        fn search(&self, org: Uuid, query: &TextQuery<'_>) -> TextMatches {
            self.orgs
                .get(&org)
                .map(|text| text.search(query))
                .unwrap_or_default()
        }
    }

    fn people() -> PeopleText {
        let org = id(100);
        let mut text = PeopleText::default();
        text.put(org, id(3), "carol@example.org", "Carol Ünal", false);
        text.put(org, id(1), "ada@example.org", "Ada Lovelace", false);
        text.put(org, id(2), "bob@example.org", "Bob Tables", true);
        text.put(id(200), id(9), "ada@other.example", "Ada Other", false);
        text
    }

    #[test]
    fn a_part_of_an_address_or_a_name_finds_people_in_address_order() {
        let text = people();
        let org = id(100);
        let all = text.search(org, &query(""));
        assert_eq!(all.total, 3);
        assert_eq!(all.first, vec![id(1), id(2), id(3)]);
        assert_eq!(
            text.search(org, &query("example.org")).first,
            vec![id(1), id(2), id(3)]
        );
        assert_eq!(text.search(org, &query("lovelace")).first, vec![id(1)]);
        assert_eq!(text.search(org, &query("ünal")).first, vec![id(3)]);
        assert_eq!(
            text.search(org, &query("other")).total,
            0,
            "another organization"
        );
        assert_eq!(text.search(org, &query("nobody")).total, 0);
    }

    #[test]
    fn a_match_never_spans_two_fields_or_two_people() {
        let text = people();
        let org = id(100);
        // "org" ends an address and "ada" starts a name: no person holds "orgada".
        assert_eq!(text.search(org, &query("orgada")).total, 0);
        assert_eq!(text.search(org, &query("lovelacebob")).total, 0);
        assert_eq!(text.search(org, &query("org\u{1f}ada")).total, 0);
        assert_eq!(text.search(org, &query("lovelace\nbob")).total, 0);
        // The name as given is kept for display, never searched twice or across people.
        assert_eq!(text.search(org, &query("Lovelace")).total, 0);
        assert_eq!(text.search(org, &query("tablescarol")).total, 0);
    }

    #[test]
    fn each_entry_gives_back_its_address_and_name_and_the_order_of_addresses() {
        let text = people();
        let acme = &text.orgs[&id(100)];
        let (_, index) = text.entry[&id(3)];
        assert_eq!(acme.email(index), "carol@example.org");
        assert_eq!(acme.name(index), "Carol Ünal");
        let order: Vec<&str> = acme
            .by_email()
            .into_iter()
            .map(|entry| acme.email(entry))
            .collect();
        assert_eq!(
            order,
            ["ada@example.org", "bob@example.org", "carol@example.org"]
        );
    }

    #[test]
    fn the_status_the_cursor_and_the_limit_narrow_the_page_but_not_the_total() {
        let text = people();
        let org = id(100);
        let disabled = text.search(
            org,
            &TextQuery {
                disabled: Some(true),
                ..query("")
            },
        );
        assert_eq!((disabled.total, disabled.first), (1, vec![id(2)]));
        let after = text.search(
            org,
            &TextQuery {
                after: Some("ada@example.org"),
                limit: 1,
                ..query("")
            },
        );
        assert_eq!((after.total, after.first), (3, vec![id(2)]));
        let counted = text.search(
            org,
            &TextQuery {
                limit: 0,
                ..query("")
            },
        );
        assert_eq!((counted.total, counted.first.len()), (3, 0));
    }

    #[test]
    fn changes_replace_entries_and_many_removals_compact_the_buffer() {
        let mut text = people();
        let org = id(100);
        text.put(org, id(1), "ada@example.org", "Ada King", false);
        assert_eq!(text.search(org, &query("lovelace")).total, 0);
        assert_eq!(text.search(org, &query("king")).first, vec![id(1)]);
        text.set_disabled(org, id(1), true);
        let disabled = TextQuery {
            disabled: Some(true),
            ..query("")
        };
        assert_eq!(text.search(org, &disabled).total, 2);
        text.remove(org, id(3));
        assert_eq!(text.search(org, &query("")).total, 2);

        for n in 1_000..4_000 {
            text.put(org, id(n), &format!("p{n}@example.org"), "Someone", false);
        }
        for n in 1_000..3_900 {
            text.remove(org, id(n));
        }
        let buffer = &text.orgs[&org];
        assert!(
            buffer.dead < MIN_DEAD_TO_COMPACT,
            "compacted: {}",
            buffer.dead
        );
        assert_eq!(text.search(org, &query("")).total, 102);
        assert_eq!(text.search(org, &query("p3950@")).first, vec![id(3_950)]);
        assert_eq!(text.search(org, &query("king")).first, vec![id(1)]);
        let (_, index) = text.entry[&id(3_950)];
        assert_eq!(buffer.email(index), "p3950@example.org");
        assert_eq!(buffer.name(index), "Someone");
    }
}
