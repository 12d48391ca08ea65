//! Atomic CRM (real PostgreSQL) → Twenty (the sandbox, over HTTP), through the `ferry` binary: plan, apply,
//! verify, rollback; crashes (`kill -9`) and lost answers; injected server errors; samples; unmatched members.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::*;
use ferry_twenty_sandbox::FaultConfig;
use serde_json::Value;

/// Objects and relations every full migration must hold in the destination.
fn assert_relations(snapshot: &Value) {
    assert!(relation_holds(snapshot, "person", "companyId", "company") > 0, "people keep their company");
    assert!(relation_holds(snapshot, "opportunity", "companyId", "company") > 0, "opportunities keep their company");
    assert!(relation_holds(snapshot, "opportunity", "pointOfContactId", "person") > 0, "deals keep a point of contact");
    assert!(relation_holds(snapshot, "opportunity", "ownerId", "workspaceMember") > 0, "deals keep their owner");
    assert!(relation_holds(snapshot, "task", "assigneeId", "workspaceMember") > 0, "tasks keep their assignee");
    assert!(relation_holds(snapshot, "noteTarget", "noteId", "note") > 0, "note targets point at notes");
    assert!(relation_holds(snapshot, "noteTarget", "personId", "person") > 0, "contact notes target their person");
    assert!(relation_holds(snapshot, "noteTarget", "opportunityId", "opportunity") > 0, "deal notes target the deal");
    assert!(relation_holds(snapshot, "taskTarget", "taskId", "task") > 0, "task targets point at tasks");
    assert!(relation_holds(snapshot, "taskTarget", "personId", "person") > 0, "tasks target their person");
    let attachments = rows(snapshot, "attachment");
    assert!(!attachments.is_empty(), "attachments are migrated");
    for a in attachments {
        // Servers name the parent column `noteId` or `targetNoteId` (by version): either must hold an existing parent.
        let parent = ["note", "company", "person", "opportunity", "task"].iter().find_map(|o| {
            let cap = format!("{}{}", o[..1].to_uppercase(), &o[1..]);
            [format!("{o}Id"), format!("target{cap}Id")]
                .into_iter()
                .find_map(|f| a[&f].as_str().map(|id| (*o, id.to_string())))
        });
        let (object, id) = parent.unwrap_or_else(|| panic!("every attachment has its parent: {a}"));
        assert!(rows(snapshot, object).iter().any(|r| r["id"] == id.as_str()), "the parent {object} {id} exists: {a}");
    }
}

/// Destination ids per object: each must appear once.
fn assert_no_duplicates(snapshot: &Value) {
    for (object, list) in snapshot["records"].as_object().unwrap() {
        let mut seen = HashSet::new();
        for r in list.as_array().unwrap() {
            let id = r["id"].as_str().unwrap_or_default();
            assert!(seen.insert(id), "{object} {id} is there twice");
        }
    }
}

/// Verify's verdict must be ok, with every source record accounted for and nothing mismatched.
fn assert_reconciled(ok: bool, report: &Value) {
    assert_eq!(report["ok"], Value::Bool(ok), "exit code and `ok` agree");
    assert!(ok, "verify is ok: {report:#}");
    for o in report["objects"].as_array().unwrap() {
        let n = |k: &str| o[k].as_u64().unwrap_or_else(|| panic!("{k} in {o}"));
        assert_eq!(n("source"), n("written") + n("rejected") + n("skipped"), "every record accounted for: {o}");
        assert_eq!(n("mismatched"), 0, "{o}");
        assert_eq!(n("verified"), n("written"), "every written record read back: {o}");
    }
}

/// Live rows per destination object, for counting what a migration added.
fn counts(snapshot: &Value) -> BTreeMap<String, usize> {
    snapshot["records"].as_object().unwrap().keys().map(|k| (k.clone(), rows(snapshot, k).len())).collect()
}

/// Records the report says were written, per destination object.
fn written_by_destination(report: &Value, plan: &ferry_core::plan::Plan) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for o in report["objects"].as_array().unwrap() {
        let name = o["object"].as_str().unwrap();
        let dest = plan
            .objects
            .iter()
            .find_map(|p| {
                if p.source == name {
                    return Some(p.destination.clone());
                }
                p.links
                    .iter()
                    .find(|l| format!("{}.{}", p.source, l.source) == name)
                    .map(|l| l.destination.clone())
                    .or_else(|| {
                        p.attachments
                            .iter()
                            .find(|a| format!("{}.{}", p.source, a.source) == name)
                            .map(|_| "attachment".to_string())
                    })
            })
            .unwrap_or_else(|| panic!("report object {name} is in the plan"));
        *out.entry(dest).or_default() += o["written"].as_u64().unwrap();
    }
    out
}

fn load_plan(path: &std::path::Path) -> ferry_core::plan::Plan {
    ferry_core::plan::Plan::load(path).expect("the plan reads back")
}

