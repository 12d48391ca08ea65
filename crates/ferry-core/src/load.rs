//! Loading prepared records into a destination, exactly once.
//!
//! The loader is given, object by object in dependency order, records already transformed into the destination's
//! shape. For each record it decides the destination id up front ([`crate::ids::destination_id`]), writes the batch
//! to the journal as `sent`, sends it, and marks it `written` when the destination confirms. When the outcome of a
//! batch is unknown — a timeout, a dropped connection, a write committed whose answer was lost — it asks the
//! destination which of the batch's ids exist and sends only the others. A batch the destination refuses is split
//! until the refused records are found; each is journalled with the destination's reason and the run goes on.
//!
//! ## Values the destination takes once
//!
//! A record may carry the values of the destination's unique fields ([`Prepared::unique`]). The destination refuses
//! a whole batch for one repeat, and finding it by splitting costs a call per halving; so the loader keeps which
//! record holds each value. A record whose value is already held by another record of this object (sent in this run
//! or written by an earlier one) is set aside instead of batched, with its relations already resolved. Once every
//! batch is settled, each set-aside record is decided: when the holder is written the destination would refuse the
//! repeat, so it is journalled rejected with the holder named; when the holder was refused it is sent as usual and
//! becomes the holder (another record waiting on the same value waits for the next round). Nothing set aside is
//! journalled before it is decided, so a crash leaves it with no journal state and the next run decides it again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ids::{destination_id, fingerprint};
use crate::journal::{Journal, JournalError, RowState};
use crate::problem::Problem;

/// One record ready to be written: its source key, its values in the destination's shape, the relations to
/// resolve to destination ids, and the values it takes in the destination's unique fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub key: String,
    pub values: Map<String, Value>,
    pub refs: Vec<Ref>,
    /// `(destination field, comparable value)` for every unique field the record sets: two records of the object
    /// with the same pair cannot both be written. Values that differ here may still collide in the destination
    /// (which then refuses the batch as usual); equal ones always do.
    pub unique: Vec<(String, String)>,
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
    /// Found already written (by an earlier run, or by a batch whose answer was lost), or repeated in the source
    /// while its first occurrence was being written (reported as a problem).
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

/// How many create calls a loader keeps in flight unless told otherwise ([`Loader::with_concurrency`]).
pub const DEFAULT_CONCURRENCY: usize = 4;

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
    /// Most create calls in flight at once.
    concurrency: usize,
    /// Batches sent whose answers are not settled yet, oldest first.
    in_flight: VecDeque<InFlight<'a>>,
    /// Which record (source key) holds each unique value: written by an earlier run, or sent by this one.
    /// Keyed by the fingerprint of (field, value), not the value: a million e-mails would otherwise take ~150 MB.
    holders: HashMap<u128, Box<str>>,
    /// Records whose unique value another record held when they came, decided in `finish` — or before, when the
    /// holder turns out written (see [`Loader::reject_taken_aside`]).
    aside: Vec<Aside>,
    /// How many records may wait aside before those a written record's value bars are rejected.
    aside_check_at: usize,
    /// Whether the journal held no row of this object when loading began: then a record's state is known without
    /// asking the journal, unless its key was pushed before in this run (see [`Loader::state_of`]).
    fresh: bool,
    /// Fingerprints of the keys pushed in this run: a key seen twice is looked up in the journal, and a repeat
    /// of a record not settled yet is recognised (see [`Loader::push`]).
    pushed: HashSet<u128>,
    /// Records pointed at that the journal said are written (a final state within a run), with their destination
    /// ids, by fingerprint of (object, key): most records point at a parent others point at too.
    written_refs: HashMap<u128, Uuid>,
}

/// The fingerprint of a unique (field, value) pair.
fn unique_print((field, value): &(String, String)) -> u128 {
    fingerprint(&[field, value])
}

/// How many records may wait aside before the loader settles the batches in flight and rejects, without waiting
/// for `finish`, those whose unique value a written record holds; after each such pass the threshold is twice what
/// still waits (at least this).
const ASIDE_CHECK_AT: usize = 1024;

/// Most entries [`Loader`] keeps in its cache of written records pointed at before starting it afresh: 2¹⁸ take
/// about 17 MB (the table grows to twice as many slots of 33 bytes; at 2²⁰ it took 69 MB, the largest part of
/// `apply`'s memory when a million links point at half a million notes).
const WRITTEN_REFS_CAP: usize = 1 << 18;

/// A record set aside because another record held one of its unique values when it came.
struct Aside {
    /// Ready to send (relations resolved), not journalled.
    record: Outgoing,
    unique: Vec<(String, String)>,
}

