//! The event envelope: what is appended ([`NewEvent`]) and what is read back
//! ([`RecordedEvent`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Who caused an event. Stored in the event's metadata so the log itself is the audit
/// trail of who did what to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The operator at the command line of the server (`verity ...`).
    Cli {
        /// The operating-system user name, when known.
        os_user: Option<String>,
    },
    /// A signed-in person (an admin, or the person themselves).
    User {
        /// The person's user id.
        user_id: String,
        /// The SSO session they acted in, when an admin acted through the console.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<String>,
    },
    /// Verity itself (first start, key rotation, housekeeping).
    System,
    /// A service client acting on the admin API with its own access token
    /// (`client_credentials`).
    Client {
        /// The client's id.
        client_id: String,
    },
    /// An organization's SCIM provisioning token.
    ScimToken {
        /// The token's id (never the token).
        token_id: String,
    },
}

/// Metadata carried by every event: who, from where, when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Who caused the event.
    pub actor: Actor,
    /// The request that caused it, when it came over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The client's IP address, when it came over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// When the fact happened (the command's `now`), as opposed to when it was recorded.
    pub occurred_at: DateTime<Utc>,
}

/// An event about to be appended to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Dotted, past-tense type name, e.g. `user.password.changed`. A stored name is a data
    /// format: never renamed, never reused.
    pub event_type: String,
    /// Version of the payload's schema; a change is a new version plus an upcaster.
    pub schema: u32,
    /// The payload as JSON text. Stored byte for byte, so the hash chain covers exactly it.
    pub data: String,
    /// Who, from where, when.
    pub metadata: EventMetadata,
}

/// An event as it stands in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Global position: gapless and strictly increasing in commit order, from 1.
    pub position: u64,
    /// The stream the event belongs to, e.g. `user-<uuid>`.
    pub stream: String,
    /// Version within the stream, from 1.
    pub version: u64,
    /// Dotted type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Payload schema version.
    pub schema: u32,
    /// Payload, JSON text as stored.
    pub data: String,
    /// Metadata, JSON text as stored.
    pub metadata: String,
    /// When the store recorded the event, in microseconds precision.
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 over the previous event's hash and this event's canonical bytes, hex.
    pub hash: String,
}

impl RecordedEvent {
    /// Decodes the payload into `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_str(&self.data).map_err(|source| DecodeError::Payload {
            event_type: self.event_type.clone(),
            position: self.position,
            message: source.to_string(),
        })
    }

    /// Decodes the metadata.
    pub fn decoded_metadata(&self) -> Result<EventMetadata, DecodeError> {
        serde_json::from_str(&self.metadata).map_err(|source| DecodeError::Payload {
            event_type: self.event_type.clone(),
            position: self.position,
            message: source.to_string(),
        })
    }
}

/// An event payload that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The JSON does not match the payload's schema.
    #[error("event {event_type} at position {position}: {message}")]
    Payload {
        /// The stored type name.
        event_type: String,
        /// The event's position.
        position: u64,
        /// What serde said.
        message: String,
    },
    /// The schema version is newer than this binary understands.
    #[error(
        "event {event_type} at position {position} has schema {schema}, newer than this binary understands"
    )]
    UnknownSchema {
        /// The stored type name.
        event_type: String,
        /// The event's position.
        position: u64,
        /// The stored schema version.
        schema: u32,
    },
    /// No aggregate of this binary has the type (a newer Verity wrote it, or the row was
    /// altered): the event cannot be folded, nor silently passed over.
    #[error(
        "event at position {position} has type {event_type:?}, which this binary does not know (written by a newer Verity, or altered)"
    )]
    UnknownType {
        /// The stored type name.
        event_type: String,
        /// The event's position.
        position: u64,
    },
}

/// A typed event of one aggregate: how it maps to and from the stored envelope.
pub trait DomainEvent: Sized {
    /// The stored, dotted type name.
    fn event_type(&self) -> &'static str;
    /// The payload schema version this binary writes.
    fn schema(&self) -> u32 {
        1
    }
    /// The payload as JSON text.
    fn to_data(&self) -> String;
    /// Reads a stored event back (upcasting older schemas); `Ok(None)` for types that
    /// belong to another aggregate.
    fn decode(event: &RecordedEvent) -> Result<Option<Self>, DecodeError>;

    /// Wraps the event into an envelope with the given metadata.
    fn to_new_event(&self, metadata: EventMetadata) -> NewEvent {
        NewEvent {
            event_type: self.event_type().to_owned(),
            schema: self.schema(),
            data: self.to_data(),
            metadata,
        }
    }
}

/// Serialises a payload struct to JSON text. Payload structs only hold strings, numbers,
/// booleans and timestamps, which always serialise.
pub fn to_json<T: Serialize>(payload: &T) -> String {
    serde_json::to_string(payload).unwrap_or_else(|_| String::from("{}"))
}

