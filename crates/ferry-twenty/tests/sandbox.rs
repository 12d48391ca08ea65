//! The client against a running sandbox: every sandbox behaviour the client relies on, pinned through the client.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use common::{client, client_with, companies, rows, sandbox};
use ferry_twenty::{
    CompositeKind, DeleteMode, ErrorKind, FieldType, Filter, ListQuery, NewAttachment, NewField, NewObject, NewOption,
    NewRelation, OrderBy, RateLimit, RecordOutcome, RecordRef, SchemaDetail, WriteMode,
};
use ferry_twenty_sandbox::{FaultConfig, MemberSeed, RateLimitConfig, TargetColumns};
use futures::TryStreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

fn id_of(v: &serde_json::Map<String, Value>) -> Uuid {
    Uuid::parse_str(v["id"].as_str().expect("id")).expect("uuid")
}

#[tokio::test]
async fn schema_is_discovered_from_metadata() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let schema = c.schema();
    assert_eq!(schema.detail, SchemaDetail::Full, "the /metadata GraphQL details were merged");
    for (singular, plural) in [
        ("company", "companies"),
        ("person", "people"),
        ("opportunity", "opportunities"),
        ("task", "tasks"),
        ("note", "notes"),
        ("noteTarget", "noteTargets"),
        ("taskTarget", "taskTargets"),
        ("attachment", "attachments"),
        ("workspaceMember", "workspaceMembers"),
    ] {
        let o = schema.object(singular).unwrap_or_else(|| panic!("{singular} discovered"));
        assert_eq!(o.name_plural, plural);
        assert_eq!(schema.object(plural).map(|o| o.id), Some(o.id));
    }
    let company = schema.object("company").unwrap();
    let domain = company.field("domainName").unwrap();
    assert_eq!(domain.field_type, FieldType::Links);
    assert!(domain.is_unique, "isUnique comes from the GraphQL details");
    assert_eq!(domain.field_type.composite(), Some(CompositeKind::Links));
    assert_eq!(company.field("annualRecurringRevenue").unwrap().field_type, FieldType::Currency);
    assert_eq!(company.field("accountOwner").unwrap().join_column.as_deref(), Some("accountOwnerId"));
    assert!(schema.object("person").unwrap().field("emails").unwrap().is_unique);
    let stage = schema.object("opportunity").unwrap().field("stage").unwrap();
    assert_eq!(stage.field_type, FieldType::Select);
    assert_eq!(stage.option_values(), "NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER");
    let status = schema.object("task").unwrap().field("status").unwrap();
    assert!(status.has_option("TODO") && status.has_option("DONE"));
    assert_eq!(schema.object("task").unwrap().field("bodyV2").unwrap().field_type, FieldType::RichTextV2);
    // Recorded build: plain note/task target columns, morph attachment columns, no FILES field.
    let nt = schema.link_column("noteTarget", "company").unwrap();
    assert_eq!((nt.column.as_str(), nt.morph), ("companyId", false));
    let at = schema.link_column("attachment", "company").unwrap();
    assert_eq!((at.column.as_str(), at.morph), ("targetCompanyId", true));
    assert!(!c.attachments_use_files_field());
    // Metadata calls are not counted by the server's limit.
    assert_eq!(sbx.stats().counted_requests, 0);
}

#[tokio::test]
async fn paging_reads_every_record_with_total_count() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let out = c.create_batch_idempotent("companies", companies("Page", 450), WriteMode::Create).await.unwrap();
    assert_eq!(out.written(), 450);
    assert_eq!(c.metrics().counted_requests, 3, "450 records in batches of 200");

    let pages: Vec<_> = c.pages("company", ListQuery::default()).try_collect().await.unwrap();
    assert_eq!(pages.len(), 3, "pages of 200, 200, 50");
    assert!(pages.iter().all(|p| p.total_count == Some(450)));
    let all = c.list_all("companies", ListQuery::default()).await.unwrap();
    let ids: HashSet<Uuid> = all.iter().map(id_of).collect();
    assert_eq!((all.len(), ids.len()), (450, 450), "every record once");
    assert_eq!(c.count("company", None).await.unwrap(), 450);

    // A page size above the server's clamp still reads everything (the server clamps silently to 200).
    let big = ListQuery { page_size: Some(500), ..ListQuery::default() };
    let pages: Vec<_> = c.pages("company", big).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.records.len()).collect::<Vec<_>>(), vec![200, 200, 50]);

    // Filter and order go through.
    let q = ListQuery {
        filter: Some(Filter::and([Filter::like("name", "Page 01%"), Filter::gte("employees", 105)])),
        order_by: vec![OrderBy::desc("employees")],
        page_size: Some(2),
        ..ListQuery::default()
    };
    let got = c.list_all("company", q).await.unwrap();
    let employees: Vec<i64> = got.iter().map(|r| r["employees"].as_i64().unwrap()).collect();
    assert_eq!(employees, (105..200).rev().collect::<Vec<i64>>());
}

