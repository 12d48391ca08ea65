//! The engine's [`Workspace`] on top of the client, implemented for [`TwentyClient`] itself (it needs no state
//! of its own: the schema it encodes with is the client's, refreshed after every data-model change).
//!
//! - `model` re-reads the schema and describes it ([`codec::describe`]): objects by singular name, relations under
//!   their join columns (`companyId`).
//! - `create_object` / `create_field` / `add_options` are idempotent: what exists is left alone (`None`), except
//!   that options a plan wants on an existing select field are added (a `FieldUpdated` change with the options
//!   before). A relation field is created through the metadata relation API (one call, both sides): its name is
//!   the plan's name without a trailing `Id` (`company` or `companyId` both give field `company`, join column
//!   `companyId`); the inverse side on the target is labelled with the object's plural label. When the answer to
//!   a create is lost (the server may have done it), the schema is read again: an object or field there now, and
//!   not there before the call, is this call's doing and is returned as a change, so rollback removes it.
//! - `undo` finds what it undoes by metadata id (`dest_id`), so it never touches an object or field of the same
//!   name that someone else created after a rollback; what is gone already is not an error.
//! - `read` and `delete` work by batches of ids (`id[in]:[…]`); `delete` destroys (trash included).
//! - `attach` uploads the file and creates the `attachment` record with the given id, pointing at the parent
//!   through whatever column this server version uses ([`crate::schema::ObjectMeta::link_column`]).

use std::collections::HashSet;

use bytes::Bytes;
use ferry_core::journal::{SchemaChange, SchemaChangeKind};
use ferry_core::load::WriteError;
use ferry_core::plan::{NewField as PlanField, NewObject as PlanObject, NewOptions};
use ferry_core::workspace::{Change, EncodeError, FileData, Member, ReadBack, Workspace, WorkspaceError};
use ferry_core::{FieldKind, ObjectDef, SelectOption as CoreOption};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::TwentyClient;
use crate::codec;
use crate::destination::write_error;
use crate::error::{ErrorKind, TwentyError};
use crate::files::NewAttachment;
use crate::filter::Filter;
use crate::metadata::{NewField, NewObject, NewOption, NewRelation, OPTION_COLORS};
use crate::records::{DeleteMode, ListQuery};
use crate::schema::{FieldMeta, FieldType, ObjectMeta};

/// The object attachments live in.
const ATTACHMENT: &str = "attachment";
/// The object the server writes record history into.
const TIMELINE: &str = "timelineActivity";

/// How many times `attach` settles a lost answer (asks whether the attachment exists, sends it again) before
/// saying the outcome is unknown.
const ATTACH_ATTEMPTS: usize = 4;

fn ws_error(e: TwentyError) -> WorkspaceError {
    WorkspaceError { transient: e.is_transient(), message: e.to_string() }
}

/// The Twenty type a neutral kind is created as (relations are created through [`TwentyClient::create_relation`]).
pub fn field_type_for(kind: FieldKind) -> FieldType {
    match kind {
        FieldKind::Text => FieldType::Text,
        FieldKind::Number => FieldType::Number,
        FieldKind::Boolean => FieldType::Boolean,
        FieldKind::Date => FieldType::Date,
        FieldKind::DateTime => FieldType::DateTime,
        FieldKind::RawJson => FieldType::RawJson,
        FieldKind::Select => FieldType::Select,
        FieldKind::MultiSelect => FieldType::MultiSelect,
        FieldKind::Array => FieldType::Array,
        FieldKind::Uuid => FieldType::Uuid,
        FieldKind::Relation => FieldType::Relation,
        FieldKind::Currency => FieldType::Currency,
        FieldKind::Emails => FieldType::Emails,
        FieldKind::Phones => FieldType::Phones,
        FieldKind::Links => FieldType::Links,
        FieldKind::FullName => FieldType::FullName,
        FieldKind::Address => FieldType::Address,
        FieldKind::RichText => FieldType::RichTextV2,
        FieldKind::Files => FieldType::Files,
    }
}

