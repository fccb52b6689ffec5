//! Organizations in the console (instance admins): the list, "Create organization", and
//! an organization's page where its org admins and auditors are granted and revoked.
//! An org admin opening these pages by address sees their own organization only and
//! may hand on no more than they hold: the admin layer decides both.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use uuid::Uuid;
use verity_admin::roles::{HolderDetails, HolderRef, RoleHolding};
use verity_admin::{OrgRef, Permission, PersonRef, Scope};
use verity_domain::role::{Grant, Role};
use verity_projection::OrganizationView;

use super::error::ConsoleError;
use super::pages::Section;
use super::posted::Posted;
use super::session::Console;
use super::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// The organizations' routes.
pub(super) fn router() -> Router<AdminState> {
    Router::new()
        .route("/console/organizations", get(list).post(create))
        .route("/console/organizations/{org_id}", get(show))
        .route("/console/organizations/{org_id}/roles", post(grant))
        .route("/console/organizations/{org_id}/roles/revoke", post(revoke))
}

/// A role as people read it.
pub(super) fn role_label(role: Role) -> &'static str {
    match role {
        Role::InstanceAdmin => CONSOLE.role_instance_admin,
        Role::OrgAdmin => CONSOLE.role_org_admin,
        Role::Auditor => CONSOLE.role_auditor,
    }
}

/// The list, with the create form (what was typed and why it was refused).
fn list_page(
    state: &AdminState,
    console: &Console,
    status: StatusCode,
    name: &str,
    error: Option<&str>,
) -> Result<Response, ConsoleError> {
    let organizations: Vec<Value> = state
        .admin
        .organizations(&console.actor)
        .iter()
        .map(|org| context! { org_id => org.org_id.to_string(), name => &org.name })
        .collect();
    let may_create = console
        .actor
        .may(Permission::ManageOrganizations, Scope::Instance);
    console.page_with_status(
        state,
        status,
        Section::Organizations,
        "organizations.html",
        context! { organizations, may_create, name, error },
    )
}

/// `GET /console/organizations`.
async fn list(State(state): State<AdminState>, console: Console) -> Result<Response, ConsoleError> {
    list_page(&state, &console, StatusCode::OK, "", None)
}

/// `POST /console/organizations`: "Create organization"; on to its page.
async fn create(State(state): State<AdminState>, posted: Posted) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    let name = posted.field("name");
    match state
        .admin
        .create_organization(&console.actor, &console.call(), name)
        .await
    {
        Ok(org) => {
            Ok(Redirect::to(&format!("/console/organizations/{}", org.org_id)).into_response())
        }
        Err(error) => match ConsoleError::from(error) {
            ConsoleError::Refused { status, message } if status != StatusCode::FORBIDDEN => {
                list_page(&state, console, status, name, Some(&message))
            }
            other => Err(other),
        },
    }
}

/// The organization an address names, if the actor may see it.
fn organization(
    state: &AdminState,
    console: &Console,
    org_id: &str,
) -> Result<OrganizationView, ConsoleError> {
    let org = Uuid::parse_str(org_id).map_or_else(|_| OrgRef::Name(org_id.to_owned()), OrgRef::Id);
    Ok(state.admin.organization(&console.actor, &org)?)
}

/// What the organization's page says besides itself.
struct Outcome<'a> {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    email: &'a str,
    role: &'a str,
}

impl Outcome<'_> {
    fn none() -> Self {
        Self {
            status: StatusCode::OK,
            notice: None,
            error: None,
            email: "",
            role: "",
        }
    }
}

/// A holding as the table shows it.
fn holding_row(holding: &RoleHolding) -> Value {
    let (kind, holder, name) = match &holding.holder {
        HolderDetails::Person { user_id, name, .. } => {
            ("person", user_id.to_string(), name.clone())
        }
        HolderDetails::Client {
            client_id, name, ..
        } => ("client", client_id.clone(), name.clone()),
    };
    let role = holding.grant.role();
    context! {
        label => holding.holder.label(),
        name,
        kind,
        holder,
        role => role.as_str(),
        role_label => role_label(role),
    }
}

