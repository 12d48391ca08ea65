//! Enum resolution: configuration row → TypeScript file → defaults, then the values observed in the data.

use std::path::{Path, PathBuf};

use ferry_atomic::enums::{
    self, EnumDef, EnumKey, Enums, EnumsError, OBSERVED_COLUMNS, ObservedColumn, Origin, TagRow, merge_observed,
    set_tags, slugify,
};
use ferry_core::Problem;
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ts").join(name)
}

fn pairs(def: &EnumDef) -> Vec<(&str, &str)> {
    def.options.iter().map(|o| (o.value.as_str(), o.label.as_str())).collect()
}

fn column(table: &str, col: &str) -> &'static ObservedColumn {
    OBSERVED_COLUMNS.iter().find(|c| c.table == table && c.column == col).unwrap()
}

fn observed(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

fn resolve(row: Option<serde_json::Value>, ts: Option<&str>, labels: bool) -> (Enums, Vec<Problem>) {
    let path = ts.map(fixture);
    enums::resolve(row.as_ref(), path.as_deref(), labels).unwrap()
}

#[test]
fn defaults_are_atomic_crm_defaults_verbatim() {
    let (e, problems) = resolve(None, None, false);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        pairs(&e.deal_stages),
        [
            ("opportunity", "Opportunity"),
            ("proposal-sent", "Proposal Sent"),
            ("in-negociation", "In Negotiation"),
            ("won", "Won"),
            ("lost", "Lost"),
            ("delayed", "Delayed")
        ]
    );
    assert_eq!(
        pairs(&e.company_sectors),
        [
            ("communication-services", "Communication Services"),
            ("consumer-discretionary", "Consumer Discretionary"),
            ("consumer-staples", "Consumer Staples"),
            ("energy", "Energy"),
            ("financials", "Financials"),
            ("health-care", "Health Care"),
            ("industrials", "Industrials"),
            ("information-technology", "Information Technology"),
            ("materials", "Materials"),
            ("real-estate", "Real Estate"),
            ("utilities", "Utilities")
        ]
    );
    assert_eq!(
        pairs(&e.deal_categories),
        [
            ("other", "Other"),
            ("copywriting", "Copywriting"),
            ("print-project", "Print project"),
            ("ui-design", "UI Design"),
            ("website-design", "Website design")
        ]
    );
    assert_eq!(
        pairs(&e.task_types),
        [
            ("none", "None"),
            ("email", "Email"),
            ("demo", "Demo"),
            ("lunch", "Lunch"),
            ("meeting", "Meeting"),
            ("follow-up", "Follow-up"),
            ("thank-you", "Thank you"),
            ("ship", "Ship"),
            ("call", "Call")
        ]
    );
    let statuses: Vec<(&str, &str, Option<&str>)> =
        e.note_statuses.options.iter().map(|o| (o.value.as_str(), o.label.as_str(), o.color.as_deref())).collect();
    assert_eq!(
        statuses,
        [
            ("cold", "Cold", Some("#7dbde8")),
            ("warm", "Warm", Some("#e8cb7d")),
            ("hot", "Hot", Some("#e88b7d")),
            ("in-contract", "In Contract", Some("#a4e87d"))
        ]
    );
    assert_eq!(pairs(&e.genders), [("male", "He/Him"), ("female", "She/Her"), ("nonbinary", "They/Them")]);
    assert_eq!(e.genders.origin, Origin::Fixed);
    assert!(e.tags.options.is_empty());
    assert_eq!(e.deal_pipeline_statuses.value, ["won"]);
    assert_eq!(e.currency.value, "USD");
    assert_eq!(e.title.value, "Atomic CRM");
    assert_eq!(e.light_mode_logo.value, "./logos/logo_atomic_crm_light.svg");
    assert_eq!(e.dark_mode_logo.value, "./logos/logo_atomic_crm_dark.svg");
    assert_eq!(e.deal_stages.origin, Origin::Defaults);
    assert!(e.deal_stages.options.iter().all(|o| o.origin == Origin::Defaults));

    let select = e.note_statuses.select_options();
    assert_eq!(select[3].position, 3);
    assert_eq!(select[3].value, "in-contract");
    assert_eq!(select[3].color.as_deref(), Some("#a4e87d"));
}

