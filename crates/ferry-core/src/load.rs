//! Loading prepared records into a destination, exactly once.
//!
//! The loader is given, object by object in dependency order, records already transformed into the destination's
//! shape. For each record it decides the destination id up front ([`crate::ids::destination_id`]), writes the batch
//! to the journal as `sent`, sends it, and marks it `written` when the destination confirms. When the outcome of a
//! batch is unknown — a timeout, a dropped connection, a write committed whose answer was lost — it asks the
//! destination which of the batch's ids exist and sends only the others. A batch the destination refuses is split
//! until the refused records are found; each is journalled with the destination's reason and the run goes on.

use std::collections::HashSet;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ids::destination_id;
use crate::journal::{Journal, JournalError, RowState};
use crate::problem::Problem;

/// One record ready to be written: its source key, its values in the destination's shape, and the relations to
/// resolve to destination ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub key: String,
    pub values: Map<String, Value>,
    pub refs: Vec<Ref>,
}

/// A relation of a prepared record: destination field `field` must hold the destination id of the source record
/// `(object, key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub field: String,
    /// The source object of the record pointed at.
    pub object: String,
    pub key: String,
    /// Whether the record makes no sense without this relation (then it is skipped when the target is missing;
    /// otherwise only the relation is left out).
    pub required: bool,
}

/// One record as sent to the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub id: Uuid,
    pub key: String,
    pub values: Map<String, Value>,
}

/// Why a destination write failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The outcome is unknown: some or all of the records may have been written.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// The destination refused the write because of the data. For a batch, one bad record refuses the batch.
    #[error("refused: {message}")]
    Refused {
        message: String,
        #[doc = "The destination field the refusal names, when it names one."]
        field: Option<String>,
    },
    /// Nothing more can be written (authentication, destination gone…).
    #[error("{0}")]
    Fatal(String),
}

/// Where records go. Implemented by each destination crate (and by test fakes).
pub trait Destination {
    /// Most records one create call accepts for `object`.
    fn batch_cap(&self, object: &str) -> usize;
    /// Creates these records with exactly these ids, all or nothing.
    fn create(&self, object: &str, records: &[Outgoing]) -> impl Future<Output = Result<(), WriteError>>;
    /// Which of these ids exist in `object`.
    fn existing(&self, object: &str, ids: &[Uuid]) -> impl Future<Output = Result<HashSet<Uuid>, WriteError>>;
}

/// Which object is loaded: its name in the source (keys and relations refer to it) and in the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLoad {
    pub source: String,
    pub destination: String,
}

/// What loading one object did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Written by this run.
    pub written: u64,
    /// Found already written (by an earlier run, or by a batch whose answer was lost).
    pub already: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Create calls made.
    pub calls: u64,
}

/// Why loading stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{object}: the destination cannot take more writes: {message}")]
    Fatal { object: String, message: String },
    #[error(
        "{object}: the outcome of a batch stayed unknown after {attempts} attempts ({message}); run `apply` again to continue where it stopped"
    )]
    Unsettled { object: String, attempts: u32, message: String },
}

/// How many times the outcome of one batch is checked and the missing records re-sent before giving up.
const MAX_UNSETTLED_ATTEMPTS: u32 = 8;

/// Called after every batch with the totals so far.
pub type ProgressFn<'a> = &'a mut dyn FnMut(&ObjectLoad, &LoadStats);

/// Loads records into one destination object.
pub struct Loader<'a, D> {
    journal: &'a mut Journal,
    destination: &'a D,
    object: ObjectLoad,
    stats: LoadStats,
    batch: Vec<Outgoing>,
    on_progress: Option<ProgressFn<'a>>,
}

impl<'a, D: Destination> Loader<'a, D> {
    /// Prepares to load `object`, first settling rows an earlier run left `sent`: those the destination has are
    /// marked written, the others are forgotten so they are sent again.
    pub async fn new(journal: &'a mut Journal, destination: &'a D, object: ObjectLoad) -> Result<Self, LoadError> {
        let mut loader =
            Loader { journal, destination, object, stats: LoadStats::default(), batch: Vec::new(), on_progress: None };
        loader.settle_leftovers().await?;
        Ok(loader)
    }

