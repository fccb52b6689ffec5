//! Roles: granting, revoking and listing who holds which (docs/roles.md), and the grants a
//! door reads to learn what a signed-in admin or a service client may do.
//!
//! The rules, besides the one authorization rule:
//! - an admin cannot grant or revoke more than they hold ([`Grant::includes`]);
//! - an organization's roles go to its own people, and to clients of that organization
//!   or of none;
//! - each grant and revocation is an event on the holder's stream naming the admin.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::role::{Grant, Holder, RoleCommand, Roles, Scope};
use verity_projection::{ReadModels, RoleAssignment};

use crate::actor::{Actor, Call};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::organizations::{self, OrgRef};
use crate::people::PersonRef;

/// Who a door names as the holder of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderRef {
    /// A person.
    Person(PersonRef),
    /// A service client, by id.
    Client(String),
}

/// A holder as lists show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderDetails {
    /// A person.
    Person {
        /// Their id.
        user_id: Uuid,
        /// Their organization.
        org_id: Uuid,
        /// Their sign-in address.
        email: String,
        /// Their display name.
        name: String,
    },
    /// A service client.
    Client {
        /// Its id.
        client_id: String,
        /// Its display name.
        name: String,
    },
}

impl HolderDetails {
    /// How the holder is named in one line: a person's address, a client's id.
    pub fn label(&self) -> &str {
        match self {
            Self::Person { email, .. } => email,
            Self::Client { client_id, .. } => client_id,
        }
    }
}

/// A grant someone holds, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHolding {
    /// Who holds it.
    pub holder: HolderDetails,
    /// What.
    pub grant: Grant,
    /// Since when.
    pub granted_at: DateTime<Utc>,
}

impl Admin {
    /// Gives `grant` to the holder: an event on their stream naming the actor.
    pub async fn grant_role(
        &self,
        actor: &Actor,
        call: &Call,
        holder: &HolderRef,
        grant: Grant,
    ) -> Result<RoleHolding, AdminError> {
        let found = self.holder_to_manage(actor, holder, grant)?;
        let command = RoleCommand::Grant {
            holder: found.clone(),
            grant,
        };
        let outcome = self
            .decide::<Roles>(actor, call, &found.stream(), &command)
            .await?;
        self.wait_for(outcome.position).await?;
        self.read(|models| {
            models
                .roles
                .all()
                .find(|held| held.holder == found && held.grant() == Some(grant))
                .and_then(|held| holding(models, held))
        })
        .ok_or_else(|| AdminError::Conflict(format!("{grant} was revoked meanwhile")))
    }

    /// Ends the holder's `grant`: an event on their stream naming the actor.
    pub async fn revoke_role(
        &self,
        actor: &Actor,
        call: &Call,
        holder: &HolderRef,
        grant: Grant,
    ) -> Result<(), AdminError> {
        let found = self.holder_to_manage(actor, holder, grant)?;
        let command = RoleCommand::Revoke {
            holder: found.clone(),
            grant,
        };
        let outcome = self
            .decide::<Roles>(actor, call, &found.stream(), &command)
            .await?;
        self.wait_for(outcome.position).await
    }

    /// The grants held now that the actor may read: those of one organization with
    /// `org`, else every one within the actor's reach (instance-wide grants only for
    /// those who read the instance's roles). Instance-wide grants first, then by
    /// organization, role and holder.
    pub fn roles(
        &self,
        actor: &Actor,
        org: Option<&OrgRef>,
    ) -> Result<Vec<RoleHolding>, AdminError> {
        self.read(|models| {
            let wanted = match org {
                Some(org) => {
                    let org = organizations::visible(models, actor, org)?;
                    let scope = organizations::scope(org);
                    authorize(actor, Permission::ReadRoles, scope)?;
                    Some(scope)
                }
                None => None,
            };
            Ok(models
                .roles
                .all()
                .filter(|held| {
                    held.grant().is_some_and(|grant| {
                        wanted.is_none_or(|scope| grant.scope() == scope)
                            && actor.may(Permission::ReadRoles, grant.scope())
                    })
                })
                .filter_map(|held| holding(models, held))
                .collect::<Vec<_>>())
        })
        .map(|mut holdings| {
            holdings.sort_by(|a, b| {
                (a.grant.scope(), a.grant.role(), a.holder.label()).cmp(&(
                    b.grant.scope(),
                    b.grant.role(),
                    b.holder.label(),
                ))
            });
            holdings
        })
    }

    /// The grants a person holds now: what a door's [`Actor`] for them carries. Asks no
    /// permission: it is how a door learns who is asking.
    pub fn grants_of_person(&self, user_id: Uuid) -> Vec<Grant> {
        self.read(|models| models.roles.grants_of_person(user_id))
    }

    /// The grants a service client holds now (for the admin API's `client_credentials`
    /// tokens).
    pub fn grants_of_client(&self, client_id: &str) -> Vec<Grant> {
        let holder = Holder::Client {
            client_id: client_id.to_owned(),
        };
        self.read(|models| models.roles.grants_of(&holder))
    }

    /// The holder, refused unless the actor may hand on `grant` and the holder may hold
    /// it. A holder the actor may not see is "not found".
    fn holder_to_manage(
        &self,
        actor: &Actor,
        holder: &HolderRef,
        grant: Grant,
    ) -> Result<Holder, AdminError> {
        authorize(actor, Permission::ManageRoles, grant.scope())?;
        if !actor.grants.iter().any(|held| held.includes(grant)) {
            return Err(AdminError::Forbidden {
                permission: Permission::ManageRoles,
                scope: grant.scope(),
            });
        }
        let (found, home) = match holder {
            HolderRef::Person(person) => {
                let view = self.find_person(actor, person)?;
                (
                    Holder::User {
                        user_id: view.user_id,
                    },
                    Some(view.org_id),
                )
            }
            HolderRef::Client(client_id) => {
                let client = self.client(actor, client_id)?;
                (
                    Holder::Client {
                        client_id: client.client_id,
                    },
                    client.settings.org_id,
                )
            }
        };
        if let Scope::Organization(org_id) = grant.scope()
            && home.is_some_and(|home| home != org_id)
        {
            return Err(AdminError::Invalid(format!(
                "{} in an organization is held by its own people and clients only",
                grant.role()
            )));
        }
        Ok(found)
    }
}

/// The holding as lists show it; `None` for a holder the read models no longer know
/// (a deleted client) or a stored grant that makes none.
fn holding(models: &ReadModels, held: &RoleAssignment) -> Option<RoleHolding> {
    let holder = match &held.holder {
        Holder::User { user_id } => {
            let view = models.users.get(*user_id)?;
            HolderDetails::Person {
                user_id: view.user_id,
                org_id: view.org_id,
                email: view.email.to_string(),
                name: view.name.clone(),
            }
        }
        Holder::Client { client_id } => {
            let view = models.clients.get(client_id)?;
            HolderDetails::Client {
                client_id: client_id.clone(),
                name: view.settings.name.clone(),
            }
        }
    };
    Some(RoleHolding {
        holder,
        grant: held.grant()?,
        granted_at: held.granted_at,
    })
}