#[test]
fn the_default_configuration_file_reproduces_the_built_in_defaults() {
    let (from_file, problems) = resolve(None, Some("defaultConfiguration.ts"), false);
    assert!(problems.is_empty(), "{problems:?}");
    let (builtin, _) = resolve(None, None, false);
    for key in EnumKey::ALL {
        assert_eq!(pairs(from_file.get(key)), pairs(builtin.get(key)), "{key}");
    }
    assert_eq!(from_file.note_statuses.select_options(), builtin.note_statuses.select_options());
    assert!(matches!(from_file.deal_stages.origin, Origin::TsFile { line: 68, .. }));
    assert_eq!(from_file.currency.value, "USD");
}

#[test]
fn configuration_row_wins_and_missing_keys_come_from_defaults() {
    let row = json!({
        "dealStages": [
            { "value": "new", "label": "New" },
            { "value": "in-negociation", "label": "Negotiating" },
            { "value": "won", "label": "Won" }
        ],
        "noteStatuses": [{ "value": "cold", "label": "Cold", "color": "#000000" }],
        "currency": "EUR",
        "dealPipelineStatuses": ["won"]
    });
    let (e, problems) = resolve(Some(row.clone()), None, false);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(pairs(&e.deal_stages), [("new", "New"), ("in-negociation", "Negotiating"), ("won", "Won")]);
    assert_eq!(e.deal_stages.origin, Origin::ConfigurationRow);
    assert_eq!(e.note_statuses.options[0].color.as_deref(), Some("#000000"));
    assert_eq!(e.currency.value, "EUR");
    assert_eq!(e.currency.origin, Origin::ConfigurationRow);
    assert_eq!(e.task_types.origin, Origin::Defaults);
    assert_eq!(e.task_types.options.len(), 9);
    assert_eq!(e.title.value, "Atomic CRM");

    // The whole row ({id, config}) is accepted too.
    let (whole, _) = resolve(Some(json!({ "id": 1, "config": row })), None, false);
    assert_eq!(pairs(&whole.deal_stages), pairs(&e.deal_stages));
}

#[test]
fn empty_configuration_row_falls_back_to_the_customised_app_tsx() {
    let (e, problems) = resolve(Some(json!({})), Some("App.customised.tsx"), true);
    let file = fixture("App.customised.tsx");
    // Label arrays become slug values, the label kept for display.
    assert_eq!(
        pairs(&e.company_sectors),
        [
            ("technology", "Technology"),
            ("finance", "Finance"),
            ("health-wellness", "Health & Wellness"),
            ("real-estate", "Real Estate")
        ]
    );
    assert_eq!(
        pairs(&e.task_types),
        [
            ("email", "Email"),
            ("call", "Call"),
            ("follow-up", "Follow-up"),
            ("thank-you", "Thank you"),
            ("site-visit", "Site visit")
        ]
    );
    assert_eq!(
        pairs(&e.deal_categories),
        [("copywriting", "Copywriting"), ("design", "Design"), ("consulting", "Consulting")]
    );
    assert_eq!(pairs(&e.genders), [("male", "He"), ("female", "She"), ("other", "They")]);
    assert_eq!(e.genders.origin, Origin::TsFile { file: file.clone(), line: 16 });
    assert_eq!(e.deal_stages.options.len(), 5);
    assert_eq!(e.deal_pipeline_statuses.value, ["won", "signed"]);
    assert_eq!(e.title.value, "ACME Sales");
    assert_eq!(e.light_mode_logo.value, "./img/acme-logo.png");
    assert_eq!(e.dark_mode_logo.value, "./img/acme-logo.png");
    assert_eq!(e.currency.origin, Origin::Defaults);
    assert!(e.labels_era);

    // The two imported icons are reported, as ignored, with file, line and prop.
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].object, file.display().to_string());
    assert_eq!(problems[0].field.as_deref(), Some("contactGender[0].icon"));
    assert!(problems[0].message.starts_with("line 17: "), "{}", problems[0]);
    assert_eq!(problems[0].hint.as_deref(), Some("ignored: ferry reads only value, label and color"));
}

