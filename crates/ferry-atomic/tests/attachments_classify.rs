//! Classification of note attachments, avatars and logos (tests/fixtures/attachments/values.json).

use std::path::Path;

use ferry_atomic::attachments::{
    self, BrokenReason, ClassifyContext, FileClass, GeneratedService, classify, parse_pg_jsonb_array, public_url,
    redact_url,
};
use serde_json::{Value, json};
use url::Url;

fn cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attachments/values.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

#[test]
fn every_fixture_value_is_classified_as_expected() {
    let cases = cases();
    assert_eq!(cases.len(), 14);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ctx = ClassifyContext::new(case["table"].as_str().unwrap(), "7", case["column"].as_str().unwrap());
        let refs = classify(&case["value"], &ctx);
        let classes: Vec<Value> = refs.iter().map(|r| serde_json::to_value(&r.class).unwrap()).collect();
        assert_eq!(Value::Array(classes), case["expect"], "{name}");
        let names: Vec<String> = refs.iter().map(|r| r.file_name()).collect();
        assert_eq!(json!(names), case["file_names"], "{name}");
        for (i, r) in refs.iter().enumerate() {
            assert_eq!(r.location.table, case["table"].as_str().unwrap());
            assert_eq!(r.location.record, "7");
            let expected_index = if case["value"].is_array() { Some(i) } else { None };
            assert_eq!(r.location.index, expected_index, "{name}");
            // Broken references, and only they, carry a problem; they have nothing to fetch.
            assert_eq!(r.problem().is_some(), matches!(r.class, FileClass::Broken(_)), "{name}");
            assert_eq!(r.fetch_url().is_none(), matches!(r.class, FileClass::Broken(_)), "{name}");
        }
    }
}

#[test]
fn storage_paths_resolve_against_the_project_url_and_bucket() {
    let project = Url::parse("https://xyzcompany.supabase.co").unwrap();
    // Only a path: the context's bucket decides.
    let ctx = ClassifyContext::new("contact_notes", "3", "attachments")
        .with_project_url(project.clone())
        .with_bucket("files");
    let refs = classify(&json!([{ "path": "dir/0.5 a.pdf", "title": "a.pdf" }]), &ctx);
    assert_eq!(
        refs[0].class,
        FileClass::Storage {
            bucket: "files".into(),
            path: "dir/0.5 a.pdf".into(),
            url: Some("https://xyzcompany.supabase.co/storage/v1/object/public/files/dir/0.5%20a.pdf".into()),
        }
    );
    // A src on a local development host is re-pointed at the project given.
    let refs = classify(
        &json!({ "src": "http://127.0.0.1:54321/storage/v1/object/public/attachments/0.9.png", "path": "0.9.png" }),
        &ClassifyContext::new("sales", "1", "avatar").with_project_url(project.clone()),
    );
    assert_eq!(
        refs[0].fetch_url(),
        Some("https://xyzcompany.supabase.co/storage/v1/object/public/attachments/0.9.png")
    );
    // A path and no project URL: known to be in Storage, but not fetchable yet.
    let refs = classify(&json!({ "path": "0.1.pdf" }), &ClassifyContext::new("contact_notes", "9", "attachments"));
    assert!(matches!(&refs[0].class, FileClass::Storage { bucket, url: None, .. } if bucket == "attachments"));
    assert_eq!(refs[0].fetch_url(), None);

    let with_prefix = Url::parse("https://proxy.example.com/supabase/").unwrap();
    assert_eq!(
        public_url(&with_prefix, "attachments", "0.3.pdf").as_str(),
        "https://proxy.example.com/supabase/storage/v1/object/public/attachments/0.3.pdf"
    );
}

