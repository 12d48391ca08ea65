//! The HTTP server: routing, auth, rate limit, faults, and the connection handling that lets a fault drop a
//! connection without writing a byte.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::config::{FaultConfig, SandboxConfig};
use crate::error::ApiError;
use crate::faults::{Fault, FaultPicker};
use crate::ratelimit::{Clock, TokenBucket};
use crate::store::State;

/// Counters of what the sandbox served.
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) counted: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) faults: AtomicU64,
    pub(crate) records_written: AtomicU64,
}

/// Everything the request handlers share.
pub struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) config: SandboxConfig,
    pub(crate) clock: Clock,
    pub(crate) bucket: Mutex<Option<TokenBucket>>,
    pub(crate) faults: Mutex<FaultPicker>,
    pub(crate) counters: Counters,
    pub(crate) base_url: String,
    pub(crate) persist: Mutex<Option<crate::persist::Db>>,
}

/// An HTTP answer.
pub struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) content_type: Option<&'static str>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply { status, body: Bytes::from(v.to_string()), content_type: Some("application/json; charset=utf-8") }
    }
}

impl Reply {
    /// A JSON answer already serialised.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Reply {
        Reply { status, body: Bytes::from(body), content_type: Some("application/json; charset=utf-8") }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::json(e.status, &e.body)
    }
}

/// A parsed request.
pub struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: HashMap<String, String>,
    pub(crate) auth: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
}

/// What the handler wants done with the connection.
pub enum Outcome {
    /// Send this answer.
    Send(Reply),
    /// Hold the request forever.
    Hold,
    /// Close the connection without answering.
    Drop,
}

impl Shared {
    /// Locks the workspace state.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Persists pending changes (write-through when a state file is set).
    pub fn flush(&self, state: &mut State) {
        let changes = std::mem::take(&mut state.pending);
        let written = changes.iter().filter(|c| matches!(c, crate::store::Change::Row(..))).count() as u64;
        self.counters.records_written.fetch_add(written, Ordering::Relaxed);
        let mut db = self.persist.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = db.as_mut()
            && let Err(e) = db.apply(state, &changes)
        {
            tracing::error!("sandbox state file: {e}");
        }
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: FaultConfig) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = FaultPicker::new(faults);
    }

    fn pick_fault(&self) -> Fault {
        let f = self.faults.lock().unwrap_or_else(|e| e.into_inner()).pick();
        if f != Fault::None {
            self.counters.faults.fetch_add(1, Ordering::Relaxed);
        }
        f
    }

    /// Takes one rate-limit token; `Err(message)` when limited.
    pub fn take_token(&self) -> Result<(), String> {
        self.counters.counted.fetch_add(1, Ordering::Relaxed);
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        match b.as_mut() {
            None => Ok(()),
            Some(bucket) => {
                if bucket.try_take(self.clock.now()) {
                    Ok(())
                } else {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    Err(bucket.message())
                }
            }
        }
    }

    /// The 429 message of the configured limit.
    pub fn limit_message(&self) -> String {
        let cfg = self.config.rate_limit.unwrap_or_default();
        TokenBucket::new(cfg).message()
    }
}

fn nest_404(method: &str, path: &str) -> Reply {
    ApiError::nest(404, "Not Found", format!("Cannot {method} {path}")).into()
}

/// Checks the Bearer token: 403 without one, 401 with a wrong one (00a/00b).
fn check_auth(shared: &Shared, req: &Req) -> Result<(), ApiError> {
    match &req.auth {
        None => Err(ApiError::rest(403, "FORBIDDEN_EXCEPTION", "Missing authentication token")),
        Some(h) => {
            let token = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")).unwrap_or("").trim();
            if token.is_empty() {
                return Err(ApiError::rest(403, "FORBIDDEN_EXCEPTION", "Missing authentication token"));
            }
            if token == shared.config.api_key {
                Ok(())
            } else {
                Err(ApiError::rest(401, "UNAUTHENTICATED", "No payload"))
            }
        }
    }
}