#[test]
fn a_saved_configuration_row_wins_over_a_differing_ts_file_and_says_so() {
    let row = json!({ "dealStages": [{ "value": "opportunity", "label": "Opportunity" }] });
    let (e, problems) = resolve(Some(row), Some("App.customised.tsx"), false);
    assert_eq!(pairs(&e.deal_stages), [("opportunity", "Opportunity")]);
    // Keys the row lacks still come from the file.
    assert_eq!(e.title.value, "ACME Sales");
    let differs: Vec<&Problem> = problems.iter().filter(|p| p.message.contains("differs")).collect();
    assert_eq!(differs.len(), 1, "{problems:?}");
    assert_eq!(differs[0].field.as_deref(), Some("config.dealStages"));
    assert!(differs[0].message.contains("App.customised.tsx:24"), "{}", differs[0]);
    // `signed` is no longer a stage once the row's stages win.
    assert!(problems.iter().any(|p| p.value.as_deref() == Some("signed") && p.message.contains("not a deal stage")));
}

#[test]
fn malformed_configuration_entries_are_problems_not_failures() {
    let row = json!({
        "dealStages": "opportunity,won",
        "dealCategories": [
            { "label": "Print Project" },
            { "value": "other", "label": "Other" },
            { "value": "other", "label": "Other again" },
            42,
            {},
            "Legacy Label"
        ],
        "title": 7
    });
    let (e, problems) = resolve(Some(row), None, false);
    assert_eq!(e.deal_stages.origin, Origin::Defaults);
    assert_eq!(e.deal_stages.options.len(), 6);
    assert_eq!(
        pairs(&e.deal_categories),
        [("print-project", "Print Project"), ("other", "Other"), ("legacy-label", "Legacy Label")]
    );
    let fields: Vec<&str> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
    assert_eq!(
        fields,
        [
            "config.dealStages",
            "config.dealCategories[2]",
            "config.dealCategories[3]",
            "config.dealCategories[4]",
            "config.title"
        ]
    );
    assert!(problems.iter().all(|p| p.object == "configuration" && p.record.as_deref() == Some("1")));
    assert!(problems[1].message.contains("repeats the value \"other\""), "{}", problems[1]);
    assert_eq!(e.title.value, "Atomic CRM");

    let (_, problems) = resolve(Some(json!(["not", "an", "object"])), None, false);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("not a JSON object"));
}

#[test]
fn non_literal_ts_values_fall_back_with_problems() {
    let (e, problems) = resolve(None, Some("nonliteral.tsx"), false);
    assert_eq!(e.deal_stages.origin, Origin::Defaults);
    assert_eq!(e.deal_stages.options.len(), 6);
    assert_eq!(pairs(&e.task_types), [("visit", "Visit")]);
    assert_eq!(pairs(&e.deal_categories), [("other", "Other"), ("rush", "rush")]);
    assert_eq!(e.currency.value, "EUR");
    assert_eq!(e.title.value, "Atomic CRM");
    let fields: Vec<&str> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
    assert_eq!(fields, ["dealStages", "taskTypes[0]", "noteStatuses", "title", "dealCategories[1].label"]);
    assert!(problems[0].message.starts_with("line 13: "), "{}", problems[0]);
    assert!(problems[0].hint.as_deref().unwrap().contains("next source"), "{}", problems[0]);
}

#[test]
fn a_broken_ts_file_is_an_error_naming_it() {
    let err = enums::resolve(None, Some(&fixture("broken.tsx")), false).unwrap_err();
    let EnumsError::TsFile(inner) = &err;
    assert!(err.to_string().contains("broken.tsx:7:37"), "{err} / {inner:?}");
}

