//! `ferry generate` writes an Atomic CRM backup; `ferry audit` reads it back without any database.

use std::process::Command;

fn ferry(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("ferry binary runs")
}

#[test]
fn audit_of_a_generated_backup_finds_the_generation_custom_columns_users_and_automation() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("backup.sql");
    let dump = dump.to_str().unwrap();
    let gen_out = ferry(&["generate", "--out", dump, "--rows", "300", "--generation", "jsonb2025"]);
    assert!(gen_out.status.success(), "generate failed: {}", String::from_utf8_lossy(&gen_out.stderr));
    assert!(String::from_utf8_lossy(&gen_out.stdout).contains("schema generation jsonb2025"));

    let out = ferry(&["audit", "--from", dump, "--json"]);
    assert!(out.status.success(), "audit failed: {}", String::from_utf8_lossy(&out.stderr));
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
    assert_eq!(audit["generation"], "jsonb2025");
    let custom = audit["custom_columns"].as_array().expect("custom_columns");
    assert!(!custom.is_empty(), "the generated custom columns are found: {audit}");
    assert!(!audit["user_tables"].as_array().unwrap().is_empty(), "the user-added table is found");
    assert!(!audit["users"].as_array().unwrap().is_empty(), "sales users are listed");
    assert!(!audit["automation"].as_array().unwrap().is_empty(), "triggers and functions are listed");

    let text = ferry(&["audit", "--from", dump]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Custom columns"), "{text}");
}

#[test]
fn audit_of_a_missing_file_names_it() {
    let out = ferry(&["audit", "--from", "/nonexistent/backup.sql"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/backup.sql"), "{err}");
}

#[test]
fn audit_of_a_file_that_is_not_an_atomic_crm_backup_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.sql");
    std::fs::write(&path, "CREATE TABLE public.things (id bigint);\n").unwrap();
    let out = ferry(&["audit", "--from", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a non-Atomic dump is refused; stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("notes.sql"), "{err}");
}

#[test]
fn audit_reads_the_enums_in_use_and_the_files_records_point_at() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("backup.sql");
    let dump = dump.to_str().unwrap();
    assert!(ferry(&["generate", "--out", dump, "--rows", "400"]).status.success());
    let out = ferry(&["audit", "--from", dump, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stages = audit["enums"]["deal_stages"]["options"].as_array().expect("deal stages");
    assert!(stages.iter().any(|o| o["value"] == "in-negociation"), "Atomic CRM's stage slugs: {stages:?}");
    assert!(
        stages.iter().map(|o| o["records"].as_u64().unwrap_or(0)).sum::<u64>() > 0,
        "stages are counted in the deals: {stages:?}"
    );
    assert!(!audit["enums"]["tags"]["options"].as_array().unwrap().is_empty(), "tags come from the tags table");
    let files = audit["files"].as_object().expect("files by column");
    assert!(files.keys().any(|k| k.ends_with(".attachments")), "note attachments are found: {files:?}");
    assert!(audit["records"]["contacts"].as_u64().unwrap() > 0);

    let text = ferry(&["audit", "--from", dump]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Enums (value"), "{text}");
    assert!(text.contains("Files (storage"), "{text}");
}

#[test]
fn audit_refuses_a_broken_typescript_config_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("backup.sql");
    let dump = dump.to_str().unwrap();
    assert!(ferry(&["generate", "--out", dump, "--rows", "100", "--generation", "snake-case2026"]).status.success());
    let ts = dir.path().join("App.tsx");
    std::fs::write(&ts, "export const App = () => <CRM dealStages={[{ value: 'a', label: 'A' }\n").unwrap();
    let out = ferry(&["audit", "--from", dump, "--config", ts.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("App.tsx"), "{err}");
}
