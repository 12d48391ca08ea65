//! `ferry apply`: makes the plan's data-model changes in the destination and loads every record, exactly once.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_atomic::SourceSpec;
use ferry_atomic::attachments::{FetchOptions, StorageSettings, project_url_from_db_url};
use ferry_atomic::files::AtomicFiles;
use ferry_core::plan::Plan;
use ferry_core::run::{ApplyOptions, OwnerPolicy, apply};

use super::migration::{DestinationArgs, connect, open_journal, source_spec, stage_path, stage_source};
use super::progress::Bars;

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan written by `ferry plan`.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    /// Load only N records per object, with every record they point at; a later full `apply` continues without
    /// duplicates.
    #[arg(long, value_name = "N")]
    sample: Option<u64>,
    /// Give the records of source users no destination member matches to this member.
    #[arg(long, value_name = "EMAIL", conflicts_with = "allow_unassigned")]
    fallback_owner: Option<String>,
    /// Leave the owner of those records empty (each one is listed in the report).
    #[arg(long)]
    allow_unassigned: bool,
    /// The Supabase project URL (`https://<ref>.supabase.co`), to fetch attachments stored as Storage paths; found
    /// from the database URL when it is a Supabase one.
    #[arg(long, value_name = "URL")]
    project_url: Option<url::Url>,
    #[command(flatten)]
    destination: DestinationArgs,
}

pub async fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(&args.plan)?;
    let owners = match (args.fallback_owner, args.allow_unassigned) {
        (Some(email), _) => OwnerPolicy::Fallback(email),
        (None, true) => OwnerPolicy::Unassigned,
        (None, false) => OwnerPolicy::Refuse,
    };
    let spec = source_spec(&plan, &args.plan)?;
    let client = connect(&plan, &args.destination).await?;
    let mut journal = open_journal(&plan, &args.plan)?;
    let mut stage = stage_source(&spec, &journal, &stage_path(&plan, &args.plan)).await?;
    let project_url = args.project_url.or_else(|| match &spec {
        SourceSpec::Postgres(url) => project_url_from_db_url(url.expose()),
        SourceSpec::Dump(_) => None,
    });
    let files =
        AtomicFiles::new(StorageSettings { project_url, ..StorageSettings::default() }, FetchOptions::default())
            .map_err(anyhow::Error::msg)?;
    let mut bars = Bars::new("records");
    let options = ApplyOptions { sample: args.sample, owners, progress: Some(&mut bars) };
    let summary = apply(&plan, &mut stage, &mut journal, &client, &files, options)
        .await
        .with_context(|| format!("apply {} stopped; run it again to continue where it stopped", args.plan.display()))?;
    drop(bars);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "object", "written", "already", "rejected", "skipped", "calls"
    )?;
    for o in &summary.objects {
        let name =
            if o.object == o.destination { o.object.clone() } else { format!("{} → {}", o.object, o.destination) };
        writeln!(
            out,
            "{name:<34} {:>9} {:>9} {:>9} {:>9} {:>7}",
            o.written, o.already, o.rejected, o.skipped, o.calls
        )?;
    }
    writeln!(
        out,
        "{} record(s) written{}, {} data-model change(s), {} problem(s) in the journal.",
        summary.written(),
        if summary.sample { " (sample)" } else { "" },
        summary.schema_changes,
        summary.problems
    )?;
    writeln!(out, "Next: `ferry verify {}` reads everything back and writes the report.", args.plan.display())?;
    Ok(ExitCode::SUCCESS)
}
