//! `ferry demo`: the whole journey on a fresh machine with nothing running — a generated Atomic CRM backup, an
//! in-process Twenty sandbox, then plan → apply → verify, and where the report is.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferry_atomic::attachments::{FetchOptions, StorageSettings};
use ferry_atomic::files::AtomicFiles;
use ferry_atomic::generate::{DumpStyle, GenConfig, write_dump};
use ferry_atomic::{Generation, SourceSpec};
use ferry_core::Journal;
use ferry_core::propose::propose;
use ferry_core::run::{ApplyOptions, OwnerPolicy, apply, verify, write_report};
use ferry_twenty::{ApiKey, ClientOptions, TwentyClient};
use ferry_twenty_sandbox::{MemberSeed, SandboxConfig, SandboxHandle};

use super::migration::{destination_model, stage_source};
use super::progress::Bars;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The folder for the demo's files: the backup, the plan, the journal and the report.
    #[arg(long, value_name = "DIR", default_value = "ferry-demo")]
    out: PathBuf,
    /// About how many CRM rows the demo backup holds.
    #[arg(long, default_value_t = 3_000)]
    rows: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for stale in ["migration.toml", "migration.journal", "migration.stage"] {
        let p = out.join(stale);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove the previous demo's {}", p.display()))?;
        }
    }
    let mut say = std::io::stdout().lock();

    // 1. The source: a backup file of a realistic, messy Atomic CRM.
    let dump = out.join("atomic-crm-backup.sql");
    let cfg = GenConfig { rows: args.rows, ..GenConfig::demo(Generation::Current) };
    {
        let file = std::fs::File::create(&dump).with_context(|| format!("cannot write {}", dump.display()))?;
        let mut w = BufWriter::new(file);
        write_dump(&mut w, &cfg, DumpStyle::Copy)?;
        w.flush()?;
    }
    writeln!(say, "1. Atomic CRM backup written: {}", dump.display())?;
    let spec = SourceSpec::Dump(dump.clone());

    // 2. The destination: a Twenty sandbox whose members are the CRM's users (as a team would invite them first),
    //    and a local stand-in for the project's Storage, so attachments have somewhere to come from.
    let (users, _) = ferry_atomic::read_users(&spec).await?;
    let members: Vec<MemberSeed> = users
        .iter()
        .filter_map(|u| {
            Some(MemberSeed {
                first_name: u.first_name.clone().unwrap_or_default(),
                last_name: u.last_name.clone().unwrap_or_default(),
                email: u.email.clone()?,
            })
        })
        .collect();
    let sandbox = SandboxHandle::start(SandboxConfig { members, rate_limit: None, ..SandboxConfig::default() })
        .await
        .context("cannot start the sandbox")?;
    let storage = serve_demo_storage().await?;
    writeln!(say, "2. Twenty sandbox listening on {} ({} members)", sandbox.base_url(), users.len())?;

    let options = ClientOptions { rate_limit: None, ..ClientOptions::default() };
    let client = TwentyClient::connect(&sandbox.base_url(), ApiKey::new(sandbox.api_key()), options).await?;

    // 3. plan
    let source = ferry_atomic::describe::describe(&spec, None).await?;
    let dest = destination_model(&client, &sandbox.base_url()).await?;
    let plan_file = out.join("migration.toml");
    let plan = propose(&source, &dest, PathBuf::from("migration.journal"));
    plan.save(&plan_file)?;
    writeln!(
        say,
        "3. Plan written: {} ({} objects, {} fields/objects/options to create, {} lossy transforms named)",
        plan_file.display(),
        plan.objects.len(),
        plan.create.objects.len() + plan.create.fields.len() + plan.create.options.len(),
        plan.lossy.len()
    )?;

    // 4. apply
    let mut journal = Journal::open(&plan.journal_path(&plan_file))?;
    let mut stage = stage_source(&spec, &journal, &plan.journal_path(&plan_file).with_extension("stage")).await?;
    let files =
        AtomicFiles::new(StorageSettings { project_url: Some(storage), ..StorageSettings::default() }, demo_fetch())
            .map_err(anyhow::Error::msg)?;
    let mut bars = Bars::new("records");
    let summary = apply(
        &plan,
        &mut stage,
        &mut journal,
        &client,
        &files,
        ApplyOptions { sample: None, owners: OwnerPolicy::Unassigned, progress: Some(&mut bars) },
    )
    .await?;
    drop(bars);
    writeln!(say, "4. Applied: {} records written, {} data-model changes", summary.written(), summary.schema_changes)?;

    // 5. verify and report
    let report = verify(&plan, &mut stage, &journal, &client).await?;
    let dir = out.join("migration-report");
    let written = write_report(&report, &journal, &dir)?;
    writeln!(say, "5. Verified: {}", if report.ok() { "every record accounted for and matching" } else { "NOT OK" })?;
    for o in &report.objects {
        writeln!(
            say,
            "   {:<32} source {:>5}  written {:>5}  rejected {:>3}  skipped {:>3}  mismatched {:>3}",
            o.object, o.source, o.written, o.rejected, o.skipped, o.mismatched
        )?;
    }
    writeln!(
        say,
        "\nReport: {}\n        {}\n        {}\n        {}",
        written.html.display(),
        written.markdown.display(),
        written.json.display(),
        written.problems_csv.display()
    )?;
    writeln!(
        say,
        "Try the same against a real Twenty: ferry plan --from {} --to https://your-twenty --out migration.toml",
        display(&dump)
    )?;
    sandbox.shutdown().await.ok();
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Short timeouts: the demo's external links (favicons, gravatars, example.com) cannot be reached offline, and
/// each is reported as a file that did not migrate rather than waited for.
fn demo_fetch() -> FetchOptions {
    FetchOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        timeout: std::time::Duration::from_secs(5),
        read_timeout: std::time::Duration::from_secs(5),
        ..FetchOptions::default()
    }
}

/// Serves `/storage/v1/object/public/<bucket>/<path>` on 127.0.0.1 with a small file of the path's type, standing
/// in for the demo project's Supabase Storage. Returns its URL (the project URL to use).
async fn serve_demo_storage() -> anyhow::Result<url::Url> {
    use axum::extract::Path as UrlPath;
    use axum::http::header;
    use axum::response::IntoResponse;
    async fn file(UrlPath((bucket, path)): UrlPath<(String, String)>) -> impl IntoResponse {
        let kind = match path.rsplit('.').next().unwrap_or_default() {
            "png" => "image/png",
            "pdf" => "application/pdf",
            _ => "application/octet-stream",
        };
        let body = format!("demo file {bucket}/{path}\n").into_bytes();
        ([(header::CONTENT_TYPE, kind)], body)
    }
    let app = axum::Router::new().route("/storage/v1/object/public/{bucket}/{*path}", axum::routing::get(file));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot open a local port")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url::Url::parse(&format!("http://{addr}"))?)
}
