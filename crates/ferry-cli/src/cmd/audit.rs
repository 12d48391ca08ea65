//! `ferry audit`: what an Atomic CRM source holds, what is custom, and what will not migrate.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_atomic::attachments::StorageSettings;
use ferry_atomic::inventory::{self, inventory};
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
    /// A TypeScript file holding the CRM configuration (`App.tsx` with `<CRM …/>` props, or
    /// `defaultConfiguration.ts`), used for the enums when the database has no configuration row.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The Supabase project URL (`https://<ref>.supabase.co`), to resolve Storage paths of attachments.
    #[arg(long, value_name = "URL")]
    project_url: Option<url::Url>,
    /// Read only the schema: skip the pass over the data that finds enums in use and files.
    #[arg(long)]
    schema_only: bool,
    /// Print the audit as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let source = SourceSpec::parse(&args.from)?;
    let options = AuditOptions { supabase_project: args.supabase_project };
    let audit =
        audit_with(&source, &options).await.with_context(|| format!("cannot audit {}", source.display_name()))?;
    let found = if args.schema_only {
        None
    } else {
        let storage = StorageSettings { project_url: args.project_url, ..StorageSettings::default() };
        let found = inventory(&source, args.config.as_deref(), &storage)
            .await
            .with_context(|| format!("cannot read the data of {}", source.display_name()))?;
        Some(found)
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut json = serde_json::to_value(&audit)?;
        if let (Some(found), Some(map)) = (&found, json.as_object_mut()) {
            map.insert("enums".into(), serde_json::to_value(&found.enums)?);
            map.insert("files".into(), serde_json::to_value(&found.files)?);
            map.insert("records".into(), serde_json::to_value(&found.records)?);
            map.insert("data_problems".into(), serde_json::to_value(&found.problems)?);
        }
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render_text(&audit))?;
        if let Some(found) = &found {
            write!(out, "{}", inventory::render_text(found))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