impl<'a, D: Destination> Loader<'a, D> {
    /// Prepares to load `object`, first settling rows an earlier run left `sent`: those the destination has are
    /// marked written, the others are forgotten so they are sent again.
    pub async fn new(journal: &'a mut Journal, destination: &'a D, object: ObjectLoad) -> Result<Self, LoadError> {
        let mut loader = Loader {
            journal,
            destination,
            object,
            stats: LoadStats::default(),
            batch: Vec::new(),
            on_progress: None,
            concurrency: DEFAULT_CONCURRENCY,
            in_flight: VecDeque::new(),
            holders: HashMap::new(),
            aside: Vec::new(),
            aside_check_at: ASIDE_CHECK_AT,
            fresh: false,
            pushed: HashSet::new(),
            written_refs: HashMap::new(),
        };
        loader.settle_leftovers().await?;
        loader.fresh = !loader.journal.has_rows(&loader.object.source)?;
        Ok(loader)
    }

    /// The journal's state of one of this object's records. Asking the journal is one read transaction per record;
    /// when it held nothing of this object at the start, only a key pushed earlier in this run (the same key twice
    /// in the source) can have a state, and only then is it asked.
    /// Returns the state and whether the key was pushed before in this run.
    fn state_of(&mut self, key: &str) -> Result<(Option<(RowState, String)>, bool), JournalError> {
        let seen = !self.pushed.insert(fingerprint(&[key]));
        if self.fresh && !seen {
            return Ok((None, false));
        }
        Ok((self.journal.state(&self.object.source, key)?, seen))
    }

