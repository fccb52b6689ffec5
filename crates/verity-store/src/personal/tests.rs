//! Sealing and opening one event, over payloads of any shape: what a reader gets back is
//! what was written (or, for an erased person, the same with each personal field erased).

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;
use verity_domain::personal;
use verity_domain::store::PersonalReads;
use verity_domain::{Actor, EventMetadata, NewEvent, RecordedEvent};

use super::cipher::PersonalSecrets;
use super::{Known, Look, Reuse, binding, field_values, in_text, open_event, seal_event};

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

/// A `user.created` of `data` sealed for person 7 (its client address too, when it came
/// from one), and the person's key.
fn sealed_created(data: &Value, client_ip: Option<&str>) -> (RecordedEvent, Known) {
    let subject = Uuid::from_u128(7);
    let known = new_key(subject);
    let stream = format!("user-{subject}");
    let event = sealed(&stream, "user.created", data, subject, &known, client_ip);
    (event, known)
}

/// A new key for `subject`.
fn new_key(subject: Uuid) -> Known {
    let (key, _) = PersonalSecrets::new([1; 32], [2; 32])
        .unwrap()
        .new_data_key(subject)
        .unwrap();
    Known::Key(key)
}

/// An event of `event_type` in `stream` holding `data`, sealed with `subject`'s key as an
/// append seals it: its client address too, when it came from one (recorded as the
/// system's, whose address is the person's).
fn sealed(
    stream: &str,
    event_type: &str,
    data: &Value,
    subject: Uuid,
    known: &Known,
    client_ip: Option<&str>,
) -> RecordedEvent {
    let mut event = NewEvent {
        event_type: event_type.into(),
        schema: 1,
        data: data.to_string(),
        metadata: EventMetadata {
            actor: Actor::System,
            request_id: None,
            client_ip: client_ip.map(str::to_owned),
            occurred_at: DateTime::UNIX_EPOCH,
        },
    };
    seal_event(
        &mut event,
        &mut data.clone(),
        personal::fields(event_type),
        client_ip.is_some(),
        subject,
        known,
    )
    .unwrap();
    recorded(stream, event)
}

/// The client address in `event`'s metadata.
fn client_ip(event: &RecordedEvent) -> Option<String> {
    serde_json::from_str::<EventMetadata>(&event.metadata)
        .unwrap()
        .client_ip
}

proptest! {
    #[test]
    fn a_sealed_event_opens_to_what_was_written(data in created()) {
        let (sealed, key) = sealed_created(&data, Some("192.0.2.1"));

        let look = Look::at(&sealed, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
        prop_assert!(look.data_sealed && look.metadata_sealed);
        // One set of buffers for every opening, as a page's.
        let mut reuse = Reuse::default();
        let mut opened = sealed.clone();
        open_event(&mut opened, &look, Some(&key), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&opened.data).unwrap(), data.clone());
        prop_assert_eq!(client_ip(&opened), Some("192.0.2.1".to_owned()));

        let mut gone = sealed.clone();
        open_event(&mut gone, &look, Some(&Known::Erased), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&gone.data).unwrap(), erased(data.clone()));
        prop_assert_eq!(client_ip(&gone), Some(personal::ERASED_TEXT.to_owned()));

        // The same payload written in clear, before sealing existed.
        let clear = RecordedEvent { data: data.to_string(), ..sealed };
        let look = Look::at(&clear, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
        prop_assert!(!look.data_sealed);
        let mut kept = clear.clone();
        open_event(&mut kept, &look, Some(&Known::Absent), &mut reuse);
        prop_assert_eq!(&kept.data, &clear.data);
        let mut blanked = clear;
        open_event(&mut blanked, &look, Some(&Known::Erased), &mut reuse);
        prop_assert_eq!(serde_json::from_str::<Value>(&blanked.data).unwrap(), erased(data));
    }
}

