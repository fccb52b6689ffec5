//! What an admin API handler reads from a request, each refusal a problem+json answer:
//! who acts ([`Caller`]: the bearer token, checked by the engine, turned into an
//! [`Actor`] with the grants the roles read model holds now; [`OnPerson`]: the same and
//! the person the path names), the other segments of the path ([`Segments`]), the JSON
//! body ([`Body`]) and the query ([`Params`]).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use verity_admin::{Actor, Call, Door, PersonRef, Principal};
use verity_oidc::grants::{self, ADMIN_SCOPE, Bearer};

use super::problem::{ApiError, Kind};
use crate::state::AdminState;

/// Who calls the admin API, and the call's time, request id and client address.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The token's person or client, through the API, with their grants now.
    pub(crate) actor: Actor,
    /// What the events of the call carry.
    pub(crate) call: Call,
}

impl FromRequestParts<AdminState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let context = verity_http::request_context(parts, &state.app);
        let token = verity_http::bearer_token(&parts.headers).ok_or_else(ApiError::no_token)?;
        let bearer = grants::bearer(&state.app.engine, &context, token, ADMIN_SCOPE).await?;
        // Grants are read at each request: a role revoked a moment ago no longer counts.
        let (principal, held) = match bearer {
            Bearer::Person { user_id, sid, .. } => (
                Principal::Person {
                    user_id,
                    sid: Some(sid),
                },
                state.admin.grants_of_person(user_id),
            ),
            Bearer::Client { client_id } => {
                let held = state.admin.grants_of_client(&client_id);
                (Principal::Client { client_id }, held)
            }
        };
        if held.is_empty() {
            return Err(ApiError::new(
                Kind::Forbidden,
                "the token's holder has no role: grant one with `verity role grant`",
            ));
        }
        Ok(Self {
            actor: Actor::new(principal, Door::Api, held),
            call: Call::from(&context),
        })
    }
}

/// A call about the person the path's `{user_id}` names: the caller first (so a request
/// without a valid token is 401 whatever its path), then the person.
#[derive(Debug, Clone)]
pub(crate) struct OnPerson {
    /// Who acts.
    pub(crate) actor: Actor,
    /// What the events of the call carry.
    pub(crate) call: Call,
    /// The person.
    pub(crate) person: PersonRef,
}

impl FromRequestParts<AdminState> for OnPerson {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Caller { actor, call } = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::new(Kind::MalformedRequest, rejection.body_text()))?;
        let user_id = params
            .iter()
            .find_map(|(name, value)| (name == "user_id").then_some(value))
            .unwrap_or_default();
        // Not a user id: not found, as any other id that names no one.
        let person = Uuid::parse_str(user_id)
            .map(PersonRef::Id)
            .map_err(|_| ApiError::new(Kind::NotFound, format!("no user {user_id:?}")))?;
        Ok(Self {
            actor,
            call,
            person,
        })
    }
}

/// The path's segments as `T` (one `String`, or a tuple of them in the path's order):
/// 400 when one cannot be read (not UTF-8 once percent-decoded).
#[derive(Debug)]
pub(crate) struct Segments<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for Segments<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection: PathRejection| {
                if rejection.status().is_server_error() {
                    ApiError::internal(&rejection)
                } else {
                    ApiError::new(Kind::MalformedRequest, rejection.body_text())
                }
            })
    }
}

/// A JSON body of type `T`: 415 when it is not JSON, 400 when it is not well-formed, 422
/// when its values do not fit `T` (a missing or unknown field, a wrong type).
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_refused(&rejection)),
        }
    }
}

/// The problem for a body axum's JSON extractor refused, by the status it chose (408 when
/// the body did not arrive in time).
fn body_refused(rejection: &JsonRejection) -> ApiError {
    if verity_http::body_came_late(rejection) {
        return ApiError::new(Kind::BodyTooSlow, "the request body did not arrive in time");
    }
    let kind = match rejection.status() {
        StatusCode::UNPROCESSABLE_ENTITY => Kind::InvalidValue,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMediaType,
        StatusCode::PAYLOAD_TOO_LARGE => Kind::PayloadTooLarge,
        _ => Kind::MalformedRequest,
    };
    ApiError::new(kind, rejection.body_text())
}

/// The query of type `T`: 400 when it does not fit.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::new(Kind::MalformedRequest, rejection.body_text())
            })
    }
}
