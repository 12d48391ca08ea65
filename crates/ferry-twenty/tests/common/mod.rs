//! Shared helpers: start a sandbox and connect a client to it.

#![allow(dead_code)]

use ferry_twenty::{ApiKey, ClientOptions, TwentyClient};
use ferry_twenty_sandbox::{SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

/// A sandbox with `adjust` applied to the default config, and the rate limit off unless `adjust` sets one.
pub async fn sandbox(adjust: impl FnOnce(&mut SandboxConfig)) -> SandboxHandle {
    let mut config = SandboxConfig { rate_limit: None, ..SandboxConfig::default() };
    adjust(&mut config);
    SandboxHandle::start(config).await.expect("sandbox starts")
}

/// A client with test options (no rate limit, fast retries) adjusted by `adjust`.
pub async fn client_with(sbx: &SandboxHandle, adjust: impl FnOnce(&mut ClientOptions)) -> TwentyClient {
    let mut options = ClientOptions::for_tests();
    adjust(&mut options);
    TwentyClient::connect(&sbx.base_url(), ApiKey::new(sbx.api_key()), options).await.expect("client connects")
}

/// A client with test options.
pub async fn client(sbx: &SandboxHandle) -> TwentyClient {
    client_with(sbx, |_| {}).await
}

/// `n` company records with unique names and domains.
pub fn companies(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "name": format!("{prefix} {i:04}"),
                "domainName": {"primaryLinkUrl": format!("https://{}-{i:04}.example.com", prefix.to_lowercase())},
                "employees": i,
            })
        })
        .collect()
}

/// Every row of `singular` in the sandbox's state (soft-deleted rows included), straight from its snapshot.
pub fn rows(sbx: &SandboxHandle, singular: &str) -> Vec<Value> {
    sbx.snapshot().pointer(&format!("/records/{singular}")).and_then(Value::as_array).cloned().unwrap_or_default()
}
