//! The client itself: one `reqwest` client, one shared rate limiter, retries with jittered exponential backoff,
//! error classification, metrics, and schema discovery at connect time.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::error::{ErrorKind, TwentyError, classify};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::schema::{METADATA_DETAILS_QUERY, Schema, SchemaDetail, merge_graphql_details, parse_rest_objects};
use crate::secret::ApiKey;

/// The client-side rate limit. The server (recorded default) allows 100 counted requests per 60 s per
/// workspace, refilling one token every 600 ms; its refill is rounded down at every request, so a client that
/// calls more often than one period gets no refill at all. The client therefore spaces counted requests at
/// least one period (plus `margin_percent`) apart; `burst` > 1 lets that many go back to back first.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// Tokens per window (server default 100).
    pub tokens: u32,
    /// Window (server default 60 s).
    pub window: Duration,
    /// Requests allowed back to back before pacing starts (default 1: pace from the first call).
    pub burst: u32,
    /// Safety margin added to the period, in percent (default 1).
    pub margin_percent: u32,
}

impl RateLimit {
    /// `tokens` per `window`, burst 1, 1 % margin.
    pub fn new(tokens: u32, window: Duration) -> RateLimit {
        RateLimit { tokens, window, burst: 1, margin_percent: 1 }
    }

    /// The spacing between counted requests.
    pub fn period(&self) -> Duration {
        let tokens = self.tokens.max(1);
        self.window / tokens * (100 + self.margin_percent) / 100
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::new(100, Duration::from_secs(60))
    }
}

/// Retry policy for transient failures (429, 5xx, timeouts, connection errors).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 6).
    pub max_retries: usize,
    /// First delay (default 500 ms); each retry doubles it, with jitter.
    pub min_delay: Duration,
    /// Longest delay (default 30 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 6, min_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

/// Options for [`TwentyClient::connect`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Whole-request timeout (default 30 s).
    pub request_timeout: Duration,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Client-side rate limit for counted requests; `None` = off (tests, servers without a limit).
    pub rate_limit: Option<RateLimit>,
    /// Retries.
    pub retry: RetryPolicy,
    /// Records per batch request (default 200, the recorded server cap; Twenty Cloud documents 60). Lowered
    /// automatically when the server answers `Maximum number of records to upsert is N.`
    pub batch_size: usize,
    /// Records per list page (default 200; the server silently clamps larger values to its maximum).
    pub page_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            rate_limit: Some(RateLimit::default()),
            retry: RetryPolicy::default(),
            batch_size: 200,
            page_size: 200,
        }
    }
}

impl ClientOptions {
    /// Options for tests against a local sandbox: no rate limit, short timeouts and delays.
    pub fn for_tests() -> ClientOptions {
        ClientOptions {
            request_timeout: Duration::from_millis(1500),
            connect_timeout: Duration::from_millis(500),
            rate_limit: None,
            retry: RetryPolicy {
                max_retries: 8,
                min_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
            },
            batch_size: 200,
            page_size: 200,
        }
    }
}

/// Which server route family a request goes to (decides rate limiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/rest/<records>` — counted.
    Records,
    /// `/graphql` — counted.
    Graphql,
    /// `/rest/metadata/*` — not counted.
    Metadata,
    /// `/metadata` GraphQL — not counted.
    MetadataGraphql,
    /// A signed file URL — not counted, no Authorization header.
    File,
}

impl Route {
    fn counted(self) -> bool {
        matches!(self, Route::Records | Route::Graphql)
    }

    fn graphql(self) -> bool {
        matches!(self, Route::Graphql | Route::MetadataGraphql)
    }
}

/// A request body.
pub(crate) enum Body {
    None,
    Json(Value),
    /// JSON already serialised (large write payloads: no intermediate value).
    JsonBytes(Bytes),
    /// Built afresh for each attempt (a multipart form cannot be cloned).
    Multipart(Box<dyn Fn() -> reqwest::multipart::Form + Send + Sync>),
}

/// One logical request (retried as a whole).
pub(crate) struct Call {
    pub method: Method,
    /// Path under the base URL, or an absolute URL for [`Route::File`].
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    pub route: Route,
    /// Whether sending it twice has the same effect as once (reads, PATCH, DELETE, upserts with ids).
    pub idempotent: bool,
    pub operation: String,
    pub object: Option<String>,
}

