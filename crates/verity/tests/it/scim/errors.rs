//! Bad input over SCIM: each gets an RFC 7644 §3.12 error with the right status and
//! `scimType`, as `application/scim+json`, and changes nothing in the log — a userName
//! that exists, malformed filters, bodies that are not JSON or not a User, PATCH
//! operations that cannot apply, unknown URLs and methods, writes to discovery.

use reqwest::Method;
use serde_json::json;

use super::{SCIM_JSON, Scim, patch_op, user};
use crate::provider::http_client;

#[tokio::test]
async fn a_user_name_that_exists_in_any_case_is_a_409_uniqueness_and_changes_nothing() {
    let scim = Scim::start().await;
    let ada = scim.create(&user("ada@example.org", "Ada")).await;
    let alan = scim.create(&user("alan@example.org", "Alan")).await;
    let mails = scim.outbox().len();
    let events = scim.event_count();

    let twin = scim.post("/Users", &user("ADA@Example.org", "Twin")).await;
    twin.assert_error(409, Some("uniqueness"));
    // Taking another person's address by PUT or PATCH is the same conflict.
    let alan_path = format!("/Users/{}", alan["id"].as_str().unwrap());
    let mut taken = alan.clone();
    taken["userName"] = json!("ada@example.org");
    scim.put(&alan_path, &taken)
        .await
        .assert_error(409, Some("uniqueness"));
    scim.patch(
        &alan_path,
        &patch_op(json!([{"op": "replace", "path": "userName", "value": "Ada@example.org"}])),
    )
    .await
    .assert_error(409, Some("uniqueness"));

    assert_eq!(scim.event_count(), events, "nothing recorded");
    assert_eq!(scim.outbox().len(), mails, "no email sent");
    assert_eq!(scim.get("/Users").await.json["totalResults"], 2);
    assert_eq!(scim.get(&alan_path).await.json, alan);
    let ada_again = scim
        .get(&format!("/Users/{}", ada["id"].as_str().unwrap()))
        .await;
    assert_eq!(ada_again.json, ada);

    // Unique within the organization: another organization may have the same address.
    scim.organization("Analytical Engines");
    let other = scim.token_of("Analytical Engines", &[]).await;
    let elsewhere = scim
        .send_as(
            Some(&other),
            Method::POST,
            "/Users",
            Some(&user("ada@example.org", "Ada")),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{:?}", elsewhere.json);
    assert_ne!(elsewhere.json["id"], ada["id"]);
}

#[tokio::test]
async fn malformed_filters_and_bodies_get_clear_errors_and_change_nothing() {
    let scim = Scim::start().await;
    let ada = scim.create(&user("ada@example.org", "Ada")).await;
    let path = format!("/Users/{}", ada["id"].as_str().unwrap());
    let events = scim.event_count();

    for filter in [
        "userName eq",
        "userName eq ada@example.org",
        "userName xx \"a\"",
        "password eq \"secret\"",
        "(userName eq \"a\"",
        "userName eq \"unterminated",
        "userName eq \"a\" and",
        "active eq \"yes\"",
    ] {
        scim.filter(filter)
            .await
            .assert_error(400, Some("invalidFilter"));
        scim.post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter}),
        )
        .await
        .assert_error(400, Some("invalidFilter"));
    }
    scim.get("/Users?count=many")
        .await
        .assert_error(400, Some("invalidValue"));

    // Bodies that are not JSON, not an object, or sent as something else.
    let raw = |method: Method, target: &str, content_type: &str, body: &str| {
        http_client()
            .request(method, format!("{}{target}", scim.url))
            .bearer_auth(&scim.token)
            .header("content-type", content_type)
            .body(body.to_owned())
    };
    for (method, target) in [
        (Method::POST, "/Users"),
        (Method::PUT, path.as_str()),
        (Method::PATCH, path.as_str()),
    ] {
        scim.answer(raw(method.clone(), target, SCIM_JSON, "{\"userName\": "))
            .await
            .assert_error(400, Some("invalidSyntax"));
        scim.answer(raw(method.clone(), target, SCIM_JSON, "[1, 2]"))
            .await
            .assert_error(400, Some("invalidSyntax"));
        scim.answer(raw(method.clone(), target, "text/plain", "{}"))
            .await
            .assert_error(415, None);
    }

    // Values of the wrong shape.
    for body in [
        json!({"displayName": "No address"}),
        json!({"userName": "not an address"}),
        json!({"userName": 7}),
        json!({"userName": "a@example.org", "active": "maybe"}),
        json!({"userName": "a@example.org", "emails": "a@example.org"}),
        json!({"userName": "a@example.org", "emails": [{"value": "nope"}]}),
        json!({"userName": "a@example.org", "name": "A"}),
        json!({"userName": "a@example.org", "displayName": ""}),
        json!({"userName": "a@example.org", "schemas": ["urn:example:other"]}),
    ] {
        scim.post("/Users", &body)
            .await
            .assert_error(400, Some("invalidValue"));
    }

    // PATCH operations that cannot apply.
    for (operations, scim_type) in [
        (
            json!([{"op": "rename", "path": "displayName", "value": "x"}]),
            "invalidSyntax",
        ),
        (json!({"op": "replace"}), "invalidSyntax"),
        (
            json!([{"op": "replace", "path": "nickName[", "value": "x"}]),
            "invalidPath",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "remove", "path": "userName"}]), "mutability"),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
    ] {
        let answer = scim.patch(&path, &patch_op(operations.clone())).await;
        assert_eq!(answer.status, 400, "{operations}: {:?}", answer.json);
        assert_eq!(
            answer.json["scimType"], scim_type,
            "{operations}: {:?}",
            answer.json
        );
    }
    // A valid operation after an invalid one is not applied either.
    let mixed = scim
        .patch(
            &path,
            &patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "active", "value": "perhaps"},
            ])),
        )
        .await;
    mixed.assert_error(400, Some("invalidValue"));

    assert_eq!(scim.event_count(), events, "nothing recorded");
    assert_eq!(scim.get(&path).await.json, ada, "nothing changed");
    assert_eq!(scim.get("/Users").await.json["totalResults"], 1);
}

