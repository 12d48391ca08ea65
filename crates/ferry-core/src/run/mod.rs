//! The migration run: [`apply`] the plan to a destination, [`verify`] what was written, [`rollback`] all of it.
//!
//! These functions speak only to the [`Workspace`] and [`FileSource`] traits, the [`Stage`] the source was read
//! into and the [`Journal`], so they serve any source and any destination.
//!
//! - **apply** resolves source users to destination members, makes the plan's data-model changes (each journalled
//!   before moving on), then loads every object in plan order through the [`crate::load::Loader`], then the join
//!   records of links, then attachments. Everything it writes is in the journal first, so running it again — after
//!   a crash or after success — writes nothing twice.
//! - **verify** reads every written record back and compares it, field by field, with what the plan's transforms
//!   make of the staged source; the result is a [`Report`].
//! - **rollback** deletes every record the journal says was written (attachments and links, then objects in
//!   reverse plan order), then undoes the data-model changes newest first. It marks its progress in the journal, so
//!   a crashed rollback is run again, and a second rollback does nothing.
//!
//! ## Data-model changes and crashes
//!
//! A change the destination made but the journal did not hear of (a crash between the two) would be left behind by
//! rollback, since on the next run `create_*` answers "already there". So before asking for a change, apply looks at
//! the destination's model: what is already there is noted as pre-existing and never undone; for what is missing it
//! notes an *intent* in the journal (`run:intent:` settings), then asks, then journals the change. On a re-run, a
//! `create_*` that answers "already there" for something with a pending intent was made by the crashed run: it is
//! journalled then, with an empty destination id (the destination's `undo` finds it by object and field name) and,
//! for options, the field's options as the model listed them before (`{"options": [...]}` in neutral form).
//!
//! ## Rollback and the journal
//!
//! Rollback forgets the rows it deleted (and the rejected and skipped ones), marks schema changes undone, and once
//! everything is undone clears the run's problems, throughput timeline and intents. The migration id stays, so an
//! `apply` after a rollback writes the same destination ids again, as a fresh run.

mod apply;
mod check;
mod rollback;

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::journal::JournalError;
use crate::load::{LoadError, Ref};
use crate::plan::{ObjectPlan, Plan};
use crate::problem::Problem;
use crate::schema::Record;
use crate::stage::{Stage, StageError};
use crate::workspace::{Member, Workspace, WorkspaceError};

pub use apply::{ApplySummary, ObjectSummary, apply};
pub use check::{MISSING, verify, write_report};
pub use rollback::{RollbackSummary, rollback};

#[allow(unused_imports)]
use crate::{journal::Journal, report::Report, workspace::FileSource};

/// The prefix of journal settings that describe a run (cleared by a complete rollback).
pub(crate) const RUN: &str = "run:";
/// The journal settings prefix of data-model intents (see the module documentation).
pub(crate) const INTENT: &str = "run:intent:";
/// The journal setting that keeps how owners were assigned (`fallback <member id>` or `unassigned`), for verify.
pub(crate) const OWNERS: &str = "run:owners";

/// Records read from the stage at a time.
pub(crate) const PAGE: usize = 1_000;

/// What to do with records owned by source users no destination member matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OwnerPolicy {
    /// Refuse to start while any record points at an unmatched user.
    #[default]
    Refuse,
    /// Give their records to this member (by e-mail; the member must exist).
    Fallback(String),
    /// Leave the relation out; every occurrence is a problem in the report.
    Unassigned,
}

/// How far one object got, for progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records handled so far (written, already there, rejected or skipped; deleted for rollback).
    pub done: u64,
    /// Written by this run (deleted, for rollback).
    pub written: u64,
    /// Found written by an earlier run.
    pub already: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// Progress of a run, object by object (the command line draws bars with it). Every method has a default that does
/// nothing.
pub trait Progress {
    /// Work on `object` starts; `total` records are expected.
    fn start(&mut self, object: &str, total: u64) {
        let _ = (object, total);
    }
    /// After every batch: the totals of `object` so far.
    fn advance(&mut self, object: &str, tally: &Tally) {
        let _ = (object, tally);
    }
    /// Work on `object` is done.
    fn finish(&mut self, object: &str, tally: &Tally) {
        let _ = (object, tally);
    }
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// How `apply` runs.
#[derive(Default)]
pub struct ApplyOptions<'a> {
    /// Load only this many records per object, plus every record they point at (so relations hold). A later run
    /// without it continues without duplicates.
    pub sample: Option<u64>,
    /// What to do about records owned by unmatched users.
    pub owners: OwnerPolicy,
    /// Where progress goes (nowhere when `None`).
    pub progress: Option<&'a mut dyn Progress>,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{what}: {source}")]
    Workspace { what: String, source: WorkspaceError },
    #[error(
        "{} source user(s) own records but match no destination member: {}. Add them to the workspace, set their \
         `destination` in the plan's [[members]], or run again with `--fallback-owner EMAIL` (give their records to \
         that member) or `--allow-unassigned` (leave those owners empty, each one listed in the report)",
        users.len(),
        users.join(", ")
    )]
    UnmatchedMembers { users: Vec<String> },
    #[error(
        "the fallback owner {email} is not a member of the destination workspace (members: {known}); invite them or \
         name another member with `--fallback-owner`"
    )]
    FallbackMissing { email: String, known: String },
    #[error("{object} #{record}: the destination cannot take more writes: {message}")]
    Fatal { object: String, record: String, message: String },
    #[error("{0}")]
    Plan(String),
}

