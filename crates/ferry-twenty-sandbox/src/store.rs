//! The workspace state: records of every object with their unique indexes, and the writes Twenty performs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::config::{MemberSeed, TargetColumns};
use crate::error::ApiError;
use crate::filter::Filter;
use crate::schema::{FieldMeta, ObjectMeta, Schema, pascal, standard_id};
use crate::values::{
    coerce_field, composite_subfields, field_empty, is_uuid, jsonb_normalize, now_iso, unique_subfield,
};

/// One stored record: body keys → stored values (composites as objects, join columns as ids).
pub type Row = Map<String, Value>;

/// The rows of one object, by id (ascending, like the default order), with unique indexes.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Rows by id (soft-deleted ones too). Shared, so an answer can be written from them after the lock is let go.
    pub rows: BTreeMap<String, Arc<Row>>,
    /// Unique index: "field" or "field.sub" → value → id.
    unique: HashMap<String, HashMap<String, String>>,
    /// How many rows are soft-deleted (lets lists skip the check when none is).
    deleted: usize,
    /// Smallest position among live rows, when known.
    min_position: Option<f64>,
}

fn is_deleted(row: &Row) -> bool {
    row.get("deletedAt").is_some_and(|v| !v.is_null())
}

/// A stored file.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// Bytes.
    pub bytes: Vec<u8>,
    /// Original file name.
    pub original_name: String,
    /// Content type sent at upload.
    pub content_type: String,
    /// Upload time.
    pub created_at: String,
    /// File id (uuid).
    pub id: String,
}

/// What a write changed, for persistence.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A row was written (object, id).
    Row(String, String),
    /// A row was removed (object, id).
    Removed(String, String),
    /// The metadata changed.
    Schema,
    /// A file was stored (path).
    File(String),
}

/// Options of one create call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOptions {
    /// `?upsert=true`.
    pub upsert: bool,
}

/// The whole workspace.
#[derive(Debug)]
pub struct State {
    /// Data model.
    pub schema: Schema,
    /// Records by object singular name.
    pub tables: HashMap<String, Table>,
    /// Stored files by path (`attachment/<uuid>.txt`).
    pub files: BTreeMap<String, StoredFile>,
    /// Workspace id.
    pub workspace_id: String,
    /// Name of the API key (createdBy.name).
    pub api_key_name: String,
    /// Version setting for note/task targets.
    pub target_columns: TargetColumns,
    /// Changes not yet persisted.
    pub pending: Vec<Change>,
}

/// The actor Twenty records for API-key writes.
pub fn api_actor(name: &str) -> Value {
    json!({"source": "API", "workspaceMemberId": null, "name": name, "context": {}})
}

impl Table {
    fn index_keys(obj: &ObjectMeta) -> Vec<(String, String, Option<&'static str>)> {
        obj.fields
            .iter()
            .filter(|f| f.is_unique && f.name != "id")
            .map(|f| {
                let sub = unique_subfield(&f.ftype);
                let key = match sub {
                    Some(s) => format!("{}.{s}", f.name),
                    None => f.name.clone(),
                };
                (key, f.name.clone(), sub)
            })
            .collect()
    }

