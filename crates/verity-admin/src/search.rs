//! Finding people in an organization a page at a time: by part of their address or
//! name (case-insensitive) and by status, in order of address, with an opaque cursor.
//! The users read model keeps each organization's addresses and names in one buffer; a
//! search is one substring scan over it that counts every match and keeps the first page
//! (`verity_projection::people_text`).

use verity_projection::{PersonSummary, TextQuery};

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
            let found = models.users.search_in_org(
                org.org_id,
                &TextQuery {
                    needle: &needle,
                    disabled: query.status.map(|status| status == Status::Disabled),
                    after: after.as_ref().map(verity_domain::Email::as_str),
                    limit: limit + 1,
                },
            );
            let mut page: Vec<PersonSummary> = found
                .first
                .iter()
                .filter_map(|user_id| models.users.get(*user_id))
                .collect();
            let more = page.len() > limit;
            page.truncate(limit);
            let next = match page.last() {
                Some(last) if more => Some(format!("{CURSOR}{}", last.email)),
                _ => None,
            };
            Ok(PeoplePage {
                people: page.into_iter().map(Person::from).collect(),
                total: found.total,
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

#[cfg(test)]
mod tests {
    use super::*;

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
