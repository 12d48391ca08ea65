//! Shared helpers for the sandbox's HTTP tests.
#![allow(dead_code)]

use ferry_twenty_sandbox::{SandboxConfig, SandboxHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// A started sandbox and a client with its API key.
pub struct Sbx {
    pub handle: SandboxHandle,
    pub client: Client,
}

impl Sbx {
    pub async fn start() -> Sbx {
        Sbx::with(SandboxConfig { rate_limit: None, ..SandboxConfig::default() }).await
    }

    pub async fn with(config: SandboxConfig) -> Sbx {
        let handle = SandboxHandle::start(config).await.expect("sandbox starts");
        Sbx { handle, client: Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.base_url(), path)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(self.handle.api_key());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request answered");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// POST /graphql with a JSON body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let (s, v) = self.post("/graphql", serde_json::json!({"query": query, "variables": variables})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// POST /metadata with a JSON body.
    pub async fn metadata_graphql(&self, query: &str, variables: Value) -> Value {
        let (s, v) = self.post("/metadata", serde_json::json!({"query": query, "variables": variables})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// The id of the standard object with this singular name.
    pub async fn object_id(&self, singular: &str) -> String {
        let (_, v) = self.get("/rest/metadata/objects").await;
        v["data"]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["nameSingular"] == singular)
            .and_then(|o| o["id"].as_str())
            .expect("object exists")
            .to_string()
    }
}
