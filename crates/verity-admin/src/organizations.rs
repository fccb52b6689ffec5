//! Organizations: create (instance admins) and read (everyone with a grant over them).

use uuid::Uuid;
use verity_domain::organization::{self, Organization, OrganizationCommand};
use verity_domain::{ExecuteError, StoreError};
use verity_projection::{OrganizationView, ReadModels};

use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::{AdminError, Missing};

/// An organization as a door names it: by id or by (case-insensitive) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    /// By id.
    Id(Uuid),
    /// By name.
    Name(String),
}

impl OrgRef {
    /// An id when `text` is one, else a name (what the CLI's `--org` takes).
    pub fn parse(text: &str) -> Self {
        Uuid::parse_str(text).map_or_else(|_| Self::Name(text.to_owned()), Self::Id)
    }

    fn find<'a>(&self, models: &'a ReadModels) -> Option<&'a OrganizationView> {
        match self {
            Self::Id(org_id) => models.organizations.get(*org_id),
            Self::Name(name) => models.organizations.find_by_name(name),
        }
    }

    fn missing(&self) -> AdminError {
        AdminError::NotFound(Missing::Organization(match self {
            Self::Id(org_id) => org_id.to_string(),
            Self::Name(name) => name.clone(),
        }))
    }
}

/// The scope an organization's things live in.
pub(crate) fn scope(org: &OrganizationView) -> Scope {
    Scope::Organization(org.org_id)
}

impl Admin {
    /// Creates an organization (instance admins); its name is unique in the instance.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        call: &Call,
        name: &str,
    ) -> Result<OrganizationView, AdminError> {
        authorize(actor, Permission::ManageOrganizations, Scope::Instance)?;
        let org_id = verity_oidc::random::uuid();
        let command = OrganizationCommand::Create {
            org_id,
            name: name.to_owned(),
        };
        let outcome = self
            .decide::<Organization>(actor, call, &organization::stream(org_id), &command)
            .await
            .map_err(|error| match error {
                ExecuteError::Store(StoreError::UniqueKeyTaken { .. }) => AdminError::Conflict(
                    format!("an organization named {:?} already exists", name.trim()),
                ),
                other => other.into(),
            })?;
        self.wait_for(outcome.position).await?;
        self.organization(actor, &OrgRef::Id(org_id))
    }

    /// Every organization the actor may see, by name.
    pub fn organizations(&self, actor: &Actor) -> Vec<OrganizationView> {
        self.read(|models| {
            models
                .organizations
                .list()
                .into_iter()
                .filter(|org| actor.may(Permission::ReadOrganizations, scope(org)))
                .cloned()
                .collect()
        })
    }

    /// One organization, if the actor may see it; else "not found", as if it did not
    /// exist.
    pub fn organization(
        &self,
        actor: &Actor,
        org: &OrgRef,
    ) -> Result<OrganizationView, AdminError> {
        self.read(|models| visible(models, actor, org).cloned())
    }
}

/// The organization `org` names, if the actor may see it.
pub(crate) fn visible<'a>(
    models: &'a ReadModels,
    actor: &Actor,
    org: &OrgRef,
) -> Result<&'a OrganizationView, AdminError> {
    org.find(models)
        .filter(|found| actor.may(Permission::ReadOrganizations, scope(found)))
        .ok_or_else(|| org.missing())
}
