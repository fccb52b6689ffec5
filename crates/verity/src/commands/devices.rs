//! `verity user devices | forget-devices | reset-mfa`: the devices a person chose to trust
//! and the authenticator app that vouched for them (docs/mfa.md). Doors to the admin
//! layer.

use crate::commands::output::say;
use verity_admin::PersonRef;

use super::door::{AdminCli, cli_error};
use super::output::print_json;

/// `verity user devices EMAIL --org ORG`: every remembered device, oldest first.
pub(super) async fn list(cli: &AdminCli, person: &PersonRef) -> anyhow::Result<()> {
    let found = cli
        .admin
        .devices(&cli.operator, &cli.call, person)
        .await
        .map_err(cli_error)?;
    let email = &found.person.email;
    if !cli.json && found.devices.is_empty() {
        say!("{email} has no trusted devices");
    }
    for device in &found.devices {
        let state = device.state.as_str();
        if cli.json {
            print_json(&serde_json::json!({
                "user_id": found.person.user_id,
                "email": email,
                "device": device.device,
                "label": device.label,
                "trusted_at": device.trusted_at,
                "expires_at": device.expires_at,
                "forgotten_at": device.forgotten_at,
                "state": state,
            }))?;
        } else {
            say!(
                "{}  {}  trusted {}  expires {}  {state}",
                device.device,
                device.label,
                device.trusted_at.to_rfc3339(),
                device.expires_at.to_rfc3339(),
            );
        }
    }
    Ok(())
}

/// `verity user forget-devices EMAIL --org ORG`: revokes every active trust.
pub(super) async fn forget_all(cli: &AdminCli, person: &PersonRef) -> anyhow::Result<()> {
    let done = cli
        .admin
        .forget_devices(&cli.operator, &cli.call, person)
        .await
        .map_err(cli_error)?;
    let (email, forgotten) = (&done.person.email, done.forgotten);
    if cli.json {
        print_json(&serde_json::json!({
            "user_id": done.person.user_id, "email": email, "forgotten": forgotten,
        }))?;
    } else if forgotten == 0 {
        say!("{email} has no trusted devices to forget");
    } else {
        say!("forgot {forgotten} trusted device(s) of {email}; the next sign-in asks for a code");
    }
    Ok(())
}

/// `verity user reset-mfa EMAIL --org ORG`: removes the authenticator app, its recovery
/// codes and the trusted devices.
pub(super) async fn reset_authenticator(cli: &AdminCli, person: &PersonRef) -> anyhow::Result<()> {
    let done = cli
        .admin
        .reset_authenticator(&cli.operator, &cli.call, person)
        .await
        .map_err(cli_error)?;
    let email = &done.person.email;
    if cli.json {
        print_json(&serde_json::json!({
            "user_id": done.person.user_id,
            "email": email,
            "reset": true,
            "devices_forgotten": done.devices_forgotten,
        }))?;
    } else {
        say!(
            "reset the authenticator app of {email}: its codes and all recovery codes no longer work"
        );
        say!("forgot {} trusted device(s)", done.devices_forgotten);
        say!("the next sign-in sets up an authenticator app again");
    }
    Ok(())
}
