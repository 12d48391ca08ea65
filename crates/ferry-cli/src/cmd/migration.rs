//! What `apply`, `verify` and `rollback` share: the plan file, its journal and stage, the source it names (with the
//! password from the environment), and the destination (with the API key from the environment or a file).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use ferry_atomic::SourceSpec;
use ferry_core::Journal;
use ferry_core::plan::{Endpoint, Plan};
use ferry_core::propose::DestinationModel;
use ferry_core::stage::Stage;
use ferry_core::workspace::Workspace;
use ferry_twenty::{ApiKey, ClientOptions, RateLimit, TwentyClient};

/// The environment variable holding the Twenty API key.
pub const KEY_VAR: &str = "TWENTY_API_KEY";

/// How the destination is reached: the key (never a flag value, so it stays out of shell history) and the pace.
#[derive(Args, Debug, Clone)]
pub struct DestinationArgs {
    /// A file holding the Twenty API key, instead of the TWENTY_API_KEY environment variable.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Requests per minute ferry allows itself (Twenty's default limit is 100 per minute); 0 turns the client-side
    /// limit off, for servers configured without one.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub requests_per_minute: u32,
    /// Seconds one request may take before ferry gives up on it and checks what the destination did.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub request_timeout: u64,
}

/// The API key: from `--api-key-file`, else from `TWENTY_API_KEY`.
pub fn api_key(args: &DestinationArgs) -> anyhow::Result<ApiKey> {
    api_key_from(args.api_key_file.as_deref())
}

/// The API key: from `file` when given, else from `TWENTY_API_KEY`.
pub fn api_key_from(file: Option<&Path>) -> anyhow::Result<ApiKey> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the API key file {}", file.display()))?;
        let key = ApiKey::new(text);
        if key.is_empty() {
            bail!(
                "the API key file {} is empty; put in it a key created in Twenty under Settings → APIs & Webhooks",
                file.display()
            );
        }
        return Ok(key);
    }
    match std::env::var(KEY_VAR) {
        Ok(v) if !v.trim().is_empty() => Ok(ApiKey::new(v)),
        _ => bail!(
            "no Twenty API key: `export {KEY_VAR}=…` with a key created in Twenty under Settings → APIs & Webhooks, \
             or pass --api-key-file FILE"
        ),
    }
}

/// The destination as the proposer sees it: its data model and members, through the engine's `Workspace`.
pub async fn destination_model(client: &TwentyClient, location: &str) -> anyhow::Result<DestinationModel> {
    let objects = Workspace::model(client)
        .await
        .with_context(|| format!("cannot read the data model of the Twenty workspace at {location}"))?;
    let members =
        Workspace::members(client).await.with_context(|| format!("cannot list the workspace members of {location}"))?;
    Ok(DestinationModel {
        endpoint: Endpoint { kind: "twenty".into(), location: location.to_string() },
        objects,
        members,
    })
}

/// Connects to the plan's destination.
pub async fn connect(plan: &Plan, args: &DestinationArgs) -> anyhow::Result<TwentyClient> {
    let key = api_key(args)?;
    let mut options = ClientOptions {
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        ..ClientOptions::default()
    };
    options.rate_limit = match args.requests_per_minute {
        0 => None,
        n => Some(RateLimit::new(n, std::time::Duration::from_secs(60))),
    };
    TwentyClient::connect(&plan.destination.location, key, options)
        .await
        .with_context(|| format!("cannot reach the destination {}", plan.destination.location))
}

/// The plan's source, with the database password taken from `PGPASSWORD` (plans never hold it). A relative dump
/// path is looked up beside the plan file when it is not in the current folder.
pub fn source_spec(plan: &Plan, plan_file: &Path) -> anyhow::Result<SourceSpec> {
    let location = plan.source.location.as_str();
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let url = with_password(location, std::env::var("PGPASSWORD").ok().as_deref())?;
        return Ok(SourceSpec::parse(&url)?);
    }
    let path = PathBuf::from(location);
    let path = if path.is_relative() && !path.exists() {
        plan_file.parent().unwrap_or(Path::new(".")).join(&path)
    } else {
        path
    };
    if !path.exists() {
        bail!(
            "the plan's source {} does not exist; put the backup file back, or fix `location` under [source] in {}",
            path.display(),
            plan_file.display()
        );
    }
    Ok(SourceSpec::Dump(path))
}