pub(crate) fn ws(what: impl Into<String>) -> impl FnOnce(WorkspaceError) -> RunError {
    let what = what.into();
    move |source| RunError::Workspace { what, source }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A source key as text (keys are strings or numbers in the source's JSON).
pub(crate) fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(key_text),
        other => Some(other.to_string()),
    }
}

/// Every key a field holds: one, or each of an array.
pub(crate) fn keys_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(key_text).collect(),
        other => key_text(other).into_iter().collect(),
    }
}

/// Source users resolved to destination members.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    /// The users object, when the plan has one.
    pub object: Option<String>,
    /// User key → member id; `None` for a user no member matches (value: the user's e-mail, for the report).
    pub by_key: HashMap<String, Result<String, String>>,
    /// Member id given to unmatched users' records.
    pub fallback: Option<String>,
}

impl Owners {
    /// Reads the staged users and matches them to `members` through the plan's member list (a user the list does
    /// not name is matched by the same e-mail).
    pub fn resolve(plan: &Plan, stage: &mut Stage, members: &[Member]) -> Result<Owners, RunError> {
        let Some(users) = &plan.users else { return Ok(Owners::default()) };
        let by_email: HashMap<String, &Member> = members.iter().map(|m| (m.email.to_lowercase(), m)).collect();
        let chosen: HashMap<String, Option<String>> =
            plan.members.iter().map(|m| (m.source.to_lowercase(), m.destination.clone())).collect();
        let mut by_key = HashMap::new();
        let mut pages = Stage::pages(&users.object, PAGE);
        while let Some(page) = pages.next(stage)? {
            for r in page {
                let email = key_text(r.get(&users.email)).unwrap_or_default();
                let target = match chosen.get(&email.to_lowercase()) {
                    Some(Some(dest)) => Some(dest.to_lowercase()),
                    Some(None) => None,
                    None => Some(email.to_lowercase()),
                };
                let member = target.and_then(|t| by_email.get(&t)).map(|m| m.id.clone());
                let shown = if email.is_empty() { format!("{} #{} (no e-mail)", users.object, r.key) } else { email };
                by_key.insert(r.key, member.ok_or(shown));
            }
        }
        Ok(Owners { object: Some(users.object.clone()), by_key, fallback: None })
    }

    pub fn is_users(&self, object: &str) -> bool {
        self.object.as_deref() == Some(object)
    }

    /// Whether some user has no member.
    pub fn any_unmatched(&self) -> bool {
        self.by_key.values().any(Result::is_err)
    }
}

/// One staged record made ready: neutral values (what verify expects back), encoded values (what is sent),
/// relations to resolve through the journal, and the problems met on the way.
pub(crate) struct Made {
    pub neutral: Map<String, Value>,
    pub encoded: Map<String, Value>,
    pub refs: Vec<Ref>,
    /// Relations to users, resolved to member ids (`None`: left out).
    pub owners: Vec<(String, Option<String>)>,
    /// `(field, comparable value)` for each unique destination field the record sets (see [`unique_value`]).
    pub unique: Vec<(String, String)>,
    pub problems: Vec<Problem>,
}

