//! Shared pieces of the end-to-end tests: a throwaway PostgreSQL database holding a generated Atomic CRM, an
//! in-process Twenty sandbox whose members are the CRM's users, and the `ferry` binary run as a child process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferry_atomic::Generation;
use ferry_atomic::generate::{GenConfig, load_into};
use ferry_twenty_sandbox::{FaultConfig, MemberSeed, SandboxConfig, SandboxHandle};
use serde_json::Value;

#[path = "../../../ferry-atomic/tests/common/db.rs"]
mod db;
pub use db::TestDb;

impl TestDb {
    /// A fresh database holding a generated Atomic CRM of about `rows` rows.
    pub async fn generated(rows: u64, seed: u64) -> TestDb {
        let db = TestDb::new().await;
        let cfg = GenConfig { seed, generation: Generation::Current, rows, custom: true, automation: true };
        load_into(&db.client().await, &cfg).await.expect("generating the Atomic CRM database");
        db
    }

    /// The e-mails of the CRM's users.
    pub async fn user_emails(&self) -> Vec<String> {
        let (users, _) = ferry_atomic::read_users(&self.spec()).await.expect("reading users");
        users.into_iter().filter_map(|u| u.email).collect()
    }
}

/// A sandbox whose members are these e-mails, without rate limit, with these faults.
pub async fn sandbox(emails: &[String], faults: FaultConfig) -> SandboxHandle {
    let members = emails
        .iter()
        .map(|e| MemberSeed { first_name: "Member".into(), last_name: e.clone(), email: e.clone() })
        .collect();
    SandboxHandle::start(SandboxConfig { members, rate_limit: None, faults, ..SandboxConfig::default() })
        .await
        .expect("sandbox starts")
}

/// `ferry` with these arguments and the sandbox's key in TWENTY_API_KEY, run to the end (off the async threads).
pub async fn ferry(key: &str, args: &[&str]) -> Output {
    let mut cmd = command(key, args);
    tokio::task::spawn_blocking(move || cmd.output().expect("ferry binary runs")).await.unwrap()
}

/// The command line of `ferry` with the key in the environment.
pub fn command(key: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(args).env("TWENTY_API_KEY", key).env_remove("PGPASSWORD");
    cmd
}

/// Panics with the command's output unless it succeeded.
pub fn must(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Writes the plan of `db` → `sandbox` into `dir/migration.toml`.
pub async fn plan(db: &TestDb, sandbox: &SandboxHandle, dir: &Path) -> PathBuf {
    let plan = dir.join("migration.toml");
    let out = ferry(
        sandbox.api_key(),
        &["plan", "--from", &db.url, "--to", &sandbox.base_url(), "--out", plan.to_str().unwrap()],
    )
    .await;
    must(&out, "ferry plan");
    plan
}

/// `ferry verify --json` parsed.
pub async fn verify(sandbox: &SandboxHandle, plan: &Path) -> (bool, Value) {
    let out =
        ferry(sandbox.api_key(), &["verify", plan.to_str().unwrap(), "--json", "--requests-per-minute", "0"]).await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --json prints JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

/// The live (not soft-deleted) records of one object in a sandbox snapshot.
pub fn rows<'a>(snapshot: &'a Value, object: &str) -> Vec<&'a Value> {
    snapshot["records"][object]
        .as_array()
        .map(|a| a.iter().filter(|r| r["deletedAt"].is_null()).collect())
        .unwrap_or_default()
}

/// Asserts that every non-null `field` of `object`'s rows points at an existing row of `target`, and returns how
/// many rows had one.
pub fn relation_holds(snapshot: &Value, object: &str, field: &str, target: &str) -> usize {
    let ids: std::collections::HashSet<&str> = rows(snapshot, target).iter().filter_map(|r| r["id"].as_str()).collect();
    let mut n = 0;
    for r in rows(snapshot, object) {
        if let Some(id) = r[field].as_str() {
            assert!(ids.contains(id), "{object}.{field} = {id} points at no {target}: {r}");
            n += 1;
        }
    }
    n
}

/// A stand-in for the project's Supabase Storage on 127.0.0.1: `/storage/v1/object/public/<bucket>/<path>` answers
/// a small file naming its path. Returns the project URL to give `--project-url`.
pub async fn storage() -> String {
    use axum::extract::Path as UrlPath;
    async fn file(UrlPath((bucket, path)): UrlPath<(String, String)>) -> Vec<u8> {
        format!("file {bucket}/{path}\n").into_bytes()
    }
    let app = axum::Router::new().route("/storage/v1/object/public/{bucket}/{*path}", axum::routing::get(file));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The arguments of `ferry apply` for a test: no client-side limit, files from `storage`, then `extra`.
pub fn apply_args<'a>(plan: &'a str, storage: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["apply", plan, "--requests-per-minute", "0", "--project-url", storage];
    args.extend_from_slice(extra);
    args
}
