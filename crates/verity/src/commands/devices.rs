//! `verity user devices | forget-devices | reset-mfa`: the devices a person chose to trust
//! and the authenticator app that vouched for them (docs/mfa.md).

use std::process::ExitCode;

use verity_domain::mfa::{ForgetReason, MfaCommand, MfaError};
use verity_domain::user::{self, User, UserCommand, UserError};
use verity_domain::{Email, ExecuteError, execute};
use verity_projection::{DeviceView, UserView};

use super::{find_org, print_json};
use crate::app::{App, cli_context, now};

/// Hex digits of a device id hash shown to tell entries apart; the whole hash is never
/// printed.
const HASH_PREFIX: usize = 12;

/// The person with `email` in `org`.
pub(super) fn find_person(app: &App, org: &str, email: &Email) -> anyhow::Result<UserView> {
    app.projector.read(|models| {
        let org = find_org(models, org)?;
        models
            .users
            .find_by_email(org.org_id, email)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no user {email} in organization {}", org.name))
    })
}

fn hash_prefix(device: &DeviceView) -> &str {
    device
        .device_id_hash
        .get(..HASH_PREFIX)
        .unwrap_or(&device.device_id_hash)
}

/// `verity user devices EMAIL --org ORG`: every remembered device, oldest first.
pub(super) fn list(app: &App, org: &str, email: &str, json: bool) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let person = find_person(app, org, &email)?;
    let now = now();
    if !json && person.mfa.trusted_devices.is_empty() {
        println!("{email} has no trusted devices");
    }
    for device in &person.mfa.trusted_devices {
        let state = device.state(now).as_str();
        if json {
            print_json(&serde_json::json!({
                "user_id": person.user_id,
                "email": email,
                "device": hash_prefix(device),
                "label": device.label,
                "trusted_at": device.trusted_at,
                "expires_at": device.expires_at,
                "forgotten_at": device.forgotten_at,
                "state": state,
            }));
        } else {
            println!(
                "{}  {}  trusted {}  expires {}  {state}",
                hash_prefix(device),
                device.label,
                device.trusted_at.to_rfc3339(),
                device.expires_at.to_rfc3339(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `verity user forget-devices EMAIL --org ORG`: revokes every active trust, one
/// `user.device.forgotten` each, the operator as actor.
pub(super) async fn forget_all(
    app: &App,
    org: &str,
    email: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let person = find_person(app, org, &email)?;
    let context = cli_context();
    // The domain forgets exactly the devices active at the command's `now`.
    let active = person.mfa.active_devices(context.now).count();
    let command = UserCommand::Mfa(MfaCommand::ForgetAllDevices {
        reason: ForgetReason::Revoked,
    });
    let forgotten = match execute::<User>(
        app.store.as_ref(),
        &user::stream(person.user_id),
        &command,
        &context,
    )
    .await
    {
        Ok(outcome) => {
            app.wait_for(outcome.position).await?;
            active
        }
        Err(ExecuteError::Rejected(UserError::Mfa(MfaError::NoTrustedDevice))) => 0,
        Err(error) => return Err(error.into()),
    };
    if json {
        print_json(&serde_json::json!({
            "user_id": person.user_id, "email": email, "forgotten": forgotten,
        }));
    } else if forgotten == 0 {
        println!("{email} has no trusted devices to forget");
    } else {
        println!(
            "forgot {forgotten} trusted device(s) of {email}; the next sign-in asks for a code"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `verity user reset-mfa EMAIL --org ORG`: removes the authenticator app
/// (`user.totp.reset`), which kills every recovery code, and forgets every active trusted
/// device in the same append, the operator as actor. A person without an app is an
/// error: there is nothing to reset, and nothing is written.
pub(super) async fn reset_authenticator(
    app: &App,
    org: &str,
    email: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let person = find_person(app, org, &email)?;
    let not_enrolled = || anyhow::anyhow!("{email} has no authenticator app to reset");
    if !person.mfa.is_enrolled() {
        return Err(not_enrolled());
    }
    let context = cli_context();
    // The domain forgets exactly the devices active at the command's `now`.
    let forgotten = person.mfa.active_devices(context.now).count();
    let command = UserCommand::Mfa(MfaCommand::ResetAuthenticator);
    let outcome = execute::<User>(
        app.store.as_ref(),
        &user::stream(person.user_id),
        &command,
        &context,
    )
    .await
    .map_err(|error| match error {
        // Another operator reset it a moment ago.
        ExecuteError::Rejected(UserError::Mfa(MfaError::NotEnrolled)) => not_enrolled(),
        other => other.into(),
    })?;
    app.wait_for(outcome.position).await?;
    if json {
        print_json(&serde_json::json!({
            "user_id": person.user_id,
            "email": email,
            "reset": true,
            "devices_forgotten": forgotten,
        }));
    } else {
        println!(
            "reset the authenticator app of {email}: its codes and all recovery codes no longer work"
        );
        println!("forgot {forgotten} trusted device(s)");
        println!("the next sign-in sets up an authenticator app again");
    }
    Ok(ExitCode::SUCCESS)
}
