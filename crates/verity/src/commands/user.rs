//! `verity user create | reset-password | list | disable | enable | erase`; the second factor's
//! commands (`devices | forget-devices | reset-mfa`) are in `devices.rs`, `unlock` in
//! `unlock.rs`. Each is a door to the admin layer: it parses, calls, prints.
//!
//! A temporary password travels by email only (docs/email.md); `--show-password` also
//! prints it.

use crate::commands::output::say;
use std::process::ExitCode;

use verity_admin::invitations::{Invitation, NewPerson};
use verity_admin::people::Status;
use verity_admin::{OrgRef, Person};
use verity_oidc::mail::Delivered;

use super::door::{AdminCli, cli_error, named, person};
use super::output::print_json;
use crate::app::App;
use crate::cli::UserCommand;

pub(super) async fn run(command: UserCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    match command {
        UserCommand::Create {
            org,
            email,
            name,
            show_password,
        } => {
            let new = NewPerson {
                org: OrgRef::parse(&org),
                email,
                name,
            };
            let invitation = admin
                .create_person(operator, call, &new)
                .await
                .map_err(cli_error)?;
            let headline = format!(
                "created user {} ({}) in {}",
                invitation.person.email, invitation.person.user_id, invitation.organization.name
            );
            let line = serde_json::json!({ "org_id": invitation.person.org_id });
            print_invitation(&cli, &invitation, &headline, line, show_password)?;
        }
        UserCommand::ResetPassword {
            email,
            org,
            show_password,
        } => {
            let invitation = admin
                .reset_password(operator, call, &person(&org, &email))
                .await
                .map_err(cli_error)?;
            let headline = format!(
                "new temporary password for {} ({})",
                invitation.person.email, invitation.person.user_id
            );
            let line = serde_json::json!({});
            print_invitation(&cli, &invitation, &headline, line, show_password)?;
        }
        UserCommand::List { org } => {
            let people = admin
                .people(operator, &OrgRef::parse(&org))
                .map_err(cli_error)?;
            for person in people {
                let (status, password) = (person.status.as_str(), person.password.as_str());
                if json {
                    print_json(&serde_json::json!({
                        "user_id": person.user_id, "org_id": person.org_id, "email": person.email,
                        "name": person.name, "status": status, "password": password,
                        "created_at": person.created_at,
                    }))?;
                } else {
                    say!(
                        "{}  {}  {}  {status}  password {password}",
                        person.user_id,
                        person.email,
                        person.name
                    );
                }
            }
        }
        UserCommand::SignOut { email, org } => {
            let (signed_out, sessions) = admin
                .sign_out_person(operator, call, &person(&org, &email))
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&serde_json::json!({
                    "user_id": signed_out.user_id, "email": signed_out.email,
                    "sessions_ended": sessions,
                }))?;
            } else {
                say!(
                    "signed out {} ({}) everywhere: {sessions} session(s) ended",
                    signed_out.email,
                    signed_out.user_id
                );
            }
        }
        UserCommand::Disable { email, org } => {
            let changed = admin
                .disable_person(operator, call, &person(&org, &email))
                .await;
            print_status(changed.map_err(cli_error)?, json)?;
        }
        UserCommand::Erase { email, org } => {
            let erasure = admin
                .erase_person(operator, call, &named(&org, &email))
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&serde_json::json!({
                    "user_id": erasure.user_id,
                    "org_id": erasure.org_id,
                    "status": "erased",
                    "position": erasure.position,
                }))?;
            } else {
                say!(
                    "erased user {} (position {})",
                    erasure.user_id,
                    erasure.position
                );
            }
        }
        UserCommand::Enable { email, org } => {
            let changed = admin
                .enable_person(operator, call, &person(&org, &email))
                .await;
            print_status(changed.map_err(cli_error)?, json)?;
        }
        UserCommand::Devices { email, org } => {
            super::devices::list(&cli, &person(&org, &email)).await?;
        }
        UserCommand::Unlock { email, org } => {
            super::unlock::person(&cli, &person(&org, &email)).await?;
        }
        UserCommand::ForgetDevices { email, org } => {
            super::devices::forget_all(&cli, &person(&org, &email)).await?;
        }
        UserCommand::ResetMfa { email, org } => {
            super::devices::reset_authenticator(&cli, &person(&org, &email)).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a command that issued a temporary password prints: the headline, where the email
/// went, the password with `--show-password`, and when it expires; or one JSON line of
/// `line`'s fields and those.
fn print_invitation(
    cli: &AdminCli,
    invitation: &Invitation,
    headline: &str,
    mut line: serde_json::Value,
    show_password: bool,
) -> anyhow::Result<()> {
    let (email, password) = (
        &invitation.person.email,
        invitation.temporary_password.expose(),
    );
    if cli.json {
        if let Some(object) = line.as_object_mut() {
            let delivery = match &invitation.delivered {
                Delivered::Smtp { response } => serde_json::json!({ "smtp": response }),
                Delivered::Outbox { path } => serde_json::json!({ "outbox": path }),
            };
            object.insert(
                "user_id".into(),
                invitation.person.user_id.to_string().into(),
            );
            object.insert("email".into(), email.as_str().into());
            object.insert(
                "expires_at".into(),
                serde_json::json!(invitation.expires_at),
            );
            object.insert("delivery".into(), delivery);
            if show_password {
                object.insert("temporary_password".into(), password.into());
            }
        }
        print_json(&line)?;
        return Ok(());
    }
    say!("{headline}");
    match &invitation.delivered {
        Delivered::Smtp { response } => say!("emailed to {email} (SMTP: {response})"),
        Delivered::Outbox { path } => say!(
            "no SMTP server configured: email to {email} written to {}",
            path.display()
        ),
    }
    if show_password {
        say!("temporary password: {password}");
    }
    say!("expires: {}", invitation.expires_at.to_rfc3339());
    Ok(())
}

/// A person's new status after `disable` or `enable`.
fn print_status(person: Person, json: bool) -> anyhow::Result<()> {
    let done = match person.status {
        Status::Disabled => "disabled",
        Status::Active => "enabled",
    };
    if json {
        print_json(
            &serde_json::json!({ "user_id": person.user_id, "email": person.email, "status": done }),
        )?;
    } else {
        say!("{done} {} ({})", person.email, person.user_id);
    }
    Ok(())
}
