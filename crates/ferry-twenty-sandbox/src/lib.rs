//! A stateful emulator of one Twenty CRM workspace's HTTP API, held to the exchanges recorded from a real
//! Twenty server (`shared/twenty-contract/`): REST records and metadata, the `/graphql` and `/metadata`
//! GraphQL endpoints (the operations ferry uses), files, API-key auth, the rate limit, fault injection and
//! optional persistence to SQLite.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_twenty_sandbox::SandboxError> {
//! use ferry_twenty_sandbox::{SandboxConfig, SandboxHandle};
//! let sandbox = SandboxHandle::start(SandboxConfig::default()).await?;
//! println!("{} accepts Bearer {}", sandbox.base_url(), sandbox.api_key());
//! sandbox.shutdown().await?;
//! # Ok(()) }
//! ```

mod blocknote;
mod config;
mod error;
mod faults;
mod files;
mod filter;
mod graphql;
mod metadata;
mod persist;
mod query;
mod ratelimit;
mod render;
mod rest;
mod schema;
mod server;
mod store;
mod tsvector;
mod values;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

pub use blocknote::{blocknote_to_markdown, markdown_to_blocknote};
pub use config::{FaultConfig, MemberSeed, RateLimitConfig, SandboxConfig, TargetColumns};
pub use error::SandboxError;
pub use filter::{Filter, Op, Operand, parse_rest_filter};
pub use tsvector::to_tsvector;

use crate::faults::FaultPicker;
use crate::ratelimit::{Clock, TokenBucket};
use crate::schema::Schema;
use crate::server::{Counters, Shared};
use crate::store::State;

/// What the sandbox served so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SandboxStats {
    /// Every HTTP request.
    pub requests: u64,
    /// Requests that took a rate-limit token (records REST calls, /graphql record operations).
    pub counted_requests: u64,
    /// Requests answered 429 (by the limit or by an injected fault).
    pub rate_limited: u64,
    /// Injected faults.
    pub faults_injected: u64,
    /// Records written (created, updated, restored, soft-deleted; server-written rows included).
    pub records_written: u64,
}

/// A running sandbox.
pub struct SandboxHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// Starts a sandbox: loads the state file when there is one, binds, and serves in the background.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| SandboxError::Bind { addr: config.listen, source: e })?;
        let addr = listener.local_addr().map_err(|e| SandboxError::Bind { addr: config.listen, source: e })?;
        let created_at = values::now_iso();
        let schema = Schema::standard(&created_at, config.target_columns, config.files_field)?;
        let mut state = State::new(schema, &config.members, &config.api_key_name, config.target_columns, &created_at);
        let mut db = match &config.state_file {
            Some(path) => Some(persist::Db::open(path)?),
            None => None,
        };
        if let Some(db) = db.as_mut() {
            if db.load(&mut state)? {
                state.api_key_name = config.api_key_name.clone();
            } else {
                db.save_all(&state)?;
            }
        }
        state.pending.clear();
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            bucket: Mutex::new(config.rate_limit.map(TokenBucket::new)),
            faults: Mutex::new(FaultPicker::new(config.faults.clone())),
            config,
            clock: Clock::default(),
            counters: Counters::default(),
            base_url,
            persist: Mutex::new(db),
        });
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let shared = accept_shared.clone();
                        conns.spawn(serve_connection(shared, stream));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.abort_all();
            while conns.join_next().await.is_some() {}
        });
        Ok(SandboxHandle { shared, addr, stop: Some(stop_tx), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// Replaces the fault configuration (the choice restarts from its seed).
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.set_faults(faults);
    }

    /// Advances the rate limiter's clock.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The whole state: objects, fields and options, and every record (soft-deleted too), in a deterministic order.
    pub fn snapshot(&self) -> Value {
        let state = self.shared.state();
        let objects = serde_json::to_value(&state.schema.objects).unwrap_or(Value::Null);
        let mut records = Map::new();
        let mut names: Vec<&String> = state.tables.keys().collect();
        names.sort();
        for name in names {
            let rows: Vec<Value> = state.tables[name].rows.values().map(|r| Value::Object(Map::clone(r))).collect();
            records.insert(name.clone(), Value::Array(rows));
        }
        let files: Vec<Value> = state
            .files
            .iter()
            .map(|(p, f)| json!({"path": p, "size": f.bytes.len(), "originalName": f.original_name}))
            .collect();
        json!({"workspaceId": state.workspace_id, "objects": objects, "records": records, "files": files})
    }

    /// Counters of what was served.
    pub fn stats(&self) -> SandboxStats {
        let c = &self.shared.counters;
        SandboxStats {
            requests: c.requests.load(Ordering::Relaxed),
            counted_requests: c.counted.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            faults_injected: c.faults.load(Ordering::Relaxed),
            records_written: c.records_written.load(Ordering::Relaxed),
        }
    }

    /// Stops serving (open connections are closed); the state file, when set, is complete afterwards.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.map_err(|e| SandboxError::Server(e.to_string()))?;
        }
        // Every write was already applied to the state file as it was committed; persist anything left over.
        let mut state = self.shared.state();
        let changes = std::mem::take(&mut state.pending);
        let mut db = self.shared.persist.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = db.as_mut() {
            db.apply(&state, &changes)?;
            db.checkpoint()?;
        }
        Ok(())
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: tokio::net::TcpStream) {
    let kill = Arc::new(Notify::new());
    let svc_kill = kill.clone();
    let svc = hyper::service::service_fn(move |req| server::serve(shared.clone(), svc_kill.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}
