//! Every schema generation is detected from the catalog alone and read into the current record shape.

use ferry_atomic::generate::{self, GenConfig};
use ferry_atomic::{Generation, SourceSpec};
use serde_json::Value;

use crate::common::{TestDb, read_all};

async fn check_generation(generation: Generation) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let cfg =
        GenConfig { seed: 11, generation, rows: 600, custom: false, automation: generation == Generation::Current };
    let summary = generate::load_into(&client, &cfg).await.expect("generator load");
    let read = read_all(&db.spec()).await;
    let d = &read.extraction.detection;
    assert_eq!(d.generation, generation, "detected generation");
    assert_eq!(d.enum_labels, generation.stores_labels());
    assert_eq!(d.email_jsonb, !generation.legacy_contact_channels());
    assert_eq!(d.snake_case_notes, !generation.camel_case());

    // every generated row came out, under the canonical object names
    let counts = &read.extraction.counts;
    let notes_table = if generation.camel_case() { "public.contactNotes" } else { "public.contact_notes" };
    assert_eq!(counts["contact_notes"], summary.counts[notes_table]);
    assert_eq!(counts["contacts"], summary.counts["public.contacts"]);
    assert_eq!(read.extraction.total_records(), summary.crm_rows(), "all CRM rows read");
    assert!(!counts.contains_key("contactNotes") && !counts.contains_key("dealNotes"));

    // the current record shape whatever the generation
    let company = read.records.get(&("companies".to_string(), "2".to_string())).expect("company 2");
    assert!(company.values.contains_key("state_abbr") && !company.values.contains_key("stateAbbr"));
    let contacts: Vec<_> = read.records.values().filter(|r| r.object == "contacts").collect();
    for c in &contacts {
        assert!(
            c.values.contains_key("email_jsonb") && c.values.contains_key("phone_jsonb"),
            "contact {} shape",
            c.key
        );
        assert!(!c.values.contains_key("email") && !c.values.contains_key("phone_1_number"));
        if let Value::Array(list) = c.get("email_jsonb") {
            assert!(list.iter().all(|e| e.get("email").is_some() && e.get("type").is_some()), "contact {}", c.key);
        }
    }
    assert!(contacts.iter().any(|c| c.get("phone_jsonb").is_array()));
    // enum columns hold labels before the configuration table, slugs after
    let sectors: Vec<&str> =
        read.records.values().filter(|r| r.object == "companies").filter_map(|r| r.get("sector").as_str()).collect();
    assert!(sectors.iter().any(|s| s.contains(' ')) == generation.stores_labels(), "{sectors:?}");
    // tasks without due dates exist only where the column allows them
    let no_due = read.records.values().filter(|r| r.object == "tasks").any(|r| r.get("due_date").is_null());
    assert_eq!(no_due, generation >= Generation::SnakeCase2026);
    // timestamps are RFC 3339 UTC, ids are numbers
    let deal = read.records.get(&("deals".to_string(), "1".to_string())).unwrap();
    assert!(deal.get("created_at").as_str().unwrap().ends_with('Z'));
    assert!(deal.get("id").is_i64());
    let ecd = read
        .records
        .values()
        .filter(|r| r.object == "deals")
        .find_map(|r| r.get("expected_closing_date").as_str().map(str::to_string))
        .unwrap();
    assert_eq!(ecd.len() == 10, generation >= Generation::Configuration2026, "{ecd}");
    assert_eq!(
        read.extraction.catalog.table("public", "configuration").is_some(),
        generation >= Generation::Configuration2026
    );
    let spec_again = SourceSpec::parse(&db.url).unwrap();
    assert_eq!(spec_again, db.spec());
}

#[tokio::test]
async fn legacy_2024_single_email_and_camel_case() {
    check_generation(Generation::Legacy2024).await;
}

#[tokio::test]
async fn jsonb_2025() {
    check_generation(Generation::Jsonb2025).await;
}

#[tokio::test]
async fn snake_case_2026() {
    check_generation(Generation::SnakeCase2026).await;
}

#[tokio::test]
async fn configuration_2026() {
    check_generation(Generation::Configuration2026).await;
}

#[tokio::test]
async fn current_with_citext() {
    check_generation(Generation::Current).await;
}
