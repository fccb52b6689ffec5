//! The roles read model: who holds which role, where (from `role.granted` and
//! `role.revoked`), so a door can tell which grants a signed-in admin or a service client
//! holds, and the admin layer can list them by organization.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use verity_domain::role::{Grant, Holder, ROLE_GRANTED, ROLE_REVOKED, Role, RoleChanged};
use verity_domain::{DecodeError, RecordedEvent};

use crate::decode;
use crate::projection::Projection;

/// One grant someone holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Who holds it.
    pub holder: Holder,
    /// The role.
    pub role: Role,
    /// The organization, for a grant in one.
    pub org_id: Option<Uuid>,
    /// When it was granted.
    pub granted_at: DateTime<Utc>,
}

impl RoleAssignment {
    /// The grant, as authorization reads it; `None` for a stored combination that makes
    /// no grant (never written by the domain).
    pub fn grant(&self) -> Option<Grant> {
        Grant::new(self.role, self.org_id).ok()
    }
}

/// Every grant held now, by holder. Serialised as the list of assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    by_holder: BTreeMap<Holder, Vec<RoleAssignment>>,
}

impl Roles {
    /// The grants `holder` holds now.
    pub fn grants_of(&self, holder: &Holder) -> Vec<Grant> {
        self.by_holder
            .get(holder)
            .into_iter()
            .flatten()
            .filter_map(RoleAssignment::grant)
            .collect()
    }

    /// The grants a person holds now.
    pub fn grants_of_person(&self, user_id: Uuid) -> Vec<Grant> {
        self.grants_of(&Holder::User { user_id })
    }

    /// Whether the person holds any role (and so must always give a code at sign-in).
    pub fn holds_any(&self, user_id: Uuid) -> bool {
        self.by_holder
            .get(&Holder::User { user_id })
            .is_some_and(|held| !held.is_empty())
    }

    /// Every assignment, holders in order (people by id, then clients by id), each
    /// holder's grants in the order given.
    pub fn all(&self) -> impl Iterator<Item = &RoleAssignment> {
        self.by_holder.values().flatten()
    }

    /// How many grants are held.
    pub fn len(&self) -> usize {
        self.by_holder.values().map(Vec::len).sum()
    }

    /// Whether nobody holds a role.
    pub fn is_empty(&self) -> bool {
        self.by_holder.is_empty()
    }

    fn insert(&mut self, assignment: RoleAssignment) {
        let held = self.by_holder.entry(assignment.holder.clone()).or_default();
        if !held
            .iter()
            .any(|known| known.role == assignment.role && known.org_id == assignment.org_id)
        {
            held.push(assignment);
        }
    }

    fn remove(&mut self, changed: &RoleChanged) {
        if let Some(held) = self.by_holder.get_mut(&changed.holder) {
            held.retain(|known| !(known.role == changed.role && known.org_id == changed.org_id));
            if held.is_empty() {
                self.by_holder.remove(&changed.holder);
            }
        }
    }
}

impl Projection for Roles {
    const NAME: &'static str = "roles";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        match event.event_type.as_str() {
            ROLE_GRANTED => {
                let changed: RoleChanged = decode::payload(event)?;
                self.insert(RoleAssignment {
                    holder: changed.holder,
                    role: changed.role,
                    org_id: changed.org_id,
                    granted_at: event.recorded_at,
                });
            }
            ROLE_REVOKED => {
                let changed: RoleChanged = decode::payload(event)?;
                self.remove(&changed);
            }
            _ => {}
        }
        Ok(())
    }
}

impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.all())
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let assignments = Vec::<RoleAssignment>::deserialize(deserializer)?;
        let mut roles = Self::default();
        for assignment in assignments {
            roles.insert(assignment);
        }
        Ok(roles)
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent;
    use verity_domain::role::{RoleEvent, Scope};

    use super::*;

    fn fold(roles: &mut Roles, position: u64, event: RoleEvent) {
        let changed = match &event {
            RoleEvent::Granted(changed) | RoleEvent::Revoked(changed) => changed.clone(),
        };
        let recorded = RecordedEvent {
            position,
            stream: changed.holder.stream(),
            version: position,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: DateTime::UNIX_EPOCH,
            hash: String::new(),
        };
        roles.apply(&recorded).unwrap();
    }

    fn changed(holder: &Holder, role: Role, org_id: Option<Uuid>) -> RoleChanged {
        RoleChanged {
            holder: holder.clone(),
            role,
            org_id,
        }
    }

    #[test]
    fn grants_come_and_go_per_holder_and_survive_a_snapshot() {
        let org = Uuid::from_u128(1);
        let ada = Holder::User {
            user_id: Uuid::from_u128(7),
        };
        let service = Holder::Client {
            client_id: "svc".into(),
        };
        let mut roles = Roles::default();
        fold(
            &mut roles,
            1,
            RoleEvent::Granted(changed(&ada, Role::OrgAdmin, Some(org))),
        );
        fold(
            &mut roles,
            2,
            RoleEvent::Granted(changed(&ada, Role::Auditor, None)),
        );
        fold(
            &mut roles,
            3,
            RoleEvent::Granted(changed(&service, Role::InstanceAdmin, None)),
        );
        assert_eq!(
            roles.grants_of_person(Uuid::from_u128(7)),
            vec![
                Grant::OrgAdmin { org_id: org },
                Grant::Auditor {
                    scope: Scope::Instance
                }
            ]
        );
        assert!(roles.holds_any(Uuid::from_u128(7)));
        assert_eq!(roles.grants_of(&service), vec![Grant::InstanceAdmin]);
        assert_eq!(roles.len(), 3);

        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(serde_json::from_str::<Roles>(&json).unwrap(), roles);

        fold(
            &mut roles,
            4,
            RoleEvent::Revoked(changed(&ada, Role::OrgAdmin, Some(org))),
        );
        fold(
            &mut roles,
            5,
            RoleEvent::Revoked(changed(&ada, Role::Auditor, None)),
        );
        assert!(roles.grants_of_person(Uuid::from_u128(7)).is_empty());
        assert!(!roles.holds_any(Uuid::from_u128(7)));
        assert_eq!(roles.len(), 1);
    }
}
