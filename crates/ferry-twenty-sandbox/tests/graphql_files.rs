//! /graphql: record connections, batch upsert, enum validation, not-emulated operations; files: multipart upload,
//! attachments pointing at the file, signed URLs that download without auth (77–83, 91–94).

mod common;

use common::Sbx;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn upload(s: &Sbx, query: &str, variables: Value) -> Value {
    let operations = json!({"query": query, "variables": variables});
    let form = Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            Part::bytes(b"hello from the sandbox\n".to_vec())
                .file_name("hello.txt")
                .mime_str("text/plain")
                .expect("mime"),
        );
    let resp = s
        .client
        .post(s.url("/graphql"))
        .bearer_auth(s.handle.api_key())
        .multipart(form)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn upload_attach_and_download_with_the_signed_url() {
    let s = Sbx::start().await;
    let v = upload(
        &s,
        "mutation UploadFile($file: Upload!, $fileFolder: FileFolder) { uploadFile(file: $file, fileFolder: $fileFolder) { path token } }",
        json!({"file": null, "fileFolder": "Attachment"}),
    )
    .await;
    let path = v["data"]["uploadFile"]["path"].as_str().expect("path").to_string();
    assert!(path.starts_with("attachment/") && path.ends_with(".txt"), "{path}");
    assert_eq!(v["data"]["uploadFile"]["token"].as_str().map(|t| t.split('.').count()), Some(3), "a JWT");

    let (_, c) = s.post("/rest/companies", json!({"name": "Acme"})).await;
    let cid = c["data"]["createCompany"]["id"].as_str().unwrap_or_default().to_string();
    let (st, a) = s
        .post(
            "/rest/attachments",
            json!({"name": "hello.txt", "fullPath": path, "fileCategory": "TEXT_DOCUMENT", "targetCompanyId": cid}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let att = &a["data"]["createAttachment"];
    assert!(att.get("targetCompanyId").is_none(), "morph columns are not returned in this build");
    let url = att["fullPath"].as_str().expect("fullPath").to_string();
    let file_name = path.trim_start_matches("attachment/");
    assert!(
        url.starts_with(&format!("{}/files/attachment/", s.handle.base_url())) && url.ends_with(file_name),
        "{url}"
    );

    let (_, found) = s.get(&format!("/rest/attachments?filter=targetCompanyId[eq]:{cid}")).await;
    assert_eq!(found["totalCount"], json!(1), "stored and filterable");

    let resp = s.client.get(&url).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-type").is_none(), "no content type, as recorded");
    assert_eq!(resp.text().await.expect("text"), "hello from the sandbox\n");

    let resp =
        s.client.get(s.url(&format!("/files/{path}"))).bearer_auth(s.handle.api_key()).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"statusCode": 400, "message": "Folder  is not allowed", "error": "Bad Request"}));
    let forged = url.replace("/files/attachment/", "/files/attachment/x").to_string();
    let resp = s.client.get(&forged).send().await.expect("answered");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Deleting the company cascades to its attachment (morph onDelete CASCADE).
    s.delete(&format!("/rest/companies/{cid}")).await;
    let (_, left) = s.get("/rest/attachments").await;
    assert_eq!(left["totalCount"], json!(0));
}

#[tokio::test]
async fn files_field_upload_and_the_recorded_delete_failure() {
    let s = Sbx::start().await;
    let v = upload(
        &s,
        "mutation U($file: Upload!) { uploadFilesFieldFile(file: $file) { id path size createdAt } }",
        json!({"file": null}),
    )
    .await;
    let f = &v["data"]["uploadFilesFieldFile"];
    let id = f["id"].as_str().expect("id").to_string();
    assert_eq!(f["path"], json!(format!("files-field/{id}.txt")));
    assert_eq!(f["size"], json!(23));
    let v = s
        .graphql(
            "mutation DeleteFile($fileId: UUID!) { deleteFile(fileId: $fileId) { id path } }",
            json!({"fileId": id}),
        )
        .await;
    assert_eq!(v["data"], json!(null));
    assert_eq!(v["errors"][0]["extensions"]["code"], json!("INTERNAL_SERVER_ERROR"));
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("Failed to delete file {id}: ENOENT"))
    );
}

