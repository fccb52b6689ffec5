//! The console's error: one type ([`ConsoleError`]) every console handler and extractor
//! returns. Someone not signed in goes to the sign-in; someone without a role gets the
//! 403 page with only "Log out"; a refusal of the admin layer is shown with its message
//! and the status that fits it (not found, forbidden, conflict, invalid, busy); a failure is
//! logged with its chain and shown as ours. The page is rendered by one layer
//! ([`pages::render_errors`](super::pages::render_errors)), which holds the state the
//! instance's name comes from.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use verity_admin::AdminError;
use verity_http::web::log_failure;
use verity_oidc::EngineError;
use verity_oidc::credentials::HashError;

use super::strings::CONSOLE;

/// Why a console page cannot be shown as asked.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No console session (or its SSO session ended): sign in, then back to `next`.
    SignIn {
        /// The console path to come back to.
        next: String,
    },
    /// Signed in, holding no role: 403, no data, only "Log out" (with the session's
    /// form token).
    NoAccess {
        /// The console session's form token.
        csrf: String,
    },
    /// Refused, with what to tell the admin.
    Refused {
        /// 400, 403, 404, 409...
        status: StatusCode,
        /// Why.
        message: String,
    },
    /// Something failed on our side (500); the cause was logged.
    Internal,
}

impl ConsoleError {
    /// 400 with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::Refused {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 403: a form without the console session's token.
    pub(crate) fn csrf() -> Self {
        Self::Refused {
            status: StatusCode::FORBIDDEN,
            message: CONSOLE.csrf_failed.to_owned(),
        }
    }

    /// 404: no such page.
    pub(crate) fn no_such_page() -> Self {
        Self::Refused {
            status: StatusCode::NOT_FOUND,
            message: CONSOLE.no_such_page.to_owned(),
        }
    }

    /// 503: too many passwords are being hashed; try again in a moment.
    pub(crate) fn busy() -> Self {
        Self::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: CONSOLE.busy.to_owned(),
        }
    }

    /// Logs a failure of ours with its chain; the admin sees the generic message.
    pub(crate) fn internal(error: impl std::error::Error + 'static) -> Self {
        log_failure("a console page", &error);
        Self::Internal
    }
}

impl From<AdminError> for ConsoleError {
    fn from(error: AdminError) -> Self {
        let status = match &error {
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AdminError::Conflict(_) | AdminError::Refused(_) => StatusCode::CONFLICT,
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::Hashing(HashError::Busy) => return Self::busy(),
            AdminError::DeliveryFailed { .. } | AdminError::SentButNotRecorded { .. } => {
                // The admin must read what happened to the email; the cause is logged too.
                log_failure("a console action's email", &error);
                StatusCode::BAD_GATEWAY
            }
            _ => return Self::internal(error),
        };
        Self::Refused {
            status,
            message: capitalized(&error.to_string()),
        }
    }
}

impl From<EngineError> for ConsoleError {
    fn from(error: EngineError) -> Self {
        match error {
            // A rule of the domain said no (the state changed under the request).
            EngineError::Refused(reason) => Self::Refused {
                status: StatusCode::CONFLICT,
                message: capitalized(&reason),
            },
            EngineError::Overloaded => Self::busy(),
            other => Self::internal(other),
        }
    }
}

impl From<minijinja::Error> for ConsoleError {
    fn from(error: minijinja::Error) -> Self {
        Self::internal(error)
    }
}

/// The admin layer's messages start in lower case (they end CLI lines); a page shows a
/// sentence.
fn capitalized(message: &str) -> String {
    let mut characters = message.chars();
    match characters.next() {
        Some(first) => {
            let mut sentence: String = first.to_uppercase().collect();
            sentence.push_str(characters.as_str());
            if !sentence.ends_with(['.', '!', '?']) {
                sentence.push('.');
            }
            sentence
        }
        None => String::new(),
    }
}

/// An error page to render: carried from [`ConsoleError::into_response`] to the layer
/// that renders it.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    /// Its heading.
    pub(crate) heading: &'static str,
    /// What it says.
    pub(crate) message: String,
    /// The "Log out" form's token, on the page of someone without a role.
    pub(crate) csrf: Option<String>,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            Self::SignIn { next } => {
                let target = format!("/console/signin?next={}", encode(&next));
                return Redirect::to(&target).into_response();
            }
            Self::NoAccess { csrf } => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    heading: CONSOLE.no_access_heading,
                    message: CONSOLE.no_access.to_owned(),
                    csrf: Some(csrf),
                },
            ),
            Self::Refused { status, message } => (
                status,
                ErrorPage {
                    heading: CONSOLE.error_heading,
                    message,
                    csrf: None,
                },
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorPage {
                    heading: CONSOLE.error_heading,
                    message: CONSOLE.server_error.to_owned(),
                    csrf: None,
                },
            ),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(page);
        response
    }
}

/// `value` percent-encoded for a query.
pub(crate) fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_layers_lines_become_sentences() {
        assert_eq!(
            capitalized("no user ada@example.org in organization Acme"),
            "No user ada@example.org in organization Acme."
        );
        assert_eq!(capitalized("done."), "Done.");
        assert_eq!(capitalized(""), "");
    }

    #[test]
    fn the_admin_layers_refusals_keep_their_status() {
        let not_found = ConsoleError::from(AdminError::NotFound(verity_admin::Missing::Client(
            "x".into(),
        )));
        assert!(matches!(
            not_found,
            ConsoleError::Refused {
                status: StatusCode::NOT_FOUND,
                ..
            }
        ));
        let conflict = ConsoleError::from(AdminError::Conflict("taken".into()));
        assert!(matches!(
            conflict,
            ConsoleError::Refused {
                status: StatusCode::CONFLICT,
                ..
            }
        ));
    }

    #[test]
    fn an_engine_refusal_is_a_conflict_and_shed_load_is_busy_never_a_500() {
        let status = |error: ConsoleError| match error {
            ConsoleError::Refused { status, .. } => status,
            other => panic!("{other:?}"),
        };
        let refused = EngineError::Refused("the session already ended".into());
        assert_eq!(status(refused.into()), StatusCode::CONFLICT);
        assert_eq!(
            status(EngineError::Overloaded.into()),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(AdminError::Hashing(HashError::Busy).into()),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let failed = ConsoleError::from(EngineError::State("unreadable".into()));
        assert!(matches!(failed, ConsoleError::Internal));
    }
}
