//! A person's sessions (live, and recently ended with how each ended) and ending one;
//! and their history: every event about them, newest first, a page at a time.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use verity_admin::AdminError;
use verity_admin::history::{self, HistoryEntry};
use verity_admin::sessions::{EndedSessionInfo, LiveSession, SignedInTo};

use super::extract::{OnPerson, Params, Segments};
use super::people::{Person, page_size};
use super::problem::{ApiError, Kind};
use crate::state::AdminState;

/// An application a session signed the person in to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Application {
    /// Its client id.
    pub(crate) client_id: String,
    /// Its name (the id when the client is gone).
    pub(crate) name: String,
}

fn applications(clients: Vec<SignedInTo>) -> Vec<Application> {
    clients
        .into_iter()
        .map(|client| Application {
            client_id: client.client_id,
            name: client.name,
        })
        .collect()
}

/// A live session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Live {
    /// Its id (`sid`).
    pub(crate) sid: String,
    /// When the person signed in.
    pub(crate) started_at: DateTime<Utc>,
    /// When it was last used, while known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_active: Option<DateTime<Utc>>,
    /// How they signed in (`pwd`, `otp`, ...).
    pub(crate) amr: Vec<String>,
    /// The address they signed in from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<String>,
    /// The browser, as its User-Agent says ("Firefox on Linux").
    pub(crate) device: String,
    /// The applications it signed them in to.
    pub(crate) applications: Vec<Application>,
}

impl From<LiveSession> for Live {
    fn from(session: LiveSession) -> Self {
        Self {
            sid: session.sid,
            started_at: session.started_at,
            last_active: session.last_active,
            amr: session.amr,
            ip: session.ip,
            device: session.device,
            applications: applications(session.clients),
        }
    }
}

/// A session that ended recently.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Ended {
    /// Its id.
    pub(crate) sid: String,
    /// When it started, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub(crate) ended_at: DateTime<Utc>,
    /// Why, as a stable code (`logout`, `idle_timeout`, `disabled`, `signed_out`, ...).
    pub(crate) reason: String,
    /// Why, in words ("unused for too long").
    pub(crate) how: String,
    /// The address it was started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<String>,
    /// The browser.
    pub(crate) device: String,
    /// The applications it had signed them in to.
    pub(crate) applications: Vec<Application>,
}

impl From<EndedSessionInfo> for Ended {
    fn from(session: EndedSessionInfo) -> Self {
        Self {
            sid: session.sid,
            started_at: session.started_at,
            ended_at: session.ended_at,
            reason: session.reason.to_owned(),
            how: session.how.to_owned(),
            ip: session.ip,
            device: session.device,
            applications: applications(session.clients),
        }
    }
}

/// A person's sessions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Sessions {
    /// The person.
    pub(crate) person: Person,
    /// The live ones, oldest first.
    pub(crate) live: Vec<Live>,
    /// The ones that ended in the last day or so, newest end first.
    pub(crate) ended: Vec<Ended>,
}

/// Who caused an event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Cause {
    /// `themselves`, `admin`, `operator`, `system`, `client` or `scim_token`.
    pub(crate) kind: String,
    /// The actor in words: "the person themselves", an admin's address, "the operator
    /// (root)", "the system", "client ID", "SCIM token ID".
    pub(crate) label: String,
}

/// One event about the person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Event {
    /// Its position in the log.
    pub(crate) position: u64,
    /// When it happened.
    pub(crate) at: DateTime<Utc>,
    /// Its stored type (`user.disabled`, ...).
    pub(crate) event_type: String,
    /// What happened, in one line.
    pub(crate) description: String,
    /// Who did it.
    pub(crate) actor: Cause,
    /// From which address, when it came over HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_ip: Option<String>,
    /// With which browser, when the event says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_agent: Option<String>,
}

impl From<HistoryEntry> for Event {
    fn from(entry: HistoryEntry) -> Self {
        let kind = match &entry.actor {
            history::ActorLabel::Themselves => "themselves",
            history::ActorLabel::Admin { .. } => "admin",
            history::ActorLabel::Operator { .. } => "operator",
            history::ActorLabel::System => "system",
            history::ActorLabel::Client { .. } => "client",
            history::ActorLabel::ScimToken { .. } => "scim_token",
        };
        Self {
            position: entry.position,
            at: entry.at,
            event_type: entry.event_type,
            description: entry.description,
            actor: Cause {
                kind: kind.to_owned(),
                label: entry.actor.describe(),
            },
            client_ip: entry.client_ip,
            user_agent: entry.user_agent,
        }
    }
}

/// One page of a person's history, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct History {
    /// The events.
    pub(crate) events: Vec<Event>,
    /// Pass as `before` for the next (older) page (absent: this is the last).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_before: Option<u64>,
}

/// Which page of a history.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    /// Only events before this position (`next_before` of the page before; absent: the
    /// newest).
    #[serde(default)]
    pub(crate) before: Option<u64>,
    /// Events per page: 1 to 200 (default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<usize>,
}

/// A person's live and recently ended sessions.
#[utoipa::path(
    get,
    path = "/api/v1/people/{user_id}/sessions",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "Their sessions", body = Sessions))
)]
pub(crate) async fn list_sessions(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Sessions>, ApiError> {
    let found = state
        .admin
        .person_sessions(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(Sessions {
        person: found.person.into(),
        live: found.live.into_iter().map(Live::from).collect(),
        ended: found.ended.into_iter().map(Ended::from).collect(),
    }))
}

/// Ends one of the person's sessions: its tokens stop working and its applications are
/// told.
#[utoipa::path(
    delete,
    path = "/api/v1/people/{user_id}/sessions/{sid}",
    tag = "people",
    params(
        ("user_id" = Uuid, Path, description = "The person's id"),
        ("sid" = String, Path, description = "The session's id"),
    ),
    responses((status = 204, description = "Ended"))
)]
pub(crate) async fn end_session(
    State(state): State<AdminState>,
    on: OnPerson,
    Segments((_, sid)): Segments<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .end_person_session(&on.actor, &on.call, &on.person, &sid)
        .await
        .map_err(named_in_path)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The events about a person, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/people/{user_id}/history",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id"), HistoryParams),
    responses(
        (status = 200, description = "A page of their history", body = History),
        (status = 422, description = "A limit out of range",
            body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn history(
    State(state): State<AdminState>,
    on: OnPerson,
    Params(params): Params<HistoryParams>,
) -> Result<Json<History>, ApiError> {
    let page = state
        .admin
        .person_history(
            &on.actor,
            &on.person,
            params.before,
            page_size(params.limit, 1, history::MAX_PAGE)?,
        )
        .await?;
    Ok(Json(History {
        events: page.entries.into_iter().map(Event::from).collect(),
        next_before: page.next_before,
    }))
}

/// The problem for an admin-layer error about something the path names beneath a person
/// (one of their sessions or devices): what is not theirs, or not live, is not found.
pub(crate) fn named_in_path(error: AdminError) -> ApiError {
    match error {
        AdminError::Invalid(why) => ApiError::new(Kind::NotFound, why),
        other => other.into(),
    }
}
