//! `apply`: members, data model, records, links, attachments — each write journalled ahead.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures::StreamExt;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    ApplyOptions, INTENT, NoProgress, OWNERS, OwnerPolicy, Owners, PAGE, Progress, RunError, Tally, key_text, keys_of,
    make, now_ms, sample_keys, ws,
};
use crate::ids::destination_id;
use crate::journal::{Journal, JournalError, RowState, SchemaChangeKind};
use crate::load::{LoadStats, Loader, ObjectLoad, Prepared, Ref, WriteError};
use crate::plan::{ObjectPlan, Plan};
use crate::problem::Problem;
use crate::stage::Stage;
use crate::workspace::{Change, FileSource, Workspace, WorkspaceError};

/// Files fetched from the source at once while attaching.
const FETCH_CONCURRENCY: usize = 4;

/// How many times an attachment whose outcome is unknown is attached again (harmless: the id is fixed).
const ATTACH_ATTEMPTS: u32 = 8;

/// What loading one object (or the links or attachments of one source field) did in this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The journal's name for it: the source object, or `{source object}.{field}` for links and attachments.
    pub object: String,
    pub destination: String,
    pub written: u64,
    /// Found written by an earlier run.
    pub already: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Write calls made.
    pub calls: u64,
}

/// What one `apply` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Data-model changes made (and journalled) by this run.
    pub schema_changes: u64,
    /// Objects, then links, then attachments, in the order they were loaded.
    pub objects: Vec<ObjectSummary>,
    /// Problems in the journal after the run (this run's and earlier runs').
    pub problems: u64,
    /// Whether only a sample was loaded.
    pub sample: bool,
}

impl ApplySummary {
    /// Records written by this run, all objects together.
    pub fn written(&self) -> u64 {
        self.objects.iter().map(|o| o.written).sum()
    }
}

fn tally(s: &LoadStats) -> Tally {
    Tally {
        done: s.written + s.already + s.rejected + s.skipped,
        written: s.written,
        already: s.already,
        rejected: s.rejected,
        skipped: s.skipped,
    }
}

fn summary(object: &str, destination: &str, s: &LoadStats) -> ObjectSummary {
    ObjectSummary {
        object: object.to_string(),
        destination: destination.to_string(),
        written: s.written,
        already: s.already,
        rejected: s.rejected,
        skipped: s.skipped,
        calls: s.calls,
    }
}

