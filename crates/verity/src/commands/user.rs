//! `verity user create | reset-password | list | disable | enable`; the second factor's
//! commands (`devices | forget-devices | reset-mfa`) are in `devices.rs`.
//!
//! A temporary password travels by email only (docs/email.md): the command renders and
//! sends the email first and records the event after, so a failed delivery leaves
//! nothing behind. `--show-password` also prints it.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use verity_domain::user::{self, User, UserCommand as Command};
use verity_domain::{Aggregate, Email, ExecuteError, StoreError, execute, load};
use verity_oidc::mail::{Delivered, MailTemplates, TemporaryPasswordMail, TemporaryPasswordReason};
use verity_projection::{PasswordState, UserView};

use super::{find_org, print_json};
use crate::app::{App, cli_context};
use crate::cli::UserCommand;

pub(super) async fn run(command: UserCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Create {
            org,
            email,
            name,
            show_password,
        } => {
            let show = Show {
                json,
                password: show_password,
            };
            create(&app, &org, &email, &name, show).await
        }
        UserCommand::ResetPassword {
            email,
            org,
            show_password,
        } => {
            let show = Show {
                json,
                password: show_password,
            };
            reset_password(&app, &org, &email, show).await
        }
        UserCommand::List { org } => list(&app, &org, json),
        UserCommand::Disable { email, org } => {
            change(&app, &org, &email, Command::Disable, "disabled", json).await
        }
        UserCommand::Enable { email, org } => {
            change(&app, &org, &email, Command::Enable, "enabled", json).await
        }
        UserCommand::Devices { email, org } => super::devices::list(&app, &org, &email, json),
        UserCommand::Unlock { email, org } => super::unlock::run(&app, &org, &email, json).await,
        UserCommand::ForgetDevices { email, org } => {
            super::devices::forget_all(&app, &org, &email, json).await
        }
        UserCommand::ResetMfa { email, org } => {
            super::devices::reset_authenticator(&app, &org, &email, json).await
        }
    }
}

/// What a command prints.
#[derive(Debug, Clone, Copy)]
struct Show {
    /// One JSON line instead of text.
    json: bool,
    /// Include the temporary password (`--show-password`).
    password: bool,
}

/// A fresh temporary password, its hash and its expiry.
struct Issued {
    password: String,
    hash: String,
    expires_at: DateTime<Utc>,
}

async fn issue(app: &App, now: DateTime<Utc>) -> anyhow::Result<Issued> {
    let password = verity_oidc::credentials::generate_temporary_password(&mut crate::app::os_rng());
    let hash = verity_oidc::credentials::hash_password_blocking(password.clone()).await?;
    let days = app.config.users.temporary_password_days;
    Ok(Issued {
        password,
        hash,
        expires_at: now + chrono::Duration::days(i64::from(days)),
    })
}

/// Renders and delivers the temporary-password email. Its error says that nothing was
/// recorded, which is true of every caller: they send before they append.
async fn send(
    app: &App,
    email: &Email,
    name: &str,
    issued: &Issued,
    reason: TemporaryPasswordReason,
) -> anyhow::Result<Delivered> {
    let sign_in_url = app.config.sign_in_url();
    let mail = MailTemplates::new()?.temporary_password(&TemporaryPasswordMail {
        instance: &app.config.instance.name,
        email,
        name,
        temporary_password: &issued.password,
        sign_in_url: &sign_in_url,
        expires_at: issued.expires_at,
        valid_days: app.config.users.temporary_password_days,
        reason,
    })?;
    let outcome = async { crate::mail::mailer(&app.config)?.send(&mail).await }.await;
    outcome.map_err(|error| {
        let nothing = match reason {
            TemporaryPasswordReason::AccountCreated => "no account was created",
            TemporaryPasswordReason::PasswordReset => {
                "no new password was issued and the current one still works"
            }
        };
        anyhow::anyhow!("{error}; {nothing}")
    })
}

/// The error of an append that failed after the email went out: the emailed password
/// does not work, and the operator must know.
fn sent_but_not_recorded(email: &Email, error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "the email to {email} was sent, but recording it failed ({error}); the password in that email does not work: run the command again"
    )
}

/// Adds the temporary password to a JSON line, with `--show-password` only.
fn with_password(mut line: serde_json::Value, show: Show, issued: &Issued) -> serde_json::Value {
    if show.password
        && let Some(object) = line.as_object_mut()
    {
        object.insert("temporary_password".into(), issued.password.clone().into());
    }
    line
}

