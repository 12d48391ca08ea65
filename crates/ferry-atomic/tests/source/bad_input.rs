//! Bad input gets an error or a problem naming the place and what to do; nothing is dropped silently.

use std::io::Write;

use ferry_atomic::generate::{self, DumpStyle, GenConfig};
use ferry_atomic::{AtomicError, Generation, SourceSpec};

use crate::common::{TestDb, read_all, try_read_all};

#[tokio::test]
async fn connection_failure_names_the_server_without_the_password() {
    let spec = SourceSpec::parse("postgres://crm:Sup3rSecret@127.0.0.1:1/postgres").unwrap();
    let err = match try_read_all(&spec).await {
        Err(e) => e,
        Ok(_) => panic!("connecting to port 1 succeeded"),
    };
    let msg = err.to_string();
    assert!(matches!(err, AtomicError::Connect { .. }), "{msg}");
    assert!(msg.contains("127.0.0.1:1") && !msg.contains("Sup3rSecret"), "{msg}");
    assert!(msg.contains("check host"), "{msg}");
}

#[tokio::test]
async fn a_database_that_is_not_atomic_crm_is_refused() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute("CREATE TABLE public.invoices (id bigint primary key, total numeric)")
        .await
        .unwrap();
    let err = match try_read_all(&db.spec()).await {
        Err(e) => e,
        Ok(_) => panic!("a non-Atomic database was read"),
    };
    let msg = err.to_string();
    assert!(matches!(err, AtomicError::NotAtomic { .. }), "{msg}");
    assert!(msg.contains("companies") && msg.contains("invoices"), "{msg}");
}

fn generated_dump(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let cfg = GenConfig { seed: 1, generation: Generation::Current, rows: 200, custom: false, automation: false };
    let mut buf = Vec::new();
    generate::write_dump(&mut buf, &cfg, DumpStyle::Copy).unwrap();
    (dir.join("dump.sql"), buf)
}

#[tokio::test]
async fn truncated_dumps_name_file_line_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let (path, full) = generated_dump(dir.path());
    // cut inside the contacts COPY block
    let text = String::from_utf8(full.clone()).unwrap();
    let start = text.find("COPY public.contacts").unwrap();
    let cut = start + text[start..].find('\n').unwrap() + 200;
    std::fs::write(&path, &full[..cut]).unwrap();
    let err = try_read_all(&SourceSpec::Dump(path.clone())).await.err().expect("truncated dump accepted");
    let msg = err.to_string();
    assert!(msg.contains("dump.sql:") && msg.contains("public.contacts") && msg.contains("truncated"), "{msg}");

    // cut between statements: the missing "dump complete" line gives it away
    let end = text.find("\n--\n-- PostgreSQL database dump complete").unwrap();
    std::fs::write(&path, &full[..end]).unwrap();
    let msg =
        try_read_all(&SourceSpec::Dump(path.clone())).await.err().expect("dump without footer accepted").to_string();
    assert!(msg.contains("truncated") && msg.contains("dump.sql"), "{msg}");

    // cut inside a function body
    let f = text.find("CREATE TABLE public.deals").unwrap();
    std::fs::write(&path, &full[..f + 40]).unwrap();
    let msg = try_read_all(&SourceSpec::Dump(path)).await.err().unwrap().to_string();
    assert!(msg.contains("middle of a statement"), "{msg}");
}

#[tokio::test]
async fn other_files_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("archive.dump");
    std::fs::write(&p, b"PGDMP\x01\x0e\x00binary").unwrap();
    let msg = try_read_all(&SourceSpec::Dump(p)).await.err().unwrap().to_string();
    assert!(msg.contains("custom-format") && msg.contains("pg_restore"), "{msg}");
    let p = dir.path().join("other.sql");
    std::fs::write(&p, "CREATE TABLE public.invoices (id bigint);\nCOPY public.invoices (id) FROM stdin;\n1\n\\.\n")
        .unwrap();
    let err = try_read_all(&SourceSpec::Dump(p)).await.err().unwrap();
    assert!(matches!(err, AtomicError::NotAtomic { .. }) && err.to_string().contains("other.sql"), "{err}");
    let missing = try_read_all(&SourceSpec::Dump(dir.path().join("nope.sql"))).await.err().unwrap().to_string();
    assert!(missing.contains("nope.sql"), "{missing}");
}

#[tokio::test]
async fn unreadable_rows_and_values_are_reported_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (path, full) = generated_dump(dir.path());
    let mut text = String::from_utf8(full).unwrap();
    // a row with a missing column and a row with broken JSON in the tags table
    let tags = text.find("COPY public.tags").unwrap();
    let line_end = tags + text[tags..].find('\n').unwrap() + 1;
    text.insert_str(line_end, "900\tonly-two-fields\n901\tbroken\t#fff\n");
    let companies = text.find("COPY public.companies").unwrap();
    let data = companies + text[companies..].find('\n').unwrap() + 1;
    let row_end = data + text[data..].find('\n').unwrap();
    let row: Vec<&str> = text[data..row_end].split('\t').collect();
    let mut fields: Vec<String> = row.iter().map(|s| s.to_string()).collect();
    let logo = fields.len() - 1;
    fields[logo] = "{not json".into();
    let id = fields[0].clone();
    text.replace_range(data..row_end, &fields.join("\t"));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    drop(f);

    let read = read_all(&SourceSpec::Dump(path)).await;
    let width = read.problems.iter().find(|p| p.object == "tags").expect("short row reported");
    assert!(width.message.contains("dump.sql:") && width.message.contains("not migrated"), "{width}");
    assert_eq!(width.record.as_deref(), Some("900"));
    assert!(read.records.contains_key(&("tags".into(), "901".into())), "the good extra row is kept");
    let json = read.problems.iter().find(|p| p.object == "companies").expect("bad JSON reported");
    assert_eq!(json.field.as_deref(), Some("logo"));
    assert_eq!(json.record.as_deref(), Some(id.as_str()));
    // the value is kept as text, never dropped
    let company = &read.records[&("companies".to_string(), id)];
    assert_eq!(company.get("logo"), &serde_json::json!("{not json"));
}