impl Call {
    pub fn new(method: Method, route: Route, path: impl Into<String>, operation: impl Into<String>) -> Call {
        let idempotent = matches!(method, Method::GET | Method::PATCH | Method::DELETE | Method::PUT);
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Body::None,
            route,
            idempotent,
            operation: operation.into(),
            object: None,
        }
    }

    pub fn json(mut self, body: Value) -> Call {
        self.body = Body::Json(body);
        self
    }

    pub fn json_bytes(mut self, body: Vec<u8>) -> Call {
        self.body = Body::JsonBytes(Bytes::from(body));
        self
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Call {
        self.query.push((key, value.into()));
        self
    }

    pub fn object(mut self, object: impl Into<String>) -> Call {
        self.object = Some(object.into());
        self
    }

    pub fn idempotent(mut self, idempotent: bool) -> Call {
        self.idempotent = idempotent;
        self
    }
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub base: Url,
    pub key: ApiKey,
    pub options: ClientOptions,
    pub limiter: Option<DefaultDirectRateLimiter>,
    pub limiter_period: Duration,
    pub metrics: Metrics,
    pub schema: RwLock<Arc<Schema>>,
    pub batch_cap: AtomicUsize,
}

/// A client for one Twenty workspace. Cheap to clone; clones share the connection pool, the rate limiter, the
/// schema and the metrics.
#[derive(Clone)]
pub struct TwentyClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for TwentyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwentyClient")
            .field("base_url", &self.inner.base.as_str())
            .field("api_key", &self.inner.key)
            .field("batch_cap", &self.batch_cap())
            .finish_non_exhaustive()
    }
}