    fn unique_value(row: &Row, field: &str, sub: Option<&str>) -> Option<String> {
        let mut v = row.get(field)?;
        if let Some(s) = sub {
            v = v.get(s)?;
        }
        match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// Rebuilds the unique indexes (after a schema change or a load).
    pub fn reindex(&mut self, obj: &ObjectMeta) {
        let keys = Self::index_keys(obj);
        let mut unique: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (key, field, sub) in &keys {
            let idx = unique.entry(key.clone()).or_default();
            for (id, row) in &self.rows {
                if let Some(v) = Self::unique_value(row, field, *sub) {
                    idx.insert(v, id.clone());
                }
            }
        }
        self.unique = unique;
        self.deleted = self.rows.values().filter(|r| is_deleted(r)).count();
        self.min_position = None;
    }

    /// Smallest position among live rows (cached).
    fn min_live_position(&mut self) -> Option<f64> {
        if self.min_position.is_none() {
            let min = self
                .rows
                .values()
                .filter(|r| !is_deleted(r))
                .filter_map(|r| r.get("position").and_then(Value::as_f64))
                .fold(f64::INFINITY, f64::min);
            self.min_position = min.is_finite().then_some(min);
        }
        self.min_position
    }

    fn index_row(&mut self, obj: &ObjectMeta, id: &str, row: &Row, add: bool) {
        for (key, field, sub) in Self::index_keys(obj) {
            if let Some(v) = Self::unique_value(row, &field, sub) {
                let idx = self.unique.entry(key).or_default();
                if add {
                    idx.insert(v, id.to_string());
                } else if idx.get(&v).map(String::as_str) == Some(id) {
                    idx.remove(&v);
                }
            }
        }
    }

    /// Ids of rows (soft-deleted too) holding one of `row`'s unique values, other than `except`.
    fn conflicts(&self, obj: &ObjectMeta, row: &Row, except: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for (key, field, sub) in Self::index_keys(obj) {
            if let Some(v) = Self::unique_value(row, &field, sub)
                && let Some(id) = self.unique.get(&key).and_then(|idx| idx.get(&v))
                && Some(id.as_str()) != except
                && !out.contains(id)
            {
                out.push(id.clone());
            }
        }
        out
    }

    /// Inserts or replaces a row, keeping the indexes; answers the stored row (none for a row without an id).
    pub fn put(&mut self, obj: &ObjectMeta, row: Row) -> Option<Arc<Row>> {
        let id = row.get("id").and_then(Value::as_str).map(str::to_string)?;
        if let Some(old) = self.rows.remove(&id) {
            self.index_row(obj, &id, &old, false);
            if is_deleted(&old) {
                self.deleted = self.deleted.saturating_sub(1);
            }
            self.forget_position(&old);
        }
        self.index_row(obj, &id, &row, true);
        if is_deleted(&row) {
            self.deleted += 1;
        } else if let (Some(min), Some(p)) = (self.min_position, row.get("position").and_then(Value::as_f64)) {
            self.min_position = Some(min.min(p));
        }
        let row = Arc::new(row);
        self.rows.insert(id, row.clone());
        Some(row)
    }

    /// A live row at the smallest position leaves: the cached minimum must be recomputed.
    fn forget_position(&mut self, old: &Row) {
        if !is_deleted(old) && old.get("position").and_then(Value::as_f64) == self.min_position {
            self.min_position = None;
        }
    }

    /// Removes a row.
    pub fn remove(&mut self, obj: &ObjectMeta, id: &str) -> Option<Arc<Row>> {
        let old = self.rows.remove(id)?;
        self.index_row(obj, id, &old, false);
        if is_deleted(&old) {
            self.deleted = self.deleted.saturating_sub(1);
        }
        self.forget_position(&old);
        Some(old)
    }
}

/// What a create needs of the workspace, copied under the lock so that its records can be built without it
/// (see [`State::create_snapshot`]).
pub struct CreateSnapshot {
    obj: ObjectMeta,
    /// Every new row starts from this one (every body key at its empty value).
    template: Row,
    /// The timelineActivity object as it was (the draft is stale when it changed).
    timeline: Option<ObjectMeta>,
    /// An empty timelineActivity row, when a new record of `obj` gets one (`<object>.created`, 52).
    activity: Option<Row>,
    /// The actor of API-key writes.
    actor: Value,
    opts: CreateOptions,
}

/// The records of one create call built outside the lock: validated, with their server-computed columns and
/// timeline activities, not yet checked against the stored rows nor given positions ([`State::commit_create`]).
pub struct CreateDraft {
    snapshot: CreateSnapshot,
    now: String,
    items: Vec<DraftItem>,
}

struct DraftItem {
    /// Whether the input set `position` itself.
    sent_position: bool,
    kind: Drafted,
}

enum Drafted {
    /// A new record (no upsert), ready but for its position, with its timeline activity.
    New { row: Row, activity: Option<Row> },
    /// An upsert input: whether it creates or updates is only known against the stored rows.
    Upsert(Prepared),
}

impl CreateSnapshot {
    /// Validates `inputs` and builds their rows: every check that needs no stored row (input shapes, ids, repeats
    /// within the call). Nothing is written.
    pub fn draft(self, inputs: &[Value]) -> Result<CreateDraft, ApiError> {
        let obj = &self.obj;
        let mut prepared = Vec::with_capacity(inputs.len());
        for input in inputs {
            prepared.push(State::prepare(obj, input, false)?);
        }
        let now = now_iso();
        let mut items = Vec::with_capacity(prepared.len());
        let mut seen = SeenInCall::new(obj);
        for p in prepared {
            if let Some(Value::String(id)) = p.values.get("id")
                && !is_uuid(id)
            {
                return Err(ApiError::bad_request(format!("Invalid UUID value '{id}' for field \"id\"")));
            }
            let sent_position = p.values.contains_key("position");
            if self.opts.upsert {
                items.push(DraftItem { sent_position, kind: Drafted::Upsert(p) });
                continue;
            }
            let mut row = self.new_row(p.values, &now);
            seen.admit(&row, true)?;
            State::finish_row(obj, &mut row);
            let activity = self.activity_for(&row, &now);
            items.push(DraftItem { sent_position, kind: Drafted::New { row, activity } });
        }
        Ok(CreateDraft { snapshot: self, now, items })
    }

    /// A new row of `values` (its id the one sent, lowercased, or a new one).
    fn new_row(&self, values: Row, now: &str) -> Row {
        let mut row = self.template.clone();
        let id = values
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        row.insert("id".into(), json!(id));
        if self.obj.field("createdAt").is_some() {
            row.insert("createdAt".into(), json!(now));
        }
        if self.obj.field("updatedAt").is_some() {
            row.insert("updatedAt".into(), json!(now));
        }
        for (k, v) in values {
            if k != "id" {
                row.insert(k, v);
            }
        }
        row
    }

    /// `before` with the values of an upsert that matched it (its creator kept, restored from the trash).
    fn merged(&self, before: &Row, p: Prepared, now: &str) -> Row {
        let mut row = before.clone();
        let mut values = p.values;
        if p.has_created_by {
            values.remove("createdBy");
        }
        values.remove("id");
        let sent_updated_at = values.contains_key("updatedAt");
        for (k, v) in values {
            row.insert(k, v);
        }
        row.insert("deletedAt".into(), Value::Null);
        if !sent_updated_at {
            row.insert("updatedAt".into(), json!(now));
        }
        if self.obj.field("updatedBy").is_some() {
            row.insert("updatedBy".into(), self.actor.clone());
        }
        row
    }

