//! `verify`: every written record read back and compared with what the plan makes of the staged source.

use std::collections::HashMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{OWNERS, Owners, PAGE, RunError, keys_of, make, ws};
use crate::ids::destination_id;
use crate::journal::{Journal, JournalError, ObjectCounts, RowState};
use crate::plan::Plan;
use crate::report::{Mismatch, ObjectReport, ProblemTally, Report, ReportFiles, ThroughputPoint};
use crate::schema::FieldKind;
use crate::stage::Stage;
use crate::transform::Transform;
use crate::verify::{Check, compare_record};
use crate::workspace::Workspace;

/// The field name under which a record missing from the destination is reported.
pub const MISSING: &str = "(record)";

/// Reads back every record the journal says was written and compares it field by field with the plan's
/// transforms of the staged source; relations must hold the destination id the journal has for their target.
/// Counts per object (source, written, rejected, skipped, verified, mismatched) with the journal's problems, the
/// plan's lossy transforms and what does not migrate make the [`Report`]; [`Report::ok`] says whether all is well.
pub async fn verify<W: Workspace>(
    plan: &Plan,
    stage: &mut Stage,
    journal: &Journal,
    workspace: &W,
) -> Result<Report, RunError> {
    let model = workspace.model().await.map_err(ws("reading the destination's data model"))?;
    let kinds: HashMap<(&str, &str), FieldKind> =
        model.iter().flat_map(|o| o.fields.iter().map(move |f| ((o.name.as_str(), f.name.as_str()), f.kind))).collect();
    let mut owners = if plan.users.is_some() {
        let members = workspace.members().await.map_err(ws("reading the destination's members"))?;
        Owners::resolve(plan, stage, &members)?
    } else {
        Owners::default()
    };
    if let Some(policy) = journal.meta(OWNERS)?
        && let Some(id) = policy.strip_prefix("fallback ")
    {
        owners.fallback = Some(id.to_string());
    }
    let counts: HashMap<String, ObjectCounts> = journal.counts()?.into_iter().map(|c| (c.object.clone(), c)).collect();
    let mut report = Report {
        title: "Migration report".into(),
        source: plan.source.location.clone(),
        destination: plan.destination.location.clone(),
        lossy: plan.lossy.clone(),
        not_migrated: plan.not_migrated.clone(),
        throughput: journal
            .throughput()?
            .into_iter()
            .map(|(at_ms, object, records)| ThroughputPoint { at_ms, object, records })
            .collect(),
        ..Report::default()
    };
    let mut tally = ProblemTally::default();
    journal.for_each_problem(|p| {
        tally.add(p);
        Ok::<_, JournalError>(())
    })?;
    tally.fill(&mut report);
    let new_report = |object: &str, destination: &str, source: u64| {
        let c = counts.get(object).cloned().unwrap_or_default();
        ObjectReport {
            object: object.to_string(),
            destination: destination.to_string(),
            source,
            written: c.written,
            rejected: c.rejected,
            skipped: c.skipped,
            ..ObjectReport::default()
        }
    };

    for o in plan.objects.iter().filter(|o| !o.skip) {
        let mut checks: Vec<Check<'_>> = o
            .fields
            .iter()
            .map(|f| Check {
                field: &f.destination,
                kind: kinds
                    .get(&(o.destination.as_str(), f.destination.as_str()))
                    .copied()
                    .unwrap_or_else(|| kind_of(&f.transform)),
            })
            .collect();
        let relations: Vec<&str> = o.relations.iter().map(|r| r.destination.as_str()).collect();
        checks.extend(relations.iter().map(|r| Check { field: r, kind: FieldKind::Uuid }));
        let mut rep = new_report(&o.source, &o.destination, stage.count(&o.source)?);
        let mut reader = Reader::new(workspace, &o.destination, &checks, &relations);
        let mut pages = Stage::pages(&o.source, PAGE);
        while let Some(page) = pages.next(stage)? {
            for r in page {
                let Some(id) = written_id(journal, &o.source, &r.key)? else { continue };
                let made = make(o, &r, workspace, &owners, &[]);
                let mut expected = made.neutral;
                for (field, member) in made.owners {
                    if let Some(m) = member {
                        expected.insert(field, Value::String(m));
                    }
                }
                for rf in &made.refs {
                    if let Some(dest) = written_id(journal, &rf.object, &rf.key)? {
                        expected.insert(rf.field.clone(), Value::String(dest.to_string()));
                    }
                }
                reader.push(r.key, id, expected, &mut rep, &mut report.mismatches).await?;
            }
        }
        reader.flush(&mut rep, &mut report.mismatches).await?;
        report.objects.push(rep);
    }

    for o in plan.objects.iter().filter(|o| !o.skip) {
        for l in &o.links {
            let name = format!("{}.{}", o.source, l.source);
            let fields = [l.parent.as_str(), l.field.as_str()];
            let checks = fields.map(|f| Check { field: f, kind: FieldKind::Uuid });
            let mut rep = new_report(&name, &l.destination, 0);
            let mut reader = Reader::new(workspace, &l.destination, &checks, &fields);
            let mut pages = Stage::pages(&o.source, PAGE);
            while let Some(page) = pages.next(stage)? {
                for r in page {
                    for k in keys_of(r.get(&l.source)) {
                        rep.source += 1;
                        let key = format!("{}>{k}", r.key);
                        let Some(id) = written_id(journal, &name, &key)? else { continue };
                        let mut expected = Map::new();
                        if let Some(p) = written_id(journal, &o.source, &r.key)? {
                            expected.insert(l.parent.clone(), Value::String(p.to_string()));
                        }
                        if let Some(t) = written_id(journal, &l.target, &k)? {
                            expected.insert(l.field.clone(), Value::String(t.to_string()));
                        }
                        reader.push(key, id, expected, &mut rep, &mut report.mismatches).await?;
                    }
                }
            }
            reader.flush(&mut rep, &mut report.mismatches).await?;
            report.objects.push(rep);
        }
    }

    for o in plan.objects.iter().filter(|o| !o.skip) {
        for a in &o.attachments {
            let name = format!("{}.{}", o.source, a.source);
            let dest = workspace.attachment_object().map(str::to_string);
            let mut rep = new_report(&name, dest.as_deref().unwrap_or("attachment"), 0);
            // Attachments are checked for being there; their content is the file's.
            let mut reader = dest.as_deref().map(|d| Reader::new(workspace, d, &[], &[]));
            let mut pages = Stage::pages(&o.source, PAGE);
            while let Some(page) = pages.next(stage)? {
                for r in page {
                    let n = match r.get(&a.source) {
                        Value::Array(items) => items.iter().filter(|v| !v.is_null()).count(),
                        Value::Null => 0,
                        Value::String(s) if s.trim().is_empty() => 0,
                        _ => 1,
                    };
                    for i in 0..n {
                        rep.source += 1;
                        let key = format!("{}/{i}", r.key);
                        let Some(id) = written_id(journal, &name, &key)? else { continue };
                        if let Some(reader) = reader.as_mut() {
                            reader.push(key, id, Map::new(), &mut rep, &mut report.mismatches).await?;
                        }
                    }
                }
            }
            if let Some(reader) = reader.as_mut() {
                reader.flush(&mut rep, &mut report.mismatches).await?;
            }
            report.objects.push(rep);
        }
    }
    Ok(report)
}

