//! The one recorded behaviour the sandbox cannot produce: a rate-limited `/graphql` call answered as HTTP 200 with
//! `errors[0].extensions.subCode = LIMIT_REACHED` (exchange 98). A stub server replays the recorded bodies.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Json;
use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use ferry_twenty::{ApiKey, ClientOptions, TwentyClient};
use serde_json::Value;

fn recorded(name: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferry-twenty-sandbox/tests/fixtures/twenty-contract").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let exchange: Value = serde_json::from_str(&text).unwrap();
    exchange["response"]["body"].clone()
}

#[tokio::test]
async fn graphql_limit_reached_is_retried() {
    let objects = recorded("01-metadata-objects.json");
    let details = recorded("02-metadata-graphql-objects-fields.json");
    let limited = recorded("98-rate-limit-graphql.json");
    let uploaded = recorded("77-graphql-upload-file.json");
    assert_eq!(limited["errors"][0]["extensions"]["subCode"], "LIMIT_REACHED");
    let calls = Arc::new(AtomicU32::new(0));
    let graphql_calls = calls.clone();
    let app = Router::new()
        .route("/rest/metadata/objects", get(move || async move { Json(objects) }))
        .route("/metadata", post(move || async move { Json(details) }))
        .route(
            "/graphql",
            post(move || {
                let n = graphql_calls.fetch_add(1, Ordering::SeqCst);
                let body = if n == 0 { limited.clone() } else { uploaded.clone() };
                async move { Json(body) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let c = TwentyClient::connect(&format!("http://{addr}"), ApiKey::new("k-stub"), ClientOptions::for_tests())
        .await
        .unwrap();
    let file = c.upload_file("hello.txt", "text/plain", Bytes::from_static(b"hi")).await.unwrap();
    assert!(file.path.starts_with("attachment/"));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the limited call was retried once");
    let m = c.metrics();
    assert_eq!((m.rate_limited, m.retries), (1, 1));
}