/// `event` as a reader with `known` reads its payload.
fn opened(mut event: RecordedEvent, known: &Known) -> Value {
    let look = Look::at(&event, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    open_event(&mut event, &look, Some(known), &mut Reuse::default());
    serde_json::from_str(&event.data).unwrap()
}

#[test]
fn a_payloads_values_are_sealed_together_the_first_holding_them_all() {
    let data = json!({"user_id": "u", "email": "ada@example.org", "name": "Ada"});
    let (event, known) = sealed_created(&data, None);
    let stored: Value = serde_json::from_str(&event.data).unwrap();
    let email = stored["email"].as_str().unwrap();
    assert!(email.starts_with("pd3:") && email.len() > 40, "{email}");
    assert_eq!(stored["name"], "pd3:1");
    assert!(!event.data.contains("ada@") && !event.data.contains("Ada"));
    assert_eq!(opened(event, &known), data);
}

/// A clear member that starts as values sealed together do: the payload's values are then
/// bound to their fields' paths, as every log written before values were bound to the
/// payload's text holds them.
const LOOKS_SEALED: &str = "pd3:in clear";

#[test]
fn values_sealed_together_moved_dropped_or_altered_read_as_erased() {
    let data =
        json!({"user_id": "u", "email": "ada@example.org", "name": "Ada", "note": LOOKS_SEALED});
    let (event, known) = sealed_created(&data, None);
    let stored: Value = serde_json::from_str(&event.data).unwrap();
    let email = stored["email"].as_str().unwrap();
    assert!(!email.starts_with(super::SEALED_IN_TEXT_PREFIX), "{email}");
    assert_eq!(opened(event.clone(), &known), data);
    let all_erased = erased(data.clone());
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut tampered = stored.clone();
        change(&mut tampered);
        RecordedEvent {
            data: tampered.to_string(),
            ..event.clone()
        }
    };
    // The values swapped between the fields: the first in the text no longer opens them.
    let swapped = edit(&|value| {
        let email = value["email"].take();
        value["email"] = value["name"].take();
        value["name"] = email;
    });
    assert_eq!(opened(swapped, &known), all_erased);
    // A value dropped: the sealed array no longer matches the text.
    let dropped = edit(&|value| value["name"] = Value::Null);
    let mut expected = all_erased.clone();
    expected["name"] = Value::Null;
    assert_eq!(opened(dropped, &known), expected);
    // A place that is not its own.
    let misplaced = edit(&|value| value["name"] = json!("pd3:2"));
    let mut expected = data.clone();
    expected["name"] = json!(personal::ERASED_TEXT);
    assert_eq!(opened(misplaced, &known), expected);
    // One character of the sealed values changed.
    let altered = edit(&|value| {
        let email = value["email"].as_str().unwrap();
        let last = if email.ends_with('A') { "B" } else { "A" };
        value["email"] = json!(format!("{}{last}", &email[..email.len() - 1]));
    });
    assert_eq!(opened(altered, &known), all_erased);
}

#[test]
fn values_sealed_one_by_one_before_still_open() {
    // As a log written before values were sealed together holds them: each field its own
    // `pd2:` value, bound to its path.
    let data = json!({"user_id": "u", "email": "ada@example.org", "name": "Ada"});
    let (event, known) = sealed_created(&json!({"user_id": "u"}), None);
    let Known::Key(key) = &known else {
        unreachable!("sealed_created makes a key")
    };
    let cipher = key.cipher().unwrap();
    let subject = Uuid::from_u128(7);
    let one_by_one = json!({
        "user_id": "u",
        "email": cipher.seal(&binding(subject, &["email"]), "ada@example.org").unwrap(),
        "name": cipher.seal(&binding(subject, &["name"]), "Ada").unwrap(),
    });
    assert!(one_by_one["name"].as_str().unwrap().starts_with("pd2:"));
    let before = RecordedEvent {
        data: one_by_one.to_string(),
        ..event
    };
    assert_eq!(opened(before.clone(), &known), data);
    assert_eq!(opened(before, &Known::Erased), erased(data));
}

/// A session's start, in the session's stream: sealed with the key of the person its
/// payload names, as an append seals it.
fn session_started(subject: Uuid, known: &Known) -> (RecordedEvent, Value) {
    let data = json!({
        "sid": "s", "user_id": subject.to_string(), "auth_time": "2026-12-07T00:00:00Z",
        "amr": ["pwd"], "ip": "192.0.2.9", "user_agent": "Firefox \"128\"",
    });
    let event = sealed(
        "session-s",
        "session.started",
        &data,
        subject,
        known,
        Some("192.0.2.9"),
    );
    (event, data)
}

