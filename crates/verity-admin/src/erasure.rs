//! Erasing a person (GDPR Art. 17, docs/adr/0010-per-person-encryption.md): every
//! session ends, the address is released, and `user.erased` is recorded naming the
//! actor. The store below destroys the person's data key when it records the erasure, so
//! their personal fields in the log read as erased from then on, while the chain, which
//! covers the sealed bytes, still verifies. The read models drop them.

use serde_json::Value;
use uuid::Uuid;
use verity_domain::user::{self, USER_CREATED, USER_DELETED, USER_ERASED, User, UserCommand};

use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::people::PersonRef;

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The person's id, which stays in the log (it is not personal data by itself).
    pub user_id: Uuid,
    /// Their organization.
    pub org_id: Uuid,
    /// Where `user.erased` was recorded.
    pub position: u64,
}

impl Admin {
    /// Erases the person for good: allowed to whoever may manage people where they are
    /// (an instance admin, their organization's admins). Nothing can be asked of the
    /// account afterwards and it cannot be undone.
    ///
    /// A person who was deleted (SCIM's `DELETE`) left the read models but not the log:
    /// they are erased by id.
    pub async fn erase_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<Erasure, AdminError> {
        let (user_id, org_id) = match (self.person_to_manage(actor, person), person) {
            (Ok(view), _) => (view.user_id, view.org_id),
            (Err(AdminError::NotFound(missing)), PersonRef::Id(user_id)) => {
                let org_id = self
                    .departed_person(actor, *user_id, Permission::ManagePeople)
                    .await?
                    .ok_or(AdminError::NotFound(missing))?;
                (*user_id, org_id)
            }
            (Err(error), _) => return Err(error),
        };
        let outcome = self
            .decide::<User>(actor, call, &user::stream(user_id), &UserCommand::Erase)
            .await?;
        self.wait_for(outcome.position).await?;
        tracing::info!(%user_id, "person erased");
        Ok(Erasure {
            user_id,
            org_id,
            position: outcome.position,
        })
    }
}

impl Admin {
    /// The person a history is about: one the read models know, or, by id, one who was
    /// deleted or erased (the read models forgot them; their history stays, its personal
    /// fields erased after an erasure). Someone the actor may not read is not found.
    pub(crate) async fn history_subject(
        &self,
        actor: &Actor,
        person: &PersonRef,
    ) -> Result<Uuid, AdminError> {
        match (self.find_person(actor, person), person) {
            (Err(AdminError::NotFound(missing)), PersonRef::Id(user_id)) => self
                .departed_person(actor, *user_id, Permission::ReadPeople)
                .await?
                .map(|_| *user_id)
                .ok_or(AdminError::NotFound(missing)),
            (found, _) => found.map(|view| view.user_id),
        }
    }

    /// The organization of `user_id` if the log says they were deleted or erased and the
    /// actor holds `permission` there.
    async fn departed_person(
        &self,
        actor: &Actor,
        user_id: Uuid,
        permission: Permission,
    ) -> Result<Option<Uuid>, AdminError> {
        let events = self.ports.store.read_stream(&user::stream(user_id)).await?;
        if !events
            .iter()
            .any(|event| event.event_type == USER_ERASED || event.event_type == USER_DELETED)
        {
            return Ok(None);
        }
        let org_id = events
            .iter()
            .filter(|event| event.event_type == USER_CREATED)
            .find_map(|event| {
                let data: Value = serde_json::from_str(&event.data).ok()?;
                Uuid::try_parse(data.get("org_id")?.as_str()?).ok()
            });
        let Some(org_id) = org_id else {
            return Ok(None);
        };
        Ok(authorize(actor, permission, Scope::Organization(org_id))
            .ok()
            .map(|()| org_id))
    }
}
