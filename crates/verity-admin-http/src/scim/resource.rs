//! A person as a SCIM User resource (RFC 7643 §4.1) and back: [`user_json`] renders the
//! admin layer's [`Person`], [`read_user`] reads a posted or patched User into a
//! [`ProvisionedPerson`]. Attribute names are case-insensitive; attributes Verity does
//! not keep (`password`, `phoneNumbers`, extensions...) are ignored; a value of the wrong
//! shape for one it keeps is `invalidValue`.

use serde_json::{Map, Value, json};
use verity_admin::Person;
use verity_admin::people::Status;
use verity_admin::provisioning::ProvisionedPerson;
use verity_domain::Email;
use verity_domain::user::{Directory, NameParts, OtherEmail};

use super::error::ScimError;

/// The User schema's URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The schema of list answers.
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A list answer: `total` in all, these `resources` from `start_index`.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `meta.version` of a person: a weak ETag of their record's version.
pub fn etag(person: &Person) -> String {
    format!("W/\"{}\"", person.version)
}

/// Where a person lives.
pub fn location(base: &str, person: &Person) -> String {
    format!("{base}/Users/{}", person.user_id)
}

/// The person as a User resource.
pub fn user_json(person: &Person, base: &str) -> Map<String, Value> {
    let directory = &person.directory;
    let mut user = Map::new();
    user.insert("schemas".into(), json!([USER_SCHEMA]));
    user.insert("id".into(), person.user_id.to_string().into());
    if let Some(external_id) = &directory.external_id {
        user.insert("externalId".into(), external_id.clone().into());
    }
    user.insert("userName".into(), person.email.as_str().into());
    let name = name_json(&directory.name);
    if !name.is_empty() {
        user.insert("name".into(), Value::Object(name));
    }
    user.insert("displayName".into(), person.name.clone().into());
    user.insert("active".into(), (person.status == Status::Active).into());
    if !directory.emails.is_empty() {
        let emails = directory.emails.iter().map(|email| {
            let mut item = Map::new();
            item.insert("value".into(), email.value.as_str().into());
            if let Some(kind) = &email.kind {
                item.insert("type".into(), kind.clone().into());
            }
            item.insert("primary".into(), email.primary.into());
            Value::Object(item)
        });
        user.insert("emails".into(), emails.collect());
    }
    user.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": person.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": person.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": location(base, person),
            "version": etag(person),
        }),
    );
    user
}

/// The SCIM names of the name parts, with their fields.
fn name_parts(name: &NameParts) -> [(&'static str, &Option<String>); 6] {
    [
        ("formatted", &name.formatted),
        ("familyName", &name.family_name),
        ("givenName", &name.given_name),
        ("middleName", &name.middle_name),
        ("honorificPrefix", &name.honorific_prefix),
        ("honorificSuffix", &name.honorific_suffix),
    ]
}

fn name_json(name: &NameParts) -> Map<String, Value> {
    name_parts(name)
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), Value::from(value.clone()?))))
        .collect()
}

/// The value of `key` in `object`, in any case.
pub fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

/// Reads a User resource.
pub fn read_user(user: &Map<String, Value>) -> Result<ProvisionedPerson, ScimError> {
    if let Some(schemas) = field(user, "schemas") {
        let names_user = schemas
            .as_array()
            .is_some_and(|schemas| schemas.iter().any(|schema| schema == USER_SCHEMA));
        if !names_user {
            return Err(ScimError::invalid_value(format!(
                "schemas must include {USER_SCHEMA}"
            )));
        }
    }
    let email = match field(user, "userName") {
        Some(Value::String(user_name)) => user_name.clone(),
        Some(_) => return Err(ScimError::invalid_value("userName must be a string")),
        None => {
            return Err(ScimError::invalid_value(
                "userName (the person's sign-in address) is required",
            ));
        }
    };
    let name = optional_text(user, "displayName")?;
    let active = match field(user, "active") {
        None => None,
        Some(value) => Some(
            boolean(value)
                .ok_or_else(|| ScimError::invalid_value("active must be true or false"))?,
        ),
    };
    let directory = Directory {
        external_id: optional_text(user, "externalId")?,
        name: read_name(field(user, "name"))?,
        emails: read_emails(field(user, "emails"))?,
    };
    Ok(ProvisionedPerson {
        email,
        name,
        directory,
        active,
    })
}

