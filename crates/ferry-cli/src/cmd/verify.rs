//! `ferry verify`: reads back every migrated record, compares it field by field with the source through the plan,
//! and writes the report (JSON, Markdown, one self-contained HTML page).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_core::plan::Plan;
use ferry_core::run::{verify, write_report};

use super::migration::{DestinationArgs, connect, open_journal, source_spec, stage_path, stage_source};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The plan written by `ferry plan` and applied by `ferry apply`.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    /// Print the report as JSON on stdout (the files are written too).
    #[arg(long)]
    json: bool,
    /// Where the report files go (default: `<plan name>-report/` beside the plan).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    destination: DestinationArgs,
}

/// The default report folder of a plan: `migration.toml` → `migration-report/`.
pub fn report_dir(plan_file: &Path) -> PathBuf {
    let stem = plan_file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "migration".into());
    plan_file.parent().unwrap_or(Path::new(".")).join(format!("{stem}-report"))
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(&args.plan)?;
    let spec = source_spec(&plan, &args.plan)?;
    let client = connect(&plan, &args.destination).await?;
    let journal = open_journal(&plan, &args.plan)?;
    let mut stage = stage_source(&spec, &journal, &stage_path(&plan, &args.plan)).await?;
    let report = verify(&plan, &mut stage, &journal, &client)
        .await
        .with_context(|| format!("cannot verify {}", args.plan.display()))?;
    let dir = args.report.unwrap_or_else(|| report_dir(&args.plan));
    let files = write_report(&report, &journal, &dir)
        .with_context(|| format!("cannot write the report in {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        report.write_json(&mut out)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<34} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>11}",
            "object", "source", "written", "rejected", "skipped", "verified", "mismatched", "unaccounted"
        )?;
        for o in &report.objects {
            writeln!(
                out,
                "{:<34} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>11}",
                o.object,
                o.source,
                o.written,
                o.rejected,
                o.skipped,
                o.verified,
                o.mismatched,
                o.unaccounted()
            )?;
        }
        writeln!(
            out,
            "{}",
            if report.ok() {
                "OK: every record is accounted for and matches."
            } else {
                "NOT OK: see the mismatches and unaccounted records in the report."
            }
        )?;
    }
    eprintln!(
        "report: {}\n        {}\n        {}\n        {}",
        files.html.display(),
        files.markdown.display(),
        files.json.display(),
        files.problems_csv.display()
    );
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
