//! Records: paging, batch create/upsert (exactly once), update, delete, restore, members.

use std::collections::{HashSet, VecDeque};

use futures::{Stream, StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::client::{Call, Route, TwentyClient};
use crate::error::{ErrorKind, RecordRef, TwentyError};
use crate::filter::{Filter, OrderBy};
use crate::metrics::Metrics;
use crate::schema::{FieldType, ObjectMeta};

/// A record as JSON (field name → value).
pub type Record = Map<String, Value>;

/// What to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// `?filter=`.
    pub filter: Option<Filter>,
    /// `?order_by=` (the server always adds an id tiebreaker).
    pub order_by: Vec<OrderBy>,
    /// Records per page; default the client's `page_size` (200).
    pub page_size: Option<usize>,
    /// `?depth=` (0 = join columns only, the server's default; 1 = nested relations).
    pub depth: Option<u8>,
}

impl ListQuery {
    /// A query with a filter.
    pub fn filtered(filter: Filter) -> ListQuery {
        ListQuery { filter: Some(filter), ..ListQuery::default() }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// `totalCount` (all matching records, not just this page).
    pub total_count: Option<u64>,
    /// `pageInfo.endCursor`, for `starting_after`.
    pub end_cursor: Option<String>,
    /// `pageInfo.hasNextPage`.
    pub has_next_page: bool,
}

/// Create or upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Plain create: a taken unique value (or id) is a duplicate error.
    Create,
    /// `?upsert=true`: a record whose id or unique value (domain, e-mail…) matches an existing one — including a
    /// soft-deleted one, which is restored — updates it instead.
    Upsert,
}

/// Hard or soft delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    /// Remove the row (the server's default).
    Hard,
    /// Set `deletedAt` (`?soft_delete=true`); restorable.
    Soft,
}

/// What happened to one record of a batch.
#[derive(Debug, Clone)]
pub enum RecordOutcome {
    /// The server confirmed the write and returned the record (for an upsert that matched an existing record,
    /// the existing id).
    Written(Record),
    /// A record with this id already exists: written by an earlier attempt whose answer was lost, or by an
    /// earlier run. It was not written again.
    Present {
        /// The record's id.
        id: Uuid,
    },
    /// The server refused this record (the rest of the batch went on).
    Rejected(TwentyError),
}

impl RecordOutcome {
    /// The id of the record on the server, unless it was rejected.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            RecordOutcome::Written(r) => r.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()),
            RecordOutcome::Present { id } => Some(*id),
            RecordOutcome::Rejected(_) => None,
        }
    }
}

/// The outcome of [`TwentyClient::create_batch_idempotent`]: one entry per input record, in input order.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    /// Outcomes in input order.
    pub outcomes: Vec<RecordOutcome>,
}

impl BatchOutcome {
    /// Records written by this call.
    pub fn written(&self) -> usize {
        self.outcomes.iter().filter(|o| matches!(o, RecordOutcome::Written(_))).count()
    }

    /// Records found already present.
    pub fn present(&self) -> usize {
        self.outcomes.iter().filter(|o| matches!(o, RecordOutcome::Present { .. })).count()
    }

    /// The rejected records' errors, with their input index.
    pub fn rejected(&self) -> Vec<(usize, &TwentyError)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                RecordOutcome::Rejected(e) => Some((i, e)),
                _ => None,
            })
            .collect()
    }
}

/// A workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceMember {
    /// The member's record id (what relations such as `accountOwnerId` store).
    pub id: Uuid,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The user's e-mail (`userEmail`), the key to match members across systems.
    pub email: String,
    /// The user id.
    pub user_id: Option<String>,
}

/// The single value under `data` (`createCompany`, `companies`, `deleteCompanies`…).
fn data_value(body: &Value) -> Option<&Value> {
    body.get("data")?.as_object()?.values().next()
}