#[test]
fn observed_values_outside_the_configuration_become_extra_options() {
    let (mut e, _) = resolve(None, None, false);
    let problems = merge_observed(
        &mut e,
        column("deals", "stage"),
        &observed(&[("opportunity", 10), ("won", 3), ("negotiating", 2), ("", 4)]),
    );
    assert_eq!(e.deal_stages.option("opportunity").unwrap().records, 10);
    assert_eq!(e.deal_stages.option("won").unwrap().records, 3);
    let extra = e.deal_stages.options.last().unwrap();
    assert_eq!((extra.value.as_str(), extra.label.as_str(), extra.records), ("negotiating", "negotiating", 2));
    assert_eq!(extra.origin, Origin::ObservedInData);
    assert_eq!(e.deal_stages.options.len(), 7);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        problems[0].message,
        "value \"negotiating\" used by 2 records is not in the configured dealStages; it will still be migrated as an extra option"
    );
    assert_eq!((problems[0].object.as_str(), problems[0].field.as_deref()), ("deals", Some("stage")));
    assert!(problems[1].message.contains("empty dealStages value is used by 4 records"), "{}", problems[1]);
    assert_eq!(e.deal_stages.select_options()[6].position, 6);

    // The same extra seen again (e.g. in a second column) is not duplicated.
    merge_observed(&mut e, column("deals", "stage"), &observed(&[("negotiating", 1)]));
    assert_eq!(e.deal_stages.options.len(), 7);
    assert_eq!(e.deal_stages.options[6].records, 3);
}

#[test]
fn label_generation_maps_labels_to_slugs() {
    let (mut e, _) = resolve(None, None, true);
    let problems = merge_observed(
        &mut e,
        column("companies", "sector"),
        &observed(&[("Information Technology", 5), ("health care", 1), ("Technology", 2)]),
    );
    // Known labels map silently; the unknown one becomes an extra with a slug value.
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("\"Technology\" used by 2 records"));
    assert_eq!(e.company_sectors.value_for_stored("Information Technology"), Some("information-technology"));
    assert_eq!(e.company_sectors.value_for_stored("health care"), Some("health-care"));
    assert_eq!(e.company_sectors.value_for_stored("Technology"), Some("technology"));
    assert_eq!(e.company_sectors.value_for_stored("energy"), Some("energy"));
    assert_eq!(e.company_sectors.legacy_values.get("Technology").map(String::as_str), Some("technology"));
    assert_eq!(
        e.company_sectors.legacy_values.get("Information Technology").map(String::as_str),
        Some("information-technology")
    );
    let extra = e.company_sectors.option("technology").unwrap();
    assert_eq!((extra.label.as_str(), extra.records), ("Technology", 2));
    assert_eq!(e.company_sectors.option("information-technology").unwrap().records, 5);

    let problems = merge_observed(&mut e, column("tasks", "type"), &observed(&[("Follow-up", 3), ("Thank you", 1)]));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(e.task_types.value_for_stored("Thank you"), Some("thank-you"));
    assert_eq!(e.task_types.option("follow-up").unwrap().records, 3);
}

#[test]
fn a_label_in_slug_era_data_is_mapped_and_reported() {
    let (mut e, _) = resolve(None, None, false);
    let problems = merge_observed(&mut e, column("deals", "stage"), &observed(&[("Won", 1)]));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("matches the option \"won\""), "{}", problems[0]);
    assert_eq!(e.deal_stages.options.len(), 6);
    assert_eq!(e.deal_stages.value_for_stored("Won"), Some("won"));
}

#[test]
fn genders_outside_the_fixed_three_are_kept() {
    let (mut e, _) = resolve(None, None, false);
    let problems = merge_observed(&mut e, column("contacts", "gender"), &observed(&[("male", 7), ("other", 1)]));
    assert_eq!(problems.len(), 1);
    assert_eq!(pairs(&e.genders).last(), Some(&("other", "other")));
}

