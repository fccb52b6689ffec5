//! What an admin API handler reads from a request, each refusal a problem+json answer:
//! who acts ([`Caller`]: the bearer token, checked by the engine, turned into an
//! [`Actor`] with the grants the roles read model holds now), the JSON body ([`Body`])
//! and the query ([`Params`]).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use verity_admin::{Actor, Call, Door, Principal};
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

/// The problem for a body axum's JSON extractor refused, by the status it chose.
fn body_refused(rejection: &JsonRejection) -> ApiError {
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
