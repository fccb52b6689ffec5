//! The one authorization rule: which [`Permission`] a [`Grant`] gives, over which
//! [`Scope`]. Every command asks [`authorize`] before it decides anything; every query
//! reads only what [`Actor::may`] lets the actor read, so no door can forget either.
//!
//! What an actor may not read does not exist for them: looking it up answers "not
//! found", exactly as for something that does not exist, so ids and names of other
//! organizations cannot be probed. What they may read but not change answers
//! "forbidden".

use crate::actor::{Actor, Grant, Scope};
use crate::error::AdminError;
pub use crate::permission::Permission;

/// Whether `grant` allows `permission` on something that lives in `target`.
///
/// - An instance admin may do everything.
/// - An org admin may read their organization and manage its people, clients and roles;
///   nothing of the instance (other organizations, keys, networks).
/// - An auditor may read, within their scope, and change nothing.
pub fn allows(grant: Grant, permission: Permission, target: Scope) -> bool {
    if !grant.scope().covers(target) {
        return false;
    }
    match grant {
        Grant::InstanceAdmin => true,
        Grant::OrgAdmin { .. } => matches!(
            permission,
            Permission::ReadOrganizations
                | Permission::ReadPeople
                | Permission::ManagePeople
                | Permission::ReadClients
                | Permission::ManageClients
                | Permission::ReadRoles
                | Permission::ManageRoles
        ),
        Grant::Auditor { .. } => permission.is_read_only(),
    }
}

impl Actor {
    /// Whether any of the actor's grants allows `permission` in `target`.
    pub fn may(&self, permission: Permission, target: Scope) -> bool {
        self.grants
            .iter()
            .any(|grant| allows(*grant, permission, target))
    }
}

/// Refuses, as [`AdminError::Forbidden`], what the actor may not do.
pub fn authorize(actor: &Actor, permission: Permission, target: Scope) -> Result<(), AdminError> {
    if actor.may(permission, target) {
        Ok(())
    } else {
        tracing::info!(
            door = %actor.door,
            %permission,
            scope = %target,
            "admin action refused"
        );
        Err(AdminError::Forbidden {
            permission,
            scope: target,
        })
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::actor::{Door, Principal};

    const ALL: [Permission; 12] = [
        Permission::ReadOrganizations,
        Permission::ManageOrganizations,
        Permission::ReadPeople,
        Permission::ManagePeople,
        Permission::ReadClients,
        Permission::ManageClients,
        Permission::ReadRoles,
        Permission::ManageRoles,
        Permission::ReadKeys,
        Permission::ManageKeys,
        Permission::ManageNetworks,
        Permission::ReadLog,
    ];

    fn actor(grants: Vec<Grant>) -> Actor {
        let principal = Principal::Person {
            user_id: Uuid::from_u128(9),
            sid: None,
        };
        Actor::new(principal, Door::Console, grants)
    }

    fn allowed(actor: &Actor, target: Scope) -> Vec<Permission> {
        ALL.into_iter()
            .filter(|permission| actor.may(*permission, target))
            .collect()
    }

    #[test]
    fn an_instance_admin_and_the_operator_may_do_everything_everywhere() {
        let org = Scope::Organization(Uuid::from_u128(1));
        for admin in [actor(vec![Grant::InstanceAdmin]), Actor::operator(None)] {
            assert_eq!(allowed(&admin, Scope::Instance), ALL);
            assert_eq!(allowed(&admin, org), ALL);
        }
    }

    #[test]
    fn an_org_admin_manages_people_and_clients_of_their_organization_only() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let admin = actor(vec![Grant::OrgAdmin { org_id: a }]);
        assert_eq!(
            allowed(&admin, Scope::Organization(a)),
            [
                Permission::ReadOrganizations,
                Permission::ReadPeople,
                Permission::ManagePeople,
                Permission::ReadClients,
                Permission::ManageClients,
                Permission::ReadRoles,
                Permission::ManageRoles,
            ]
        );
        assert!(allowed(&admin, Scope::Organization(b)).is_empty());
        assert!(allowed(&admin, Scope::Instance).is_empty());
    }

    #[test]
    fn an_auditor_reads_within_their_scope_and_changes_nothing() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let reads = [
            Permission::ReadOrganizations,
            Permission::ReadPeople,
            Permission::ReadClients,
            Permission::ReadRoles,
            Permission::ReadKeys,
            Permission::ReadLog,
        ];
        let instance = actor(vec![Grant::Auditor {
            scope: Scope::Instance,
        }]);
        assert_eq!(allowed(&instance, Scope::Instance), reads);
        assert_eq!(allowed(&instance, Scope::Organization(a)), reads);
        let one = actor(vec![Grant::Auditor {
            scope: Scope::Organization(a),
        }]);
        assert_eq!(allowed(&one, Scope::Organization(a)), reads);
        assert!(allowed(&one, Scope::Organization(b)).is_empty());
        assert!(allowed(&one, Scope::Instance).is_empty());
    }

    #[test]
    fn grants_add_up_and_no_grant_allows_nothing() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let both = actor(vec![
            Grant::OrgAdmin { org_id: a },
            Grant::Auditor {
                scope: Scope::Organization(b),
            },
        ]);
        assert!(both.may(Permission::ManagePeople, Scope::Organization(a)));
        assert!(both.may(Permission::ReadPeople, Scope::Organization(b)));
        assert!(!both.may(Permission::ManagePeople, Scope::Organization(b)));
        let nobody = actor(Vec::new());
        assert!(allowed(&nobody, Scope::Instance).is_empty());
        assert!(allowed(&nobody, Scope::Organization(a)).is_empty());
    }

    #[test]
    fn a_refusal_names_the_permission_and_the_scope() {
        let org_id = Uuid::from_u128(1);
        let auditor = actor(vec![Grant::Auditor {
            scope: Scope::Instance,
        }]);
        let refused = authorize(
            &auditor,
            Permission::ManagePeople,
            Scope::Organization(org_id),
        )
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!("you may not manage people in organization {org_id}")
        );
        assert!(authorize(&auditor, Permission::ReadPeople, Scope::Instance).is_ok());
    }
}
