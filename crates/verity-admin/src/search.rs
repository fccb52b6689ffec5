//! Finding people in an organization a page at a time: by part of their address or
//! name (case-insensitive) and by status, in order of address, with an opaque cursor.
//! A page reads only as far as it needs; the total counts every match (a pass over the
//! organization's people in memory, no copy of them).

use verity_projection::UserView;

use crate::actor::Actor;
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::organizations::{self, OrgRef};
use crate::people::{Person, Status};

/// Most people one page holds.
pub const MAX_PAGE: usize = 200;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleQuery {
    /// The organization.
    pub org: OrgRef,
    /// Part of an address or a name, any case; empty: everyone.
    pub text: String,
    /// Only people with this status.
    pub status: Option<Status>,
    /// The cursor of the page before ([`PeoplePage::next`]); none: the first page.
    pub after: Option<String>,
    /// How many people per page (at most [`MAX_PAGE`]; 0 gives the total alone).
    pub limit: usize,
}

/// One page of people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeoplePage {
    /// The people on it, by address.
    pub people: Vec<Person>,
    /// How many people match in all.
    pub total: usize,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// The prefix of a cursor (a cursor is the last address of its page).
const CURSOR: &str = "after:";

impl Admin {
    /// A page of the people of an organization that match the query.
    pub fn search_people(
        &self,
        actor: &Actor,
        query: &PeopleQuery,
    ) -> Result<PeoplePage, AdminError> {
        let after = match query.after.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(parse_cursor(cursor)?),
        };
        let needle = query.text.trim().to_lowercase();
        let limit = query.limit.min(MAX_PAGE);
        self.read(|models| {
            let org = organizations::visible(models, actor, &query.org)?;
            authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
            let matching = |view: &&UserView| {
                query.status.is_none_or(|status| status_of(view) == status)
                    && matches_text(view, &needle)
            };
            let total = models
                .users
                .in_org_after(org.org_id, None)
                .filter(matching)
                .count();
            let mut page: Vec<&UserView> = models
                .users
                .in_org_after(org.org_id, after.as_ref())
                .filter(matching)
                .take(limit + 1)
                .collect();
            let more = page.len() > limit;
            page.truncate(limit);
            let next = match page.last() {
                Some(last) if more => Some(format!("{CURSOR}{}", last.email)),
                _ => None,
            };
            Ok(PeoplePage {
                people: page.into_iter().map(Person::from).collect(),
                total,
                next,
            })
        })
    }
}

fn parse_cursor(cursor: &str) -> Result<verity_domain::Email, AdminError> {
    cursor
        .strip_prefix(CURSOR)
        .and_then(|email| verity_domain::Email::parse(email).ok())
        .ok_or_else(|| AdminError::Invalid("the page cursor is not one this server gave".into()))
}

fn status_of(view: &UserView) -> Status {
    if view.disabled {
        Status::Disabled
    } else {
        Status::Active
    }
}

/// Whether `needle` (lower case) is part of the person's address or name, in any case.
fn matches_text(view: &UserView, needle: &str) -> bool {
    needle.is_empty()
        || view.email.as_str().contains(needle)
        || contains_ignoring_case(&view.name, needle)
}

/// Whether `haystack` contains `needle` (lower case), ignoring case; without allocating
/// when both are ASCII (almost every name), which keeps a search over a hundred thousand
/// people within a few milliseconds.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
        return haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_in_any_case_with_or_without_ascii() {
        assert!(contains_ignoring_case("Ada Lovelace", "love"));
        assert!(contains_ignoring_case("Ada Lovelace", "ada l"));
        assert!(!contains_ignoring_case("Ada Lovelace", "bob"));
        assert!(contains_ignoring_case("Émile Zola", "émile"));
        assert!(contains_ignoring_case("ÉMILE ZOLA", "émile"));
        assert!(!contains_ignoring_case("Ada", "ada lovelace"));
    }

    #[test]
    fn a_cursor_is_one_this_server_gave() {
        assert_eq!(
            parse_cursor("after:ada@example.org").unwrap().as_str(),
            "ada@example.org"
        );
        for forged in ["ada@example.org", "after:", "after:not an address"] {
            assert!(matches!(parse_cursor(forged), Err(AdminError::Invalid(_))));
        }
    }
}
