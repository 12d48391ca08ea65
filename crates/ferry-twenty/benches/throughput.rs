//! Throughput of the client against an in-process sandbox (a benchmark, not a test: it prints figures).
//!
//! `cargo bench -p ferry-twenty --bench throughput` runs:
//! 1. limits off: `FERRY_BENCH_RECORDS` companies (default 100 000) through `create_batch_idempotent` in batches of
//!    200 — records/s of client + sandbox;
//! 2. the naive way for comparison: `FERRY_BENCH_NAIVE` companies (default 5 000), one `create_one` per record;
//! 3. at the real server's default limit (100 calls / 60 s, 200 records per batch, so a ceiling of 20 000
//!    records/min): `FERRY_BENCH_LIMITED` companies (default 20 000; 0 skips it, it takes about a minute) —
//!    records/min and % of the ceiling, plus the sandbox's 429 count.

use std::time::{Duration, Instant};

use ferry_twenty::{ApiKey, ClientOptions, RateLimit, TwentyClient, WriteMode};
use ferry_twenty_sandbox::{RateLimitConfig, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn companies(prefix: &str, from: usize, n: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            json!({
                "name": format!("{prefix} {i}"),
                "domainName": {"primaryLinkUrl": format!("https://{prefix}-{i}.example.com")},
                "employees": i % 1000,
                "address": {"addressCity": "Paris", "addressCountry": "France"},
            })
        })
        .collect()
}

async fn load(client: &TwentyClient, prefix: &str, total: usize, per_call: usize) -> Duration {
    let start = Instant::now();
    let mut done = 0;
    while done < total {
        let n = per_call.min(total - done);
        let out = client.create_batch_idempotent("company", companies(prefix, done, n), WriteMode::Create).await;
        let out = out.unwrap_or_else(|e| panic!("load failed: {e}"));
        assert_eq!(out.written(), n, "every record written");
        done += n;
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let total = env("FERRY_BENCH_RECORDS", 100_000);
    let naive = env("FERRY_BENCH_NAIVE", 5_000);
    let limited = env("FERRY_BENCH_LIMITED", 20_000);

    // 1. Limits off.
    let sbx = SandboxHandle::start(SandboxConfig { rate_limit: None, ..SandboxConfig::default() }).await.unwrap();
    let options = ClientOptions { rate_limit: None, ..ClientOptions::default() };
    let client = TwentyClient::connect(&sbx.base_url(), ApiKey::new(sbx.api_key()), options).await.unwrap();
    let took = load(&client, "off", total, 2_000).await;
    let m = client.metrics();
    println!(
        "limits off: {total} records in {:.2} s = {:.0} records/s ({} requests, {} retries)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        m.requests,
        m.retries
    );

    // 2. Naive: one record per request.
    let start = Instant::now();
    for (i, r) in companies("naive", 0, naive).into_iter().enumerate() {
        client.create_one("company", r, WriteMode::Create).await.unwrap_or_else(|e| panic!("record {i}: {e}"));
    }
    let took = start.elapsed();
    println!(
        "naive (one record per request), limits off: {naive} records in {:.2} s = {:.0} records/s; at the real \
         server's 100 calls/min that is a ceiling of 100 records/min",
        took.as_secs_f64(),
        naive as f64 / took.as_secs_f64()
    );
    sbx.shutdown().await.unwrap();

    // 3. At the real server's default limit.
    if limited > 0 {
        let sbx = SandboxHandle::start(SandboxConfig {
            rate_limit: Some(RateLimitConfig { tokens: 100, window: Duration::from_secs(60) }),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let options = ClientOptions { rate_limit: Some(RateLimit::default()), ..ClientOptions::default() };
        let client = TwentyClient::connect(&sbx.base_url(), ApiKey::new(sbx.api_key()), options).await.unwrap();
        let took = load(&client, "limited", limited, 2_000).await;
        let per_min = limited as f64 / took.as_secs_f64() * 60.0;
        let calls = client.metrics().counted_requests;
        // The ceiling: 100 calls per minute, 200 records each.
        println!(
            "at 100 calls/60 s: {limited} records in {:.1} s = {per_min:.0} records/min = {:.1} % of the 20 000/min \
             ceiling ({calls} counted calls, server 429s: {}, client limiter wait {:.1} s)",
            took.as_secs_f64(),
            per_min / 20_000.0 * 100.0,
            sbx.stats().rate_limited,
            client.metrics().limiter_wait_micros as f64 / 1e6
        );
        sbx.shutdown().await.unwrap();
    }
}
