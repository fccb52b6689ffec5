//! `verity replay`: rebuild every projection from position 0 and compare with the live
//! state (the latest snapshot plus the tail). A difference is a bug in a projection or a
//! stale snapshot, and is reported.

use crate::commands::output::say;
use std::process::ExitCode;
use std::time::Instant;

use verity_projection::{Projector, ProjectorOptions, ReadModels, rebuild_like};

use super::exit_status::EXIT_REPLAY_MISMATCH;
use super::output::{print_json, progress_bar};
use crate::config::Config;

pub(super) async fn run(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let store: std::sync::Arc<dyn verity_store::Store> =
        crate::app::open_sealed_store(&config).await?;
    let head = store.head().await?;
    let template = config.sessions.read_models();
    let live = Projector::<ReadModels>::start_like(
        &template,
        store.clone(),
        crate::app::sealed_snapshots(&config, &store)?,
        ProjectorOptions {
            snapshot_every: u64::MAX,
        },
    )
    .await?;
    let bar = progress_bar(head, json);
    let started = Instant::now();
    let (rebuilt, position) = rebuild_like(&template, store.as_ref(), |position| {
        bar.set_position(position)
    })
    .await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    live.wait_for(position, crate::app::READ_YOUR_WRITES)
        .await?;
    let mismatches = live.read(|live_models| differences(live_models, &rebuilt));
    let rate = position as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    if json {
        print_json(&serde_json::json!({
            "events": position, "seconds": elapsed.as_secs_f64(), "events_per_second": rate.round(),
            "match": mismatches.is_empty(), "mismatches": mismatches,
        }))?;
    } else {
        say!(
            "replayed {position} events in {:.2} s ({rate:.0} events/s)",
            elapsed.as_secs_f64()
        );
        for mismatch in &mismatches {
            eprintln!("mismatch: {mismatch}");
        }
        if mismatches.is_empty() {
            say!("projections match the live state");
        }
    }
    Ok(if mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REPLAY_MISMATCH)
    })
}

/// Names each read model that differs.
fn differences(live: &ReadModels, rebuilt: &ReadModels) -> Vec<String> {
    let mut found = Vec::new();
    if live.organizations != rebuilt.organizations {
        found.push(format!(
            "organizations: live has {}, rebuilt has {}",
            live.organizations.len(),
            rebuilt.organizations.len()
        ));
    }
    if live.users != rebuilt.users {
        found.push(format!(
            "users: live has {}, rebuilt has {}",
            live.users.len(),
            rebuilt.users.len()
        ));
    }
    if live.clients != rebuilt.clients {
        found.push(format!(
            "clients: live has {}, rebuilt has {}",
            live.clients.len(),
            rebuilt.clients.len()
        ));
    }
    if live.keys != rebuilt.keys {
        found.push(format!(
            "keys: live has {}, rebuilt has {}",
            live.keys.len(),
            rebuilt.keys.len()
        ));
    }
    found
}
