//! People: finding one (by id, or by address in an organization), listing an
//! organization's, disabling and enabling. Creating a person and resetting a password
//! send an email first: [`crate::invitations`].

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::user::{self, Directory, ProfileError, User, UserCommand, UserError};
use verity_domain::{Email, ExecuteError, StoreError};
use verity_projection::{OrganizationView, PasswordStatus, PersonSummary, ReadModels, UserView};

use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::{AdminError, Missing};
use crate::organizations::{self, OrgRef};

/// A person as a door names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRef {
    /// By user id (the console, the API).
    Id(Uuid),
    /// By address in an organization (the CLI). The address is checked here.
    Email {
        /// The organization.
        org: OrgRef,
        /// The address, as given.
        email: String,
    },
    /// By address alone: the one person with it among those the actor may see (the
    /// same address in two organizations is two people, and then the organization must
    /// be named).
    Address(String),
}

/// What an admin changes about a person; `None` leaves it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonChanges {
    /// A new display name.
    pub name: Option<String>,
    /// A new sign-in address (unique in the organization; checked here).
    pub email: Option<String>,
}

/// Whether a person may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// They may.
    Active,
    /// An admin disabled them.
    Disabled,
}

impl Status {
    /// `active` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// Which password a person has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    /// A temporary one from an admin, to be replaced at the next sign-in.
    Temporary,
    /// One they chose.
    Chosen,
}

impl PasswordKind {
    /// `temporary` or `chosen`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Chosen => "chosen",
        }
    }
}

/// A person as admins see them: no hash, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their id.
    pub user_id: Uuid,
    /// Their organization.
    pub org_id: Uuid,
    /// Their sign-in address.
    pub email: Email,
    /// Their display name.
    pub name: String,
    /// Whether they may sign in.
    pub status: Status,
    /// Which password they have.
    pub password: PasswordKind,
    /// Whether they have set up an authenticator app.
    pub has_authenticator: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When they last signed in, if ever.
    pub last_sign_in: Option<DateTime<Utc>>,
    /// What a provisioning system keeps about them (external id, name parts, other
    /// addresses).
    pub directory: Directory,
    /// Their record's version: it changes with every change (SCIM's `meta.version`).
    pub version: u64,
}

impl From<PersonSummary> for Person {
    fn from(person: PersonSummary) -> Self {
        Self {
            user_id: person.user_id,
            org_id: person.org_id,
            email: person.email,
            name: person.name,
            status: if person.disabled {
                Status::Disabled
            } else {
                Status::Active
            },
            password: match person.password {
                PasswordStatus::Temporary { .. } => PasswordKind::Temporary,
                PasswordStatus::Chosen { .. } => PasswordKind::Chosen,
            },
            has_authenticator: person.has_authenticator,
            created_at: person.created_at,
            updated_at: person.updated_at,
            last_sign_in: person.last_sign_in,
            directory: person.directory,
            version: person.version,
        }
    }
}

/// The scope a person lives in: their organization.
pub(crate) fn scope(view: &PersonSummary) -> Scope {
    Scope::Organization(view.org_id)
}

impl Admin {
    /// One person, if the actor may see them; else "not found", as if they did not exist.
    pub fn person(&self, actor: &Actor, person: &PersonRef) -> Result<Person, AdminError> {
        Ok(Person::from(self.find_person(actor, person)?))
    }

    /// The people of an organization, by address.
    pub fn people(&self, actor: &Actor, org: &OrgRef) -> Result<Vec<Person>, AdminError> {
        self.read(|models| {
            let org = organizations::visible(models, actor, org)?;
            authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
            Ok(models
                .users
                .list_in_org(org.org_id)
                .into_iter()
                .map(Person::from)
                .collect())
        })
    }

    /// Blocks a person's sign-in.
    pub async fn disable_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<Person, AdminError> {
        self.change_person(actor, call, person, UserCommand::Disable)
            .await
    }

    /// Lets a disabled person sign in again.
    pub async fn enable_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<Person, AdminError> {
        self.change_person(actor, call, person, UserCommand::Enable)
            .await
    }