/// The field name of a relation the plan names `companyId` or `company`.
fn relation_field_name(name: &str) -> &str {
    match name.strip_suffix("Id") {
        Some(base) if !base.is_empty() => base,
        _ => name,
    }
}

/// A plan option as the client takes it: colour kept when Twenty knows it, label defaulting to the value.
fn new_option(o: &CoreOption) -> NewOption {
    let label = if o.label.trim().is_empty() { o.value.clone() } else { o.label.clone() };
    let color = o.color.clone().filter(|c| OPTION_COLORS.contains(&c.as_str()));
    NewOption { value: o.value.clone(), label, color }
}

/// Options in plan order (by position, stable), each value once.
fn ordered_options(options: &[CoreOption]) -> Vec<NewOption> {
    let mut sorted: Vec<&CoreOption> = options.iter().collect();
    sorted.sort_by_key(|o| o.position);
    let mut seen = HashSet::new();
    sorted.into_iter().filter(|o| seen.insert(o.value.as_str())).map(new_option).collect()
}

/// A field's options as Twenty describes them (what `undo` sends back to restore them).
fn options_state(field: &FieldMeta) -> Value {
    let options: Vec<Value> = field
        .options
        .iter()
        .map(|o| {
            let mut m = Map::new();
            if let Some(id) = &o.id {
                m.insert("id".into(), json!(id));
            }
            m.insert("value".into(), json!(o.value));
            m.insert("label".into(), json!(o.label));
            if let Some(c) = &o.color {
                m.insert("color".into(), json!(c));
            }
            if let Some(p) = o.position {
                m.insert("position".into(), json!(p));
            }
            Value::Object(m)
        })
        .collect();
    json!({ "options": options })
}

/// Options as journalled before a change (Twenty's own description, or ferry's neutral options), made complete for
/// the server: an option whose value the field still has keeps that option's id (so records holding it keep their
/// value), a missing colour is the current one or one by position, a missing label is the value.
fn restorable_options(before: &[Value], field: &FieldMeta) -> Vec<Value> {
    before
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let mut m = o.as_object()?.clone();
            let value = m.get("value")?.as_str()?.to_owned();
            let current = field.options.iter().find(|c| c.value == value);
            let missing = |m: &Map<String, Value>, key: &str| m.get(key).is_none_or(Value::is_null);
            if missing(&m, "id")
                && let Some(id) = current.and_then(|c| c.id.clone())
            {
                m.insert("id".into(), json!(id));
            }
            if missing(&m, "color") {
                let color = current
                    .and_then(|c| c.color.clone())
                    .unwrap_or_else(|| OPTION_COLORS[i % OPTION_COLORS.len()].to_owned());
                m.insert("color".into(), json!(color));
            }
            if m.get("label").and_then(Value::as_str).is_none_or(|l| l.trim().is_empty()) {
                m.insert("label".into(), json!(value));
            }
            if missing(&m, "position") {
                m.insert("position".into(), json!(i));
            }
            Some(Value::Object(m))
        })
        .collect()
}

/// The field a plan calls `name` on `object`: by field name, by relation name without `Id`, or by join column.
fn find_field<'a>(object: &'a ObjectMeta, name: &str) -> Option<&'a FieldMeta> {
    object
        .field(name)
        .or_else(|| object.field_by_join_column(name))
        .or_else(|| object.field(relation_field_name(name)).filter(|f| f.join_column.as_deref() == Some(name)))
}

fn kind_name(field: &FieldMeta) -> String {
    match codec::field_kind(&field.field_type) {
        Some(k) => format!("{} ({k})", field.field_type.as_str()),
        None => field.field_type.as_str().to_owned(),
    }
}

/// A media type for a file name, by extension (for uploads whose source did not say).
fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

fn camel_from_label(label: &str) -> String {
    let mut out = String::new();
    for (i, word) in label.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    out
}

