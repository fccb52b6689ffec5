//! A payload read back from the log, as the sealed store opens its personal fields in
//! the JSON text (`verity_store::personal`, `in_text.rs`). Whatever `serde_json` reads as
//! JSON, this reader reads too, and it changes exactly the strings at the fields' paths:
//! the result is the same JSON with those strings replaced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use verity_domain::personal::{FIELDS, PersonalField};
use verity_store::personal::mark_personal_fields;

/// What `mark_personal_fields` should do, on a tree.
fn mark(value: &mut Value, path: &[&str]) {
    match path.split_first() {
        None => {
            if let Value::String(text) = value {
                *text = format!("[{}]", text.chars().count());
            }
        }
        Some((&"*", rest)) => {
            if let Value::Array(items) = value {
                for item in items {
                    mark(item, rest);
                }
            }
        }
        Some((member, rest)) => {
            if let Value::Object(members) = value
                && let Some(inner) = members.get_mut(*member)
            {
                mark(inner, rest);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Some(&(event_type, fields)) = FIELDS.get(usize::from(pick) % FIELDS.len()) else {
        return;
    };
    let marked = mark_personal_fields(event_type, text);
    if let Ok(mut expected) = serde_json::from_str::<Value>(text) {
        assert!(marked.is_some(), "JSON that serde_json reads is read");
        fields
            .iter()
            .for_each(|field: &PersonalField| mark(&mut expected, field.path));
        let read = marked.and_then(|marked| serde_json::from_str::<Value>(&marked).ok());
        assert_eq!(read, Some(expected), "the result is the same JSON, marked");
    }
});