#[tokio::test]
async fn batch_cap_is_detected_and_respected() {
    // The client is configured above the server's cap: the first batch is refused with
    // "Maximum number of records to upsert is 200." and the client shrinks to 200.
    let sbx = sandbox(|_| {}).await;
    let c = client_with(&sbx, |o| o.batch_size = 500).await;
    let out = c.create_batch_idempotent("company", companies("Cap", 450), WriteMode::Create).await.unwrap();
    assert_eq!(out.written(), 450);
    assert_eq!(c.batch_cap(), 200);
    assert_eq!(rows(&sbx, "company").len(), 450);
    // One refused call of 450, then 200 + 200 + 50.
    assert_eq!(c.metrics().counted_requests, 4);
}

#[tokio::test]
async fn cloud_like_batch_cap_60_is_detected() {
    let sbx = sandbox(|c| c.batch_max = 60).await;
    let c = client(&sbx).await;
    let written = c.create_batch("company", companies("Cloud", 130), WriteMode::Create).await.unwrap();
    assert_eq!(written.len(), 130);
    assert_eq!(c.batch_cap(), 60);
    // 1 refused call of 130, then 60 + 60 + 10.
    assert_eq!(c.metrics().counted_requests, 4);
    // Later calls use the learned cap at once.
    let before = c.metrics().counted_requests;
    let out = c.create_batch_idempotent("company", companies("Later", 120), WriteMode::Create).await.unwrap();
    assert_eq!(out.written(), 120);
    assert_eq!(c.metrics().counted_requests - before, 2);
}

#[tokio::test]
async fn upsert_matches_unique_values_and_restores_soft_deleted() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let first = c
        .create_one(
            "company",
            json!({"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example.com"}}),
            WriteMode::Create,
        )
        .await
        .unwrap();
    let id = id_of(&first);

    // Upsert on the same domain updates the same record.
    let up = c
        .create_batch_idempotent(
            "company",
            vec![json!({"name": "Acme Upserted", "domainName": {"primaryLinkUrl": "https://acme.example.com"}, "employees": 9})],
            WriteMode::Upsert,
        )
        .await
        .unwrap();
    match &up.outcomes[0] {
        RecordOutcome::Written(r) => {
            assert_eq!(id_of(r), id, "matched the existing record");
            assert_eq!(r["name"], "Acme Upserted");
        }
        other => panic!("expected a write, got {other:?}"),
    }

    // Soft-delete it; a plain create with the same domain is a duplicate naming the unique field.
    assert!(c.delete_one("company", id, DeleteMode::Soft).await.unwrap());
    let dup = c
        .create_batch_idempotent(
            "company",
            vec![json!({"name": "Acme Twin", "domainName": {"primaryLinkUrl": "https://acme.example.com"}})],
            WriteMode::Create,
        )
        .await
        .unwrap();
    let (index, err) = dup.rejected()[0];
    assert_eq!(index, 0);
    assert_eq!(err.kind, ErrorKind::Duplicate);
    assert_eq!(err.field.as_deref(), Some("domainName.primaryLinkUrl"));
    assert_eq!(err.value.as_deref(), Some("https://acme.example.com"));
    assert!(err.hint.as_deref().unwrap().contains("Upsert"), "{err}");

    // Upsert restores the soft-deleted record with the same id.
    let restored = c
        .create_one(
            "company",
            json!({"name": "Acme Back", "domainName": {"primaryLinkUrl": "https://acme.example.com"}}),
            WriteMode::Upsert,
        )
        .await
        .unwrap();
    assert_eq!(id_of(&restored), id);
    assert!(restored["deletedAt"].is_null());
    assert_eq!(c.get("company", id).await.unwrap().unwrap()["name"], "Acme Back");
    assert_eq!(rows(&sbx, "company").len(), 1, "no second company");
}

