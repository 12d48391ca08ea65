//! Auth, envelopes and the list shape of the records REST API (exchanges 00a, 00b, 25, 28, 35, 84).

mod common;

use common::Sbx;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn missing_key_is_403_and_bad_key_is_401_as_recorded() {
    let s = Sbx::start().await;
    let resp = s.client.get(s.url("/rest/companies")).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"statusCode": 403, "messages": ["Missing authentication token"], "error": "FORBIDDEN_EXCEPTION"})
    );
    let resp = s.client.get(s.url("/rest/companies")).bearer_auth("not-the-key").send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"statusCode": 401, "messages": ["No payload"], "error": "UNAUTHENTICATED"}));
}

#[tokio::test]
async fn unknown_routes_answer_like_nest() {
    let s = Sbx::start().await;
    let resp = s.client.get(s.url("/x")).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"statusCode": 404, "message": "Cannot GET /x", "error": "Not Found"}));
    let (st, body) = s.get("/rest/company").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["messages"][0], json!("object 'company' not found. Did you mean 'companies'?"));
}

#[tokio::test]
async fn create_company_answers_the_full_record_in_the_create_envelope() {
    let s = Sbx::start().await;
    let (st, body) = s
        .post(
            "/rest/companies",
            json!({"name": "CTR-Acme", "domainName": {"primaryLinkUrl": "https://ctr-acme.example.com", "primaryLinkLabel": "Acme",
                "secondaryLinks": [{"url": "https://shop.ctr-acme.example.com", "label": "Shop"}]},
                "address": {"addressCity": "Paris", "addressLat": 48.8606, "addressLng": 2.3376},
                "annualRecurringRevenue": {"amountMicros": 1250000000000i64, "currencyCode": "EUR"}, "employees": 120}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let c = &body["data"]["createCompany"];
    assert_eq!(c["name"], json!("CTR-Acme"));
    assert_eq!(c["position"], json!(0));
    assert_eq!(c["deletedAt"], json!(null));
    assert_eq!(c["address"]["addressLat"], json!("48.8606"), "numeric lat comes back as a string");
    assert_eq!(c["address"]["addressStreet1"], json!(""));
    assert_eq!(c["xLink"], json!({"primaryLinkLabel": "", "primaryLinkUrl": "", "secondaryLinks": []}));
    assert_eq!(c["idealCustomerProfile"], json!(false));
    assert_eq!(c["accountOwnerId"], json!(null));
    assert_eq!(
        c["createdBy"],
        json!({"source": "API", "workspaceMemberId": null, "name": "ferry-sandbox", "context": {}})
    );
    assert_eq!(
        c["searchVector"],
        json!(
            "'/shop.ctr-acme.example.com':7 'acme':3,4 'ctr':2 'ctr-acme':1 'ctr-acme.example.com':5 'https':6 'shop':8"
        )
    );
    let keys: Vec<&String> = c.as_object().expect("object").keys().collect();
    assert_eq!(keys[..4], ["id", "createdAt", "updatedAt", "deletedAt"]);
    assert!(!keys.iter().any(|k| *k == "people" || *k == "accountOwner"), "depth 0 has no nested relations");

    let (st, body) = s.post("/rest/companies", json!({"name": "Second"})).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(body["data"]["createCompany"]["position"], json!(-1), "each create goes to the top");
}

#[tokio::test]
async fn list_shape_with_total_count_and_page_info() {
    let s = Sbx::start().await;
    let (st, body) = s.get("/rest/companies").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        body,
        json!({"data": {"companies": []}, "totalCount": 0,
            "pageInfo": {"startCursor": null, "endCursor": null, "hasNextPage": false, "hasPreviousPage": false}})
    );
    for i in 0..3 {
        let (st, _) = s.post("/rest/companies", json!({"name": format!("C{i}")})).await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (st, body) = s.get("/rest/companies?limit=2").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["totalCount"], json!(3));
    assert_eq!(body["data"]["companies"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(body["pageInfo"]["hasPreviousPage"], json!(false));
    let ids: Vec<String> = body["data"]["companies"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(ids[0] < ids[1], "default order is id ascending");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["data", "totalCount", "pageInfo"]);
}

#[tokio::test]
async fn person_create_keeps_emails_phones_and_company() {
    let s = Sbx::start().await;
    let (_, c) = s.post("/rest/companies", json!({"name": "Acme"})).await;
    let company_id = c["data"]["createCompany"]["id"].clone();
    let (st, body) = s
        .post(
            "/rest/people",
            json!({"name": {"firstName": "Ada", "lastName": "Lovelace"},
                "emails": {"primaryEmail": "ada@ctr.example.com", "additionalEmails": ["ada.l@ctr.example.com"]},
                "phones": {"primaryPhoneNumber": "612345678", "primaryPhoneCountryCode": "FR", "primaryPhoneCallingCode": "+33",
                    "additionalPhones": [{"number": "5550100", "countryCode": "US", "callingCode": "+1"}]},
                "jobTitle": "Analyst", "city": "London", "companyId": company_id}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let p = &body["data"]["createPerson"];
    assert_eq!(p["companyId"], company_id);
    assert_eq!(
        serde_json::to_string(&p["phones"]["additionalPhones"]).unwrap_or_default(),
        r#"[{"number":"5550100","callingCode":"+1","countryCode":"US"}]"#,
        "jsonb key order"
    );
    let (st, list) = s.get("/rest/people").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["totalCount"], json!(1));
    assert_eq!(list["data"]["people"][0]["emails"]["primaryEmail"], json!("ada@ctr.example.com"));
}

#[tokio::test]
async fn workspace_members_come_from_the_configuration() {
    let config = ferry_twenty_sandbox::SandboxConfig {
        members: vec![
            ferry_twenty_sandbox::MemberSeed {
                first_name: "Ada".into(),
                last_name: "L".into(),
                email: "ada@x.example".into(),
            },
            ferry_twenty_sandbox::MemberSeed {
                first_name: "Bob".into(),
                last_name: "M".into(),
                email: "bob@x.example".into(),
            },
        ],
        rate_limit: None,
        ..Default::default()
    };
    let s = Sbx::with(config).await;
    let (st, body) = s.get("/rest/workspaceMembers").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["totalCount"], json!(2));
    let emails: Vec<&str> = body["data"]["workspaceMembers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["userEmail"].as_str())
        .collect();
    assert!(emails.contains(&"ada@x.example") && emails.contains(&"bob@x.example"), "{emails:?}");
    let m = &body["data"]["workspaceMembers"][0];
    assert_eq!(m["locale"], json!("en"));
    assert_eq!(m["colorScheme"], json!("System"));
    assert_eq!(m["calendarStartDay"], json!(7));
    assert!(m["userId"].is_string());
    assert!(m.get("createdBy").is_none());
}