/// After a migration, the destination holds exactly its records before plus what the report says was written.
fn assert_exactly_once(before: &Value, after: &Value, report: &Value, plan: &ferry_core::plan::Plan) {
    let before = counts(before);
    let after_counts = counts(after);
    for (object, written) in written_by_destination(report, plan) {
        let had = before.get(&object).copied().unwrap_or(0) as u64;
        let has = after_counts.get(&object).copied().unwrap_or(0) as u64;
        assert_eq!(has, had + written, "{object}: {had} before + {written} written, found {has}");
    }
    assert_no_duplicates(after);
}

/// Where two JSON values differ (paths, at most 20), objects compared by key and arrays of objects by `id`.
fn differences(before: &Value, after: &Value) -> Vec<String> {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
        if out.len() >= 20 || a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    walk(&format!("{path}.{k}"), v, y.get(k).unwrap_or(&Value::Null), out);
                }
                for k in y.keys().filter(|k| !x.contains_key(*k)) {
                    out.push(format!("{path}.{k}: added {}", y[k]));
                }
            }
            (Value::Array(x), Value::Array(y)) if x.iter().chain(y).all(|v| v.get("id").is_some()) => {
                let key = |v: &Value| {
                    v.get("name")
                        .and_then(Value::as_str)
                        .or(v.get("nameSingular").and_then(Value::as_str))
                        .map_or_else(|| v["id"].to_string(), str::to_string)
                };
                for v in x {
                    match y.iter().find(|w| w["id"] == v["id"]) {
                        Some(w) => walk(&format!("{path}[{}]", key(v)), v, w, out),
                        None => out.push(format!("{path}[{}]: removed", key(v))),
                    }
                }
                for w in y.iter().filter(|w| !x.iter().any(|v| v["id"] == w["id"])) {
                    out.push(format!("{path}[{}]: added", key(w)));
                }
            }
            _ => out.push(format!("{path}: {a} → {b}")),
        }
    }
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