#[test]
fn tags_come_from_the_tags_table_and_dangling_ids_are_reported() {
    let (mut e, _) = resolve(None, None, false);
    let problems = set_tags(
        &mut e,
        &[
            TagRow { id: 5, name: "vip".into(), color: "#eddcd2".into() },
            TagRow { id: 2, name: "football-fan".into(), color: "#fff1e6".into() },
            TagRow { id: 9, name: "vip".into(), color: "".into() },
        ],
    );
    assert_eq!(pairs(&e.tags), [("2", "football-fan"), ("5", "vip"), ("9", "vip")]);
    assert_eq!(e.tags.options[0].color.as_deref(), Some("#fff1e6"));
    assert_eq!(e.tags.options[2].color, None);
    assert_eq!(e.tags.origin, Origin::TagsTable);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].record.as_deref(), Some("9"));

    let problems = merge_observed(&mut e, column("contacts", "tags"), &observed(&[("5", 12), ("404", 3)]));
    assert_eq!(e.tags.options.len(), 3, "dangling ids are not added");
    assert_eq!(e.tags.option("5").unwrap().records, 12);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("tag id 404 is referenced by 3 records"), "{}", problems[0]);
}

#[test]
fn observed_columns_cover_every_enum_but_nothing_else() {
    for key in EnumKey::ALL {
        assert!(ObservedColumn::of(key).next().is_some(), "{key} has no column");
    }
    assert_eq!(ObservedColumn::of(EnumKey::NoteStatuses).count(), 2);
}

#[test]
fn slugify_matches_atomic_crm() {
    assert_eq!(slugify("Information Technology"), "information-technology");
    assert_eq!(slugify("UI Design"), "ui-design");
    assert_eq!(slugify("Health & Wellness"), "health-wellness");
    assert_eq!(slugify("--Print  project--"), "print-project");
}

#[test]
fn the_observer_counts_records_and_merges_every_column() {
    use ferry_atomic::enums::Observer;
    use ferry_core::Record;

    let rec = |object: &str, key: &str, field: &str, value: serde_json::Value| {
        let mut r = Record::new(object, key);
        r.values.insert(field.into(), value);
        r
    };
    let mut obs = Observer::new();
    for (i, stage) in ["won", "won", "negotiating", "opportunity"].iter().enumerate() {
        obs.observe(&rec("deals", &i.to_string(), "stage", json!(stage)));
    }
    obs.observe(&rec("deals", "9", "stage", serde_json::Value::Null));
    obs.observe(&rec("contacts", "1", "tags", json!([5, 404, 5])));
    obs.observe(&rec("contacts", "2", "tags", json!([5])));
    obs.observe(&rec("contact_notes", "1", "status", json!("Warm")));
    obs.observe(&rec("companies", "1", "name", json!("not an enum column")));

    let stage = column("deals", "stage");
    assert_eq!(obs.counts(stage), observed(&[("won", 2), ("negotiating", 1), ("opportunity", 1)]));
    assert_eq!(obs.counts(column("contacts", "tags")), observed(&[("5", 3), ("404", 1)]));

    let (mut e, _) = resolve(None, None, true);
    set_tags(&mut e, &[TagRow { id: 5, name: "vip".into(), color: "#eddcd2".into() }]);
    let problems = obs.apply(&mut e);
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("value \"negotiating\" used by 1 record is not in the configured dealStages"));
    assert!(messages[1].starts_with("tag id 404 is referenced by 1 record"));
    assert_eq!(e.deal_stages.option("won").unwrap().records, 2);
    assert_eq!(e.tags.option("5").unwrap().records, 3);
    assert_eq!(e.note_statuses.value_for_stored("Warm"), Some("warm"));
}

#[test]
fn a_column_with_too_many_distinct_values_is_reported_not_exploded() {
    use ferry_atomic::enums::{MAX_DISTINCT_VALUES, Observer};
    use ferry_core::Record;

    let mut obs = Observer::new();
    for i in 0..MAX_DISTINCT_VALUES + 5 {
        let mut r = Record::new("tasks", i.to_string());
        r.values.insert("type".into(), json!(format!("type {i}")));
        obs.observe(&r);
    }
    assert_eq!(obs.counts(column("tasks", "type")).len(), MAX_DISTINCT_VALUES);
    let (mut e, _) = resolve(None, None, false);
    let problems = obs.apply(&mut e);
    assert_eq!(e.task_types.options.len(), 9 + MAX_DISTINCT_VALUES);
    let last = problems.last().unwrap();
    assert!(last.message.contains("5 values beyond them"), "{last}");
}