/// The value of a unique field as the destination compares it, from its neutral form: the `primary` of a
/// `{primary, additional}` composite, a string as it is, anything else as its JSON text. Null and empty values
/// (an empty string, array or object, a composite without primary) take no slot: destinations let any number of
/// records leave a unique field empty.
pub(crate) fn unique_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if m.contains_key("primary") => unique_value(&m["primary"]),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(m) if m.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// Runs one staged record through the plan: every field's transform, the destination's encoding (fields it cannot
/// take are left out with a problem), relations to references, relations to users to member ids. `unique` names
/// the destination fields of the object that take each value once; the record's values of them are in
/// [`Made::unique`].
pub(crate) fn make<W: Workspace>(
    o: &ObjectPlan,
    record: &Record,
    workspace: &W,
    owners: &Owners,
    unique: &[String],
) -> Made {
    let mut problems = Vec::new();
    let mut neutral = Map::new();
    for f in &o.fields {
        let inputs: Vec<&Value> = f.source.iter().map(|s| record.get(s)).collect();
        let shown = || {
            let v = if f.source.len() == 1 {
                inputs[0].clone()
            } else {
                Value::Array(inputs.iter().map(|v| (*v).clone()).collect())
            };
            match v {
                Value::String(s) => s,
                other => other.to_string(),
            }
        };
        match f.transform.apply(&inputs) {
            Ok(t) => {
                for lost in t.lost {
                    problems.push(
                        Problem::new(&o.source, lost)
                            .record(&record.key)
                            .field(f.source.join("+"))
                            .value(shown())
                            .hint(format!("the rest of the value is migrated to {}.{}", o.destination, f.destination)),
                    );
                }
                if let Some(v) = t.value {
                    neutral.insert(f.destination.clone(), v);
                }
            }
            Err(e) => problems.push(
                Problem::new(&o.source, format!("not migrated to {}.{}: {}", o.destination, f.destination, e.message))
                    .record(&record.key)
                    .field(f.source.join("+"))
                    .value(shown())
                    .hint(e.hint),
            ),
        }
    }
    let encoded = loop {
        match workspace.encode(&o.destination, &neutral) {
            Ok(encoded) => break encoded,
            Err(errors) => {
                let before = neutral.len();
                for e in errors {
                    let value = neutral.remove(&e.field).map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    });
                    let mut p = Problem::new(&o.source, format!("{}.{}: {}", o.destination, e.field, e.message))
                        .record(&record.key)
                        .field(&e.field)
                        .hint("the record is migrated without this field; fix the value or the plan's transform");
                    if let Some(v) = value {
                        p = p.value(v);
                    }
                    problems.push(p);
                }
                if neutral.len() == before {
                    // The destination names no field it could leave out: send nothing rather than loop.
                    neutral.clear();
                }
            }
        }
    };
    // From what is sent: a field the destination could not encode was left out above.
    let unique = unique.iter().filter_map(|f| Some((f.clone(), unique_value(neutral.get(f)?)?))).collect();
    let mut refs = Vec::new();
    let mut owner_values = Vec::new();
    for r in &o.relations {
        let Some(key) = key_text(record.get(&r.source)) else { continue };
        if owners.is_users(&r.target) {
            let member = match owners.by_key.get(&key) {
                Some(Ok(id)) => Some(id.clone()),
                Some(Err(email)) => match &owners.fallback {
                    Some(id) => Some(id.clone()),
                    None => {
                        problems.push(
                            Problem::new(&o.source, format!("user {email} matches no destination member"))
                                .record(&record.key)
                                .field(&r.source)
                                .value(&key)
                                .hint(format!(
                                    "{}.{} is left empty (--allow-unassigned); assign it in the destination",
                                    o.destination, r.destination
                                )),
                        );
                        None
                    }
                },
                None => {
                    problems.push(
                        Problem::new(&o.source, format!("the user #{key} it points at is not in the source"))
                            .record(&record.key)
                            .field(&r.source)
                            .value(&key)
                            .hint(format!("{}.{} is left empty", o.destination, r.destination)),
                    );
                    None
                }
            };
            owner_values.push((r.destination.clone(), member));
        } else {
            refs.push(Ref { field: r.destination.clone(), object: r.target.clone(), key, required: r.required });
        }
    }
    Made { neutral, encoded, refs, owners: owner_values, unique, problems }
}

/// Which records a `--sample N` run loads: the first N of every object, plus every record they point at
/// (relations and link targets), transitively. By source object.
pub(crate) fn sample_keys(
    plan: &Plan,
    stage: &mut Stage,
    owners: &Owners,
    n: u64,
) -> Result<HashMap<String, HashSet<String>>, RunError> {
    let planned: HashSet<&str> = plan.objects.iter().filter(|o| !o.skip).map(|o| o.source.as_str()).collect();
    let by_name: HashMap<&str, &ObjectPlan> = plan.objects.iter().map(|o| (o.source.as_str(), o)).collect();
    let mut chosen: HashMap<String, HashSet<String>> = HashMap::new();
    let mut todo: Vec<Record> = Vec::new();
    for o in plan.objects.iter().filter(|o| !o.skip) {
        let first = stage.page(&o.source, 0, n as usize)?;
        for (_, r) in first {
            chosen.entry(o.source.clone()).or_default().insert(r.key.clone());
            todo.push(r);
        }
    }
    while let Some(r) = todo.pop() {
        let Some(o) = by_name.get(r.object.as_str()) else { continue };
        let mut targets: Vec<(String, String)> = Vec::new();
        for rel in &o.relations {
            if owners.is_users(&rel.target) {
                continue;
            }
            if let Some(k) = key_text(r.get(&rel.source)) {
                targets.push((rel.target.clone(), k));
            }
        }
        for l in &o.links {
            for k in keys_of(r.get(&l.source)) {
                targets.push((l.target.clone(), k));
            }
        }
        for (target, key) in targets {
            if !planned.contains(target.as_str()) {
                continue;
            }
            if chosen.entry(target.clone()).or_default().insert(key.clone())
                && let Some(parent) = stage.get(&target, &key)?
            {
                todo.push(parent);
            }
        }
    }
    Ok(chosen)
}
