//! The API-key rate limit as recorded (README item 15): a token bucket whose refill is rounded down at every
//! request, so a client calling more often than one refill interval gets no refill at all.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimitConfig;

/// A clock tests can advance (`SandboxHandle::advance_clock`).
#[derive(Debug)]
pub struct Clock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock { base: Instant::now(), offset: Mutex::new(Duration::ZERO) }
    }
}

impl Clock {
    /// Time since the clock was made, plus every advance.
    pub fn now(&self) -> Duration {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        self.base.elapsed() + offset
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *o += by;
    }
}

/// Twenty's token bucket for one workspace.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    config: RateLimitConfig,
    tokens: u64,
    last: Option<Duration>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(config: RateLimitConfig) -> TokenBucket {
        TokenBucket { config, tokens: u64::from(config.tokens), last: None }
    }

    /// Takes one token at time `now`; false when the bucket is empty (the caller answers 429).
    /// Refill = floor(elapsed × tokens / window), and the refill time is reset at every request.
    pub fn try_take(&mut self, now: Duration) -> bool {
        let max = u64::from(self.config.tokens);
        let window_ms = self.config.window.as_millis().max(1);
        if let Some(last) = self.last {
            let elapsed_ms = now.saturating_sub(last).as_millis();
            let refill = (elapsed_ms * u128::from(max) / window_ms) as u64;
            self.tokens = (self.tokens + refill).min(max);
        }
        self.last = Some(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// Twenty's message: `Limit reached (100 tokens per 60000 ms)`.
    pub fn message(&self) -> String {
        format!("Limit reached ({} tokens per {} ms)", self.config.tokens, self.config.window.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> TokenBucket {
        TokenBucket::new(RateLimitConfig { tokens: 100, window: Duration::from_secs(60) })
    }

    #[test]
    fn exactly_100_back_to_back_then_429() {
        let mut b = bucket();
        let mut t = Duration::ZERO;
        for i in 0..100 {
            assert!(b.try_take(t), "request {i} should pass");
            t += Duration::from_millis(100);
        }
        assert!(!b.try_take(t), "the 101st is limited");
        assert_eq!(b.message(), "Limit reached (100 tokens per 60000 ms)");
    }

    #[test]
    fn calls_more_often_than_600ms_get_no_refill() {
        let mut b = bucket();
        let mut t = Duration::ZERO;
        for _ in 0..100 {
            assert!(b.try_take(t));
        }
        for _ in 0..20 {
            t += Duration::from_millis(599);
            assert!(!b.try_take(t), "the refill is rounded down and lost at every request");
        }
        t += Duration::from_millis(600);
        assert!(b.try_take(t), "one full interval gives one token");
        assert!(!b.try_take(t));
    }

    #[test]
    fn waiting_a_window_refills_the_bucket() {
        let mut b = bucket();
        for _ in 0..100 {
            assert!(b.try_take(Duration::ZERO));
        }
        let t = Duration::from_secs(61);
        for i in 0..100 {
            assert!(b.try_take(t), "request {i} after the wait");
        }
        assert!(!b.try_take(t));
    }

    #[test]
    fn clock_advances() {
        let c = Clock::default();
        let before = c.now();
        c.advance(Duration::from_secs(5));
        assert!(c.now() >= before + Duration::from_secs(5));
    }
}