/// The state rollback must return to: the data model and every record (uploaded file contents aside). A field's
/// metadata `updatedAt` is left out: restoring its options is itself an update the server stamps.
fn model_and_records(snapshot: &Value) -> Value {
    let mut objects = snapshot["objects"].clone();
    for o in objects.as_array_mut().into_iter().flatten() {
        for f in o["fields"].as_array_mut().into_iter().flatten() {
            f.as_object_mut().map(|f| f.remove("updatedAt"));
        }
    }
    serde_json::json!({"objects": objects, "records": snapshot["records"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_to_twenty_end_to_end_reconciles_runs_once_and_rolls_back_to_the_state_before() {
    let db = TestDb::generated(700, 7).await;
    let sandbox = sandbox(&db.user_emails().await, FaultConfig::default()).await;
    let files = storage().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = plan(&db, &sandbox, dir.path()).await;
    let plan_path = plan_file.to_str().unwrap();
    let before = sandbox.snapshot();

    let out = ferry(sandbox.api_key(), &apply_args(plan_path, &files, &[])).await;
    let stdout = must(&out, "first apply");
    assert!(stdout.contains("record(s) written"), "{stdout}");
    assert!(!stdout.contains(sandbox.api_key()), "the key never shows");

    let (ok, report) = verify(&sandbox, &plan_file).await;
    assert_reconciled(ok, &report);
    let after = sandbox.snapshot();
    assert_relations(&after);
    assert_exactly_once(&before, &after, &report, &load_plan(&plan_file));
    for f in ["report.html", "report.md", "report.json", "problems.csv"] {
        assert!(dir.path().join("migration-report").join(f).exists(), "{f} is written");
    }

    let again = ferry(sandbox.api_key(), &apply_args(plan_path, &files, &[])).await;
    let stdout = must(&again, "second apply");
    assert!(stdout.contains("\n0 record(s) written"), "a second apply writes nothing:\n{stdout}");
    assert_eq!(counts(&sandbox.snapshot()), counts(&after), "nothing changed");

    let out = ferry(sandbox.api_key(), &["rollback", plan_path, "--requests-per-minute", "0"]).await;
    must(&out, "rollback");
    let diffs = differences(&model_and_records(&before), &model_and_records(&sandbox.snapshot()));
    assert!(diffs.is_empty(), "rollback restores the state before; differences:\n{}", diffs.join("\n"));
    let out = ferry(sandbox.api_key(), &["rollback", plan_path, "--requests-per-minute", "0"]).await;
    let stdout = must(&out, "second rollback");
    assert!(stdout.contains("0 record(s) deleted"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_twenty_points_and_lost_answers_end_with_every_record_exactly_once() {
    let db = TestDb::generated(500, 11).await;
    let faults = FaultConfig { commit_then_lose: 0.1, seed: 3, ..FaultConfig::default() };
    let sandbox = sandbox(&db.user_emails().await, faults).await;
    let files = storage().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = plan(&db, &sandbox, dir.path()).await;
    let plan_path = plan_file.to_str().unwrap().to_string();
    let before = sandbox.snapshot();

    // Kill points spread over the whole run: the first while the source is being read, then each once the sandbox
    // has written 30 more records than at the previous kill (data-model changes, every object, links, attachments).
    let mut kills = 0;
    for i in 0..20u64 {
        let mut child = command(sandbox.api_key(), &apply_args(&plan_path, &files, &[]))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ferry apply starts");
        let threshold = sandbox.stats().records_written + 30;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        if i == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else {
            while sandbox.stats().records_written < threshold
                && child.try_wait().unwrap().is_none()
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 10, "most runs were killed mid-way ({kills} of 20)");
    eprintln!("{kills} of 20 runs killed with SIGKILL");

    let out = ferry(sandbox.api_key(), &apply_args(&plan_path, &files, &[])).await;
    must(&out, "apply after the crashes");
    let (ok, report) = verify(&sandbox, &plan_file).await;
    assert_reconciled(ok, &report);
    let after = sandbox.snapshot();
    assert_exactly_once(&before, &after, &report, &load_plan(&plan_file));
    assert_relations(&after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_server_errors_rate_limits_and_timeouts_still_complete_with_nothing_lost() {
    let db = TestDb::generated(400, 5).await;
    let faults =
        FaultConfig { server_error: 0.04, rate_limited: 0.03, timeout: 0.03, seed: 9, ..FaultConfig::default() };
    let sandbox = sandbox(&db.user_emails().await, faults).await;
    let files = storage().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = plan(&db, &sandbox, dir.path()).await;
    let before = sandbox.snapshot();
    let out =
        ferry(sandbox.api_key(), &apply_args(plan_file.to_str().unwrap(), &files, &["--request-timeout", "2"])).await;
    must(&out, "apply under faults");
    sandbox.set_faults(FaultConfig::default());
    let (ok, report) = verify(&sandbox, &plan_file).await;
    assert_reconciled(ok, &report);
    assert_exactly_once(&before, &sandbox.snapshot(), &report, &load_plan(&plan_file));
    assert!(sandbox.stats().faults_injected > 0, "faults were injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_then_a_full_apply_loads_everything_once() {
    let db = TestDb::generated(400, 13).await;
    let sandbox = sandbox(&db.user_emails().await, FaultConfig::default()).await;
    let files = storage().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = plan(&db, &sandbox, dir.path()).await;
    let plan_path = plan_file.to_str().unwrap();
    let before = sandbox.snapshot();

    let out = ferry(sandbox.api_key(), &apply_args(plan_path, &files, &["--sample", "5"])).await;
    let stdout = must(&out, "sample apply");
    assert!(stdout.contains("(sample)"), "{stdout}");
    let sampled = counts(&sandbox.snapshot());
    assert!(sampled.get("person").copied().unwrap_or(0) >= 5, "the sample has people: {sampled:?}");
    let opportunities = sampled.get("opportunity").copied().unwrap_or(0);
    assert!((1..50).contains(&opportunities), "the sample is a sample: {opportunities} opportunities");
    let snapshot = sandbox.snapshot();
    relation_holds(&snapshot, "opportunity", "companyId", "company");
    relation_holds(&snapshot, "person", "companyId", "company");

    must(&ferry(sandbox.api_key(), &apply_args(plan_path, &files, &[])).await, "full apply");
    let (ok, report) = verify(&sandbox, &plan_file).await;
    assert_reconciled(ok, &report);
    assert_exactly_once(&before, &sandbox.snapshot(), &report, &load_plan(&plan_file));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_members_stop_apply_until_a_fallback_or_unassigned_is_chosen() {
    let db = TestDb::generated(300, 17).await;
    let mut emails = db.user_emails().await;
    let missing = emails.pop().expect("the CRM has users");
    let sandbox = sandbox(&emails, FaultConfig::default()).await;
    let files = storage().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = plan(&db, &sandbox, dir.path()).await;
    let plan_path = plan_file.to_str().unwrap();
    let text = std::fs::read_to_string(&plan_file).unwrap();
    assert!(
        text.to_lowercase().contains(&missing.to_lowercase()),
        "the plan lists the unmatched user for reconciliation"
    );

    let out = ferry(sandbox.api_key(), &apply_args(plan_path, &files, &[])).await;
    assert!(!out.status.success(), "apply refuses to start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.to_lowercase().contains(&missing.to_lowercase())
            && err.contains("--fallback-owner")
            && err.contains("--allow-unassigned"),
        "{err}"
    );
    assert_eq!(counts(&sandbox.snapshot()).get("person").copied().unwrap_or(0), 0, "nothing was written");

    let fallback = emails[0].clone();
    let out = ferry(sandbox.api_key(), &apply_args(plan_path, &files, &["--fallback-owner", &fallback])).await;
    must(&out, "apply with a fallback owner");
    let (ok, report) = verify(&sandbox, &plan_file).await;
    assert_reconciled(ok, &report);
}
