//! Shared test helpers: a throwaway PostgreSQL database per test ([`db`]) and reading a source whole.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ferry_atomic::extract::{Extraction, Item, extract};
use ferry_atomic::source::SourceSpec;
use ferry_core::{Problem, Record};

mod db;
pub use db::{TestDb, admin_url};

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
