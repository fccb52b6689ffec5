//! The console's pages: the minijinja templates of `templates/console` (listed by
//! `build.rs`), compiled once; the layout every page of a signed-in admin shares (the
//! left navigation, "Log out" in its bottom-left corner); and the console's stylesheet,
//! which adds the layout to the sign-in pages' one (`/static/style.css`).

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use verity_admin::{Permission, Scope};
use verity_http::web::{STRINGS, log_failure};

use super::audit_strings::AUDIT;
use super::error::{ConsoleError, ErrorPage};
use super::session::Console;
use super::strings::CONSOLE;
use crate::state::AdminState;

include!(concat!(env!("OUT_DIR"), "/console_templates.rs"));

/// The templates, compiled on first use. They are part of the binary: one that does not
/// compile is logged here and answers 500 when rendered (a test renders every page).
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    for (name, source) in CONSOLE_TEMPLATES {
        if let Err(error) = environment.add_template(name, source) {
            log_failure(&format!("compiling the console template {name}"), &error);
        }
    }
    environment
});

/// Renders `template` with `values` plus the strings (`c`, and the sign-in pages' `t`) and
/// the instance's name.
pub(crate) fn render(
    state: &AdminState,
    template: &str,
    values: Value,
) -> Result<String, minijinja::Error> {
    let instance = state.app.engine.settings.instance_name.as_str();
    TEMPLATES.get_template(template)?.render(context! {
        c => Value::from(Serde(CONSOLE)),
        a => Value::from(Serde(AUDIT)),
        t => Value::from(Serde(STRINGS)),
        instance,
        ..values
    })
}

/// A page outside the layout (signed out): 200.
pub(crate) fn plain(
    state: &AdminState,
    template: &str,
    values: Value,
) -> Result<Response, ConsoleError> {
    Ok(Html(render(state, template, values)?).into_response())
}

/// The parts of the console, as the navigation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// People.
    Users,
    /// Clients.
    Clients,
    /// Organizations and their roles.
    Organizations,
    /// The auditor's questions and the log's state (read-only).
    Audit,
}

impl Console {
    /// A page of the layout, in `section`, with `status`.
    pub(crate) fn page_with_status(
        &self,
        state: &AdminState,
        status: StatusCode,
        section: Section,
        template: &str,
        values: Value,
    ) -> Result<Response, ConsoleError> {
        let item = |label: &str, href: &str, of: Section| {
            context! { label, href, current => of == section }
        };
        let mut nav = vec![
            item(CONSOLE.users, "/console/users", Section::Users),
            item(CONSOLE.clients, "/console/clients", Section::Clients),
        ];
        // The navigation shows what the admin layer's rule lets the actor do; every page
        // asks the admin layer again.
        if self
            .actor
            .may(Permission::ManageOrganizations, Scope::Instance)
        {
            nav.push(item(
                CONSOLE.organizations,
                "/console/organizations",
                Section::Organizations,
            ));
        }
        // Everyone the console lets in holds a role, and every role reads some people:
        // the Audit section answers each with what the admin layer lets them read.
        nav.push(item(CONSOLE.audit, "/console/audit", Section::Audit));
        let html = render(
            state,
            template,
            context! {
                nav,
                admin_email => &self.email,
                csrf => &self.session.csrf,
                ..values
            },
        )?;
        Ok((status, Html(html)).into_response())
    }

    /// A page of the layout, in `section`: 200.
    pub(crate) fn page(
        &self,
        state: &AdminState,
        section: Section,
        template: &str,
        values: Value,
    ) -> Result<Response, ConsoleError> {
        self.page_with_status(state, StatusCode::OK, section, template, values)
    }
}

/// `GET /static/console.css`: the console's layout.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../../templates/static/console.css"),
    )
        .into_response()
}

/// What a confirmation asks, and where "Confirm" posts it.
pub(crate) struct Question<'a> {
    /// The question, as the admin reads it.
    pub(crate) question: String,
    /// Where "Confirm" posts.
    pub(crate) action: String,
    /// Hidden fields posted with it (which device, which session).
    pub(crate) fields: Vec<(&'a str, &'a str)>,
    /// Where "Cancel" goes.
    pub(crate) back: String,
    /// Whether the action cannot be undone (shown in the error colour).
    pub(crate) danger: bool,
}

impl Console {
    /// The page that asks before an action, with "Confirm" and "Cancel".
    pub(crate) fn confirm(
        &self,
        state: &AdminState,
        section: Section,
        question: Question<'_>,
    ) -> Result<Response, ConsoleError> {
        let fields: Vec<Value> = question
            .fields
            .iter()
            .map(|&(name, value)| context! { name, value })
            .collect();
        self.page(
            state,
            section,
            "confirm.html",
            context! {
                question => question.question,
                action => question.action,
                fields,
                back => question.back,
                danger => question.danger,
            },
        )
    }
}

/// A time as the console shows it: to the minute, in UTC.
pub(crate) fn minute(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Renders the error page of any console response that carries one, with the status
/// and headers the handler gave it.
pub(crate) async fn render_errors(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let Some(page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let values = context! {
        heading => page.heading,
        message => page.message,
        is_error => page.csrf.is_none(),
        csrf => page.csrf,
    };
    let html = match render(&state, "message.html", values) {
        Ok(html) => html,
        Err(error) => {
            log_failure("rendering the console's error page", &error);
            CONSOLE.server_error.to_owned()
        }
    };
    let mut page = (response.status(), Html(html)).into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name, value.clone());
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_renders_and_has_no_script() {
        assert!(CONSOLE_TEMPLATES.len() >= 17, "{}", CONSOLE_TEMPLATES.len());
        for (name, _) in CONSOLE_TEMPLATES {
            let template = TEMPLATES
                .get_template(name)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            let html = template
                .render(context! {
                    c => Value::from(Serde(CONSOLE)),
                    a => Value::from(Serde(AUDIT)),
                    t => Value::from(Serde(STRINGS)),
                    instance => "Test <instance>",
                    csrf => "the-csrf",
                    client => context! {},
                    org => context! {},
                    person => context! {},
                    form => context! {},
                    details => context! {},
                    orgs => Vec::<Value>::new(),
                    head => "the head",
                })
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(!html.contains("<script"), "{name}");
            // A name starting with `_` is a part other pages include.
            if !name.starts_with('_') {
                assert!(html.contains("</html>"), "{name}");
                assert!(
                    html.contains("Test &lt;instance&gt;"),
                    "{name} escapes: {html}"
                );
            }
            // Every form that posts carries the session's token.
            for form in html.split("<form method=\"post\"").skip(1) {
                let form = form.split("</form>").next().unwrap_or_default();
                assert!(
                    form.contains("name=\"csrf\" value=\"the-csrf\""),
                    "{name}: {form}"
                );
            }
        }
    }

    #[test]
    fn the_layout_puts_log_out_after_the_navigation() {
        let html = TEMPLATES
            .get_template("users.html")
            .unwrap()
            .render(context! {
                c => Value::from(Serde(CONSOLE)),
                nav => vec![context! { label => "Users", href => "/console/users", current => true }],
                csrf => "x",
            })
            .unwrap();
        let navigation = html.find("aria-current=\"page\"").unwrap();
        let log_out = html.find(">Log out<").unwrap();
        let content = html.find("<main").unwrap();
        assert!(navigation < log_out && log_out < content, "{html}");
    }
}