#[test]
fn string_forms_are_understood() {
    let ctx = ClassifyContext::new("deal_notes", "4", "attachments");
    // A jsonb[] as pg_dump writes it.
    let literal = r#"{"{\"src\": \"https://x.supabase.co/storage/v1/object/public/attachments/0.1.pdf\", \"title\": \"a, b.pdf\"}",NULL}"#;
    let refs = classify(&Value::String(literal.into()), &ctx);
    assert_eq!(refs.len(), 2);
    assert!(matches!(&refs[0].class, FileClass::Storage { path, .. } if path == "0.1.pdf"));
    assert_eq!(refs[0].file.title.as_deref(), Some("a, b.pdf"));
    assert_eq!(refs[1].class, FileClass::Broken(BrokenReason::Empty));
    // An empty PostgreSQL array, JSON text, and a plain URL string (settings logos).
    assert!(classify(&json!("{}"), &ctx).is_empty());
    assert!(classify(&Value::Null, &ctx).is_empty());
    let refs = classify(&json!(r#"{"src":"https://favicon.show/acme.com"}"#), &ctx);
    assert!(matches!(refs[0].class, FileClass::Generated { service: GeneratedService::FaviconShow, .. }));
    let refs = classify(&json!("https://cdn.example.com/logo-dark.svg"), &ctx);
    assert!(matches!(&refs[0].class, FileClass::External { url } if url == "https://cdn.example.com/logo-dark.svg"));
    assert_eq!(refs[0].location.index, None);
    let refs = classify(&json!(""), &ctx);
    assert_eq!(refs[0].class, FileClass::Broken(BrokenReason::Empty));
}

#[test]
fn pg_array_literals_parse_and_bad_ones_are_errors() {
    let items = parse_pg_jsonb_array(r#"{"{\"a\": \"x\\\\y\"}", NULL ,"[1,2]"}"#).unwrap();
    assert_eq!(items, vec![json!({ "a": "x\\y" }), Value::Null, json!([1, 2])]);
    assert_eq!(parse_pg_jsonb_array("{}").unwrap(), Vec::<Value>::new());
    assert!(parse_pg_jsonb_array(r#"{"{\"a\": 1}"#).is_err());
    assert!(parse_pg_jsonb_array("[1]").is_err());
    assert!(parse_pg_jsonb_array(r#"{"not json"}"#).unwrap_err().contains("element 0"));
}

#[test]
fn broken_references_become_problems_naming_row_and_column() {
    let ctx = ClassifyContext::new("contacts", "42", "avatar");
    let refs = classify(&json!({ "src": "ERROR" }), &ctx);
    let p = refs[0].problem().unwrap();
    assert_eq!(p.object, "contacts");
    assert_eq!(p.record.as_deref(), Some("42"));
    assert_eq!(p.field.as_deref(), Some("avatar"));
    assert_eq!(p.value.as_deref(), Some("ERROR"));
    assert!(p.message.contains("error marker"), "{p}");

    let refs = classify(
        &json!([{ "src": "https://a.example/x.png" }, {}]),
        &ClassifyContext::new("deal_notes", "5", "attachments"),
    );
    assert_eq!(refs[1].problem().unwrap().field.as_deref(), Some("attachments[1]"));
}

#[test]
fn secrets_in_urls_are_redacted() {
    assert_eq!(
        redact_url("https://x.supabase.co/storage/v1/object/sign/attachments/a.pdf?token=eyJhbGciOi&download=1"),
        "https://x.supabase.co/storage/v1/object/sign/attachments/a.pdf?token=***&download=1"
    );
    assert_eq!(redact_url("https://user:hunter2@files.example.com/a"), "https://user:***@files.example.com/a");
    assert_eq!(redact_url("data:image/png;base64,AAAA"), "data:image/png;base64,…");
    assert_eq!(redact_url("not a url"), "not a url");
}

#[test]
fn data_urls_decode() {
    let (media, bytes) = attachments::decode_data_url("data:image/svg+xml;base64,PHN2Zy8+").unwrap();
    assert_eq!(media.as_deref(), Some("image/svg+xml"));
    assert_eq!(bytes, b"<svg/>");
    let (media, bytes) = attachments::decode_data_url("data:,Hello%2C%20World").unwrap();
    assert_eq!(media, None);
    assert_eq!(bytes, b"Hello, World");
    assert!(attachments::decode_data_url("data:image/png;base64,@@@").is_err());
}

#[test]
fn records_are_classified_column_by_column() {
    use ferry_atomic::attachments::{StorageSettings, classify_record};
    use ferry_core::Record;

    let mut note = Record::new("contact_notes", "31");
    note.values.insert("text".into(), json!("see attached"));
    note.values.insert("attachments".into(), json!([{ "path": "0.2.pdf", "title": "a.pdf" }, { "src": "ERROR" }]));
    let storage = StorageSettings {
        project_url: Some(Url::parse("https://abcdefghijklmnop.supabase.co").unwrap()),
        ..StorageSettings::default()
    };
    let refs = classify_record(&note, &storage);
    assert_eq!(refs.len(), 2);
    assert_eq!(
        refs[0].fetch_url(),
        Some("https://abcdefghijklmnop.supabase.co/storage/v1/object/public/attachments/0.2.pdf")
    );
    assert_eq!((refs[1].location.record.as_str(), refs[1].location.field()), ("31", "attachments[1]".to_string()));

    let mut company = Record::new("companies", "4");
    company.values.insert("logo".into(), json!({ "src": "https://favicon.show/acme.com", "title": "Company favicon" }));
    company.values.insert("website".into(), json!("https://acme.com"));
    let refs = classify_record(&company, &storage);
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].location.column, "logo");

    assert!(classify_record(&Record::new("tasks", "1"), &storage).is_empty());
}

#[test]
fn the_project_url_is_found_from_a_supabase_database_url() {
    use ferry_atomic::attachments::project_url_from_db_url;
    let direct = project_url_from_db_url("postgresql://postgres:secret@db.abcdefghijklmnop.supabase.co:5432/postgres");
    assert_eq!(direct.unwrap().as_str(), "https://abcdefghijklmnop.supabase.co/");
    let pooler = project_url_from_db_url(
        "postgres://postgres.abcdefghijklmnop:secret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
    );
    assert_eq!(pooler.unwrap().as_str(), "https://abcdefghijklmnop.supabase.co/");
    assert_eq!(project_url_from_db_url("postgres://postgres@127.0.0.1:5432/postgres"), None);
    assert_eq!(project_url_from_db_url("postgres://postgres@aws-0-eu-central-1.pooler.supabase.com/postgres"), None);
    assert_eq!(project_url_from_db_url("not a url"), None);
}