#[tokio::test]
async fn graphql_connections_upsert_and_errors() {
    let s = Sbx::start().await;
    s.post(
        "/rest/companies",
        json!({"name": "CTR-Acme", "domainName": {"primaryLinkUrl": "https://acme.example.com"}, "employees": 9}),
    )
    .await;
    let v = s
        .graphql(
            "mutation CreateCompanies($data: [CompanyCreateInput!]!) { createCompanies(data: $data, upsert: true) { id name domainName { primaryLinkUrl } employees createdAt deletedAt } }",
            json!({"data": [{"name": "CTR-Acme via GraphQL", "domainName": {"primaryLinkUrl": "https://acme.example.com"}},
                            {"name": "CTR-New", "domainName": {"primaryLinkUrl": "https://new.example.com"}}]}),
        )
        .await;
    let rows = v["data"]["createCompanies"].as_array().expect("rows");
    assert_eq!(rows[0]["name"], json!("CTR-Acme via GraphQL"));
    assert_eq!(rows[0]["employees"], json!(9), "matched the existing domain");
    assert_eq!(rows[0]["domainName"], json!({"primaryLinkUrl": "https://acme.example.com"}));
    assert_eq!(rows[1]["employees"], json!(null));
    for i in 0..3 {
        s.post("/rest/companies", json!({"name": format!("CTR-Z{i}")})).await;
    }
    let q = "query Companies($after: String) { companies(first: 2, after: $after, filter: {name: {like: \"CTR-%\"}}, orderBy: [{name: AscNullsFirst}]) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name } } } }";
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let v = s.graphql(q, json!({"after": after})).await;
        let c = &v["data"]["companies"];
        assert_eq!(c["totalCount"], json!(5), "{v}");
        assert_eq!(c["pageInfo"]["hasPreviousPage"], json!(false));
        for e in c["edges"].as_array().expect("edges") {
            names.push(e["node"]["name"].as_str().unwrap_or_default().to_string());
            assert!(e["cursor"].is_string());
        }
        if c["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, vec!["CTR-Acme via GraphQL", "CTR-New", "CTR-Z0", "CTR-Z1", "CTR-Z2"]);

    let (st, v) = s.post("/graphql", json!({"query": "mutation { createOpportunity(data: {name: \"CTR-GraphQL Bad Stage\", stage: WON}) { id stage } }"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v,
        json!({"errors": [{"message": "Value \"WON\" does not exist in \"OpportunityStageEnum\" enum.", "locations": [{"line": 1, "column": 75}]}]})
    );
    let v = s.graphql("{ companies { edges { node { nope } } } }", json!({})).await;
    assert_eq!(v["errors"][0]["message"], json!("Cannot query field \"nope\" on type \"Company\"."));
    let v = s.graphql("mutation { mergeCompanies(ids: []) { id } }", json!({})).await;
    assert!(v["errors"][0]["message"].as_str().unwrap_or_default().contains("does not emulate"), "{v}");
    let v = s
        .graphql(
            "mutation { createPerson(data: {emails: {primaryEmail: \"a@b.example\"}}) { id emails { primaryEmail } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["createPerson"]["emails"]["primaryEmail"], json!("a@b.example"));
    let v =
        s.graphql("mutation { createPerson(data: {emails: {primaryEmail: \"a@b.example\"}}) { id } }", json!({})).await;
    assert_eq!(v["errors"][0]["message"], json!("A duplicate entry was detected"));
    assert_eq!(v["errors"][0]["extensions"]["code"], json!("BAD_USER_INPUT"));
}

#[tokio::test]
async fn metadata_graphql_creates_and_reads_fields() {
    let s = Sbx::start().await;
    let company = s.object_id("company").await;
    let v = s
        .metadata_graphql(
            "mutation C($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id name type isUnique options { value } } }",
            json!({"input": {"field": {"objectMetadataId": company, "type": "SELECT", "name": "tier", "label": "Tier",
                "options": [{"value": "GOLD", "label": "Gold", "color": "yellow", "position": 0}]}}}),
        )
        .await;
    let f = &v["data"]["createOneField"];
    assert_eq!(f["name"], json!("tier"));
    assert_eq!(f["options"], json!([{"value": "GOLD"}]));
    let id = f["id"].as_str().unwrap_or_default().to_string();
    let v = s
        .metadata_graphql(
            "mutation U($input: UpdateOneFieldMetadataInput!) { updateOneField(input: $input) { id label } }",
            json!({"input": {"id": id, "update": {"label": "Level"}}}),
        )
        .await;
    assert_eq!(v["data"]["updateOneField"]["label"], json!("Level"));
    let v = s
        .metadata_graphql("mutation D($id: UUID!) { deleteOneField(input: {id: $id}) { id } }", json!({"id": id}))
        .await;
    assert_eq!(v["data"]["deleteOneField"]["id"], json!(id));
}