/// Writes `report` into `dir` (see [`Report::write`]) with every problem of the journal, each once, in
/// `problems.csv`, read from the journal one at a time.
pub fn write_report(report: &Report, journal: &Journal, dir: &std::path::Path) -> std::io::Result<ReportFiles> {
    report.write(dir, |csv| journal.for_each_problem(|p| csv.write(&p)))
}

/// The destination id of a written row, parsed.
fn written_id(journal: &Journal, object: &str, key: &str) -> Result<Option<Uuid>, RunError> {
    Ok(match journal.state(object, key)? {
        Some((RowState::Written, d)) => {
            Some(Uuid::parse_str(&d).unwrap_or_else(|_| destination_id(journal.migration_id(), object, key)))
        }
        _ => None,
    })
}

/// The kind a transform produces, for fields the destination's model does not describe.
fn kind_of(t: &Transform) -> FieldKind {
    match t {
        Transform::Copy => FieldKind::RawJson,
        Transform::Text => FieldKind::Text,
        Transform::Number => FieldKind::Number,
        Transform::Boolean => FieldKind::Boolean,
        Transform::Date => FieldKind::Date,
        Transform::DateTime => FieldKind::DateTime,
        Transform::Select { .. } => FieldKind::Select,
        Transform::MultiSelect { .. } => FieldKind::MultiSelect,
        Transform::Currency { .. } => FieldKind::Currency,
        Transform::Emails => FieldKind::Emails,
        Transform::Phones => FieldKind::Phones,
        Transform::Links => FieldKind::Links,
        Transform::FullName => FieldKind::FullName,
        Transform::Address => FieldKind::Address,
        Transform::RichText => FieldKind::RichText,
        Transform::AddressParts { .. } => FieldKind::Address,
        Transform::Presence { .. } => FieldKind::Select,
        Transform::FirstLine => FieldKind::Text,
    }
}

/// Reads written records back in batches at the destination's cap and compares them.
struct Reader<'a, W> {
    workspace: &'a W,
    object: &'a str,
    checks: &'a [Check<'a>],
    /// Fields holding ids (compared without case).
    ids: &'a [&'a str],
    batch: Vec<(String, Uuid, Map<String, Value>)>,
}

impl<'a, W: Workspace> Reader<'a, W> {
    fn new(workspace: &'a W, object: &'a str, checks: &'a [Check<'a>], ids: &'a [&'a str]) -> Self {
        Reader { workspace, object, checks, ids, batch: Vec::new() }
    }

    async fn push(
        &mut self,
        key: String,
        id: Uuid,
        expected: Map<String, Value>,
        rep: &mut ObjectReport,
        mismatches: &mut Vec<Mismatch>,
    ) -> Result<(), RunError> {
        self.batch.push((key, id, expected));
        if self.batch.len() >= self.workspace.batch_cap(self.object).max(1) {
            self.flush(rep, mismatches).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, rep: &mut ObjectReport, mismatches: &mut Vec<Mismatch>) -> Result<(), RunError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let ids: Vec<Uuid> = batch.iter().map(|(_, id, _)| *id).collect();
        let read = self.workspace.read(self.object, &ids).await.map_err(ws(format!(
            "reading {} records of {} back",
            ids.len(),
            self.object
        )))?;
        let mut found: HashMap<Uuid, Map<String, Value>> = read.into_iter().collect();
        for (key, id, mut expected) in batch {
            let Some(mut got) = found.remove(&id) else {
                rep.mismatched += 1;
                mismatches.push(Mismatch {
                    object: rep.object.clone(),
                    record: key,
                    field: MISSING.into(),
                    expected: Value::String(id.to_string()),
                    found: Value::Null,
                });
                continue;
            };
            for f in self.ids {
                for side in [&mut expected, &mut got] {
                    if let Some(Value::String(s)) = side.get_mut(*f) {
                        *s = s.to_lowercase();
                    }
                }
            }
            let m = compare_record(&rep.object, &key, self.checks, &expected, &got);
            if m.is_empty() {
                rep.verified += 1;
            } else {
                rep.mismatched += 1;
                mismatches.extend(m);
            }
        }
        Ok(())
    }
}