impl TwentyClient {
    /// Adds the options of `wanted` that `field` lacks (matched by value), keeping the existing ones; returns the
    /// change with the options before, or `None` when every option was there.
    async fn add_missing_options(
        &self,
        object: &ObjectMeta,
        field: &FieldMeta,
        wanted: &[CoreOption],
    ) -> Result<Option<Change>, WorkspaceError> {
        let missing: Vec<NewOption> =
            ordered_options(wanted).into_iter().filter(|o| !field.has_option(&o.value)).collect();
        if missing.is_empty() {
            return Ok(None);
        }
        let before = options_state(field);
        let mut all: Vec<NewOption> = field
            .options
            .iter()
            .map(|o| NewOption { value: o.value.clone(), label: o.label.clone(), color: o.color.clone() })
            .collect();
        all.extend(missing);
        self.set_field_options(&object.name_singular, &field.name, all).await.map_err(ws_error)?;
        Ok(Some(Change {
            kind: SchemaChangeKind::FieldUpdated,
            object: object.name_singular.clone(),
            field: Some(field.name.clone()),
            dest_id: field.id.to_string(),
            before: Some(before),
        }))
    }

    /// What to do with a field the plan wants and the object has already: nothing when the kinds agree (options
    /// it lacks are added), an error naming both kinds otherwise.
    async fn existing_field(
        &self,
        object: &ObjectMeta,
        existing: &FieldMeta,
        wanted: &PlanField,
    ) -> Result<Option<Change>, WorkspaceError> {
        let kind = codec::field_kind(&existing.field_type);
        if kind != Some(wanted.kind) {
            return Err(WorkspaceError::new(format!(
                "{}.{} exists as a {} field, but the plan creates it as a {} field; fix: map the source to the \
                 existing field in the plan, give the new field another name, or change the field in the workspace",
                object.name_singular,
                existing.name,
                kind_name(existing),
                wanted.kind
            )));
        }
        if wanted.kind == FieldKind::Relation
            && let (Some(target), Some(points_at)) = (&wanted.target, existing.points_at())
            && self.schema().object(target).is_none_or(|t| t.name_singular != points_at)
        {
            return Err(WorkspaceError::new(format!(
                "{}.{} exists as a relation to {points_at}, but the plan creates it as a relation to {target}; fix: \
                 give the new relation another name in the plan, or point the plan at {points_at}",
                object.name_singular, existing.name
            )));
        }
        if matches!(existing.field_type, FieldType::Select | FieldType::MultiSelect) && !wanted.options.is_empty() {
            return self.add_missing_options(object, existing, &wanted.options).await;
        }
        Ok(None)
    }

    async fn create_relation_field(
        &self,
        object: &ObjectMeta,
        field: &PlanField,
        name: &str,
    ) -> Result<FieldMeta, TwentyError> {
        let target_name = field.target.as_deref().ok_or_else(|| {
            TwentyError::new(ErrorKind::InvalidInput, "create relation", "a relation field needs a target object")
                .with_object(&object.name_singular)
                .with_field(&field.name)
                .with_hint("set `target` in the plan's [[create.field]]")
        })?;
        let schema = self.schema();
        let target = schema.require(target_name, "create relation")?;
        // The inverse side on the target is named from its label: pick one the target does not use yet.
        let mut inverse = object.label_plural.clone();
        if inverse.trim().is_empty() {
            inverse = object.name_plural.clone();
        }
        let taken = |label: &str| {
            let name = camel_from_label(label);
            target.fields.iter().any(|f| f.name == name || f.join_column.as_deref() == Some(name.as_str()))
        };
        if taken(&inverse) {
            inverse = format!("{inverse} {}", field.label);
        }
        self.create_relation(NewRelation {
            object: object.name_singular.clone(),
            name: name.to_owned(),
            label: field.label.clone(),
            target: target.name_singular.clone(),
            target_field_label: inverse,
            target_field_icon: None,
            icon: None,
        })
        .await
    }

