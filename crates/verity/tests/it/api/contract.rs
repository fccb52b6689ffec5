//! The admin API's answers checked against its own OpenAPI document: every answer of
//! every test is found in the document (its path, method and status), its media type is
//! one the operation declares, and its body is validated against the declared schema.
//!
//! The validator covers the JSON Schema 2020-12 keywords the generated document uses
//! (`$ref`, `type` with `null`, `enum`, `properties`, `required`, `additionalProperties`,
//! `items`, `oneOf`/`anyOf`/`allOf`, `minimum`/`maximum`, the `uuid` and `date-time`
//! formats) and refuses any other keyword, so a schema it does not understand fails the
//! test instead of passing unchecked. It is stricter than JSON Schema in one way: an
//! object schema that lists its properties admits no others, so an answer cannot carry a
//! field the document does not describe. (A validator crate would bring a second version
//! of `getrandom` into the tree; this one is small and tested below.)

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// Keywords that only describe.
const ANNOTATIONS: [&str; 8] = [
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The document, and which operations the answers checked so far belonged to.
pub struct Contract {
    document: Value,
    seen: Mutex<BTreeSet<(String, String)>>,
}

impl Contract {
    pub fn new(document: Value) -> Self {
        assert_eq!(document["openapi"], "3.1.0", "an OpenAPI 3.1 document");
        Self {
            document,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Every operation of the document, as (METHOD, path template).
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        for (template, item) in self.document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                operations.insert((method.to_uppercase(), template.clone()));
            }
        }
        operations
    }

    /// The operations answers were checked for.
    pub fn seen(&self) -> BTreeSet<(String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// The path template of the document that `path` (without its query) falls under:
    /// the one with the most literal segments among those that match.
    pub fn template(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()?
            .keys()
            .filter_map(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') && part.ends_with('}') {
                        if segment.is_empty() {
                            return None;
                        }
                    } else if part == segment {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, template.clone()))
            })
            .max()
            .map(|(_, template)| template)
    }

    /// Checks one answer of `method path` against its operation.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<(), String> {
        let template = self
            .template(path)
            .ok_or_else(|| format!("{path} is no path of the document"))?;
        let operation = &self.document["paths"][&template][method.to_lowercase()];
        if operation.is_null() {
            return Err(format!(
                "{method} {template} is no operation of the document"
            ));
        }
        self.seen
            .lock()
            .unwrap()
            .insert((method.to_uppercase(), template.clone()));
        let responses = &operation["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("{method} {template} does not document status {status}"))?;
        let response = self.resolve(response)?;
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{method} {template} {status} documents no body, got {body}"
                ))
            };
        };
        let media = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .ok_or_else(|| format!("{method} {template} {status} has no Content-Type"))?;
        let declared = content.get(media).ok_or_else(|| {
            format!(
                "{method} {template} {status} answered {media}, the document says {:?}",
                content.keys().collect::<Vec<_>>()
            )
        })?;
        let value: Value = serde_json::from_str(body)
            .map_err(|error| format!("{method} {template} {status}: not JSON ({error}): {body}"))?;
        let schema = declared.get("schema").unwrap_or(&Value::Bool(true));
        self.validate(schema, &value, "$")
            .map_err(|why| format!("{method} {template} {status}: {why}\n{body}"))
    }

    /// `node` itself, or what its `$ref` points to in this document.
    fn resolve<'a>(&'a self, node: &'a Value) -> Result<&'a Value, String> {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => self.target(reference),
            None => Ok(node),
        }
    }

    /// What `reference` points to in this document.
    fn target(&self, reference: &str) -> Result<&Value, String> {
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("a reference outside the document: {reference}"))?;
        self.document
            .pointer(pointer)
            .ok_or_else(|| format!("a dangling reference: {reference}"))
    }

    /// Validates `value` at `at` against `schema`.
    pub fn validate(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(format!("{at}: nothing is allowed here")),
            Value::Object(schema) => schema,
            other => return Err(format!("{at}: a schema that is not one: {other}")),
        };
        for (keyword, argument) in schema {
            match keyword.as_str() {
                "$ref" => {
                    let reference = argument.as_str().unwrap_or_default();
                    self.validate(self.target(reference)?, value, at)?;
                }
                "type" => check_type(argument, value, at)?,
                "enum" => {
                    let allowed = argument.as_array().cloned().unwrap_or_default();
                    if !allowed.contains(value) {
                        return Err(format!("{at}: {value} is not one of {argument}"));
                    }
                }
                "format" => check_format(argument.as_str().unwrap_or_default(), value, at)?,
                // Checked together below.
                "properties" | "required" | "additionalProperties" => {}
                "items" => {
                    if let Some(items) = value.as_array() {
                        for (index, item) in items.iter().enumerate() {
                            self.validate(argument, item, &format!("{at}[{index}]"))?;
                        }
                    }
                }
                "minimum" | "maximum" => check_bound(keyword, argument, value, at)?,
                "allOf" => {
                    for part in argument.as_array().into_iter().flatten() {
                        self.validate(part, value, at)?;
                    }
                }
                "anyOf" | "oneOf" => {
                    let matching = argument
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|part| self.validate(part, value, at).is_ok())
                        .count();
                    let fits = if keyword == "oneOf" {
                        matching == 1
                    } else {
                        matching >= 1
                    };
                    if !fits {
                        return Err(format!("{at}: {value} fits {matching} of {keyword}"));
                    }
                }
                annotation if ANNOTATIONS.contains(&annotation) => {}
                unknown => return Err(format!("{at}: the checker does not know {unknown:?}")),
            }
        }
        let describes_fields = ["properties", "required", "additionalProperties"]
            .iter()
            .any(|keyword| schema.contains_key(*keyword));
        if value.is_object() && describes_fields {
            self.check_object(schema, value, at)?;
        }
        Ok(())
    }

    fn check_object(
        &self,
        schema: &Map<String, Value>,
        value: &Value,
        at: &str,
    ) -> Result<(), String> {
        let object = value.as_object().unwrap();
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                return Err(format!("{at}: the required {name:?} is missing"));
            }
        }
        for (name, field) in object {
            let place = format!("{at}.{name}");
            match (
                properties.and_then(|properties| properties.get(name)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => self.validate(property, field, &place)?,
                (None, Some(additional)) => self.validate(additional, field, &place)?,
                (None, None) if properties.is_some() => {
                    return Err(format!("{place}: a field the document does not describe"));
                }
                (None, None) => {}
            }
        }
        Ok(())
    }
}