/// Applies `plan`: resolves owners, makes the data-model changes, loads every object of the stage in plan order,
/// then the links' join records, then attachments. See the [module documentation](super) for what makes it safe to
/// run again.
pub async fn apply<W: Workspace, F: FileSource>(
    plan: &Plan,
    stage: &mut Stage,
    journal: &mut Journal,
    workspace: &W,
    files: &F,
    options: ApplyOptions<'_>,
) -> Result<ApplySummary, RunError> {
    let mut quiet = NoProgress;
    let progress: &mut dyn Progress = match options.progress {
        Some(p) => p,
        None => &mut quiet,
    };
    let owners = resolve_owners(plan, stage, workspace, &options.owners).await?;
    // Verify must expect what this run gives unmatched users' records.
    let policy = match (&options.owners, &owners.fallback) {
        (OwnerPolicy::Fallback(_), Some(id)) => format!("fallback {id}"),
        (OwnerPolicy::Unassigned, _) => "unassigned".to_string(),
        _ => "refuse".to_string(),
    };
    journal.set_meta(OWNERS, &policy)?;
    let schema_changes = apply_data_model(plan, journal, workspace).await?;
    // After the data-model step, so fields this run created are in it.
    let model = workspace.model().await.map_err(ws("reading the destination's data model"))?;
    let unique_fields = |object: &str| -> Vec<String> {
        let def = model.iter().find(|d| d.name == object);
        def.map(|d| d.fields.iter().filter(|f| f.unique && f.name != "id").map(|f| f.name.clone()).collect())
            .unwrap_or_default()
    };
    let sample = match options.sample {
        Some(n) => Some(sample_keys(plan, stage, &owners, n)?),
        None => None,
    };
    let chosen =
        |object: &str, key: &str| sample.as_ref().is_none_or(|s| s.get(object).is_some_and(|k| k.contains(key)));
    // A second connection to the journal for problems and throughput: the loader holds the first one.
    let side = Journal::open(journal.path())?;
    let mut out = ApplySummary { schema_changes, sample: sample.is_some(), ..ApplySummary::default() };

    for o in plan.objects.iter().filter(|o| !o.skip) {
        let total = match &sample {
            Some(s) => s.get(&o.source).map_or(0, |k| k.len() as u64),
            None => stage.count(&o.source)?,
        };
        progress.start(&o.source, total);
        let load = ObjectLoad { source: o.source.clone(), destination: o.destination.clone() };
        let unique = unique_fields(&o.destination);
        let stats = load_object(
            journal,
            workspace,
            &side,
            &mut *progress,
            load,
            stage,
            &o.source,
            |page, problems, prepared| {
                for r in page {
                    if !chosen(&o.source, &r.key) {
                        continue;
                    }
                    let made = make(o, &r, workspace, &owners, &unique);
                    problems.extend(made.problems);
                    let mut values = made.encoded;
                    for (field, member) in made.owners {
                        if let Some(id) = member {
                            values.insert(field, Value::String(id));
                        }
                    }
                    prepared.push(Prepared { key: r.key, values, refs: made.refs, unique: made.unique });
                }
            },
        )
        .await?;
        progress.finish(&o.source, &tally(&stats));
        out.objects.push(summary(&o.source, &o.destination, &stats));
    }

    for o in plan.objects.iter().filter(|o| !o.skip) {
        for l in &o.links {
            let name = format!("{}.{}", o.source, l.source);
            progress.start(&name, 0);
            let load = ObjectLoad { source: name.clone(), destination: l.destination.clone() };
            let stats =
                load_object(journal, workspace, &side, &mut *progress, load, stage, &o.source, |page, _, prepared| {
                    for r in page {
                        if !chosen(&o.source, &r.key) {
                            continue;
                        }
                        for k in keys_of(r.get(&l.source)) {
                            let parent = Ref {
                                field: l.parent.clone(),
                                object: o.source.clone(),
                                key: r.key.clone(),
                                required: true,
                            };
                            let target = Ref {
                                field: l.field.clone(),
                                object: l.target.clone(),
                                key: k.clone(),
                                required: true,
                            };
                            prepared.push(Prepared {
                                key: format!("{}>{k}", r.key),
                                values: Map::new(),
                                refs: vec![parent, target],
                                unique: Vec::new(),
                            });
                        }
                    }
                })
                .await?;
            progress.finish(&name, &tally(&stats));
            out.objects.push(summary(&name, &l.destination, &stats));
        }
    }

    for o in plan.objects.iter().filter(|o| !o.skip) {
        for a in &o.attachments {
            let s = attach_field(journal, workspace, files, &mut *progress, stage, o, &a.source, &chosen).await?;
            out.objects.push(s);
        }
    }
    out.problems = side.problem_count()?;
    Ok(out)
}

/// Streams one object's staged records through `fill` (which turns a page of records into prepared ones and
/// problems) into a loader. Problems are journalled before the page's records are pushed, so none is lost to a
/// crash.
#[allow(clippy::too_many_arguments)]
async fn load_object<W: Workspace>(
    journal: &mut Journal,
    workspace: &W,
    side: &Journal,
    progress: &mut dyn Progress,
    load: ObjectLoad,
    stage: &mut Stage,
    staged: &str,
    mut fill: impl FnMut(Vec<crate::schema::Record>, &mut Vec<Problem>, &mut Vec<Prepared>),
) -> Result<LoadStats, RunError> {
    // Throughput is journalled at most once a second (each point is a durable write of its own).
    let name = load.source.clone();
    let mut last_written = 0;
    let mut unrecorded = 0;
    let mut recorded_at = now_ms();
    let mut throughput_error: Option<JournalError> = None;
    let mut on_progress = |l: &ObjectLoad, s: &LoadStats| {
        progress.advance(&l.source, &tally(s));
        unrecorded += s.written.saturating_sub(last_written);
        last_written = s.written;
        let now = now_ms();
        if unrecorded > 0 && now - recorded_at >= 1_000 {
            if let Err(e) = side.record_throughput(now, &l.source, unrecorded) {
                throughput_error.get_or_insert(e);
            }
            unrecorded = 0;
            recorded_at = now;
        }
    };
    let mut loader = Loader::new(journal, workspace, load).await?.on_progress(&mut on_progress);
    let mut pages = Stage::pages(staged, PAGE);
    while let Some(page) = pages.next(stage)? {
        let mut problems = Vec::new();
        let mut prepared = Vec::new();
        fill(page, &mut problems, &mut prepared);
        side.add_problems_once(&problems)?;
        loader.prefetch(&prepared)?;
        for p in prepared {
            loader.push(p).await?;
        }
    }
    let stats = loader.finish().await?;
    if let Some(e) = throughput_error {
        return Err(e.into());
    }
    if unrecorded > 0 {
        side.record_throughput(now_ms(), &name, unrecorded)?;
    }
    Ok(stats)
}

