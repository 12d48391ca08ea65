//! Extraction benchmark: generates an Atomic CRM database of ~1M rows, then extracts it live (PostgreSQL) and
//! from a dump file, printing rows/s and peak RSS (VmHWM, reset before each phase).
//!
//! Run: `cargo bench -p ferry-atomic --bench extract -- --rows 1000000`
//! The server comes from FERRY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a
//! throwaway `ferry_bench_<random>` database is created and dropped.
//! `--from <url|dump>` only extracts an existing source; `--write-dump <path>` only writes the generated dump;
//! `--keep` leaves the generated database in place (its URL is printed) for repeated `--from` runs.
//!
//! Besides wall time, each extraction prints the CPU seconds spent by this process and by the PostgreSQL server
//! processes on this machine (all of them, reaped backends included: run it on an otherwise idle server).

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

/// CPU seconds (user + system) from a `/proc/<pid>/stat` line; `children` adds reaped children's time.
fn stat_cpu_secs(stat: &str, children: bool) -> f64 {
    // the fields after the parenthesised command name; utime is field 14 of the whole line
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let ticks = if f.len() > 14 { f[11] + f[12] + if children { f[13] + f[14] } else { 0.0 } } else { 0.0 };
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn own_cpu_secs() -> f64 {
    stat_cpu_secs(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default(), false)
}

/// CPU seconds of every `postgres` process on this machine, including backends that already exited (their time
/// is in the postmaster's reaped-children counters).
fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return f64::NAN };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|s| s.contains("(postgres)"))
        .map(|s| stat_cpu_secs(&s, true))
        .sum()
}

async fn run_extract(label: &str, spec: &SourceSpec) {
    let reset = reset_peak();
    let (cpu0, pg0) = (own_cpu_secs(), postgres_cpu_secs());
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
    let (cpu, pg) = (own_cpu_secs() - cpu0, postgres_cpu_secs() - pg0);
    black_box(weight);
    println!(
        "{label:<12} {records:>9} records in {secs:>6.2} s = {:>9.0} rows/s, peak RSS {:>6.1} MiB{}, {problems} problems, generation {}",
        records as f64 / secs,
        peak_rss_mib(),
        if reset { "" } else { " (process peak: clear_refs unavailable)" },
        summary.detection.generation
    );
    println!("{:<12} CPU: ferry {cpu:.2} s, PostgreSQL server {pg:.2} s", "");
}

fn main() {
    let mut rows: u64 = 1_000_000;
    let mut generation = Generation::Current;
    let mut from: Option<String> = None;
    let mut write_dump: Option<String> = None;
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--generation" => generation = args.next().and_then(|v| v.parse().ok()).expect("--generation NAME"),
            // extract an existing source only (for profiling)
            "--from" => from = args.next(),
            // only write the generated dump to a path (for profiling)
            "--write-dump" => write_dump = args.next(),
            // leave the generated database in place
            "--keep" => keep = true,
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
        // A database that has been in use has its rows' hint bits set and its statistics gathered; a fresh bulk
        // load has neither, and the first read would pay for writing every page back (and race autovacuum).
        // VACUUM ANALYZE brings the generated database to that settled state before it is read.
        let t = Instant::now();
        db.batch_execute("VACUUM ANALYZE").await.expect("vacuum");
        println!("settle (VACUUM ANALYZE) in {:>6.2} s", t.elapsed().as_secs_f64());
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

        if keep {
            println!("kept {}", ferry_atomic::redact_url(url.as_str()));
        } else {
            client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.expect("drop database");
        }
    });
}