fn check_type(argument: &Value, value: &Value, at: &str) -> Result<(), String> {
    let types: Vec<&str> = match argument {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        other => return Err(format!("{at}: a type that is not one: {other}")),
    };
    let fits = types.iter().any(|kind| match *kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    });
    if fits {
        Ok(())
    } else {
        Err(format!("{at}: {value} is not of type {argument}"))
    }
}

fn check_format(format: &str, value: &Value, at: &str) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let fits = match format {
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        // Other formats annotate (JSON Schema 2020-12 7.2).
        _ => true,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{at}: {text:?} is not a {format}"))
    }
}

fn check_bound(keyword: &str, argument: &Value, value: &Value, at: &str) -> Result<(), String> {
    let (Some(bound), Some(number)) = (argument.as_f64(), value.as_f64()) else {
        return Ok(());
    };
    let fits = if keyword == "minimum" {
        number >= bound
    } else {
        number <= bound
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{at}: {number} is beyond the {keyword} {bound}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn contract() -> Contract {
        Contract::new(json!({
            "openapi": "3.1.0",
            "paths": {
                "/things/{id}": {
                    "get": {"responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "204": {"description": "nothing"},
                    }},
                },
                "/things/special": {"get": {"responses": {"200": {"description": "ok"}}}},
            },
            "components": {"schemas": {"Thing": {
                "type": "object",
                "required": ["id", "kind"],
                "properties": {
                    "id": {"type": "string", "format": "uuid", "description": "its id"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "at": {"type": ["string", "null"], "format": "date-time"},
                    "count": {"type": "integer", "minimum": 0},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }}},
        }))
    }

    const ID: &str = "0b7d3c8e-3b54-4a4c-9d1e-1f1c1e0c2d4a";

    fn thing(value: Value) -> Result<(), String> {
        contract().check(
            "GET",
            "/things/x",
            200,
            Some("application/json"),
            &value.to_string(),
        )
    }

    #[test]
    fn an_answer_that_fits_its_schema_passes() {
        thing(json!({"id": ID, "kind": "a", "at": null, "count": 3, "tags": ["x"]})).unwrap();
        thing(json!({"id": ID, "kind": "b", "at": "2026-01-02T03:04:05Z"})).unwrap();
    }

    #[test]
    fn an_answer_that_does_not_fit_fails_with_where_and_why() {
        let refused = [
            (json!({"kind": "a"}), "required \"id\""),
            (json!({"id": "nope", "kind": "a"}), "not a uuid"),
            (json!({"id": ID, "kind": "c"}), "not one of"),
            (
                json!({"id": ID, "kind": "a", "at": "yesterday"}),
                "not a date-time",
            ),
            (json!({"id": ID, "kind": "a", "count": -1}), "minimum"),
            (json!({"id": ID, "kind": "a", "count": 1.5}), "not of type"),
            (json!({"id": ID, "kind": "a", "tags": [1]}), "$.tags[0]"),
            (
                json!({"id": ID, "kind": "a", "secret": "x"}),
                "does not describe",
            ),
            (json!([]), "not of type"),
        ];
        for (value, why) in refused {
            let error = thing(value.clone()).unwrap_err();
            assert!(error.contains(why), "{value}: {error}");
        }
    }

    #[test]
    fn statuses_media_types_and_paths_must_be_documented() {
        let contract = contract();
        let body = json!({"id": ID, "kind": "a"}).to_string();
        assert!(
            contract
                .check("GET", "/things/x", 404, Some("application/json"), &body)
                .unwrap_err()
                .contains("does not document status 404")
        );
        assert!(
            contract
                .check("GET", "/things/x", 200, Some("text/html"), &body)
                .unwrap_err()
                .contains("text/html")
        );
        assert!(
            contract
                .check("POST", "/things/x", 200, Some("application/json"), &body)
                .unwrap_err()
                .contains("no operation")
        );
        assert!(
            contract
                .check("GET", "/nothing", 200, None, "")
                .unwrap_err()
                .contains("no path")
        );
        assert!(
            contract
                .check("GET", "/things/x", 204, None, "{}")
                .unwrap_err()
                .contains("documents no body")
        );
        contract.check("GET", "/things/x", 204, None, "").unwrap();
        assert_eq!(
            contract.template("/things/special").unwrap(),
            "/things/special"
        );
        assert_eq!(contract.template("/things/other").unwrap(), "/things/{id}");
    }

    #[test]
    fn a_keyword_the_checker_does_not_know_fails_instead_of_passing() {
        let schema = json!({"type": "string", "pattern": "^a"});
        let error = contract().validate(&schema, &json!("b"), "$").unwrap_err();
        assert!(error.contains("pattern"), "{error}");
    }
}
