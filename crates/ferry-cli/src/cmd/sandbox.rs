//! `ferry sandbox`: serve a Twenty sandbox to people and scripts.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ferry_twenty_sandbox::{FaultConfig, MemberSeed, RateLimitConfig, SandboxConfig, SandboxHandle, TargetColumns};

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// The API key the sandbox accepts as `Authorization: Bearer <KEY>` (default: a random key, printed at start).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// JSON file of workspace members: `[{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}]`.
    #[arg(long, value_name = "FILE")]
    members: Option<PathBuf>,
    /// SQLite file that keeps the workspace across restarts (created if missing).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Most records one batch create accepts (Twenty's default is 200; Twenty Cloud documents 60).
    #[arg(long, default_value_t = 200)]
    batch_max: usize,
    /// API-key calls allowed per rate-limit window (Twenty's default: 100); 0 turns the limit off.
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// Length of the rate-limit window in seconds (Twenty's default: 60).
    #[arg(long, default_value_t = 60)]
    rate_window_secs: u64,
    /// Behave like newer Twenty servers: note and task targets use `targetCompanyId`… instead of `companyId`….
    #[arg(long)]
    morph_targets: bool,
    /// Behave like newer Twenty servers: attachments have a FILES field.
    #[arg(long)]
    files_field: bool,
    /// Share (0 to 1) of API calls answered with a 5xx without doing the work — to rehearse failures.
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    fail_5xx: f64,
    /// Share of API calls answered with a 429 without doing the work.
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    fail_429: f64,
    /// Share of API calls held without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    fail_timeout: f64,
    /// Share of API calls whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    fail_drop: f64,
    /// Share of writes committed whose answer is then lost (the connection is closed).
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    fail_lost_answer: f64,
    /// Seed of the fault choice (the same seed gives the same faults).
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
}

/// Parses a share between 0 and 1.
fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number; give a share between 0 and 1, e.g. 0.1"))?;
    if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(format!("{v} is not between 0 and 1")) }
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let mut config = SandboxConfig { listen: args.listen, batch_max: args.batch_max, ..SandboxConfig::default() };
    if let Some(key) = args.api_key {
        anyhow::ensure!(!key.trim().is_empty(), "--api-key is empty: give the key clients will send, or leave it out");
        config.api_key = key;
    }
    if let Some(path) = &args.members {
        config.members =
            MemberSeed::load(path).with_context(|| format!("cannot read the members file {}", path.display()))?;
    }
    config.state_file = args.state.clone();
    config.rate_limit = (args.rate_limit > 0).then(|| RateLimitConfig {
        tokens: args.rate_limit,
        window: Duration::from_secs(args.rate_window_secs.max(1)),
    });

    if args.morph_targets {
        config.target_columns = TargetColumns::Morph;
    }
    config.files_field = args.files_field;
    config.faults = FaultConfig {
        server_error: args.fail_5xx,
        rate_limited: args.fail_429,
        timeout: args.fail_timeout,
        drop_connection: args.fail_drop,
        commit_then_lose: args.fail_lost_answer,
        seed: args.fault_seed,
    };

    let handle = SandboxHandle::start(config).await.context("cannot start the Twenty sandbox")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Twenty sandbox listening on {}", handle.base_url())?;
        writeln!(out, "API key: {}", handle.api_key())?;
        match &args.state {
            Some(p) => writeln!(out, "State kept in {}", p.display())?,
            None => writeln!(out, "State kept in memory (use --state FILE to keep it across restarts)")?,
        }
        writeln!(out, "Press Ctrl-C to stop.")?;
        out.flush()?;
    }
    wait_for_stop_signal().await?;
    handle.shutdown().await.context("cannot shut the sandbox down cleanly")?;
    eprintln!("sandbox stopped");
    Ok(ExitCode::SUCCESS)
}

/// Waits for Ctrl-C or, on Unix, SIGTERM, so that a stopped sandbox still saves its state.
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    Ok(())
}
