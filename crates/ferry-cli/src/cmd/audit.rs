//! `ferry audit`: what an Atomic CRM source holds, what is custom, and what will not migrate.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_atomic::{AuditOptions, SourceSpec, audit_with, render_text};

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The Atomic CRM source: a `postgres://…` URL (the password may come from PGPASSWORD) or a Supabase/pg_dump
    /// plain-SQL backup file.
    #[arg(long, value_name = "URL|FILE")]
    from: String,
    /// The Supabase project folder, to list its edge functions among what will not migrate.
    #[arg(long, value_name = "DIR")]
    supabase_project: Option<PathBuf>,
    /// Print the audit as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let source = SourceSpec::parse(&args.from)?;
    let options = AuditOptions { supabase_project: args.supabase_project };
    let audit =
        audit_with(&source, &options).await.with_context(|| format!("cannot audit {}", source.display_name()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &audit)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render_text(&audit))?;
    }
    Ok(ExitCode::SUCCESS)
}
