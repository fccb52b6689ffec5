//! `verity events export`: the log as JSON lines.
//!
//! `data` and `metadata` are written byte for byte as stored and hashed, so an auditor
//! can recompute every hash from the export alone (see docs/audit.md); personal data in
//! them is sealed. `--open` reads it through the seal instead: for people to read, not
//! for the chain.

use std::io::Write;
use std::process::ExitCode;

use verity_domain::RecordedEvent;

use crate::cli::ExportArgs;
use crate::commands::output::written;
use crate::config::Config;

const PAGE: usize = 10_000;

pub(super) async fn export(args: ExportArgs, config: Config) -> anyhow::Result<ExitCode> {
    let store: std::sync::Arc<dyn verity_store::Store> = if args.open {
        crate::app::open_sealed_store(&config).await?
    } else {
        crate::app::open_store(&config).await?
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = args.since;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in page.iter().filter(|event| selected(&args, event)) {
            ensure_json(event)?;
            let line = verity_audit::export::to_line(event)?;
            // `verity events export | head`: a reader that went away ends the export.
            written(writeln!(out, "{line}"))?;
        }
    }
    written(out.flush())?;
    Ok(ExitCode::SUCCESS)
}

/// The line embeds `data` and `metadata` verbatim: text that is not JSON (a row altered
/// behind Verity's back) would make it unreadable, so the export stops there, naming the
/// event.
fn ensure_json(event: &RecordedEvent) -> anyhow::Result<()> {
    for (field, text) in [("data", &event.data), ("metadata", &event.metadata)] {
        if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            anyhow::bail!(
                "event {} at position {}: its {field} is not JSON ({error}); the export stops here",
                event.event_type,
                event.position
            );
        }
    }
    Ok(())
}

fn selected(args: &ExportArgs, event: &RecordedEvent) -> bool {
    args.stream
        .as_deref()
        .is_none_or(|stream| stream == event.stream)
        && args
            .event_type
            .as_deref()
            .is_none_or(|event_type| event_type == event.event_type)
        && args.from.is_none_or(|from| event.recorded_at >= from)
        && args.to.is_none_or(|to| event.recorded_at < to)
}