#[tokio::test]
async fn update_merges_composite_sub_fields() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let r = c
        .create_one(
            "company",
            json!({"name": "Merge", "address": {"addressStreet1": "1 Rue de Rivoli", "addressCity": "Paris"}}),
            WriteMode::Create,
        )
        .await
        .unwrap();
    let id = id_of(&r);
    let updated = c.update_one("company", id, json!({"address": {"addressCity": "Lyon"}})).await.unwrap();
    assert_eq!(updated["address"]["addressCity"], "Lyon");
    assert_eq!(updated["address"]["addressStreet1"], "1 Rue de Rivoli", "other sub-fields are kept");
    assert_eq!(c.metrics().records_written, 2);
}

#[tokio::test]
async fn delete_hard_soft_and_restore() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let out = c.create_batch_idempotent("company", companies("Del", 5), WriteMode::Create).await.unwrap();
    let ids: Vec<Uuid> = out.outcomes.iter().map(|o| o.id().unwrap()).collect();

    // Soft delete: hidden from get and list, listed with a deletedAt filter, restorable by filter.
    assert!(c.delete_one("company", ids[0], DeleteMode::Soft).await.unwrap());
    assert!(c.get("company", ids[0]).await.unwrap().is_none());
    assert_eq!(c.count("company", None).await.unwrap(), 4);
    let trash = c.list_all("company", ListQuery::filtered(Filter::not_null("deletedAt"))).await.unwrap();
    assert_eq!(trash.iter().map(id_of).collect::<Vec<_>>(), vec![ids[0]]);
    let restored = c.restore_by_filter("company", &Filter::eq("id", ids[0])).await.unwrap();
    assert_eq!(restored.len(), 1);
    assert!(c.get("company", ids[0]).await.unwrap().is_some());

    // Hard delete: gone from the store; deleting again reports false, not an error.
    assert!(c.delete_one("company", ids[1], DeleteMode::Hard).await.unwrap());
    assert!(!c.delete_one("company", ids[1], DeleteMode::Hard).await.unwrap());
    assert_eq!(rows(&sbx, "company").len(), 4);

    // Delete by filter, soft then hard.
    let soft = c.delete_by_filter("company", &Filter::ids(&ids[2..4]), DeleteMode::Soft).await.unwrap();
    assert_eq!(soft.len(), 2);
    assert_eq!(rows(&sbx, "company").len(), 4, "soft-deleted rows stay in the store");
    let hard = c.delete_by_filter("company", &Filter::like("name", "Del %"), DeleteMode::Hard).await.unwrap();
    assert_eq!(hard.len(), 2, "live rows only: soft-deleted rows are hidden unless the filter names deletedAt");
    let existing = c.existing_ids("company", &ids, true).await.unwrap();
    assert_eq!(existing, ids[2..4].iter().copied().collect::<HashSet<_>>());
}

