//! `verity user unlock EMAIL --org ORG` and `verity network unlock ADDRESS`: lift sign-in
//! locks before they end (docs/sign-in.md). Doors to the admin layer, which records each
//! unlock (the operator as actor) before it lifts anything.

use crate::commands::output::say;
use std::net::IpAddr;
use std::process::ExitCode;

use verity_admin::PersonRef;
use verity_oidc::limits::Standing;

use super::door::{AdminCli, cli_error};
use super::output::print_json;
use crate::app::App;

/// `verity user unlock`: the password lock of the person's address and their code step's.
pub(super) async fn person(cli: &AdminCli, person: &PersonRef) -> anyhow::Result<()> {
    let done = cli
        .admin
        .unlock_person(&cli.operator, &cli.call, person)
        .await
        .map_err(cli_error)?;
    let (email, user_id) = (&done.person.email, done.person.user_id);
    if !done.unlocked {
        if cli.json {
            print_json(&serde_json::json!({
                "user_id": user_id, "email": email, "unlocked": false,
            }))?;
        } else {
            say!("{email} is not locked and has no failed attempts counted");
        }
        return Ok(());
    }
    if cli.json {
        print_json(&serde_json::json!({
            "user_id": user_id, "email": email, "unlocked": true,
            "password_locked_until": done.passwords.lock.until(),
            "password_failures": done.passwords.failures,
            "code_locked_until": done.codes.lock.until(),
            "code_failures": done.codes.failures,
        }))?;
    } else {
        let describe = |what: &str, standing: &Standing| match standing.lock.until() {
            Some(until) => format!("{what}: locked until {}", until.to_rfc3339()),
            None => format!("{what}: {} failed attempt(s)", standing.failures),
        };
        say!(
            "unlocked {email} ({}; {}); the next sign-in is checked afresh",
            describe("passwords", &done.passwords),
            describe("codes", &done.codes)
        );
    }
    Ok(())
}

/// `verity network unlock ADDRESS`: the per-IP lock of the address's network.
pub(super) async fn network(app: &App, address: IpAddr, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(app, json);
    let done = cli
        .admin
        .unlock_network(&cli.operator, &cli.call, address)
        .await
        .map_err(cli_error)?;
    let (network, standing) = (&done.network, &done.standing);
    if !done.unlocked {
        if cli.json {
            print_json(&serde_json::json!({ "network": network, "unlocked": false }))?;
        } else {
            say!("{network} is not locked and has no failed sign-ins counted");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cli.json {
        print_json(&serde_json::json!({
            "network": network, "unlocked": true,
            "locked_until": standing.lock.until(), "failures": standing.failures,
        }))?;
    } else {
        match standing.lock.until() {
            Some(until) => say!(
                "unlocked {network} (locked until {}); sign-ins from it are checked afresh",
                until.to_rfc3339()
            ),
            None => say!(
                "forgot {} failed sign-in(s) from {network}",
                standing.failures
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
