//! Roles: who may administer what (docs/roles.md). A [`Grant`] is a role held over a
//! [`Scope`]; a [`Holder`] (a person, or a service client of the admin API) holds grants
//! on a stream of their own (`roles-user-<id>`, `roles-client-<client_id>`), where
//! `role.granted` and `role.revoked` record each change with the admin who made it in the
//! metadata.
//!
//! Whether the admin giving the command may grant it is the admin layer's rule (an admin
//! cannot grant more than they hold); this aggregate keeps the holder's set of grants
//! consistent: a grant is given once and revoked only while held.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Context};
use crate::event::domain_events;

/// Stored type of [`RoleChanged`] when a grant is given.
pub const ROLE_GRANTED: &str = "role.granted";
/// Stored type of [`RoleChanged`] when a grant ends.
pub const ROLE_REVOKED: &str = "role.revoked";

/// The three roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    InstanceAdmin,
    /// The people, clients and roles of one organization.
    OrgAdmin,
    /// Reading people, history and audit of the instance or of one organization.
    Auditor,
}

impl Role {
    /// Every role, in the order lists show them.
    pub const ALL: [Role; 3] = [Role::InstanceAdmin, Role::OrgAdmin, Role::Auditor];

    /// The role's name, as `verity role grant` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstanceAdmin => "instance-admin",
            Self::OrgAdmin => "org-admin",
            Self::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A role name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: instance-admin, org-admin or auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// Where something lives, or how far a grant reaches: the whole instance, or one
/// organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The instance: organizations, signing keys, client networks, and the clients that
    /// belong to no organization.
    Instance,
    /// One organization and what it owns (its people and clients).
    Organization(Uuid),
}

impl Scope {
    /// Whether a grant over `self` reaches `target`: the instance reaches everything, an
    /// organization only itself.
    pub fn covers(self, target: Scope) -> bool {
        match (self, target) {
            (Self::Instance, _) => true,
            (Self::Organization(granted), Self::Organization(target)) => granted == target,
            (Self::Organization(_), Self::Instance) => false,
        }
    }

    /// The organization, for a scope of one.
    pub fn org_id(self) -> Option<Uuid> {
        match self {
            Self::Instance => None,
            Self::Organization(org_id) => Some(org_id),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instance => formatter.write_str("in this instance"),
            Self::Organization(org_id) => write!(formatter, "in organization {org_id}"),
        }
    }
}

/// A role held over a scope. The shape rules out grants that mean nothing (an org admin
/// of the whole instance, an instance admin of one organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    /// Everything, everywhere.
    InstanceAdmin,
    /// One organization's people, clients and roles.
    OrgAdmin {
        /// The organization.
        org_id: Uuid,
    },
    /// Read-only, over the instance or one organization.
    Auditor {
        /// How far the reading reaches.
        scope: Scope,
    },
}

/// A role and an organization that make no grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// `instance-admin` with an organization.
    #[error("instance-admin is a role of the whole instance, not of one organization")]
    InstanceRoleWithOrganization,
    /// `org-admin` without one.
    #[error("org-admin is a role in one organization: name it")]
    OrganizationRoleWithoutOrganization,
}

impl Grant {
    /// The grant of `role` in `org_id` (or instance-wide without one).
    pub fn new(role: Role, org_id: Option<Uuid>) -> Result<Self, GrantError> {
        match (role, org_id) {
            (Role::InstanceAdmin, None) => Ok(Self::InstanceAdmin),
            (Role::InstanceAdmin, Some(_)) => Err(GrantError::InstanceRoleWithOrganization),
            (Role::OrgAdmin, Some(org_id)) => Ok(Self::OrgAdmin { org_id }),
            (Role::OrgAdmin, None) => Err(GrantError::OrganizationRoleWithoutOrganization),
            (Role::Auditor, org_id) => Ok(Self::Auditor {
                scope: org_id.map_or(Scope::Instance, Scope::Organization),
            }),
        }
    }

    /// The role granted.
    pub fn role(self) -> Role {
        match self {
            Self::InstanceAdmin => Role::InstanceAdmin,
            Self::OrgAdmin { .. } => Role::OrgAdmin,
            Self::Auditor { .. } => Role::Auditor,
        }
    }

    /// How far it reaches.
    pub fn scope(self) -> Scope {
        match self {
            Self::InstanceAdmin => Scope::Instance,
            Self::OrgAdmin { org_id } => Scope::Organization(org_id),
            Self::Auditor { scope } => scope,
        }
    }