#[tokio::test]
async fn fields_and_options_are_created_and_updated() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let text = c.create_field(NewField::new("company", "legacyId", "Legacy id", FieldType::Text)).await.unwrap();
    assert!(text.is_custom);
    assert_eq!(c.schema().object("company").unwrap().field("legacyId").unwrap().id, text.id, "schema refreshed");

    let tier = c
        .create_field(
            NewField::new("company", "tier", "Tier", FieldType::Select)
                .with_options(vec![NewOption::new("GOLD", "Gold"), NewOption::new("SILVER", "Silver")]),
        )
        .await
        .unwrap();
    let gold_id = tier.options[0].id.clone().unwrap();

    // Full-list replace keeps the ids of values that stay.
    let updated = c
        .set_field_options(
            "company",
            "tier",
            vec![
                NewOption::new("GOLD", "Gold"),
                NewOption::new("SILVER", "Silver"),
                NewOption::new("PLATINUM", "Platinum"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.option_values(), "GOLD, SILVER, PLATINUM");
    assert_eq!(updated.options[0].id.as_deref(), Some(gold_id.as_str()));
    // Adding an existing option changes nothing and sends nothing.
    let before = c.metrics().requests;
    c.add_field_options("company", "tier", vec![NewOption::new("GOLD", "Gold")]).await.unwrap();
    assert_eq!(c.metrics().requests, before);

    // A value Twenty would refuse is refused before sending.
    let err = c
        .create_field(
            NewField::new("company", "status", "Status", FieldType::Select)
                .with_options(vec![NewOption::new("on-hold", "On hold")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(err.value.as_deref(), Some("on-hold"));
    assert!(err.hint.as_deref().unwrap().contains("ON_HOLD"));
    assert_eq!(c.metrics().requests, before);

    // A duplicate field name is refused by the server; the error names the object and field.
    let err = c.create_field(NewField::new("company", "legacyId", "Again", FieldType::Text)).await.unwrap_err();
    assert_eq!(err.status, Some(400));
    assert_eq!((err.object.as_deref(), err.field.as_deref()), (Some("company"), Some("legacyId")));

    // Records use the new fields; a value outside the options is rejected naming the allowed ones.
    let out = c
        .create_batch_idempotent(
            "company",
            vec![
                json!({"name": "Ok", "tier": "PLATINUM", "legacyId": "L1"}),
                json!({"name": "Bad", "tier": "DIAMOND"}),
            ],
            WriteMode::Create,
        )
        .await
        .unwrap();
    assert_eq!(out.written(), 1);
    let (i, err) = out.rejected()[0];
    assert_eq!(i, 1);
    assert_eq!(err.kind, ErrorKind::InvalidValue);
    assert_eq!((err.field.as_deref(), err.value.as_deref()), (Some("tier"), Some("DIAMOND")));
    assert!(err.hint.as_deref().unwrap().contains("GOLD, SILVER, PLATINUM"), "{err}");

    c.delete_field("company", "legacyId").await.unwrap();
    assert!(c.schema().object("company").unwrap().field("legacyId").is_none());
}

#[tokio::test]
async fn custom_object_and_relation_field() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let widget = c
        .create_object(NewObject {
            name_singular: "widget".into(),
            name_plural: "widgets".into(),
            label_singular: "Widget".into(),
            label_plural: "Widgets".into(),
            description: None,
            icon: None,
        })
        .await
        .unwrap();
    assert!(widget.is_custom);
    let rel = c
        .create_relation(NewRelation {
            object: "widget".into(),
            name: "company".into(),
            label: "Company".into(),
            target: "company".into(),
            target_field_label: "Widgets".into(),
            target_field_icon: None,
            icon: None,
        })
        .await
        .unwrap();
    assert_eq!(rel.field_type, FieldType::Relation);
    let schema = c.schema();
    assert_eq!(schema.link_column("widget", "company").unwrap().column, "companyId");
    // A new object adds a target column to noteTargets (recorded in 73).
    assert_eq!(schema.link_column("noteTarget", "widget").unwrap().column, "widgetId");

    let co = c.create_one("company", json!({"name": "Parent"}), WriteMode::Create).await.unwrap();
    let w = c.create_one("widgets", json!({"name": "W1", "companyId": co["id"]}), WriteMode::Create).await.unwrap();
    assert_eq!(w["companyId"], co["id"]);
    assert_eq!(c.list_all("widget", ListQuery::default()).await.unwrap().len(), 1);

    c.delete_object("widget").await.unwrap();
    assert!(c.schema().object("widget").is_none());
    let err = c.list_all("widget", ListQuery::default()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownObject);
}

#[tokio::test]
async fn members_are_listed() {
    let sbx = sandbox(|c| {
        c.members = vec![
            MemberSeed { first_name: "Ada".into(), last_name: "Lovelace".into(), email: "ada@example.com".into() },
            MemberSeed { first_name: "Alan".into(), last_name: "Turing".into(), email: "alan@example.com".into() },
        ]
    })
    .await;
    let c = client(&sbx).await;
    let mut members = c.workspace_members().await.unwrap();
    members.sort_by(|a, b| a.email.cmp(&b.email));
    assert_eq!(members.len(), 2);
    assert_eq!((members[0].email.as_str(), members[0].first_name.as_str()), ("ada@example.com", "Ada"));
    assert_eq!(members[1].last_name, "Turing");
}

#[tokio::test]
async fn file_upload_attachment_and_download() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let co = c.create_one("company", json!({"name": "Files"}), WriteMode::Create).await.unwrap();
    let content = Bytes::from_static(b"hello from ferry\n");
    let file = c.upload_file("hello.txt", "text/plain", content.clone()).await.unwrap();
    assert!(file.path.starts_with("attachment/"), "{}", file.path);
    let att = c
        .create_attachment(&NewAttachment {
            id: None,
            name: "hello.txt".into(),
            file,
            target_object: "company".into(),
            target_id: id_of(&co),
        })
        .await
        .unwrap();
    assert_eq!(att["fileCategory"], "TEXT_DOCUMENT");
    // The morph target column is stored and filterable although REST bodies leave it out.
    let found = c.list_all("attachment", ListQuery::filtered(Filter::eq("targetCompanyId", id_of(&co)))).await.unwrap();
    assert_eq!(found.len(), 1);
    let signed = found[0]["fullPath"].as_str().unwrap();
    assert!(signed.starts_with("http"), "fullPath reads back as a signed URL: {signed}");
    let downloaded = c.download_file(signed).await.unwrap();
    assert_eq!(downloaded, content);
}

#[tokio::test]
async fn validation_errors_are_classified_with_object_field_and_value() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let out = c
        .create_batch_idempotent(
            "company",
            vec![
                json!({"name": "Good 1"}),
                json!({"name": "Unknown", "notAField": "x"}),
                json!({"name": "Bad domain", "domainName": "ctr-bad.example.com"}),
                json!({"name": "Bad currency", "annualRecurringRevenue": {"amount": "lots", "currencyCode": "EUR"}}),
                json!({"name": "Good 2"}),
            ],
            WriteMode::Create,
        )
        .await
        .unwrap();
    assert_eq!(out.written(), 2, "the valid records are written");
    let rejected = out.rejected();
    assert_eq!(rejected.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 2, 3]);
    let unknown = rejected[0].1;
    assert_eq!((unknown.kind.clone(), unknown.field.as_deref()), (ErrorKind::UnknownField, Some("notAField")));
    assert_eq!(unknown.object.as_deref(), Some("company"));
    assert!(matches!(unknown.record, Some(RecordRef::IndexAndId(1, _))));
    let bad_domain = rejected[1].1;
    assert_eq!(bad_domain.kind, ErrorKind::InvalidValue);
    assert_eq!(
        (bad_domain.field.as_deref(), bad_domain.value.as_deref()),
        (Some("domainName"), Some("ctr-bad.example.com"))
    );
    assert!(bad_domain.hint.as_deref().unwrap().contains("primaryLinkUrl"), "{bad_domain}");
    assert_eq!(rejected[2].1.field.as_deref(), Some("annualRecurringRevenue"));

    let err = c
        .create_one("person", json!({"name": {"firstName": "X"}, "companyId": "not-a-uuid"}), WriteMode::Create)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind.clone(), err.field.as_deref(), err.value.as_deref()),
        (ErrorKind::InvalidValue, Some("companyId"), Some("not-a-uuid"))
    );
    assert!(!err.is_transient());
    let err = c.create_one("opportunity", json!({"name": "O", "stage": "WON"}), WriteMode::Create).await.unwrap_err();
    assert!(err.to_string().contains("NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER"), "{err}");
    let err = c.list_all("company", ListQuery::filtered(Filter::eq("nope", 1))).await.unwrap_err();
    assert_eq!((err.kind.clone(), err.field.as_deref()), (ErrorKind::UnknownField, Some("nope")));
}

