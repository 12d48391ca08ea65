//! Extraction benchmark: generates an Atomic CRM database of ~1M rows, then extracts it live (PostgreSQL) and
//! from a dump file, printing rows/s and peak RSS (VmHWM, reset before each phase).
//!
//! Run: `cargo bench -p ferry-atomic --bench extract -- --rows 1000000`
//! The server comes from FERRY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a
//! throwaway `ferry_bench_<random>` database is created and dropped.
//! `--from <url|dump>` only extracts an existing source; `--write-dump <path>` only writes the generated dump.

use std::hint::black_box;
use std::time::Instant;

use ferry_atomic::extract::{Item, extract};
use ferry_atomic::generate::{self, DumpStyle, GenConfig};
use ferry_atomic::{Generation, SourceSpec};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so each phase reports its own peak.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn run_extract(label: &str, spec: &SourceSpec) {
    let reset = reset_peak();
    let start = Instant::now();
    let mut records = 0u64;
    let mut problems = 0u64;
    let mut weight = 0usize;
    let summary = extract(spec, &mut |item| {
        match item {
            Item::Record(r) => {
                records += 1;
                weight += r.values.len();
                black_box(&r);
            }
            Item::Problem(p) => {
                problems += 1;
                black_box(&p);
            }
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    let secs = start.elapsed().as_secs_f64();
    black_box(weight);
    println!(
        "{label:<12} {records:>9} records in {secs:>6.2} s = {:>9.0} rows/s, peak RSS {:>6.1} MiB{}, {problems} problems, generation {}",
        records as f64 / secs,
        peak_rss_mib(),
        if reset { "" } else { " (process peak: clear_refs unavailable)" },
        summary.detection.generation
    );
}

fn main() {
    let mut rows: u64 = 1_000_000;
    let mut generation = Generation::Current;
    let mut from: Option<String> = None;
    let mut write_dump: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--generation" => generation = args.next().and_then(|v| v.parse().ok()).expect("--generation NAME"),
            // extract an existing source only (for profiling)
            "--from" => from = args.next(),
            // only write the generated dump to a path (for profiling)
            "--write-dump" => write_dump = args.next(),
            _ => {} // cargo passes --bench
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if let Some(path) = write_dump {
        let cfg = GenConfig { seed: 2026, generation, rows, custom: true, automation: true };
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("dump file"));
        generate::write_dump(&mut f, &cfg, DumpStyle::Copy).expect("dump");
        return;
    }
    if let Some(source) = from {
        let spec = SourceSpec::parse(&source).expect("--from");
        // run on a runtime worker, as a spawned task (the way a CLI command would run it)
        rt.block_on(
            async move { tokio::spawn(async move { run_extract("extract", &spec).await }).await.expect("task") },
        );
        return;
    }
    rt.block_on(async move {
        let admin = std::env::var("FERRY_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL at {} ({e}); start one or set FERRY_TEST_DATABASE_URL",
                ferry_atomic::redact_url(&admin)
            )
        });
        tokio::spawn(conn);
        let name = format!("ferry_bench_{}", uuid::Uuid::new_v4().simple());
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
        let mut url = url::Url::parse(&admin).expect("url");
        url.set_path(&format!("/{name}"));
        let cfg = GenConfig { seed: 2026, generation, rows, custom: true, automation: true };

        let (db, db_conn) = tokio_postgres::connect(url.as_str(), tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(db_conn);
        reset_peak();
        let t = Instant::now();
        let summary = generate::load_into(&db, &cfg).await.expect("load");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "generate→PG  {:>9} rows    in {secs:>6.2} s = {:>9.0} rows/s, peak RSS {:>6.1} MiB",
            summary.crm_rows(),
            summary.crm_rows() as f64 / secs,
            peak_rss_mib()
        );
        drop(db);

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("atomic.sql");
        reset_peak();
        let t = Instant::now();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("dump file"));
        generate::write_dump(&mut f, &cfg, DumpStyle::Copy).expect("dump");
        drop(f);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "generate→dump {:>8} rows    in {:>6.2} s, {:.0} MiB file, peak RSS {:>6.1} MiB",
            summary.crm_rows(),
            t.elapsed().as_secs_f64(),
            size as f64 / 1048576.0,
            peak_rss_mib()
        );

        let live = SourceSpec::parse(url.as_str()).expect("url");
        tokio::spawn(async move { run_extract("live", &live).await }).await.expect("task");
        let dump = SourceSpec::Dump(path.clone());
        tokio::spawn(async move { run_extract("dump", &dump).await }).await.expect("task");

        client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.expect("drop database");
    });
}
