//! The API key never appears in an error's `Display`/`Debug`, in the client's `Debug`, or in tracing output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_twenty::{ApiKey, ClientOptions, ErrorKind, Filter, ListQuery, TwentyClient, TwentyError, WriteMode};
use ferry_twenty_sandbox::FaultConfig;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const KEY: &str = "sbx_THE-REAL-SECRET-0123456789";
const WRONG: &str = "sbx_A-WRONG-SECRET-9876543210";

#[tokio::test]
async fn the_api_key_never_leaks() {
    let capture = Capture::default();
    // Everything the client and the HTTP stack log, at the most verbose level (the sandbox's own logs excluded).
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_env_filter("ferry_twenty=trace,reqwest=trace,hyper=trace,hyper_util=trace,h2=trace")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sbx = common::sandbox(|c| c.api_key = KEY.to_string()).await;
    let mut errors: Vec<TwentyError> = Vec::new();

    // A wrong key: 401 at connect.
    let e = TwentyClient::connect(&sbx.base_url(), ApiKey::new(WRONG), ClientOptions::for_tests()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
    errors.push(e);

    let options = ClientOptions { request_timeout: Duration::from_millis(300), ..ClientOptions::for_tests() };
    let c = TwentyClient::connect(&sbx.base_url(), ApiKey::new(KEY), options).await.unwrap();
    // Validation, missing relation target, unknown object, 404, a server message quoting the key.
    errors.push(c.create_one("company", json!({"name": "x", "notAField": KEY}), WriteMode::Create).await.unwrap_err());
    errors.push(
        c.create_one("person", json!({"companyId": "0c0ffee0-dead-4c00-8000-00000000beef"}), WriteMode::Create)
            .await
            .unwrap_err(),
    );
    errors.push(c.create_one("company", json!({"name": "x", "domainName": KEY}), WriteMode::Create).await.unwrap_err());
    errors.push(c.list_all("nothing", ListQuery::default()).await.unwrap_err());
    errors.push(c.list_all("company", ListQuery::filtered(Filter::eq(KEY, 1))).await.unwrap_err());
    // Transient failures until retries run out.
    sbx.set_faults(FaultConfig {
        server_error: 0.5,
        timeout: 0.25,
        drop_connection: 0.25,
        seed: 1,
        ..FaultConfig::default()
    });
    let mut transient = 0;
    for _ in 0..4 {
        if let Err(e) = c.count("company", None).await {
            transient += 1;
            errors.push(e);
        }
    }
    sbx.set_faults(FaultConfig::default());
    // The server is gone: connection errors.
    let url = sbx.base_url();
    sbx.shutdown().await.unwrap();
    let dead = ClientOptions {
        retry: ferry_twenty::RetryPolicy { max_retries: 1, ..ClientOptions::for_tests().retry },
        ..ClientOptions::for_tests()
    };
    errors.push(TwentyClient::connect(&url, ApiKey::new(KEY), dead).await.unwrap_err());
    errors.push(c.count("company", None).await.unwrap_err());

    assert!(errors.len() >= 8 + transient);
    for e in &errors {
        for shown in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert!(!shown.contains(KEY) && !shown.contains(WRONG), "the key leaked: {shown}");
        }
    }
    // The scrubbed server message still says what was wrong.
    assert!(errors.iter().any(|e| e.message.contains("<redacted>")), "some message quoted the key and was scrubbed");
    let client_debug = format!("{c:?} {:?}", ApiKey::new(KEY));
    assert!(!client_debug.contains(KEY), "{client_debug}");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("twenty request"), "tracing was captured: {} bytes", logs.len());
    assert!(logs.contains("retrying"), "retries were logged");
    assert!(!logs.contains(KEY) && !logs.contains(WRONG), "the key leaked into the logs");
    assert!(!logs.contains("Bearer sbx"), "no Authorization header in the logs");
}