#[tokio::test]
async fn missing_relation_target_is_not_retried() {
    let sbx = sandbox(|_| {}).await;
    let c = client(&sbx).await;
    let ghost = "0c0ffee0-dead-4c00-8000-00000000beef";
    let before = sbx.stats().counted_requests;
    let err = c
        .create_one("person", json!({"name": {"firstName": "Ghost"}, "companyId": ghost}), WriteMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::MissingRelationTarget);
    assert_eq!(err.status, Some(500));
    assert!(!err.is_transient());
    assert_eq!(err.attempts, 1);
    assert_eq!(c.metrics().retries, 0);
    assert_eq!((err.field.as_deref(), err.value.as_deref()), (Some("companyId"), Some(ghost)));
    assert!(err.hint.as_deref().unwrap().contains("no company with id"), "{err}");
    // One create, not retried, plus two look-ups of the company (live and trashed) to name the field.
    assert_eq!(sbx.stats().counted_requests - before, 3);

    // In a batch, the bad record is isolated and the others written.
    let co = c.create_one("company", json!({"name": "Real"}), WriteMode::Create).await.unwrap();
    let people: Vec<Value> = (0..6)
        .map(|i| json!({"name": {"firstName": format!("P{i}")}, "companyId": if i == 4 { json!(ghost) } else { co["id"].clone() }}))
        .collect();
    let out = c.create_batch_idempotent("person", people, WriteMode::Create).await.unwrap();
    assert_eq!(out.written(), 5);
    assert_eq!(out.rejected()[0].0, 4);
    assert_eq!(out.rejected()[0].1.kind, ErrorKind::MissingRelationTarget);
}