/// Step 1: source users → destination members, and the owner policy applied.
async fn resolve_owners<W: Workspace>(
    plan: &Plan,
    stage: &mut Stage,
    workspace: &W,
    policy: &OwnerPolicy,
) -> Result<Owners, RunError> {
    if plan.users.is_none() && !matches!(policy, OwnerPolicy::Fallback(_)) {
        return Ok(Owners::default());
    }
    let members = workspace.members().await.map_err(ws("reading the destination's members"))?;
    let mut owners = Owners::resolve(plan, stage, &members)?;
    match policy {
        OwnerPolicy::Fallback(email) => {
            let Some(m) = members.iter().find(|m| m.email.eq_ignore_ascii_case(email.trim())) else {
                let known = members.iter().map(|m| m.email.as_str()).collect::<Vec<_>>().join(", ");
                return Err(RunError::FallbackMissing { email: email.clone(), known });
            };
            owners.fallback = Some(m.id.clone());
        }
        OwnerPolicy::Unassigned => {}
        OwnerPolicy::Refuse if owners.any_unmatched() => {
            let unmatched = referenced_unmatched(plan, stage, &owners)?;
            if !unmatched.is_empty() {
                return Err(RunError::UnmatchedMembers { users: unmatched });
            }
        }
        OwnerPolicy::Refuse => {}
    }
    Ok(owners)
}

/// The e-mails of unmatched users some record points at, sorted.
fn referenced_unmatched(plan: &Plan, stage: &mut Stage, owners: &Owners) -> Result<Vec<String>, RunError> {
    let mut found = HashSet::new();
    for o in plan.objects.iter().filter(|o| !o.skip) {
        let fields: Vec<&str> =
            o.relations.iter().filter(|r| owners.is_users(&r.target)).map(|r| r.source.as_str()).collect();
        if fields.is_empty() {
            continue;
        }
        let mut pages = Stage::pages(&o.source, PAGE);
        while let Some(page) = pages.next(stage)? {
            for r in page {
                for f in &fields {
                    if let Some(k) = key_text(r.get(f))
                        && let Some(Err(email)) = owners.by_key.get(&k)
                    {
                        found.insert(email.clone());
                    }
                }
            }
        }
    }
    let mut out: Vec<String> = found.into_iter().collect();
    out.sort();
    Ok(out)
}

