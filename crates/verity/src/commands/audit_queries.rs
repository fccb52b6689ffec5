//! `verity audit history | account | explain`: the auditor's questions (docs/audit.md),
//! a door to the admin layer's [`verity_admin::audit`] and history.

use crate::commands::output::say;
use std::process::ExitCode;

use anyhow::bail;
use verity_admin::OrgRef;
use verity_admin::audit::account::AccountAt;
use verity_admin::audit::actions::Action;
use verity_admin::audit::explain::{Explanation, Outcome, SignInRef};
use verity_admin::history::HistoryEntry;

use super::door::{AdminCli, cli_error, named};
use super::output::print_json;
use crate::app::App;
use crate::cli::{AuditCommand, AuditHistoryArgs};

pub(super) async fn run(command: AuditCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    match command {
        AuditCommand::History(args) => history(&cli, args).await?,
        AuditCommand::Account { email, org, at } => {
            let account = cli
                .admin
                .account_at(&cli.operator, &named(&org, &email), at)
                .await
                .map_err(cli_error)?;
            print_account(&cli, &account)?;
        }
        AuditCommand::Explain { sign_in } => {
            let explained = cli
                .admin
                .explain_sign_in(&cli.operator, &SignInRef::parse(&sign_in))
                .await
                .map_err(cli_error)?;
            print_explanation(&cli, &explained)?;
        }
        AuditCommand::Key
        | AuditCommand::Verify(_)
        | AuditCommand::Checkpoint
        | AuditCommand::Bundle { .. } => {
            bail!("this audit command is not a query")
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn history(cli: &AdminCli, args: AuditHistoryArgs) -> anyhow::Result<()> {
    let range = (args.from, args.to);
    let (admin, operator) = (&cli.admin, &cli.operator);
    match (&args.subject, &args.actor, &args.org) {
        (Some(subject), None, Some(org)) => {
            let entries = admin
                .events_about(operator, &named(org, subject), range)
                .await
                .map_err(cli_error)?;
            for entry in &entries {
                print_entry(cli, entry, None)?;
            }
        }
        (None, Some(actor), Some(org)) => {
            let actions = admin
                .actions_by(operator, &named(org, actor), range)
                .await
                .map_err(cli_error)?;
            print_actions(cli, &actions)?;
        }
        (None, None, Some(org)) => {
            let actions = admin
                .actions_in(operator, &OrgRef::parse(org), range)
                .await
                .map_err(cli_error)?;
            print_actions(cli, &actions)?;
        }
        _ => bail!(
            "name a person with --subject EMAIL --org ORG, an admin with --actor EMAIL --org ORG, or an organization with --org ORG"
        ),
    }
    Ok(())
}

fn print_actions(cli: &AdminCli, actions: &[Action]) -> anyhow::Result<()> {
    for action in actions {
        print_entry(cli, &action.entry, Some(&action.subject))?;
    }
    Ok(())
}

fn print_entry(cli: &AdminCli, entry: &HistoryEntry, subject: Option<&str>) -> anyhow::Result<()> {
    let actor = entry.actor.describe();
    if cli.json {
        print_json(&serde_json::json!({
            "position": entry.position, "at": entry.at, "type": entry.event_type,
            "description": entry.description, "actor": actor, "subject": subject,
            "ip": entry.client_ip, "user_agent": entry.user_agent,
        }))?;
        return Ok(());
    }
    let subject = subject
        .map(|subject| format!(" [{subject}]"))
        .unwrap_or_default();
    let from = entry
        .client_ip
        .as_deref()
        .map(|ip| format!(" from {ip}"))
        .unwrap_or_default();
    say!(
        "{}  #{}  {}{subject}  by {actor}{from}  ({})",
        entry.at.format("%Y-%m-%dT%H:%M:%SZ"),
        entry.position,
        entry.description,
        entry.event_type
    );
    Ok(())
}

fn print_account(cli: &AdminCli, account: &AccountAt) -> anyhow::Result<()> {
    let status = if account.erased {
        "erased"
    } else {
        account.status.as_str()
    };
    let password = if account.password_temporary {
        "temporary"
    } else {
        "chosen"
    };
    let devices: Vec<serde_json::Value> = account
        .trusted_devices
        .iter()
        .map(|device| {
            serde_json::json!({
                "device": device.device, "label": device.label, "state": device.state.as_str(),
                "trusted_at": device.trusted_at, "expires_at": device.expires_at,
            })
        })
        .collect();
    let sessions: Vec<serde_json::Value> = account
        .sessions
        .iter()
        .map(|session| {
            serde_json::json!({
                "sid": session.sid, "started_at": session.started_at, "clients": session.clients,
            })
        })
        .collect();
    let roles: Vec<String> = account.roles.iter().map(ToString::to_string).collect();
    let locks: Vec<serde_json::Value> = account
        .locks
        .iter()
        .map(|lock| serde_json::json!({ "step": lock.step, "until": lock.until }))
        .collect();
    if cli.json {
        print_json(&serde_json::json!({
            "at": account.at, "user_id": account.user_id, "org_id": account.org_id,
            "email": account.email, "name": account.name, "status": status,
            "password": { "set_at": account.password_set_at, "kind": password },
            "authenticators": account.authenticators, "trusted_devices": devices,
            "sessions": sessions, "roles": roles, "locks": locks,
        }))?;
        return Ok(());
    }
    say!("{} ({}) at {}", account.email, account.name, account.at);
    say!("  status: {status}");
    say!("  password: {password}, set at {}", account.password_set_at);
    say!(
        "  authenticator apps: {}",
        list(account.authenticators.iter().map(String::as_str))
    );
    say!(
        "  trusted devices: {}",
        list(account.trusted_devices.iter().map(|device| {
            format!(
                "{} {} ({})",
                device.device,
                device.label,
                device.state.as_str()
            )
        }))
    );
    say!(
        "  sessions: {}",
        list(
            account
                .sessions
                .iter()
                .map(|session| { format!("{} since {}", session.sid, session.started_at) })
        )
    );
    say!("  roles: {}", list(roles.iter().map(String::as_str)));
    say!(
        "  locks: {}",
        list(
            account
                .locks
                .iter()
                .map(|lock| format!("{} until {}", lock.step, lock.until))
        )
    );
    Ok(())
}

fn list<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|item| item.as_ref().to_owned()).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn print_explanation(cli: &AdminCli, explained: &Explanation) -> anyhow::Result<()> {
    let outcome = match &explained.outcome {
        Outcome::SignedIn { .. } => "signed_in",
        Outcome::Refused { .. } => "refused",
        Outcome::Locked { .. } => "locked",
    };
    let sid = match &explained.outcome {
        Outcome::SignedIn { sid, .. } => Some(sid.as_str()),
        _ => None,
    };
    if cli.json {
        print_json(&serde_json::json!({
            "position": explained.position, "at": explained.at, "user_id": explained.user_id,
            "email": explained.email, "client_id": explained.client_id, "ip": explained.ip,
            "user_agent": explained.user_agent, "outcome": outcome, "sid": sid,
            "because": explained.because,
        }))?;
        return Ok(());
    }
    say!(
        "#{} at {}: {outcome}{}",
        explained.position,
        explained.at,
        sid.map(|sid| format!(" (session {sid})"))
            .unwrap_or_default()
    );
    if let Some(client_id) = &explained.client_id {
        say!("  for client {client_id}");
    }
    if let Some(ip) = &explained.ip {
        say!("  from {ip}");
    }
    say!("  {}", explained.because);
    Ok(())
}
