//! Small helpers shared by the read models to read payloads quickly and uniformly.

use serde::Deserialize;
use uuid::Uuid;
use verity_domain::{DecodeError, RecordedEvent};

/// The payload schema version the read models understand for every event they fold.
const UNDERSTOOD_SCHEMA: u32 = 1;

/// Refuses payloads written by a newer binary rather than misreading them.
pub(crate) fn check_schema(event: &RecordedEvent) -> Result<(), DecodeError> {
    if event.schema > UNDERSTOOD_SCHEMA {
        return Err(DecodeError::UnknownSchema {
            event_type: event.event_type.clone(),
            position: event.position,
            schema: event.schema,
        });
    }
    Ok(())
}

/// Deserialises the payload straight from the stored text; `T` may borrow from it.
pub(crate) fn payload<'event, T: Deserialize<'event>>(
    event: &'event RecordedEvent,
) -> Result<T, DecodeError> {
    check_schema(event)?;
    serde_json::from_str(&event.data).map_err(|source| invalid(event, source.to_string()))
}

/// The id in a stream name of the form `<prefix><uuid>`, e.g. `user-<uuid>`.
pub(crate) fn stream_id(event: &RecordedEvent, prefix: &str) -> Result<Uuid, DecodeError> {
    event
        .stream
        .strip_prefix(prefix)
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(|| {
            invalid(
                event,
                format!(
                    "stream {:?} is not of the form {prefix}<uuid>",
                    event.stream
                ),
            )
        })
}

/// A payload error about `event`.
pub(crate) fn invalid(event: &RecordedEvent, message: String) -> DecodeError {
    DecodeError::Payload {
        event_type: event.event_type.clone(),
        position: event.position,
        message,
    }
}