/// Step 2: every object, field and option set of the plan, created unless there; each change journalled before
/// the next is asked for. Returns how many changes were journalled.
async fn apply_data_model<W: Workspace>(plan: &Plan, journal: &Journal, workspace: &W) -> Result<u64, RunError> {
    let c = &plan.create;
    if c.objects.is_empty() && c.fields.is_empty() && c.options.is_empty() {
        return Ok(0);
    }
    let model = workspace.model().await.map_err(ws("reading the destination's data model"))?;
    let find = |object: &str| model.iter().find(|d| d.name == object);
    let mut n = 0;
    for o in &c.objects {
        let intent = Intent {
            key: format!("{INTENT}object:{}", o.name),
            existed: find(&o.name).is_some(),
            kind: SchemaChangeKind::ObjectCreated,
            object: o.name.clone(),
            field: None,
            before: None,
        };
        n += intent.run(journal, workspace.create_object(o), &format!("creating object {}", o.name)).await?;
    }
    for f in &c.fields {
        let intent = Intent {
            key: format!("{INTENT}field:{}.{}", f.object, f.name),
            existed: find(&f.object).is_some_and(|d| d.field(&f.name).is_some()),
            kind: SchemaChangeKind::FieldCreated,
            object: f.object.clone(),
            field: Some(f.name.clone()),
            before: None,
        };
        n += intent.run(journal, workspace.create_field(f), &format!("creating field {}.{}", f.object, f.name)).await?;
    }
    for add in &c.options {
        let field = find(&add.object).and_then(|d| d.field(&add.field));
        let have: HashSet<&str> =
            field.map(|f| f.options.iter().map(|o| o.value.as_str()).collect()).unwrap_or_default();
        let intent = Intent {
            key: format!("{INTENT}options:{}.{}", add.object, add.field),
            existed: add.options.iter().all(|o| have.contains(o.value.as_str())),
            kind: SchemaChangeKind::FieldUpdated,
            object: add.object.clone(),
            field: Some(add.field.clone()),
            before: Some(json!({ "options": field.map(|f| f.options.clone()).unwrap_or_default() })),
        };
        let what = format!("adding options to {}.{}", add.object, add.field);
        n += intent.run(journal, workspace.add_options(add), &what).await?;
    }
    Ok(n)
}

/// A data-model change about to be asked for, noted in the journal first (see the module documentation).
struct Intent {
    key: String,
    existed: bool,
    kind: SchemaChangeKind,
    object: String,
    field: Option<String>,
    before: Option<Value>,
}

const PENDING: &str = "pending";

impl Intent {
    async fn run(
        self,
        journal: &Journal,
        call: impl Future<Output = Result<Option<Change>, WorkspaceError>>,
        what: &str,
    ) -> Result<u64, RunError> {
        let noted = journal.meta(&self.key)?;
        if noted.is_none() {
            let note = match (&self.existed, &self.before) {
                (true, _) => "preexisting".to_string(),
                (false, Some(before)) => format!("{PENDING} {before}"),
                (false, None) => PENDING.to_string(),
            };
            journal.set_meta(&self.key, &note)?;
        }
        let change = call.await.map_err(ws(what))?;
        match change {
            Some(c) => {
                journal.record_schema_change(c.kind, &c.object, c.field.as_deref(), &c.dest_id, c.before.as_ref())?;
            }
            None => match noted.as_deref() {
                // Made by a run that crashed before journalling it: journal it now, so rollback undoes it.
                Some(note) if note.starts_with(PENDING) => {
                    let before = note.strip_prefix(PENDING).map(str::trim).filter(|s| !s.is_empty());
                    let before = before.and_then(|s| serde_json::from_str::<Value>(s).ok());
                    journal.record_schema_change(
                        self.kind,
                        &self.object,
                        self.field.as_deref(),
                        "",
                        before.as_ref(),
                    )?;
                }
                // This run saw it missing, yet the destination has it (listed under another name, or made by
                // someone else meanwhile): it is not ours. Say so, or a later run would take it for a creation
                // lost in a crash, and rollback would delete it.
                None => {
                    journal.set_meta(&self.key, "preexisting")?;
                    return Ok(0);
                }
                _ => return Ok(0),
            },
        }
        journal.set_meta(&self.key, "done")?;
        Ok(1)
    }
}

