//! Records REST behaviour beyond the replayed exchanges: upsert rules, soft delete and restore, deletes with
//! their foreign-key effects, validation errors, caps, filters, ordering and cursors, depth=1.

mod common;

use common::Sbx;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id_of(v: &Value, key: &str) -> String {
    v["data"][key]["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn client_supplied_id_timestamps_and_created_by_are_kept() {
    let s = Sbx::start().await;
    let (st, body) = s
        .post(
            "/rest/companies",
            json!({"id": "0C0FFEE0-1E9A-4C00-8000-000000000001", "name": "Legacy", "createdAt": "2019-03-14T09:26:53Z",
                "updatedAt": "2020-01-02T03:04:05.000Z", "createdBy": {"source": "IMPORT", "name": "Legacy CRM"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let c = &body["data"]["createCompany"];
    assert_eq!(c["id"], json!("0c0ffee0-1e9a-4c00-8000-000000000001"));
    assert_eq!(c["createdAt"], json!("2019-03-14T09:26:53.000Z"));
    assert_eq!(c["updatedAt"], json!("2020-01-02T03:04:05.000Z"));
    assert_eq!(
        c["createdBy"],
        json!({"source": "IMPORT", "workspaceMemberId": null, "name": "Legacy CRM", "context": null})
    );
    assert_eq!(c["updatedBy"]["source"], json!("API"));
    let (st, again) = s.post("/rest/companies", json!({"id": "0c0ffee0-1e9a-4c00-8000-000000000001"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(again["messages"][0], json!("A duplicate entry was detected"));
}

#[tokio::test]
async fn upsert_matches_unique_domain_replaces_sent_composites_and_restores_trash() {
    let s = Sbx::start().await;
    let (_, a) = s
        .post(
            "/rest/companies",
            json!({"name": "Acme", "employees": 10, "address": {"addressCity": "Paris"},
                "domainName": {"primaryLinkUrl": "https://acme.example.com", "primaryLinkLabel": "Acme",
                    "secondaryLinks": [{"url": "https://shop.acme.example.com", "label": "Shop"}]}}),
        )
        .await;
    let acme = id_of(&a, "createCompany");
    let (st, dup) =
        s.post("/rest/companies", json!({"domainName": {"primaryLinkUrl": "https://acme.example.com"}})).await;
    assert_eq!((st, dup["messages"][0].clone()), (StatusCode::BAD_REQUEST, json!("A duplicate entry was detected")));

    let (st, up) = s
        .post(
            "/rest/companies?upsert=true",
            json!({"name": "Acme 2", "domainName": {"primaryLinkUrl": "https://acme.example.com"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let c = &up["data"]["createCompany"];
    assert_eq!(c["id"], json!(acme), "same record");
    assert_eq!(c["name"], json!("Acme 2"));
    assert_eq!(c["employees"], json!(10), "unsent fields kept");
    assert_eq!(c["address"]["addressCity"], json!("Paris"));
    assert_eq!(
        c["domainName"],
        json!({"primaryLinkLabel": "", "primaryLinkUrl": "https://acme.example.com", "secondaryLinks": []}),
        "a sent composite is replaced whole"
    );
    assert_eq!(c["createdAt"], a["data"]["createCompany"]["createdAt"]);

    // Soft-deleted rows still count for uniqueness, and an upsert restores them.
    let (st, del) = s.delete(&format!("/rest/companies/{acme}?soft_delete=true")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(del["data"]["deleteCompany"]["deletedAt"].is_string());
    let (st, _) = s.get(&format!("/rest/companies/{acme}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s.get("/rest/companies").await;
    assert_eq!(list["totalCount"], json!(0), "trash is not listed");
    let (_, trash) = s.get("/rest/companies?filter=deletedAt[is]:NOT_NULL").await;
    assert_eq!(trash["totalCount"], json!(1));
    let (st, _) =
        s.post("/rest/companies", json!({"domainName": {"primaryLinkUrl": "https://acme.example.com"}})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, up) = s
        .post(
            "/rest/companies?upsert=true",
            json!({"name": "Back", "domainName": {"primaryLinkUrl": "https://acme.example.com"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(up["data"]["createCompany"]["id"], json!(acme));
    assert_eq!(up["data"]["createCompany"]["deletedAt"], json!(null));

    // Upsert by id; a batch upsert mixes updates and inserts.
    let (st, b) = s
        .post(
            "/rest/batch/companies?upsert=true",
            json!([{"id": acme, "name": "By id"}, {"name": "New", "domainName": {"primaryLinkUrl": "https://new.example.com"}}]),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["createCompanies"][0]["id"], json!(acme));
    assert_eq!(b["data"]["createCompanies"][0]["name"], json!("By id"));
    assert_ne!(b["data"]["createCompanies"][1]["id"], json!(acme));
}

#[tokio::test]
async fn person_email_is_unique_and_upsert_matches_it() {
    let s = Sbx::start().await;
    let (st, _) = s.post("/rest/people", json!({"emails": {"primaryEmail": "ada@x.example"}})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = s.post("/rest/people", json!({"emails": {"primaryEmail": "ada@x.example"}})).await;
    assert_eq!(
        (st, e),
        (
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "error": "BadRequestException", "messages": ["A duplicate entry was detected"]})
        )
    );
    let (st, _) = s.post("/rest/people", json!({"name": {"firstName": "No email"}})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s.post("/rest/people", json!({"name": {"firstName": "No email either"}})).await;
    assert_eq!(st, StatusCode::CREATED, "empty unique values do not collide");
    let (st, e) = s
        .post(
            "/rest/batch/people",
            json!([{"emails": {"primaryEmail": "b@x.example"}}, {"emails": {"primaryEmail": "b@x.example"}}]),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    let (_, list) = s.get("/rest/people").await;
    assert_eq!(list["totalCount"], json!(3), "a refused batch creates nothing");
}

#[tokio::test]
async fn validation_errors_match_the_recording() {
    let s = Sbx::start().await;
    let cases = [
        ("/rest/companies", json!({"notAField": "x"}), 400, "Object company doesn't have any \"notAField\" field."),
        (
            "/rest/companies",
            json!({"domainName": "ctr-bad.example.com"}),
            400,
            "Invalid object value 'ctr-bad.example.com' for field \"domainName\"",
        ),
        (
            "/rest/companies",
            json!({"annualRecurringRevenue": {"amount": "lots", "currencyCode": "EUR"}}),
            400,
            "Invalid subfield amount for currency field \"annualRecurringRevenue\"",
        ),
        ("/rest/opportunities", json!({"stage": "WON"}), 400, "Invalid value 'WON' for field \"stage\""),
        (
            "/rest/people",
            json!({"companyId": "not-a-uuid"}),
            400,
            "Invalid UUID value 'not-a-uuid' for field \"companyId\"",
        ),
        (
            "/rest/people",
            json!({"companyId": "0c0ffee0-dead-4c00-8000-00000000beef"}),
            500,
            "insert or update on table \"person\" violates foreign key constraint \"FK_ee066ddacfce46c9a7cb90edd1a\"",
        ),
        (
            "/rest/companies",
            json!({"idealCustomerProfile": null}),
            500,
            "null value in column \"idealCustomerProfile\" of relation \"company\" violates not-null constraint",
        ),
    ];
    for (path, body, status, message) in cases {
        let (st, e) = s.post(path, body.clone()).await;
        assert_eq!(st.as_u16(), status, "{path} {body} → {e}");
        assert_eq!(e["messages"], json!([message]), "{path} {body}");
        let error = if status == 500 { "InternalServerErrorException" } else { "BadRequestException" };
        assert_eq!(e["error"], json!(error));
    }
    let (_, list) = s.get("/rest/people").await;
    assert_eq!(list["totalCount"], json!(0), "nothing written by refused creates");
    let (st, e) = s.get("/rest/companies?filter=name[endsWith]:x").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["messages"][0].as_str().unwrap_or_default().contains("comparator endsWith not in eq, neq, in"));
    let (st, e) = s.get("/rest/companies?filter=nope[eq]:1").await;
    assert_eq!((st, e["error"].clone()), (StatusCode::BAD_REQUEST, json!("Error")));
}

#[tokio::test]
async fn batch_cap_is_configurable_and_refuses_whole_batches() {
    let s =
        Sbx::with(ferry_twenty_sandbox::SandboxConfig { batch_max: 60, rate_limit: None, ..Default::default() }).await;
    let many: Vec<Value> = (0..61).map(|i| json!({"name": format!("B{i}")})).collect();
    let (st, e) = s.post("/rest/batch/companies", Value::Array(many.clone())).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(e["messages"], json!(["Maximum number of records to upsert is 60."]));
    let (_, list) = s.get("/rest/companies").await;
    assert_eq!(list["totalCount"], json!(0));
    let (st, ok) = s.post("/rest/batch/companies", Value::Array(many[..60].to_vec())).await;
    assert_eq!(st, StatusCode::CREATED);
    let created = ok["data"]["createCompanies"].as_array().expect("list");
    assert_eq!(created.len(), 60);
    assert_eq!(created[0]["name"], json!("B0"), "input order");
    assert_eq!(created[0]["position"], json!(0));
    assert_eq!(created[59]["position"], json!(-59));
}

#[tokio::test]
async fn patch_merges_composites_per_sub_field() {
    let s = Sbx::start().await;
    let (_, a) = s
        .post("/rest/companies", json!({"name": "A", "employees": 1, "address": {"addressStreet1": "1 Rue", "addressCity": "Paris", "addressLat": 1.5}}))
        .await;
    let id = id_of(&a, "createCompany");
    let (st, u) =
        s.patch(&format!("/rest/companies/{id}"), json!({"employees": 2, "address": {"addressCity": "Lyon"}})).await;
    assert_eq!(st, StatusCode::OK);
    let c = &u["data"]["updateCompany"];
    assert_eq!(c["address"]["addressStreet1"], json!("1 Rue"));
    assert_eq!(c["address"]["addressCity"], json!("Lyon"));
    assert_eq!(c["address"]["addressLat"], json!("1.5"));
    assert_eq!(c["employees"], json!(2));
    let (st, _) = s.patch("/rest/companies/0c0ffee0-dead-4c00-8000-00000000beef", json!({"name": "x"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A rich text PATCH with markdown regenerates blocknote.
    let (_, n) = s.post("/rest/notes", json!({"title": "N", "bodyV2": {"markdown": "old"}})).await;
    let nid = id_of(&n, "createNote");
    let (_, u) = s.patch(&format!("/rest/notes/{nid}"), json!({"bodyV2": {"markdown": "**new**"}})).await;
    let bn = u["data"]["updateNote"]["bodyV2"]["blocknote"].as_str().unwrap_or_default().to_string();
    assert!(bn.contains("\"text\":\"new\"") && bn.contains("\"bold\":true"), "{bn}");
}

#[tokio::test]
async fn restore_by_filter_works_and_the_id_form_is_the_recorded_400() {
    let s = Sbx::start().await;
    let (_, a) = s.post("/rest/companies", json!({"name": "T"})).await;
    let id = id_of(&a, "createCompany");
    s.delete(&format!("/rest/companies/{id}?soft_delete=true")).await;
    let (st, e) = s.call(reqwest::Method::PATCH, &format!("/rest/restore/companies/{id}"), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        e["messages"][0],
        json!(format!(
            "Query path '/rest/restore/companies/{id}' invalid. Valid examples: /rest/companies/id or /rest/companies or /rest/batch/companies"
        ))
    );
    let (st, r) = s.call(reqwest::Method::PATCH, &format!("/rest/restore/companies?filter=id[eq]:{id}"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["data"]["restoreCompanies"][0]["deletedAt"], json!(null));
    let (st, _) = s.get(&format!("/rest/companies/{id}")).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn hard_delete_answers_the_id_and_applies_on_delete() {
    let s = Sbx::start().await;
    let (_, c) = s.post("/rest/companies", json!({"name": "Gone"})).await;
    let cid = id_of(&c, "createCompany");
    let (_, p) = s.post("/rest/people", json!({"name": {"firstName": "P"}, "companyId": cid})).await;
    let pid = id_of(&p, "createPerson");
    let (_, n) = s.post("/rest/notes", json!({"title": "N"})).await;
    let nid = id_of(&n, "createNote");
    let (st, _) = s.post("/rest/noteTargets", json!({"noteId": nid, "companyId": cid})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, d) = s.delete(&format!("/rest/companies/{cid}")).await;
    assert_eq!((st, d), (StatusCode::OK, json!({"data": {"deleteCompany": {"id": cid}}})));
    let (_, person) = s.get(&format!("/rest/people/{pid}")).await;
    assert_eq!(person["data"]["person"]["companyId"], json!(null), "SET_NULL");
    let (_, targets) = s.get("/rest/noteTargets").await;
    assert_eq!(targets["totalCount"], json!(0), "CASCADE");
    let (st, _) = s.delete(&format!("/rest/companies/{cid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Delete by filter removes every match in one call, no 100 cap.
    let batch: Vec<Value> = (0..150).map(|i| json!({"name": format!("Bulk {i:03}")})).collect();
    s.post("/rest/batch/companies", Value::Array(batch)).await;
    let (st, d) = s.delete("/rest/companies?filter=name[like]:Bulk%25").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["data"]["deleteCompanies"].as_array().map(Vec::len), Some(150));
}

#[tokio::test]
async fn filters_order_and_cursors() {
    let s = Sbx::start().await;
    let batch: Vec<Value> = (0..10)
        .map(
            |i| json!({"name": format!("Bulk {i}"), "employees": if i % 4 == 0 { Value::Null } else { json!(i * 10) }}),
        )
        .collect();
    s.post("/rest/batch/companies", Value::Array(batch)).await;
    let count = |v: &Value| v["totalCount"].as_u64().unwrap_or(0);
    let (_, v) = s.get("/rest/companies?filter=name[startsWith]:Bulk").await;
    assert_eq!(count(&v), 0, "startsWith appends no % in the recorded build");
    let (_, v) = s.get("/rest/companies?filter=name[like]:Bulk%25").await;
    assert_eq!(count(&v), 10);
    let (_, v) = s.get("/rest/companies?filter=name[ilike]:bulk%25").await;
    assert_eq!(count(&v), 10);
    let (_, v) = s.get("/rest/companies?filter=employees[is]:NULL").await;
    assert_eq!(count(&v), 3);
    let (_, v) = s.get("/rest/companies?filter=and(name[like]:Bulk%25,employees[gte]:50)").await;
    assert_eq!(count(&v), 4);
    let (_, v) = s.get("/rest/companies?filter=or(employees[lt]:20,employees[gt]:80)").await;
    assert_eq!(count(&v), 2);
    let (_, v) = s.get("/rest/companies?filter=not(employees[is]:NULL)").await;
    assert_eq!(count(&v), 7);
    let (_, v) = s.get("/rest/companies?filter=name[in]:[\"Bulk 1\",\"Bulk 2\"]").await;
    assert_eq!(count(&v), 2);

    // order_by with cursors that carry the sort values; page through everything.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/rest/companies?order_by=employees[DescNullsLast],name&limit=3&starting_after={c}"),
            None => "/rest/companies?order_by=employees[DescNullsLast],name&limit=3".to_string(),
        };
        let (st, v) = s.get(&path).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        for c in v["data"]["companies"].as_array().expect("list") {
            seen.push(c["employees"].clone());
        }
        if v["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = v["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(
        seen,
        vec![
            json!(90),
            json!(70),
            json!(60),
            json!(50),
            json!(30),
            json!(20),
            json!(10),
            Value::Null,
            Value::Null,
            Value::Null
        ]
    );
    let (_, v) = s.get("/rest/companies?order_by=employees[DescNullsLast]&limit=1").await;
    let cursor = v["pageInfo"]["startCursor"].as_str().unwrap_or_default().to_string();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(&cursor).expect("base64");
    assert!(
        String::from_utf8_lossy(&decoded).starts_with("{\"employees\":90,\"id\":"),
        "{}",
        String::from_utf8_lossy(&decoded)
    );

    let (_, v) = s.get("/rest/companies?limit=500").await;
    assert_eq!(v["data"]["companies"].as_array().map(Vec::len), Some(10));
    let (st, _) = s.get("/rest/companies?limit=-1").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn depth_one_nests_every_relation() {
    let s = Sbx::start().await;
    let (_, members) = s.get("/rest/workspaceMembers").await;
    let member = members["data"]["workspaceMembers"][0]["id"].clone();
    let (_, c) = s.post("/rest/companies", json!({"name": "Acme", "accountOwnerId": member})).await;
    let cid = id_of(&c, "createCompany");
    s.post("/rest/people", json!({"name": {"firstName": "Ada"}, "companyId": cid})).await;
    s.patch(&format!("/rest/companies/{cid}"), json!({"employees": 5})).await;
    let (_, plain) = s.get(&format!("/rest/companies/{cid}")).await;
    assert!(plain["data"]["company"].get("people").is_none());
    let (st, deep) = s.get(&format!("/rest/companies/{cid}?depth=1")).await;
    assert_eq!(st, StatusCode::OK);
    let c = &deep["data"]["company"];
    assert_eq!(c["accountOwner"]["id"], member);
    assert_eq!(c["people"][0]["name"]["firstName"], json!("Ada"));
    for rel in ["opportunities", "noteTargets", "taskTargets", "attachments", "favorites"] {
        assert_eq!(c[rel], json!([]), "{rel}");
    }
    let tl = c["timelineActivities"].as_array().expect("timeline");
    let names: Vec<&str> = tl.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "{tl:?}");
    assert!(names.contains(&"company.created") && names.contains(&"company.updated"));
    let updated = tl.iter().find(|t| t["name"] == "company.updated").expect("updated");
    assert_eq!(updated["properties"]["diff"]["employees"], json!({"after": 5, "before": null}));
    assert_eq!(updated["targetCompanyId"], json!(cid));
    let (st, _) = s.get(&format!("/rest/companies/{cid}?depth=2")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn many_records_stay_fast_enough_to_page() {
    let s = Sbx::start().await;
    let t0 = std::time::Instant::now();
    for chunk in 0..10 {
        let batch: Vec<Value> =
            (0..200).map(|i| json!({"name": {"firstName": format!("N{chunk}-{i}")}, "emails": {"primaryEmail": format!("p{chunk}-{i}@x.example")}})).collect();
        let (st, e) = s.post("/rest/batch/people", Value::Array(batch)).await;
        assert_eq!(st, StatusCode::CREATED, "{e}");
    }
    eprintln!("created 2000 people in {:?}", t0.elapsed());
    let t1 = std::time::Instant::now();
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/rest/people?limit=200&starting_after={c}"),
            None => "/rest/people?limit=200".into(),
        };
        let (_, v) = s.get(&path).await;
        total += v["data"]["people"].as_array().map(Vec::len).unwrap_or(0);
        if v["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = v["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    eprintln!("paged 2000 people in {:?}", t1.elapsed());
    assert_eq!(total, 2000);
}