#[tokio::test]
async fn transient_faults_are_retried_until_success() {
    let sbx = sandbox(|_| {}).await;
    let c = client_with(&sbx, |o| {
        o.request_timeout = Duration::from_millis(300);
        o.retry.max_retries = 12;
    })
    .await;
    sbx.set_faults(FaultConfig {
        server_error: 0.15,
        rate_limited: 0.15,
        timeout: 0.1,
        drop_connection: 0.1,
        seed: 2,
        ..FaultConfig::default()
    });
    let out = c.create_batch_idempotent("company", companies("Faulty", 400), WriteMode::Create).await.unwrap();
    assert_eq!(out.written() + out.present(), 400);
    assert!(out.rejected().is_empty());
    let all = c.list_all("company", ListQuery { page_size: Some(50), ..ListQuery::default() }).await.unwrap();
    assert_eq!(all.len(), 400);
    let id = id_of(&all[0]);
    let updated = c.update_one("company", id, json!({"employees": 12345})).await.unwrap();
    assert_eq!(updated["employees"], 12345);
    sbx.set_faults(FaultConfig::default());
    assert_eq!(rows(&sbx, "company").len(), 400, "no duplicates, nothing missing");
    let m = c.metrics();
    assert!(m.retries > 0 && m.rate_limited > 0 && m.server_errors > 0, "{m:?}");
    assert!(m.timeouts > 0 && m.connection_errors > 0, "timeouts and dropped connections were met: {m:?}");
    assert!(sbx.stats().faults_injected > 0);
}

#[tokio::test]
async fn commit_then_lose_is_reconciled_without_duplicates() {
    let sbx = sandbox(|_| {}).await;
    let c = client_with(&sbx, |o| o.batch_size = 50).await;
    sbx.set_faults(FaultConfig { commit_then_lose: 0.4, seed: 11, ..FaultConfig::default() });
    let records = companies("Lost", 300);
    let out = c.create_batch_idempotent("company", records, WriteMode::Create).await.unwrap();
    sbx.set_faults(FaultConfig::default());
    assert!(out.rejected().is_empty(), "{:?}", out.rejected());
    assert_eq!(out.written() + out.present(), 300);
    assert!(out.present() > 0, "some answers were lost and reconciled");
    assert!(c.metrics().reconciliations > 0);
    let stored = rows(&sbx, "company");
    assert_eq!(stored.len(), 300, "every record exactly once");
    let names: HashSet<&str> = stored.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 300);
    // The ids the client reports are the ids stored.
    let reported: HashSet<Uuid> = out.outcomes.iter().map(|o| o.id().unwrap()).collect();
    let stored_ids: HashSet<Uuid> =
        stored.iter().map(|r| Uuid::parse_str(r["id"].as_str().unwrap()).unwrap()).collect();
    assert_eq!(reported, stored_ids);

    // Running the same load again (as after a crash) writes nothing new.
    let again: Vec<Value> = out
        .outcomes
        .iter()
        .zip(companies("Lost", 300))
        .map(|(o, mut r)| {
            r["id"] = json!(o.id().unwrap().to_string());
            r
        })
        .collect();
    let out2 = c.create_batch_idempotent("company", again, WriteMode::Create).await.unwrap();
    assert_eq!((out2.written(), out2.present()), (0, 300));
    assert_eq!(rows(&sbx, "company").len(), 300);
}

#[tokio::test]
async fn upsert_batches_survive_lost_answers() {
    let sbx = sandbox(|_| {}).await;
    let c = client_with(&sbx, |o| o.batch_size = 40).await;
    sbx.set_faults(FaultConfig { commit_then_lose: 0.4, seed: 3, ..FaultConfig::default() });
    let out = c.create_batch_idempotent("company", companies("Ups", 200), WriteMode::Upsert).await.unwrap();
    sbx.set_faults(FaultConfig::default());
    assert_eq!(out.written(), 200);
    assert_eq!(rows(&sbx, "company").len(), 200);
}

