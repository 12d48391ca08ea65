//! Metadata behaviour: field creation of every type ferry uses, option validation and full-list replace, relations,
//! custom objects and their routes, deletion, uniqueness, and the /metadata GraphQL view.

mod common;

use common::Sbx;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn create_field(s: &Sbx, body: Value) -> (StatusCode, Value) {
    s.post("/rest/metadata/fields", body).await
}

#[tokio::test]
async fn metadata_objects_list_like_the_recording() {
    let s = Sbx::start().await;
    let (st, v) = s.get("/rest/metadata/objects").await;
    assert_eq!(st, StatusCode::OK);
    let objects = v["data"]["objects"].as_array().expect("objects");
    assert_eq!(objects.len(), 29);
    let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "id descending");
    assert!(v.get("totalCount").is_none());
    assert_eq!(v["pageInfo"]["hasNextPage"], json!(false));
    let company = objects.iter().find(|o| o["nameSingular"] == "company").expect("company");
    let domain =
        company["fields"].as_array().expect("fields").iter().find(|f| f["name"] == "domainName").expect("domainName");
    assert!(domain.get("isUnique").is_none() && domain.get("settings").is_none(), "REST omits isUnique and settings");
    let attachment = objects.iter().find(|o| o["nameSingular"] == "attachment").expect("attachment");
    let morph = attachment["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "targetCompany")
        .expect("targetCompany");
    assert_eq!(morph["relation"], json!(null));
    let (st, one) = s.get(&format!("/rest/metadata/objects/{}", company["id"].as_str().unwrap_or_default())).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["data"]["object"]["nameSingular"], json!("company"));
}

