//! `ferry rollback`: deletes every record the migration created, then the fields, options and objects it created
//! (only those), returning the destination to its state before the migration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_core::plan::Plan;
use ferry_core::run::rollback;

use super::migration::{DestinationArgs, connect, open_journal};
use super::progress::Bars;

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The plan whose migration to undo.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    #[command(flatten)]
    destination: DestinationArgs,
}

pub async fn run(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(&args.plan)?;
    let client = connect(&plan, &args.destination).await?;
    let mut journal = open_journal(&plan, &args.plan)?;
    let mut bars = Bars::new("deleted");
    let summary = rollback(&plan, &mut journal, &client, &mut bars)
        .await
        .with_context(|| format!("rollback of {} stopped; run it again to finish", args.plan.display()))?;
    drop(bars);
    let mut out = std::io::stdout().lock();
    for (object, n) in &summary.deleted {
        writeln!(out, "{object:<34} {n:>9} deleted")?;
    }
    writeln!(
        out,
        "{} record(s) deleted, {} data-model change(s) undone.",
        summary.deleted_total(),
        summary.schema_changes
    )?;
    if summary.not_restored > 0 {
        writeln!(
            out,
            "{} changed record(s) could not be restored; they are listed in the journal.",
            summary.not_restored
        )?;
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
