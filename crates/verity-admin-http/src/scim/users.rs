//! `/scim/v2/Users`: list and search with a filter, read, create, replace, patch and
//! delete the people of the token's organization. Each handler reads the request, calls
//! the admin layer as the token, and renders the person as a User resource
//! (`attributes`/`excludedAttributes` applied to every read).

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;
use verity_admin::provisioning::ProvisionedPerson;
use verity_admin::{OrgRef, Person, PersonRef};

use super::body::ScimBody;
use super::caller::Scim;
use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::filter;
use super::json::scim_json;
use super::patch;
use super::projection::Selection;
use super::resource::{etag, field, list_response, location, read_user, user_json};

/// How many resources a list answers with when the client names no `count`.
const DEFAULT_COUNT: i64 = 100;

/// What a list or search asks for.
struct ListRequest {
    filter: Option<String>,
    start_index: i64,
    count: i64,
    selection: Selection,
}

/// `GET /scim/v2/Users`.
pub async fn list(
    scim: Scim,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let text = |key: &str| query.get(key).map(String::as_str);
    let request = ListRequest {
        filter: text("filter").map(str::to_owned),
        start_index: number(text("startIndex"), "startIndex")?.unwrap_or(1),
        count: number(text("count"), "count")?.unwrap_or(DEFAULT_COUNT),
        selection: Selection::new(text("attributes"), text("excludedAttributes")),
    };
    answer_list(&scim, request)
}

/// `POST /scim/v2/Users/.search`: the same as a list, with the parameters in the body.
pub async fn search(scim: Scim, ScimBody(body): ScimBody) -> Result<Response, ScimError> {
    let names = |key: &str| match field(&body, key) {
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Some(Value::String(names)) => Some(names.clone()),
        _ => None,
    };
    let whole = |key: &str| match field(&body, key) {
        None => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_i64()),
        Some(_) => Err(ScimError::invalid_value(format!("{key} must be a number"))),
    };
    let request = ListRequest {
        filter: field(&body, "filter")
            .and_then(Value::as_str)
            .map(str::to_owned),
        start_index: whole("startIndex")?.unwrap_or(1),
        count: whole("count")?.unwrap_or(DEFAULT_COUNT),
        selection: Selection::new(
            names("attributes").as_deref(),
            names("excludedAttributes").as_deref(),
        ),
    };
    answer_list(&scim, request)
}

/// A number from a query parameter.
fn number(text: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    text.map(|text| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be a whole number")))
    })
    .transpose()
}

fn answer_list(scim: &Scim, request: ListRequest) -> Result<Response, ScimError> {
    let filter = request
        .filter
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(filter::parse)
        .transpose()
        .map_err(|invalid| ScimError::invalid_filter(invalid.0))?;
    // RFC 7644 §3.4.2.4: a start below 1 is 1, a negative count is 0.
    let count = usize::try_from(request.count).unwrap_or(0).min(MAX_RESULTS);
    let start_index = usize::try_from(request.start_index).unwrap_or(1).max(1);
    let found = scim.admin.find_people(
        &scim.caller.actor,
        &OrgRef::Id(scim.caller.org_id),
        filter.as_ref(),
        start_index - 1,
        count,
    )?;
    let resources = found
        .people
        .iter()
        .map(|person| Value::Object(request.selection.apply(user_json(person, &scim.base))))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(found.total, start_index, resources),
    ))
}

/// `GET /scim/v2/Users/{id}`.
pub async fn get(
    scim: Scim,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let person = scim.person(&id)?;
    let selection = Selection::new(
        query.get("attributes").map(String::as_str),
        query.get("excludedAttributes").map(String::as_str),
    );
    Ok(one(&scim, &person, StatusCode::OK, &selection))
}

/// `POST /scim/v2/Users`: 201 with the person and `Location`.
pub async fn create(scim: Scim, ScimBody(body): ScimBody) -> Result<Response, ScimError> {
    let wanted = read_user(&body)?;
    let person = scim
        .admin
        .provision_person(
            &scim.caller.actor,
            &scim.call,
            &OrgRef::Id(scim.caller.org_id),
            &wanted,
            scim.caller.invitations,
        )
        .await?;
    let mut response = one(&scim, &person, StatusCode::CREATED, &Selection::default());
    if let Ok(value) = HeaderValue::from_str(&location(&scim.base, &person)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `PUT /scim/v2/Users/{id}`: the person as the body describes them.
pub async fn replace(
    scim: Scim,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    scim.change(&id, &headers, |_| read_user(&body)).await
}

/// `PATCH /scim/v2/Users/{id}`: the operations applied to the person as they are.
pub async fn modify(
    scim: Scim,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    scim.change(&id, &headers, |current| {
        let mut user = user_json(current, &scim.base);
        patch::apply(&mut user, &body)?;
        read_user(&user)
    })
    .await
}

/// `DELETE /scim/v2/Users/{id}`: 204.
pub async fn delete(scim: Scim, Path(id): Path<String>) -> Result<Response, ScimError> {
    let person = scim.person(&id)?;
    scim.admin
        .delete_person(
            &scim.caller.actor,
            &scim.call,
            &PersonRef::Id(person.user_id),
        )
        .await?;
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// One person as an answer, with their version as `ETag`.
fn one(scim: &Scim, person: &Person, status: StatusCode, selection: &Selection) -> Response {
    let user = selection.apply(user_json(person, &scim.base));
    let mut response = scim_json(status, &Value::Object(user));
    if let Ok(value) = HeaderValue::from_str(&etag(person)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The version `If-Match` names (`W/"7"`; none for `*` or no header), refused with 412
/// unless it is the person's version now (RFC 7644 §3.14).
fn if_match(headers: &HeaderMap, current: &Person) -> Result<Option<u64>, ScimError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let version = text
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u64>()
        .ok();
    match version {
        Some(version) if version == current.version => Ok(Some(version)),
        _ => Err(ScimError::precondition_failed(format!(
            "If-Match {text} is not the person's version now ({})",
            etag(current)
        ))),
    }
}

impl Scim {
    /// The person with this id in the token's organization.
    fn person(&self, id: &str) -> Result<Person, ScimError> {
        let user_id =
            Uuid::parse_str(id).map_err(|_| ScimError::not_found(format!("no user {id}")))?;
        Ok(self
            .admin
            .person(&self.caller.actor, &PersonRef::Id(user_id))?)
    }

    /// Sets the person `id` to what `wanted` makes of them as they are now (after the
    /// `If-Match` check) and answers with them.
    async fn change(
        &self,
        id: &str,
        headers: &HeaderMap,
        wanted: impl FnOnce(&Person) -> Result<ProvisionedPerson, ScimError>,
    ) -> Result<Response, ScimError> {
        let current = self.person(id)?;
        let if_version = if_match(headers, &current)?;
        let wanted = wanted(&current)?;
        let person = self
            .admin
            .reprovision_person(
                &self.caller.actor,
                &self.call,
                &PersonRef::Id(current.user_id),
                &wanted,
                if_version,
            )
            .await?;
        Ok(one(self, &person, StatusCode::OK, &Selection::default()))
    }
}