    /// Calls `f` after every batch with the totals so far.
    pub fn on_progress(mut self, f: ProgressFn<'a>) -> Self {
        self.on_progress = Some(f);
        self
    }

    async fn settle_leftovers(&mut self) -> Result<(), LoadError> {
        let sent = self.journal.rows_in_state(&self.object.source, RowState::Sent)?;
        for chunk in sent.chunks(self.destination.batch_cap(&self.object.destination).max(1)) {
            let ids: Vec<Uuid> = chunk.iter().filter_map(|(_, d)| Uuid::parse_str(d).ok()).collect();
            let found = self.existing(&ids).await?;
            let (there, missing): (Vec<_>, Vec<_>) =
                chunk.iter().partition(|(_, d)| Uuid::parse_str(d).is_ok_and(|u| found.contains(&u)));
            let there: Vec<(&str, &str)> = there.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
            // Counted as `already` when the source hands these records over again.
            self.journal.mark_written(&self.object.source, &there)?;
            let missing: Vec<&str> = missing.iter().map(|(k, _)| k.as_str()).collect();
            self.journal.forget_rows(&self.object.source, &missing)?;
        }
        Ok(())
    }

    async fn existing(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, LoadError> {
        let mut last = String::new();
        for _ in 0..MAX_UNSETTLED_ATTEMPTS {
            match self.destination.existing(&self.object.destination, ids).await {
                Ok(found) => return Ok(found),
                Err(WriteError::Fatal(message)) => {
                    return Err(LoadError::Fatal { object: self.object.destination.clone(), message });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(LoadError::Unsettled {
            object: self.object.destination.clone(),
            attempts: MAX_UNSETTLED_ATTEMPTS,
            message: last,
        })
    }

    /// Takes one record: skips it when an earlier run already settled it, resolves its relations, and sends it
    /// with the next full batch.
    pub async fn push(&mut self, record: Prepared) -> Result<(), LoadError> {
        let id = destination_id(self.journal.migration_id(), &self.object.source, &record.key);
        let state = self.journal.state(&self.object.source, &record.key)?;
        // Leftovers are settled in `new`; a row still `sent` here (the same key twice in the source) is settled the
        // same way, by asking the destination.
        if let Some((RowState::Sent, dest)) = &state
            && self.existing(&[id]).await?.contains(&id)
        {
            self.journal.mark_written(&self.object.source, &[(record.key.as_str(), dest.as_str())])?;
            self.stats.already += 1;
            return Ok(());
        }
        match state {
            Some((RowState::Written, _)) => {
                self.stats.already += 1;
                return Ok(());
            }
            Some((RowState::Rejected | RowState::Skipped, _)) => return Ok(()),
            Some((RowState::Sent, _)) | None => {}
        }
        let mut values = record.values;
        for r in &record.refs {
            match self.journal.state(&r.object, &r.key)? {
                Some((RowState::Written, dest)) => {
                    values.insert(r.field.clone(), Value::String(dest));
                }
                other => {
                    let why = match other {
                        None => "was not found in the source or not migrated yet",
                        Some((RowState::Rejected, _)) => "was refused by the destination",
                        Some((RowState::Skipped, _)) => "was skipped",
                        Some((RowState::Sent, _)) | Some((RowState::Written, _)) => "is not settled",
                    };
                    let problem =
                        Problem::new(&self.object.source, format!("the {} #{} it points at {why}", r.object, r.key))
                            .record(&record.key)
                            .field(&r.field)
                            .value(&r.key);
                    if r.required {
                        let problem =
                            problem.hint("migrate the record it points at first, or fix the reference in the source");
                        self.journal.mark_skipped(&record.key, &id.to_string(), &problem)?;
                        self.stats.skipped += 1;
                        return Ok(());
                    }
                    self.journal.add_problem(&problem.hint("the record is migrated without this relation"))?;
                    values.remove(&r.field);
                }
            }
        }
        self.batch.push(Outgoing { id, key: record.key, values });
        if self.batch.len() >= self.destination.batch_cap(&self.object.destination).max(1) {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends what is left and returns what loading this object did.
    pub async fn finish(mut self) -> Result<LoadStats, LoadError> {
        self.flush().await?;
        Ok(self.stats)
    }

    async fn flush(&mut self) -> Result<(), LoadError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let mut pending = vec![batch];
        while let Some(batch) = pending.pop() {
            if let Some((left, right)) = self.send(batch).await? {
                // Send the left half first: keeps the destination's order close to the source's.
                pending.push(right);
                pending.push(left);
            }
        }
        if let Some(f) = self.on_progress.as_mut() {
            f(&self.object, &self.stats);
        }
        Ok(())
    }

    /// Sends one batch until its outcome is settled. Returns the two halves to send separately when the
    /// destination refused a batch of several records.
    async fn send(&mut self, mut batch: Vec<Outgoing>) -> Result<Option<(Vec<Outgoing>, Vec<Outgoing>)>, LoadError> {
        let source = self.object.source.clone();
        let rows: Vec<(String, String)> = batch.iter().map(|o| (o.key.clone(), o.id.to_string())).collect();
        let refs: Vec<(&str, &str)> = rows.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
        self.journal.mark_sent(&source, &refs)?;
        let mut attempts = 0;
        loop {
            self.stats.calls += 1;
            match self.destination.create(&self.object.destination, &batch).await {
                Ok(()) => {
                    let done: Vec<(&str, String)> = batch.iter().map(|o| (o.key.as_str(), o.id.to_string())).collect();
                    let done: Vec<(&str, &str)> = done.iter().map(|(k, d)| (*k, d.as_str())).collect();
                    self.journal.mark_written(&source, &done)?;
                    self.stats.written += batch.len() as u64;
                    return Ok(None);
                }
                Err(WriteError::Fatal(message)) => {
                    return Err(LoadError::Fatal { object: self.object.destination.clone(), message });
                }
                Err(WriteError::Refused { message, field }) => {
                    if batch.len() > 1 {
                        // One record refuses the whole batch: split to find it. The halves are journalled again
                        // when sent; until then they stay `sent`, which a crash settles by asking the destination.
                        let right = batch.split_off(batch.len() / 2);
                        return Ok(Some((batch, right)));
                    }
                    let one = &batch[0];
                    let mut problem = Problem::new(&self.object.source, message).record(&one.key);
                    if let Some(f) = field {
                        if let Some(v) = one.values.get(&f) {
                            problem = problem.value(value_text(v));
                        }
                        problem = problem.field(f);
                    }
                    let problem = problem.hint("fix the value in the source or the plan, then run `apply` again");
                    self.journal.mark_rejected(&one.key, &one.id.to_string(), &problem)?;
                    self.stats.rejected += 1;
                    return Ok(None);
                }
                Err(WriteError::Ambiguous(message)) => {
                    attempts += 1;
                    let ids: Vec<Uuid> = batch.iter().map(|o| o.id).collect();
                    let found = self.existing(&ids).await?;
                    let (there, missing): (Vec<Outgoing>, Vec<Outgoing>) =
                        batch.into_iter().partition(|o| found.contains(&o.id));
                    let done: Vec<(&str, String)> = there.iter().map(|o| (o.key.as_str(), o.id.to_string())).collect();
                    let done: Vec<(&str, &str)> = done.iter().map(|(k, d)| (*k, d.as_str())).collect();
                    self.journal.mark_written(&source, &done)?;
                    self.stats.written += there.len() as u64;
                    if missing.is_empty() {
                        return Ok(None);
                    }
                    if attempts >= MAX_UNSETTLED_ATTEMPTS {
                        return Err(LoadError::Unsettled {
                            object: self.object.destination.clone(),
                            attempts,
                            message,
                        });
                    }
                    batch = missing;
                }
            }
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    type Table = Vec<(Uuid, Map<String, Value>)>;

    /// A destination in memory that can lose answers and refuse values.
    #[derive(Default)]
    struct Fake {
        cap: usize,
        rows: RefCell<HashMap<String, Table>>,
        /// Calls whose write is committed but whose answer is lost (by call number, from 1).
        lose_answer_of_call: RefCell<HashSet<u32>>,
        /// Calls that fail before writing anything.
        fail_call: RefCell<HashSet<u32>>,
        calls: RefCell<u32>,
        /// A value of field `name` that is refused.
        refuse_name: Option<String>,
    }

    impl Fake {
        fn count(&self, object: &str) -> usize {
            self.rows.borrow().get(object).map_or(0, Vec::len)
        }
    }

    impl Destination for Fake {
        fn batch_cap(&self, _: &str) -> usize {
            self.cap
        }

        async fn create(&self, object: &str, records: &[Outgoing]) -> Result<(), WriteError> {
            *self.calls.borrow_mut() += 1;
            let call = *self.calls.borrow();
            if self.fail_call.borrow().contains(&call) {
                return Err(WriteError::Ambiguous("timed out".into()));
            }
            let mut rows = self.rows.borrow_mut();
            let table = rows.entry(object.to_string()).or_default();
            for r in records {
                if table.iter().any(|(id, _)| *id == r.id) {
                    return Err(WriteError::Refused { message: "A duplicate entry was detected".into(), field: None });
                }
                if self.refuse_name.is_some()
                    && r.values.get("name").and_then(Value::as_str) == self.refuse_name.as_deref()
                {
                    return Err(WriteError::Refused {
                        message: "Invalid value for field \"name\"".into(),
                        field: Some("name".into()),
                    });
                }
            }
            table.extend(records.iter().map(|r| (r.id, r.values.clone())));
            if self.lose_answer_of_call.borrow().contains(&call) {
                return Err(WriteError::Ambiguous("connection closed before the answer".into()));
            }
            Ok(())
        }

        async fn existing(&self, object: &str, ids: &[Uuid]) -> Result<HashSet<Uuid>, WriteError> {
            let rows = self.rows.borrow();
            let table = rows.get(object).map(Vec::as_slice).unwrap_or_default();
            Ok(ids.iter().copied().filter(|id| table.iter().any(|(t, _)| t == id)).collect())
        }
    }

    fn rec(key: u32) -> Prepared {
        let mut values = Map::new();
        values.insert("name".into(), Value::from(format!("n{key}")));
        Prepared { key: key.to_string(), values, refs: vec![] }
    }

    fn obj(name: &str) -> ObjectLoad {
        ObjectLoad { source: name.into(), destination: name.into() }
    }

    async fn load(
        j: &mut Journal,
        d: &Fake,
        object: &str,
        records: impl IntoIterator<Item = Prepared>,
    ) -> Result<LoadStats, LoadError> {
        let mut l = Loader::new(j, d, obj(object)).await?;
        for r in records {
            l.push(r).await?;
        }
        l.finish().await
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j")).unwrap();
        (dir, j)
    }

    #[tokio::test]
    async fn every_record_is_written_once_in_batches_of_the_cap() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 3, ..Fake::default() };
        let stats = load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        assert_eq!(stats.written, 10);
        assert_eq!(stats.calls, 4);
        assert_eq!(dest.count("companies"), 10);
    }

    #[tokio::test]
    async fn a_second_run_writes_nothing() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 4, ..Fake::default() };
        load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        let again = load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        assert_eq!(again.written, 0);
        assert_eq!(again.already, 10);
        assert_eq!(again.calls, 0);
        assert_eq!(dest.count("companies"), 10);
    }

    #[tokio::test]
    async fn duplicate_after_commit_then_lost_answer_is_not_written_twice() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, ..Fake::default() };
        dest.lose_answer_of_call.borrow_mut().insert(1);
        let stats = load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        assert_eq!(dest.count("companies"), 10, "no duplicate, nothing missing");
        assert_eq!(stats.written, 10);
        assert_eq!(stats.calls, 2, "the lost batch is settled by asking, not by sending again");
    }

    #[tokio::test]
    async fn a_failed_call_is_sent_again() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, ..Fake::default() };
        dest.fail_call.borrow_mut().insert(2);
        let stats = load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        assert_eq!(dest.count("companies"), 10);
        assert_eq!(stats.written, 10);
        assert_eq!(stats.calls, 3);
    }

    #[tokio::test]
    async fn duplicate_after_crash_between_send_and_confirmation_is_not_written_twice() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, ..Fake::default() };
        // A run that crashed after the destination committed batch 1 but before the journal heard of it:
        // the journal says `sent`, the destination has the rows.
        let m = j.migration_id();
        let first: Vec<Outgoing> = (0..5)
            .map(|k| Outgoing {
                id: destination_id(m, "companies", &k.to_string()),
                key: k.to_string(),
                values: rec(k).values,
            })
            .collect();
        let rows: Vec<(String, String)> = first.iter().map(|o| (o.key.clone(), o.id.to_string())).collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
        j.mark_sent("companies", &rows).unwrap();
        dest.create("companies", &first).await.unwrap();
        // Row 7 was journalled `sent` but never reached the destination.
        let seven = destination_id(m, "companies", "7").to_string();
        j.mark_sent("companies", &[("7", &seven)]).unwrap();

        let stats = load(&mut j, &dest, "companies", (0..10).map(rec)).await.unwrap();
        assert_eq!(dest.count("companies"), 10);
        assert_eq!(stats.already, 5);
        assert_eq!(stats.written, 5);
    }

    #[tokio::test]
    async fn a_refused_record_is_journalled_and_the_rest_of_its_batch_is_written() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 8, refuse_name: Some("n5".into()), ..Fake::default() };
        let stats = load(&mut j, &dest, "companies", (0..8).map(rec)).await.unwrap();
        assert_eq!(stats.written, 7);
        assert_eq!(stats.rejected, 1);
        assert_eq!(dest.count("companies"), 7);
        let problems = j.problems().unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].record.as_deref(), Some("5"));
        assert_eq!(problems[0].field.as_deref(), Some("name"));
        assert_eq!(problems[0].value.as_deref(), Some("n5"));
        assert_eq!(j.state("companies", "5").unwrap().unwrap().0, RowState::Rejected);
    }

    #[tokio::test]
    async fn relations_point_at_the_destination_id_of_their_target() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 10, ..Fake::default() };
        load(&mut j, &dest, "companies", [rec(1)]).await.unwrap();
        let mut person = rec(100);
        person.refs.push(Ref {
            field: "companyId".into(),
            object: "companies".into(),
            key: "1".into(),
            required: false,
        });
        let mut orphan = rec(101);
        orphan.refs.push(Ref {
            field: "companyId".into(),
            object: "companies".into(),
            key: "404".into(),
            required: false,
        });
        let mut needs_parent = rec(102);
        needs_parent.refs.push(Ref { field: "noteId".into(), object: "notes".into(), key: "9".into(), required: true });
        let stats = load(&mut j, &dest, "people", [person, orphan, needs_parent]).await.unwrap();
        assert_eq!(stats.written, 2);
        assert_eq!(stats.skipped, 1);
        let rows = dest.rows.borrow();
        let people = &rows["people"];
        let company_id = destination_id(j.migration_id(), "companies", "1").to_string();
        assert_eq!(people[0].1["companyId"], Value::from(company_id));
        assert!(people[1].1.get("companyId").is_none(), "a dangling relation is left out, not sent");
        let problems = j.problems().unwrap();
        assert_eq!(problems.len(), 2, "both the dropped relation and the skipped record are reported: {problems:?}");
        assert!(problems.iter().any(|p| p.record.as_deref() == Some("101") && p.field.as_deref() == Some("companyId")));
        assert!(problems.iter().any(|p| p.record.as_deref() == Some("102")));
    }
}
