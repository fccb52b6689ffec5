//! Organizations: list and read (everyone with a grant over them), create (instance
//! admins).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use verity_admin::OrgRef;
use verity_projection::OrganizationView;

use super::extract::{Body, Caller, Segments};
use super::problem::ApiError;
use super::reply::created;
use crate::state::AdminState;

/// An organization: the people and clients in it belong to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Organization {
    /// Its id.
    pub(crate) org_id: Uuid,
    /// Its name (unique in the instance, case-insensitively).
    pub(crate) name: String,
    /// When it was created.
    pub(crate) created_at: DateTime<Utc>,
}

impl From<OrganizationView> for Organization {
    fn from(view: OrganizationView) -> Self {
        Self {
            org_id: view.org_id,
            name: view.name,
            created_at: view.created_at,
        }
    }
}

/// The organizations the caller may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Organizations {
    /// By name.
    pub(crate) organizations: Vec<Organization>,
}

/// An organization to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOrganization {
    /// Its name.
    pub(crate) name: String,
}

/// Every organization the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "organizations",
    responses((status = 200, description = "The organizations", body = Organizations))
)]
pub(crate) async fn list_organizations(
    State(state): State<AdminState>,
    caller: Caller,
) -> Json<Organizations> {
    let organizations = state.admin.organizations(&caller.actor);
    Json(Organizations {
        organizations: organizations.into_iter().map(Organization::from).collect(),
    })
}

/// One organization, by id or name.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{org}",
    tag = "organizations",
    params(("org" = String, Path, description = "The organization's id or name")),
    responses((status = 200, description = "The organization", body = Organization))
)]
pub(crate) async fn get_organization(
    State(state): State<AdminState>,
    caller: Caller,
    Segments(org): Segments<String>,
) -> Result<Json<Organization>, ApiError> {
    let found = state
        .admin
        .organization(&caller.actor, &OrgRef::parse(&org))?;
    Ok(Json(found.into()))
}

/// Creates an organization (instance admins).
#[utoipa::path(
    post,
    path = "/api/v1/organizations",
    tag = "organizations",
    request_body = NewOrganization,
    responses((status = 201, description = "Created", body = Organization,
        headers(("Location" = String, description = "The organization's URL"))))
)]
pub(crate) async fn create_organization(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<NewOrganization>,
) -> Result<Response, ApiError> {
    let organization = state
        .admin
        .create_organization(&caller.actor, &caller.call, &body.name)
        .await?;
    let location = format!("/api/v1/organizations/{}", organization.org_id);
    Ok(created(&location, Organization::from(organization)))
}
