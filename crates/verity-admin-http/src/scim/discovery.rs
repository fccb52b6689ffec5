//! What Verity's SCIM service offers (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`. The User schema lists exactly the attributes Verity
//! keeps, with the characteristics it enforces: `userName`, `displayName` and `active`
//! are required (a person always has a sign-in address, a name and a status; a create
//! that leaves out the last two gets defaults, see docs/scim.md), everything else may be
//! removed. Only `GET` is allowed here; any other method is 405.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::caller::Scim;
use super::error::ScimError;
use super::json::scim_json;
use super::resource::{USER_SCHEMA, list_response};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list answers with (`count` above it is lowered).
pub const MAX_RESULTS: usize = 200;

/// `GET /scim/v2/ServiceProviderConfig`.
pub async fn service_provider_config(scim: Scim) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "An organization's SCIM token from `verity scim token create`, as Authorization: Bearer.",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", scim.base),
            },
        }),
    )
}

/// `GET /scim/v2/ResourceTypes`.
pub async fn resource_types(scim: Scim) -> Response {
    let types = vec![user_resource_type(&scim.base)];
    scim_json(StatusCode::OK, &list_response(types.len(), 1, types))
}

/// `GET /scim/v2/ResourceTypes/{id}`.
pub async fn resource_type(scim: Scim, Path(id): Path<String>) -> Result<Response, ScimError> {
    if id == "User" {
        Ok(scim_json(StatusCode::OK, &user_resource_type(&scim.base)))
    } else {
        Err(ScimError::not_found(format!(
            "no resource type {id:?}: User only"
        )))
    }
}

/// `GET /scim/v2/Schemas`.
pub async fn schemas(scim: Scim) -> Response {
    let all = all_schemas(&scim.base);
    scim_json(StatusCode::OK, &list_response(all.len(), 1, all))
}

/// `GET /scim/v2/Schemas/{urn}`.
pub async fn schema(scim: Scim, Path(id): Path<String>) -> Result<Response, ScimError> {
    all_schemas(&scim.base)
        .into_iter()
        .find(|schema| schema["id"] == id.as_str())
        .map(|schema| scim_json(StatusCode::OK, &schema))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "The people of the token's organization",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

/// One attribute's definition.
struct Attribute {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    uniqueness: &'static str,
    sub_attributes: Vec<Attribute>,
}

impl Attribute {
    fn new(name: &'static str, kind: &'static str) -> Self {
        Self {
            name,
            kind,
            multi: false,
            required: false,
            case_exact: false,
            mutability: "readWrite",
            uniqueness: "none",
            sub_attributes: Vec::new(),
        }
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn read_only(mut self) -> Self {
        self.mutability = "readOnly";
        self
    }

    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }

    fn with(mut self, sub_attributes: Vec<Attribute>) -> Self {
        self.sub_attributes = sub_attributes;
        self
    }

    fn json(&self) -> Value {
        let mut value = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": "default",
            "uniqueness": self.uniqueness,
        });
        if let (false, Value::Object(object)) = (self.sub_attributes.is_empty(), &mut value) {
            object.insert(
                "subAttributes".into(),
                self.sub_attributes.iter().map(Attribute::json).collect(),
            );
        }
        value
    }
}

fn schema_json(
    base: &str,
    id: &str,
    name: &str,
    description: &str,
    attributes: &[Attribute],
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Attribute::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

fn all_schemas(base: &str) -> Vec<Value> {
    let text = |name| Attribute::new(name, "string");
    let mut user_name = text("userName").required();
    user_name.uniqueness = "server";
    let user = [
        user_name,
        Attribute::new("name", "complex").with(vec![
            Attribute::new("formatted", "string"),
            Attribute::new("familyName", "string"),
            Attribute::new("givenName", "string"),
            Attribute::new("middleName", "string"),
            Attribute::new("honorificPrefix", "string"),
            Attribute::new("honorificSuffix", "string"),
        ]),
        text("displayName").required(),
        Attribute::new("active", "boolean").required(),
        Attribute::new("emails", "complex").multi().with(vec![
            Attribute::new("value", "string"),
            Attribute::new("type", "string"),
            Attribute::new("primary", "boolean"),
        ]),
    ];
    let read_only = |name, kind| Attribute::new(name, kind).read_only();
    let config = [
        read_only("documentationUri", "reference"),
        read_only("patch", "complex").required(),
        read_only("bulk", "complex").required(),
        read_only("filter", "complex").required(),
        read_only("changePassword", "complex").required(),
        read_only("sort", "complex").required(),
        read_only("etag", "complex").required(),
        read_only("authenticationSchemes", "complex")
            .multi()
            .required(),
    ];
    let resource_type = [
        read_only("id", "string"),
        read_only("name", "string").required(),
        read_only("description", "string"),
        read_only("endpoint", "reference").required(),
        read_only("schema", "reference").required(),
        read_only("schemaExtensions", "complex").multi(),
    ];
    let schema = [
        read_only("id", "string").required(),
        read_only("name", "string"),
        read_only("description", "string"),
        read_only("attributes", "complex").multi().required(),
    ];
    vec![
        schema_json(
            base,
            USER_SCHEMA,
            "User",
            "A person of the organization",
            &user,
        ),
        schema_json(
            base,
            SPC_SCHEMA,
            "ServiceProviderConfig",
            "What the service offers",
            &config,
        ),
        schema_json(
            base,
            RESOURCE_TYPE_SCHEMA,
            "ResourceType",
            "A kind of resource",
            &resource_type,
        ),
        schema_json(
            base,
            SCHEMA_SCHEMA,
            "Schema",
            "A resource's attributes",
            &schema,
        ),
    ]
}
