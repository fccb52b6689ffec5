//! PATCH (RFC 7644 §3.5.2) on a User resource: each operation (`add`, `replace`,
//! `remove`, in any case) is applied in order to the person's resource as JSON, and the
//! result is read like a replaced resource, so a PATCH and a PUT that mean the same
//! change record the same events. Supported paths: an attribute (`displayName`,
//! `name.givenName`), `emails` with a filter (`emails[type eq "work"].value`), with or
//! without the User schema's URN; without a path, the value's members are the
//! attributes (the form Okta sends). Paths of attributes Verity does not keep (an
//! extension's) are ignored, as in a PUT.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::resource::field;

/// The schema of a PATCH body.
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The User schema's URN, lowercased, with the separator before an attribute.
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";

/// The attributes of a User that Verity keeps, as SCIM spells them.
const ATTRIBUTES: [&str; 9] = [
    "schemas",
    "id",
    "meta",
    "userName",
    "displayName",
    "active",
    "externalId",
    "name",
    "emails",
];

/// What a PATCH may not touch.
const READ_ONLY: [&str; 3] = ["schemas", "id", "meta"];

/// What a PATCH may not remove: Verity needs them.
const REQUIRED: [&str; 3] = ["userName", "displayName", "active"];

const NAME_PARTS: [&str; 6] = [
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
];

const EMAIL_PARTS: [&str; 3] = ["value", "type", "primary"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Where an operation applies.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    attribute: &'static str,
    filter: Vec<(&'static str, Value)>,
    sub: Option<&'static str>,
}

/// Applies the PATCH `body` to `user` (the person's resource as JSON).
pub fn apply(user: &mut Map<String, Value>, body: &Map<String, Value>) -> Result<(), ScimError> {
    if let Some(schemas) = field(body, "schemas") {
        let names_patch = schemas
            .as_array()
            .is_some_and(|schemas| schemas.iter().any(|schema| schema == PATCH_SCHEMA));
        if !names_patch {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must be [\"{PATCH_SCHEMA}\"]"
            )));
        }
    }
    let Some(Value::Array(operations)) = field(body, "Operations") else {
        return Err(ScimError::invalid_syntax("Operations must be a list"));
    };
    for operation in operations {
        let Value::Object(operation) = operation else {
            return Err(ScimError::invalid_syntax(
                "each operation must be an object",
            ));
        };
        let op = match field(operation, "op").and_then(Value::as_str) {
            Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
            Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
            _ => {
                return Err(ScimError::invalid_syntax(
                    "op must be add, replace or remove",
                ));
            }
        };
        let value = field(operation, "value").cloned().unwrap_or(Value::Null);
        match field(operation, "path").and_then(Value::as_str) {
            Some(path) => {
                if let Some(target) = target(path)? {
                    apply_one(user, op, &target, value)?;
                }
            }
            None => apply_without_path(user, op, value)?,
        }
    }
    Ok(())
}

/// Without a path, the value's members name the attributes (Okta's form).
fn apply_without_path(
    user: &mut Map<String, Value>,
    op: Op,
    value: Value,
) -> Result<(), ScimError> {
    if op == Op::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    let Value::Object(members) = value else {
        return Err(ScimError::invalid_value(
            "without a path, the value must be an object of attributes",
        ));
    };
    for (path, value) in members {
        let Some(target) = target(&path)? else {
            continue;
        };
        // A whole resource sent back may carry what cannot change; it is skipped.
        if READ_ONLY.contains(&target.attribute) {
            continue;
        }
        apply_one(user, op, &target, value)?;
    }
    Ok(())
}

/// The target a path names; `None` for an attribute Verity does not keep.
fn target(path: &str) -> Result<Option<Target>, ScimError> {
    let lower = path.trim().to_ascii_lowercase();
    let rest = match lower.strip_prefix(USER_URN) {
        Some(_) => path.trim().get(USER_URN.len()..).unwrap_or_default(),
        None if lower.starts_with("urn:") => return Ok(None),
        None => path.trim(),
    };
    let (attribute, filter, sub) = match rest.split_once('[') {
        Some((attribute, after)) => {
            let (filter, after) = after
                .split_once(']')
                .ok_or_else(|| ScimError::invalid_path(format!("{path:?} has no closing ]")))?;
            let sub = match after {
                "" => None,
                sub => Some(sub.strip_prefix('.').ok_or_else(|| {
                    ScimError::invalid_path(format!("{path:?}: expected .attribute after ]"))
                })?),
            };
            (attribute, Some(filter), sub)
        }
        None => match rest.split_once('.') {
            Some((attribute, sub)) => (attribute, None, Some(sub)),
            None => (rest, None, None),
        },
    };
    let Some(attribute) = canonical(&ATTRIBUTES, attribute) else {
        return Ok(None);
    };
    let parts: &[&'static str] = match attribute {
        "name" => &NAME_PARTS,
        "emails" => &EMAIL_PARTS,
        _ => &[],
    };
    let sub = match sub {
        None => None,
        Some(sub) => Some(canonical(parts, sub).ok_or_else(|| {
            ScimError::invalid_path(format!("{path:?}: {attribute} has no {sub:?}"))
        })?),
    };
    let filter = match filter {
        None => Vec::new(),
        Some(_) if attribute != "emails" => {
            return Err(ScimError::invalid_path(format!(
                "{path:?}: only emails takes a filter"
            )));
        }
        Some(filter) => value_filter(filter, path)?,
    };
    Ok(Some(Target {
        attribute,
        filter,
        sub,
    }))
}