    /// The `<object>.created` timeline activity of a new row.
    fn activity_for(&self, row: &Row, now: &str) -> Option<Row> {
        let template = self.activity.as_ref()?;
        let id = row.get("id").and_then(Value::as_str)?;
        let name = format!("{}.created", self.obj.name_singular);
        Some(activity_row(template, &activity_column(&self.obj), id, name, json!({}), now))
    }
}

/// The ids and unique values of the records of one create call so far: a repeat is refused, as the database
/// would refuse the second insert.
struct SeenInCall {
    keys: Vec<(String, String, Option<&'static str>)>,
    ids: HashSet<String>,
    unique: HashMap<String, HashSet<String>>,
}

impl SeenInCall {
    fn new(obj: &ObjectMeta) -> SeenInCall {
        SeenInCall { keys: Table::index_keys(obj), ids: HashSet::new(), unique: HashMap::new() }
    }

    /// Takes note of `row` (its id too when it is a new record); a repeated id or unique value is a duplicate.
    fn admit(&mut self, row: &Row, new: bool) -> Result<(), ApiError> {
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
        if new && !self.ids.insert(id.to_string()) {
            return Err(ApiError::duplicate());
        }
        for (key, field, sub) in &self.keys {
            if let Some(v) = Table::unique_value(row, field, *sub)
                && !self.unique.entry(key.clone()).or_default().insert(v)
            {
                return Err(ApiError::duplicate());
            }
        }
        Ok(())
    }
}

/// The timelineActivity column that points at a record of `obj` (`targetPersonId`…).
fn activity_column(obj: &ObjectMeta) -> String {
    format!("target{}Id", pascal(&obj.name_singular))
}

/// A timeline activity row: `template` (an empty one) naming the event, its properties and the record.
fn activity_row(template: &Row, column: &str, id: &str, name: String, properties: Value, now: &str) -> Row {
    let mut row = template.clone();
    row.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    row.insert("createdAt".into(), json!(now));
    row.insert("updatedAt".into(), json!(now));
    row.insert("happensAt".into(), json!(now));
    row.insert("name".into(), json!(name));
    row.insert("properties".into(), properties);
    row.insert("linkedRecordCachedName".into(), json!(""));
    row.insert(column.to_string(), json!(id));
    row
}

/// A validated write of one input record.
struct Prepared {
    /// Coerced values keyed by body key.
    values: Row,
    /// Whether `createdBy` was sent.
    has_created_by: bool,
}

impl State {
    /// A fresh workspace with the standard data model and the seeded members.
    pub fn new(
        schema: Schema,
        members: &[MemberSeed],
        api_key_name: &str,
        target_columns: TargetColumns,
        created_at: &str,
    ) -> State {
        let mut state = State {
            tables: schema.objects.iter().map(|o| (o.name_singular.clone(), Table::default())).collect(),
            schema,
            files: BTreeMap::new(),
            workspace_id: standard_id("workspace", "sandbox"),
            api_key_name: api_key_name.to_string(),
            target_columns,
            pending: Vec::new(),
        };
        state.seed_members(members, created_at);
        state
    }

    fn seed_members(&mut self, members: &[MemberSeed], created_at: &str) {
        let Some(obj) = self.schema.object("workspaceMember").cloned() else { return };
        for (i, m) in members.iter().enumerate() {
            let mut row = self.empty_row(&obj);
            let id = standard_id("workspaceMember", &m.email.to_lowercase());
            row.insert("id".into(), json!(id));
            row.insert("createdAt".into(), json!(created_at));
            row.insert("updatedAt".into(), json!(created_at));
            row.insert("position".into(), json!(i));
            row.insert("name".into(), json!({"firstName": m.first_name, "lastName": m.last_name}));
            row.insert("userEmail".into(), json!(m.email));
            row.insert("userId".into(), json!(standard_id("user", &m.email.to_lowercase())));
            row.insert("avatarUrl".into(), json!(""));
            Self::finish_row(&obj, &mut row);
            self.table_mut(&obj.name_singular).put(&obj, row);
            self.pending.push(Change::Row(obj.name_singular.clone(), id));
        }
    }

    /// The table of an object (created on first use).
    pub fn table_mut(&mut self, singular: &str) -> &mut Table {
        self.tables.entry(singular.to_string()).or_default()
    }

    /// A row with every body key at its empty value — but those whose empty value is null (join columns, dates,
    /// ids…): an absent key reads as null everywhere (bodies, filters, order, diffs), and keeping a null per key
    /// made a timelineActivity row (~30 null join columns) four times the size of what it holds.
    pub fn empty_row(&self, obj: &ObjectMeta) -> Row {
        let mut row = Row::new();
        for f in &obj.fields {
            match f.ftype.as_str() {
                "RELATION" | "MORPH_RELATION" => {}
                "ACTOR" => {
                    row.insert(f.name.clone(), api_actor(&self.api_key_name));
                }
                _ => {
                    let empty = field_empty(f);
                    if !empty.is_null() {
                        row.insert(f.name.clone(), empty);
                    }
                }
            }
        }
        row
    }

    /// Server-computed columns (searchVector, rich text counterpart).
    fn finish_row(obj: &ObjectMeta, row: &mut Row) {
        for f in &obj.fields {
            if f.ftype == "RICH_TEXT_V2"
                && let Some(Value::Object(rt)) = row.get_mut(&f.name)
            {
                crate::blocknote::complete_rich_text(rt);
            }
        }
        if obj.field("searchVector").is_some() {
            let sv = crate::tsvector::search_vector(obj, row);
            row.insert("searchVector".into(), sv);
        }
    }