    /// Whether holding `self` is holding at least `other`: what an admin may hand on.
    /// An instance admin holds every grant; an org admin their organization's org-admin
    /// and auditor grants; an auditor only the same auditor grant or a narrower one.
    pub fn includes(self, other: Grant) -> bool {
        if !self.scope().covers(other.scope()) {
            return false;
        }
        matches!(
            (self, other),
            (Self::InstanceAdmin, _)
                | (
                    Self::OrgAdmin { .. },
                    Self::OrgAdmin { .. } | Self::Auditor { .. }
                )
                | (Self::Auditor { .. }, Self::Auditor { .. })
        )
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.role(), self.scope())
    }
}

/// Who holds grants: a person, or a service client that calls the admin API with its
/// own tokens (`client_credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// A person.
    User {
        /// Their user id.
        user_id: Uuid,
    },
    /// A service client.
    Client {
        /// Its client id.
        client_id: String,
    },
}

impl Holder {
    /// The stream of the holder's grants.
    pub fn stream(&self) -> String {
        match self {
            Self::User { user_id } => format!("roles-user-{user_id}"),
            Self::Client { client_id } => format!("roles-client-{client_id}"),
        }
    }
}

/// Payload of `role.granted` and `role.revoked`: whose grant, which role, in which
/// organization (none: the instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChanged {
    /// Who holds (or held) it.
    pub holder: Holder,
    /// The role.
    pub role: Role,
    /// The organization, for a grant in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
}

impl RoleChanged {
    fn new(holder: &Holder, grant: Grant) -> Self {
        Self {
            holder: holder.clone(),
            role: grant.role(),
            org_id: grant.scope().org_id(),
        }
    }

    /// The grant it names; `None` for a stored combination that makes no grant (not
    /// written by this aggregate).
    pub fn grant(&self) -> Option<Grant> {
        Grant::new(self.role, self.org_id).ok()
    }
}

/// What a holder's roles record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleEvent {
    /// `role.granted`
    Granted(RoleChanged),
    /// `role.revoked`
    Revoked(RoleChanged),
}

domain_events! {
    RoleEvent {
        Granted(RoleChanged) => ROLE_GRANTED,
        Revoked(RoleChanged) => ROLE_REVOKED,
    }
}

/// What can be asked of a holder's roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCommand {
    /// Give `grant` to `holder`.
    Grant {
        /// Who.
        holder: Holder,
        /// What.
        grant: Grant,
    },
    /// End `holder`'s `grant`.
    Revoke {
        /// Who.
        holder: Holder,
        /// What.
        grant: Grant,
    },
}

/// Why a role command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The holder already holds the grant.
    #[error("they already hold {0}")]
    AlreadyHeld(Grant),
    /// The holder does not hold the grant.
    #[error("they do not hold {0}")]
    NotHeld(Grant),
}

/// A holder's grants as the rules see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// What they hold now.
    pub held: Vec<Grant>,
}

impl Aggregate for Roles {
    type Command = RoleCommand;
    type Event = RoleEvent;
    type Error = RoleError;

