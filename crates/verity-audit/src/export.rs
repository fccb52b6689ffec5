//! The export format of an event: one JSON object per line, `data` and `metadata` embedded
//! byte for byte as stored and hashed, so the chain can be recomputed from the lines
//! alone (`verity events export`, and a bundle's `events.jsonl`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use verity_domain::RecordedEvent;

/// One event as a line (without the newline).
pub fn to_line(event: &RecordedEvent) -> serde_json::Result<String> {
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

/// A line as written by [`to_line`]; `data` and `metadata` keep their exact text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    position: u64,
    stream: String,
    version: u64,
    #[serde(rename = "type")]
    event_type: String,
    schema: u32,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(borrow)]
    metadata: &'a RawValue,
    recorded_at: DateTime<Utc>,
    hash: String,
}

/// Reads a line back into the event it was written from.
pub fn from_line(line: &str) -> serde_json::Result<RecordedEvent> {
    let line: Line<'_> = serde_json::from_str(line)?;
    // The log keeps microseconds: a finer time was not written by Verity, and would not
    // write back as it was read (found by fuzzing, docs/security.md).
    if !line
        .recorded_at
        .timestamp_subsec_nanos()
        .is_multiple_of(1_000)
    {
        return Err(<serde_json::Error as serde::de::Error>::custom(
            "recorded_at has more than microseconds, which the log does not keep",
        ));
    }
    Ok(RecordedEvent {
        position: line.position,
        stream: line.stream,
        version: line.version,
        event_type: line.event_type,
        schema: line.schema,
        data: line.data.get().to_owned(),
        metadata: line.metadata.get().to_owned(),
        recorded_at: line.recorded_at,
        hash: line.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_finer_than_the_log_keeps_is_refused() {
        let line = r#"{"position":1,"stream":"instance","version":1,"type":"instance.initialized","schema":1,"data":{},"metadata":{},"recorded_at":"2026-12-05T20:26:35.144444444Z","hash":"00"}"#;
        let error = from_line(line).unwrap_err().to_string();
        assert!(error.contains("microseconds"), "{error}");
        assert!(from_line(&line.replace(".144444444Z", ".144444Z")).is_ok());
    }

    #[test]
    fn a_line_reads_back_byte_for_byte() {
        let event = RecordedEvent {
            position: 7,
            stream: "user-\"1\"".into(),
            version: 2,
            event_type: "user.created".into(),
            schema: 1,
            // Key order, spacing and escapes as stored: re-serialising would change them.
            data: r#"{"z": 1,"a":"\u00e6 ✓","n":1.50}"#.into(),
            metadata: r#"{"actor":{"kind":"system"}}"#.into(),
            recorded_at: DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap(),
            hash: "ab".repeat(32),
        };
        let line = to_line(&event).unwrap();
        assert_eq!(from_line(&line).unwrap(), event);
        assert!(from_line("{\"position\":1}").is_err());
    }
}