    /// Ends every session of the person at once (`user.sessions.ended`, reason
    /// `signed_out`): their refresh and access tokens stop working and their applications
    /// are told; their trusted devices stay. Returns how many sessions were live.
    pub async fn sign_out_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<(Person, usize), AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let live = self.read(|models| models.sessions.of_person(view.user_id).len());
        let command = UserCommand::SignOut { except_sid: None };
        let person = self.change_person(actor, call, person, command).await?;
        Ok((person, live))
    }

    /// Changes the person's name, address, or both (what is `None` stays): one append
    /// with `user.name.changed` and `user.email.changed` carrying the values before and
    /// after. Asking for the values they have already writes nothing and answers the
    /// person as they are. An address another person of the organization has is a
    /// conflict.
    pub async fn update_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
        changes: &PersonChanges,
    ) -> Result<Person, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let email = changes.email.as_deref().map(Email::parse).transpose()?;
        let command = UserCommand::ChangeProfile {
            name: changes.name.clone(),
            email: email.clone(),
        };
        match self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await
        {
            Ok(outcome) => self.wait_for(outcome.position).await?,
            Err(ExecuteError::Rejected(UserError::Profile(ProfileError::Unchanged))) => {}
            Err(ExecuteError::Store(StoreError::UniqueKeyTaken { .. })) => {
                let org = self.read(|models| models.organizations.get(view.org_id).cloned());
                return Err(match (email, org) {
                    (Some(email), Some(org)) => taken(&email, &org),
                    _ => AdminError::Conflict("that address already has an account".into()),
                });
            }
            Err(error) => return Err(error.into()),
        }
        self.person(actor, &PersonRef::Id(view.user_id))
    }

    async fn change_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
        command: UserCommand,
    ) -> Result<Person, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let outcome = self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await?;
        self.wait_for(outcome.position).await?;
        self.person(actor, &PersonRef::Id(view.user_id))
    }

    /// The person `person` names, with everything the read models know, if the actor may
    /// see them.
    pub(crate) fn find_person(
        &self,
        actor: &Actor,
        person: &PersonRef,
    ) -> Result<PersonSummary, AdminError> {
        let lookup = match person {
            PersonRef::Id(user_id) => Lookup::Id(*user_id),
            PersonRef::Email { org, email } => Lookup::Email {
                org,
                email: Email::parse(email)?,
            },
            PersonRef::Address(email) => Lookup::Address(Email::parse(email)?),
        };
        self.read(|models| lookup.visible(models, actor))
    }

    /// [`Admin::find_person`], then refused unless the actor may manage people there.
    pub(crate) fn person_to_manage(
        &self,
        actor: &Actor,
        person: &PersonRef,
    ) -> Result<PersonSummary, AdminError> {
        let view = self.find_person(actor, person)?;
        authorize(actor, Permission::ManagePeople, scope(&view))?;
        Ok(view)
    }

    /// A person's whole record (second factor included), folded from their stream, once
    /// the actor was allowed to see or manage them.
    pub(crate) async fn record_of(&self, person: &PersonSummary) -> Result<UserView, AdminError> {
        verity_projection::load_person(self.ports.store.as_ref(), person.user_id)
            .await?
            .ok_or(AdminError::NotFound(Missing::PersonId(person.user_id)))
    }
}

/// A [`PersonRef`] with its address checked.
enum Lookup<'a> {
    Id(Uuid),
    Email { org: &'a OrgRef, email: Email },
    Address(Email),
}

impl Lookup<'_> {
    /// The person it names, if the actor may see them.
    fn visible(&self, models: &ReadModels, actor: &Actor) -> Result<PersonSummary, AdminError> {
        let readable = |view: &PersonSummary| actor.may(Permission::ReadPeople, scope(view));
        match self {
            Self::Id(user_id) => models
                .users
                .get(*user_id)
                .filter(readable)
                .ok_or(AdminError::NotFound(Missing::PersonId(*user_id))),
            Self::Email { org, email } => {
                let org = organizations::visible(models, actor, org)?;
                models
                    .users
                    .find_by_email(org.org_id, email)
                    .filter(readable)
                    .ok_or_else(|| {
                        AdminError::NotFound(Missing::Person {
                            email: email.clone(),
                            organization: org.name.clone(),
                        })
                    })
            }
            Self::Address(email) => {
                let mut found: Vec<PersonSummary> = models
                    .users
                    .find_by_email_anywhere(email)
                    .into_iter()
                    .filter(|view| readable(view))
                    .collect();
                match found.as_slice() {
                    [_] => Ok(found.swap_remove(0)),
                    [] => Err(AdminError::NotFound(Missing::Address(email.clone()))),
                    several => Err(AdminError::Conflict(format!(
                        "{email} is the address of people in {} organizations: name the organization",
                        several.len()
                    ))),
                }
            }
        }
    }
}

/// The address is taken in the organization.
pub(crate) fn taken(email: &Email, org: &OrganizationView) -> AdminError {
    AdminError::Conflict(format!(
        "{email} already has an account in organization {}",
        org.name
    ))
}