    /// Validates one input object against `obj` (unknown fields, composite shapes, select values, UUIDs).
    fn prepare(obj: &ObjectMeta, input: &Value, partial: bool) -> Result<Prepared, ApiError> {
        let Value::Object(m) = input else {
            return Err(ApiError::bad_request(format!(
                "Invalid input for object {}: expected an object",
                obj.name_singular
            )));
        };
        let mut values = Row::new();
        let mut has_created_by = false;
        for (key, v) in m {
            let field = obj.field(key).filter(|f| f.ftype != "RELATION" && f.ftype != "MORPH_RELATION");
            let (field, body_key) = match field {
                Some(f) => (f, key.clone()),
                None => match obj.field_by_join_column(key) {
                    Some(f) => (f, key.clone()),
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "Object {} doesn't have any \"{key}\" field.",
                            obj.name_singular
                        )));
                    }
                },
            };
            if field.ftype == "TS_VECTOR" {
                continue;
            }
            if key == "createdBy" {
                has_created_by = true;
            }
            let mut coerced = coerce_field(field, key, v, partial)?;
            if field.ftype == "ACTOR"
                && let Value::Object(a) = &mut coerced
            {
                // A supplied actor keeps what was sent; unsent parts read back empty, context null (29).
                for sub in ["source", "workspaceMemberId", "name", "context"] {
                    if !a.contains_key(sub) || (partial && a[sub].is_null()) {
                        a.insert(sub.into(), if sub == "source" { json!("MANUAL") } else { Value::Null });
                    }
                }
                if m.get(key).and_then(|x| x.get("context")).is_none_or(Value::is_null) {
                    a.insert("context".into(), Value::Null);
                }
                let ordered: Row = ["source", "workspaceMemberId", "name", "context"]
                    .iter()
                    .map(|k| (k.to_string(), a[*k].clone()))
                    .collect();
                coerced = Value::Object(ordered);
            }
            values.insert(body_key, coerced);
        }
        if let Some(id) = values.get("id")
            && !id.is_string()
        {
            return Err(ApiError::bad_request(format!("Invalid UUID value '{id}' for field \"id\"")));
        }
        Ok(Prepared { values, has_created_by })
    }

    /// Checks that every join column points at an existing row (PostgreSQL foreign keys; 500 as recorded in 61).
    fn check_foreign_keys(&self, obj: &ObjectMeta, row: &Row) -> Result<(), ApiError> {
        for f in &obj.fields {
            let (Some(col), Some(target)) = (f.join_column(), f.points_at()) else { continue };
            let Some(Value::String(id)) = row.get(&col) else { continue };
            let exists = self.tables.get(target).is_some_and(|t| t.rows.contains_key(id));
            if !exists {
                return Err(ApiError::internal(format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                    obj.table_name(),
                    fk_name(&obj.table_name(), &col)
                )));
            }
        }
        Ok(())
    }

    /// Checks NOT NULL columns (PostgreSQL errors are 500s, like the foreign keys).
    fn check_not_null(obj: &ObjectMeta, row: &Row) -> Result<(), ApiError> {
        for f in &obj.fields {
            if f.is_nullable || composite_subfields(&f.ftype).is_some() {
                continue;
            }
            let key = match f.ftype.as_str() {
                "RELATION" | "MORPH_RELATION" => continue,
                _ => f.name.clone(),
            };
            if row.get(&key).is_none_or(Value::is_null) {
                return Err(ApiError::internal(format!(
                    "null value in column \"{key}\" of relation \"{}\" violates not-null constraint",
                    obj.table_name()
                )));
            }
        }
        Ok(())
    }

    /// The position of the next new record: one less than the smallest live position (0 for the first).
    fn next_positions(&mut self, obj: &ObjectMeta) -> f64 {
        match self.table_mut(&obj.name_singular).min_live_position() {
            Some(min) => min - 1.0,
            None => 0.0,
        }
    }

    /// Creates (or upserts) records: all validated first, nothing written on error.
    pub fn create(&mut self, obj_name: &str, inputs: &[Value], opts: CreateOptions) -> Result<Vec<Arc<Row>>, ApiError> {
        let draft = self.create_snapshot(obj_name, opts)?.draft(inputs)?;
        self.commit_create(draft, inputs)
    }

    /// What a create of `obj_name` needs of the workspace, copied so the records can be built without the lock.
    pub fn create_snapshot(&self, obj_name: &str, opts: CreateOptions) -> Result<CreateSnapshot, ApiError> {
        let obj = self.object(obj_name)?;
        let timeline = self.schema.object("timelineActivity");
        let activity = timeline.filter(|ta| {
            obj.name_singular != "timelineActivity"
                && obj.field("timelineActivities").is_some()
                && ta.field_by_join_column(&activity_column(&obj)).is_some()
        });
        Ok(CreateSnapshot {
            template: self.empty_row(&obj),
            activity: activity.map(|ta| self.empty_row(ta)),
            timeline: timeline.cloned(),
            actor: api_actor(&self.api_key_name),
            obj,
            opts,
        })
    }

    /// Writes the records of `draft`: checks what needs the stored rows (ids and unique values taken, foreign keys),
    /// gives positions, stores the rows and their timeline activities. Answers the rows written, in input order.
    /// A draft made before the data model changed is made again from `inputs`.
    pub fn commit_create(&mut self, draft: CreateDraft, inputs: &[Value]) -> Result<Vec<Arc<Row>>, ApiError> {
        let fresh = {
            let snap = &draft.snapshot;
            self.schema.object(&snap.obj.name_singular) == Some(&snap.obj)
                && snap.timeline.as_ref() == self.schema.object("timelineActivity")
                && snap.actor == api_actor(&self.api_key_name)
        };
        let draft = if fresh {
            draft
        } else {
            self.create_snapshot(&draft.snapshot.obj.name_singular, draft.snapshot.opts)?.draft(inputs)?
        };
        let CreateDraft { snapshot, now, items } = draft;
        let obj = &snapshot.obj;
        let has_position = obj.field("position").is_some_and(|f| f.ftype == "POSITION");
        let mut position = if has_position { self.next_positions(obj) } else { 0.0 };
        let empty = Table::default();
        let table = self.tables.get(&obj.name_singular).unwrap_or(&empty);
        let mut results: Vec<(Row, Option<Row>, Option<Row>)> = Vec::with_capacity(items.len());
        let mut seen = SeenInCall::new(obj);
        for item in items {
            let pos_value = (has_position && !item.sent_position).then(|| {
                let p = json_number(position);
                position -= 1.0;
                p
            });
            let (mut row, before, activity) = match item.kind {
                Drafted::New { row, activity } => (row, None, activity),
                Drafted::Upsert(p) => {
                    // Match on id and every unique field (composites on their unique sub-field), trash included.
                    let mut ids: Vec<String> = Vec::new();
                    if let Some(Value::String(id)) = p.values.get("id")
                        && table.rows.contains_key(id)
                    {
                        ids.push(id.clone());
                    }
                    for c in table.conflicts(obj, &p.values, None) {
                        if !ids.contains(&c) {
                            ids.push(c);
                        }
                    }
                    if ids.len() > 1 {
                        return Err(ApiError::bad_request(format!(
                            "Multiple records found with the same unique field values for {}. Cannot determine which record to update.",
                            obj.name_singular
                        )));
                    }
                    let (mut row, before) = match ids.pop() {
                        Some(id) => {
                            let before = table.rows.get(&id).map(|r| Row::clone(r)).unwrap_or_default();
                            (snapshot.merged(&before, p, &now), Some(before))
                        }
                        None => (snapshot.new_row(p.values, &now), None),
                    };
                    Self::finish_row(obj, &mut row);
                    let activity = match before {
                        None => snapshot.activity_for(&row, &now),
                        Some(_) => None,
                    };
                    seen.admit(&row, before.is_none())?;
                    (row, before, activity)
                }
            };
            if let Some(p) = pos_value {
                row.insert("position".into(), p);
            }
            let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
            if (before.is_none() && table.rows.contains_key(id)) || !table.conflicts(obj, &row, Some(id)).is_empty() {
                return Err(ApiError::duplicate());
            }
            results.push((row, before, activity));
        }
        // Foreign keys may point at rows created earlier in the same batch.
        let created: HashSet<String> =
            results.iter().filter_map(|(r, _, _)| r.get("id").and_then(Value::as_str).map(str::to_string)).collect();
        for (row, _, _) in &results {
            Self::check_not_null(obj, row)?;
            if let Err(e) = self.check_foreign_keys(obj, row) {
                let self_ref_ok = obj.fields.iter().all(|f| {
                    f.points_at() != Some(obj.name_singular.as_str())
                        || f.join_column()
                            .and_then(|c| row.get(&c))
                            .and_then(Value::as_str)
                            .is_none_or(|v| created.contains(v))
                });
                if !self_ref_ok || !self.fk_ok_with_batch(obj, row, &created) {
                    return Err(e);
                }
            }
        }
        let mut out = Vec::with_capacity(results.len());
        for (row, before, activity) in results {
            let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            match (activity, &before) {
                (Some(a), _) => self.put_activity(a),
                (None, Some(b)) => self.timeline(obj, &id, Some(b), Some(&row)),
                (None, None) => {}
            }
            let table = self.table_mut(&obj.name_singular);
            out.extend(table.put(obj, row));
            self.pending.push(Change::Row(obj.name_singular.clone(), id));
        }
        Ok(out)
    }

    fn fk_ok_with_batch(&self, obj: &ObjectMeta, row: &Row, created: &HashSet<String>) -> bool {
        obj.fields.iter().all(|f| {
            let (Some(col), Some(target)) = (f.join_column(), f.points_at()) else { return true };
            match row.get(&col) {
                Some(Value::String(id)) => {
                    self.tables.get(target).is_some_and(|t| t.rows.contains_key(id))
                        || (target == obj.name_singular && created.contains(id))
                }
                _ => true,
            }
        })
    }

    /// The object of this name (cloned, so the tables can be borrowed mutably).
    pub fn object(&self, singular: &str) -> Result<ObjectMeta, ApiError> {
        self.schema
            .object(singular)
            .cloned()
            .ok_or_else(|| ApiError::bad_request(format!("object '{singular}' not found")))
    }

    /// Updates one live record: composites merged per sub-field (32).
    pub fn update(&mut self, obj_name: &str, id: &str, input: &Value) -> Result<Row, ApiError> {
        let obj = self.object(obj_name)?;
        let p = Self::prepare(&obj, input, true)?;
        let before = self
            .tables
            .get(&obj.name_singular)
            .and_then(|t| t.rows.get(id))
            .filter(|r| r.get("deletedAt").is_none_or(Value::is_null))
            .cloned()
            .ok_or_else(ApiError::record_not_found)?;
        let row = self.apply_update(&obj, &before, p.values)?;
        let conflict =
            self.tables.get(&obj.name_singular).is_some_and(|t| !t.conflicts(&obj, &row, Some(id)).is_empty());
        if conflict {
            return Err(ApiError::duplicate());
        }
        Self::check_not_null(&obj, &row)?;
        self.check_foreign_keys(&obj, &row)?;
        self.table_mut(&obj.name_singular).put(&obj, row.clone());
        self.pending.push(Change::Row(obj.name_singular.clone(), id.to_string()));
        self.timeline(&obj, id, Some(&before), Some(&row));
        Ok(row)
    }

    fn apply_update(&self, obj: &ObjectMeta, before: &Row, values: Row) -> Result<Row, ApiError> {
        let mut row = before.clone();
        let sent_updated_at = values.contains_key("updatedAt");
        for (k, v) in values {
            if k == "id" {
                continue;
            }
            let is_composite = obj.field(&k).is_some_and(|f| composite_subfields(&f.ftype).is_some());
            match (is_composite, v) {
                (true, Value::Object(parts)) => {
                    let f = obj.field(&k).cloned();
                    let mut merged = match row.get(&k) {
                        Some(Value::Object(m)) => m.clone(),
                        _ => f.as_ref().map(field_empty).and_then(|v| v.as_object().cloned()).unwrap_or_default(),
                    };
                    for (sk, sv) in parts {
                        merged.insert(sk, sv);
                    }
                    row.insert(k, Value::Object(merged));
                }
                (true, Value::Null) => {
                    if let Some(f) = obj.field(&k) {
                        row.insert(k.clone(), field_empty(f));
                    }
                }
                (_, v) => {
                    row.insert(k, v);
                }
            }
        }
        if !sent_updated_at && obj.field("updatedAt").is_some() {
            row.insert("updatedAt".into(), json!(now_iso()));
        }
        if obj.field("updatedBy").is_some() {
            row.insert("updatedBy".into(), api_actor(&self.api_key_name));
        }
        Self::finish_row(obj, &mut row);
        Ok(row)
    }

    /// Rows matching a filter (soft-deleted only when the filter names deletedAt or `with_deleted`).
    pub fn select<'a>(&'a self, obj: &ObjectMeta, filter: Option<&Filter>, with_deleted: bool) -> Vec<&'a Row> {
        let Some(t) = self.tables.get(&obj.name_singular) else { return Vec::new() };
        let include_deleted = with_deleted || filter.is_some_and(Filter::mentions_deleted_at) || t.deleted == 0;
        let keep = |r: &&Arc<Row>| (include_deleted || !is_deleted(r)) && filter.is_none_or(|f| f.matches(r));
        // A filter that pins the ids (`id[in]:[…]` or `id[eq]:…`, alone or in an `and`) reads those rows by key,
        // as the real server's primary key index does, instead of testing every row; the whole filter still decides.
        if let Some(ids) = filter.and_then(Filter::pinned_ids) {
            let mut ids: Vec<String> = ids.iter().map(|id| id.to_lowercase()).collect();
            ids.sort_unstable();
            ids.dedup();
            return ids.iter().filter_map(|id| t.rows.get(id.as_str())).filter(keep).map(|r| &**r).collect();
        }
        t.rows.values().filter(keep).map(|r| &**r).collect()
    }

    /// One page of live rows in id order after `after` (no filter): O(page) instead of a scan.
    /// Returns the rows, whether more follow, and the number of live rows.
    pub fn page_by_id<'a>(
        &'a self,
        obj: &ObjectMeta,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<&'a Row>, bool, usize) {
        use std::ops::Bound;
        let Some(t) = self.tables.get(&obj.name_singular) else { return (Vec::new(), false, 0) };
        let live = t.rows.len() - t.deleted;
        let check = t.deleted > 0;
        let iter: Box<dyn Iterator<Item = &Row>> = match after {
            Some(id) => Box::new(t.rows.range::<str, _>((Bound::Excluded(id), Bound::Unbounded)).map(|(_, r)| &**r)),
            None => Box::new(t.rows.values().map(|r| &**r)),
        };
        let mut rows: Vec<&Row> = iter.filter(|r| !check || !is_deleted(r)).take(limit + 1).collect();
        let more = rows.len() > limit;
        rows.truncate(limit);
        (rows, more, live)
    }

    /// Updates every live row matching a filter.
    pub fn update_many(&mut self, obj_name: &str, filter: &Filter, input: &Value) -> Result<Vec<Row>, ApiError> {
        let obj = self.object(obj_name)?;
        let ids: Vec<String> = self.select(&obj, Some(filter), false).iter().filter_map(|r| row_id(r)).collect();
        let mut out = Vec::new();
        for id in ids {
            out.push(self.update(obj_name, &id, input)?);
        }
        Ok(out)
    }

    /// Soft-deletes one live row; returns the full row.
    pub fn soft_delete(&mut self, obj_name: &str, id: &str) -> Result<Row, ApiError> {
        let obj = self.object(obj_name)?;
        let now = now_iso();
        let table = self.table_mut(&obj.name_singular);
        let mut row = table
            .rows
            .get(id)
            .filter(|r| !is_deleted(r))
            .map(|r| Row::clone(r))
            .ok_or_else(ApiError::record_not_found)?;
        row.insert("deletedAt".into(), json!(now));
        row.insert("updatedAt".into(), json!(now));
        table.put(&obj, row.clone());
        self.pending.push(Change::Row(obj.name_singular.clone(), id.to_string()));
        Ok(row)
    }

    /// Restores soft-deleted rows.
    pub fn restore(&mut self, obj_name: &str, ids: &[String]) -> Result<Vec<Row>, ApiError> {
        let obj = self.object(obj_name)?;
        let now = now_iso();
        let mut out = Vec::new();
        for id in ids {
            let table = self.table_mut(&obj.name_singular);
            if let Some(mut row) = table.rows.get(id).map(|r| Row::clone(r)) {
                row.insert("deletedAt".into(), Value::Null);
                row.insert("updatedAt".into(), json!(now));
                table.put(&obj, row.clone());
                out.push(row);
                self.pending.push(Change::Row(obj.name_singular.clone(), id.clone()));
            }
        }
        Ok(out)
    }

    /// Hard-deletes rows, applying each referencing column's onDelete (SET_NULL / CASCADE).
    pub fn destroy(&mut self, obj_name: &str, ids: &[String]) -> Result<Vec<String>, ApiError> {
        let obj = self.object(obj_name)?;
        let mut removed = Vec::new();
        let mut queue: Vec<(String, Vec<String>)> = vec![(obj.name_singular.clone(), ids.to_vec())];
        while let Some((name, ids)) = queue.pop() {
            let Some(o) = self.schema.object(&name).cloned() else { continue };
            let mut gone: HashSet<String> = HashSet::new();
            for id in ids {
                if self.table_mut(&name).remove(&o, &id).is_some() {
                    self.pending.push(Change::Removed(name.clone(), id.clone()));
                    if name == obj.name_singular {
                        removed.push(id.clone());
                    }
                    gone.insert(id);
                }
            }
            if gone.is_empty() {
                continue;
            }
            let referencing: Vec<(String, FieldMeta)> = self
                .schema
                .objects
                .iter()
                .flat_map(|p| {
                    p.fields
                        .iter()
                        .filter(|f| f.join_column().is_some() && f.points_at() == Some(name.as_str()))
                        .map(move |f| (p.name_singular.clone(), f.clone()))
                })
                .collect();
            for (pname, f) in referencing {
                let Some(col) = f.join_column() else { continue };
                let Some(po) = self.schema.object(&pname).cloned() else { continue };
                let hits: Vec<String> = self
                    .tables
                    .get(&pname)
                    .map(|t| {
                        t.rows
                            .iter()
                            .filter(|(_, r)| r.get(&col).and_then(Value::as_str).is_some_and(|v| gone.contains(v)))
                            .map(|(id, _)| id.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                if hits.is_empty() {
                    continue;
                }
                if f.on_delete() == "CASCADE" {
                    queue.push((pname.clone(), hits));
                } else {
                    for id in hits {
                        let t = self.table_mut(&pname);
                        if let Some(mut r) = t.rows.get(&id).map(|r| Row::clone(r)) {
                            r.insert(col.clone(), Value::Null);
                            t.put(&po, r);
                            self.pending.push(Change::Row(pname.clone(), id));
                        }
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Server-created timeline activities (`<object>.created` / `<object>.updated` with a diff), as in 52.
    fn timeline(&mut self, obj: &ObjectMeta, id: &str, before: Option<&Row>, after: Option<&Row>) {
        if obj.name_singular == "timelineActivity" || obj.field("timelineActivities").is_none() {
            return;
        }
        let Some(ta) = self.schema.object("timelineActivity") else { return };
        let column = activity_column(obj);
        if ta.field_by_join_column(&column).is_none() {
            return;
        }
        let Some(after) = after else { return };
        let (name, properties) = match before {
            None => (format!("{}.created", obj.name_singular), json!({})),
            Some(b) => {
                let mut diff = Map::new();
                for key in obj.body_keys(self.target_columns) {
                    if matches!(key.as_str(), "updatedAt" | "updatedBy" | "searchVector" | "position" | "createdBy") {
                        continue;
                    }
                    let (old, new) = (b.get(&key).unwrap_or(&Value::Null), after.get(&key).unwrap_or(&Value::Null));
                    if old != new {
                        diff.insert(key, json!({"before": old, "after": new}));
                    }
                }
                if diff.is_empty() {
                    return;
                }
                (format!("{}.updated", obj.name_singular), jsonb_normalize(&json!({"diff": diff})))
            }
        };
        let template = self.empty_row(ta);
        let row = activity_row(&template, &column, id, name, properties, &now_iso());
        self.put_activity(row);
    }

    /// Stores a timeline activity row.
    fn put_activity(&mut self, row: Row) {
        let Some(ta) = self.schema.object("timelineActivity") else { return };
        let Some(tid) = row_id(&row) else { return };
        // Disjoint borrows: the metadata (`ta`) and the tables.
        self.tables.entry("timelineActivity".into()).or_default().put(ta, row);
        self.pending.push(Change::Row("timelineActivity".into(), tid));
    }

    /// Reindexes every table (after a load or a uniqueness change).
    pub fn reindex_all(&mut self) {
        let objects = self.schema.objects.clone();
        for o in &objects {
            self.table_mut(&o.name_singular).reindex(o);
        }
    }
}

/// The id of a row.
pub fn row_id(r: &Row) -> Option<String> {
    r.get("id").and_then(Value::as_str).map(str::to_string)
}

/// A JSON number for a position (integers stay integers).
pub fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null)
    }
}

/// TypeORM's foreign key name: `FK_` + the first 27 hex digits of sha1("<table>_<column>") (61).
pub fn fk_name(table: &str, column: &str) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(format!("{table}_{column}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("FK_{}", &hex[..27])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> State {
        let now = now_iso();
        let schema = Schema::standard(&now, TargetColumns::default(), true).expect("standard model");
        State::new(schema, &[], "ferry", TargetColumns::default(), &now)
    }

    fn company(id: &str, name: &str) -> Value {
        json!({"id": id, "name": name})
    }

    const ID: &str = "0b0bca8e-0000-4000-8000-000000000001";

    #[test]
    fn two_calls_drafted_together_write_an_id_once() {
        // Both drafts are made (outside the lock) before either is committed: the second finds the id taken.
        let mut state = workspace();
        let inputs = [company(ID, "Acme")];
        let first = state.create_snapshot("company", CreateOptions { upsert: false }).unwrap().draft(&inputs).unwrap();
        let second = state.create_snapshot("company", CreateOptions { upsert: false }).unwrap().draft(&inputs).unwrap();
        assert_eq!(state.commit_create(first, &inputs).unwrap().len(), 1);
        let err = state.commit_create(second, &inputs).unwrap_err();
        assert_eq!(err.status, 400, "{:?}", err.body);
        assert_eq!(state.tables["company"].rows.len(), 1);
        let activities = state.tables["timelineActivity"].rows.values();
        let created: Vec<_> = activities.filter(|r| r["targetCompanyId"] == json!(ID)).collect();
        assert_eq!(created.len(), 1, "one company.created activity");
        assert_eq!(created[0]["name"], json!("company.created"));
    }

    #[test]
    fn a_draft_made_before_the_data_model_changed_is_made_again() {
        let mut state = workspace();
        let inputs = [company(ID, "Acme")];
        let draft = state.create_snapshot("company", CreateOptions { upsert: false }).unwrap().draft(&inputs).unwrap();
        // A field added between the draft and its commit (another call, under the lock).
        let company = state.schema.object_mut("company").unwrap();
        let mut field = company.field("name").unwrap().clone();
        field.name = "motto".into();
        field.id = standard_id("field", "company.motto");
        company.fields.push(field);
        let rows = state.commit_create(draft, &inputs).unwrap();
        assert_eq!(rows[0].get("motto"), Some(&json!("")), "the new field at its empty value: {:?}", rows[0]);
    }

    #[test]
    fn positions_are_given_at_commit_in_commit_order() {
        let mut state = workspace();
        let a = [company(ID, "A")];
        let b = [company("0b0bca8e-0000-4000-8000-000000000002", "B")];
        let draft_a = state.create_snapshot("company", CreateOptions { upsert: false }).unwrap().draft(&a).unwrap();
        let draft_b = state.create_snapshot("company", CreateOptions { upsert: false }).unwrap().draft(&b).unwrap();
        let rb = state.commit_create(draft_b, &b).unwrap();
        let ra = state.commit_create(draft_a, &a).unwrap();
        assert_eq!(rb[0]["position"], json!(0));
        assert_eq!(ra[0]["position"], json!(-1), "the later commit goes first, as a later create would");
    }

    #[test]
    fn a_null_kept_as_an_absent_key_reads_as_null() {
        let mut state = workspace();
        let rows = state.create("person", &[json!({"id": ID})], CreateOptions { upsert: false }).unwrap();
        assert!(!rows[0].contains_key("companyId") && !rows[0].contains_key("deletedAt"), "{:?}", rows[0]);
        let obj = state.object("person").unwrap();
        let body = crate::render::row_body(&state, "http://sandbox", &obj, &rows[0]);
        assert_eq!((body["companyId"].clone(), body["deletedAt"].clone()), (Value::Null, Value::Null));
        let filter = crate::filter::parse_rest_filter(&obj, "companyId[is]:NULL").unwrap();
        assert_eq!(state.select(&obj, Some(&filter), false).len(), 1);
        let activity = state.tables["timelineActivity"].rows.values().next().unwrap();
        assert!(activity.values().all(|v| !v.is_null()), "{activity:?}");
    }

    #[test]
    fn a_filter_pinning_ids_reads_those_rows_by_key_and_selects_what_a_scan_selects() {
        let mut state = workspace();
        let ids: Vec<String> = (1..=6).map(|i| format!("0b0bca8e-0000-4000-8000-00000000000{i}")).collect();
        let inputs: Vec<Value> = ids.iter().enumerate().map(|(i, id)| company(id, &format!("C{i}"))).collect();
        state.create("company", &inputs, CreateOptions { upsert: false }).unwrap();
        state.soft_delete("company", &ids[4]).unwrap();
        let obj = state.object("company").unwrap();
        let wanted = format!(
            "[{},{},{},{},{}]",
            ids[2].to_uppercase(),
            ids[0],
            ids[0],
            ids[4],
            "0b0bca8e-0000-4000-8000-0000000000ff"
        );
        let cases = [
            format!("id[in]:{wanted}"),
            format!("and(id[in]:{wanted},name[neq]:C2)"),
            format!("and(id[in]:{wanted},or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL))"),
            format!("id[eq]:{}", ids[5].to_uppercase()),
            format!("or(id[in]:{wanted},name[eq]:C3)"),
        ];
        let expected: [&[usize]; 5] = [&[0, 2], &[0], &[0, 2, 4], &[5], &[0, 2, 3]];
        for (case, expected) in cases.iter().zip(expected) {
            let filter = crate::filter::parse_rest_filter(&obj, case).unwrap();
            let picked: Vec<String> =
                state.select(&obj, Some(&filter), false).iter().filter_map(|r| row_id(r)).collect();
            let scanned: Vec<String> = state.tables["company"]
                .rows
                .values()
                .filter(|r| (!is_deleted(r) || filter.mentions_deleted_at()) && filter.matches(r))
                .filter_map(|r| row_id(r))
                .collect();
            let expected: Vec<String> = expected.iter().map(|i| ids[*i].clone()).collect();
            assert_eq!(picked, expected, "{case}");
            assert_eq!(picked, scanned, "{case}: as a scan of the table");
        }
    }

    #[test]
    fn foreign_key_name_matches_the_recorded_constraint() {
        assert_eq!(fk_name("person", "companyId"), "FK_ee066ddacfce46c9a7cb90edd1a");
    }
}
