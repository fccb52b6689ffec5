//! "Create user": the form (organization, "Email", "Name", "Create") and what it does —
//! the person gets the temporary-password email exactly as from the command line, and
//! their page opens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::value::Serde;
use minijinja::{Value, context};
use verity_admin::invitations::NewPerson;
use verity_admin::{OrgRef, Permission, Scope};

use crate::console::error::ConsoleError;
use crate::console::pages::Section;
use crate::console::posted::Posted;
use crate::console::session::Console;
use crate::state::AdminState;

/// What the form holds, as typed.
#[derive(Debug, Default, serde::Serialize)]
struct PersonForm {
    org: String,
    email: String,
    name: String,
}

/// The form, with what was typed and why it was refused.
fn form_page(
    state: &AdminState,
    console: &Console,
    status: StatusCode,
    form: &PersonForm,
    error: Option<&str>,
) -> Result<Response, ConsoleError> {
    // The organizations the admin layer's rule lets the admin create people in.
    let orgs: Vec<Value> = state
        .admin
        .organizations(&console.actor)
        .into_iter()
        .filter(|org| {
            console
                .actor
                .may(Permission::ManagePeople, Scope::Organization(org.org_id))
        })
        .map(|org| context! { org_id => org.org_id.to_string(), name => org.name })
        .collect();
    console.page_with_status(
        state,
        status,
        Section::Users,
        "user_new.html",
        context! { form => Value::from(Serde(form)), orgs, error },
    )
}

/// `GET /console/users/new`: "Create user", in the organization the Users page showed.
pub(super) async fn form(
    State(state): State<AdminState>,
    console: Console,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let form = PersonForm {
        org: query.get("org").cloned().unwrap_or_default(),
        ..PersonForm::default()
    };
    form_page(&state, &console, StatusCode::OK, &form, None)
}

/// `POST /console/users`: creates the person and opens their page.
pub(super) async fn submit(
    State(state): State<AdminState>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    let form = PersonForm {
        org: posted.field("org").to_owned(),
        email: posted.field("email").to_owned(),
        name: posted.field("name").to_owned(),
    };
    let new = NewPerson {
        org: OrgRef::parse(&form.org),
        email: form.email.clone(),
        name: form.name.clone(),
    };
    match state
        .admin
        .create_person(&console.actor, &console.call(), &new)
        .await
    {
        Ok(invitation) => Ok(Redirect::to(&format!(
            "/console/users/{}?done=created",
            invitation.person.user_id
        ))
        .into_response()),
        Err(error) => match ConsoleError::from(error) {
            ConsoleError::Refused { status, message } => {
                form_page(&state, console, status, &form, Some(&message))
            }
            other => Err(other),
        },
    }
}
