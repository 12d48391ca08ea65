//! Counters for benchmarks and reports.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters (shared by clones of a client).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub requests: AtomicU64,
    pub counted_requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub connection_errors: AtomicU64,
    pub records_written: AtomicU64,
    pub reconciliations: AtomicU64,
    pub limiter_wait_micros: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            requests: g(&self.requests),
            counted_requests: g(&self.counted_requests),
            retries: g(&self.retries),
            rate_limited: g(&self.rate_limited),
            server_errors: g(&self.server_errors),
            timeouts: g(&self.timeouts),
            connection_errors: g(&self.connection_errors),
            records_written: g(&self.records_written),
            reconciliations: g(&self.reconciliations),
            limiter_wait_micros: g(&self.limiter_wait_micros),
        }
    }
}

/// A copy of the client's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// HTTP requests sent (every attempt, every route).
    pub requests: u64,
    /// Requests on routes the server's rate limit counts (`/rest` records and `/graphql`).
    pub counted_requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 answers (or GraphQL `LIMIT_REACHED`).
    pub rate_limited: u64,
    /// 5xx answers that were classified transient.
    pub server_errors: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Connection failures (refused, reset, dropped).
    pub connection_errors: u64,
    /// Records the server confirmed written (created, upserted, updated).
    pub records_written: u64,
    /// Look-ups made to reconcile a write whose answer was lost or refused as duplicate.
    pub reconciliations: u64,
    /// Total time spent waiting for the client's own rate limiter, in microseconds.
    pub limiter_wait_micros: u64,
}
