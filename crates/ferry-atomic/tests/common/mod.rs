//! Shared test helpers: a throwaway PostgreSQL database per test.
//!
//! Reads `FERRY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), creates
//! `ferry_test_<random>` and drops it when the guard goes out of scope. When no server answers, the test fails with
//! instructions (never a silent skip).

#![allow(dead_code)]

use std::collections::BTreeMap;

use ferry_atomic::extract::{Extraction, Item, extract};
use ferry_atomic::source::SourceSpec;
use ferry_core::{Problem, Record};

/// The server the tests use.
pub fn admin_url() -> String {
    std::env::var("FERRY_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for the life of this value.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// A URL to it.
    pub url: String,
    admin: String,
}

fn with_db(admin: &str, db: &str) -> String {
    let mut u = url::Url::parse(admin).expect("FERRY_TEST_DATABASE_URL is not a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

async fn admin_client(admin: &str) -> tokio_postgres::Client {
    match tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        }
        Err(e) => panic!(
            "no PostgreSQL answers at {} ({e}).\n  Start one: `scripts/test` starts a throwaway server, or `pg_ctlcluster 15 main start`,\n  or point FERRY_TEST_DATABASE_URL at a server where this user may CREATE DATABASE.",
            ferry_atomic::redact_url(admin)
        ),
    }
}

impl TestDb {
    /// Creates a fresh empty database.
    pub async fn new() -> TestDb {
        let admin = admin_url();
        let client = admin_client(&admin).await;
        let name = format!("ferry_test_{}", uuid::Uuid::new_v4().simple());
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE failed");
        TestDb { url: with_db(&admin, &name), name, admin }
    }

    /// A connected client.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url).await
    }

    /// The source spec of this database.
    pub fn spec(&self) -> SourceSpec {
        SourceSpec::parse(&self.url).expect("test URL")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("FERRY_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a separate thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// Everything one read produced.
pub struct Read {
    /// Records by (object, key).
    pub records: BTreeMap<(String, String), Record>,
    /// Problems in order.
    pub problems: Vec<Problem>,
    /// The summary.
    pub extraction: Extraction,
}

/// Reads a source completely.
pub async fn read_all(spec: &SourceSpec) -> Read {
    try_read_all(spec).await.unwrap_or_else(|e| panic!("reading {spec} failed: {e}"))
}

/// Reads a source completely, returning the error.
pub async fn try_read_all(spec: &SourceSpec) -> Result<Read, ferry_atomic::AtomicError> {
    let mut records = BTreeMap::new();
    let mut problems = Vec::new();
    let mut dup = Vec::new();
    let extraction = extract(spec, &mut |item| {
        match item {
            Item::Record(r) => {
                let k = (r.object.clone(), r.key.clone());
                if records.insert(k.clone(), r).is_some() {
                    dup.push(k);
                }
            }
            Item::Problem(p) => problems.push(p),
        }
        Ok(())
    })
    .await?;
    assert!(dup.is_empty(), "duplicate record keys: {dup:?}");
    Ok(Read { records, problems, extraction })
}

/// Asserts two reads hold the same records, showing the first difference.
pub fn assert_same_records(a: &Read, b: &Read, what: &str) {
    let ka: Vec<_> = a.records.keys().collect();
    let kb: Vec<_> = b.records.keys().collect();
    if ka != kb {
        let only_a: Vec<_> = a.records.keys().filter(|k| !b.records.contains_key(*k)).take(5).collect();
        let only_b: Vec<_> = b.records.keys().filter(|k| !a.records.contains_key(*k)).take(5).collect();
        panic!(
            "{what}: record sets differ ({} vs {}); only in first: {only_a:?}; only in second: {only_b:?}",
            ka.len(),
            kb.len()
        );
    }
    for (k, ra) in &a.records {
        let rb = &b.records[k];
        if ra != rb {
            for (field, va) in &ra.values {
                let vb = rb.get(field);
                assert_eq!(va, vb, "{what}: {k:?} field {field} differs");
            }
            assert_eq!(ra, rb, "{what}: {k:?} differs");
        }
    }
}
