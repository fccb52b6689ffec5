//! `verity user unlock EMAIL --org ORG` and `verity network unlock ADDRESS`: lift sign-in
//! locks before they end (docs/sign-in.md). The locks and failure counts are protocol
//! state in the expiring store, outside the log; an unlock itself is recorded
//! (`user.unlocked`, `network.unlocked`, the operator as actor), so an auditor sees who
//! let whom try again. With nothing locked or counted, nothing is written.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use verity_domain::network::{self, NetworkEvent, NetworkUnlocked};
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{AppendRequest, DomainEvent, Email, ExpectedVersion, ExpiringStore, execute};
use verity_oidc::limits::{
    FailureLimit, client_ip_failure_key, mfa_failure_key, password_failure_key,
};

use super::devices::find_person;
use super::print_json;
use crate::app::{App, cli_context};

/// One limit's state for the person: locked until when, and failures counted.
struct Counted {
    locked_until: Option<DateTime<Utc>>,
    failures: u64,
}

impl Counted {
    async fn read(
        limit: &FailureLimit,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let locked_until = limit.state(store, key, now).await?.until();
        let failures = limit.failures(store, key, now).await?;
        Ok(Self {
            locked_until,
            failures,
        })
    }

    fn is_clear(&self) -> bool {
        self.locked_until.is_none() && self.failures == 0
    }
}

/// `verity user unlock`: the password lock of the person's address and their code step's.
pub(super) async fn run(app: &App, org: &str, email: &str, json: bool) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let person = find_person(app, org, &email)?;
    let context = cli_context();
    let store: &dyn ExpiringStore = app.store.as_ref();
    let passwords = app.config.passwords.lockout();
    let codes = app.config.mfa.lockout();
    let password_key = password_failure_key(&email);
    let code_key = mfa_failure_key(person.user_id);
    let password = Counted::read(&passwords, store, &password_key, context.now).await?;
    let code = Counted::read(&codes, store, &code_key, context.now).await?;
    if password.is_clear() && code.is_clear() {
        if json {
            print_json(&serde_json::json!({
                "user_id": person.user_id, "email": email, "unlocked": false,
            }));
        } else {
            println!("{email} is not locked and has no failed attempts counted");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The record first: a lock lifted without it would be a change nobody can trace.
    let outcome = execute::<User>(
        app.store.as_ref(),
        &user::stream(person.user_id),
        &UserCommand::Unlock,
        &context,
    )
    .await?;
    app.wait_for(outcome.position).await?;
    passwords.clear(store, &password_key).await?;
    codes.clear(store, &code_key).await?;
    if json {
        print_json(&serde_json::json!({
            "user_id": person.user_id, "email": email, "unlocked": true,
            "password_locked_until": password.locked_until,
            "password_failures": password.failures,
            "code_locked_until": code.locked_until,
            "code_failures": code.failures,
        }));
    } else {
        let describe = |what: &str, counted: &Counted| match counted.locked_until {
            Some(until) => format!("{what}: locked until {}", until.to_rfc3339()),
            None => format!("{what}: {} failed attempt(s)", counted.failures),
        };
        println!(
            "unlocked {email} ({}; {}); the next sign-in is checked afresh",
            describe("passwords", &password),
            describe("codes", &code)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `verity network unlock ADDRESS`: the per-IP lock of the address's network.
pub(super) async fn network(
    app: &App,
    address: std::net::IpAddr,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let context = cli_context();
    let store: &dyn ExpiringStore = app.store.as_ref();
    let limit = app.config.sign_in.ip_lockout();
    let network = client_ip_failure_key(address);
    let counted = Counted::read(&limit, store, &network, context.now).await?;
    if counted.is_clear() {
        if json {
            print_json(&serde_json::json!({ "network": network, "unlocked": false }));
        } else {
            println!("{network} is not locked and has no failed sign-ins counted");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let unlocked = NetworkUnlocked {
        network: network.clone(),
        locked_until: counted.locked_until,
        failures: counted.failures,
    };
    let request = AppendRequest::new(
        network::stream(&network),
        ExpectedVersion::Any,
        vec![NetworkEvent::Unlocked(unlocked).to_new_event(context.metadata())],
    );
    app.store.append(request).await?;
    limit.clear(store, &network).await?;
    if json {
        print_json(&serde_json::json!({
            "network": network, "unlocked": true,
            "locked_until": counted.locked_until, "failures": counted.failures,
        }));
    } else {
        match counted.locked_until {
            Some(until) => println!(
                "unlocked {network} (locked until {}); sign-ins from it are checked afresh",
                until.to_rfc3339()
            ),
            None => println!(
                "forgot {} failed sign-in(s) from {network}",
                counted.failures
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