#[test]
fn a_session_start_opens_with_the_key_of_the_person_its_payload_names() {
    let subject = Uuid::from_u128(9);
    let known = new_key(subject);
    let (event, data) = session_started(subject, &known);
    assert!(!event.data.contains("192.0.2.9") && !event.metadata.contains("192.0.2.9"));
    let look = Look::at(&event, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    assert_eq!(look.subject, subject);
    assert_eq!(opened(event.clone(), &known), data);
    let mut read = event.clone();
    open_event(&mut read, &look, Some(&known), &mut Reuse::default());
    assert_eq!(client_ip(&read).as_deref(), Some("192.0.2.9"));

    // A payload that names someone else first is read as theirs: nothing opens.
    let other = Uuid::from_u128(10);
    let twice = RecordedEvent {
        data: event
            .data
            .replacen('{', &format!("{{\"user_id\":\"{other}\","), 1),
        ..event
    };
    let look = Look::at(&twice, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    assert_eq!(look.subject, other);
    let read = opened(twice, &known);
    assert_eq!(read["ip"], personal::ERASED_TEXT);
    assert_eq!(read["user_agent"], personal::ERASED_TEXT);
}

#[test]
fn events_of_people_in_turn_each_open_with_their_own_key() {
    // The key set up for one person's events is not used for the next person's.
    let (ada, bob) = (Uuid::from_u128(10), Uuid::from_u128(11));
    let (ada_key, bob_key) = (new_key(ada), new_key(bob));
    let (ada_event, ada_data) = session_started(ada, &ada_key);
    let (bob_event, bob_data) = session_started(bob, &bob_key);
    let page = [
        (&ada_event, &ada_key, &ada_data),
        (&bob_event, &bob_key, &bob_data),
        (&bob_event, &Known::Erased, &bob_data),
        (&ada_event, &ada_key, &ada_data),
        (&bob_event, &bob_key, &bob_data),
    ];
    let mut reuse = Reuse::default();
    for (event, known, data) in page {
        let look = Look::at(event, PersonalReads::ALL, &mut reuse.text).unwrap();
        let mut read = event.clone();
        open_event(&mut read, &look, Some(known), &mut reuse);
        let read_data: Value = serde_json::from_str(&read.data).unwrap();
        if matches!(known, Known::Erased) {
            assert_eq!(read_data["ip"], personal::ERASED_TEXT);
            assert_eq!(client_ip(&read).as_deref(), Some(personal::ERASED_TEXT));
        } else {
            assert_eq!(&read_data, data);
            assert_eq!(client_ip(&read).as_deref(), Some("192.0.2.9"));
        }
    }
    // With the other person's key, nothing opens.
    let look = Look::at(&ada_event, PersonalReads::ALL, &mut reuse.text).unwrap();
    let mut read = ada_event.clone();
    open_event(&mut read, &look, Some(&bob_key), &mut Reuse::default());
    assert_eq!(client_ip(&read).as_deref(), Some(personal::ERASED_TEXT));
    assert_eq!(
        serde_json::from_str::<Value>(&read.data).unwrap()["ip"],
        personal::ERASED_TEXT
    );
}

#[test]
fn the_client_address_is_sealed_with_the_payloads_values_and_bound_to_them() {
    let subject = Uuid::from_u128(9);
    let known = new_key(subject);
    let (event, mut data) = session_started(subject, &known);
    data["note"] = json!(LOOKS_SEALED);
    let event = sealed(
        &event.stream,
        "session.started",
        &data,
        subject,
        &known,
        Some("192.0.2.9"),
    );
    // The payload's two values bound to their paths, then the address: its place is 2.
    let stored: Value = serde_json::from_str(&event.data).unwrap();
    let ip = stored["ip"].as_str().unwrap();
    assert!(ip.starts_with("pd3:") && !ip.starts_with(super::SEALED_IN_TEXT_PREFIX));
    assert_eq!(stored["user_agent"], "pd3:1");
    assert_eq!(client_ip(&event).as_deref(), Some("pd3:2"));
    assert_eq!(opened(event.clone(), &known), data);

    let read = |metadata: String| {
        let mut read = RecordedEvent {
            metadata,
            ..event.clone()
        };
        let look = Look::at(&read, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
        open_event(&mut read, &look, Some(&known), &mut Reuse::default());
        let data: Value = serde_json::from_str(&read.data).unwrap();
        (data, client_ip(&read))
    };
    // A place that is not the address's: the address reads as erased.
    let (opened_data, ip) = read(event.metadata.replace("pd3:2", "pd3:1"));
    assert_eq!(
        (opened_data, ip.as_deref()),
        (data.clone(), Some(personal::ERASED_TEXT))
    );
    // The address taken out of the metadata: the values no longer open.
    let (opened_data, _) = read(event.metadata.replace("\"pd3:2\"", "\"192.0.2.66\""));
    assert_eq!(opened_data["ip"], personal::ERASED_TEXT);
    assert_eq!(opened_data["user_agent"], personal::ERASED_TEXT);
}

#[test]
fn an_address_sealed_on_its_own_before_still_opens() {
    // As logs written before addresses joined the payload's values hold it: `pd2:`, bound
    // to the metadata's path, beside the payload's values sealed together without it.
    let subject = Uuid::from_u128(9);
    let known = new_key(subject);
    let (event, data) = session_started(subject, &known);
    let Known::Key(key) = &known else {
        unreachable!("new_key makes a key")
    };
    let sealed_alone = key
        .cipher()
        .unwrap()
        .seal(&binding(subject, &super::METADATA_ADDRESS), "192.0.2.9")
        .unwrap();
    assert!(sealed_alone.starts_with("pd2:"));
    // The payload sealed again without the address, as it was.
    let mut payload = data.clone();
    let mut new_event = NewEvent {
        event_type: "session.started".into(),
        schema: 1,
        data: data.to_string(),
        metadata: EventMetadata {
            actor: Actor::System,
            request_id: None,
            client_ip: None,
            occurred_at: DateTime::UNIX_EPOCH,
        },
    };
    seal_event(
        &mut new_event,
        &mut payload,
        personal::fields("session.started"),
        false,
        subject,
        &known,
    )
    .unwrap();
    let before = RecordedEvent {
        data: new_event.data,
        metadata: verity_domain::event::to_json(&EventMetadata {
            client_ip: Some(sealed_alone),
            ..serde_json::from_str(&event.metadata).unwrap()
        }),
        ..event
    };
    assert_eq!(opened(before.clone(), &known), data);
    let look = Look::at(
        &before,
        PersonalReads::ALL,
        &mut in_text::Buffers::default(),
    )
    .unwrap();
    let mut read = before;
    open_event(&mut read, &look, Some(&known), &mut Reuse::default());
    assert_eq!(client_ip(&read).as_deref(), Some("192.0.2.9"));
}

/// A payload as `serde_json` writes one: members of any kind, `user_id` among them (or
/// not, or not a string), and another `user_id` nested in a member.
fn naming_payload() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            text().prop_map(Value::String),
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            Just(Value::Bool(true))
        ],
        any::<bool>(),
        text(),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(user_id, named, other, items)| {
            let mut payload = serde_json::Map::new();
            if named {
                payload.insert("user_id".into(), user_id);
            }
            // Members before it and after it, in either order of the map's keys.
            for (member, value) in [
                ("actor", json!({"user_id": "nested"})),
                ("sid", json!(other)),
                ("amr", json!(items)),
                ("zone", json!({"m": [1, {}], "user_id": "nested"})),
            ] {
                payload.insert(member.into(), value);
            }
            Value::Object(payload)
        })
}

