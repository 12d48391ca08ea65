//! `ferry generate`: a realistic, messy Atomic CRM database of any schema generation, as a Supabase-style backup
//! file — for demos, rehearsals and benchmarks.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use ferry_atomic::Generation;
use ferry_atomic::generate::{DumpStyle, GenConfig, write_dump};

/// Atomic CRM schema generations, oldest first.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum GenerationArg {
    /// Before 2025-01-09: single email / phone_1 / phone_2 columns, camelCase notes tables.
    Legacy2024,
    /// 2025-01 to 2026-01-15: e-mails and phones as jsonb.
    Jsonb2025,
    /// 2026-01-15 to 2026-02-11: snake_case tables, enum labels, no configuration table.
    SnakeCase2026,
    /// 2026-02-11 to 2026-03-20: configuration table, enum slugs.
    Configuration2026,
    /// Since 2026-03-20.
    Current,
}

impl From<GenerationArg> for Generation {
    fn from(g: GenerationArg) -> Generation {
        match g {
            GenerationArg::Legacy2024 => Generation::Legacy2024,
            GenerationArg::Jsonb2025 => Generation::Jsonb2025,
            GenerationArg::SnakeCase2026 => Generation::SnakeCase2026,
            GenerationArg::Configuration2026 => Generation::Configuration2026,
            GenerationArg::Current => Generation::Current,
        }
    }
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The backup file to write (plain SQL, as `pg_dump` and Supabase write them).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// About how many CRM rows in total.
    #[arg(long, default_value_t = 3_000)]
    rows: u64,
    /// Which Atomic CRM schema generation to write.
    #[arg(long, value_enum, default_value = "current")]
    generation: GenerationArg,
    /// The same seed gives the same database.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Leave out custom columns and the user-added table.
    #[arg(long)]
    no_custom: bool,
    /// Write `INSERT` statements instead of `COPY` blocks.
    #[arg(long)]
    inserts: bool,
}

pub async fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rows > 0, "--rows must be at least 1");
    let config = GenConfig {
        seed: args.seed,
        generation: args.generation.into(),
        rows: args.rows,
        custom: !args.no_custom,
        automation: true,
    };
    let style =
        if args.inserts { DumpStyle::Inserts { rows_per_statement: 100, column_names: true } } else { DumpStyle::Copy };
    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    let summary =
        write_dump(&mut out, &config, style).with_context(|| format!("cannot write {}", args.out.display()))?;
    out.flush().with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "Wrote {} ({} CRM rows, schema generation {})",
        args.out.display(),
        summary.crm_rows(),
        Generation::from(args.generation).as_str()
    );
    for (table, n) in &summary.counts {
        println!("  {table:<28} {n:>9}");
    }
    Ok(ExitCode::SUCCESS)
}