    /// Creates the attachment record once: a lost answer is settled by asking whether it exists, a duplicate
    /// id means an earlier call wrote it.
    async fn create_attachment_once(&self, attachment: &NewAttachment, id: Uuid) -> Result<(), WriteError> {
        let mut last = String::new();
        for _ in 0..ATTACH_ATTEMPTS {
            match self.create_attachment(attachment).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind == ErrorKind::Duplicate => return Ok(()),
                Err(e) if e.outcome_unknown || e.is_transient() => {
                    last = e.to_string();
                    match self.existing_ids(ATTACHMENT, &[id], true).await {
                        Ok(found) if found.contains(&id) => return Ok(()),
                        Ok(_) => continue,
                        Err(e) => return Err(WriteError::Ambiguous(e.to_string())),
                    }
                }
                Err(e) => return Err(write_error(&e)),
            }
        }
        Err(WriteError::Ambiguous(format!(
            "attachment {id}: the server's answer was lost {ATTACH_ATTEMPTS} times and the attachment is not there: \
             {last}"
        )))
    }
}

impl Workspace for TwentyClient {
    async fn model(&self) -> Result<Vec<ObjectDef>, WorkspaceError> {
        let schema = self.refresh_schema().await.map_err(ws_error)?;
        Ok(codec::describe(&schema))
    }

    async fn members(&self) -> Result<Vec<Member>, WorkspaceError> {
        let members = self.workspace_members().await.map_err(ws_error)?;
        Ok(members
            .into_iter()
            .map(|m| Member {
                id: m.id.to_string(),
                name: format!("{} {}", m.first_name, m.last_name).trim().to_owned(),
                email: m.email,
            })
            .collect())
    }

    async fn create_object(&self, object: &PlanObject) -> Result<Option<Change>, WorkspaceError> {
        let exists =
            |schema: &crate::Schema| schema.object(&object.name).or_else(|| schema.object(&object.plural)).is_some();
        if exists(&self.schema()) {
            return Ok(None);
        }
        let created = self
            .create_object(NewObject {
                name_singular: object.name.clone(),
                name_plural: object.plural.clone(),
                label_singular: object.label.clone(),
                label_plural: object.plural_label.clone(),
                description: Some(object.reason.clone()).filter(|r| !r.trim().is_empty()),
                icon: None,
            })
            .await;
        match created {
            Ok(meta) => Ok(Some(Change {
                kind: SchemaChangeKind::ObjectCreated,
                object: meta.name_singular.clone(),
                field: None,
                dest_id: meta.id.to_string(),
                before: None,
            })),
            Err(e) => {
                // It may exist now: created by this call although its answer was lost (then it is ours to
                // journal: it was not there when the call was sent), or by someone else meanwhile (not ours).
                if let Ok(schema) = self.refresh_schema().await
                    && let Some(meta) = schema.object(&object.name).or_else(|| schema.object(&object.plural))
                {
                    if e.outcome_unknown {
                        return Ok(Some(Change {
                            kind: SchemaChangeKind::ObjectCreated,
                            object: meta.name_singular.clone(),
                            field: None,
                            dest_id: meta.id.to_string(),
                            before: None,
                        }));
                    }
                    if !e.is_transient() {
                        return Ok(None);
                    }
                }
                Err(ws_error(e))
            }
        }
    }

    async fn create_field(&self, field: &PlanField) -> Result<Option<Change>, WorkspaceError> {
        let schema = self.schema();
        let object = schema.require(&field.object, "create field").map_err(ws_error)?.clone();
        if let Some(existing) = find_field(&object, &field.name) {
            return self.existing_field(&object, existing, field).await;
        }
        let name = if field.kind == FieldKind::Relation { relation_field_name(&field.name) } else { &field.name };
        let created = if field.kind == FieldKind::Relation {
            self.create_relation_field(&object, field, name).await
        } else {
            let mut new = NewField::new(&object.name_singular, name, &field.label, field_type_for(field.kind));
            new.options = ordered_options(&field.options);
            new.description = Some(field.reason.clone()).filter(|r| !r.trim().is_empty());
            self.create_field(new).await
        };
        match created {
            Ok(meta) => Ok(Some(Change {
                kind: SchemaChangeKind::FieldCreated,
                object: object.name_singular.clone(),
                field: Some(field.name.clone()),
                dest_id: meta.id.to_string(),
                before: None,
            })),
            Err(e) => {
                // As for objects: a field there now was made by this call when its answer was lost (ours to
                // journal), else by someone else meanwhile (then it is an existing field).
                if let Ok(schema) = self.refresh_schema().await
                    && let Some(object) = schema.object(&object.name_singular)
                    && let Some(existing) = find_field(object, &field.name)
                {
                    if e.outcome_unknown {
                        return Ok(Some(Change {
                            kind: SchemaChangeKind::FieldCreated,
                            object: object.name_singular.clone(),
                            field: Some(field.name.clone()),
                            dest_id: existing.id.to_string(),
                            before: None,
                        }));
                    }
                    if !e.is_transient() {
                        return self.existing_field(object, existing, field).await;
                    }
                }
                Err(ws_error(e))
            }
        }
    }

