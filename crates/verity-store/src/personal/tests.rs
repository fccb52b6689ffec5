//! Sealing and opening one event, over payloads of any shape: what a reader gets back is
//! what was written (or, for an erased person, the same with each personal field erased).

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;
use verity_domain::personal;
use verity_domain::{Actor, EventMetadata, NewEvent, RecordedEvent};

use super::cipher::PersonalSecrets;
use super::{Known, Look, Reuse, field_values, open_event, seal_event};

/// Text with what JSON escapes: quotes, backslashes, controls, and more than ASCII.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 @.\"\\\\\u{0}-\u{1f}éİ漢😀]{0,24}").unwrap()
}

fn maybe_text() -> impl Strategy<Value = Value> {
    prop_oneof![text().prop_map(Value::String), Just(Value::Null)]
}

/// A `user.created` payload: the address, the name, directory attributes and a few
/// members that are not personal.
fn created() -> impl Strategy<Value = Value> {
    (
        text(),
        maybe_text(),
        maybe_text(),
        proptest::collection::vec((text(), any::<bool>()), 0..3),
        any::<i64>(),
    )
        .prop_map(|(email, name, given, emails, number)| {
            let emails: Vec<Value> = emails
                .into_iter()
                .map(|(value, primary)| json!({"value": value, "primary": primary}))
                .collect();
            json!({
                "user_id": "u", "org_id": "o", "email": email, "name": name, "n": number,
                "directory": {"name": {"given_name": given}, "emails": emails, "*": "not an item"},
            })
        })
}

fn recorded(stream: &str, event: NewEvent) -> RecordedEvent {
    RecordedEvent {
        position: 1,
        stream: stream.to_owned(),
        version: 1,
        event_type: event.event_type,
        schema: event.schema,
        data: event.data,
        metadata: verity_domain::event::to_json(&event.metadata),
        recorded_at: DateTime::UNIX_EPOCH,
        hash: String::new(),
    }
}

/// `data` as an erased person's reads: each personal field's string values erased.
fn erased(mut data: Value) -> Value {
    for field in personal::fields("user.created") {
        for value in field_values(&mut data, field) {
            if value.is_string() {
                *value = Value::String(field.kind.erased().to_owned());
            }
        }
    }
    data
}

proptest! {
    #[test]
    fn a_sealed_event_opens_to_what_was_written(data in created()) {
        let subject = Uuid::from_u128(7);
        let stream = format!("user-{subject}");
        let (key, _) = PersonalSecrets::new([1; 32], [2; 32]).unwrap().new_data_key(subject).unwrap();
        let mut event = NewEvent {
            event_type: "user.created".into(),
            schema: 1,
            data: data.to_string(),
            metadata: EventMetadata {
                actor: Actor::System,
                request_id: None,
                client_ip: Some("192.0.2.1".into()),
                occurred_at: DateTime::UNIX_EPOCH,
            },
        };
        let mut tree = data.clone();
        seal_event(&mut event, &mut tree, personal::fields("user.created"), true, subject, &Known::Key(key.clone()))
            .unwrap();
        let sealed = recorded(&stream, event);

        let look = Look::at(&sealed).unwrap();
        prop_assert!(look.data_sealed && look.metadata_sealed);
        // One set of buffers for every opening, as a page's.
        let mut reuse = Reuse::default();
        let mut opened = sealed.clone();
        open_event(&mut opened, &look, Some(&Known::Key(key)), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&opened.data).unwrap(), data.clone());
        prop_assert!(opened.metadata.contains("192.0.2.1"));

        let mut gone = sealed.clone();
        open_event(&mut gone, &look, Some(&Known::Erased), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&gone.data).unwrap(), erased(data.clone()));
        prop_assert!(!gone.metadata.contains("192.0.2.1"));

        // The same payload written in clear, before sealing existed.
        let clear = RecordedEvent { data: data.to_string(), ..sealed };
        let look = Look::at(&clear).unwrap();
        prop_assert!(!look.data_sealed);
        let mut kept = clear.clone();
        open_event(&mut kept, &look, Some(&Known::Absent), &mut reuse);
        prop_assert_eq!(&kept.data, &clear.data);
        let mut blanked = clear;
        open_event(&mut blanked, &look, Some(&Known::Erased), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&blanked.data).unwrap(), erased(data));
    }
}
