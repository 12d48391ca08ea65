//! End-to-end loading throughput: ferry's loader (journal included) → this client → a sandbox in another process
//! (a benchmark, not a test: it prints figures).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-rel cargo bench -p ferry-twenty --bench throughput
//! # only the limits-off figure, 8 calls in flight:
//! FERRY_BENCH_LIMITED=0 FERRY_BENCH_NAIVE=0 FERRY_BENCH_RSS_ROWS=0 FERRY_BENCH_CONCURRENCY=8 \
//!     CARGO_TARGET_DIR=/work/target-rel cargo bench -p ferry-twenty --bench throughput
//! ```
//!
//! Every phase loads companies through `ferry_core::load::Loader` (ids decided up front, each batch journalled
//! `sent` before its request and `written` after, in a SQLite journal on disk) into a sandbox that runs in a child
//! process (this binary again, with `FERRY_BENCH_ROLE` set), so the figures and the peak RSS are the loading
//! process's own; the CPU seconds of both processes are printed to show which side is the bottleneck.
//!
//! 1. limits off: `FERRY_BENCH_RECORDS` companies (default 100 000) in batches of 200 with
//!    `FERRY_BENCH_CONCURRENCY` calls in flight (default: the loader's default) — records/s;
//! 2. at the real server's default limit (100 calls / 60 s, 200 records per batch: a ceiling of 20 000 records/min):
//!    `FERRY_BENCH_LIMITED` companies (default 20 000, 0 skips; it takes about a minute) — records/min and % of
//!    the ceiling;
//! 3. the naive way at the same limit: `FERRY_BENCH_NAIVE` companies (default 20, 0 skips), one create request
//!    per record, then extrapolated to 100 000 records;
//! 4. peak RSS: `FERRY_BENCH_RSS_ROWS` source rows (default 1 000 000, 0 skips) through one journal, limits off,
//!    against a fresh sandbox process every 100 000 rows (a sandbox holding a million rows would need ~10 GB);
//!    VmHWM of the loading process, over all phases, is printed at the end.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_core::Journal;
use ferry_core::load::{DEFAULT_CONCURRENCY, LoadStats, Loader, ObjectLoad, Prepared};
use ferry_twenty::{ApiKey, ClientOptions, RateLimit, TwentyClient, WriteMode};
use ferry_twenty_sandbox::{RateLimitConfig, SandboxConfig, SandboxHandle};
use serde_json::{Map, Value, json};