/// Step 3, attachments of one source field: every file each loaded record holds, fetched and attached under a
/// fixed id, each journalled `sent` before and `written` after.
#[allow(clippy::too_many_arguments)]
async fn attach_field<W: Workspace, F: FileSource>(
    journal: &mut Journal,
    workspace: &W,
    files: &F,
    progress: &mut dyn Progress,
    stage: &mut Stage,
    o: &ObjectPlan,
    field: &str,
    chosen: &impl Fn(&str, &str) -> bool,
) -> Result<ObjectSummary, RunError> {
    let name = format!("{}.{field}", o.source);
    let dest = workspace.attachment_object().unwrap_or("attachment").to_string();
    let mut stats = LoadStats::default();
    progress.start(&name, 0);
    let migration = journal.migration_id();
    let mut parents: HashMap<String, Option<Uuid>> = HashMap::new();
    let mut pages = Stage::pages(&o.source, PAGE);
    while let Some(page) = pages.next(stage)? {
        let written_before = stats.written;
        // Files to fetch, in order; the fetches run a few at a time (a slow or unreachable file server must not
        // set the pace), while journal and destination see them one by one, in order.
        let mut wanted = Vec::new();
        for r in page {
            if !chosen(&o.source, &r.key) {
                continue;
            }
            let references: Vec<Value> = match r.get(field) {
                Value::Array(items) => items.iter().filter(|v| !v.is_null()).cloned().collect(),
                Value::Null => Vec::new(),
                Value::String(s) if s.trim().is_empty() => Vec::new(),
                other => vec![other.clone()],
            };
            for (i, reference) in references.into_iter().enumerate() {
                let key = format!("{}/{i}", r.key);
                let id = destination_id(migration, &name, &key);
                let id_text = id.to_string();
                match journal.state(&name, &key)? {
                    Some((RowState::Written, _)) => {
                        stats.already += 1;
                        continue;
                    }
                    Some((RowState::Rejected | RowState::Skipped, _)) => continue,
                    Some((RowState::Sent, _)) | None => {}
                }
                let parent = match parents.get(&r.key) {
                    Some(p) => *p,
                    None => {
                        let p = match journal.state(&o.source, &r.key)? {
                            Some((RowState::Written, d)) => Uuid::parse_str(&d).ok(),
                            _ => None,
                        };
                        parents.insert(r.key.clone(), p);
                        p
                    }
                };
                let problem = |message: String| {
                    Problem::new(&name, message).record(&key).field(field).value(match &reference {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                };
                let Some(parent) = parent else {
                    let p = problem(format!("the {} #{} it belongs to was not migrated", o.source, r.key))
                        .hint("migrate the record first (see its own problem), then run `apply` again");
                    journal.mark_skipped(&key, &id_text, &p)?;
                    stats.skipped += 1;
                    continue;
                };
                wanted.push((key, id, id_text, parent, reference));
            }
        }
        let mut fetched = futures::stream::iter(wanted)
            .map(|(key, id, id_text, parent, reference)| async move {
                let file = files.fetch(&reference).await;
                (key, id, id_text, parent, reference, file)
            })
            .buffered(FETCH_CONCURRENCY);
        while let Some((key, id, id_text, parent, reference, file)) = fetched.next().await {
            {
                let problem = |message: String| {
                    Problem::new(&name, message).record(&key).field(field).value(match &reference {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                };
                let file = match file {
                    Ok(f) => f,
                    Err(why) => {
                        let p = problem(format!("the file could not be read: {why}"))
                            .hint("attach it by hand, or make it reachable and run `rollback` then `apply`");
                        journal.mark_skipped(&key, &id_text, &p)?;
                        stats.skipped += 1;
                        continue;
                    }
                };
                journal.mark_sent(&name, &[(&key, &id_text)])?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    stats.calls += 1;
                    match workspace.attach(&o.destination, parent, id, &file).await {
                        Ok(()) => {
                            journal.mark_written(&name, &[(&key, &id_text)])?;
                            stats.written += 1;
                            break;
                        }
                        Err(WriteError::Refused { message, .. }) => {
                            let p = problem(format!("the destination refused the file {:?}: {message}", file.name))
                                .hint("attach it by hand");
                            journal.mark_rejected(&key, &id_text, &p)?;
                            stats.rejected += 1;
                            break;
                        }
                        Err(WriteError::Ambiguous(message)) if attempt >= ATTACH_ATTEMPTS => {
                            return Err(RunError::Fatal {
                                object: name,
                                record: key,
                                message: format!(
                                    "the outcome stayed unknown after {attempt} attempts ({message}); run `apply` again to continue"
                                ),
                            });
                        }
                        // Attaching again under the same id is harmless.
                        Err(WriteError::Ambiguous(_)) => {}
                        Err(WriteError::Fatal(message)) => {
                            return Err(RunError::Fatal { object: name, record: key, message });
                        }
                    }
                }
            }
        }
        if stats.written > written_before {
            journal.record_throughput(now_ms(), &name, stats.written - written_before)?;
        }
        progress.advance(&name, &tally(&stats));
    }
    progress.finish(&name, &tally(&stats));
    Ok(summary(&name, &dest, &stats))
}