#[tokio::test]
async fn unknown_urls_and_methods_and_writes_to_discovery_get_scim_errors() {
    let scim = Scim::start().await;
    for target in [
        "/Groups",
        "/Users/not-a-uuid",
        "/Users/5b5c2a4e-8a4b-4a0e-9f53-0c3e1b5d9a11",
        "/ResourceTypes/Group",
        "/Schemas/urn:example:nothing",
        "/",
        "/Users/.search/more",
    ] {
        scim.get(target).await.assert_error(404, None);
    }
    let missing = "/Users/5b5c2a4e-8a4b-4a0e-9f53-0c3e1b5d9a11";
    scim.put(missing, &user("x@example.org", "X"))
        .await
        .assert_error(404, None);
    scim.delete(missing).await.assert_error(404, None);

    for target in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/Schemas",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            scim.send(method.clone(), target, Some(&json!({})))
                .await
                .assert_error(405, None);
        }
        let read = scim.get(target).await;
        assert_eq!(read.status, 200, "{target}");
        assert_eq!(read.header("content-type").as_deref(), Some(SCIM_JSON));
    }
    scim.send(Method::PUT, "/Users", Some(&json!({})))
        .await
        .assert_error(405, None);
    scim.send(Method::DELETE, "/Users", None)
        .await
        .assert_error(405, None);
    scim.get("/Users/.search").await.assert_error(405, None);

    // Discovery says what is supported.
    let config = scim.get("/ServiceProviderConfig").await.json;
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["etag"]["supported"], true);
    let schema = scim
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await
        .json;
    let user_name = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attribute| attribute["name"] == "userName")
        .unwrap()
        .clone();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408_scim_error_and_the_connection_closes() {
    let scim = Scim::start_with(&[("VERITY__SERVER__BODY_READ_TIMEOUT_SECONDS", "1")]).await;
    let events = scim.event_count();
    let (answer, body) = crate::serve::late_json_body(
        &scim.provider.base,
        "/scim/v2/Users",
        &format!(
            "Authorization: Bearer {}\r\nContent-Type: {SCIM_JSON}\r\n",
            scim.token
        ),
        "{\"userName\": \"sl",
    )
    .await;
    assert!(
        answer.contains("content-type: application/scim+json"),
        "{answer}"
    );
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "408");
    assert_eq!(scim.event_count(), events, "nothing was written");
}
