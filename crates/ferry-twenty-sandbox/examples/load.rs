//! Load figures: creates N companies in batches of 200 over HTTP, pages through all of them, filters and sorts
//! them, and prints the times. `cargo run --release -p ferry-twenty-sandbox --example load -- 100000`

use std::time::Instant;

use ferry_twenty_sandbox::{SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let sandbox = SandboxHandle::start(SandboxConfig { rate_limit: None, ..SandboxConfig::default() }).await?;
    let client = reqwest::Client::new();
    let key = sandbox.api_key().to_string();
    let base = sandbox.base_url();

    let t = Instant::now();
    for chunk in 0..n.div_ceil(200) {
        let batch: Vec<Value> = (0..200)
            .map(|i| chunk * 200 + i)
            .filter(|i| *i < n)
            .map(|i| {
                json!({"name": format!("Company {i:06}"), "employees": i % 1000,
                "domainName": {"primaryLinkUrl": format!("https://c{i}.example.com")}})
            })
            .collect();
        let resp = client.post(format!("{base}/rest/batch/companies")).bearer_auth(&key).json(&batch).send().await?;
        if resp.status() != 201 {
            return Err(format!("batch {chunk}: {}", resp.text().await?).into());
        }
    }
    let create = t.elapsed();

    let t = Instant::now();
    let mut seen = 0;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}/rest/companies?limit=200");
        if let Some(c) = &after {
            url.push_str(&format!("&starting_after={c}"));
        }
        let v: Value = client.get(&url).bearer_auth(&key).send().await?.json().await?;
        seen += v["data"]["companies"].as_array().map(Vec::len).unwrap_or(0);
        if v["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = v["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    let page_all = t.elapsed();

    let t = Instant::now();
    let v: Value = client
        .get(format!(
            "{base}/rest/companies?filter=employees[gte]:990&order_by=employees[DescNullsLast],name&limit=200"
        ))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let filtered = t.elapsed();

    println!("records: {n}");
    println!("create (batches of 200): {create:?} ({:.0} records/s)", n as f64 / create.as_secs_f64());
    println!("page through all ({seen} read, 200 per page): {page_all:?}");
    println!("one filtered + sorted page (totalCount {}): {filtered:?}", v["totalCount"]);
    sandbox.shutdown().await?;
    Ok(())
}
