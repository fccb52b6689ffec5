//! Roles (docs/roles.md): who holds which, granting and revoking them, for people and for
//! service clients. An admin cannot hand on more than they hold: the admin layer decides.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verity_admin::roles::{HolderDetails, HolderRef, RoleHolding};
use verity_admin::{Actor, Admin, Grant, OrgRef, PersonRef};

use super::extract::{Body, Caller, Params};
use super::problem::{ApiError, Kind};
use super::reply::referenced;
use crate::state::AdminState;

/// A role (docs/roles.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Role {
    /// Everything (instance-wide only).
    InstanceAdmin,
    /// The people, clients and roles of one organization.
    OrgAdmin,
    /// Reads people, clients, roles and history, of the instance or of one organization.
    Auditor,
}

impl From<Role> for verity_admin::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::InstanceAdmin => Self::InstanceAdmin,
            Role::OrgAdmin => Self::OrgAdmin,
            Role::Auditor => Self::Auditor,
        }
    }
}

impl From<verity_admin::Role> for Role {
    fn from(role: verity_admin::Role) -> Self {
        match role {
            verity_admin::Role::InstanceAdmin => Self::InstanceAdmin,
            verity_admin::Role::OrgAdmin => Self::OrgAdmin,
            verity_admin::Role::Auditor => Self::Auditor,
        }
    }
}

/// Who holds a role: a person (`user_id`, `email`, `org_id`) or a service client
/// (`client_id`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Holder {
    /// A person's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<Uuid>,
    /// A person's organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) org_id: Option<Uuid>,
    /// A person's sign-in address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    /// A service client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    /// The person's or the client's display name.
    pub(crate) name: String,
}

impl From<HolderDetails> for Holder {
    fn from(holder: HolderDetails) -> Self {
        match holder {
            HolderDetails::Person {
                user_id,
                org_id,
                email,
                name,
            } => Self {
                user_id: Some(user_id),
                org_id: Some(org_id),
                email: Some(email),
                client_id: None,
                name,
            },
            HolderDetails::Client { client_id, name } => Self {
                user_id: None,
                org_id: None,
                email: None,
                client_id: Some(client_id),
                name,
            },
        }
    }
}

/// A role someone holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Holding {
    /// Who.
    pub(crate) holder: Holder,
    /// What.
    pub(crate) role: Role,
    /// Where: the organization's id (absent: the instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) org_id: Option<Uuid>,
    /// Since when.
    pub(crate) granted_at: DateTime<Utc>,
}

impl From<RoleHolding> for Holding {
    fn from(held: RoleHolding) -> Self {
        Self {
            holder: held.holder.into(),
            role: held.grant.role().into(),
            org_id: held.grant.scope().org_id(),
            granted_at: held.granted_at,
        }
    }
}

/// The roles the caller may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Holdings {
    /// Instance-wide first, then by organization, role and holder.
    pub(crate) roles: Vec<Holding>,
}

/// Which roles to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesQuery {
    /// Only the roles of this organization (its id or name).
    pub(crate) org: Option<String>,
}

/// A role to grant or revoke, and to whom: exactly one of `user_id`, `email` (with
/// `org`'s people when `org` is given) and `client_id`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleChange {
    /// The role.
    pub(crate) role: Role,
    /// The organization it is held in, by id or name (absent: the instance; an org
    /// admin always names one).
    #[serde(default)]
    pub(crate) org: Option<String>,
    /// A person, by id.
    #[serde(default)]
    pub(crate) user_id: Option<Uuid>,
    /// A person, by sign-in address.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// A service client, by id.
    #[serde(default)]
    pub(crate) client_id: Option<String>,
}

impl RoleChange {
    /// The holder and the grant it names, the organization looked up as the actor sees
    /// it.
    fn resolve(&self, admin: &Admin, actor: &Actor) -> Result<(HolderRef, Grant), ApiError> {
        let org = self.org.as_deref().map(OrgRef::parse);
        let holder = match (&self.user_id, &self.email, &self.client_id) {
            (Some(user_id), None, None) => HolderRef::Person(PersonRef::Id(*user_id)),
            (None, Some(email), None) => HolderRef::Person(match &org {
                Some(org) => PersonRef::Email {
                    org: org.clone(),
                    email: email.clone(),
                },
                None => PersonRef::Address(email.clone()),
            }),
            (None, None, Some(client_id)) => HolderRef::Client(client_id.clone()),
            _ => {
                return Err(ApiError::new(
                    Kind::InvalidValue,
                    "name the holder with exactly one of user_id, email and client_id",
                ));
            }
        };
        let org_id = match &org {
            Some(org) => Some(admin.organization(actor, org).map_err(referenced)?.org_id),
            None => None,
        };
        let grant = Grant::new(self.role.into(), org_id)
            .map_err(|error| ApiError::new(Kind::InvalidValue, error.to_string()))?;
        Ok((holder, grant))
    }
}

/// The roles held now that the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "roles",
    params(RolesQuery),
    responses(
        (status = 200, description = "The roles", body = Holdings),
        (status = 404, description = "No organization by that id or name that the caller may see",
            body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_roles(
    State(state): State<AdminState>,
    caller: Caller,
    Params(query): Params<RolesQuery>,
) -> Result<Json<Holdings>, ApiError> {
    let org = query.org.as_deref().map(OrgRef::parse);
    let held = state.admin.roles(&caller.actor, org.as_ref())?;
    Ok(Json(Holdings {
        roles: held.into_iter().map(Holding::from).collect(),
    }))
}

/// Grants a role to a person or a service client.
#[utoipa::path(
    post,
    path = "/api/v1/roles",
    tag = "roles",
    request_body = RoleChange,
    responses((status = 201, description = "Granted", body = Holding))
)]
pub(crate) async fn grant_role(
    State(state): State<AdminState>,
    caller: Caller,
    Body(change): Body<RoleChange>,
) -> Result<Response, ApiError> {
    let (holder, grant) = change.resolve(&state.admin, &caller.actor)?;
    let held = state
        .admin
        .grant_role(&caller.actor, &caller.call, &holder, grant)
        .await
        .map_err(referenced)?;
    Ok((StatusCode::CREATED, Json(Holding::from(held))).into_response())
}

/// Revokes a role a person or a service client holds; it stops counting on their next
/// call.
#[utoipa::path(
    post,
    path = "/api/v1/roles/revoke",
    tag = "roles",
    request_body = RoleChange,
    responses((status = 204, description = "Revoked"))
)]
pub(crate) async fn revoke_role(
    State(state): State<AdminState>,
    caller: Caller,
    Body(change): Body<RoleChange>,
) -> Result<StatusCode, ApiError> {
    let (holder, grant) = change.resolve(&state.admin, &caller.actor)?;
    state
        .admin
        .revoke_role(&caller.actor, &caller.call, &holder, grant)
        .await
        .map_err(referenced)?;
    Ok(StatusCode::NO_CONTENT)
}
