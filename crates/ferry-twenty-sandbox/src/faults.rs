//! Fault injection: a deterministic choice (from the seed) per counted API request.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::FaultConfig;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Serve it normally.
    None,
    /// Answer this 5xx status without doing the work.
    ServerError(u16),
    /// Answer Twenty's 429 without doing the work.
    RateLimited,
    /// Never answer; nothing done.
    Timeout,
    /// Close the connection without an answer; nothing done.
    Drop,
    /// Do the work, then close the connection without an answer.
    CommitThenLose,
}

/// Draws faults from a seeded generator.
#[derive(Debug)]
pub struct FaultPicker {
    config: FaultConfig,
    rng: StdRng,
}

impl FaultPicker {
    /// A picker for this configuration.
    pub fn new(config: FaultConfig) -> FaultPicker {
        let rng = StdRng::seed_from_u64(config.seed);
        FaultPicker { config, rng }
    }

    /// Whether any fault is configured.
    pub fn active(&self) -> bool {
        let c = &self.config;
        c.server_error + c.rate_limited + c.timeout + c.drop_connection + c.commit_then_lose > 0.0
    }

    /// The fault for the next counted request.
    pub fn pick(&mut self) -> Fault {
        if !self.active() {
            return Fault::None;
        }
        let x: f64 = self.rng.random();
        let c = &self.config;
        let mut edge = c.server_error;
        if x < edge {
            let status = [500, 502, 503][self.rng.random_range(0..3)];
            return Fault::ServerError(status);
        }
        edge += c.rate_limited;
        if x < edge {
            return Fault::RateLimited;
        }
        edge += c.timeout;
        if x < edge {
            return Fault::Timeout;
        }
        edge += c.drop_connection;
        if x < edge {
            return Fault::Drop;
        }
        edge += c.commit_then_lose;
        if x < edge {
            return Fault::CommitThenLose;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_shares_roughly_as_configured() {
        let cfg = FaultConfig { server_error: 0.2, drop_connection: 0.1, seed: 7, ..FaultConfig::default() };
        let a: Vec<Fault> = {
            let mut p = FaultPicker::new(cfg.clone());
            (0..1000).map(|_| p.pick()).collect()
        };
        let b: Vec<Fault> = {
            let mut p = FaultPicker::new(cfg);
            (0..1000).map(|_| p.pick()).collect()
        };
        assert_eq!(a, b);
        let errors = a.iter().filter(|f| matches!(f, Fault::ServerError(_))).count();
        let drops = a.iter().filter(|f| **f == Fault::Drop).count();
        assert!((150..250).contains(&errors), "{errors} server errors of 1000");
        assert!((60..140).contains(&drops), "{drops} drops of 1000");
        assert!(!a.contains(&Fault::Timeout));
    }

    #[test]
    fn no_faults_by_default() {
        let mut p = FaultPicker::new(FaultConfig::default());
        assert!((0..100).all(|_| p.pick() == Fault::None));
    }
}