fn graphql_auth_error(e: &ApiError) -> Reply {
    let code = if e.status == 401 { "UNAUTHENTICATED" } else { "FORBIDDEN" };
    Reply::json(200, &json!({"errors": [{"message": e.message(), "extensions": {"code": code}}]}))
}

/// Routes one request.
pub async fn route(shared: Arc<Shared>, req: Req) -> Outcome {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.path.clone();
    let method = req.method.clone();
    if path.starts_with("/files/") || path == "/files" {
        return Outcome::Send(if method == "GET" {
            crate::files::download(&shared, &path)
        } else {
            nest_404(&method, &path)
        });
    }
    if path == "/healthz" && method == "GET" {
        return Outcome::Send(Reply::json(200, &json!({"status": "ok", "info": {}, "error": {}, "details": {}})));
    }
    if path.starts_with("/rest/metadata/") || path == "/rest/metadata" {
        if let Err(e) = check_auth(&shared, &req) {
            return Outcome::Send(e.into());
        }
        return Outcome::Send(crate::metadata::rest(&shared, &req));
    }
    if path.starts_with("/rest/open-api/") {
        if let Err(e) = check_auth(&shared, &req) {
            return Outcome::Send(e.into());
        }
        return Outcome::Send(
            ApiError::rest(501, "NotImplementedException", "The sandbox does not serve the OpenAPI documents").into(),
        );
    }
    if path == "/metadata" {
        if method != "POST" && method != "GET" {
            return Outcome::Send(nest_404(&method, &path));
        }
        if let Err(e) = check_auth(&shared, &req) {
            return Outcome::Send(graphql_auth_error(&e));
        }
        return Outcome::Send(crate::graphql::metadata_endpoint(&shared, &req));
    }
    if path == "/graphql" {
        if method != "POST" && method != "GET" {
            return Outcome::Send(nest_404(&method, &path));
        }
        if let Err(e) = check_auth(&shared, &req) {
            return Outcome::Send(graphql_auth_error(&e));
        }
        return with_faults(&shared, |s| crate::graphql::core_endpoint(s, &req)).await;
    }
    if path.starts_with("/rest/") {
        if let Err(e) = check_auth(&shared, &req) {
            return Outcome::Send(e.into());
        }
        return with_faults(&shared, |s| crate::rest::handle(s, &req)).await;
    }
    Outcome::Send(nest_404(&method, &path))
}

async fn with_faults(shared: &Arc<Shared>, work: impl FnOnce(&Shared) -> Reply) -> Outcome {
    match shared.pick_fault() {
        Fault::None => Outcome::Send(work(shared)),
        Fault::ServerError(status) => {
            let error = match status {
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                _ => "InternalServerErrorException",
            };
            Outcome::Send(ApiError::rest(status, error, "Injected fault: the sandbox did not do the work").into())
        }
        Fault::RateLimited => {
            shared.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            Outcome::Send(ApiError::rest(429, "HttpException", shared.limit_message()).into())
        }
        Fault::Timeout => Outcome::Hold,
        Fault::Drop => Outcome::Drop,
        Fault::CommitThenLose => {
            let _ = work(shared);
            Outcome::Drop
        }
    }
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// Serves one hyper request; `kill` closes the connection.
pub async fn serve(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let path = percent_decode(parts.uri.path());
    let req = Req {
        method: parts.method.as_str().to_string(),
        path,
        query: parse_query(parts.uri.query()),
        auth: header("authorization"),
        content_type: header("content-type"),
        body,
    };
    match route(shared, req).await {
        Outcome::Send(reply) => {
            let mut resp = Response::new(Full::new(reply.body));
            *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(ct) = reply.content_type {
                resp.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static(ct));
            }
            Ok(resp)
        }
        Outcome::Hold => {
            futures::future::pending::<()>().await;
            Ok(Response::new(Full::new(Bytes::new())))
        }
        Outcome::Drop => {
            kill.notify_one();
            futures::future::pending::<()>().await;
            Ok(Response::new(Full::new(Bytes::new())))
        }
    }
}

fn percent_decode(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
