//! SCIM's JSON: a User resource as POST and PUT send it, read into the person to
//! provision; and a PATCH body applied to a person's resource, which must still read as
//! a person or be refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use verity_admin_http::scim::patch::apply;
use verity_admin_http::scim::resource::read_user;

fn resource() -> Map<String, Value> {
    match serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.org",
        "externalId": "e-1",
        "displayName": "Ada Lovelace",
        "name": { "givenName": "Ada", "familyName": "Lovelace" },
        "emails": [{ "value": "ada@example.org", "primary": true, "type": "work" }],
        "active": true,
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Map<String, Value>>(data) else {
        return;
    };
    let _ = read_user(&body);
    let mut user = resource();
    if apply(&mut user, &body).is_ok() {
        let _ = read_user(&user);
    }
});
