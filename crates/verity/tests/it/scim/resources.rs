//! The User resource over SCIM: creation with `Location` and `meta`, versions that change
//! with every change (and only then), filters, paging, `count=0`, `attributes` and
//! `excludedAttributes` on every read, PATCH with and without a path.

use serde_json::{Value, json};

use super::{SCIM_JSON, Scim, patch_op, user};

#[tokio::test]
async fn creating_a_person_answers_201_with_their_location_and_version_and_sends_the_email() {
    let scim = Scim::start().await;
    let answer = scim
        .post(
            "/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "Grace@Example.org",
                "externalId": "00u1okta",
                "name": {"givenName": "Grace", "familyName": "Hopper"},
                "emails": [{"value": "grace@home.example", "type": "home"}],
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.json);
    assert_eq!(answer.header("content-type").as_deref(), Some(SCIM_JSON));
    let created = &answer.json;
    let id = created["id"].as_str().unwrap();
    let location = created["meta"]["location"].as_str().unwrap();
    assert_eq!(answer.header("location").as_deref(), Some(location));
    assert_eq!(location, format!("{}/Users/{id}", scim.url));
    assert_eq!(
        answer.header("etag").as_deref(),
        created["meta"]["version"].as_str()
    );
    assert_eq!(created["meta"]["resourceType"], "User");
    // The address is kept as the person's sign-in address; without a displayName the
    // name parts name them; a person is active unless told otherwise.
    assert_eq!(created["userName"], "grace@example.org");
    assert_eq!(created["displayName"], "Grace Hopper");
    assert_eq!(created["active"], true);
    assert_eq!(created["externalId"], "00u1okta");
    assert_eq!(created["emails"][0]["value"], "grace@home.example");

    // Reading it gives the same resource.
    let read = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(&read.json, created);

    // The temporary-password email went out, as from the console; the event names the
    // SCIM token and the address it came from.
    let person = scim.invited("grace@example.org");
    assert!(!person.password.is_empty());
    let events = scim.provider.events("user.created");
    let event = events.last().unwrap();
    assert_eq!(event["metadata"]["actor"]["kind"], "scim_token", "{event}");
    assert!(
        event["metadata"]["actor"]["token_id"].is_string(),
        "{event}"
    );
    assert_eq!(event["metadata"]["client_ip"], "127.0.0.1", "{event}");
    assert!(!event.to_string().contains(&person.password));
}

#[tokio::test]
async fn meta_version_changes_with_every_change_and_only_then() {
    let scim = Scim::start().await;
    let created = scim.create(&user("ada@example.org", "Ada")).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let version = |user: &Value| user["meta"]["version"].as_str().unwrap().to_owned();
    let mut seen = vec![version(&created)];

    let renamed = scim
        .patch(
            &path,
            &patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada L."}])),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.json);
    assert_eq!(renamed.json["displayName"], "Ada L.");
    seen.push(version(&renamed.json));

    let mut whole = renamed.json.clone();
    whole["externalId"] = json!("e-1");
    let replaced = scim.put(&path, &whole).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.json);
    seen.push(version(&replaced.json));
    assert_eq!(
        replaced.header("etag").as_deref(),
        Some(seen.last().unwrap().as_str())
    );

    // The same content again writes nothing and keeps the version.
    let events = scim.event_count();
    let same = scim.put(&path, &replaced.json).await;
    assert_eq!(same.status, 200);
    assert_eq!(version(&same.json), *seen.last().unwrap());
    assert_eq!(scim.event_count(), events);

    seen.dedup();
    assert_eq!(seen.len(), 3, "every change a new version: {seen:?}");

    // If-Match with an old version is refused (412), and changes nothing.
    let stale = scim
        .answer(
            crate::provider::http_client()
                .patch(format!("{}{path}", scim.url))
                .bearer_auth(&scim.token)
                .header("content-type", SCIM_JSON)
                .header("if-match", seen[0].as_str())
                .body(
                    patch_op(json!([{"op": "replace", "path": "active", "value": false}]))
                        .to_string(),
                ),
        )
        .await;
    stale.assert_error(412, None);
    assert_eq!(scim.get(&path).await.json["active"], true);
}

#[tokio::test]
async fn patch_works_with_and_without_a_path_and_remove_leaves_an_attribute_unassigned() {
    let scim = Scim::start().await;
    let created = scim
        .create(&json!({
            "userName": "lin@example.org", "displayName": "Lin", "externalId": "x-9",
            "name": {"givenName": "Lin", "familyName": "Wu"},
            "emails": [{"value": "lin@work.example", "type": "work"},
                       {"value": "lin@home.example", "type": "home"}],
        }))
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());

    // Okta's form: no path, the attributes in the value.
    let okta = scim
        .patch(
            &path,
            &patch_op(
                json!([{"op": "Replace", "value": {"active": false, "name.familyName": "Wu-Li"}}]),
            ),
        )
        .await;
    assert_eq!(okta.status, 200, "{:?}", okta.json);
    assert_eq!(okta.json["active"], false);
    assert_eq!(okta.json["name"]["familyName"], "Wu-Li");
    assert_eq!(okta.json["name"]["givenName"], "Lin");

    // With paths: a value filter, add, remove.
    let changed = scim
        .patch(
            &path,
            &patch_op(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "lin@new.example"},
                {"op": "add", "path": "name.middleName", "value": "M"},
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "replace", "path": "active", "value": true},
            ])),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.json);
    let user = &changed.json;
    assert_eq!(
        user["emails"],
        json!([{"value": "lin@new.example", "type": "work", "primary": false}])
    );
    assert_eq!(user["name"]["middleName"], "M");
    assert!(user.get("externalId").is_none(), "unassigned: {user}");
    assert_eq!(user["active"], true);

    // Removing an optional attribute as a whole; the read agrees.
    let removed = scim
        .patch(&path, &patch_op(json!([{"op": "remove", "path": "name"}])))
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.json);
    let read = scim.get(&path).await.json;
    assert!(read.get("name").is_none(), "{read}");
    assert_eq!(read, removed.json);
}

