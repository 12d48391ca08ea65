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
    Prepared { key: format!("src-{i}"), values, refs: Vec::new(), unique: Vec::new() }
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

#[tokio::test]
async fn a_record_the_server_refuses_is_journalled_with_its_field_and_the_rest_of_its_batch_is_written() {
    let sbx = common::sandbox(|_| {}).await;
    let client = common::client_with(&sbx, |o| o.batch_size = 8).await;
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    let object = ObjectLoad { source: "companies".into(), destination: "company".into() };
    let mut loader = Loader::new(&mut journal, &client, object).await.unwrap().with_concurrency(3);
    for i in 0..30 {
        let mut record = prepared(i);
        if i == 11 {
            record.values.insert("nope".into(), json!("x"));
        }
        loader.push(record).await.unwrap();
    }
    let stats = loader.finish().await.unwrap();
    assert_eq!((stats.written, stats.rejected), (29, 1), "{stats:?}");
    assert_eq!(common::rows(&sbx, "company").len(), 29);
    let problems = journal.problems().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].record.as_deref(), Some("src-11"));
    assert_eq!(problems[0].field.as_deref(), Some("nope"), "{problems:?}");
}