/// `name` spelled as in `names`, in any case.
fn canonical(names: &[&'static str], name: &str) -> Option<&'static str> {
    names
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(name))
}

/// The filter inside `emails[...]`: `sub eq "value"` comparisons joined with `and`.
fn value_filter(filter: &str, path: &str) -> Result<Vec<(&'static str, Value)>, ScimError> {
    let mut pairs = Vec::new();
    let mut rest = filter.trim();
    loop {
        let mut words = rest.splitn(3, ' ');
        let (Some(sub), Some(operator), Some(after)) = (words.next(), words.next(), words.next())
        else {
            return Err(ScimError::invalid_filter(format!(
                "{path:?}: expected attribute eq value in [ ]"
            )));
        };
        let sub = canonical(&EMAIL_PARTS, sub)
            .ok_or_else(|| ScimError::invalid_filter(format!("{path:?}: emails has no {sub:?}")))?;
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(ScimError::invalid_filter(format!(
                "{path:?}: only eq is supported in [ ]"
            )));
        }
        let mut stream = serde_json::Deserializer::from_str(after).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "{path:?}: the value in [ ] must be a quoted string or true/false"
                )));
            }
        };
        pairs.push((sub, value));
        let remaining = after.get(stream.byte_offset()..).unwrap_or_default().trim();
        if remaining.is_empty() {
            return Ok(pairs);
        }
        let lower = remaining.to_ascii_lowercase();
        let Some(next) = lower.strip_prefix("and ") else {
            return Err(ScimError::invalid_filter(format!(
                "{path:?}: only and joins comparisons in [ ]"
            )));
        };
        rest = remaining
            .get(remaining.len() - next.len()..)
            .unwrap_or_default()
            .trim();
    }
}

fn apply_one(
    user: &mut Map<String, Value>,
    op: Op,
    target: &Target,
    value: Value,
) -> Result<(), ScimError> {
    let attribute = target.attribute;
    if READ_ONLY.contains(&attribute) {
        return Err(ScimError::mutability(format!("{attribute} is read-only")));
    }
    let removing = op == Op::Remove || value.is_null();
    if removing && target.sub.is_none() && target.filter.is_empty() && REQUIRED.contains(&attribute)
    {
        return Err(ScimError::mutability(format!(
            "{attribute} is required and cannot be removed"
        )));
    }
    match attribute {
        "emails" => apply_emails(user, op, target, value),
        "name" => {
            apply_complex(user, attribute, op, target.sub, value);
            Ok(())
        }
        _ => {
            if target.sub.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "{attribute} has no sub-attributes"
                )));
            }
            if removing {
                user.remove(attribute);
            } else {
                user.insert(attribute.to_owned(), value);
            }
            Ok(())
        }
    }
}

/// `name`: a sub-attribute, or the whole (whose given members replace the old ones).
fn apply_complex(
    user: &mut Map<String, Value>,
    attribute: &str,
    op: Op,
    sub: Option<&str>,
    value: Value,
) {
    let removing = op == Op::Remove || value.is_null();
    let mut object = match user.remove(attribute) {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    };
    match (sub, value) {
        (Some(sub), _) if removing => {
            object.remove(sub);
        }
        (Some(sub), value) => {
            object.insert(sub.to_owned(), value);
        }
        (None, _) if removing => object.clear(),
        (None, Value::Object(members)) => {
            for (key, value) in members {
                let key = canonical(&NAME_PARTS, &key).map_or(key, str::to_owned);
                object.insert(key, value);
            }
        }
        // Anything else is kept as given, for reading to refuse.
        (None, other) => {
            user.insert(attribute.to_owned(), other);
            return;
        }
    }
    object.retain(|_, value| !value.is_null());
    if !object.is_empty() {
        user.insert(attribute.to_owned(), Value::Object(object));
    }
}