/// Puts `password` into a database URL whose password the plan redacted (`***`) or left out.
fn with_password(location: &str, password: Option<&str>) -> anyhow::Result<String> {
    let mut url = url::Url::parse(location).with_context(|| format!("the plan's source {location} is not a URL"))?;
    let redacted = url.password() == Some("***");
    match password {
        Some(p) if redacted || url.password().is_none() => {
            url.set_password(Some(p))
                .map_err(|()| anyhow::anyhow!("the source URL {location} cannot hold a password"))?;
        }
        None if redacted => {
            bail!("the source database's password is not in the plan: `export PGPASSWORD=…` before running ferry")
        }
        _ => {}
    }
    Ok(url.to_string())
}

/// The journal of the plan.
pub fn open_journal(plan: &Plan, plan_file: &Path) -> anyhow::Result<Journal> {
    let path = plan.journal_path(plan_file);
    Ok(Journal::open(&path)?)
}

/// The stage file: beside the journal, same name, `.stage` extension.
pub fn stage_path(plan: &Plan, plan_file: &Path) -> PathBuf {
    plan.journal_path(plan_file).with_extension("stage")
}

/// The journal meta key saying the stage holds the whole source.
const STAGED: &str = "staged";

/// Reads the whole source into the stage, unless an earlier run did (the journal says so). Problems met while
/// reading go to the journal. Prints progress on a terminal.
pub async fn stage_source(spec: &SourceSpec, journal: &Journal, path: &Path) -> anyhow::Result<Stage> {
    if journal.meta(STAGED)?.is_some() && path.exists() {
        return Ok(Stage::open(path)?);
    }
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("cannot remove the incomplete stage {}", path.display()))?;
    }
    let mut stage = Stage::open(path)?;
    let bar = indicatif::ProgressBar::new_spinner().with_message(format!("reading {}", spec.display_name()));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {human_pos} records ({per_sec}) {elapsed}")
            .expect("a valid progress template"),
    );
    let mut failure: Option<anyhow::Error> = None;
    // Problems are kept aside while reading (the journal is not shared with the reading task) and journalled after.
    let mut problems = Vec::new();
    let extraction = ferry_atomic::extract(spec, &mut |item| {
        let r = match item {
            ferry_atomic::Item::Record(r) => {
                bar.inc(1);
                stage.push(r).map_err(|e| e.to_string())
            }
            ferry_atomic::Item::Problem(p) => {
                problems.push(p);
                Ok(())
            }
        };
        r.map_err(|e| {
            let err = ferry_atomic::AtomicError::Sink(e.clone());
            failure.get_or_insert_with(|| anyhow::anyhow!(e));
            err
        })
    })
    .await;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e.context("cannot stage the source"));
    }
    let extraction = extraction.with_context(|| format!("cannot read {}", spec.display_name()))?;
    stage.flush()?;
    for p in &problems {
        journal.add_problem(p)?;
    }
    journal.set_meta(STAGED, &extraction.total_records().to_string())?;
    Ok(stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_password_comes_from_the_environment() {
        let url = with_password("postgres://ada:***@db.example:5432/crm", Some("s3cr:t")).unwrap();
        assert_eq!(url, "postgres://ada:s3cr%3At@db.example:5432/crm");
    }

    #[test]
    fn a_redacted_password_without_pgpassword_says_what_to_set() {
        let err = with_password("postgres://ada:***@db.example/crm", None).unwrap_err().to_string();
        assert!(err.contains("export PGPASSWORD"), "{err}");
    }

    #[test]
    fn a_url_without_password_is_left_alone_when_none_is_given() {
        assert_eq!(with_password("postgres://ada@db.example/crm", None).unwrap(), "postgres://ada@db.example/crm");
    }
}