    fn decide(
        &self,
        command: &Self::Command,
        _context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            RoleCommand::Grant { holder, grant } => {
                if self.held.contains(grant) {
                    return Err(RoleError::AlreadyHeld(*grant));
                }
                Ok(vec![RoleEvent::Granted(RoleChanged::new(holder, *grant))])
            }
            RoleCommand::Revoke { holder, grant } => {
                if !self.held.contains(grant) {
                    return Err(RoleError::NotHeld(*grant));
                }
                Ok(vec![RoleEvent::Revoked(RoleChanged::new(holder, *grant))])
            }
        }
    }

    fn evolve(mut self, event: &Self::Event) -> Self {
        match event {
            RoleEvent::Granted(changed) => {
                if let Some(grant) = changed.grant() {
                    self.held.push(grant);
                }
            }
            RoleEvent::Revoked(changed) => {
                if let Some(grant) = changed.grant() {
                    self.held.retain(|held| *held != grant);
                }
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::scenario::Scenario;

    const ORG: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn holder() -> Holder {
        Holder::User {
            user_id: Uuid::from_u128(9),
        }
    }

    fn granted(grant: Grant) -> RoleEvent {
        RoleEvent::Granted(RoleChanged::new(&holder(), grant))
    }

    #[test]
    fn the_events_keep_their_stored_shape() {
        use crate::event::{DomainEvent, recorded};
        let event = granted(Grant::OrgAdmin { org_id: ORG });
        assert_eq!(
            event.to_data(),
            format!(
                r#"{{"holder":{{"kind":"user","user_id":"{}"}},"role":"org-admin","org_id":"{ORG}"}}"#,
                Uuid::from_u128(9)
            )
        );
        let revoked = RoleEvent::Revoked(RoleChanged::new(
            &Holder::Client {
                client_id: "svc".into(),
            },
            Grant::InstanceAdmin,
        ));
        assert_eq!(
            revoked.to_data(),
            r#"{"holder":{"kind":"client","client_id":"svc"},"role":"instance-admin"}"#
        );
        let stored = recorded(holder().stream(), &event);
        assert_eq!(stored.stream, format!("roles-user-{}", Uuid::from_u128(9)));
        assert_eq!(RoleEvent::decode(&stored), Ok(Some(event)));
    }

    #[test]
    fn a_role_and_an_organization_make_a_grant_only_where_they_mean_something() {
        assert_eq!(
            Grant::new(Role::InstanceAdmin, None),
            Ok(Grant::InstanceAdmin)
        );
        assert_eq!(
            Grant::new(Role::InstanceAdmin, Some(ORG)),
            Err(GrantError::InstanceRoleWithOrganization)
        );
        assert_eq!(
            Grant::new(Role::OrgAdmin, None),
            Err(GrantError::OrganizationRoleWithoutOrganization)
        );
        assert_eq!(
            Grant::new(Role::Auditor, None),
            Ok(Grant::Auditor {
                scope: Scope::Instance
            })
        );
        assert_eq!(
            Grant::new(Role::Auditor, Some(ORG)).map(Grant::scope),
            Ok(Scope::Organization(ORG))
        );
        assert_eq!("Org-Admin".parse::<Role>(), Ok(Role::OrgAdmin));
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn an_admin_holds_what_they_may_hand_on_and_no_more() {
        let org_admin = Grant::OrgAdmin { org_id: ORG };
        let org_auditor = Grant::Auditor {
            scope: Scope::Organization(ORG),
        };
        let instance_auditor = Grant::Auditor {
            scope: Scope::Instance,
        };
        for grant in [
            org_admin,
            org_auditor,
            instance_auditor,
            Grant::InstanceAdmin,
        ] {
            assert!(Grant::InstanceAdmin.includes(grant));
        }
        assert!(org_admin.includes(org_admin));
        assert!(org_admin.includes(org_auditor));
        assert!(!org_admin.includes(Grant::OrgAdmin { org_id: OTHER }));
        assert!(!org_admin.includes(instance_auditor));
        assert!(!org_admin.includes(Grant::InstanceAdmin));
        assert!(instance_auditor.includes(org_auditor));
        assert!(!org_auditor.includes(org_admin));
        assert!(!instance_auditor.includes(Grant::InstanceAdmin));
    }

    #[test]
    fn a_grant_is_given_once_and_revoked_while_held() {
        let grant = Grant::OrgAdmin { org_id: ORG };
        Scenario::<Roles>::given([])
            .when(RoleCommand::Grant {
                holder: holder(),
                grant,
            })
            .then([granted(grant)]);
        Scenario::<Roles>::given([granted(grant)])
            .when(RoleCommand::Grant {
                holder: holder(),
                grant,
            })
            .then_err(RoleError::AlreadyHeld(grant));
        Scenario::<Roles>::given([granted(grant)])
            .when(RoleCommand::Revoke {
                holder: holder(),
                grant,
            })
            .then([RoleEvent::Revoked(RoleChanged::new(&holder(), grant))]);
        Scenario::<Roles>::given([
            granted(grant),
            RoleEvent::Revoked(RoleChanged::new(&holder(), grant)),
        ])
        .when(RoleCommand::Revoke {
            holder: holder(),
            grant,
        })
        .then_err(RoleError::NotHeld(grant));
    }

    #[test]
    fn grants_of_other_organizations_are_their_own() {
        let here = Grant::OrgAdmin { org_id: ORG };
        let there = Grant::OrgAdmin { org_id: OTHER };
        Scenario::<Roles>::given([granted(here)])
            .when(RoleCommand::Grant {
                holder: holder(),
                grant: there,
            })
            .then([granted(there)]);
        Scenario::<Roles>::given([granted(here)])
            .when(RoleCommand::Revoke {
                holder: holder(),
                grant: there,
            })
            .then_err(RoleError::NotHeld(there));
    }
}
