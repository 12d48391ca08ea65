//! The rate limit as recorded (97–99), fault injection (including commit-then-lose), persistence across restarts,
//! and the version settings (Morph target columns, FILES field).

mod common;

use std::time::Duration;

use common::Sbx;
use ferry_twenty_sandbox::{FaultConfig, RateLimitConfig, SandboxConfig, SandboxHandle, TargetColumns};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn limited(tokens: u32, secs: u64) -> SandboxConfig {
    SandboxConfig {
        rate_limit: Some(RateLimitConfig { tokens, window: Duration::from_secs(secs) }),
        ..Default::default()
    }
}

#[tokio::test]
async fn hundred_calls_pass_then_429_and_the_bucket_refills_with_the_clock() {
    let s = Sbx::with(SandboxConfig::default()).await;
    for i in 0..100 {
        let (st, _) = s.get("/rest/companies?limit=1").await;
        assert_eq!(st, StatusCode::OK, "call {i}");
    }
    let resp =
        s.client.get(s.url("/rest/companies?limit=1")).bearer_auth(s.handle.api_key()).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_none());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"statusCode": 429, "error": "HttpException", "messages": ["Limit reached (100 tokens per 60000 ms)"]})
    );
    // Not counted: metadata REST, /metadata, files.
    let (st, _) = s.get("/rest/metadata/objects").await;
    assert_eq!(st, StatusCode::OK);
    let v = s.metadata_graphql("{ objects(paging: {first: 1}) { totalCount } }", json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    // GraphQL reports the limit as HTTP 200 with errors (98).
    let v = s.graphql("{ companies(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(
        v,
        json!({"errors": [{"message": "Limit reached (100 tokens per 60000 ms)", "extensions": {"subCode": "LIMIT_REACHED",
            "userFriendlyMessage": "Rate limit reached. Please try again later.", "code": "BAD_USER_INPUT"}}], "data": {"companies": null}})
    );
    s.handle.advance_clock(Duration::from_secs(61));
    let (st, _) = s.get("/rest/companies").await;
    assert_eq!(st, StatusCode::OK, "61 s later the bucket is full again");
    let stats = s.handle.stats();
    assert_eq!(stats.rate_limited, 2);
    assert!(stats.counted_requests >= 103);
}

#[tokio::test]
async fn one_token_per_call_whatever_the_batch_size_and_no_refill_between_fast_calls() {
    let s = Sbx::with(limited(3, 3)).await;
    let batch: Vec<Value> = (0..150).map(|i| json!({"name": format!("B{i}")})).collect();
    let (st, _) = s.post("/rest/batch/companies", Value::Array(batch)).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(s.get("/rest/companies").await.0, StatusCode::OK);
    assert_eq!(s.get("/rest/companies").await.0, StatusCode::OK);
    let (st, body) = s.get("/rest/companies").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["messages"], json!(["Limit reached (3 tokens per 3000 ms)"]));
    for _ in 0..5 {
        s.handle.advance_clock(Duration::from_millis(900));
        assert_eq!(
            s.get("/rest/companies").await.0,
            StatusCode::TOO_MANY_REQUESTS,
            "refill is rounded down at every request"
        );
    }
    s.handle.advance_clock(Duration::from_millis(1000));
    assert_eq!(s.get("/rest/companies").await.0, StatusCode::OK, "one full refill interval gives one token");
}

