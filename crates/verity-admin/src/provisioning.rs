//! What a provisioning system (SCIM, docs/scim.md) does to people: create them with their
//! directory attributes (with or without the temporary-password email), set what it
//! manages in one append, delete them, and find them with a [`PeopleFilter`] a page at a
//! time. Every method takes the actor like every other admin command, so a SCIM token
//! reaches its own organization's people only.

use verity_domain::scim_token::Invitations;
use verity_domain::user::{self, Directory, ProfileError, Provision, User, UserCommand, UserError};
use verity_domain::{Email, ExecuteError, StoreError};
use verity_projection::PersonSummary;

use crate::actor::{Actor, Call};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::invitations::NewPerson;
use crate::organizations::{self, OrgRef};
use crate::people::{Person, PersonRef, taken};
use crate::people_filter::{FilterAttribute, Filterable, PeopleFilter};

/// A person as a provisioning system describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedPerson {
    /// Their sign-in address (SCIM's `userName`), as given.
    pub email: String,
    /// Their display name; on creation without one: the formatted name, else the given
    /// and family names, else the address. On a change without one: as it is.
    pub name: Option<String>,
    /// The directory attributes, as a whole.
    pub directory: Directory,
    /// Whether they may sign in; without it: active on creation, as it is on a change.
    pub active: Option<bool>,
}

/// One page of people matching a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPeople {
    /// The people on the page, in order of address.
    pub people: Vec<Person>,
    /// How many match in all.
    pub total: usize,
}

impl Admin {
    /// Creates a person of `org` as a provisioning system describes them: the
    /// temporary-password email first (unless `invitations` says none), then one append
    /// with the account and its directory attributes; `active: false` disables them
    /// right after.
    pub async fn provision_person(
        &self,
        actor: &Actor,
        call: &Call,
        org: &OrgRef,
        person: &ProvisionedPerson,
        invitations: Invitations,
    ) -> Result<Person, AdminError> {
        let name = match &person.name {
            Some(name) => name.clone(),
            None => default_name(&person.directory, &person.email),
        };
        let new = NewPerson {
            org: org.clone(),
            email: person.email.clone(),
            name,
        };
        let account = self
            .prepare_account(actor, call, &new, &person.directory)
            .await?;
        let sent = match invitations {
            Invitations::TemporaryPassword => {
                self.send_invitation(&account).await?;
                true
            }
            Invitations::None => false,
        };
        self.record_account(actor, call, &account, sent).await?;
        let created = PersonRef::Id(account.user_id);
        if person.active == Some(false) {
            return self.disable_person(actor, call, &created).await;
        }
        self.person(actor, &created)
    }

    /// Sets what a provisioning system manages about a person, in one append: what
    /// differs from the person as they are is recorded (name and address with their
    /// values before and after, the directory attributes, `active: false` disabling them
    /// and ending every session); nothing differing writes nothing. With `if_version`,
    /// refused as a conflict unless the person's version is that one.
    pub async fn reprovision_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
        wanted: &ProvisionedPerson,
        if_version: Option<u64>,
    ) -> Result<Person, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        if let Some(version) = if_version
            && version != view.version
        {
            return Err(AdminError::Conflict(format!(
                "the person is at version {}, not {version}",
                view.version
            )));
        }
        let email = Email::parse(&wanted.email)?;
        let command = UserCommand::Provision(Provision {
            name: wanted.name.clone(),
            email: Some(email.clone()),
            directory: Some(wanted.directory.clone()),
            active: wanted.active,
        });
        match self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await
        {
            Ok(outcome) => self.wait_for(outcome.position).await?,
            Err(ExecuteError::Rejected(UserError::Profile(ProfileError::Unchanged))) => {}
            Err(ExecuteError::Store(StoreError::UniqueKeyTaken { .. })) => {
                let org = self.read(|models| models.organizations.get(view.org_id).cloned());
                return Err(match org {
                    Some(org) => taken(&email, &org),
                    None => AdminError::Conflict("that address already has an account".into()),
                });
            }
            Err(error) => return Err(error.into()),
        }
        self.person(actor, &PersonRef::Id(view.user_id))
    }

    /// Deletes a person: every session ends, they leave every list and lookup, their
    /// address is free again; their history stays in the log.
    pub async fn delete_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<(), AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let outcome = self
            .decide::<User>(
                actor,
                call,
                &user::stream(view.user_id),
                &UserCommand::Delete,
            )
            .await?;
        self.wait_for(outcome.position).await
    }

    /// The people of `org` that `filter` wants (all without one), in order of address:
    /// `count` of them from the `offset`-th, and how many match in all. An exact
    /// `userName eq` is answered from the address index.
    pub fn find_people(
        &self,
        actor: &Actor,
        org: &OrgRef,
        filter: Option<&PeopleFilter>,
        offset: usize,
        count: usize,
    ) -> Result<FoundPeople, AdminError> {
        self.read(|models| {
            let org = organizations::visible(models, actor, org)?;
            authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
            if let Some(address) = filter.and_then(PeopleFilter::exact_user_name) {
                let found: Vec<PersonSummary> = Email::parse(address)
                    .ok()
                    .and_then(|email| models.users.find_by_email(org.org_id, &email))
                    .into_iter()
                    .collect();
                return Ok(FoundPeople {
                    total: found.len(),
                    people: found
                        .into_iter()
                        .skip(offset)
                        .take(count)
                        .map(Person::from)
                        .collect(),
                });
            }
            let wanted = |view: &PersonSummary| filter.is_none_or(|filter| filter.matches(view));
            let mut total = 0;
            let mut people = Vec::with_capacity(count.min(200));
            for view in models.users.in_org_after(org.org_id, None).filter(wanted) {
                if total >= offset && people.len() < count {
                    people.push(Person::from(view));
                }
                total += 1;
            }
            Ok(FoundPeople { people, total })
        })
    }
}

impl Filterable for PersonSummary {
    fn texts(&self, attribute: FilterAttribute) -> Vec<&str> {
        match attribute {
            FilterAttribute::UserName => vec![self.email.as_str()],
            FilterAttribute::EmailValue => self
                .directory
                .emails
                .iter()
                .map(|email| email.value.as_str())
                .collect(),
            FilterAttribute::ExternalId => {
                self.directory.external_id.as_deref().into_iter().collect()
            }
            FilterAttribute::DisplayName => vec![self.name.as_str()],
            FilterAttribute::Active => Vec::new(),
        }
    }

    fn active(&self) -> bool {
        !self.disabled
    }
}

/// The name of a person created without one: the formatted name, else the given and
/// family names, else the address.
fn default_name(directory: &Directory, email: &str) -> String {
    let name = &directory.name;
    if let Some(formatted) = name.formatted.as_deref().filter(|f| !f.trim().is_empty()) {
        return formatted.trim().to_owned();
    }
    let parts: Vec<&str> = [name.given_name.as_deref(), name.family_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        email.trim().to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::user::NameParts;

    use super::*;

    #[test]
    fn a_person_without_a_display_name_is_named_from_their_name_parts_or_address() {
        let mut directory = Directory::default();
        assert_eq!(
            default_name(&directory, " ada@example.org"),
            "ada@example.org"
        );
        directory.name = NameParts {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            ..NameParts::default()
        };
        assert_eq!(default_name(&directory, "ada@example.org"), "Ada Lovelace");
        directory.name.formatted = Some("Ms. Ada Lovelace".into());
        assert_eq!(
            default_name(&directory, "ada@example.org"),
            "Ms. Ada Lovelace"
        );
    }
}