fn delivery_json(delivered: &Delivered) -> serde_json::Value {
    match delivered {
        Delivered::Smtp { response } => serde_json::json!({ "smtp": response }),
        Delivered::Outbox { path } => serde_json::json!({ "outbox": path }),
    }
}

fn print_delivery(email: &Email, delivered: &Delivered) {
    match delivered {
        Delivered::Smtp { response } => println!("emailed to {email} (SMTP: {response})"),
        Delivered::Outbox { path } => println!(
            "no SMTP server configured: email to {email} written to {}",
            path.display()
        ),
    }
}

async fn create(
    app: &App,
    org: &str,
    email: &str,
    name: &str,
    show: Show,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let org = app.projector.read(|models| find_org(models, org))?;
    let taken = app
        .projector
        .read(|models| models.users.find_by_email(org.org_id, &email).is_some());
    if taken {
        anyhow::bail!(
            "{email} already has an account in organization {}",
            org.name
        );
    }
    let context = cli_context();
    let issued = issue(app, context.now).await?;
    let user_id = verity_oidc::random::uuid();
    let command = Command::Create {
        user_id,
        org_id: org.org_id,
        email: email.clone(),
        name: name.to_owned(),
        temporary_password_hash: issued.hash.clone(),
        temporary_password_expires_at: issued.expires_at,
    };
    // Every rule is checked before the email goes out; only a concurrent write can still
    // refuse the append after it.
    User::default().decide(&command, &context)?;
    let delivered = send(
        app,
        &email,
        name.trim(),
        &issued,
        TemporaryPasswordReason::AccountCreated,
    )
    .await?;
    let outcome = execute::<User>(
        app.store.as_ref(),
        &user::stream(user_id),
        &command,
        &context,
    )
    .await
    .map_err(|error| match error {
        ExecuteError::Store(StoreError::UniqueKeyTaken { .. }) => sent_but_not_recorded(
            &email,
            format_args!(
                "{email} already has an account in organization {}",
                org.name
            ),
        ),
        other => sent_but_not_recorded(&email, other),
    })?;
    app.wait_for(outcome.position).await?;
    if show.json {
        let line = serde_json::json!({
            "user_id": user_id,
            "org_id": org.org_id,
            "email": email,
            "expires_at": issued.expires_at,
            "delivery": delivery_json(&delivered),
        });
        print_json(&with_password(line, show, &issued));
    } else {
        println!("created user {email} ({user_id}) in {}", org.name);
        print_delivery(&email, &delivered);
        if show.password {
            println!("temporary password: {}", issued.password);
        }
        println!("expires: {}", issued.expires_at.to_rfc3339());
    }
    Ok(ExitCode::SUCCESS)
}

async fn reset_password(app: &App, org: &str, email: &str, show: Show) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let user = find_user(app, org, &email)?;
    let stream = user::stream(user.user_id);
    let context = cli_context();
    let issued = issue(app, context.now).await?;
    let command = Command::IssueTemporaryPassword {
        temporary_password_hash: issued.hash.clone(),
        expires_at: issued.expires_at,
    };
    // Refuse a disabled or unknown user before anything is sent.
    let (state, _) = load::<User>(app.store.as_ref(), &stream).await?;
    state.decide(&command, &context)?;
    let delivered = send(
        app,
        &email,
        &user.name,
        &issued,
        TemporaryPasswordReason::PasswordReset,
    )
    .await?;
    let outcome = execute::<User>(app.store.as_ref(), &stream, &command, &context)
        .await
        .map_err(|error| sent_but_not_recorded(&email, error))?;
    app.wait_for(outcome.position).await?;
    if show.json {
        let line = serde_json::json!({
            "user_id": user.user_id,
            "email": email,
            "expires_at": issued.expires_at,
            "delivery": delivery_json(&delivered),
        });
        print_json(&with_password(line, show, &issued));
    } else {
        println!("new temporary password for {email} ({})", user.user_id);
        print_delivery(&email, &delivered);
        if show.password {
            println!("temporary password: {}", issued.password);
        }
        println!("expires: {}", issued.expires_at.to_rfc3339());
    }
    Ok(ExitCode::SUCCESS)
}

/// The person with this address in this organization, from the read models.
fn find_user(app: &App, org: &str, email: &Email) -> anyhow::Result<UserView> {
    app.projector.read(|models| {
        let org = find_org(models, org)?;
        models
            .users
            .find_by_email(org.org_id, email)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no user {email} in organization {}", org.name))
    })
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
