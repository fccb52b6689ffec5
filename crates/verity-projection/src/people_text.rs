//! The searchable text of each organization's people: every person's address and
//! lower-cased name in one buffer per organization, so that "Search users" is one
//! SIMD substring scan over contiguous memory (`memchr::memmem`) instead of a walk over a
//! hundred thousand views scattered on the heap (docs/performance.md, "The console's
//! Users page").
//!
//! A change appends the person's new entry and leaves the old one dead; the buffer is
//! rewritten when the dead outnumber the living. The index is derived from the views and
//! never stored: a snapshot rebuilds it.

use std::collections::{BinaryHeap, HashMap};

use memchr::memmem;
use uuid::Uuid;

/// Separates a person's address from their name inside an entry.
const FIELD_END: u8 = 0x1f;
/// Ends an entry.
const ENTRY_END: u8 = b'\n';
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

/// The searchable text of every organization.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeopleText {
    orgs: HashMap<Uuid, OrgText>,
}

impl PeopleText {
    /// Records a person's current address, name and status (replacing what was there).
    pub(crate) fn put(
        &mut self,
        org_id: Uuid,
        user_id: Uuid,
        email: &str,
        name: &str,
        disabled: bool,
    ) {
        self.orgs
            .entry(org_id)
            .or_default()
            .put(user_id, email, name, disabled);
    }

    /// Notes a person's status.
    pub(crate) fn set_disabled(&mut self, org_id: Uuid, user_id: Uuid, disabled: bool) {
        if let Some(org) = self.orgs.get_mut(&org_id) {
            org.set_disabled(user_id, disabled);
        }
    }

    /// Forgets a person.
    pub(crate) fn remove(&mut self, org_id: Uuid, user_id: Uuid) {
        if let Some(org) = self.orgs.get_mut(&org_id) {
            org.remove(user_id);
        }
    }

    /// The people of `org_id` that match.
    pub(crate) fn search(&self, org_id: Uuid, query: &TextQuery<'_>) -> TextMatches {
        self.orgs
            .get(&org_id)
            .map(|org| org.search(query))
            .unwrap_or_default()
    }
}

/// One person's entry: `text[start..end]` is `address FIELD_END name ENTRY_END`.
#[derive(Debug, Clone)]
struct Entry {
    start: usize,
    email_end: usize,
    end: usize,
    user_id: Uuid,
    disabled: bool,
    live: bool,
}

/// One organization's buffer.
#[derive(Debug, Clone, Default)]
struct OrgText {
    text: Vec<u8>,
    /// In buffer order, so the entry of a position is found by binary search.
    entries: Vec<Entry>,
    /// Each person's live entry.
    slot: HashMap<Uuid, usize>,
    dead: usize,
}

impl OrgText {
    fn put(&mut self, user_id: Uuid, email: &str, name: &str, disabled: bool) {
        self.remove(user_id);
        self.push(
            user_id,
            email.as_bytes(),
            name.to_lowercase().as_bytes(),
            disabled,
        );
    }

    /// Appends an entry; `name` is lower case already.
    fn push(&mut self, user_id: Uuid, email: &[u8], name: &[u8], disabled: bool) {
        // Control characters never match a search (see `search`), so leaving them out
        // cannot hide anyone, and keeps the separators unambiguous.
        let printable = |byte: &&u8| !byte.is_ascii_control();
        let start = self.text.len();
        self.text.extend(email.iter().filter(printable));
        let email_end = self.text.len();
        self.text.push(FIELD_END);
        self.text.extend(name.iter().filter(printable));
        self.text.push(ENTRY_END);
        self.slot.insert(user_id, self.entries.len());
        self.entries.push(Entry {
            start,
            email_end,
            end: self.text.len(),
            user_id,
            disabled,
            live: true,
        });
    }

    fn set_disabled(&mut self, user_id: Uuid, disabled: bool) {
        if let Some(entry) = self
            .slot
            .get(&user_id)
            .and_then(|&index| self.entries.get_mut(index))
        {
            entry.disabled = disabled;
        }
    }

    fn remove(&mut self, user_id: Uuid) {
        let Some(index) = self.slot.remove(&user_id) else {
            return;
        };
        if let Some(entry) = self.entries.get_mut(index) {
            entry.live = false;
            self.dead += 1;
        }
        if self.dead >= MIN_DEAD_TO_COMPACT && self.dead > self.slot.len() {
            self.compact();
        }
    }

    /// Rewrites the buffer with the live entries only.
    fn compact(&mut self) {
        let old = std::mem::take(self);
        for entry in old.entries.iter().filter(|entry| entry.live) {
            let name = old
                .text
                .get(entry.email_end + 1..entry.end.saturating_sub(1))
                .unwrap_or_default();
            self.push(entry.user_id, old.email(entry), name, entry.disabled);
        }
    }

    fn email(&self, entry: &Entry) -> &[u8] {
        self.text
            .get(entry.start..entry.email_end)
            .unwrap_or_default()
    }

    fn search(&self, query: &TextQuery<'_>) -> TextMatches {
        let mut found = Selection::new(self, query);
        if query.needle.is_empty() {
            self.entries
                .iter()
                .filter(|entry| entry.live)
                .for_each(|entry| found.offer(entry));
            return found.finish();
        }
        if query.needle.bytes().any(|byte| byte.is_ascii_control()) {
            return found.finish();
        }
        let finder = memmem::Finder::new(query.needle.as_bytes());
        let mut from = 0;
        while let Some(at) = self.text.get(from..).and_then(|rest| finder.find(rest)) {
            let at = from + at;
            // The entry holding the match: the last one starting at or before it.
            let Some(entry) = self
                .entries
                .partition_point(|entry| entry.start <= at)
                .checked_sub(1)
                .and_then(|index| self.entries.get(index))
            else {
                break;
            };
            if at + query.needle.len() <= entry.end {
                found.offer(entry);
            }
            // One match per entry is enough; a match that ran into the next entry's
            // text is looked for again from there.
            from = if at + query.needle.len() <= entry.end {
                entry.end
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
        let email = self.org.email(entry);
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
    }
}
