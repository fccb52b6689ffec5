//! The export format of an event (`verity events export`, the console's download): one
//! JSON object per line, `data` and `metadata` embedded byte for byte as stored and
//! hashed, so an auditor can recompute the chain from the lines alone (docs/audit.md).

use chrono::SecondsFormat;
use verity_domain::RecordedEvent;

/// One event as a line (without the newline).
pub fn line(event: &RecordedEvent) -> serde_json::Result<String> {
    Ok(format!(
        "{{\"position\":{},\"stream\":{},\"version\":{},\"type\":{},\"schema\":{},\"data\":{},\"metadata\":{},\"recorded_at\":{},\"hash\":{}}}",
        event.position,
        serde_json::to_string(&event.stream)?,
        event.version,
        serde_json::to_string(&event.event_type)?,
        event.schema,
        event.data,
        event.metadata,
        serde_json::to_string(
            &event
                .recorded_at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
        )?,
        serde_json::to_string(&event.hash)?,
    ))
}
