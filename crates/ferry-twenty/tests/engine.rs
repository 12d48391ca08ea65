//! The engine's exactly-once loader (ferry-core) writing through this client into the sandbox, with answers lost
//! after commit: every record ends up exactly once, and a second run writes nothing.

mod common;

use ferry_core::Journal;
use ferry_core::load::{Loader, ObjectLoad, Prepared};
use ferry_twenty_sandbox::FaultConfig;
use serde_json::{Value, json};

fn prepared(i: usize) -> Prepared {
    let values = json!({"name": format!("Engine {i:04}"), "employees": i});
    let Value::Object(values) = values else { unreachable!() };
    Prepared { key: format!("src-{i}"), values, refs: Vec::new() }
}

#[tokio::test]
async fn the_engine_loads_exactly_once_through_the_client() {
    let sbx = common::sandbox(|_| {}).await;
    let client = common::client_with(&sbx, |o| o.batch_size = 50).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let object = ObjectLoad { source: "companies".into(), destination: "company".into() };

    sbx.set_faults(FaultConfig { commit_then_lose: 0.3, seed: 5, ..FaultConfig::default() });
    let mut journal = Journal::open(&path).unwrap();
    let mut loader = Loader::new(&mut journal, &client, object.clone()).await.unwrap();
    for i in 0..250 {
        loader.push(prepared(i)).await.unwrap();
    }
    let stats = loader.finish().await.unwrap();
    sbx.set_faults(FaultConfig::default());
    assert_eq!(stats.written + stats.already, 250, "{stats:?}");
    assert!(sbx.stats().faults_injected > 0);
    assert_eq!(common::rows(&sbx, "company").len(), 250, "exactly once");

    // A second run with the same journal writes nothing.
    let before = sbx.stats().records_written;
    let mut loader = Loader::new(&mut journal, &client, object).await.unwrap();
    for i in 0..250 {
        loader.push(prepared(i)).await.unwrap();
    }
    let again = loader.finish().await.unwrap();
    assert_eq!((again.written, again.already), (0, 250));
    assert_eq!(sbx.stats().records_written, before);
    assert_eq!(common::rows(&sbx, "company").len(), 250);
}
