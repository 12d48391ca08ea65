//! `ferry plan`: audit the source and the destination, propose a human-editable migration plan, and print what it
//! says. Writes nothing to the destination. Re-running it over an edited plan keeps the edits.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_atomic::SourceSpec;
use ferry_core::plan::Plan;
use ferry_core::propose::{DestinationModel, SourceModel, propose};
use ferry_twenty::{ApiKey, ClientOptions, TwentyClient};

use super::migration::{api_key_from, destination_model};

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The Atomic CRM source: a `postgres://…` URL (the password may come from PGPASSWORD) or a Supabase/pg_dump
    /// plain-SQL backup file.
    #[arg(long, value_name = "URL|FILE")]
    from: String,
    /// The Twenty server (`https://api.twenty.com`, `http://127.0.0.1:3000`…). The API key comes from
    /// TWENTY_API_KEY or --api-key-file, never from a flag.
    #[arg(long, value_name = "URL")]
    to: String,
    /// A TypeScript file holding the CRM configuration (`App.tsx` with `<CRM …/>` props, or
    /// `defaultConfiguration.ts`), used for the enums when the database has no configuration row.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The plan file to write. When it exists, the edits made in it are kept.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// A file holding the Twenty API key, instead of the TWENTY_API_KEY environment variable.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
}

/// The journal beside the plan: `<plan stem>.journal`.
fn default_journal(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "migration".into());
    PathBuf::from(format!("{stem}.journal"))
}

/// Reads the destination's data model and members.
async fn destination(to: &str, key: ApiKey) -> anyhow::Result<DestinationModel> {
    let client = TwentyClient::connect(to, key, ClientOptions::default())
        .await
        .with_context(|| format!("cannot read the Twenty workspace at {to}"))?;
    destination_model(&client, to).await
}

pub async fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let spec = SourceSpec::parse(&args.from)?;
    if let Some(path) = spec.dump_path() {
        std::fs::File::open(path).with_context(|| format!("cannot read the source backup {}", path.display()))?;
    }
    let key = api_key_from(args.api_key_file.as_deref())?;
    // An edited plan that no longer reads is refused before anything else: it is never overwritten.
    let previous = if args.out.exists() {
        Some(Plan::load(&args.out).context("the existing plan is kept as it is; nothing was written")?)
    } else {
        None
    };
    let dest = destination(&args.to, key).await?;
    let source = ferry_atomic::describe::describe(&spec, args.config.as_deref())
        .await
        .with_context(|| format!("cannot read the source {}", spec.display_name()))?;
    let proposed = propose(&source, &dest, default_journal(&args.out));
    let (plan, merge_notes) = match previous {
        Some(old) => {
            let (plan, notes) = old.merge_edits(proposed);
            (plan, Some(notes))
        }
        None => (proposed, None),
    };
    plan.save(&args.out)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", summary(&plan, &source, &dest, &args.out, merge_notes.as_deref()))?;
    Ok(ExitCode::SUCCESS)
}

/// The readable summary printed after writing the plan.
/// `merged`: the notes of merging with an existing plan, when there was one.
pub fn summary(
    plan: &Plan,
    source: &SourceModel,
    dest: &DestinationModel,
    out: &Path,
    merged: Option<&[String]>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan written to {} (nothing was written to {}).", out.display(), plan.destination.location);
    let _ = writeln!(s, "Source: {} ({})", plan.source.location, plan.source.kind);
    for n in &source.notes {
        let _ = writeln!(s, "  {n}");
    }
    let _ = writeln!(
        s,
        "Destination: {} ({} objects, {} members)",
        plan.destination.location,
        dest.objects.len(),
        dest.members.len()
    );
    match merged {
        Some([]) => {
            let _ = writeln!(s, "\nThe existing plan's edits are kept; nothing new was proposed.");
        }
        Some(notes) => {
            let _ = writeln!(s, "\nThe existing plan's edits are kept; what changed:");
            for n in notes {
                let _ = writeln!(s, "  {n}");
            }
        }
        None => {}
    }
    let _ = writeln!(s, "\nObjects, in load order ({}):", plan.objects.len());
    for o in &plan.objects {
        let created = plan.create.fields.iter().filter(|f| f.object == o.destination).count();
        let skip = if o.skip { "  [skipped]" } else { "" };
        let _ = writeln!(
            s,
            "  {:<24} → {:<20} {} fields, {} relations, {} links, {} attachment fields{}{skip}",
            o.source,
            o.destination,
            o.fields.len(),
            o.relations.len(),
            o.links.len(),
            o.attachments.len(),
            if created > 0 { format!(" ({created} new fields on {})", o.destination) } else { String::new() }
        );
    }
    let c = &plan.create;
    let _ = writeln!(
        s,
        "\nTo create in the destination: {} objects, {} fields, options added to {} existing fields",
        c.objects.len(),
        c.fields.len(),
        c.options.len()
    );
    for o in &c.objects {
        let _ = writeln!(s, "  object {}: {}", o.name, o.reason);
    }
    for o in &c.options {
        let values: Vec<&str> = o.options.iter().map(|x| x.value.as_str()).collect();
        let _ = writeln!(s, "  options of {}.{}: {}", o.object, o.field, values.join(", "));
    }
    let matched = plan.members.iter().filter(|m| m.destination.is_some()).count();
    let unmatched: Vec<&str> =
        plan.members.iter().filter(|m| m.destination.is_none()).map(|m| m.source.as_str()).collect();
    let _ = writeln!(s, "\nMembers: {matched} matched, {} unmatched", unmatched.len());
    if !unmatched.is_empty() {
        let _ = writeln!(
            s,
            "  to reconcile (write a member's e-mail as `destination` in the plan, or apply with --fallback-owner \
             EMAIL or --allow-unassigned): {}",
            unmatched.join(", ")
        );
    }
    let _ = writeln!(s, "\nLossy transforms ({}):", plan.lossy.len());
    for l in &plan.lossy {
        let _ = writeln!(s, "  {}.{}: {}", l.object, l.field, l.what);
    }
    let _ = writeln!(s, "\nNot migrated ({}):", plan.not_migrated.len());
    // objects and tables one by one; automation (many items, one reason) counted by kind
    let mut automation: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for n in &plan.not_migrated {
        if matches!(n.kind.as_str(), "object" | "table") {
            let _ = writeln!(s, "  {} {} ({}): {}", n.kind, n.name, n.what, n.why);
        } else {
            *automation.entry(n.kind.as_str()).or_default() += 1;
        }
    }
    if !automation.is_empty() {
        let counts: Vec<String> = automation.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        let _ = writeln!(
            s,
            "  automation: {} — each listed with what it does under not_migrated in the plan; rebuild what is still \
             needed with the destination's own workflows and permissions",
            counts.join(", ")
        );
    }
    let _ = writeln!(s, "\nEdit {} as needed, then run `ferry apply {}`.", out.display(), out.display());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_is_named_after_the_plan() {
        assert_eq!(default_journal(Path::new("/x/migration.toml")), PathBuf::from("migration.journal"));
        assert_eq!(default_journal(Path::new("acme.toml")), PathBuf::from("acme.journal"));
    }
}
