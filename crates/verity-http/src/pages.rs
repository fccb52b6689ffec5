//! The pages: minijinja templates compiled into the binary, every visible string in one
//! table ([`STRINGS`], ready for translation), the stylesheet and the security headers.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};
use serde::Serialize;

/// Every string a person sees, by key. Templates use them as `t.<key>`.
#[derive(Debug, Clone, Serialize)]
pub struct Strings {
    /// Product name.
    pub product: &'static str,
    /// Title and heading of the sign-in page.
    pub sign_in_title: &'static str,
    /// Label of the email field.
    pub email: &'static str,
    /// Label of the password field.
    pub password: &'static str,
    /// The sign-in button.
    pub sign_in: &'static str,
    /// Unknown email or wrong password (the same message for both).
    pub bad_credentials: &'static str,
    /// A disabled account.
    pub account_disabled: &'static str,
    /// An expired temporary password.
    pub temporary_password_expired: &'static str,
    /// The sign-in took too long or the form was replayed.
    pub login_expired: &'static str,
    /// A form without a valid CSRF token.
    pub csrf_failed: &'static str,
    /// Heading of an error page.
    pub error_heading: &'static str,
    /// Heading of the signed-out page.
    pub signed_out_heading: &'static str,
    /// Message of the signed-out page.
    pub signed_out: &'static str,
    /// Title of the logout confirmation page.
    pub logout_title: &'static str,
    /// The question on the logout confirmation page.
    pub logout_question: &'static str,
    /// The checkbox that forgets this browser as a trusted device.
    pub forget_device: &'static str,
    /// The confirmation button.
    pub confirm: &'static str,
    /// The link to sign out on Verity's own pages.
    pub logout_link: &'static str,
    /// Verity's home page for a signed-in person.
    pub signed_in_as: &'static str,
}

/// The strings, in English.
pub const STRINGS: Strings = Strings {
    product: "Verity",
    sign_in_title: "Sign in",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    bad_credentials: "The email or password is not correct.",
    account_disabled: "Your account is disabled. Ask your administrator.",
    temporary_password_expired: "Your temporary password has expired — ask your administrator for a new one.",
    login_expired: "Your sign-in took too long or was already used. Go back to the application and start again.",
    csrf_failed: "This form could not be verified. Reload the page and try again.",
    error_heading: "Something is wrong",
    signed_out_heading: "Signed out",
    signed_out: "You are signed out.",
    logout_title: "Logout",
    logout_question: "Do you want to sign out?",
    forget_device: "Forget this device as trusted environment",
    confirm: "Confirm",
    logout_link: "Logout",
    signed_in_as: "You are signed in as",
};

/// The page templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../templates/pages/base.html"),
    ),
    (
        "login.html",
        include_str!("../../../templates/pages/login.html"),
    ),
    (
        "message.html",
        include_str!("../../../templates/pages/message.html"),
    ),
    (
        "logout.html",
        include_str!("../../../templates/pages/logout.html"),
    ),
];

/// The compiled templates.
pub struct Pages {
    environment: Environment<'static>,
    instance: String,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Pages")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// Compiles the templates shipped in `templates/pages`.
    pub fn new(instance: impl Into<String>) -> Result<Self, minijinja::Error> {
        let mut environment = Environment::new();
        environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES {
            environment.add_template(name, source)?;
        }
        Ok(Self {
            environment,
            instance: instance.into(),
        })
    }

    /// Renders `template` with `values` plus the strings and the instance name.
    pub fn render(&self, template: &str, values: Value) -> Result<String, minijinja::Error> {
        let template = self.environment.get_template(template)?;
        template.render(context! { t => Value::from(minijinja::value::Serde(STRINGS)), instance => self.instance.as_str(), ..values })
    }

    /// A message page (errors, signed out) with `status`.
    pub fn message(
        &self,
        status: StatusCode,
        heading: &str,
        message: &str,
        is_error: bool,
    ) -> Response {
        match self.render("message.html", context! { heading, message, is_error }) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "rendering a message page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
            }
        }
    }

    /// An error page that never redirects.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        self.message(status, STRINGS.error_heading, message, true)
    }
}

/// The stylesheet.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/style.css"),
    )
        .into_response()
}

/// Security headers on every answer: no inline script or style, no framing, no referrer.
pub(crate) async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