#[tokio::test]
async fn fields_of_every_type_and_their_default_read_back() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    for (ty, name, extra) in [
        ("TEXT", "legacyId", json!({})),
        ("NUMBER", "score", json!({})),
        ("BOOLEAN", "vip", json!({"defaultValue": false})),
        ("DATE", "since", json!({})),
        ("DATE_TIME", "lastSeen", json!({})),
        ("CURRENCY", "budget", json!({})),
        ("RAW_JSON", "payload", json!({})),
        ("LINKS", "site", json!({})),
        ("EMAILS", "contact", json!({})),
        ("PHONES", "lines", json!({})),
        ("ADDRESS", "hq", json!({})),
        ("FULL_NAME", "boss", json!({})),
        ("RICH_TEXT_V2", "memo", json!({})),
        ("SELECT", "tier", json!({"options": [{"value": "GOLD", "label": "Gold", "color": "yellow", "position": 0}]})),
        (
            "MULTI_SELECT",
            "channels",
            json!({"options": [{"value": "EMAIL", "label": "Email", "color": "blue", "position": 0}]}),
        ),
    ] {
        let mut body =
            json!({"objectMetadataId": company, "type": ty, "name": name, "label": name, "isNullable": true});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (st, v) = create_field(&s, body).await;
        assert_eq!(st, StatusCode::CREATED, "{ty}: {v}");
        let f = &v["data"]["createOneField"];
        assert_eq!(f["isCustom"], json!(true));
        assert_eq!(f["type"], json!(ty));
    }
    let (st, c) = s
        .post(
            "/rest/companies",
            json!({"name": "X", "score": 42.5, "since": "2024-02-29", "lastSeen": "2024-02-29T13:45:00Z", "payload": {"b": 1, "a": [1]},
                "tier": "GOLD", "channels": ["EMAIL"], "memo": {"markdown": "hi"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let c = &c["data"]["createCompany"];
    assert_eq!(c["legacyId"], json!(""));
    assert_eq!(c["vip"], json!(false));
    assert_eq!(c["score"], json!(42.5));
    assert_eq!(c["lastSeen"], json!("2024-02-29T13:45:00.000Z"));
    assert_eq!(c["budget"], json!({"amountMicros": null, "currencyCode": null}));
    assert_eq!(c["boss"], json!({"firstName": "", "lastName": ""}));
    assert_eq!(c["tier"], json!("GOLD"));
    assert_eq!(c["memo"]["markdown"], json!("hi"));
    assert!(c["memo"]["blocknote"].as_str().unwrap_or_default().contains("\"text\":\"hi\""));
    let (st, e) = s.post("/rest/companies", json!({"tier": "DIAMOND"})).await;
    assert_eq!(
        (st, e["messages"][0].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid value 'DIAMOND' for field \"tier\""))
    );
    let (st, _) = s.post("/rest/companies", json!({"channels": ["FAX"]})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn option_validation_is_one_generic_400_on_rest_and_detailed_on_graphql() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    let generic = json!({"statusCode": 400, "messages": ["Multiple validation errors occurred while creating fields"], "error": "Bad Request"});
    for options in [
        json!([{"value": "on-hold", "label": "On hold", "color": "red", "position": 0}]),
        json!([{"value": "A", "label": "A", "color": "red", "position": 0}, {"value": "A", "label": "B", "color": "red", "position": 1}]),
        json!([{"value": "X".repeat(64), "label": "long", "color": "red", "position": 0}]),
        json!([{"value": "OK", "label": "", "color": "red", "position": 0}]),
        json!([]),
    ] {
        let (st, v) = create_field(
            &s,
            json!({"objectMetadataId": company, "type": "SELECT", "name": "status", "label": "S", "options": options}),
        )
        .await;
        assert_eq!((st, v), (StatusCode::BAD_REQUEST, generic.clone()), "{options}");
    }
    let (st, _) =
        create_field(&s, json!({"objectMetadataId": company, "type": "TEXT", "name": "dup", "label": "Dup"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) =
        create_field(&s, json!({"objectMetadataId": company, "type": "TEXT", "name": "dup", "label": "Dup again"}))
            .await;
    assert_eq!((st, v), (StatusCode::BAD_REQUEST, generic.clone()), "duplicate name");
    let (st, _) =
        create_field(&s, json!({"objectMetadataId": company, "type": "TEXT", "name": "name", "label": "Clash"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "standard name taken");

    let v = s
        .metadata_graphql(
            "mutation CreateOneField($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id name } }",
            json!({"input": {"field": {"objectMetadataId": company, "type": "SELECT", "name": "ctrStatus", "label": "S",
                "options": [{"value": "ACTIVE", "label": "Active", "color": "green", "position": 0}, {"value": "on-hold", "label": "On hold", "color": "red", "position": 1}]}}}),
        )
        .await;
    assert_eq!(v["data"], json!(null));
    let e = &v["errors"][0];
    assert_eq!(e["message"], json!("Multiple validation errors occurred while creating fields"));
    assert_eq!(e["extensions"]["code"], json!("METADATA_VALIDATION_FAILED"));
    let detail = &e["extensions"]["errors"]["fieldMetadata"][0]["errors"][0];
    assert_eq!(detail["code"], json!("INVALID_FIELD_INPUT"));
    assert_eq!(detail["message"], json!("Value must be in UPPER_CASE and follow snake_case \"on-hold\""));
    assert_eq!(e["extensions"]["summary"], json!({"totalErrors": 1, "fieldMetadata": 1}));
}

#[tokio::test]
async fn option_patch_replaces_the_full_list_and_keeps_ids() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    let (_, f) = create_field(
        &s,
        json!({"objectMetadataId": company, "type": "SELECT", "name": "tier", "label": "Tier",
            "options": [{"value": "GOLD", "label": "Gold", "color": "yellow", "position": 0}, {"value": "SILVER", "label": "Silver", "color": "gray", "position": 1}]}),
    )
    .await;
    let field = &f["data"]["createOneField"];
    let fid = field["id"].as_str().unwrap_or_default().to_string();
    let gold = field["options"][0].clone();
    let (_, c) = s.post("/rest/companies", json!({"name": "S", "tier": "SILVER"})).await;
    let cid = c["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    let (st, u) = s
        .patch(
            &format!("/rest/metadata/fields/{fid}"),
            json!({"options": [gold.clone(), {"value": "PLATINUM", "label": "Platinum", "color": "purple", "position": 1}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{u}");
    let opts = u["data"]["updateOneField"]["options"].as_array().expect("options");
    assert_eq!(opts.len(), 2);
    assert_eq!(opts[0]["id"], gold["id"], "kept id");
    assert!(opts[1]["id"].is_string(), "new option got an id");
    let (_, c) = s.get(&format!("/rest/companies/{cid}")).await;
    assert_eq!(c["data"]["company"]["tier"], json!(null), "a removed value disappears from records");
    let (st, _) = s.post("/rest/companies", json!({"tier": "PLATINUM"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = s
        .patch(
            &format!("/rest/metadata/fields/{fid}"),
            json!({"options": [{"value": "bad value", "label": "x", "position": 0}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn custom_unique_fields_count_soft_deleted_rows() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    let (st, _) = create_field(
        &s,
        json!({"objectMetadataId": company, "type": "TEXT", "name": "legacyId", "label": "Legacy", "isUnique": true}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, a) = s.post("/rest/companies", json!({"legacyId": "L1"})).await;
    let id = a["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    s.delete(&format!("/rest/companies/{id}?soft_delete=true")).await;
    let (st, e) = s.post("/rest/companies", json!({"legacyId": "L1"})).await;
    assert_eq!((st, e["messages"][0].clone()), (StatusCode::BAD_REQUEST, json!("A duplicate entry was detected")));
    let (st, up) = s.post("/rest/companies?upsert=true", json!({"legacyId": "L1", "name": "Back"})).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(up["data"]["createCompany"]["id"], json!(id));
    let v = s
        .metadata_graphql(
            "{ objects(paging: {first: 100}) { edges { node { nameSingular fields(paging: {first: 1000}) { edges { node { name isUnique settings } } } } } } }",
            json!({}),
        )
        .await;
    let company = v["data"]["objects"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["node"]["nameSingular"] == "company")
        .expect("company");
    let fields = company["node"]["fields"]["edges"].as_array().expect("fields");
    let legacy = fields.iter().find(|f| f["node"]["name"] == "legacyId").expect("legacyId");
    assert_eq!(legacy["node"]["isUnique"], json!(true));
    let domain = fields.iter().find(|f| f["node"]["name"] == "domainName").expect("domainName");
    assert_eq!(domain["node"]["isUnique"], json!(true));
    assert_eq!(domain["node"]["settings"]["maxNumberOfValues"], json!(1));
}

#[tokio::test]
async fn custom_object_relation_routes_and_deletion() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    let (st, o) = s
        .post("/rest/metadata/objects", json!({"nameSingular": "widget", "namePlural": "widgets", "labelSingular": "Widget", "labelPlural": "Widgets", "icon": "IconBox"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let obj = &o["data"]["createOneObject"];
    let names: Vec<&str> =
        obj["fields"].as_array().expect("fields").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names.len(), 14);
    for n in [
        "id",
        "name",
        "position",
        "createdAt",
        "updatedAt",
        "deletedAt",
        "createdBy",
        "updatedBy",
        "searchVector",
        "attachments",
        "favorites",
        "noteTargets",
        "taskTargets",
        "timelineActivities",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let wid = obj["id"].as_str().unwrap_or_default().to_string();
    let (st, empty) = s.get("/rest/widgets").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(empty["totalCount"], json!(0));

    let (st, r) = create_field(
        &s,
        json!({"objectMetadataId": wid, "type": "RELATION", "name": "company", "label": "Company", "isNullable": true,
            "relationCreationPayload": {"type": "MANY_TO_ONE", "targetObjectMetadataId": company, "targetFieldLabel": "My Widgets", "targetFieldIcon": "IconBox"}}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["data"]["createOneField"]["relation"]["targetFieldMetadata"]["name"], json!("myWidgets"));
    assert_eq!(r["data"]["createOneField"]["description"], json!("Widgets tied to the Company"));
    let (_, c) = s.post("/rest/companies", json!({"name": "Acme"})).await;
    let cid = c["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    let (st, w) = s.post("/rest/widgets", json!({"name": "W 1", "companyId": cid})).await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let w = &w["data"]["createWidget"];
    assert_eq!(w["companyId"], json!(cid));
    assert_eq!(w["searchVector"], json!("'1':2 'w':1"));
    let (_, n) = s.post("/rest/notes", json!({"title": "N"})).await;
    let nid = n["data"]["createNote"]["id"].clone();
    let (st, t) = s.post("/rest/noteTargets", json!({"noteId": nid, "widgetId": w["id"]})).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["data"]["createNoteTarget"]["widgetId"], w["id"]);
    let (_, deep) = s.get(&format!("/rest/companies/{cid}?depth=1")).await;
    assert_eq!(deep["data"]["company"]["myWidgets"][0]["name"], json!("W 1"));

    // Deleting the relation field takes the inverse with it; deleting the object removes route and columns.
    let fid = r["data"]["createOneField"]["id"].as_str().unwrap_or_default().to_string();
    let (st, d) = s.delete(&format!("/rest/metadata/fields/{fid}")).await;
    assert_eq!((st, d), (StatusCode::OK, json!({"data": {"deleteOneField": {"id": fid}}})));
    let (_, co) = s.get(&format!("/rest/companies/{cid}?depth=1")).await;
    assert!(co["data"]["company"].get("myWidgets").is_none());
    let (st, d) = s.delete(&format!("/rest/metadata/objects/{wid}")).await;
    assert_eq!((st, d), (StatusCode::OK, json!({"data": {"deleteOneObject": {"id": wid}}})));
    let (st, _) = s.get("/rest/widgets").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, t) = s.get("/rest/noteTargets").await;
    assert_eq!(t["totalCount"], json!(0), "its target rows went with it");
    let (_, nt) = s.post("/rest/noteTargets", json!({"noteId": nid})).await;
    assert!(nt["data"]["createNoteTarget"].get("widgetId").is_none());
    // Standard fields and objects cannot be deleted.
    let (_, all) = s.get("/rest/metadata/objects").await;
    let name_field = all["data"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["nameSingular"] == "company")
        .expect("company")["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "name")
        .expect("name")["id"]
        .clone();
    let (st, _) = s.delete(&format!("/rest/metadata/fields/{}", name_field.as_str().unwrap_or_default())).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.delete(&format!("/rest/metadata/objects/{company}")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}