fn matches(item: &Value, filter: &[(&'static str, Value)]) -> bool {
    filter.iter().all(|(sub, wanted)| {
        let found = item.as_object().and_then(|item| field(item, sub));
        match (found, wanted) {
            (Some(Value::String(found)), Value::String(wanted)) => {
                found.eq_ignore_ascii_case(wanted)
            }
            (Some(found), wanted) => found == wanted,
            (None, _) => false,
        }
    })
}

fn apply_emails(
    user: &mut Map<String, Value>,
    op: Op,
    target: &Target,
    value: Value,
) -> Result<(), ScimError> {
    let removing = op == Op::Remove || value.is_null();
    let mut items = match user.remove("emails") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let filtered = !target.filter.is_empty();
    match (target.sub, filtered) {
        // The whole list, or the items a filter picks.
        (None, false) if removing => items.clear(),
        (None, false) => {
            let new = match value {
                Value::Array(new) => new,
                other => vec![other],
            };
            if op == Op::Replace {
                items = new;
            } else {
                items.extend(new);
            }
        }
        (None, true) if removing => items.retain(|item| !matches(item, &target.filter)),
        (None, true) => {
            let Value::Object(members) = value else {
                return Err(ScimError::invalid_value("an email must be an object"));
            };
            let mut found = false;
            for item in items
                .iter_mut()
                .filter(|item| matches(item, &target.filter))
            {
                found = true;
                if let Value::Object(item) = item {
                    item.extend(members.clone());
                }
            }
            if !found {
                items.push(new_item(&target.filter, None, Value::Object(members)));
            }
        }
        // One sub-attribute, of every item or of those a filter picks.
        (Some(sub), _) => {
            let mut found = false;
            for item in items
                .iter_mut()
                .filter(|item| matches(item, &target.filter))
            {
                found = true;
                if let Value::Object(item) = item {
                    if removing {
                        item.remove(sub);
                    } else {
                        item.insert(sub.to_owned(), value.clone());
                    }
                }
            }
            if !found && !removing && filtered {
                items.push(new_item(&target.filter, Some(sub), value));
            }
        }
    }
    if !items.is_empty() {
        user.insert("emails".into(), Value::Array(items));
    }
    Ok(())
}

/// The item a filter names, made when an add or replace finds none (Entra ID sets
/// `emails[type eq "work"].value` on people who have no such address yet).
fn new_item(filter: &[(&'static str, Value)], sub: Option<&str>, value: Value) -> Value {
    let mut item: Map<String, Value> = filter
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    match (sub, value) {
        (Some(sub), value) => {
            item.insert(sub.to_owned(), value);
        }
        (None, Value::Object(members)) => item.extend(members),
        (None, _) => {}
    }
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ada() -> Map<String, Value> {
        match json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
            "userName": "ada@example.org", "displayName": "Ada", "active": true,
            "externalId": "00u1", "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@work.example", "type": "work", "primary": true}],
        }) {
            Value::Object(user) => user,
            _ => unreachable!(),
        }
    }

    fn patch(user: &mut Map<String, Value>, operations: Value) -> Result<(), ScimError> {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        apply(user, body.as_object().unwrap())
    }

    #[test]
    fn okta_sends_the_attributes_as_the_value_without_a_path() {
        let mut user = ada();
        patch(
            &mut user,
            json!([{"op": "replace", "value": {"active": false, "id": "x"}}]),
        )
        .unwrap();
        assert_eq!(user["active"], false);
        assert_eq!(user["id"], "1", "read-only members are skipped");
    }

    #[test]
    fn entra_sends_capitalised_ops_string_values_and_filtered_email_paths() {
        let mut user = ada();
        patch(
            &mut user,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"},
                {"op": "Replace", "path": "name.familyName", "value": "King"},
                {"op": "Remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User:externalId"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
            ]),
        )
        .unwrap();
        assert_eq!(user["active"], "False");
        assert_eq!(
            user["emails"][1],
            json!({"type": "home", "value": "ada@home.example"})
        );
        assert_eq!(
            user["name"],
            json!({"givenName": "Ada", "familyName": "King"})
        );
        assert!(!user.contains_key("externalId"));
    }

    #[test]
    fn removing_leaves_optional_attributes_unassigned_and_refuses_required_ones() {
        let mut user = ada();
        patch(
            &mut user,
            json!([
                {"op": "remove", "path": "name.givenName"},
                {"op": "remove", "path": "name.familyName"},
                {"op": "remove", "path": "emails[type eq \"work\"]"},
            ]),
        )
        .unwrap();
        assert!(!user.contains_key("name"));
        assert!(!user.contains_key("emails"));
        for path in ["userName", "displayName", "active", "id", "meta"] {
            let error = patch(&mut ada(), json!([{"op": "remove", "path": path}])).unwrap_err();
            assert_eq!(error.scim_type, Some("mutability"), "{path}");
        }
    }

    #[test]
    fn malformed_operations_and_paths_say_what_is_wrong() {
        for (operations, scim_type) in [
            (json!([{"op": "move", "path": "active"}]), "invalidSyntax"),
            (json!({"op": "add"}), "invalidSyntax"),
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "add", "value": "x"}]), "invalidValue"),
            (
                json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "name.nickname", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "emails[type co \"w\"].value", "value": "x"}]),
                "invalidFilter",
            ),
            (
                json!([{"op": "add", "path": "displayName.first", "value": "x"}]),
                "invalidPath",
            ),
        ] {
            let error = patch(&mut ada(), operations.clone()).unwrap_err();
            assert_eq!(error.scim_type, Some(scim_type), "{operations}");
        }
    }
}