/// A boolean, also as the strings some identity systems send (`"False"`).
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(value) => Some(*value),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn optional_text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ScimError::invalid_value(format!("{key} must be a string"))),
    }
}

fn read_name(name: Option<&Value>) -> Result<NameParts, ScimError> {
    let Some(name) = name else {
        return Ok(NameParts::default());
    };
    let Value::Object(name) = name else {
        return Err(ScimError::invalid_value("name must be an object"));
    };
    let part = |key: &str| {
        optional_text(name, key)
            .map_err(|_| ScimError::invalid_value(format!("name.{key} must be a string")))
    };
    Ok(NameParts {
        formatted: part("formatted")?,
        family_name: part("familyName")?,
        given_name: part("givenName")?,
        middle_name: part("middleName")?,
        honorific_prefix: part("honorificPrefix")?,
        honorific_suffix: part("honorificSuffix")?,
    })
}

fn read_emails(emails: Option<&Value>) -> Result<Vec<OtherEmail>, ScimError> {
    let Some(emails) = emails else {
        return Ok(Vec::new());
    };
    let Value::Array(emails) = emails else {
        return Err(ScimError::invalid_value("emails must be a list"));
    };
    let mut read: Vec<OtherEmail> = Vec::with_capacity(emails.len());
    for email in emails {
        let Value::Object(email) = email else {
            return Err(ScimError::invalid_value("each of emails must be an object"));
        };
        let value = match field(email, "value") {
            Some(Value::String(value)) => Email::parse(value).map_err(|error| {
                ScimError::invalid_value(format!("emails: {value:?} is not an address: {error}"))
            })?,
            _ => return Err(ScimError::invalid_value("each of emails needs a value")),
        };
        let kind = optional_text(email, "type")?;
        let primary = match field(email, "primary") {
            None => false,
            Some(primary) => boolean(primary)
                .ok_or_else(|| ScimError::invalid_value("emails.primary must be true or false"))?,
        };
        if !read.iter().any(|known| known.value == value) {
            read.push(OtherEmail {
                value,
                kind,
                primary,
            });
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(object) => object,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn a_user_is_read_in_any_case_and_unknown_attributes_are_ignored() {
        let read = read_user(&object(json!({
            "schemas": [USER_SCHEMA], "USERNAME": "Ada@Example.org", "displayname": "Ada",
            "name": {"GivenName": "Ada", "familyName": null}, "active": "False",
            "emails": [{"value": "ada@home.example", "type": "home", "primary": true},
                       {"value": "ADA@home.example"}],
            "password": "ignored", "phoneNumbers": [{"value": "1"}],
        })))
        .unwrap();
        assert_eq!(read.email, "Ada@Example.org");
        assert_eq!(read.name.as_deref(), Some("Ada"));
        assert_eq!(read.active, Some(false));
        assert_eq!(read.directory.name.given_name.as_deref(), Some("Ada"));
        assert_eq!(read.directory.name.family_name, None);
        assert_eq!(read.directory.emails.len(), 1, "the same address once");
    }

    #[test]
    fn values_of_the_wrong_shape_are_invalid_values() {
        for (user, says) in [
            (json!({}), "userName"),
            (json!({"userName": 7}), "userName must be a string"),
            (json!({"userName": "a@b.c", "active": "yes"}), "active"),
            (
                json!({"userName": "a@b.c", "name": "Ada"}),
                "name must be an object",
            ),
            (
                json!({"userName": "a@b.c", "emails": [{"value": "nope"}]}),
                "not an address",
            ),
            (
                json!({"userName": "a@b.c", "emails": {"value": "a@b.c"}}),
                "must be a list",
            ),
            (
                json!({"userName": "a@b.c", "schemas": ["urn:x"]}),
                "schemas must include",
            ),
        ] {
            let error = read_user(&object(user)).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidValue"));
            assert!(error.detail.contains(says), "{}", error.detail);
        }
    }
}
