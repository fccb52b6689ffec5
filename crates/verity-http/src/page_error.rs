//! The error of the pages: one type ([`PageError`]) that any page handler or extractor
//! returns, rendered as the HTML error page by one layer ([`render`]). A handler returns
//! `Result<Response, PageError>` and never builds an error page itself.
//!
//! `IntoResponse` has no access to the templates, so a `PageError` becomes an empty
//! response carrying its message as an extension; the layer, which holds the templates,
//! renders it and keeps the headers the handler set.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use verity_oidc::EngineError;

use crate::error::{RETRY_AFTER_SECONDS, log_failure};
use crate::form::FormError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// Why a page cannot be shown as asked.
#[derive(Debug)]
pub(crate) enum PageError {
    /// The request cannot be served as sent (400), with what to tell the person.
    BadRequest(String),
    /// The body could not be read (413 when too large), with axum's reason.
    Body(StatusCode, String),
    /// The request is not allowed (403): a CSRF token that does not match, no session.
    Forbidden(&'static str),
    /// The login transaction is gone, or at another step than the form posted.
    LoginExpired,
    /// A rule of the domain refused what the page asked (409); the reason was logged.
    Refused,
    /// Too many sign-ins are waiting for their password to be checked (503, with
    /// `Retry-After`): refused at once rather than queued.
    Overloaded,
    /// Something failed on our side (500); the cause was logged with its chain.
    Internal,
}

/// The message of a page error, carried from the handler to [`render`].
#[derive(Debug, Clone)]
struct PageMessage(String);

impl PageError {
    fn status_and_message(self) -> (StatusCode, String) {
        match self {
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::Body(status, message) => (status, message),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, message.to_owned()),
            Self::LoginExpired => (StatusCode::BAD_REQUEST, STRINGS.login_expired.to_owned()),
            Self::Refused => (StatusCode::CONFLICT, STRINGS.action_refused.to_owned()),
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, STRINGS.busy.to_owned()),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                STRINGS.server_error.to_owned(),
            ),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let overloaded = matches!(self, Self::Overloaded);
        let (status, message) = self.status_and_message();
        let mut response = status.into_response();
        if overloaded {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(PageMessage(message));
        response
    }
}

impl From<EngineError> for PageError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Refused(reason) => {
                tracing::warn!(%reason, "a rule refused what a page asked");
                Self::Refused
            }
            EngineError::Overloaded => Self::Overloaded,
            other => {
                log_failure("a page", &other);
                Self::Internal
            }
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        log_failure("rendering a page", &error);
        Self::Internal
    }
}

impl From<axum::extract::rejection::BytesRejection> for PageError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        Self::Body(rejection.status(), rejection.body_text())
    }
}

impl From<FormError> for PageError {
    fn from(error: FormError) -> Self {
        match error {
            FormError::NotAForm => Self::BadRequest(STRINGS.not_a_form.to_owned()),
            FormError::Malformed(error) => Self::BadRequest(error.error_description),
        }
    }
}

/// Renders the error page of any response that carries a [`PageError`]'s message, with
/// the status and headers the handler gave it.
pub(crate) async fn render(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let Some(PageMessage(message)) = response.extensions_mut().remove::<PageMessage>() else {
        return response;
    };
    let mut page = state.pages.error(response.status(), &message);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name, value.clone());
        }
    }
    page
}
