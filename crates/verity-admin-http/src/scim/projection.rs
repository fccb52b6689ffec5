//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a
//! resource an answer carries. Names are case-insensitive, may carry the User schema's
//! URN, and may name a sub-attribute (`name.givenName`, `emails.value`). `schemas` and
//! `id` are always returned.

use serde_json::{Map, Value};

use super::resource::USER_SCHEMA;

/// The attributes always returned.
const ALWAYS: [&str; 2] = ["schemas", "id"];

/// One attribute named in `attributes` or `excludedAttributes`, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    attribute: String,
    sub_attribute: Option<String>,
}

/// Which attributes an answer carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    only: Vec<Named>,
    except: Vec<Named>,
}

impl Selection {
    /// From the query parameters (either may be absent or empty).
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self {
            only: names(attributes),
            except: names(excluded),
        }
    }

    /// `resource` with only the selected attributes.
    pub fn apply(&self, resource: Map<String, Value>) -> Map<String, Value> {
        let mut kept = if self.only.is_empty() {
            resource
        } else {
            resource
                .into_iter()
                .filter_map(|(key, value)| {
                    if ALWAYS.contains(&key.as_str()) {
                        return Some((key, value));
                    }
                    let lower = key.to_ascii_lowercase();
                    let wanted: Vec<&Named> = self
                        .only
                        .iter()
                        .filter(|named| named.attribute == lower)
                        .collect();
                    if wanted.is_empty() {
                        None
                    } else if wanted.iter().any(|named| named.sub_attribute.is_none()) {
                        Some((key, value))
                    } else {
                        let subs: Vec<&str> = wanted
                            .iter()
                            .filter_map(|named| named.sub_attribute.as_deref())
                            .collect();
                        Some((key, keep_subs(value, &subs)))
                    }
                })
                .collect()
        };
        for named in &self.except {
            let Some(key) = kept
                .keys()
                .find(|key| key.eq_ignore_ascii_case(&named.attribute))
                .cloned()
            else {
                continue;
            };
            if ALWAYS.contains(&key.as_str()) {
                continue;
            }
            match &named.sub_attribute {
                None => {
                    kept.remove(&key);
                }
                Some(sub) => {
                    if let Some(value) = kept.get_mut(&key) {
                        drop_sub(value, sub);
                    }
                }
            }
        }
        kept
    }
}

fn names(list: Option<&str>) -> Vec<Named> {
    let urn = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    list.unwrap_or_default()
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .map(|name| {
            let name = name.strip_prefix(&urn).map_or(name.clone(), str::to_owned);
            match name.split_once('.') {
                Some((attribute, sub)) => Named {
                    attribute: attribute.to_owned(),
                    sub_attribute: Some(sub.to_owned()),
                },
                None => Named {
                    attribute: name,
                    sub_attribute: None,
                },
            }
        })
        .collect()
}

/// A complex value (or each of a multi-valued one) with only `subs`.
fn keep_subs(value: Value, subs: &[&str]) -> Value {
    let keep = |object: Map<String, Value>| -> Value {
        Value::Object(
            object
                .into_iter()
                .filter(|(key, _)| subs.iter().any(|sub| key.eq_ignore_ascii_case(sub)))
                .collect(),
        )
    };
    match value {
        Value::Object(object) => keep(object),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => keep(object),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// Removes `sub` from a complex value (or from each of a multi-valued one).
fn drop_sub(value: &mut Value, sub: &str) {
    let drop =
        |object: &mut Map<String, Value>| object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
    match value {
        Value::Object(object) => drop(object),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(drop),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ada() -> Map<String, Value> {
        match json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "ada@example.org",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@home.example", "type": "home"}],
            "active": true, "meta": {"version": "W/\"3\""},
        }) {
            Value::Object(object) => object,
            _ => unreachable!(),
        }
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_always_schemas_and_id() {
        let selected =
            Selection::new(Some("USERNAME, name.givenName,emails.value"), None).apply(ada());
        assert_eq!(
            Value::Object(selected),
            json!({
                "schemas": [USER_SCHEMA], "id": "1", "userName": "ada@example.org",
                "name": {"givenName": "Ada"}, "emails": [{"value": "a@home.example"}],
            })
        );
        let urn = format!("{USER_SCHEMA}:active");
        let selected = Selection::new(Some(&urn), None).apply(ada());
        let mut keys: Vec<&String> = selected.keys().collect();
        keys.sort();
        assert_eq!(keys, ["active", "id", "schemas"]);
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_schemas_or_id() {
        let selected = Selection::new(None, Some("emails,name.familyName,id,meta")).apply(ada());
        assert_eq!(
            Value::Object(selected),
            json!({
                "schemas": [USER_SCHEMA], "id": "1", "userName": "ada@example.org",
                "name": {"givenName": "Ada"}, "active": true,
            })
        );
        assert_eq!(Selection::new(Some(""), Some(" ")).apply(ada()), ada());
    }
}