#[tokio::test]
async fn injected_errors_and_lost_connections_do_no_work() {
    let s = Sbx::start().await;
    s.handle.set_faults(FaultConfig { server_error: 1.0, seed: 1, ..Default::default() });
    let (st, _) = s.post("/rest/companies", json!({"name": "never"})).await;
    assert!([500, 502, 503].contains(&st.as_u16()), "{st}");
    s.handle.set_faults(FaultConfig { rate_limited: 1.0, ..Default::default() });
    let (st, body) = s.post("/rest/companies", json!({"name": "never"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["messages"], json!(["Limit reached (100 tokens per 60000 ms)"]));
    s.handle.set_faults(FaultConfig { drop_connection: 1.0, ..Default::default() });
    let err = s
        .client
        .post(s.url("/rest/companies"))
        .bearer_auth(s.handle.api_key())
        .json(&json!({"name": "never"}))
        .send()
        .await;
    assert!(err.is_err(), "the connection is closed without an answer");
    s.handle.set_faults(FaultConfig { timeout: 1.0, ..Default::default() });
    let err = s
        .client
        .post(s.url("/rest/companies"))
        .bearer_auth(s.handle.api_key())
        .timeout(Duration::from_millis(300))
        .json(&json!({"name": "never"}))
        .send()
        .await;
    assert!(err.as_ref().is_err_and(reqwest::Error::is_timeout), "{err:?}");
    s.handle.set_faults(FaultConfig::default());
    let (_, list) = s.get("/rest/companies").await;
    assert_eq!(list["totalCount"], json!(0), "no fault did the work");
    assert!(s.handle.stats().faults_injected >= 4);
}

#[tokio::test]
async fn commit_then_lose_really_commits() {
    let s = Sbx::start().await;
    s.handle.set_faults(FaultConfig { commit_then_lose: 1.0, ..Default::default() });
    let sent = s
        .client
        .post(s.url("/rest/companies"))
        .bearer_auth(s.handle.api_key())
        .json(&json!({"id": "0c0ffee0-0000-4000-8000-000000000042", "name": "committed"}))
        .send()
        .await;
    assert!(sent.is_err(), "the answer is lost");
    s.handle.set_faults(FaultConfig::default());
    let (st, got) = s.get("/rest/companies/0c0ffee0-0000-4000-8000-000000000042").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["data"]["company"]["name"], json!("committed"));
    let snap = s.handle.snapshot();
    assert_eq!(snap["records"]["company"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn faults_are_deterministic_from_the_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let s = Sbx::start().await;
        s.handle.set_faults(FaultConfig { server_error: 0.5, seed, ..Default::default() });
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(s.get("/rest/companies").await.0.as_u16());
        }
        out
    }
    let a = statuses(9).await;
    assert_eq!(a, statuses(9).await);
    assert!(a.contains(&200) && a.iter().any(|s| *s >= 500), "{a:?}");
}

#[tokio::test]
async fn state_survives_a_restart_and_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sandbox.sqlite");
    let config = || SandboxConfig {
        state_file: Some(file.clone()),
        rate_limit: None,
        api_key: "k".into(),
        ..Default::default()
    };
    let s = Sbx::with(config()).await;
    let company = s.object_id("company").await;
    let (st, _) = s
        .post(
            "/rest/metadata/fields",
            json!({"objectMetadataId": company, "type": "TEXT", "name": "legacyId", "label": "Legacy"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, c) = s
        .post(
            "/rest/companies",
            json!({"name": "Kept", "legacyId": "L-1", "domainName": {"primaryLinkUrl": "https://kept.example.com"}}),
        )
        .await;
    let id = c["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    let before = s.handle.snapshot();
    s.handle.shutdown().await.expect("shutdown");

    let s = Sbx::with(config()).await;
    let (st, got) = s.get(&format!("/rest/companies/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["data"]["company"]["legacyId"], json!("L-1"));
    let (st, _) =
        s.post("/rest/companies", json!({"domainName": {"primaryLinkUrl": "https://kept.example.com"}})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "unique indexes are rebuilt on load");
    assert_eq!(s.handle.snapshot()["records"]["company"], before["records"]["company"]);
    // A crash (no shutdown): every committed write is already in the file.
    let (_, c2) = s.post("/rest/companies", json!({"name": "After restart"})).await;
    let id2 = c2["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    drop(s);
    let s = Sbx::with(config()).await;
    let (st, _) = s.get(&format!("/rest/companies/{id2}")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get("/rest/companies").await;
    assert_eq!(list["totalCount"], json!(2));
}

#[tokio::test]
async fn morph_target_columns_and_files_field_settings() {
    let config = SandboxConfig {
        target_columns: TargetColumns::Morph,
        files_field: true,
        rate_limit: None,
        ..Default::default()
    };
    let s = Sbx::with(config).await;
    let (_, c) = s.post("/rest/companies", json!({"name": "Acme"})).await;
    let cid = c["data"]["createCompany"]["id"].clone();
    let (_, n) = s.post("/rest/notes", json!({"title": "N"})).await;
    let nid = n["data"]["createNote"]["id"].clone();
    let (st, t) = s.post("/rest/noteTargets", json!({"noteId": nid, "targetCompanyId": cid})).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["data"]["createNoteTarget"]["targetCompanyId"], cid);
    let (st, _) = s.post("/rest/noteTargets", json!({"noteId": nid, "companyId": cid})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "the plain column does not exist on newer servers");
    let (_, found) =
        s.get(&format!("/rest/noteTargets?filter=targetCompanyId[eq]:{}", cid.as_str().unwrap_or_default())).await;
    assert_eq!(found["totalCount"], json!(1));
    let (_, meta) = s.get("/rest/metadata/objects").await;
    let attachment = meta["data"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["nameSingular"] == "attachment")
        .expect("attachment");
    let file =
        attachment["fields"].as_array().expect("fields").iter().find(|f| f["name"] == "file").expect("file field");
    assert_eq!(file["type"], json!("FILES"));
    let (st, a) = s
        .post(
            "/rest/attachments",
            json!({"name": "x", "file": [{"fileId": "f1", "label": "x.txt"}], "targetCompanyId": cid}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["data"]["createAttachment"]["file"], json!([{"label": "x.txt", "fileId": "f1"}]));
    assert_eq!(a["data"]["createAttachment"]["targetCompanyId"], cid, "newer servers return morph columns");

    // The recorded default has neither.
    let s = Sbx::start().await;
    let (st, _) = s.post("/rest/noteTargets", json!({"targetCompanyId": cid})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.post("/rest/attachments", json!({"file": []})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn handle_reports_its_address_and_key() {
    let h = SandboxHandle::start(SandboxConfig::default()).await.expect("starts");
    assert!(h.api_key().starts_with("sbx_"));
    assert_eq!(h.base_url(), format!("http://{}", h.addr()));
    assert_ne!(h.addr().port(), 0);
    h.shutdown().await.expect("stops");
}