proptest! {
    #[test]
    fn a_payloads_person_is_read_as_serde_json_reads_it(payload in naming_payload()) {
        use super::in_text::{Paths, first_string};
        let paths = Paths::new(&super::PAYLOAD_PERSON);
        let text = payload.to_string();
        let read = first_string(&text, &paths, &mut in_text::Buffers::default());
        prop_assert_eq!(read.as_deref(), payload.get("user_id").and_then(Value::as_str));
    }
}

#[test]
fn a_payloads_values_are_bound_to_its_text_and_open_without_reading_it() {
    let subject = Uuid::from_u128(9);
    let known = new_key(subject);
    let (event, data) = session_started(subject, &known);
    let stored: Value = serde_json::from_str(&event.data).unwrap();
    let ip = stored["ip"].as_str().unwrap();
    assert!(
        ip.starts_with(super::SEALED_IN_TEXT_PREFIX) && ip.len() > 40,
        "{ip}"
    );
    assert_eq!(stored["user_agent"], "pd3:1");
    // The client address is the payload's own address: named (place 0), not sealed twice.
    assert!(ip.starts_with("pd3:+0:"), "{ip}");
    assert_eq!(client_ip(&event).as_deref(), Some("pd3:0"));
    let look = Look::at(&event, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    assert!(look.data_in_text.is_some());
    let mut read = event.clone();
    open_event(&mut read, &look, Some(&known), &mut Reuse::default());
    assert_eq!(serde_json::from_str::<Value>(&read.data).unwrap(), data);
    assert_eq!(client_ip(&read).as_deref(), Some("192.0.2.9"));

    // A reader that does not read client addresses opens the values alone, the metadata
    // as stored.
    let reads = PersonalReads {
        unread_types: &[],
        client_addresses: false,
    };
    let mut folded = event.clone();
    let look = Look::at(&folded, reads, &mut in_text::Buffers::default()).unwrap();
    assert!(!look.metadata_sealed);
    open_event(&mut folded, &look, Some(&known), &mut Reuse::default());
    assert_eq!(serde_json::from_str::<Value>(&folded.data).unwrap(), data);
    assert_eq!(folded.metadata, event.metadata);

    // A reader of the version before, which binds values to their fields' paths only,
    // reads them as erased (and does not fail).
    let mut before = event.clone();
    let mut look = Look::at(
        &before,
        PersonalReads::ALL,
        &mut in_text::Buffers::default(),
    )
    .unwrap();
    look.data_in_text = None;
    open_event(&mut before, &look, Some(&known), &mut Reuse::default());
    let before: Value = serde_json::from_str(&before.data).unwrap();
    assert_eq!(before["ip"], personal::ERASED_TEXT);
    assert_eq!(before["user_agent"], personal::ERASED_TEXT);
}

#[test]
fn values_bound_to_a_text_moved_swapped_dropped_or_altered_read_as_erased() {
    let data = json!({"user_id": "u", "org_id": "o", "email": "ada@example.org", "name": "Ada"});
    let (event, known) = sealed_created(&data, None);
    assert!(event.data.contains(super::SEALED_IN_TEXT_PREFIX));
    assert_eq!(opened(event.clone(), &known), data);
    let all_erased = erased(data.clone());
    let stored: Value = serde_json::from_str(&event.data).unwrap();
    let edit = |change: &dyn Fn(&mut Value)| RecordedEvent {
        data: {
            let mut tampered = stored.clone();
            change(&mut tampered);
            tampered.to_string()
        },
        ..event.clone()
    };
    let swapped = edit(&|value| {
        let email = value["email"].take();
        value["email"] = value["name"].take();
        value["name"] = email;
    });
    let misplaced = edit(&|value| value["name"] = json!("pd3:2"));
    let altered = edit(&|value| {
        let email = value["email"].as_str().unwrap();
        let last = if email.ends_with('A') { "B" } else { "A" };
        value["email"] = json!(format!("{}{last}", &email[..email.len() - 1]));
    });
    // What is not personal made longer (the values move), a member added.
    let moved = edit(&|value| value["org_id"] = json!("another"));
    let added = edit(&|value| value["extra"] = json!(1));
    for tampered in [swapped, misplaced, altered, moved, added] {
        let mut expected = all_erased.clone();
        let read: Value = serde_json::from_str(&tampered.data).unwrap();
        for member in ["org_id", "extra"] {
            if let Some(value) = read.get(member) {
                expected[member] = value.clone();
            }
        }
        assert_eq!(opened(tampered, &known), expected);
    }
    // A value dropped.
    let dropped = edit(&|value| value["name"] = Value::Null);
    let mut expected = all_erased;
    expected["name"] = Value::Null;
    assert_eq!(opened(dropped, &known), expected);
    // A member renamed, the text's length kept.
    let renamed = RecordedEvent {
        data: event.data.replace(r#""name":"pd3:1""#, r#""nbme":"pd3:1""#),
        ..event.clone()
    };
    assert_ne!(renamed.data, event.data);
    assert_eq!(
        opened(renamed, &known),
        json!({"user_id": "u", "org_id": "o", "email": personal::ERASED_EMAIL, "nbme": "pd3:1"})
    );
    // What binds them is where they stand, not the rest of the text (the chain covers
    // that): a clear value changed in place, its length kept, leaves them opening.
    let mut expected = data.clone();
    expected["org_id"] = json!("p");
    assert_eq!(
        opened(edit(&|value| value["org_id"] = json!("p")), &known),
        expected
    );
}

/// `event` with its metadata's client address replaced by `ip`, read by a reader of
/// everything with `known`: its payload and its client address.
fn read_with_address(event: &RecordedEvent, ip: &str, known: &Known) -> (Value, Option<String>) {
    let mut read = RecordedEvent {
        metadata: verity_domain::event::to_json(&EventMetadata {
            client_ip: Some(ip.to_owned()),
            ..serde_json::from_str(&event.metadata).unwrap()
        }),
        ..event.clone()
    };
    let look = Look::at(&read, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    open_event(&mut read, &look, Some(known), &mut Reuse::default());
    (serde_json::from_str(&read.data).unwrap(), client_ip(&read))
}

#[test]
fn an_address_sealed_with_values_bound_to_the_text_opens_only_at_its_place() {
    let subject = Uuid::from_u128(9);
    let known = new_key(subject);
    let (named, data) = session_started(subject, &known);
    // From another address than the payload's: sealed last, at place 2.
    let elsewhere = sealed(
        &named.stream,
        "session.started",
        &data,
        subject,
        &known,
        Some("198.51.100.4"),
    );
    assert_eq!(client_ip(&elsewhere).as_deref(), Some("pd3:2"));
    assert_eq!(
        read_with_address(&elsewhere, "pd3:2", &known),
        (data.clone(), Some("198.51.100.4".to_owned()))
    );
    for (event, own) in [(&named, "pd3:0"), (&elsewhere, "pd3:2")] {
        assert_eq!(client_ip(event).as_deref(), Some(own));
        // A place that is not the address's: the address reads as erased; the values,
        // bound to the payload's text and not to the metadata, still open.
        for other in ["pd3:1", "pd3:3"] {
            assert_eq!(
                read_with_address(event, other, &known),
                (data.clone(), Some(personal::ERASED_TEXT.to_owned()))
            );
        }
        // An address put in clear in the metadata reads as it stands.
        assert_eq!(
            read_with_address(event, "192.0.2.66", &known),
            (data.clone(), Some("192.0.2.66".to_owned()))
        );
    }
    // The place the first value names changed: nothing opens.
    let renamed = RecordedEvent {
        data: named.data.replacen("pd3:+0:", "pd3:+1:", 1),
        ..named.clone()
    };
    assert_ne!(renamed.data, named.data);
    let (read, ip) = read_with_address(&renamed, "pd3:1", &known);
    assert_eq!(read["ip"], personal::ERASED_TEXT);
    assert_eq!(ip.as_deref(), Some(personal::ERASED_TEXT));

    // Values sealed without an address: a place in the metadata names none of them.
    let without = sealed(
        &named.stream,
        "session.started",
        &data,
        subject,
        &known,
        None,
    );
    assert!(!without.data.contains("pd3:+0:"));
    for place in ["pd3:0", "pd3:2"] {
        assert_eq!(
            read_with_address(&without, place, &known),
            (data.clone(), Some(personal::ERASED_TEXT.to_owned()))
        );
    }
}

#[test]
fn a_payload_with_a_clear_string_that_starts_as_sealed_values_is_bound_to_paths() {
    let data =
        json!({"user_id": "u", "email": "ada@example.org", "name": "Ada", "note": LOOKS_SEALED});
    let (event, known) = sealed_created(&data, None);
    assert!(
        !event.data.contains(super::SEALED_IN_TEXT_PREFIX),
        "{}",
        event.data
    );
    let look = Look::at(&event, PersonalReads::ALL, &mut in_text::Buffers::default()).unwrap();
    assert!(look.data_sealed && look.data_in_text.is_none());
    assert_eq!(opened(event, &known), data);
}