const ROLE: &str = "FERRY_BENCH_ROLE";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn company(prefix: &str, i: usize) -> Map<String, Value> {
    let v = json!({
        "name": format!("{prefix} {i}"),
        "domainName": {"primaryLinkUrl": format!("https://{prefix}-{i}.example.com")},
        "employees": i % 1000,
        "address": {"addressCity": "Paris", "addressCountry": "France"},
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The child process: a sandbox that serves until its stdin closes.
fn serve_sandbox(role: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let rate_limit = match role {
            "limited" => Some(RateLimitConfig { tokens: 100, window: Duration::from_secs(60) }),
            _ => None,
        };
        let sbx = SandboxHandle::start(SandboxConfig { rate_limit, ..SandboxConfig::default() })
            .await
            .expect("sandbox starts");
        println!("{} {}", sbx.base_url(), sbx.api_key());
        // Serve until the parent closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .ok();
        sbx.shutdown().await.ok();
    });
}

/// A sandbox in a child process.
struct Sandbox {
    child: Child,
    base_url: String,
    api_key: String,
}

impl Sandbox {
    fn start(role: &str) -> Sandbox {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .env(ROLE, role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sandbox process starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("sandbox address");
        let mut parts = line.split_whitespace();
        let base_url = parts.next().expect("base url").to_string();
        let api_key = parts.next().expect("api key").to_string();
        Sandbox { child, base_url, api_key }
    }

    /// CPU seconds the sandbox process used so far.
    fn cpu(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    async fn client(&self, rate_limit: Option<RateLimit>) -> TwentyClient {
        let options = ClientOptions { rate_limit, ..ClientOptions::default() };
        TwentyClient::connect(&self.base_url, ApiKey::new(self.api_key.clone()), options).await.expect("connects")
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// utime + stime of a process, from its `/proc/…/stat` (clock ticks of 1/100 s).
fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let after = text.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// A line of `/proc/self/status`, in MiB.
fn status_mib(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Loads companies `from..from + n` through a loader into `client`, journalled in `journal`.
async fn load(
    journal: &mut Journal,
    client: &TwentyClient,
    source: &str,
    from: usize,
    n: usize,
    concurrency: usize,
) -> LoadStats {
    let object = ObjectLoad { source: source.to_string(), destination: "company".to_string() };
    let mut loader = Loader::new(journal, client, object).await.expect("loader").with_concurrency(concurrency);
    for i in from..from + n {
        let record = Prepared { key: i.to_string(), values: company(source, i), refs: Vec::new(), unique: Vec::new() };
        loader.push(record).await.unwrap_or_else(|e| panic!("record {i}: {e}"));
    }
    let stats = loader.finish().await.unwrap_or_else(|e| panic!("finish: {e}"));
    assert_eq!(stats.written as usize, n, "every record written once: {stats:?}");
    stats
}

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        return serve_sandbox(&role);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(bench());
}

async fn bench() {
    let total = env("FERRY_BENCH_RECORDS", 100_000);
    let concurrency = env("FERRY_BENCH_CONCURRENCY", DEFAULT_CONCURRENCY).max(1);
    let limited = env("FERRY_BENCH_LIMITED", 20_000);
    let naive = env("FERRY_BENCH_NAIVE", 20);
    let rss_rows = env("FERRY_BENCH_RSS_ROWS", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");

    // 1. Limits off.
    if total > 0 {
        let sbx = Sandbox::start("off");
        let client = sbx.client(None).await;
        let mut journal = Journal::open(&dir.path().join("off.journal")).expect("journal");
        let (own, theirs) = (cpu_seconds("/proc/self/stat"), sbx.cpu());
        let start = Instant::now();
        let stats = load(&mut journal, &client, "off", 0, total, concurrency).await;
        let took = start.elapsed().as_secs_f64();
        println!(
            "limits off: {total} records in {took:.2} s = {:.0} records/s ({} calls, {concurrency} in flight; CPU: \
             loader {:.1} s, sandbox {:.1} s)",
            total as f64 / took,
            stats.calls,
            cpu_seconds("/proc/self/stat") - own,
            sbx.cpu() - theirs,
        );
        sbx.stop();
    }

    // 2. and 3. At the real server's default limit.
    if limited > 0 || naive > 0 {
        let sbx = Sandbox::start("limited");
        let client = sbx.client(Some(RateLimit::default())).await;
        if limited > 0 {
            let mut journal = Journal::open(&dir.path().join("limited.journal")).expect("journal");
            let start = Instant::now();
            let stats = load(&mut journal, &client, "limited", 0, limited, concurrency).await;
            let took = start.elapsed().as_secs_f64();
            let per_min = limited as f64 / took * 60.0;
            let m = client.metrics();
            println!(
                "at 100 calls/60 s: {limited} records in {took:.1} s = {per_min:.0} records/min = {:.1} % of the \
                 20 000/min ceiling ({} calls, server 429s: {}, client limiter wait {:.1} s)",
                per_min / 20_000.0 * 100.0,
                stats.calls,
                m.rate_limited,
                m.limiter_wait_micros as f64 / 1e6
            );
        }
        if naive > 0 {
            let start = Instant::now();
            for i in 0..naive {
                let record = Value::Object(company("naive", i));
                client.create_one("company", record, WriteMode::Create).await.unwrap_or_else(|e| panic!("{i}: {e}"));
            }
            let took = start.elapsed().as_secs_f64();
            let per_min = naive as f64 / took * 60.0;
            println!(
                "naive (one record per request) at 100 calls/60 s: {naive} records in {took:.1} s = {per_min:.0} \
                 records/min; extrapolated, 100 000 records would take {:.1} h instead of {:.1} min in batches",
                100_000.0 / per_min / 60.0,
                100_000.0 / 20_000.0
            );
        }
        sbx.stop();
    }

    // 4. Peak RSS over a million source rows, one journal, a fresh sandbox every 100 000 rows.
    if rss_rows > 0 {
        let mut journal = Journal::open(&dir.path().join("rss.journal")).expect("journal");
        let start = Instant::now();
        let mut done = 0;
        while done < rss_rows {
            let n = (rss_rows - done).min(100_000);
            let sbx = Sandbox::start("off");
            let client = sbx.client(None).await;
            load(&mut journal, &client, &format!("rss{done}"), done, n, concurrency).await;
            sbx.stop();
            done += n;
        }
        println!(
            "{rss_rows} source rows loaded in {:.1} s (one journal, a fresh sandbox every 100 000 rows)",
            start.elapsed().as_secs_f64()
        );
    }
    println!(
        "peak RSS of the loading process (VmHWM, all phases): {:.0} MiB (VmRSS now {:.0} MiB)",
        status_mib("VmHWM:"),
        status_mib("VmRSS:")
    );
}