impl TwentyClient {
    /// Connects to the workspace at `base_url` (e.g. `http://127.0.0.1:3000`) and discovers its schema:
    /// `GET /rest/metadata/objects`, completed by the `/metadata` GraphQL query for unique flags, join columns
    /// and morph targets (when that query fails, the schema is REST-only and says so in [`Schema::detail`]).
    pub async fn connect(base_url: &str, api_key: ApiKey, options: ClientOptions) -> Result<TwentyClient, TwentyError> {
        let op = "connect";
        if api_key.is_empty() {
            return Err(TwentyError::new(ErrorKind::InvalidInput, op, "the API key is empty")
                .with_hint("set TWENTY_API_KEY to a key created in Twenty under Settings → APIs & Webhooks"));
        }
        let mut base = Url::parse(base_url).map_err(|e| {
            TwentyError::new(ErrorKind::InvalidInput, op, format!("bad base URL: {e}"))
                .with_value(base_url)
                .with_hint("give the server's address, e.g. http://127.0.0.1:3000 or https://api.twenty.com")
        })?;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("ferry-twenty/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TwentyError::new(ErrorKind::InvalidInput, op, format!("cannot build HTTP client: {e}")))?;
        let (limiter, limiter_period) = match &options.rate_limit {
            Some(rl) => {
                let period = rl.period().max(Duration::from_nanos(1));
                let burst = NonZeroU32::new(rl.burst.max(1)).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(period).ok_or_else(|| {
                    TwentyError::new(ErrorKind::InvalidInput, op, "rate limit period is zero")
                        .with_hint("give rate_limit a positive window")
                })?;
                (Some(RateLimiter::direct(quota.allow_burst(burst))), period)
            }
            None => (None, Duration::ZERO),
        };
        let batch_cap = AtomicUsize::new(options.batch_size.max(1));
        let client = TwentyClient {
            inner: Arc::new(Inner {
                http,
                base,
                key: api_key,
                options,
                limiter,
                limiter_period,
                metrics: Metrics::default(),
                schema: RwLock::new(Arc::new(Schema::new(Vec::new(), SchemaDetail::RestOnly))),
                batch_cap,
            }),
        };
        client.refresh_schema().await?;
        Ok(client)
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The schema discovered at connect time (or at the last refresh).
    pub fn schema(&self) -> Arc<Schema> {
        match self.inner.schema.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the schema from the server. Metadata calls are not counted by the server's rate limit.
    pub async fn refresh_schema(&self) -> Result<Arc<Schema>, TwentyError> {
        let body = self
            .json(Call::new(Method::GET, Route::Metadata, "rest/metadata/objects", "discover schema (REST metadata)"))
            .await?;
        let mut objects = parse_rest_objects(&body).ok_or_else(|| {
            TwentyError::new(ErrorKind::Protocol, "discover schema", "GET /rest/metadata/objects has no data.objects")
                .with_hint("check that the base URL points at a Twenty server")
        })?;
        let gql = Call::new(Method::POST, Route::MetadataGraphql, "metadata", "discover schema (GraphQL details)")
            .json(serde_json::json!({ "query": METADATA_DETAILS_QUERY }));
        let detail = match self.json(gql).await {
            Ok(answer) if merge_graphql_details(&mut objects, &answer) => SchemaDetail::Full,
            Ok(_) => {
                tracing::warn!("the /metadata GraphQL answer had no field details; schema is REST-only");
                SchemaDetail::RestOnly
            }
            Err(e) => {
                tracing::warn!(error = %e, "the /metadata GraphQL query failed; schema is REST-only");
                SchemaDetail::RestOnly
            }
        };
        let schema = Arc::new(Schema::new(objects, detail));
        match self.inner.schema.write() {
            Ok(mut g) => *g = schema.clone(),
            Err(poisoned) => *poisoned.into_inner() = schema.clone(),
        }
        Ok(schema)
    }

    /// Counters since the client was created.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The batch size in use (the configured one, lowered when the server named a smaller cap).
    pub fn batch_cap(&self) -> usize {
        self.inner.batch_cap.load(Ordering::Relaxed)
    }

    pub(crate) fn lower_batch_cap(&self, cap: usize) {
        let cap = cap.max(1);
        let old = self.inner.batch_cap.fetch_min(cap, Ordering::Relaxed);
        if cap < old {
            tracing::info!(old, new = cap, "the server caps batches; lowering the batch size");
        }
    }

    /// Sends `call` and parses a JSON answer.
    pub(crate) async fn json(&self, call: Call) -> Result<Value, TwentyError> {
        let op = call.operation.clone();
        let object = call.object.clone();
        let bytes = self.execute(call).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            let mut err = TwentyError::new(ErrorKind::Protocol, op, format!("the answer is not JSON: {e}"));
            err.object = object;
            err
        })
    }

    /// Removes the API key from every text an error carries (server messages can quote request values).
    pub(crate) fn scrub(&self, mut err: TwentyError) -> TwentyError {
        let key = &self.inner.key;
        err.operation = key.scrub(&err.operation);
        err.message = key.scrub(&err.message);
        let d: &mut crate::error::ErrorDetail = &mut err;
        for text in [&mut d.object, &mut d.field, &mut d.value, &mut d.hint].into_iter().flatten() {
            *text = key.scrub(text);
        }
        err
    }

    /// Sends `call` with rate limiting and retries; returns the answer's bytes on 2xx.
    pub(crate) async fn execute(&self, call: Call) -> Result<Bytes, TwentyError> {
        self.execute_inner(call).await.map_err(|e| self.scrub(e))
    }

    async fn execute_inner(&self, call: Call) -> Result<Bytes, TwentyError> {
        let inner = &self.inner;
        let policy = &inner.options.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter()
            .build();
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let result = self.attempt(&call).await;
            let mut err = match result {
                Ok(bytes) => return Ok(bytes),
                Err(e) => e,
            };
            err.attempts = attempts;
            let retry = err.is_transient() && (call.idempotent || !err.outcome_unknown);
            if !retry {
                return Err(err);
            }
            let Some(mut delay) = backoff.next() else {
                let hint = format!(
                    "gave up after {attempts} attempts; check the server's health and address, or raise \
                     retry.max_retries{}",
                    if err.kind == ErrorKind::RateLimited {
                        " and lower the client's rate_limit to the server's"
                    } else {
                        ""
                    }
                );
                err.hint = Some(match err.hint.take() {
                    Some(h) => format!("{h}; {hint}"),
                    None => hint,
                });
                return Err(err);
            };
            if err.kind == ErrorKind::RateLimited {
                // Wait at least one refill period of the server (its refill clock restarts at every request,
                // so retrying sooner never gets a token), within the configured maximum delay.
                let server = crate::error::refill_period(&err.message).map(|p| p * 105 / 100).unwrap_or_default();
                delay = delay.max(server).min(policy.max_delay).max(inner.limiter_period);
            }
            Metrics::add(&inner.metrics.retries, 1);
            tracing::warn!(
                operation = %inner.key.scrub(&call.operation),
                attempt = attempts,
                delay_ms = delay.as_millis() as u64,
                kind = ?err.kind,
                status = err.status,
                "transient failure; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn base_error(&self, call: &Call, kind: ErrorKind, message: &str) -> TwentyError {
        let mut err = TwentyError::new(kind, call.operation.clone(), self.inner.key.scrub(message));
        err.object = call.object.clone();
        err
    }

    async fn attempt(&self, call: &Call) -> Result<Bytes, TwentyError> {
        let inner = &self.inner;
        let url = if call.route == Route::File { Url::parse(&call.path) } else { inner.base.join(&call.path) }
            .map_err(|e| self.base_error(call, ErrorKind::InvalidInput, &format!("bad URL {}: {e}", call.path)))?;
        if call.route.counted() {
            Metrics::add(&inner.metrics.counted_requests, 1);
            if let Some(limiter) = &inner.limiter {
                let start = Instant::now();
                limiter.until_ready().await;
                Metrics::add(&inner.metrics.limiter_wait_micros, start.elapsed().as_micros() as u64);
            }
        }
        let mut req = inner.http.request(call.method.clone(), url.clone());
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if call.route != Route::File {
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", inner.key.expose())).map_err(|_| {
                self.base_error(call, ErrorKind::InvalidInput, "the API key has characters a header cannot carry")
            })?;
            auth.set_sensitive(true);
            req = req.header(AUTHORIZATION, auth);
        }
        req = match &call.body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::JsonBytes(b) => req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.clone()),
            Body::Multipart(build) => req.multipart(build()),
        };
        Metrics::add(&inner.metrics.requests, 1);
        let started = Instant::now();
        let writes = !call.idempotent;
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(call, &e, writes)),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(self.transport_error(call, &e, writes)),
        };
        tracing::debug!(
            method = %call.method,
            path = %url.path(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "twenty request"
        );
        if status.is_success() {
            if call.route.graphql() {
                self.check_graphql_errors(call, &bytes)?;
            }
            return Ok(bytes);
        }
        Err(self.status_error(call, status, &bytes))
    }

    fn transport_error(&self, call: &Call, e: &reqwest::Error, writes: bool) -> TwentyError {
        let m = &self.inner.metrics;
        let (kind, unknown) = if e.is_timeout() {
            Metrics::add(&m.timeouts, 1);
            (ErrorKind::Timeout, writes)
        } else if e.is_connect() {
            Metrics::add(&m.connection_errors, 1);
            (ErrorKind::Connection, false)
        } else {
            Metrics::add(&m.connection_errors, 1);
            (ErrorKind::Connection, writes)
        };
        // reqwest's Display names the URL; ours carry no secret (the key travels in a header only).
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        let mut err = self.base_error(call, kind.clone(), &msg);
        err.outcome_unknown = unknown;
        err.hint = Some(match kind {
            ErrorKind::Timeout => format!(
                "the server did not answer within {:?}; raise request_timeout or check the server's load",
                self.inner.options.request_timeout
            ),
            _ => format!("check that the server at {} is running and reachable", self.inner.base),
        });
        err
    }

    fn check_graphql_errors(&self, call: &Call, bytes: &[u8]) -> Result<(), TwentyError> {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else { return Ok(()) };
        let Some(first) = v.get("errors").and_then(Value::as_array).and_then(|a| a.first()) else { return Ok(()) };
        let message = first.get("message").and_then(Value::as_str).unwrap_or("GraphQL error");
        let ext = first.get("extensions");
        let sub = ext.and_then(|e| e.get("subCode")).and_then(Value::as_str);
        let code = ext.and_then(|e| e.get("code")).and_then(Value::as_str);
        let mut parsed = classify(400, message);
        if sub == Some("LIMIT_REACHED") || message.starts_with("Limit reached") {
            Metrics::add(&self.inner.metrics.rate_limited, 1);
            parsed.kind = ErrorKind::RateLimited;
        } else if matches!(parsed.kind, ErrorKind::BadRequest) {
            parsed.kind = match code {
                Some("UNAUTHENTICATED") => ErrorKind::Unauthenticated,
                Some("FORBIDDEN") => ErrorKind::Forbidden,
                Some("NOT_FOUND") => ErrorKind::NotFound,
                _ => ErrorKind::GraphQl,
            };
        }
        // Metadata validation details (exchange 17) live in extensions.errors.
        let detail = ext
            .and_then(|e| e.pointer("/errors/fieldMetadata/0/errors/0"))
            .or_else(|| ext.and_then(|e| e.pointer("/errors/objectMetadata/0/errors/0")));
        let mut full = message.to_owned();
        let mut value = parsed.value.clone();
        if let Some(d) = detail {
            if let Some(m) = d.get("message").and_then(Value::as_str) {
                full = format!("{message}: {m}");
            }
            if let Some(v) = d.get("value") {
                value = Some(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            if parsed.kind == ErrorKind::GraphQl {
                parsed.kind = ErrorKind::InvalidInput;
            }
        }
        let mut err = self.base_error(call, parsed.kind, &full);
        err.status = Some(200);
        err.field = parsed.field;
        if let Some(v) = value {
            err = err.with_value(self.inner.key.scrub(&v));
        }
        Err(err)
    }

    fn status_error(&self, call: &Call, status: StatusCode, bytes: &[u8]) -> TwentyError {
        let code = status.as_u16();
        let message = server_message(bytes).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(bytes);
            if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("no message").to_owned()
            } else {
                crate::error::short_value(text.trim())
            }
        });
        let parsed = classify(code, &message);
        let m = &self.inner.metrics;
        match parsed.kind {
            ErrorKind::RateLimited => Metrics::add(&m.rate_limited, 1),
            ErrorKind::ServerError => Metrics::add(&m.server_errors, 1),
            _ => {}
        }
        let mut err = self.base_error(call, parsed.kind.clone(), &message);
        err.status = Some(code);
        err.field = parsed.field;
        err.value = parsed.value.map(|v| self.inner.key.scrub(&v));
        err.outcome_unknown = parsed.kind == ErrorKind::ServerError && !call.idempotent;
        err.hint = default_hint(&parsed.kind);
        err
    }
}

