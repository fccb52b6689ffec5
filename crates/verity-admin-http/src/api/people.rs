//! People: search a page at a time, create, read, change, and what an admin does to a person (disable, enable, reset the
//! password or the authenticator, unlock, sign out everywhere). Each handler calls one
//! method of the admin layer, which decides who may do it.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verity_admin::invitations::{Invitation, NewPerson};
use verity_admin::people::{self, PasswordKind};
use verity_admin::{OrgRef, PeopleQuery, search};

use super::extract::{Body, Caller, OnPerson, Params};
use super::problem::{ApiError, Kind};
use super::reply::{created, referenced};
use crate::state::AdminState;

/// Whether a person may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// They may.
    Active,
    /// An admin disabled them.
    Disabled,
}

impl From<people::Status> for Status {
    fn from(status: people::Status) -> Self {
        match status {
            people::Status::Active => Self::Active,
            people::Status::Disabled => Self::Disabled,
        }
    }
}

impl From<Status> for people::Status {
    fn from(status: Status) -> Self {
        match status {
            Status::Active => Self::Active,
            Status::Disabled => Self::Disabled,
        }
    }
}

/// Which password a person has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Password {
    /// A temporary one from an admin, to be replaced at the next sign-in.
    Temporary,
    /// One they chose.
    Chosen,
}

/// A person as admins see them (never a password or a secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Person {
    /// Their id.
    pub(crate) user_id: Uuid,
    /// Their organization's id.
    pub(crate) org_id: Uuid,
    /// Their sign-in address.
    pub(crate) email: String,
    /// Their display name.
    pub(crate) name: String,
    /// Whether they may sign in.
    pub(crate) status: Status,
    /// Which password they have.
    pub(crate) password: Password,
    /// Whether they have set up an authenticator app.
    pub(crate) has_authenticator: bool,
    /// When the account was created.
    pub(crate) created_at: DateTime<Utc>,
    /// When it last changed.
    pub(crate) updated_at: DateTime<Utc>,
    /// When they last signed in (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_sign_in: Option<DateTime<Utc>>,
}

impl From<people::Person> for Person {
    fn from(person: people::Person) -> Self {
        Self {
            user_id: person.user_id,
            org_id: person.org_id,
            email: person.email.to_string(),
            name: person.name,
            status: person.status.into(),
            password: match person.password {
                PasswordKind::Temporary => Password::Temporary,
                PasswordKind::Chosen => Password::Chosen,
            },
            has_authenticator: person.has_authenticator,
            created_at: person.created_at,
            updated_at: person.updated_at,
            last_sign_in: person.last_sign_in,
        }
    }
}

/// Which people to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeopleParams {
    /// The organization: its id or its name.
    pub(crate) org: String,
    /// Part of an address or a name, in any case (absent: everyone).
    #[serde(default)]
    pub(crate) q: Option<String>,
    /// Only people with this status.
    #[serde(default)]
    pub(crate) status: Option<Status>,
    /// The cursor of the page before (`next` of the page before; absent: the first page).
    #[serde(default)]
    pub(crate) after: Option<String>,
    /// People per page: 1 to 200 (default 50); 0 answers the total alone.
    #[serde(default)]
    #[param(minimum = 0, maximum = 200)]
    pub(crate) limit: Option<usize>,
}

/// People per page unless the caller says otherwise.
const DEFAULT_PAGE: usize = 50;

/// The page size a query asks for ([`DEFAULT_PAGE`] when it does not say): from `least`
/// to `most`, else a problem rather than a page of another size than asked.
pub(crate) fn page_size(
    limit: Option<usize>,
    least: usize,
    most: usize,
) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (least..=most).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::new(
            Kind::InvalidValue,
            format!("limit must be from {least} to {most}, not {limit}"),
        ))
    }
}

/// One page of people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct PeoplePage {
    /// The people on it, by address.
    pub(crate) people: Vec<Person>,
    /// How many people match in all.
    pub(crate) total: usize,
    /// Pass as `after` for the next page (absent: this is the last).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

/// What to change about a person; what is absent stays.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonChanges {
    /// A new display name.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// A new sign-in address (unique in the organization).
    #[serde(default)]
    pub(crate) email: Option<String>,
}

/// A person to create: they get an email with a temporary password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPersonBody {
    /// Their organization: its id or its name.
    pub(crate) org: String,
    /// Their sign-in address (unique in the organization).
    pub(crate) email: String,
    /// Their display name.
    pub(crate) name: String,
}

/// A temporary password issued and emailed (the password itself is only in the email).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct TemporaryPassword {
    /// The person, as they are now.
    pub(crate) person: Person,
    /// When the emailed temporary password stops working.
    pub(crate) temporary_password_expires_at: DateTime<Utc>,
}

impl From<Invitation> for TemporaryPassword {
    fn from(invitation: Invitation) -> Self {
        Self {
            person: invitation.person.into(),
            temporary_password_expires_at: invitation.expires_at,
        }
    }
}

/// What removing a person's authenticator app did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AuthenticatorReset {
    /// The person, without an app now.
    pub(crate) person: Person,
    /// How many trusted devices were forgotten with it.
    pub(crate) devices_forgotten: usize,
}

/// A lock as unlocking found it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Lock {
    /// Failures counted in the current window.
    pub(crate) failures: u64,
    /// Until when it was locked (absent: it was not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) locked_until: Option<DateTime<Utc>>,
}

impl From<verity_oidc::limits::Standing> for Lock {
    fn from(standing: verity_oidc::limits::Standing) -> Self {
        Self {
            failures: standing.failures,
            locked_until: standing.lock.until(),
        }
    }
}