fn record_id(record: &Record) -> Option<Uuid> {
    record.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

fn protocol(op: &str, object: &str, what: &str) -> TwentyError {
    TwentyError::new(ErrorKind::Protocol, op, format!("unexpected answer: {what}")).with_object(object)
}

/// Whether `record` sets a unique field of `meta` (for composites, the sub-field the constraint is on).
fn has_unique_value(meta: &ObjectMeta, record: &Record) -> bool {
    meta.unique_fields().any(|f| {
        let Some(v) = record.get(&f.name) else { return false };
        let v = match f.field_type.composite().and_then(|c| c.unique_subfield()) {
            Some(sub) => v.get(sub).unwrap_or(&Value::Null),
            None => v,
        };
        !(v.is_null() || v.as_str().is_some_and(str::is_empty))
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TwentyClient {
    fn object_meta(&self, object: &str, op: &str) -> Result<ObjectMeta, TwentyError> {
        self.schema().require(object, op).cloned()
    }

    /// One page of `object` (singular or plural name) after `cursor`.
    pub async fn list_page(&self, object: &str, query: &ListQuery, cursor: Option<&str>) -> Result<Page, TwentyError> {
        let meta = self.object_meta(object, "list")?;
        let op = format!("list {}", meta.name_plural);
        let limit = query.page_size.unwrap_or(self.inner.options.page_size).max(1);
        let mut call = Call::new(Method::GET, Route::Records, format!("rest/{}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .query("limit", limit.to_string());
        if let Some(f) = &query.filter {
            call = call.query("filter", f.as_str());
        }
        if !query.order_by.is_empty() {
            call = call.query("order_by", OrderBy::render(&query.order_by));
        }
        if let Some(d) = query.depth {
            call = call.query("depth", d.to_string());
        }
        if let Some(c) = cursor {
            call = call.query("starting_after", c);
        }
        let body = self.json(call).await?;
        let records = data_value(&body)
            .and_then(Value::as_array)
            .ok_or_else(|| protocol(&op, &meta.name_singular, "no data array"))?
            .iter()
            .filter_map(|r| r.as_object().cloned())
            .collect();
        let info = body.get("pageInfo");
        Ok(Page {
            records,
            total_count: body.get("totalCount").and_then(Value::as_u64),
            end_cursor: info.and_then(|i| i.get("endCursor")).and_then(Value::as_str).map(str::to_owned),
            has_next_page: info.and_then(|i| i.get("hasNextPage")).and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Every page of `object`, following `starting_after` cursors until `hasNextPage` is false.
    pub fn pages(
        &self,
        object: &str,
        query: ListQuery,
    ) -> impl Stream<Item = Result<Page, TwentyError>> + Send + 'static {
        let client = self.clone();
        let object = object.to_owned();
        stream::try_unfold(
            (client, object, query, None::<String>, false),
            |(client, object, query, cursor, done)| async move {
                if done {
                    return Ok(None);
                }
                let page = client.list_page(&object, &query, cursor.as_deref()).await?;
                let next = page.end_cursor.clone();
                let finished = !page.has_next_page || next.is_none() || page.records.is_empty();
                Ok(Some((page, (client, object, query, next, finished))))
            },
        )
    }

    /// Every record of `object`, page by page (a stream: memory stays at one page).
    pub fn list(
        &self,
        object: &str,
        query: ListQuery,
    ) -> impl Stream<Item = Result<Record, TwentyError>> + Send + 'static {
        self.pages(object, query).map_ok(|p| stream::iter(p.records.into_iter().map(Ok))).try_flatten()
    }

    /// Every record of `object` collected in memory.
    pub async fn list_all(&self, object: &str, query: ListQuery) -> Result<Vec<Record>, TwentyError> {
        self.list(object, query).try_collect().await
    }

    /// `totalCount` for `object` with an optional filter (one request with `limit=1`).
    pub async fn count(&self, object: &str, filter: Option<Filter>) -> Result<u64, TwentyError> {
        let q = ListQuery { filter, page_size: Some(1), ..ListQuery::default() };
        let page = self.list_page(object, &q, None).await?;
        Ok(page.total_count.unwrap_or(page.records.len() as u64))
    }

    /// One record by id; `None` when the server answers 404 (which includes soft-deleted records).
    pub async fn get(&self, object: &str, id: Uuid) -> Result<Option<Record>, TwentyError> {
        let meta = self.object_meta(object, "get")?;
        let op = format!("get {}", meta.name_singular);
        let call = Call::new(Method::GET, Route::Records, format!("rest/{}/{id}", meta.name_plural), op.clone())
            .object(&meta.name_singular);
        match self.json(call).await {
            Ok(body) => Ok(Some(
                data_value(&body)
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| protocol(&op, &meta.name_singular, "no record"))?,
            )),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.with_record(RecordRef::Id(id))),
        }
    }

    /// Which of `ids` exist on the server (`id[in]:[…]`). With `include_deleted`, soft-deleted records count too
    /// (one more look-up per chunk with `deletedAt[is]:NOT_NULL`, since the server hides them otherwise).
    pub async fn existing_ids(
        &self,
        object: &str,
        ids: &[Uuid],
        include_deleted: bool,
    ) -> Result<HashSet<Uuid>, TwentyError> {
        let mut found = HashSet::new();
        let chunk = self.inner.options.page_size.clamp(1, 200);
        for part in ids.chunks(chunk) {
            let mut filters = vec![Filter::ids(part)];
            if include_deleted {
                filters.push(Filter::and([Filter::ids(part), Filter::not_null("deletedAt")]));
            }
            for filter in filters {
                let q = ListQuery { filter: Some(filter), page_size: Some(part.len()), ..ListQuery::default() };
                let mut pages = std::pin::pin!(self.pages(object, q));
                while let Some(page) = pages.next().await {
                    found.extend(page?.records.iter().filter_map(record_id));
                }
            }
        }
        Ok(found)
    }

    /// Creates (or upserts) one record. Not retried when the answer is lost (see
    /// [`TwentyClient::create_batch_idempotent`] for exactly-once writes).
    pub async fn create_one(&self, object: &str, record: Value, mode: WriteMode) -> Result<Record, TwentyError> {
        let meta = self.object_meta(object, "create")?;
        let op = format!("create {}", meta.name_singular);
        let id = record.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
        let mut call = Call::new(Method::POST, Route::Records, format!("rest/{}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .idempotent(mode == WriteMode::Upsert && id.is_some())
            .json(record.clone());
        if mode == WriteMode::Upsert {
            call = call.query("upsert", "true");
        }
        self.write_one(&meta, &op, call, &record, id).await
    }

    /// Sends a call that writes one record and returns the record the server answers; a failure is explained
    /// with the record's fields (which field, which value).
    async fn write_one(
        &self,
        meta: &ObjectMeta,
        op: &str,
        call: Call,
        sent: &Value,
        id: Option<Uuid>,
    ) -> Result<Record, TwentyError> {
        match self.json(call).await {
            Ok(body) => {
                Metrics::add(&self.inner.metrics.records_written, 1);
                data_value(&body)
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| protocol(op, &meta.name_singular, "no record"))
            }
            Err(e) => {
                let obj = sent.as_object().cloned().unwrap_or_default();
                Err(self.explain(meta, e, &obj, id.map(RecordRef::Id)).await)
            }
        }
    }

    /// Sends `records` in batches of the server's cap, one request per batch, and returns the written records in
    /// input order. Stops at the first error (its record is the batch's first index); a lost answer is returned
    /// as an error with `outcome_unknown`. For exactly-once loading use [`TwentyClient::create_batch_idempotent`].
    pub async fn create_batch(
        &self,
        object: &str,
        records: Vec<Value>,
        mode: WriteMode,
    ) -> Result<Vec<Record>, TwentyError> {
        let meta = self.object_meta(object, "create batch")?;
        let mut out = Vec::with_capacity(records.len());
        let mut start = 0;
        while start < records.len() {
            let cap = self.batch_cap();
            let end = (start + cap).min(records.len());
            match self.send_batch(&meta, &records[start..end], mode).await {
                Ok(written) => {
                    out.extend(written);
                    start = end;
                }
                Err(e) if matches!(e.kind, ErrorKind::TooManyRecords { .. }) && end - start > 1 => {
                    self.lower_batch_cap(e.batch_cap().unwrap_or((end - start) / 2));
                }
                Err(e) => return Err(e.with_record(RecordRef::Index(start))),
            }
        }
        Ok(out)
    }

    pub(crate) async fn send_batch(
        &self,
        meta: &ObjectMeta,
        records: &[Value],
        mode: WriteMode,
    ) -> Result<Vec<Record>, TwentyError> {
        let op = format!("create {} (batch of {})", meta.name_plural, records.len());
        let all_ids = records.iter().all(|r| r.get("id").is_some());
        let mut call = Call::new(Method::POST, Route::Records, format!("rest/batch/{}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .idempotent(mode == WriteMode::Upsert && all_ids)
            .json(Value::Array(records.to_vec()));
        if mode == WriteMode::Upsert {
            call = call.query("upsert", "true");
        }
        let body = self.json(call).await?;
        let written: Vec<Record> = data_value(&body)
            .and_then(Value::as_array)
            .ok_or_else(|| protocol(&op, &meta.name_singular, "no data array"))?
            .iter()
            .filter_map(|r| r.as_object().cloned())
            .collect();
        if written.len() != records.len() {
            return Err(protocol(
                &op,
                &meta.name_singular,
                &format!("{} records sent, {} returned", records.len(), written.len()),
            ));
        }
        Metrics::add(&self.inner.metrics.records_written, written.len() as u64);
        Ok(written)
    }

    /// Creates (or upserts) `records` exactly once, in batches of the server's cap.
    ///
    /// - Every record gets a client id (a random UUID where the caller gave none), so a write can be recognised —
    ///   except, in upsert mode, a record that sets a unique value (domain, e-mail…): it is matched by that value.
    /// - When a batch's answer is lost (timeout, dropped connection, 5xx after sending), the client looks up which
    ///   ids exist and re-sends only the missing records (an upsert batch is simply re-sent: it is idempotent).
    /// - A duplicate error triggers the same look-up: records already present are reported as
    ///   [`RecordOutcome::Present`] and not written again.
    /// - A record the server refuses (validation, missing relation target, taken unique value) is isolated by
    ///   splitting the batch and reported as [`RecordOutcome::Rejected`] naming its index, id, field and value;
    ///   the other records are written.
    /// - A `Maximum number of records to upsert is N.` answer lowers the batch size to N for this and later calls.
    ///
    /// Returns `Err` only for failures that concern the whole call (auth, unknown object, retries exhausted).
    pub async fn create_batch_idempotent(
        &self,
        object: &str,
        records: Vec<Value>,
        mode: WriteMode,
    ) -> Result<BatchOutcome, TwentyError> {
        let meta = self.object_meta(object, "create batch")?;
        let n = records.len();
        let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; n];
        let mut items: Vec<(Value, Uuid)> = Vec::with_capacity(n);
        let mut pending: Vec<usize> = Vec::with_capacity(n);
        for (i, r) in records.into_iter().enumerate() {
            let op = format!("create {}", meta.name_plural);
            let Value::Object(mut obj) = r else {
                outcomes[i] = Some(RecordOutcome::Rejected(
                    TwentyError::new(ErrorKind::InvalidInput, op, "a record must be a JSON object")
                        .with_object(&meta.name_singular)
                        .with_record(RecordRef::Index(i)),
                ));
                items.push((Value::Null, Uuid::nil()));
                continue;
            };
            let id = match obj.get("id") {
                // An upsert that can match on a unique value keeps no id: a re-send matches the same record again,
                // and an existing record is never asked to take a new id.
                None | Some(Value::Null) if mode == WriteMode::Upsert && has_unique_value(&meta, &obj) => {
                    obj.remove("id");
                    Uuid::nil()
                }
                None | Some(Value::Null) => {
                    let id = Uuid::new_v4();
                    obj.insert("id".into(), Value::String(id.to_string()));
                    id
                }
                Some(v) => match v.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                    Some(id) => id,
                    None => {
                        outcomes[i] = Some(RecordOutcome::Rejected(
                            self.scrub(
                                TwentyError::new(ErrorKind::InvalidInput, op, "the record's id is not a UUID")
                                    .with_object(&meta.name_singular)
                                    .with_record(RecordRef::Index(i))
                                    .with_field("id")
                                    .with_value(value_text(v))
                                    .with_hint("give each record a UUID id, or none to let the client assign one"),
                            ),
                        ));
                        items.push((Value::Null, Uuid::nil()));
                        continue;
                    }
                },
            };
            items.push((Value::Object(obj), id));
            pending.push(i);
        }

        let mut queue: VecDeque<(Vec<usize>, u32)> = VecDeque::new();
        queue.push_back((pending, 0));
        let max_rounds = self.inner.options.retry.max_retries as u32 + 1;
        while let Some((chunk, rounds)) = queue.pop_front() {
            if chunk.is_empty() {
                continue;
            }
            let cap = self.batch_cap();
            if chunk.len() > cap {
                for (k, part) in chunk.chunks(cap).enumerate().collect::<Vec<_>>().into_iter().rev() {
                    let _ = k;
                    queue.push_front((part.to_vec(), rounds));
                }
                continue;
            }
            let payload: Vec<Value> = chunk.iter().map(|&i| items[i].0.clone()).collect();
            let err = match self.send_batch(&meta, &payload, mode).await {
                Ok(written) => {
                    for (&i, rec) in chunk.iter().zip(written) {
                        outcomes[i] = Some(RecordOutcome::Written(rec));
                    }
                    continue;
                }
                Err(e) => e,
            };
            if let ErrorKind::TooManyRecords { max } = err.kind
                && chunk.len() > 1
            {
                self.lower_batch_cap(max.unwrap_or(chunk.len() / 2).min(chunk.len() - 1));
                queue.push_front((chunk, rounds));
                continue;
            }
            let ambiguous = err.outcome_unknown;
            if ambiguous || (err.kind == ErrorKind::Duplicate && mode == WriteMode::Create) {
                if rounds >= max_rounds {
                    return Err(err.with_record(RecordRef::Index(chunk[0])));
                }
                if mode == WriteMode::Upsert {
                    if ambiguous {
                        tracing::info!(object = %meta.name_singular, records = chunk.len(), "upsert answer lost; re-sending");
                        queue.push_front((chunk, rounds + 1));
                        continue;
                    }
                } else {
                    Metrics::add(&self.inner.metrics.reconciliations, 1);
                    let ids: Vec<Uuid> = chunk.iter().map(|&i| items[i].1).collect();
                    let present = self.existing_ids(&meta.name_singular, &ids, false).await?;
                    tracing::info!(
                        object = %meta.name_singular,
                        sent = chunk.len(),
                        present = present.len(),
                        ambiguous,
                        "reconciled a batch by id"
                    );
                    let missing: Vec<usize> =
                        chunk.iter().copied().filter(|&i| !present.contains(&items[i].1)).collect();
                    for &i in &chunk {
                        if present.contains(&items[i].1) {
                            outcomes[i] = Some(RecordOutcome::Present { id: items[i].1 });
                        }
                    }
                    if ambiguous || missing.len() < chunk.len() {
                        queue.push_front((missing, rounds + 1));
                        continue;
                    }
                    // A duplicate although none of our ids exists: a unique value is taken. Isolate it below.
                }
            }
            if err.kind.is_record_level() {
                if chunk.len() > 1 {
                    let mid = chunk.len() / 2;
                    queue.push_front((chunk[mid..].to_vec(), rounds));
                    queue.push_front((chunk[..mid].to_vec(), rounds));
                } else {
                    let i = chunk[0];
                    let obj = items[i].0.as_object().cloned().unwrap_or_default();
                    let e = self.explain(&meta, err, &obj, Some(RecordRef::IndexAndId(i, items[i].1))).await;
                    outcomes[i] = Some(RecordOutcome::Rejected(e));
                }
                continue;
            }
            return Err(err.with_record(RecordRef::Index(chunk[0])));
        }
        let outcomes = outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    RecordOutcome::Rejected(
                        TwentyError::new(ErrorKind::Protocol, "create batch", "no outcome recorded")
                            .with_record(RecordRef::Index(i)),
                    )
                })
            })
            .collect();
        Ok(BatchOutcome { outcomes })
    }

    /// Adds the record, field, value and a precise hint to a record-level error, using the schema.
    pub(crate) async fn explain(
        &self,
        meta: &ObjectMeta,
        mut err: TwentyError,
        record: &Record,
        which: Option<RecordRef>,
    ) -> TwentyError {
        err.object = Some(meta.name_singular.clone());
        if let Some(w) = which {
            err.record = Some(w);
        }
        match err.kind {
            ErrorKind::MissingRelationTarget => {
                // The server names only the constraint; find the relation columns this record sets.
                let mut candidates = Vec::new();
                for f in meta.join_columns() {
                    let Some(col) = &f.join_column else { continue };
                    if let Some(v) = record.get(col).filter(|v| !v.is_null()) {
                        candidates.push((col.clone(), f.points_at().unwrap_or("?").to_owned(), value_text(v)));
                    }
                }
                // Narrow down by asking which targets exist (only on this error path).
                let mut missing = Vec::new();
                for (col, target, value) in &candidates {
                    let exists = match Uuid::parse_str(value) {
                        Ok(id) if self.schema().object(target).is_some() => {
                            self.existing_ids(target, &[id], true).await.map(|s| s.contains(&id)).unwrap_or(false)
                        }
                        _ => false,
                    };
                    if !exists {
                        missing.push((col.clone(), target.clone(), value.clone()));
                    }
                }
                let pick = if missing.len() == 1 {
                    missing.first()
                } else if candidates.len() == 1 {
                    candidates.first()
                } else {
                    None
                };
                if let Some((col, target, value)) = pick {
                    err.field = Some(col.clone());
                    err.value = Some(value.clone());
                    err.hint = Some(format!(
                        "no {target} with id {value} exists; load the {target} records first, or clear {col}"
                    ));
                } else if !candidates.is_empty() {
                    let list: Vec<String> = candidates.iter().map(|(c, t, v)| format!("{c} → {t} {v}")).collect();
                    err.hint = Some(format!(
                        "one of these relation ids points at a missing record: {}; load parents first",
                        list.join(", ")
                    ));
                }
            }
            ErrorKind::Duplicate => {
                let mut taken = Vec::new();
                for f in meta.unique_fields() {
                    let Some(v) = record.get(&f.name).filter(|v| !v.is_null()) else { continue };
                    let (path, value) = match f.field_type.composite().and_then(|c| c.unique_subfield()) {
                        Some(sub) => (format!("{}.{sub}", f.name), v.get(sub).map(value_text)),
                        None => (f.name.clone(), Some(value_text(v))),
                    };
                    if let Some(value) = value.filter(|s| !s.is_empty()) {
                        taken.push((path, value));
                    }
                }
                if taken.len() == 1 {
                    let (path, value) = &taken[0];
                    err.field = Some(path.clone());
                    err.value = Some(crate::error::short_value(value));
                }
                let what = if taken.is_empty() {
                    "the id".to_owned()
                } else {
                    taken.iter().map(|(p, v)| format!("{p} = {v}")).collect::<Vec<_>>().join(", ")
                };
                err.hint = Some(format!(
                    "{what} is already used by another {} (soft-deleted records count too); write with \
                     WriteMode::Upsert to update that record, or restore/delete it first",
                    meta.name_singular
                ));
            }
            ErrorKind::InvalidValue | ErrorKind::UnknownField | ErrorKind::BadRequest => {
                if let Some(field) = err.field.clone() {
                    let base = field.split('.').next().unwrap_or(&field).to_owned();
                    if err.value.is_none()
                        && let Some(v) = record.get(&base)
                    {
                        err.value = Some(crate::error::short_value(&value_text(v)));
                    }
                    match meta.field(&base).or_else(|| meta.field_by_join_column(&base)) {
                        Some(f) if matches!(f.field_type, FieldType::Select | FieldType::MultiSelect) => {
                            err.hint = Some(format!(
                                "{}.{} accepts only: {}; map the value or add the option first",
                                meta.name_singular,
                                f.name,
                                f.option_values()
                            ));
                        }
                        Some(f) => {
                            let shape = f
                                .field_type
                                .composite()
                                .map(|c| format!(" with sub-fields {}", c.subfields().join(", ")))
                                .unwrap_or_default();
                            err.hint = Some(format!(
                                "{}.{} is a {} field{shape}; send a value of that type",
                                meta.name_singular,
                                f.name,
                                f.field_type.as_str()
                            ));
                        }
                        None if err.kind == ErrorKind::UnknownField => {
                            err.hint = Some(format!(
                                "{} has no field \"{base}\"; create it (create_field) or drop it from the mapping",
                                meta.name_singular
                            ));
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
        self.scrub(err)
    }

    /// Updates one record with `patch` (composite sub-fields are merged by the server).
    pub async fn update_one(&self, object: &str, id: Uuid, patch: Value) -> Result<Record, TwentyError> {
        let meta = self.object_meta(object, "update")?;
        let op = format!("update {}", meta.name_singular);
        let call = Call::new(Method::PATCH, Route::Records, format!("rest/{}/{id}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .json(patch.clone());
        self.write_one(&meta, &op, call, &patch, Some(id)).await
    }

    /// Deletes one record. Returns `false` when it did not exist (404), so a retried delete is not an error.
    pub async fn delete_one(&self, object: &str, id: Uuid, mode: DeleteMode) -> Result<bool, TwentyError> {
        let meta = self.object_meta(object, "delete")?;
        let mut call = Call::new(
            Method::DELETE,
            Route::Records,
            format!("rest/{}/{id}", meta.name_plural),
            format!("delete {}", meta.name_singular),
        )
        .object(&meta.name_singular);
        if mode == DeleteMode::Soft {
            call = call.query("soft_delete", "true");
        }
        match self.execute(call).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.with_record(RecordRef::Id(id))),
        }
    }

    /// Deletes every record matching `filter` in one call; returns their ids.
    pub async fn delete_by_filter(
        &self,
        object: &str,
        filter: &Filter,
        mode: DeleteMode,
    ) -> Result<Vec<Uuid>, TwentyError> {
        let meta = self.object_meta(object, "delete by filter")?;
        let op = format!("delete {} where {filter}", meta.name_plural);
        let mut call = Call::new(Method::DELETE, Route::Records, format!("rest/{}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .query("filter", filter.as_str());
        if mode == DeleteMode::Soft {
            call = call.query("soft_delete", "true");
        }
        let body = self.json(call).await?;
        Ok(data_value(&body)
            .and_then(Value::as_array)
            .ok_or_else(|| protocol(&op, &meta.name_singular, "no data array"))?
            .iter()
            .filter_map(|r| r.as_object().and_then(record_id))
            .collect())
    }

    /// Deletes these records for good (hard delete, not to the trash), soft-deleted ones included, in batches of
    /// the client's batch size; ids that do not exist are ignored. Returns the ids removed.
    ///
    /// Each batch is one `DELETE /rest/{plural}?filter=and(id[in]:[…],or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL))`:
    /// a filter that names `deletedAt` makes the server see trashed rows too (exchange 65), so a record someone
    /// moved to the trash is removed as well instead of blocking its id.
    pub async fn destroy_ids(&self, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>, TwentyError> {
        let meta = self.object_meta(object, "delete by id")?;
        let mut removed = Vec::with_capacity(ids.len());
        for part in ids.chunks(self.batch_cap().clamp(1, 200)) {
            let filter = Filter::and([
                Filter::ids(part),
                Filter::or([Filter::is_null("deletedAt"), Filter::not_null("deletedAt")]),
            ]);
            let op = format!("delete {} {} by id", part.len(), meta.name_plural);
            let call = Call::new(Method::DELETE, Route::Records, format!("rest/{}", meta.name_plural), op.clone())
                .object(&meta.name_singular)
                .query("filter", filter.as_str());
            let body = self.json(call).await?;
            removed.extend(
                data_value(&body)
                    .and_then(Value::as_array)
                    .ok_or_else(|| protocol(&op, &meta.name_singular, "no data array"))?
                    .iter()
                    .filter_map(|r| r.as_object().and_then(record_id)),
            );
        }
        Ok(removed)
    }

    /// Restores the soft-deleted records matching `filter` (`PATCH /rest/restore/{plural}?filter=`; the
    /// by-id route is broken on the recorded server, exchange 68).
    pub async fn restore_by_filter(&self, object: &str, filter: &Filter) -> Result<Vec<Record>, TwentyError> {
        let meta = self.object_meta(object, "restore")?;
        let op = format!("restore {} where {filter}", meta.name_plural);
        let call = Call::new(Method::PATCH, Route::Records, format!("rest/restore/{}", meta.name_plural), op.clone())
            .object(&meta.name_singular)
            .query("filter", filter.as_str());
        let body = self.json(call).await?;
        Ok(data_value(&body)
            .and_then(Value::as_array)
            .ok_or_else(|| protocol(&op, &meta.name_singular, "no data array"))?
            .iter()
            .filter_map(|r| r.as_object().cloned())
            .collect())
    }

    /// The workspace's members (`/rest/workspaceMembers`, every page).
    pub async fn workspace_members(&self) -> Result<Vec<WorkspaceMember>, TwentyError> {
        let records = self.list_all("workspaceMember", ListQuery::default()).await?;
        let s = |r: &Record, ptr: &str| {
            Value::Object(r.clone()).pointer(ptr).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        Ok(records
            .iter()
            .filter_map(|r| {
                Some(WorkspaceMember {
                    id: record_id(r)?,
                    first_name: s(r, "/name/firstName"),
                    last_name: s(r, "/name/lastName"),
                    email: s(r, "/userEmail"),
                    user_id: r.get("userId").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect())
    }
}