/// The message of a Twenty error body: `messages[0]` (REST), `message` (Nest, string or list).
fn server_message(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let pick = |x: &Value| -> Option<String> {
        match x {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => {
                let parts: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            _ => None,
        }
    };
    v.get("messages").and_then(pick).or_else(|| v.get("message").and_then(pick))
}

fn default_hint(kind: &ErrorKind) -> Option<String> {
    Some(
        match kind {
            ErrorKind::Unauthenticated => {
                "the API key was refused (invalid, revoked or expired); create a new key in Twenty under Settings → \
                 APIs & Webhooks and set TWENTY_API_KEY"
            }
            ErrorKind::Forbidden => {
                "no API key reached the server, or its role may not do this; check TWENTY_API_KEY and the key's role"
            }
            ErrorKind::NotFound => "the record or route does not exist (soft-deleted records answer 404 too)",
            ErrorKind::RateLimited => "the server's rate limit was hit; lower the client's rate_limit to the server's",
            ErrorKind::ServerError => "the server failed; retry later or check its logs",
            ErrorKind::Duplicate => {
                "a record with the same id or unique value exists (soft-deleted rows count); use upsert, or restore \
                 or delete the existing record"
            }
            ErrorKind::MissingRelationTarget => {
                "a relation id points at a record that does not exist; load the parent first or clear the relation"
            }
            ErrorKind::TooManyRecords { .. } => "send fewer records per batch (batch_size)",
            ErrorKind::UnknownField => "create the field first or remove it from the payload",
            ErrorKind::InvalidValue => "fix the value to fit the field's type",
            _ => return None,
        }
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_read_in_every_recorded_shape() {
        assert_eq!(server_message(br#"{"statusCode":400,"messages":["a"],"error":"x"}"#).as_deref(), Some("a"));
        assert_eq!(
            server_message(br#"{"message":"Folder  is not allowed"}"#).as_deref(),
            Some("Folder  is not allowed")
        );
        assert_eq!(server_message(br#"{"message":["x","y"]}"#).as_deref(), Some("x; y"));
        assert_eq!(server_message(b"not json"), None);
    }

    #[test]
    fn rate_limit_period_matches_the_server() {
        let rl = RateLimit { margin_percent: 0, ..RateLimit::default() };
        assert_eq!(rl.period(), Duration::from_millis(600));
        assert_eq!(RateLimit::default().period(), Duration::from_millis(606));
    }
}