/// What unlocking a person found, and whether it lifted anything.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Unlocked {
    /// The person.
    pub(crate) person: Person,
    /// Their address's password failures and lock, before the unlock.
    pub(crate) passwords: Lock,
    /// Their code step's failures and lock, before the unlock.
    pub(crate) codes: Lock,
    /// Whether anything was lifted (and recorded); false: nothing was locked or counted.
    pub(crate) unlocked: bool,
}

/// What signing a person out everywhere did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct SignedOut {
    /// The person.
    pub(crate) person: Person,
    /// How many sessions were live and ended.
    pub(crate) sessions_ended: usize,
}

/// The people of an organization who match, a page at a time, by address.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "people",
    params(PeopleParams),
    responses(
        (status = 200, description = "A page of people", body = PeoplePage),
        (status = 404, description = "No organization by that id or name that the caller may see",
            body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A cursor this server did not give, or a limit out of range",
            body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_people(
    State(state): State<AdminState>,
    caller: Caller,
    Params(params): Params<PeopleParams>,
) -> Result<Json<PeoplePage>, ApiError> {
    let query = PeopleQuery {
        org: OrgRef::parse(&params.org),
        text: params.q.unwrap_or_default(),
        status: params.status.map(Into::into),
        after: params.after,
        limit: page_size(params.limit, 0, search::MAX_PAGE)?,
    };
    let page = state.admin.search_people(&caller.actor, &query)?;
    Ok(Json(PeoplePage {
        people: page.people.into_iter().map(Person::from).collect(),
        total: page.total,
        next: page.next,
    }))
}

/// Changes a person's name, address, or both; the events carry the values before and
/// after.
#[utoipa::path(
    patch,
    path = "/api/v1/people/{user_id}",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    request_body = PersonChanges,
    responses((status = 200, description = "The person as they are now", body = Person))
)]
pub(crate) async fn update_person(
    State(state): State<AdminState>,
    on: OnPerson,
    Body(changes): Body<PersonChanges>,
) -> Result<Json<Person>, ApiError> {
    let changes = verity_admin::PersonChanges {
        name: changes.name,
        email: changes.email,
    };
    let person = state
        .admin
        .update_person(&on.actor, &on.call, &on.person, &changes)
        .await?;
    Ok(Json(person.into()))
}

/// Creates a person and emails them a temporary password.
#[utoipa::path(
    post,
    path = "/api/v1/people",
    tag = "people",
    request_body = NewPersonBody,
    responses(
        (status = 201, description = "Created; the temporary password went out by email",
            body = TemporaryPassword,
            headers(("Location" = String, description = "The person's URL"))),
        (status = 502, description = "The email could not be delivered; nothing was created",
            body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_person(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<NewPersonBody>,
) -> Result<Response, ApiError> {
    let new = NewPerson {
        org: OrgRef::parse(&body.org),
        email: body.email,
        name: body.name,
    };
    let invitation = state
        .admin
        .create_person(&caller.actor, &caller.call, &new)
        .await
        .map_err(referenced)?;
    let location = format!("/api/v1/people/{}", invitation.person.user_id);
    Ok(created(&location, TemporaryPassword::from(invitation)))
}

/// One person.
#[utoipa::path(
    get,
    path = "/api/v1/people/{user_id}",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The person", body = Person))
)]
pub(crate) async fn get_person(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Person>, ApiError> {
    let person = state.admin.person(&on.actor, &on.person)?;
    Ok(Json(person.into()))
}

/// Blocks a person's sign-in; their sessions and tokens end.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/disable",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "Disabled", body = Person))
)]
pub(crate) async fn disable_person(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Person>, ApiError> {
    let person = state
        .admin
        .disable_person(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(person.into()))
}

/// Lets a disabled person sign in again.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/enable",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "Enabled", body = Person))
)]
pub(crate) async fn enable_person(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Person>, ApiError> {
    let person = state
        .admin
        .enable_person(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(person.into()))
}

/// Issues a new temporary password and emails it; the current password stops working.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/reset-password",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses(
        (status = 200, description = "A temporary password went out by email",
            body = TemporaryPassword),
        (status = 502, description = "The email could not be delivered; nothing changed",
            body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn reset_password(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<TemporaryPassword>, ApiError> {
    let invitation = state
        .admin
        .reset_password(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(invitation.into()))
}

/// Removes the person's authenticator app (and their trusted devices); they set up an
/// app again at the next sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/reset-mfa",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The app was removed", body = AuthenticatorReset))
)]
pub(crate) async fn reset_mfa(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<AuthenticatorReset>, ApiError> {
    let reset = state
        .admin
        .reset_authenticator(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(AuthenticatorReset {
        person: reset.person.into(),
        devices_forgotten: reset.devices_forgotten,
    }))
}

/// Lifts the person's password and code locks and forgets the failures counted.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/unlock",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "What was found and lifted", body = Unlocked))
)]
pub(crate) async fn unlock_person(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Unlocked>, ApiError> {
    let unlocked = state
        .admin
        .unlock_person(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(Unlocked {
        person: unlocked.person.into(),
        passwords: unlocked.passwords.into(),
        codes: unlocked.codes.into(),
        unlocked: unlocked.unlocked,
    }))
}

/// Ends every session of the person: their tokens stop working and their applications
/// are told.
#[utoipa::path(
    post,
    path = "/api/v1/people/{user_id}/sign-out",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "Signed out everywhere", body = SignedOut))
)]
pub(crate) async fn sign_out_person(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<SignedOut>, ApiError> {
    let (person, sessions_ended) = state
        .admin
        .sign_out_person(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(SignedOut {
        person: person.into(),
        sessions_ended,
    }))
}
