//! `verity backup --out FILE` and `verity restore FILE --data-dir DIR`: the embedded
//! store copied while Verity serves, and put back into an empty data directory with its
//! chain verified (docs/operations.md, "Backups and restore").
//!
//! The backup file holds the database only. The master key, which decrypts the signing
//! keys and authenticator secrets in it, is deliberately not in the same file: whoever
//! steals a backup then holds ciphertexts and hashes, not keys. Both commands name the
//! master key the data needs, so the operator keeps the two together yet apart.

use crate::commands::output::say;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;
use verity_domain::DomainEvent;
use verity_domain::audit::AuditEvent;
use verity_domain::key::SigningKeyEvent;
use verity_oidc::keys::{MasterKey, encrypted_under};
use verity_store::Location;
use verity_store::chain::{ChainVerifier, PAGE};

use super::output::print_json;
use crate::config::Config;
use crate::signing::{MASTER_KEY_FILE, master_key_path};

/// `verity backup --out FILE`.
pub(super) async fn backup(config: Config, out: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let database = embedded_store(&config, "backup")?;
    if out.exists() {
        anyhow::bail!(
            "{} already exists: a backup never overwrites a file (choose a new name)",
            out.display()
        );
    }
    let copied = verity_store::backup::copy_sqlite(&database, out).await?;
    let keep = what_else_to_keep(&config, &database);
    if json {
        print_json(&json!({
            "file": out.display().to_string(),
            "events": copied.head,
            "head": copied.head_hash,
            "keep_apart": keep,
        }))?;
    } else {
        say!(
            "backup written to {} (mode 0600): {} events, head {}",
            out.display(),
            copied.head,
            copied.head_hash
        );
        say!("not in the backup; keep these too, apart from it:");
        for item in &keep {
            say!("  - {item}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `verity restore FILE` into the configured data directory.
pub(super) async fn restore(config: Config, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let database = embedded_store(&config, "restore")?;
    let directory = database
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    ensure_empty(&directory)?;
    verity_oidc::private_files::create_private_dir(&directory).map_err(|error| {
        anyhow::anyhow!(
            "cannot create data directory {}: {error}",
            directory.display()
        )
    })?;
    let copied = verity_store::backup::install_copy(file, &database)
        .await
        .with_context(|| format!("cannot restore {}", file.display()))?;
    let checked = match check_restored(&database).await {
        Ok(checked) => checked,
        Err(error) => {
            remove_store_files(&database);
            return Err(error.context(format!(
                "{} was not restored (the data directory is left empty)",
                file.display()
            )));
        }
    };
    if checked.events != copied.head {
        remove_store_files(&database);
        anyhow::bail!(
            "{} was not restored: its log ends at position {}, the chain at {}",
            file.display(),
            copied.head,
            checked.events
        );
    }
    report_restore(&config, &database, &checked, json)?;
    Ok(ExitCode::SUCCESS)
}

/// The SQLite file of the configured store; PostgreSQL has its own tools.
fn embedded_store(config: &Config, command: &str) -> anyhow::Result<PathBuf> {
    match crate::app::location(config)? {
        Location::Sqlite(path) => Ok(path),
        Location::Postgres(_) => anyhow::bail!(
            "`verity {command}` is for the embedded SQLite store; back up and restore \
             PostgreSQL with pg_dump/pg_restore or base backups (docs/operations.md, \
             \"Backups and restore\")"
        ),
    }
}

/// A restore never mixes with what a directory holds already.
fn ensure_empty(directory: &Path) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => anyhow::bail!("cannot read {}: {error}", directory.display()),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    names.truncate(5);
    anyhow::bail!(
        "the data directory {} is not empty (it holds {}): restore only into an empty or \
         new directory, so nothing there is overwritten or mixed with the backup",
        directory.display(),
        names.join(", ")
    )
}

/// What a restored log was checked to be.
struct Restored {
    /// Events verified (the head position).
    events: u64,
    /// The head hash.
    head: String,
    /// The master keys the signing keys are encrypted under, by id.
    master_keys: Vec<String>,
    /// The audit key of the newest checkpoint in the log, by fingerprint.
    audit_key: Option<String>,
}

/// Opens the restored store (bringing an older schema up to date), recomputes its whole
/// chain, and notes which master keys its signing keys need.
async fn check_restored(database: &Path) -> anyhow::Result<Restored> {
    let store = verity_store::open(&Location::Sqlite(database.to_owned())).await?;
    let mut verifier = ChainVerifier::default();
    let mut master_keys = Vec::new();
    let mut audit_key = None;
    let mut after = 0;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            verifier
                .check(event)
                .map_err(|broken| anyhow::anyhow!("the backup's chain is broken: {broken}"))?;
            if let Some(SigningKeyEvent::Generated(generated)) = SigningKeyEvent::decode(event)?
                && let Some(id) = encrypted_under(&generated.encrypted_private_key)
                && !master_keys.contains(&id)
            {
                master_keys.push(id);
            }
            if let Some(checkpoint) = AuditEvent::checkpoint_of(event)? {
                audit_key = Some(checkpoint.key);
            }
        }
    }
    let report = verifier.report();
    Ok(Restored {
        events: report.events,
        head: report.head,
        master_keys,
        audit_key,
    })
}

/// Removes a store that failed its checks, with SQLite's side files.
fn remove_store_files(database: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

fn report_restore(
    config: &Config,
    database: &Path,
    restored: &Restored,
    json: bool,
) -> anyhow::Result<()> {
    let advice = [
        master_key_advice(config, restored),
        audit_key_advice(config, restored),
    ];
    if json {
        print_json(&json!({
            "database": database.display().to_string(),
            "events": restored.events,
            "head": restored.head,
            "master_keys": restored.master_keys,
            "audit_key": restored.audit_key,
            "next": advice,
        }))?;
    } else {
        say!(
            "restored {} events into {}; chain verified, head {}",
            restored.events,
            database.display(),
            restored.head
        );
        for line in advice {
            say!("{line}");
        }
    }
    Ok(())
}

/// Which master key the restored signing keys need, and where it goes.
fn master_key_advice(config: &Config, restored: &Restored) -> String {
    let needed = restored.master_keys.join(", ");
    match configured_master_key(config) {
        Some(key) if restored.master_keys.iter().all(|id| id == key.id()) => {
            format!(
                "the configured master key ({}) opens its signing keys",
                key.id()
            )
        }
        _ if restored.master_keys.is_empty() => {
            "it holds no signing keys yet; `verity serve` makes them".to_owned()
        }
        _ => format!(
            "before `verity serve`, supply master key {needed}: copy its key file to {} \
             (chmod 600) or set [keys] master_key (VERITY__KEYS__MASTER_KEY)",
            master_key_path(config).display()
        ),
    }
}

/// Which audit key signed the restored log's checkpoints: a node with another one
/// refuses to serve that log.
fn audit_key_advice(config: &Config, restored: &Restored) -> String {
    let Some(needed) = &restored.audit_key else {
        return "its log holds no checkpoint yet: any audit key will do".to_owned();
    };
    let present = crate::audit_key::existing_audit_key(config)
        .ok()
        .flatten()
        .map(|key| key.public().fingerprint().to_owned());
    if present.as_deref() == Some(needed.as_str()) {
        return format!("the audit key here ({needed}) signed its checkpoints");
    }
    format!(
        "before `verity serve`, supply audit key {needed}, which signed its checkpoints: \
         copy its key file to {} (chmod 600) or set [audit] key (VERITY__AUDIT__KEY)",
        config.audit.key_path(&config.store).display()
    )
}

/// The master key from the configuration or the environment, when one is set and valid.
fn configured_master_key(config: &Config) -> Option<MasterKey> {
    let configured = config.keys.master_key.as_ref()?;
    MasterKey::from_base64(configured.expose()).ok()
}

/// What the backup file does not hold and a restore needs: the master key (named by its
/// id, never shown), the configuration, and whatever else sits in the data directory.
fn what_else_to_keep(config: &Config, database: &Path) -> Vec<String> {
    let mut keep = Vec::new();
    let key_file = master_key_path(config);
    if let Some(key) = configured_master_key(config) {
        keep.push(format!(
            "the master key {} ([keys] master_key / VERITY__KEYS__MASTER_KEY, from your \
             secret store): without it the signing keys and authenticator secrets in the \
             backup cannot be opened",
            key.id()
        ));
    } else if key_file.is_file() {
        let id = MasterKey::load_or_create(&key_file)
            .map(|(key, _)| format!(" (master key {})", key.id()))
            .unwrap_or_default();
        keep.push(format!(
            "the master key file {}{id}: without it the signing keys and authenticator \
             secrets in the backup cannot be opened",
            key_file.display()
        ));
    } else {
        keep.push(
            "the master key: none yet (the first `verity serve` creates it); back it up then"
                .to_owned(),
        );
    }
    keep.push(
        "the configuration: the file given with --config (VERITY_CONFIG) and the VERITY__* \
         environment, with any SMTP password in it"
            .to_owned(),
    );
    keep.push(audit_key_to_keep(config));
    let checkpoints = config.audit.checkpoint_path(&config.store);
    if checkpoints.is_file() {
        keep.push(format!(
            "the checkpoint file {}: the signed checkpoints that show a log cut or rewritten",
            checkpoints.display()
        ));
    }
    keep.extend(other_files(database).into_iter().map(|path| {
        format!(
            "{} (in the data directory, not in the backup)",
            path.display()
        )
    }));
    keep
}

/// The audit key, by its fingerprint: restored nodes need it to trust the log's
/// checkpoints and snapshots.
fn audit_key_to_keep(config: &Config) -> String {
    let path = config.audit.key_path(&config.store);
    match crate::audit_key::existing_audit_key(config) {
        Ok(Some(key)) if config.audit.key.is_some() => format!(
            "the audit key {} ([audit] key / VERITY__AUDIT__KEY, from your secret store)",
            key.public().fingerprint()
        ),
        Ok(Some(key)) => format!(
            "the audit key file {} (audit key {})",
            path.display(),
            key.public().fingerprint()
        ),
        Ok(None) => "the audit key: none yet (the first `verity serve` creates it)".to_owned(),
        Err(error) => format!("the audit key ({error:#})"),
    }
}

/// Files of the data directory other than the store and the master key.
fn other_files(database: &Path) -> Vec<PathBuf> {
    let Some(directory) = database.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let name = database
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let store_files = [
        format!("{name}-wal"),
        format!("{name}-shm"),
        name,
        MASTER_KEY_FILE.to_owned(),
    ];
    let mut others: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| !store_files.contains(&entry.file_name().to_string_lossy().into_owned()))
        .map(|entry| entry.path())
        .collect();
    others.sort();
    others
}