/// The organization's page: its roles and the grant form.
fn org_page(
    state: &AdminState,
    console: &Console,
    org: &OrganizationView,
    outcome: Outcome<'_>,
) -> Result<Response, ConsoleError> {
    let holdings: Vec<Value> = state
        .admin
        .roles(&console.actor, Some(&OrgRef::Id(org.org_id)))?
        .iter()
        .map(holding_row)
        .collect();
    let may_manage = console
        .actor
        .may(Permission::ManageRoles, Scope::Organization(org.org_id));
    console.page_with_status(
        state,
        outcome.status,
        Section::Organizations,
        "organization.html",
        context! {
            org => context! { org_id => org.org_id.to_string(), name => &org.name },
            holdings,
            may_manage,
            notice => outcome.notice,
            error => outcome.error,
            email => outcome.email,
            role => outcome.role,
        },
    )
}

/// `GET /console/organizations/{org_id}`.
async fn show(
    State(state): State<AdminState>,
    console: Console,
    Path(org_id): Path<String>,
) -> Result<Response, ConsoleError> {
    let org = organization(&state, &console, &org_id)?;
    org_page(&state, &console, &org, Outcome::none())
}

/// The organization's grant of `role`, or why there is none.
fn grant_of(role: &str, org: &OrganizationView) -> Result<(Role, Grant), String> {
    let role: Role = role.parse().map_err(|error| format!("{error}"))?;
    let grant = Grant::new(role, Some(org.org_id)).map_err(|error| error.to_string())?;
    Ok((role, grant))
}

/// `POST /console/organizations/{org_id}/roles`: grants a role of the organization to
/// one of its people, named by address.
async fn grant(
    State(state): State<AdminState>,
    Path(org_id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    let org = organization(&state, console, &org_id)?;
    let (email, role) = (posted.field("email"), posted.field("role"));
    let refused = |status, error: String| Outcome {
        status,
        notice: None,
        error: Some(error),
        email,
        role,
    };
    let (role_name, grant) = match grant_of(role, &org) {
        Ok(grant) => grant,
        Err(error) => {
            return org_page(
                &state,
                console,
                &org,
                refused(StatusCode::BAD_REQUEST, error),
            );
        }
    };
    let holder = HolderRef::Person(PersonRef::Email {
        org: OrgRef::Id(org.org_id),
        email: email.to_owned(),
    });
    let outcome = match state
        .admin
        .grant_role(&console.actor, &console.call(), &holder, grant)
        .await
    {
        Ok(holding) => Outcome {
            notice: Some(fill(
                CONSOLE.done_grant,
                &[
                    ("email", holding.holder.label()),
                    ("role", role_label(role_name)),
                ],
            )),
            ..Outcome::none()
        },
        Err(error) => match ConsoleError::from(error) {
            // Beyond the admin's role: the error page, since the form is not theirs.
            ConsoleError::Refused { status, message } if status != StatusCode::FORBIDDEN => {
                refused(status, message)
            }
            other => return Err(other),
        },
    };
    org_page(&state, console, &org, outcome)
}

/// `POST /console/organizations/{org_id}/roles/revoke`: "Revoke" on a holding.
async fn revoke(
    State(state): State<AdminState>,
    Path(org_id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    let org = organization(&state, console, &org_id)?;
    let (role_name, grant) =
        grant_of(posted.field("role"), &org).map_err(ConsoleError::bad_request)?;
    let holder_id = posted.field("holder");
    let holder = match posted.field("holder_kind") {
        "person" => HolderRef::Person(PersonRef::Id(
            Uuid::parse_str(holder_id)
                .map_err(|error| ConsoleError::bad_request(error.to_string()))?,
        )),
        "client" => HolderRef::Client(holder_id.to_owned()),
        _ => return Err(ConsoleError::bad_request(CONSOLE.not_a_form)),
    };
    let label = state
        .admin
        .roles(&console.actor, Some(&OrgRef::Id(org.org_id)))?
        .iter()
        .find(|holding| holding.grant == grant && holds(&holding.holder, &holder))
        .map(|holding| holding.holder.label().to_owned())
        .unwrap_or_else(|| holder_id.to_owned());
    state
        .admin
        .revoke_role(&console.actor, &console.call(), &holder, grant)
        .await?;
    let notice = fill(
        CONSOLE.done_revoke,
        &[("email", &label), ("role", role_label(role_name))],
    );
    let outcome = Outcome {
        notice: Some(notice),
        ..Outcome::none()
    };
    org_page(&state, console, &org, outcome)
}

/// Whether the holding's holder is the one a form names.
fn holds(details: &HolderDetails, named: &HolderRef) -> bool {
    match (details, named) {
        (HolderDetails::Person { user_id, .. }, HolderRef::Person(PersonRef::Id(id))) => {
            user_id == id
        }
        (HolderDetails::Client { client_id, .. }, HolderRef::Client(id)) => client_id == id,
        _ => false,
    }
}
