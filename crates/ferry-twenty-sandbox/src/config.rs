//! Configuration of one sandbox workspace.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::SandboxError;

/// Everything that shapes one sandbox instance. `Default` gives the recorded Twenty build's behaviour.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The one Bearer token accepted. Default: a random `sbx_…` key.
    pub api_key: String,
    /// Name of the API key; it shows in `createdBy.name`. Default `ferry-sandbox`.
    pub api_key_name: String,
    /// Workspace members (name + e-mail). Default: one member.
    pub members: Vec<MemberSeed>,
    /// SQLite file that keeps the workspace across restarts; `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// Most records one create-many call accepts: 200 as recorded; Twenty Cloud documents 60.
    pub batch_max: usize,
    /// Page size when `limit` is not given (60 as recorded).
    pub page_default: usize,
    /// Largest page; bigger `limit` values are silently clamped (200 as recorded).
    pub page_max: usize,
    /// API-key rate limit: `Some(100 tokens per 60 s)` as recorded; `None` turns it off.
    pub rate_limit: Option<RateLimitConfig>,
    /// Injected faults (none by default).
    pub faults: FaultConfig,
    /// How noteTarget/taskTarget point at their targets.
    pub target_columns: TargetColumns,
    /// Newer servers' FILES field type (`attachment.file`); the recorded build has none.
    pub files_field: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: random_api_key(),
            api_key_name: "ferry-sandbox".to_string(),
            members: vec![MemberSeed::default()],
            state_file: None,
            batch_max: 200,
            page_default: 60,
            page_max: 200,
            rate_limit: Some(RateLimitConfig::default()),
            faults: FaultConfig::default(),
            target_columns: TargetColumns::Plain,
            files_field: false,
        }
    }
}

fn random_api_key() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let tail: String = (0..32)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
        })
        .collect();
    format!("sbx_{tail}")
}

/// How the note/task target objects point at companies, people, opportunities and custom objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetColumns {
    /// Recorded build: plain relations `company`, `person`, `opportunity` with join columns `companyId`…
    #[default]
    Plain,
    /// Newer servers: morph relations `targetCompany`… with join columns `targetCompanyId`…
    Morph,
}

/// One workspace member to seed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberSeed {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail (the member's `userEmail`).
    pub email: String,
}

impl Default for MemberSeed {
    fn default() -> Self {
        MemberSeed { first_name: "Tim".into(), last_name: "Apple".into(), email: "tim@apple.dev".into() }
    }
}

impl MemberSeed {
    /// Reads members from a JSON file: `[{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}]`.
    pub fn load(path: &Path) -> Result<Vec<MemberSeed>, SandboxError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SandboxError::Members { path: path.to_path_buf(), reason: e.to_string() })?;
        let members: Vec<MemberSeed> = serde_json::from_str(&text).map_err(|e| SandboxError::Members {
            path: path.to_path_buf(),
            reason: format!("{e}; expected [{{\"firstName\", \"lastName\", \"email\"}}, …]"),
        })?;
        for (i, m) in members.iter().enumerate() {
            if !m.email.contains('@') {
                return Err(SandboxError::Members {
                    path: path.to_path_buf(),
                    reason: format!("member #{} has e-mail {:?}, which is not an e-mail address", i + 1, m.email),
                });
            }
        }
        Ok(members)
    }
}

/// The API-key rate limit: a token bucket of `tokens` refilled evenly over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Bucket size (Twenty: 100).
    pub tokens: u32,
    /// Time to refill an empty bucket (Twenty: 60 s).
    pub window: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { tokens: 100, window: Duration::from_secs(60) }
    }
}

/// Injected faults: each a probability 0.0..=1.0 per counted API request (/rest records + /graphql).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Answer 500/502/503 without doing the work.
    pub server_error: f64,
    /// Answer Twenty's 429 body without doing the work.
    pub rate_limited: f64,
    /// Hold the request without answering (until the client gives up): nothing done.
    pub timeout: f64,
    /// Close the connection without an answer: nothing done.
    pub drop_connection: f64,
    /// Do the write (committed), then lose the response (connection dropped).
    pub commit_then_lose: f64,
    /// Seed of the deterministic choice.
    pub seed: u64,
}