    async fn add_options(&self, options: &NewOptions) -> Result<Option<Change>, WorkspaceError> {
        // The server replaces the whole list: start from its current state.
        let schema = self.refresh_schema().await.map_err(ws_error)?;
        let object = schema.require(&options.object, "add options").map_err(ws_error)?;
        let field = find_field(object, &options.field).ok_or_else(|| {
            WorkspaceError::new(format!(
                "{}.{} does not exist, so options cannot be added to it; fix: create the field first (the plan's \
                 [[create.field]]) or correct the field name",
                object.name_singular, options.field
            ))
        })?;
        if !matches!(field.field_type, FieldType::Select | FieldType::MultiSelect) {
            return Err(WorkspaceError::new(format!(
                "{}.{} is a {} field, which has no options; fix: remove this [[create.options]] entry or point it at \
                 a select field",
                object.name_singular,
                field.name,
                kind_name(field)
            )));
        }
        self.add_missing_options(object, field, &options.options).await
    }

    async fn undo(&self, change: &SchemaChange) -> Result<(), WorkspaceError> {
        // An empty id: journalled by an engine that saw the change made but not its answer (a crash in between);
        // then what is undone is found by name.
        let id = match change.dest_id.trim() {
            "" => None,
            text => Some(Uuid::parse_str(text).map_err(|_| {
                WorkspaceError::new(format!(
                    "journalled change #{} on {} names {:?}, which is not a metadata id; the journal was edited or \
                     is damaged",
                    change.seq, change.object, change.dest_id
                ))
            })?),
        };
        let schema = self.refresh_schema().await.map_err(ws_error)?;
        let gone = |e: TwentyError| if e.kind == ErrorKind::NotFound { Ok(()) } else { Err(ws_error(e)) };
        let field = || match id {
            Some(id) => schema.field_by_id(id),
            None => {
                let object = schema.object(&change.object)?;
                Some((object, find_field(object, change.field.as_deref()?)?))
            }
        };
        match change.kind {
            SchemaChangeKind::ObjectCreated => {
                let object = match id {
                    Some(id) => schema.object_by_id(id),
                    None => schema.object(&change.object),
                };
                let Some(object) = object else { return Ok(()) };
                self.delete_object(&object.name_singular).await.or_else(gone)
            }
            SchemaChangeKind::FieldCreated => {
                let Some((object, field)) = field() else { return Ok(()) };
                self.delete_field(&object.name_singular, &field.name).await.or_else(gone)
            }
            SchemaChangeKind::FieldUpdated => {
                let Some((object, field)) = field() else { return Ok(()) };
                let before = change.before.as_ref().and_then(|b| b.get("options")).and_then(Value::as_array);
                let before = before.ok_or_else(|| {
                    WorkspaceError::new(format!(
                        "journalled change #{} on {}.{} has no options before; the journal was edited or is damaged",
                        change.seq, object.name_singular, field.name
                    ))
                })?;
                let options = Value::Array(restorable_options(before, field));
                if options_state(field).get("options") == Some(&options) {
                    return Ok(());
                }
                self.update_field(&object.name_singular, &field.name, json!({ "options": options }))
                    .await
                    .map(|_| ())
                    .or_else(gone)
            }
        }
    }