#[tokio::test]
async fn filters_paging_and_count_0_answer_from_the_organizations_people() {
    let scim = Scim::start().await;
    for (address, name, external) in [
        ("ada@example.org", "Ada Lovelace", "e-1"),
        ("alan@example.org", "Alan Turing", "e-2"),
        ("grace@navy.example", "Grace Hopper", "e-3"),
    ] {
        scim.create(&json!({
            "userName": address, "displayName": name, "externalId": external,
            "emails": [{"value": format!("{}@home.example", &name[..3].to_lowercase())}],
        }))
        .await;
    }
    let grace = scim.filter("userName eq \"grace@navy.example\"").await;
    let grace_id = grace.ids()[0].clone();
    let disabled = scim
        .patch(
            &format!("/Users/{grace_id}"),
            &patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(disabled.status, 200);

    let names = |answer: &super::Answer| -> Vec<String> {
        answer.json["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    for (filter, expected) in [
        ("userName eq \"ADA@example.org\"", vec!["ada@example.org"]),
        (
            "userName sw \"a\"",
            vec!["ada@example.org", "alan@example.org"],
        ),
        ("userName co \"NAVY\"", vec!["grace@navy.example"]),
        (
            "emails.value eq \"gra@home.example\"",
            vec!["grace@navy.example"],
        ),
        ("externalId eq \"e-2\"", vec!["alan@example.org"]),
        ("displayName co \"ing\"", vec!["alan@example.org"]),
        ("active eq false", vec!["grace@navy.example"]),
        (
            "active eq true and userName ne \"ada@example.org\"",
            vec!["alan@example.org"],
        ),
        (
            "externalId eq \"e-1\" or externalId eq \"e-3\"",
            vec!["ada@example.org", "grace@navy.example"],
        ),
        ("not (active eq true)", vec!["grace@navy.example"]),
        (
            "externalId pr",
            vec!["ada@example.org", "alan@example.org", "grace@navy.example"],
        ),
        ("userName eq \"nobody@example.org\"", vec![]),
    ] {
        let answer = scim.filter(filter).await;
        assert_eq!(answer.status, 200, "{filter}: {:?}", answer.json);
        assert_eq!(names(&answer), expected, "{filter}");
        assert_eq!(answer.json["totalResults"], expected.len(), "{filter}");
    }

    // Paging: startIndex is 1-based; totalResults counts them all.
    let page = scim.get("/Users?startIndex=2&count=1").await;
    assert_eq!(page.json["totalResults"], 3);
    assert_eq!(page.json["startIndex"], 2);
    assert_eq!(page.json["itemsPerPage"], 1);
    assert_eq!(names(&page), ["alan@example.org"]);
    let past = scim.get("/Users?startIndex=9").await;
    assert_eq!(past.json["totalResults"], 3);
    assert_eq!(names(&past), Vec::<String>::new());

    // count=0 answers only how many there are.
    let counted = scim
        .get("/Users?count=0&filter=userName%20sw%20%22a%22")
        .await;
    assert_eq!(counted.status, 200);
    assert_eq!(counted.json["totalResults"], 2);
    assert_eq!(counted.json["itemsPerPage"], 0);
    assert!(
        counted.json["Resources"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{:?}",
        counted.json
    );

    // The same search as POST /Users/.search.
    let searched = scim
        .post(
            "/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"a\"", "startIndex": 1, "count": 10,
                "attributes": ["userName"],
            }),
        )
        .await;
    assert_eq!(searched.status, 200, "{:?}", searched.json);
    assert_eq!(names(&searched), ["ada@example.org", "alan@example.org"]);
    assert!(searched.json["Resources"][0].get("displayName").is_none());
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_every_read() {
    let scim = Scim::start().await;
    let created = scim
        .create(&json!({
            "userName": "ada@example.org", "displayName": "Ada", "externalId": "e-1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
        }))
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());

    // `id` and `schemas` always come back; sub-attributes can be named.
    let only = scim
        .get(&format!("{path}?attributes=userName,name.familyName"))
        .await;
    assert_eq!(only.status, 200);
    let mut keys: Vec<&String> = only.json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["id", "name", "schemas", "userName"],
        "{:?}",
        only.json
    );
    assert_eq!(only.json["name"], json!({"familyName": "Lovelace"}));

    let without = scim
        .get(&format!("{path}?excludedAttributes=name,meta,externalId"))
        .await;
    assert!(without.json.get("name").is_none());
    assert!(without.json.get("meta").is_none());
    assert!(without.json.get("externalId").is_none());
    assert_eq!(without.json["displayName"], "Ada");
    assert_eq!(without.json["id"], created["id"]);

    // The same on lists.
    let listed = scim.get("/Users?attributes=displayName").await;
    let first = &listed.json["Resources"][0];
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["displayName", "id", "schemas"], "{first}");
    let listed = scim.get("/Users?excludedAttributes=emails,name").await;
    assert!(listed.json["Resources"][0].get("name").is_none());
    assert_eq!(listed.json["Resources"][0]["userName"], "ada@example.org");
}
