//! `ferry`: move a business app's whole workspace from one system to another.
//!
//! This binary is a thin layer: it parses arguments, sets up logging and hands over to the engine and the
//! vendor crates. Every subcommand lives in its own module under `cmd/`.

mod cmd;

/// The allocator: the sandbox and the loader allocate many small values per record (JSON maps, strings); glibc's
/// malloc spent a third of the sandbox's CPU time on them (`perf` during `scripts/bench-apply`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Move a business app's whole workspace from one system to another, verified."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit an Atomic CRM source: every table and column, custom columns with proposed destination types, user
    /// tables, users, and the automation that will not migrate.
    Audit(cmd::audit::AuditArgs),
    /// Audit the source and the destination and write a human-editable migration plan (TOML); writes nothing to
    /// the destination. Re-running it over an edited plan keeps the edits.
    Plan(cmd::plan::PlanArgs),
    /// Make the plan's data-model changes in the destination and load every record, exactly once: after a crash,
    /// run it again and it continues where it stopped.
    Apply(cmd::apply::ApplyArgs),
    /// Read back every migrated record, compare it field by field with the source through the plan, and write the
    /// report (HTML, Markdown, JSON). Exits non-zero when anything mismatched or is unaccounted for.
    Verify(cmd::verify::VerifyArgs),
    /// Delete every record the migration created and undo its data-model changes: the destination returns to its
    /// state before the migration.
    Rollback(cmd::rollback::RollbackArgs),
    /// The whole journey with nothing installed: a generated Atomic CRM backup into an in-process Twenty sandbox,
    /// plan → apply → verify, and where the report is.
    Demo(cmd::demo::DemoArgs),
    /// Write a realistic Atomic CRM backup file of any size and schema generation, for demos and rehearsals.
    Generate(cmd::generate::GenerateArgs),
    /// Serve a Twenty sandbox: a stateful emulator of one Twenty workspace's API, to rehearse a migration.
    Sandbox(cmd::sandbox::SandboxArgs),
}

fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Audit(args) => cmd::audit::run(args).await,
            Command::Generate(args) => cmd::generate::run(args).await,
            Command::Plan(args) => cmd::plan::run(args).await,
            Command::Apply(args) => cmd::apply::run(args).await,
            Command::Verify(args) => cmd::verify::run(args).await,
            Command::Rollback(args) => cmd::rollback::run(args).await,
            Command::Demo(args) => cmd::demo::run(args).await,
            Command::Sandbox(args) => cmd::sandbox::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferry: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings and errors).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