    fn encode(&self, object: &str, neutral: &Map<String, Value>) -> Result<Map<String, Value>, Vec<EncodeError>> {
        let schema = self.schema();
        let Some(meta) = schema.object(object) else {
            let message = format!(
                "the workspace has no object \"{object}\"; fix: create it first (the plan's [[create.object]]) or \
                 correct the object name"
            );
            let mut errors: Vec<EncodeError> =
                neutral.keys().map(|k| EncodeError { field: k.clone(), message: message.clone() }).collect();
            if errors.is_empty() {
                errors.push(EncodeError { field: String::new(), message });
            }
            return Err(errors);
        };
        codec::encode_record(meta, neutral).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| EncodeError {
                    field: e.field.clone(),
                    message: format!("{} (value {}); fix: {}", e.message, e.value, e.fix),
                })
                .collect()
        })
    }

    async fn read(&self, object: &str, ids: &[Uuid]) -> Result<Vec<ReadBack>, WorkspaceError> {
        let schema = self.schema();
        let meta = schema.require(object, "read back").map_err(ws_error)?;
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(self.inner.options.page_size.clamp(1, 200)) {
            let query =
                ListQuery { filter: Some(Filter::ids(part)), page_size: Some(part.len()), ..ListQuery::default() };
            for record in self.list_all(&meta.name_singular, query).await.map_err(ws_error)? {
                let Some(id) = record.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) else {
                    continue;
                };
                out.push((id, codec::decode_record(meta, &record)));
            }
        }
        Ok(out)
    }

    /// Also removes the timeline activities the server wrote about these records (`note.created`…): some point at
    /// their record with `ON DELETE SET NULL` (exchange 01's model: note, task, opportunity), so they would outlive
    /// it, and they exist only because the migration created the record.
    async fn delete(&self, object: &str, ids: &[Uuid]) -> Result<(), WorkspaceError> {
        let singular = self.schema().require(object, "delete").map_err(ws_error)?.name_singular.clone();
        let column = self.schema().link_column(TIMELINE, &singular).map(|l| l.column);
        if let Some(column) = column {
            for part in ids.chunks(self.batch_cap().clamp(1, 200)) {
                let filter = Filter::and([
                    Filter::is_in(&column, part.iter().map(Uuid::to_string)),
                    Filter::or([Filter::is_null("deletedAt"), Filter::not_null("deletedAt")]),
                ]);
                self.delete_by_filter(TIMELINE, &filter, DeleteMode::Hard).await.map_err(ws_error)?;
            }
        }
        self.destroy_ids(object, ids).await.map(|_| ()).map_err(ws_error)
    }

    fn attachment_object(&self) -> Option<&str> {
        Some(ATTACHMENT)
    }

    async fn attach(&self, parent_object: &str, parent: Uuid, id: Uuid, file: &FileData) -> Result<(), WriteError> {
        let schema = self.schema();
        let parent_meta = schema.require(parent_object, "attach file").map_err(|e| write_error(&e))?;
        let target_object = parent_meta.name_singular.clone();
        if schema.link_column(ATTACHMENT, &target_object).is_none() {
            return Err(WriteError::Refused {
                message: format!(
                    "attachment {id} of {target_object} {parent} (file {}): attachments cannot point at \
                     {target_object} records in this workspace; fix: leave this file field out of the plan, or \
                     attach the files to an object attachments relate to (company, person, opportunity, note, task…)",
                    file.name
                ),
                field: None,
            });
        }
        // Already attached (by an earlier call whose answer was lost, or an earlier run): nothing to do.
        match self.existing_ids(ATTACHMENT, &[id], false).await {
            Ok(found) if found.contains(&id) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.is_transient() => return Err(WriteError::Ambiguous(e.to_string())),
            Err(e) => return Err(WriteError::Fatal(e.to_string())),
        }
        let mime = file.mime.clone().unwrap_or_else(|| mime_for(&file.name).to_owned());
        let uploaded = self.upload_file(&file.name, &mime, Bytes::from(file.bytes.clone())).await.map_err(|e| {
            let e = e.with_object(ATTACHMENT).with_value(&file.name);
            if e.is_transient() { WriteError::Ambiguous(e.to_string()) } else { write_error(&e) }
        })?;
        let attachment =
            NewAttachment { id: Some(id), name: file.name.clone(), file: uploaded, target_object, target_id: parent };
        self.create_attachment_once(&attachment, id).await
    }
}
