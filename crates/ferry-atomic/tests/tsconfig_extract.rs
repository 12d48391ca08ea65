//! TypeScript configuration extraction on real-shaped files (tests/fixtures/ts/).

use std::path::{Path, PathBuf};

use ferry_atomic::tsconfig::{self, PropOrigin, TsConfig, TsError};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ts").join(name)
}

fn extract(name: &str) -> TsConfig {
    match tsconfig::extract(&fixture(name)) {
        Ok(c) => c,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn keys(c: &TsConfig) -> Vec<&str> {
    c.props.iter().map(|p| p.key.as_str()).collect()
}

fn get<'a>(c: &'a TsConfig, key: &str) -> &'a Value {
    c.get(key).unwrap_or_else(|| panic!("{key} missing; props: {:?}", keys(c)))
}

#[test]
fn default_configuration_file_gives_every_default() {
    let c = extract("defaultConfiguration.ts");
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(
        keys(&c),
        [
            "darkModeLogo",
            "lightModeLogo",
            "currency",
            "title",
            "companySectors",
            "dealStages",
            "dealPipelineStatuses",
            "dealCategories",
            "noteStatuses",
            "taskTypes"
        ]
    );
    // The object `defaultConfiguration` wins over the `default*` constants it refers to.
    let stages = c.prop("dealStages").unwrap();
    assert_eq!(stages.origin, PropOrigin::ConfigObject { name: "defaultConfiguration".into() });
    assert_eq!(stages.line, 68, "line of `dealStages: defaultDealStages`");
    assert_eq!(
        stages.value,
        json!([
            { "value": "opportunity", "label": "Opportunity", "multiplier": 0.2 },
            { "value": "proposal-sent", "label": "Proposal Sent", "multiplier": 0.5 },
            { "value": "in-negociation", "label": "In Negotiation", "multiplier": 0.8 },
            { "value": "won", "label": "Won", "multiplier": 1 },
            { "value": "lost", "label": "Lost", "multiplier": 0 },
            { "value": "delayed", "label": "Delayed", "multiplier": 0.3 }
        ])
    );
    assert_eq!(
        get(&c, "noteStatuses"),
        &json!([
            { "value": "cold", "label": "Cold", "color": "#7dbde8" },
            { "value": "warm", "label": "Warm", "color": "#e8cb7d" },
            { "value": "hot", "label": "Hot", "color": "#e88b7d" },
            { "value": "in-contract", "label": "In Contract", "color": "#a4e87d" }
        ])
    );
    assert_eq!(get(&c, "dealPipelineStatuses"), &json!(["won"]));
    assert_eq!(get(&c, "currency"), &json!("USD"));
    assert_eq!(get(&c, "title"), &json!("Atomic CRM"));
    assert_eq!(get(&c, "lightModeLogo"), &json!("./logos/logo_atomic_crm_light.svg"));
    let sectors = get(&c, "companySectors").as_array().unwrap();
    assert_eq!(sectors.len(), 11);
    assert_eq!(sectors[7], json!({ "value": "information-technology", "label": "Information Technology" }));
    let tasks = get(&c, "taskTypes").as_array().unwrap();
    let values: Vec<&str> = tasks.iter().map(|t| t["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["none", "email", "demo", "lunch", "meeting", "follow-up", "thank-you", "ship", "call"]);
}

#[test]
fn customised_app_tsx_props_with_label_arrays_and_contact_gender() {
    let c = extract("App.customised.tsx");
    assert_eq!(
        keys(&c),
        [
            "title",
            "logo",
            "contactGender",
            "companySectors",
            "dealCategories",
            "dealPipelineStatuses",
            "dealStages",
            "noteStatuses",
            "taskTypes"
        ]
    );
    assert!(c.props.iter().all(|p| p.origin == PropOrigin::JsxProp { element: "CRM".into() }));
    assert_eq!(c.ignored_props, ["lightTheme", "darkTheme", "dataProvider"]);
    assert_eq!(get(&c, "title"), &json!("ACME Sales"));
    assert_eq!(get(&c, "logo"), &json!("./img/acme-logo.png"));
    // `icon: MaleIcon` is an imported component: left out, reported, the rest of the option kept.
    assert_eq!(
        get(&c, "contactGender"),
        &json!([
            { "value": "male", "label": "He" },
            { "value": "female", "label": "She" },
            { "value": "other", "label": "They" }
        ])
    );
    assert_eq!(get(&c, "companySectors"), &json!(["Technology", "Finance", "Health & Wellness", "Real Estate"]));
    assert_eq!(get(&c, "taskTypes"), &json!(["Email", "Call", "Follow-up", "Thank you", "Site visit"]));
    assert_eq!(get(&c, "dealPipelineStatuses"), &json!(["won", "signed"]));
    assert_eq!(get(&c, "dealStages").as_array().unwrap().len(), 5);
    assert_eq!(c.prop("dealStages").unwrap().line, 24);

    let d: Vec<(usize, &str)> = c.diagnostics.iter().map(|d| (d.line, d.prop.as_str())).collect();
    assert_eq!(d, [(17, "contactGender[0].icon"), (18, "contactGender[1].icon")]);
    assert!(c.diagnostics[0].message.contains("imported from \"@mui/icons-material/Male\""), "{}", c.diagnostics[0]);
    assert_eq!(c.diagnostics[0].file, fixture("App.customised.tsx"));
}

#[test]
fn as_const_satisfies_annotations_and_type_assertions() {
    let c = extract("typed.ts");
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(keys(&c), ["dealStages", "noteStatuses", "taskTypes", "currency", "title"]);
    assert_eq!(
        get(&c, "dealStages"),
        &json!([
            { "value": "lead", "label": "Lead" },
            { "value": "qualified", "label": "Qualified" },
            { "value": "in-negociation", "label": "In Negotiation" },
            { "value": "closed-won", "label": "Closed – won" },
            { "value": "closed-lost", "label": "Closed – lost" }
        ])
    );
    assert_eq!(
        get(&c, "noteStatuses"),
        &json!([
            { "value": "cold", "label": "Cold", "color": "#7dbde8" },
            { "value": "hot", "label": "Hot", "color": "#e88b7d" }
        ])
    );
    assert_eq!(
        get(&c, "taskTypes"),
        &json!([
            { "value": "call", "label": "Call" },
            { "value": "email", "label": "E\u{2011}mail" },
            { "value": "visit", "label": "Site \"visit\"" }
        ])
    );
    assert_eq!(get(&c, "currency"), &json!("EUR"));
    assert_eq!(get(&c, "title"), &json!("Typed CRM"));
    assert_eq!(c.prop("currency").unwrap().origin, PropOrigin::ConfigObject { name: "defaultConfiguration".into() });
}

#[test]
fn identifier_references_spreads_member_access_and_comments() {
    let c = extract("refs-comments.tsx");
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(keys(&c), ["title", "currency", "companySectors", "dealStages", "noteStatuses"]);
    assert_eq!(
        get(&c, "dealStages"),
        &json!([
            { "value": "opportunity", "label": "Opportunity" },
            { "value": "won", "label": "Won" },
            { "value": "lost", "label": "Lost" },
            { "value": "lost-to-competitor", "label": "Lost to competitor" }
        ])
    );
    assert_eq!(
        get(&c, "noteStatuses"),
        &json!([
            { "value": "cold", "label": "Cold", "color": "#7dbde8" },
            { "value": "hot", "label": "Hot", "color": "#e88b7d" }
        ])
    );
    assert_eq!(
        get(&c, "companySectors"),
        &json!([
            { "value": "tech", "label": "Technology" },
            { "value": "real-estate", "label": "Real Estate" }
        ])
    );
    // The explicit prop after `{...config}` wins, as in JSX.
    assert_eq!(get(&c, "title"), &json!("Refs CRM (override)"));
    assert_eq!(c.prop("title").unwrap().line, 45);
    assert_eq!(get(&c, "currency"), &json!("GBP"));
    assert_eq!(c.prop("currency").unwrap().origin, PropOrigin::JsxProp { element: "CRM".into() });
}

#[test]
fn non_literal_props_are_diagnosed_with_file_line_and_prop() {
    let c = extract("nonliteral.tsx");
    let d: Vec<(usize, &str)> = c.diagnostics.iter().map(|d| (d.line, d.prop.as_str())).collect();
    assert_eq!(
        d,
        [
            (13, "dealStages"),
            (14, "taskTypes[0]"),
            (15, "noteStatuses"),
            (16, "title"),
            (19, "dealCategories[1].label")
        ]
    );
    assert!(c.diagnostics[0].message.contains("function call"), "{}", c.diagnostics[0]);
    assert_eq!(c.diagnostics[0].snippet, "buildStages()");
    assert!(c.diagnostics[1].message.contains("imported from \"./root/defaultConfiguration\""));
    assert!(c.diagnostics[3].message.contains("substitutions"));
    let shown = c.diagnostics[0].to_string();
    assert!(shown.contains("nonliteral.tsx:13:17: dealStages"), "{shown}");
    // What is literal is still read.
    assert_eq!(keys(&c), ["taskTypes", "dealCategories", "currency"]);
    assert_eq!(get(&c, "taskTypes"), &json!([{ "value": "visit", "label": "Visit" }]));
    assert_eq!(get(&c, "dealCategories"), &json!([{ "value": "other", "label": "Other" }, { "value": "rush" }]));
    assert_eq!(get(&c, "currency"), &json!("EUR"));
}

#[test]
fn a_file_that_does_not_parse_names_the_file_and_line() {
    let err = tsconfig::extract(&fixture("broken.tsx")).unwrap_err();
    match &err {
        TsError::Syntax { path, line, .. } => {
            assert_eq!(path, &fixture("broken.tsx"));
            assert_eq!(*line, 7, "first syntax error reported at line {line}: {err}");
        }
        other => panic!("expected a syntax error, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("broken.tsx:"), "{text}");
    assert!(text.contains("broken.tsx:7:37: syntax error (missing \"}\")"), "{text}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = tsconfig::extract(&fixture("no-such-App.tsx")).unwrap_err();
    assert!(matches!(err, TsError::Io { .. }));
    assert!(err.to_string().contains("no-such-App.tsx"), "{err}");
}

#[test]
fn inline_sources_cover_edge_cases() {
    let src = r#"
        const a = b; const b = a;               // a cycle
        const nums = [1, -2, 0x10, 1_000, 2.5e1, +3];
        const nested = { deep: { list: [`x`, 'y\'s', "z\n"] } };
        export const defaultDealCategories = nested.deep.list;
        export const defaultTaskTypes = a;
        export const defaultCurrency = nums[2];
        export const defaultTitle = undefined;
    "#;
    let c = tsconfig::extract_source(Path::new("inline.ts"), src).unwrap();
    assert_eq!(get(&c, "dealCategories"), &json!(["x", "y's", "z\n"]));
    assert_eq!(get(&c, "currency"), &json!(16));
    assert_eq!(get(&c, "title"), &Value::Null);
    assert!(c.get("taskTypes").is_none());
    assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
    assert_eq!(c.diagnostics[0].prop, "taskTypes");
    assert!(c.diagnostics[0].message.contains("refers to itself"), "{}", c.diagnostics[0]);
}

#[test]
fn a_file_without_configuration_gives_no_props() {
    let c =
        tsconfig::extract_source(Path::new("App.tsx"), "const App = () => <CRM />;\nexport default App;\n").unwrap();
    assert!(c.props.is_empty());
    assert!(c.diagnostics.is_empty());
}

#[test]
fn an_unexpected_token_is_quoted() {
    let src = "export const defaultTitle = \"A\";\nexport const defaultCurrency = ;;; @@ \"USD\";\n";
    let err = tsconfig::extract_source(Path::new("cfg.ts"), src).unwrap_err();
    let TsError::Syntax { line, detail, .. } = &err else { panic!("{err}") };
    assert_eq!(*line, 2, "{err}");
    assert!(detail.starts_with("unexpected") || detail.starts_with("missing"), "{err}");
}

#[test]
fn absurd_nesting_is_diagnosed_not_a_crash() {
    let depth = 3000;
    let src = format!("export const defaultDealStages = {}{};\n", "[".repeat(depth), "]".repeat(depth));
    let c = tsconfig::extract_source(Path::new("deep.ts"), &src).unwrap();
    assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>());
    assert!(c.diagnostics[0].message.contains("too deep"), "{}", c.diagnostics[0]);
    assert!(c.diagnostics[0].prop.starts_with("dealStages[0][0]"));
}