#[tokio::test]
async fn rate_limiter_keeps_the_client_under_the_server_limit() {
    // Server: 100 tokens per second. A client limited to the same rate makes 130 counted calls without one 429.
    let limit = RateLimitConfig { tokens: 100, window: Duration::from_secs(1) };
    let sbx = sandbox(|c| c.rate_limit = Some(limit)).await;
    let c = client_with(&sbx, |o| {
        o.rate_limit = Some(RateLimit { margin_percent: 5, ..RateLimit::new(100, Duration::from_secs(1)) })
    })
    .await;
    for _ in 0..130 {
        c.count("company", None).await.unwrap();
    }
    let stats = sbx.stats();
    assert!(stats.counted_requests >= 130, "{stats:?}");
    assert_eq!(stats.rate_limited, 0, "the server never had to refuse a call");
    assert_eq!(c.metrics().rate_limited, 0);

    // Control: without the client's limiter the same run is refused by the server and must retry.
    let sbx2 = sandbox(|c| c.rate_limit = Some(limit)).await;
    let c2 = client(&sbx2).await;
    for _ in 0..130 {
        c2.count("company", None).await.unwrap();
    }
    assert!(sbx2.stats().rate_limited > 0, "{:?}", sbx2.stats());
    assert!(c2.metrics().rate_limited > 0 && c2.metrics().retries > 0);
}

#[tokio::test]
async fn morph_target_columns_are_used_when_the_server_has_them() {
    let sbx = sandbox(|c| c.target_columns = TargetColumns::Morph).await;
    let c = client(&sbx).await;
    let link = c.schema().link_column("noteTarget", "company").unwrap();
    assert_eq!((link.column.as_str(), link.morph), ("targetCompanyId", true));
    let co = c.create_one("company", json!({"name": "Morph"}), WriteMode::Create).await.unwrap();
    let note =
        c.create_one("note", json!({"title": "N", "bodyV2": {"markdown": "hi"}}), WriteMode::Create).await.unwrap();
    let note_col = c.schema().link_column("noteTarget", "note").unwrap().column;
    let mut target = serde_json::Map::new();
    target.insert(note_col, note["id"].clone());
    target.insert(link.column.clone(), co["id"].clone());
    c.create_batch_idempotent("noteTarget", vec![Value::Object(target)], WriteMode::Create).await.unwrap();
    let found = c.list_all("noteTarget", ListQuery::filtered(Filter::eq(&link.column, id_of(&co)))).await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn files_field_servers_get_files_field_attachments() {
    let sbx = sandbox(|c| c.files_field = true).await;
    let c = client(&sbx).await;
    assert!(c.attachments_use_files_field());
    let co = c.create_one("company", json!({"name": "FilesField"}), WriteMode::Create).await.unwrap();
    let file = c.upload_file("doc.pdf", "application/pdf", Bytes::from_static(b"%PDF-1.4 x")).await.unwrap();
    assert!(file.file_id.is_some(), "{file:?}");
    let record = c
        .attachment_record(&NewAttachment {
            id: None,
            name: "doc.pdf".into(),
            file: file.clone(),
            target_object: "company".into(),
            target_id: id_of(&co),
        })
        .unwrap();
    assert_eq!(record["file"][0]["fileId"], json!(file.file_id.unwrap().to_string()));
    let att = c.create_one("attachment", record, WriteMode::Create).await.unwrap();
    assert!(att.get("id").is_some());
}

#[tokio::test]
async fn a_429_is_retried_after_one_server_refill_period() {
    // Server: 3 tokens per 300 ms, i.e. one token every 100 ms, and the refill clock restarts at every request.
    // A retry sooner than 100 ms would get nothing; the client reads the period from the 429 message.
    let sbx = sandbox(|c| c.rate_limit = Some(RateLimitConfig { tokens: 3, window: Duration::from_millis(300) })).await;
    let c = client_with(&sbx, |o| o.retry.max_delay = Duration::from_millis(500)).await;
    for _ in 0..3 {
        c.count("company", None).await.unwrap();
    }
    assert_eq!(c.metrics().rate_limited, 0);
    assert_eq!(c.count("company", None).await.unwrap(), 0, "the fourth call succeeds after a retry");
    let m = c.metrics();
    assert_eq!((m.rate_limited, m.retries), (1, 1), "one 429, then the first retry got a token: {m:?}");
    assert_eq!(sbx.stats().rate_limited, 1);
}