/// `event` as the store would hand it back at position 1 of `stream`: what the tests of
/// each aggregate decode.
#[cfg(test)]
pub(crate) fn recorded<E: DomainEvent>(stream: String, event: &E) -> RecordedEvent {
    RecordedEvent {
        position: 1,
        stream,
        version: 1,
        event_type: event.event_type().into(),
        schema: event.schema(),
        data: event.to_data(),
        metadata: "{}".into(),
        recorded_at: DateTime::UNIX_EPOCH,
        hash: String::new(),
    }
}

/// Empty payload of events that carry nothing but their type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Empty {}

/// Refuses a schema version newer than this binary writes (every payload is at schema 1;
/// an upcaster would go here).
pub(crate) fn check_schema(event: &RecordedEvent) -> Result<(), DecodeError> {
    if event.schema > 1 {
        return Err(DecodeError::UnknownSchema {
            event_type: event.event_type.clone(),
            position: event.position,
            schema: event.schema,
        });
    }
    Ok(())
}

/// Implements [`DomainEvent`] for an aggregate's event enum from its table of variants
/// and stored type names: a variant with a payload stores the payload as JSON, a unit
/// variant stores `{}`. `else Variant` hands every other stored type to the enum that
/// variant wraps (a user's second-factor events); without it, other types are not this
/// aggregate's (`Ok(None)`).
///
/// ```text
/// domain_events! {
///     UserEvent {
///         Created(UserCreated) => USER_CREATED,
///         Disabled => USER_DISABLED,
///     }
///     else Mfa(MfaEvent)
/// }
/// ```
macro_rules! domain_events {
    (
        $event:ident {
            $( $variant:ident $( ( $payload:ty ) )? => $name:path ),+ $(,)?
        }
        $( else $nested:ident ( $inner:ty ) )?
    ) => {
        impl $event {
            /// The stored type names of this enum's own variants (see
            /// [`crate::known_types`]).
            pub const EVENT_TYPES: &'static [&'static str] = &[$( $name ),+];
        }

        impl $crate::DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                match self {
                    $( Self::$variant $( ( $crate::event::domain_events!(@wildcard $payload) ) )? => $name, )+
                    $( Self::$nested(inner) => inner.event_type(), )?
                }
            }

            // `payload @ _`: the macro binds a payload only in variants that have one.
            #[allow(clippy::redundant_pattern)]
            fn to_data(&self) -> String {
                match self {
                    $( Self::$variant $( ( payload @ $crate::event::domain_events!(@wildcard $payload) ) )?
                        => $crate::event::domain_events!(@data $( payload $payload )?), )+
                    $( Self::$nested(inner) => inner.to_data(), )?
                }
            }

            fn decode(
                event: &$crate::RecordedEvent,
            ) -> Result<Option<Self>, $crate::DecodeError> {
                let decoded = match event.event_type.as_str() {
                    $( $name => {
                        $crate::event::check_schema(event)?;
                        Self::$variant $( ( event.payload::<$payload>()? ) )?
                    } )+
                    _ => return $crate::event::domain_events!(@other event $( $nested $inner )?),
                };
                Ok(Some(decoded))
            }
        }
    };
    (@wildcard $payload:ty) => { _ };
    (@data $binding:ident $payload:ty) => { $crate::event::to_json($binding) };
    (@data) => { $crate::event::to_json(&$crate::event::Empty {}) };
    (@other $event:ident $nested:ident $inner:ty) => {
        Ok(<$inner as $crate::DomainEvent>::decode($event)?.map(Self::$nested))
    };
    (@other $event:ident) => { Ok(None) };
}
pub(crate) use domain_events;

#[cfg(test)]
mod tests {
    use super::*;

    /// The actor is stored in every event's metadata: these shapes are a data format.
    #[test]
    fn actors_keep_their_stored_shape() {
        let shapes = [
            (
                Actor::Cli {
                    os_user: Some("root".into()),
                },
                r#"{"kind":"cli","os_user":"root"}"#,
            ),
            (
                Actor::User {
                    user_id: "u-1".into(),
                    sid: None,
                },
                r#"{"kind":"user","user_id":"u-1"}"#,
            ),
            (
                Actor::User {
                    user_id: "u-1".into(),
                    sid: Some("s-1".into()),
                },
                r#"{"kind":"user","user_id":"u-1","sid":"s-1"}"#,
            ),
            (Actor::System, r#"{"kind":"system"}"#),
            (
                Actor::Client {
                    client_id: "c-1".into(),
                },
                r#"{"kind":"client","client_id":"c-1"}"#,
            ),
            (
                Actor::ScimToken {
                    token_id: "t-1".into(),
                },
                r#"{"kind":"scim_token","token_id":"t-1"}"#,
            ),
        ];
        for (actor, stored) in shapes {
            assert_eq!(serde_json::to_string(&actor).unwrap(), stored);
            assert_eq!(serde_json::from_str::<Actor>(stored).unwrap(), actor);
        }
    }
}