    /// Looks up, in one read of the journal, the records of other objects that `records` point at, so that pushing
    /// them finds those already written in memory (records of this object are looked up as they are pushed: they
    /// may be written meanwhile).
    pub fn prefetch(&mut self, records: &[Prepared]) -> Result<(), LoadError> {
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        let mut prints: Vec<u128> = Vec::new();
        let mut seen: HashSet<u128> = HashSet::new();
        for r in records.iter().flat_map(|p| &p.refs).filter(|r| r.object != self.object.source) {
            let f = fingerprint(&[&r.object, &r.key]);
            if !self.written_refs.contains_key(&f) && seen.insert(f) {
                wanted.push((&r.object, &r.key));
                prints.push(f);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        if self.written_refs.len() + wanted.len() > WRITTEN_REFS_CAP {
            self.written_refs.clear();
        }
        for (i, dest) in self.journal.written_among(&wanted)? {
            if let Ok(id) = Uuid::parse_str(&dest) {
                self.written_refs.insert(prints[i], id);
            }
        }
        Ok(())
    }

    /// The journal's state of a record pointed at, from the cache when it is known written.
    fn ref_state(&mut self, object: &str, key: &str) -> Result<Option<(RowState, String)>, JournalError> {
        let f = fingerprint(&[object, key]);
        if let Some(id) = self.written_refs.get(&f) {
            return Ok(Some((RowState::Written, id.to_string())));
        }
        let state = self.journal.state(object, key)?;
        if let Some((RowState::Written, dest)) = &state
            && let Ok(id) = Uuid::parse_str(dest)
        {
            if self.written_refs.len() >= WRITTEN_REFS_CAP {
                self.written_refs.clear();
            }
            self.written_refs.insert(f, id);
        }
        Ok(state)
    }

    /// Calls `f` after every batch with the totals so far.
    pub fn on_progress(mut self, f: ProgressFn<'a>) -> Self {
        self.on_progress = Some(f);
        self
    }

    /// Keeps up to `n` create calls in flight at once (at least 1; default [`DEFAULT_CONCURRENCY`]). Each batch
    /// is still journalled `sent` before its request and `written` after its confirmation, and answers are settled
    /// in the order the batches were sent. A record pointing at a record of the same object that is still in
    /// flight sees it as not settled, as it does for a record of the batch being filled.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
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
    /// with the next full batch — or sets it aside until `finish` when another record holds one of its unique
    /// values.
    pub async fn push(&mut self, record: Prepared) -> Result<(), LoadError> {
        let id = destination_id(self.journal.migration_id(), &self.object.source, &record.key);
        let (state, seen) = self.state_of(&record.key)?;
        if seen && matches!(state, None | Some((RowState::Sent, _))) {
            // The same key came earlier in this run and is not settled yet: in the batch being filled, in flight or
            // set aside. Sent again, it would make the destination refuse the batch for a duplicate id, and the
            // refusal would journal as rejected a record that is written.
            let problem = Problem::new(
                &self.object.source,
                format!(
                    "key {} appears more than once in the source: it is migrated once, from its first occurrence",
                    record.key
                ),
            )
            .record(&record.key)
            .hint("remove the repeated row or repeated reference in the source if its content differs from the first");
            self.journal.add_problem(&problem)?;
            self.stats.already += 1;
            return Ok(());
        }
        // Leftovers are settled in `new`; a row still `sent` here (the same key twice in the source) is settled the
        // same way, by asking the destination.
        if let Some((RowState::Sent, dest)) = &state
            && self.existing(&[id]).await?.contains(&id)
        {
            self.journal.mark_written(&self.object.source, &[(record.key.as_str(), dest.as_str())])?;
            self.stats.already += 1;
            self.hold(&record.key, &record.unique);
            return Ok(());
        }
        match state {
            Some((RowState::Written, _)) => {
                self.stats.already += 1;
                self.hold(&record.key, &record.unique);
                return Ok(());
            }
            Some((RowState::Rejected | RowState::Skipped, _)) => return Ok(()),
            Some((RowState::Sent, _)) | None => {}
        }
        let mut values = record.values;
        for r in &record.refs {
            match self.ref_state(&r.object, &r.key)? {
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
        let outgoing = Outgoing { id, key: record.key, values };
        if record.unique.iter().any(|u| self.holders.get(&unique_print(u)).is_some_and(|h| **h != *outgoing.key)) {
            // Sent beside its holder it would refuse the whole batch; decided once the holder is settled.
            self.aside.push(Aside { record: outgoing, unique: record.unique });
            if self.aside.len() >= self.aside_check_at {
                // Settled first, the holders sent so far are known written or not.
                self.settle_all().await?;
                self.reject_taken_aside()?;
            }
            return Ok(());
        }
        self.hold(&outgoing.key, &record.unique);
        self.enqueue(outgoing).await
    }

    /// Adds one record to the batch being filled, sending it when full.
    async fn enqueue(&mut self, outgoing: Outgoing) -> Result<(), LoadError> {
        self.batch.push(outgoing);
        if self.batch.len() >= self.destination.batch_cap(&self.object.destination).max(1) {
            self.flush().await?;
        } else if !self.in_flight.is_empty() && self.batch.len().is_multiple_of(32) {
            // Lets the calls in flight read their answers while the next batch fills.
            self.kick();
        }
        Ok(())
    }

    /// Notes `key` as the holder of the unique values it does not already share with an earlier holder.
    fn hold(&mut self, key: &str, unique: &[(String, String)]) {
        for u in unique {
            if let std::collections::hash_map::Entry::Vacant(e) = self.holders.entry(unique_print(u)) {
                e.insert(key.into());
            }
        }
    }

    /// Sends what is left, decides the records set aside, and returns what loading this object did.
    pub async fn finish(mut self) -> Result<LoadStats, LoadError> {
        self.flush().await?;
        self.settle_all().await?;
        let mut round = 0;
        while !self.aside.is_empty() {
            round += 1;
            self.decide_aside(round > 1).await?;
            self.flush().await?;
            self.settle_all().await?;
            if let Some(f) = self.on_progress.as_mut() {
                f(&self.object, &self.stats);
            }
        }
        Ok(self.stats)
    }

    async fn settle_all(&mut self) -> Result<(), LoadError> {
        while !self.in_flight.is_empty() {
            self.settle_oldest().await?;
        }
        Ok(())
    }

    /// One round over the records set aside, every batch sent before being settled. A record one of whose values
    /// is held by a written record is what the destination would refuse: it is journalled rejected. Otherwise its
    /// holders were refused, so it is sent and becomes the holder — unless a record sent in this round claims one of
    /// its values: then, in the first round, it waits for the next one, when that record is settled; in a later
    /// round it is sent in a call of its own (`alone`), where it can only refuse itself and the destination decides.
    /// So two rounds at most: a thousand records sharing a value the destination refuses took a thousand rounds,
    /// each looking at every waiting record again.
    async fn decide_aside(&mut self, alone_when_claimed: bool) -> Result<(), LoadError> {
        let waiting = std::mem::take(&mut self.aside);
        let mut claimed: HashSet<(String, String)> = HashSet::new();
        let mut alone: Vec<Outgoing> = Vec::new();
        for a in waiting {
            if a.unique.iter().any(|u| claimed.contains(u)) {
                // Another record of this round claims the value: whether that one is written is not known yet.
                if alone_when_claimed {
                    alone.push(a.record);
                } else {
                    self.aside.push(a);
                }
                continue;
            }
            if let Some((i, holder)) = self.written_holder(&a)? {
                self.reject_taken(&a, i, &holder)?;
                continue;
            }
            for u in a.unique {
                self.holders.insert(unique_print(&u), a.record.key.as_str().into());
                claimed.insert(u);
            }
            self.enqueue(a.record).await?;
        }
        self.flush().await?;
        for record in alone {
            self.batch.push(record);
            self.flush().await?;
        }
        Ok(())
    }

    /// The first of `a`'s unique values a written record (other than `a`'s) holds: its place in `a.unique` and the
    /// holder's key.
    fn written_holder(&self, a: &Aside) -> Result<Option<(usize, Box<str>)>, JournalError> {
        for (i, u) in a.unique.iter().enumerate() {
            let Some(holder) = self.holders.get(&unique_print(u)).filter(|h| ***h != *a.record.key) else {
                continue;
            };
            if let Some((RowState::Written, _)) = self.journal.state(&self.object.source, holder)? {
                return Ok(Some((i, holder.clone())));
            }
        }
        Ok(None)
    }

    /// Journals `a` rejected: its unique value `a.unique[i]` is held by the written record `holder`, so the
    /// destination would refuse it.
    fn reject_taken(&mut self, a: &Aside, i: usize, holder: &str) -> Result<(), JournalError> {
        let (field, value) = &a.unique[i];
        let problem = Problem::new(
            &self.object.source,
            format!(
                "{}.{field} {value:?} is already held by {} #{holder}",
                self.object.destination, self.object.source
            ),
        )
        .record(&a.record.key)
        .field(field)
        .value(value)
        .hint(
            "merge the two records in the source, or map this field to another destination field; the destination \
             takes each value once",
        );
        self.journal.mark_rejected(&a.record.key, &a.record.id.to_string(), &problem)?;
        self.stats.rejected += 1;
        Ok(())
    }

    /// Rejects now the records set aside whose unique value a written record holds — the destination would refuse
    /// them whatever comes next — instead of keeping them in memory until `finish` (a source where one record in
    /// ten repeats an e-mail kept every repeat to the end: 55 MB of 1M rows). The others keep waiting.
    fn reject_taken_aside(&mut self) -> Result<(), JournalError> {
        for a in std::mem::take(&mut self.aside) {
            match self.written_holder(&a)? {
                Some((i, holder)) => self.reject_taken(&a, i, &holder)?,
                None => self.aside.push(a),
            }
        }
        self.aside_check_at = ASIDE_CHECK_AT.max(2 * self.aside.len());
        Ok(())
    }

    /// Sends the batch being filled, waiting first for the oldest batch in flight when `concurrency` are.
    async fn flush(&mut self) -> Result<(), LoadError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.concurrency {
            self.settle_oldest().await?;
        }
        let batch = std::mem::take(&mut self.batch);
        // Journalled (and on disk) before the request exists, let alone leaves.
        self.mark_batch_sent(&batch)?;
        self.stats.calls += 1;
        let destination = self.destination;
        let object = self.object.destination.clone();
        let request: InFlightFuture<'a> = Box::pin(async move {
            let result = destination.create(&object, &batch).await;
            (batch, result)
        });
        self.in_flight.push_back(InFlight { request: Some(request), answer: None });
        self.kick();
        Ok(())
    }

    /// Drives every batch in flight as far as it goes without waiting (starts the request just queued).
    fn kick(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        poll_in_flight(&mut self.in_flight, &mut cx);
    }

    /// Waits for the answer to the oldest batch in flight (driving the others meanwhile) and takes it off the queue.
    async fn oldest_answer(&mut self) -> (Vec<Outgoing>, Result<(), WriteError>) {
        std::future::poll_fn(|cx| {
            poll_in_flight(&mut self.in_flight, cx);
            match self.in_flight.front_mut().and_then(|f| f.answer.take()) {
                Some(answer) => {
                    self.in_flight.pop_front();
                    Poll::Ready(answer)
                }
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Waits for the oldest batch in flight and settles it: results are settled in the order batches were sent.
    async fn settle_oldest(&mut self) -> Result<(), LoadError> {
        let (batch, result) = self.oldest_answer().await;
        if let Err(e) = self.resolve(batch, result).await {
            if matches!(e, LoadError::Fatal { .. } | LoadError::Unsettled { .. }) {
                self.drain_after_failure().await;
            }
            return Err(e);
        }
        if let Some(f) = self.on_progress.as_mut() {
            f(&self.object, &self.stats);
        }
        Ok(())
    }

    /// After a batch failed for good, waits for the other batches in flight: the confirmed ones are journalled
    /// `written`, the others stay `sent` for the next run to settle by asking the destination.
    async fn drain_after_failure(&mut self) {
        while !self.in_flight.is_empty() {
            let (batch, result) = self.oldest_answer().await;
            if result.is_ok() && self.mark_batch_written(&batch).is_ok() {
                self.stats.written += batch.len() as u64;
            }
        }
    }

    /// Settles one batch's answer, including the halves of a refused batch (sent one after the other).
    async fn resolve(&mut self, batch: Vec<Outgoing>, result: Result<(), WriteError>) -> Result<(), LoadError> {
        let mut pending = Vec::new();
        if let Some((left, right)) = self.settle(batch, result).await? {
            pending.push(right);
            pending.push(left);
        }
        while let Some(batch) = pending.pop() {
            if let Some((left, right)) = self.send(batch).await? {
                // Send the left half first: keeps the destination's order close to the source's.
                pending.push(right);
                pending.push(left);
            }
        }
        Ok(())
    }

    fn mark_batch_sent(&mut self, batch: &[Outgoing]) -> Result<(), JournalError> {
        let rows: Vec<(&str, String)> = batch.iter().map(|o| (o.key.as_str(), o.id.to_string())).collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(k, d)| (*k, d.as_str())).collect();
        self.journal.mark_sent(&self.object.source, &rows)
    }

    fn mark_batch_written(&mut self, batch: &[Outgoing]) -> Result<(), JournalError> {
        let rows: Vec<(&str, String)> = batch.iter().map(|o| (o.key.as_str(), o.id.to_string())).collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(k, d)| (*k, d.as_str())).collect();
        self.journal.mark_written(&self.object.source, &rows)
    }

    /// Sends one batch now (journalled `sent` first) and settles its outcome. Returns the two halves to send
    /// separately when the destination refused a batch of several records.
    async fn send(&mut self, batch: Vec<Outgoing>) -> Result<Option<(Vec<Outgoing>, Vec<Outgoing>)>, LoadError> {
        self.mark_batch_sent(&batch)?;
        self.stats.calls += 1;
        let result = self.destination.create(&self.object.destination, &batch).await;
        self.settle(batch, result).await
    }

    /// Settles the answer to one create call, asking the destination and re-sending the missing records while
    /// the outcome is unknown. Returns the two halves to send separately when the destination refused a batch of
    /// several records.
    async fn settle(
        &mut self,
        mut batch: Vec<Outgoing>,
        mut result: Result<(), WriteError>,
    ) -> Result<Option<(Vec<Outgoing>, Vec<Outgoing>)>, LoadError> {
        let mut attempts = 0;
        loop {
            match result {
                Ok(()) => {
                    self.mark_batch_written(&batch)?;
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
                    self.mark_batch_written(&there)?;
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
            self.stats.calls += 1;
            result = self.destination.create(&self.object.destination, &batch).await;
        }
    }
}

/// A create call in flight: it owns its batch and hands it back with the answer.
type InFlightFuture<'a> = Pin<Box<dyn Future<Output = (Vec<Outgoing>, Result<(), WriteError>)> + 'a>>;

struct InFlight<'a> {
    /// The call, until it answers.
    request: Option<InFlightFuture<'a>>,
    /// Its answer, until it is settled.
    answer: Option<(Vec<Outgoing>, Result<(), WriteError>)>,
}

/// Polls every unanswered call once; answers are kept until their turn comes.
fn poll_in_flight(in_flight: &mut VecDeque<InFlight<'_>>, cx: &mut Context<'_>) {
    for f in in_flight.iter_mut() {
        if let Some(request) = f.request.as_mut()
            && let Poll::Ready(answer) = request.as_mut().poll(cx)
        {
            f.answer = Some(answer);
            f.request = None;
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
        /// Calls answered with a fatal error (nothing written).
        fatal_call: RefCell<HashSet<u32>>,
        /// How many times each create call answers "not yet" before it does its work (keeps calls in flight).
        delay_polls: usize,
        /// Create calls started and not answered yet, and the most seen at once.
        outstanding: std::cell::Cell<usize>,
        max_outstanding: std::cell::Cell<usize>,
        /// A second connection to the loader's journal: every record must be `sent` in it when its call starts.
        witness: Option<Journal>,
        /// Records whose call started before the journal said `sent`.
        unjournalled: RefCell<Vec<String>>,
        /// A field whose values the destination takes once: a batch repeating one (stored or within the batch)
        /// is refused, as a unique constraint does.
        unique: Option<String>,
        /// Batches refused for a repeated unique value.
        unique_refusals: std::cell::Cell<u32>,
    }

    /// A future that is pending `n` times (waking itself) before it is ready.
    struct Later(usize);

    impl Future for Later {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 == 0 {
                return Poll::Ready(());
            }
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
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
            if let Some(w) = &self.witness {
                for r in records {
                    if w.state(object, &r.key).unwrap().map(|(s, _)| s) != Some(RowState::Sent) {
                        self.unjournalled.borrow_mut().push(r.key.clone());
                    }
                }
            }
            self.outstanding.set(self.outstanding.get() + 1);
            self.max_outstanding.set(self.max_outstanding.get().max(self.outstanding.get()));
            Later(self.delay_polls).await;
            self.outstanding.set(self.outstanding.get() - 1);
            if self.fatal_call.borrow().contains(&call) {
                return Err(WriteError::Fatal("authentication failed".into()));
            }
            if self.fail_call.borrow().contains(&call) {
                return Err(WriteError::Ambiguous("timed out".into()));
            }
            let mut rows = self.rows.borrow_mut();
            let table = rows.entry(object.to_string()).or_default();
            if let Some(f) = &self.unique {
                let mut seen: HashSet<&Value> = table.iter().filter_map(|(_, v)| v.get(f)).collect();
                if records.iter().filter_map(|r| r.values.get(f)).any(|v| !seen.insert(v)) {
                    self.unique_refusals.set(self.unique_refusals.get() + 1);
                    return Err(WriteError::Refused {
                        message: format!("duplicate key value violates unique constraint on {f}"),
                        field: Some(f.clone()),
                    });
                }
            }
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
        Prepared { key: key.to_string(), values, refs: vec![], unique: vec![] }
    }

    /// Record `key` with `domain` as the value of the unique field `domain`.
    fn rec_unique(key: u32, domain: &str) -> Prepared {
        let mut r = rec(key);
        r.values.insert("domain".into(), Value::from(domain));
        r.unique.push(("domain".into(), domain.into()));
        r
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

    async fn load_with(
        j: &mut Journal,
        d: &Fake,
        concurrency: usize,
        records: impl IntoIterator<Item = Prepared>,
    ) -> Result<LoadStats, LoadError> {
        let mut l = Loader::new(j, d, obj("companies")).await?.with_concurrency(concurrency);
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
    async fn duplicate_of_a_key_repeated_in_the_source_of_a_fresh_object_cannot_happen() {
        // A fresh object's records are not looked up in the journal one by one; a key seen before in the run is.
        let (_d, mut j) = journal();
        let dest = Fake { cap: 2, ..Fake::default() };
        let records = [rec(1), rec(2), rec(3), rec(1), rec(4), rec(2)];
        let stats = load(&mut j, &dest, "companies", records).await.unwrap();
        assert_eq!(stats.written, 4);
        assert_eq!(stats.already, 2, "the repeats of 1 and 2 are found written");
        assert_eq!(dest.count("companies"), 4);
    }

    #[tokio::test]
    async fn duplicate_of_a_key_repeated_within_one_batch_cannot_happen() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 10, ..Fake::default() };
        let stats = load(&mut j, &dest, "links", [rec(1), rec(2), rec(1), rec(3)]).await.unwrap();
        assert_eq!(dest.count("links"), 3, "the destination holds each record once");
        assert_eq!(j.state("links", "1").unwrap().unwrap().0, RowState::Written);
        assert_eq!(stats.written, 3);
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

    #[tokio::test]
    async fn several_batches_in_flight_never_exceed_the_concurrency_and_each_record_is_written_once() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, delay_polls: 20, ..Fake::default() };
        let mut batches = 0;
        let mut on_progress = |_: &ObjectLoad, _: &LoadStats| batches += 1;
        let mut l = Loader::new(&mut j, &dest, obj("companies")).await.unwrap().with_concurrency(3);
        l = l.on_progress(&mut on_progress);
        for r in (0..52).map(rec) {
            l.push(r).await.unwrap();
        }
        let stats = l.finish().await.unwrap();
        assert_eq!(dest.max_outstanding.get(), 3, "three calls in flight at once, never more");
        assert_eq!(stats.written, 52);
        assert_eq!(stats.calls, 11);
        assert_eq!(batches, 11, "progress is reported once per settled batch");
        assert_eq!(dest.count("companies"), 52);
        let order: Vec<Uuid> = dest.rows.borrow()["companies"].iter().map(|(id, _)| *id).collect();
        let expected: Vec<Uuid> =
            (0..52).map(|k| destination_id(j.migration_id(), "companies", &k.to_string())).collect();
        assert_eq!(order, expected, "batches reach the destination in source order");
        assert_eq!(j.counts().unwrap()[0].written, 52);
    }

    #[tokio::test]
    async fn every_row_is_journalled_sent_before_its_request_leaves_with_several_in_flight() {
        let (dir, mut j) = journal();
        let witness = Journal::open(&dir.path().join("j")).unwrap();
        let dest = Fake { cap: 4, delay_polls: 5, witness: Some(witness), ..Fake::default() };
        dest.lose_answer_of_call.borrow_mut().insert(2);
        let stats = load_with(&mut j, &dest, 4, (0..30).map(rec)).await.unwrap();
        assert_eq!(stats.written, 30);
        assert!(dest.unjournalled.borrow().is_empty(), "sent without a journal row: {:?}", dest.unjournalled);
    }

    #[tokio::test]
    async fn duplicate_after_a_lost_answer_in_one_of_several_in_flight_batches_is_not_written_twice() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, delay_polls: 10, ..Fake::default() };
        dest.lose_answer_of_call.borrow_mut().insert(2);
        dest.fail_call.borrow_mut().insert(4);
        let stats = load_with(&mut j, &dest, 4, (0..40).map(rec)).await.unwrap();
        assert_eq!(dest.count("companies"), 40, "no duplicate, nothing missing");
        assert_eq!(stats.written, 40);
        assert_eq!(stats.calls, 9, "the lost batch is settled by asking; only the failed one is sent again");
        assert_eq!(j.counts().unwrap()[0].written, 40);
        assert_eq!(j.counts().unwrap()[0].sent, 0);
    }

    #[tokio::test]
    async fn a_refusal_in_one_of_several_in_flight_batches_rejects_only_that_record() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 6, delay_polls: 10, refuse_name: Some("n14".into()), ..Fake::default() };
        let stats = load_with(&mut j, &dest, 3, (0..36).map(rec)).await.unwrap();
        assert_eq!(stats.written, 35);
        assert_eq!(stats.rejected, 1);
        assert_eq!(dest.count("companies"), 35);
        assert_eq!(j.state("companies", "14").unwrap().unwrap().0, RowState::Rejected);
        let problems = j.problems().unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].record.as_deref(), Some("14"));
        assert_eq!(problems[0].value.as_deref(), Some("n14"));
        let counts = &j.counts().unwrap()[0];
        assert_eq!((counts.written, counts.rejected, counts.sent), (35, 1, 0));
    }

    #[tokio::test]
    async fn a_fatal_answer_in_one_of_several_in_flight_batches_stops_and_the_next_run_ends_exactly_once() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 5, delay_polls: 10, ..Fake::default() };
        dest.fatal_call.borrow_mut().insert(3);
        let err = load_with(&mut j, &dest, 4, (0..60).map(rec)).await.unwrap_err();
        assert!(matches!(err, LoadError::Fatal { .. }), "{err}");
        let counts = j.counts().unwrap();
        let after_first = dest.count("companies");
        assert_eq!(counts[0].written as usize, after_first, "every confirmed batch is journalled written");
        // Batches 1 and 2 were settled before batch 3's fatal answer; 4, 5 and 6 were in flight and confirmed.
        assert_eq!(after_first, 25, "the batches in flight beside the failed one are confirmed and kept");
        dest.fatal_call.borrow_mut().clear();
        let again = load_with(&mut j, &dest, 4, (0..60).map(rec)).await.unwrap();
        assert_eq!(dest.count("companies"), 60, "no duplicate, nothing missing");
        assert_eq!(again.already, 25);
        assert_eq!(again.written, 35);
        let ids: HashSet<Uuid> = dest.rows.borrow()["companies"].iter().map(|(id, _)| *id).collect();
        assert_eq!(ids.len(), 60);
    }

    /// Records 0..10 with domain `d{key}`, except those of `repeats` which take the domain of the record given.
    fn with_repeats(repeats: &[(u32, u32)]) -> Vec<Prepared> {
        (0..10)
            .map(|k| {
                let of = repeats.iter().find(|(r, _)| *r == k).map_or(k, |(_, of)| *of);
                rec_unique(k, &format!("d{of}"))
            })
            .collect()
    }

    #[tokio::test]
    async fn a_repeated_unique_value_is_rejected_without_splitting_batches() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 4, delay_polls: 3, unique: Some("domain".into()), ..Fake::default() };
        let stats = load_with(&mut j, &dest, 2, with_repeats(&[(3, 0), (5, 1), (9, 0)])).await.unwrap();
        assert_eq!((stats.written, stats.rejected), (7, 3));
        assert_eq!(stats.calls, 2, "7 records in batches of 4, none split");
        assert_eq!(dest.unique_refusals.get(), 0, "no batch carried a repeat");
        assert_eq!(dest.count("companies"), 7);
        let problems = j.problems().unwrap();
        assert_eq!(problems.len(), 3);
        let nine = problems.iter().find(|p| p.record.as_deref() == Some("9")).unwrap();
        assert_eq!(nine.field.as_deref(), Some("domain"));
        assert_eq!(nine.value.as_deref(), Some("d0"));
        assert!(nine.message.contains("already held by companies #0"), "{nine}");
        assert_eq!(j.state("companies", "9").unwrap().unwrap().0, RowState::Rejected);

        let again = load_with(&mut j, &dest, 2, with_repeats(&[(3, 0), (5, 1), (9, 0)])).await.unwrap();
        assert_eq!((again.written, again.already, again.rejected, again.calls), (0, 7, 0, 0));
        assert_eq!(j.problems().unwrap().len(), 3, "nothing rejected twice");
    }

    #[tokio::test]
    async fn loss_of_a_repeat_whose_holder_was_refused_is_prevented() {
        let (_d, mut j) = journal();
        // 2 holds d2 but is refused for its name; 6 takes d2 then, and 8 (also d2) is refused as 6's repeat.
        let dest = Fake { cap: 4, unique: Some("domain".into()), refuse_name: Some("n2".into()), ..Fake::default() };
        let stats = load(&mut j, &dest, "companies", with_repeats(&[(6, 2), (8, 2)])).await.unwrap();
        assert_eq!((stats.written, stats.rejected), (8, 2));
        assert_eq!(dest.unique_refusals.get(), 0);
        assert_eq!(j.state("companies", "6").unwrap().unwrap().0, RowState::Written);
        assert_eq!(j.state("companies", "2").unwrap().unwrap().0, RowState::Rejected);
        let problems = j.problems().unwrap();
        let eight = problems.iter().find(|p| p.record.as_deref() == Some("8")).unwrap();
        assert!(eight.message.contains("already held by companies #6"), "{eight}");
    }

    #[tokio::test]
    async fn records_sharing_a_value_the_destination_refuses_are_decided_in_two_rounds_not_one_each() {
        let (_d, mut j) = journal();
        // Every record carries the same domain and a name the destination refuses: each must be tried (the
        // destination may take any of them), and each is refused for its own name.
        let dest = Fake {
            cap: 10,
            unique: Some("domain".into()),
            refuse_name: Some("bad".into()),
            delay_polls: 3,
            ..Fake::default()
        };
        let records = (1..=30).map(|k| {
            let mut r = rec_unique(k, "shared.example");
            r.values.insert("name".into(), Value::from("bad"));
            r
        });
        let stats = load(&mut j, &dest, "companies", records).await.unwrap();
        assert_eq!((stats.written, stats.rejected), (0, 30), "no record is lost and none written");
        assert_eq!(stats.calls, 30, "one call per record: each is refused alone");
        assert!(dest.max_outstanding.get() > 1, "the last round's records are sent side by side, not one round each");
        assert_eq!(j.problems().unwrap().len(), 30);
    }

    #[tokio::test]
    async fn a_repeat_of_a_record_written_by_an_earlier_run_is_rejected_without_a_call() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 4, unique: Some("domain".into()), ..Fake::default() };
        load(&mut j, &dest, "companies", (0..3).map(|k| rec_unique(k, &format!("d{k}")))).await.unwrap();
        let again = (0..4).map(|k| rec_unique(k, &format!("d{}", if k == 3 { 1 } else { k })));
        let stats = load(&mut j, &dest, "companies", again).await.unwrap();
        assert_eq!((stats.already, stats.written, stats.rejected, stats.calls), (3, 0, 1, 0));
        assert_eq!(dest.unique_refusals.get(), 0);
        assert!(j.problems().unwrap()[0].message.contains("already held by companies #1"));
    }

    #[tokio::test]
    async fn records_set_aside_behind_a_written_holder_are_rejected_before_the_end() {
        let (_d, mut j) = journal();
        let dest = Fake { cap: 50, delay_polls: 2, unique: Some("domain".into()), ..Fake::default() };
        let records = (0..4000).map(|k| rec_unique(k, &format!("d{}", k % 100)));
        let mut l = Loader::new(&mut j, &dest, obj("companies")).await.unwrap().with_concurrency(2);
        let mut most_aside = 0;
        for r in records {
            l.push(r).await.unwrap();
            most_aside = most_aside.max(l.aside.len());
        }
        let rejected_before_the_end = l.stats.rejected;
        let stats = l.finish().await.unwrap();
        assert!(most_aside <= ASIDE_CHECK_AT + 100, "at most {most_aside} records waited aside at once");
        assert!(rejected_before_the_end >= 3000, "only {rejected_before_the_end} rejected before the end");
        assert_eq!((stats.written, stats.rejected), (100, 3900), "the same outcome as deciding all at the end");
        assert_eq!(dest.count("companies"), 100);
        assert_eq!(dest.unique_refusals.get(), 0, "no call carried a taken value");
        let problems = j.problems().unwrap();
        assert_eq!(problems.len(), 3900);
        let p = problems.iter().find(|p| p.record.as_deref() == Some("3999")).unwrap();
        assert!(p.message.contains("\"d99\" is already held by companies #99"), "{p}");
    }
}
