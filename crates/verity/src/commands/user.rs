//! `verity user create | reset-password | list | disable | enable`; the second factor's
//! commands (`devices | forget-devices | reset-mfa`) are in `devices.rs`, `unlock` in
//! `unlock.rs`. Each is a door to the admin layer: it parses, calls, prints.
//!
//! A temporary password travels by email only (docs/email.md); `--show-password` also
//! prints it.

use std::process::ExitCode;

use verity_admin::OrgRef;
use verity_admin::invitations::{Invitation, NewPerson};
use verity_oidc::mail::Delivered;

use super::{cli_error, person, print_json};
use crate::app::{App, cli_call, operator};
use crate::cli::UserCommand;

pub(super) async fn run(command: UserCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let (admin, operator, call) = (app.admin(), operator(), cli_call());
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
                .create_person(&operator, &call, &new)
                .await
                .map_err(cli_error)?;
            if json {
                let line = serde_json::json!({
                    "user_id": invitation.person.user_id,
                    "org_id": invitation.person.org_id,
                    "email": invitation.person.email,
                    "expires_at": invitation.expires_at,
                    "delivery": delivery_json(&invitation.delivered),
                });
                print_json(&with_password(line, show_password, &invitation));
            } else {
                println!(
                    "created user {} ({}) in {}",
                    invitation.person.email,
                    invitation.person.user_id,
                    invitation.organization.name
                );
                print_issued(&invitation, show_password);
            }
        }
        UserCommand::ResetPassword {
            email,
            org,
            show_password,
        } => {
            let invitation = admin
                .reset_password(&operator, &call, &person(&org, &email))
                .await
                .map_err(cli_error)?;
            if json {
                let line = serde_json::json!({
                    "user_id": invitation.person.user_id,
                    "email": invitation.person.email,
                    "expires_at": invitation.expires_at,
                    "delivery": delivery_json(&invitation.delivered),
                });
                print_json(&with_password(line, show_password, &invitation));
            } else {
                println!(
                    "new temporary password for {} ({})",
                    invitation.person.email, invitation.person.user_id
                );
                print_issued(&invitation, show_password);
            }
        }
        UserCommand::List { org } => {
            let people = admin
                .people(&operator, &OrgRef::parse(&org))
                .map_err(cli_error)?;
            for person in people {
                let (status, password) = (person.status.as_str(), person.password.as_str());
                if json {
                    print_json(&serde_json::json!({
                        "user_id": person.user_id, "org_id": person.org_id, "email": person.email,
                        "name": person.name, "status": status, "password": password,
                        "created_at": person.created_at,
                    }));
                } else {
                    println!(
                        "{}  {}  {}  {status}  password {password}",
                        person.user_id, person.email, person.name
                    );
                }
            }
        }
        UserCommand::Disable { email, org } => {
            let changed = admin
                .disable_person(&operator, &call, &person(&org, &email))
                .await;
            print_status(changed.map_err(cli_error)?, json);
        }
        UserCommand::Enable { email, org } => {
            let changed = admin
                .enable_person(&operator, &call, &person(&org, &email))
                .await;
            print_status(changed.map_err(cli_error)?, json);
        }
        UserCommand::Devices { email, org } => {
            super::devices::list(&admin, &operator, &call, &person(&org, &email), json)?;
        }
        UserCommand::Unlock { email, org } => {
            super::unlock::person(&admin, &operator, &call, &person(&org, &email), json).await?;
        }
        UserCommand::ForgetDevices { email, org } => {
            super::devices::forget_all(&admin, &operator, &call, &person(&org, &email), json)
                .await?;
        }
        UserCommand::ResetMfa { email, org } => {
            let target = person(&org, &email);
            super::devices::reset_authenticator(&admin, &operator, &call, &target, json).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Adds the temporary password to a JSON line, with `--show-password` only.
fn with_password(
    mut line: serde_json::Value,
    show_password: bool,
    invitation: &Invitation,
) -> serde_json::Value {
    if show_password && let Some(object) = line.as_object_mut() {
        let password = invitation.temporary_password.expose();
        object.insert("temporary_password".into(), password.into());
    }
    line
}

fn delivery_json(delivered: &Delivered) -> serde_json::Value {
    match delivered {
        Delivered::Smtp { response } => serde_json::json!({ "smtp": response }),
        Delivered::Outbox { path } => serde_json::json!({ "outbox": path }),
    }
}

/// Where the email went, the password with `--show-password`, and when it expires.
fn print_issued(invitation: &Invitation, show_password: bool) {
    let email = &invitation.person.email;
    match &invitation.delivered {
        Delivered::Smtp { response } => println!("emailed to {email} (SMTP: {response})"),
        Delivered::Outbox { path } => println!(
            "no SMTP server configured: email to {email} written to {}",
            path.display()
        ),
    }
    if show_password {
        println!(
            "temporary password: {}",
            invitation.temporary_password.expose()
        );
    }
    println!("expires: {}", invitation.expires_at.to_rfc3339());
}

/// A person's new status after `disable` or `enable`.
fn print_status(person: verity_admin::Person, json: bool) {
    let done = match person.status {
        verity_admin::people::Status::Disabled => "disabled",
        verity_admin::people::Status::Active => "enabled",
    };
    if json {
        print_json(
            &serde_json::json!({ "user_id": person.user_id, "email": person.email, "status": done }),
        );
    } else {
        println!("{done} {} ({})", person.email, person.user_id);
    }
}
