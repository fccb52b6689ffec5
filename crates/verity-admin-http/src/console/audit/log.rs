//! The log's own state, for those who may read all of it (the admin layer decides:
//! `verity_admin::audit::log`): its head, its hash chain recomputed on request from the
//! events the admin layer reads out, and the export to download — every event as the
//! JSON line `verity events export` writes, streamed a page at a time.
//!
//! The newest signed checkpoint is shown as recorded (position, hash, time and age, key
//! fingerprint); the page says how to check its signature with a pinned key, which this
//! server never does for the auditor.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use verity_admin::audit::log::Head;
use verity_admin::{Actor, Admin, AdminError};
use verity_domain::RecordedEvent;
use verity_http::web::log_failure;
use verity_store::chain::{ChainBreak, ChainReport, ChainVerifier};

use super::time::second;
use crate::console::audit_strings::AUDIT;
use crate::console::error::ConsoleError;
use crate::console::pages::Section;
use crate::console::session::Console;
use crate::console::strings::fill;
use crate::state::AdminState;

/// The newest checkpoint in one line, with its age at `now`.
pub(super) fn checkpoint_line(head: &Head, now: chrono::DateTime<chrono::Utc>) -> String {
    match &head.checkpoint {
        None => AUDIT.no_checkpoint.to_owned(),
        Some(checkpoint) => {
            let age = now.signed_duration_since(checkpoint.signed_at);
            let age = if age.num_hours() >= 48 {
                format!("{} days", age.num_days())
            } else if age.num_minutes() >= 120 {
                format!("{} hours", age.num_hours())
            } else {
                format!("{} minutes", age.num_minutes().max(0))
            };
            fill(
                AUDIT.checkpoint,
                &[
                    ("position", &checkpoint.position.to_string()),
                    ("hash", &checkpoint.hash),
                    ("at", &second(checkpoint.signed_at)),
                    ("age", &age),
                    ("key", &checkpoint.key),
                ],
            )
        }
    }
}

/// The head in one line.
pub(super) fn head_line(head: &Head) -> String {
    match head.recorded_at {
        None => AUDIT.empty_log.to_owned(),
        Some(at) => fill(
            AUDIT.head,
            &[
                ("position", &head.position.to_string()),
                ("hash", &head.hash),
                ("at", &second(at)),
            ],
        ),
    }
}

/// The chain page's query: `verify=1` recomputes the chain.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Asked {
    verify: Option<String>,
}

/// Why recomputing the chain stopped.
enum Stopped {
    Broken(ChainBreak),
    Failed(AdminError),
}

/// Recomputes the chain over the events the admin layer lets the actor read, a page at
/// a time.
async fn verify(admin: &Admin, actor: &Actor) -> Result<ChainReport, Stopped> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = admin
            .log_page(actor, after)
            .await
            .map_err(Stopped::Failed)?;
        let Some(last) = page.last() else {
            return Ok(verifier.report());
        };
        after = last.position;
        for event in &page {
            verifier.check(event).map_err(Stopped::Broken)?;
        }
    }
}

/// `GET /console/audit/chain`: the head, the chain recomputed when asked, and what is
/// known of checkpoints.
pub(super) async fn chain(
    State(state): State<AdminState>,
    console: Console,
    Query(asked): Query<Asked>,
) -> Result<Response, ConsoleError> {
    let actor = &console.actor;
    let head = state.admin.log_head(actor).await?;
    let checkpoint = checkpoint_line(&head, console.call().now);
    let head = head_line(&head);
    let (verified, broken) = if asked.verify.is_some() {
        match verify(&state.admin, actor).await {
            Ok(report) => (
                Some(fill(
                    AUDIT.chain_whole,
                    &[
                        ("events", &report.events.to_string()),
                        ("head", &report.head),
                    ],
                )),
                None,
            ),
            Err(Stopped::Broken(problem)) => (
                None,
                Some(fill(
                    AUDIT.chain_broken,
                    &[("problem", &problem.to_string())],
                )),
            ),
            Err(Stopped::Failed(error)) => return Err(error.into()),
        }
    } else {
        (None, None)
    };
    console.page(
        &state,
        Section::Audit,
        "audit_chain.html",
        context! { head, checkpoint, verified, broken },
    )
}

/// What the export's stream does next.
enum Next {
    /// Sends this page.
    Page(Vec<RecordedEvent>),
    /// Reads the page after this position.
    After(u64),
    /// Nothing more.
    Done,
}

/// A page's events as the export's lines.
fn chunk(page: &[RecordedEvent]) -> Result<String, std::io::Error> {
    let mut chunk = String::new();
    for event in page {
        chunk.push_str(&verity_audit::export::to_line(event).map_err(std::io::Error::other)?);
        chunk.push('\n');
    }
    Ok(chunk)
}

/// `GET /console/audit/export`: every event as a JSON line, as a file to save. A failure
/// midway aborts the download rather than end it as if it were whole.
pub(super) async fn export(
    State(state): State<AdminState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    // Asked once before answering, so a refusal is a page and not a broken download.
    let first = state.admin.log_page(&console.actor, 0).await?;
    let lines = futures_util::stream::unfold(
        (state, console.actor, Next::Page(first)),
        |(state, actor, next)| async move {
            let page = match next {
                Next::Done => return None,
                Next::Page(page) => page,
                Next::After(after) => match state.admin.log_page(&actor, after).await {
                    Ok(page) => page,
                    Err(error) => {
                        log_failure("reading the log for the export", &error);
                        let failed = Err(std::io::Error::other(error.to_string()));
                        return Some((failed, (state, actor, Next::Done)));
                    }
                },
            };
            let last = page.last()?.position;
            Some((chunk(&page), (state, actor, Next::After(last))))
        },
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"verity-events.jsonl\"",
            ),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}
