//! The dump reader gives exactly the live reader's records: through the generator's own dump writer (COPY and
//! INSERT styles) and through real `pg_dump` output (COPY, and multi-row INSERTs with column lists).

use std::path::Path;
use std::process::Command;

use ferry_atomic::generate::{self, DumpStyle, GenConfig};
use ferry_atomic::{Generation, SourceSpec};

use crate::common::{TestDb, assert_same_records, read_all};

fn pg_dump(url: &str, out: &Path, extra: &[&str]) {
    let status = Command::new("pg_dump")
        .args(["--no-owner", "--no-privileges", "--file"])
        .arg(out)
        .args(extra)
        .arg(url)
        .status()
        .expect("pg_dump must be installed (Debian: apt-get install postgresql-client)");
    assert!(status.success(), "pg_dump failed");
}

async fn agree(generation: Generation) {
    let db = TestDb::new().await;
    let client = db.client().await;
    let cfg = GenConfig { seed: 5, generation, rows: 900, custom: true, automation: true };
    generate::load_into(&client, &cfg).await.expect("load");
    let live = read_all(&db.spec()).await;
    assert!(live.extraction.total_records() > 800);
    assert!(live.problems.iter().all(|p| p.object == "sales" || p.object == "auth.users"), "{:?}", live.problems);

    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("generated.sql");
    let mut f = std::fs::File::create(&ours).unwrap();
    generate::write_dump(&mut f, &cfg, DumpStyle::Copy).unwrap();
    drop(f);
    let from_ours = read_all(&SourceSpec::Dump(ours)).await;
    assert_same_records(&live, &from_ours, "live vs generator COPY dump");

    let inserts = dir.path().join("generated-inserts.sql");
    let mut f = std::fs::File::create(&inserts).unwrap();
    generate::write_dump(&mut f, &cfg, DumpStyle::Inserts { rows_per_statement: 7, column_names: true }).unwrap();
    drop(f);
    assert_same_records(&live, &read_all(&SourceSpec::Dump(inserts)).await, "live vs generator INSERT dump");

    let real = dir.path().join("pg_dump.sql");
    pg_dump(&db.url, &real, &[]);
    let from_real = read_all(&SourceSpec::Dump(real.clone())).await;
    assert_same_records(&live, &from_real, "live vs pg_dump");
    assert_eq!(from_real.extraction.detection, live.extraction.detection);
    assert_eq!(from_real.extraction.users, live.extraction.users);

    let real_inserts = dir.path().join("pg_dump-inserts.sql");
    pg_dump(&db.url, &real_inserts, &["--column-inserts", "--rows-per-insert=25"]);
    assert_same_records(&live, &read_all(&SourceSpec::Dump(real_inserts)).await, "live vs pg_dump --column-inserts");

    let plain_inserts = dir.path().join("pg_dump-plain-inserts.sql");
    pg_dump(&db.url, &plain_inserts, &["--inserts"]);
    assert_same_records(&live, &read_all(&SourceSpec::Dump(plain_inserts)).await, "live vs pg_dump --inserts");

    // the catalogs agree on every table's columns and keys
    for t in live.extraction.catalog.tables.iter() {
        let d = from_real
            .extraction
            .catalog
            .table(&t.schema, &t.name)
            .unwrap_or_else(|| panic!("{} missing from dump", t.qualified()));
        assert_eq!(t.columns, d.columns, "{} columns", t.qualified());
        assert_eq!(t.primary_key, d.primary_key, "{} primary key", t.qualified());
        let mut a = t.foreign_keys.iter().map(|f| (&f.columns, &f.target, &f.on_delete)).collect::<Vec<_>>();
        let mut b = d.foreign_keys.iter().map(|f| (&f.columns, &f.target, &f.on_delete)).collect::<Vec<_>>();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{} foreign keys", t.qualified());
    }
}

#[tokio::test]
async fn current_generation_dump_agrees_with_live() {
    agree(Generation::Current).await;
}

#[tokio::test]
async fn legacy_generation_dump_agrees_with_live() {
    agree(Generation::Legacy2024).await;
}
