//! `verity user create | list | disable | enable`

use std::process::ExitCode;

use uuid::Uuid;
use verity_domain::user::{self, User, UserCommand as Command};
use verity_domain::{Email, ExecuteError, StoreError, execute};
use verity_projection::{PasswordState, UserView};

use super::{find_org, print_json};
use crate::app::{App, cli_context};
use crate::cli::UserCommand;

pub(super) async fn run(command: UserCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Create { org, email, name } => create(&app, &org, &email, &name, json).await,
        UserCommand::List { org } => list(&app, &org, json),
        UserCommand::Disable { email, org } => {
            change(&app, &org, &email, Command::Disable, "disabled", json).await
        }
        UserCommand::Enable { email, org } => {
            change(&app, &org, &email, Command::Enable, "enabled", json).await
        }
    }
}

async fn create(
    app: &App,
    org: &str,
    email: &str,
    name: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let org = app.projector.read(|models| find_org(models, org))?;
    let temporary_password = verity_oidc::credentials::generate_temporary_password(&mut rand_rng());
    let hash = verity_oidc::credentials::hash_password_blocking(temporary_password.clone()).await?;
    let context = cli_context();
    let expires_at =
        context.now + chrono::Duration::days(i64::from(app.config.users.temporary_password_days));
    let user_id = Uuid::new_v4();
    let command = Command::Create {
        user_id,
        org_id: org.org_id,
        email: email.clone(),
        name: name.to_owned(),
        temporary_password_hash: hash,
        temporary_password_expires_at: expires_at,
    };
    let outcome = execute::<User>(
        app.store.as_ref(),
        &user::stream(user_id),
        &command,
        &context,
    )
    .await
    .map_err(|error| match error {
        ExecuteError::Store(StoreError::UniqueKeyTaken { .. }) => {
            anyhow::anyhow!(
                "{email} already has an account in organization {}",
                org.name
            )
        }
        other => other.into(),
    })?;
    app.wait_for(outcome.position).await?;
    if json {
        print_json(&serde_json::json!({
            "user_id": user_id,
            "org_id": org.org_id,
            "email": email,
            "temporary_password": temporary_password,
            "expires_at": expires_at,
        }));
    } else {
        println!("created user {email} ({user_id}) in {}", org.name);
        println!("temporary password: {temporary_password}");
        println!("expires: {}", expires_at.to_rfc3339());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(app: &App, org: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (org, users) = app.projector.read(|models| {
        let org = find_org(models, org)?;
        let users: Vec<UserView> = models
            .users
            .list_in_org(org.org_id)
            .into_iter()
            .cloned()
            .collect();
        anyhow::Ok((org, users))
    })?;
    for user in users {
        let status = if user.disabled { "disabled" } else { "active" };
        let password = match user.password {
            PasswordState::Temporary { .. } => "temporary",
            PasswordState::Chosen { .. } => "chosen",
        };
        if json {
            print_json(&serde_json::json!({
                "user_id": user.user_id, "org_id": org.org_id, "email": user.email, "name": user.name,
                "status": status, "password": password, "created_at": user.created_at,
            }));
        } else {
            println!(
                "{}  {}  {}  {status}  password {password}",
                user.user_id, user.email, user.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn change(
    app: &App,
    org: &str,
    email: &str,
    command: Command,
    done: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let user = app.projector.read(|models| {
        let org = find_org(models, org)?;
        models
            .users
            .find_by_email(org.org_id, &email)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no user {email} in organization {}", org.name))
    })?;
    let outcome = execute::<User>(
        app.store.as_ref(),
        &user::stream(user.user_id),
        &command,
        &cli_context(),
    )
    .await?;
    app.wait_for(outcome.position).await?;
    if json {
        print_json(&serde_json::json!({ "user_id": user.user_id, "email": email, "status": done }));
    } else {
        println!("{done} {email} ({})", user.user_id);
    }
    Ok(ExitCode::SUCCESS)
}

/// The operating system's generator, for the temporary password: the one place the CLI
/// draws randomness.
#[allow(clippy::disallowed_methods)]
fn rand_rng() -> impl rand::Rng {
    rand::rng()
}
