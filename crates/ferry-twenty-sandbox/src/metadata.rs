//! The metadata API: objects and fields, their creation, update and deletion, validated like Twenty.
//! REST (`/rest/metadata/…`) reports every validation failure as one generic 400 (16, 18); the `/metadata`
//! GraphQL endpoint gets the details (17) from the same validation.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::config::TargetColumns;
use crate::error::ApiError;
use crate::schema::{FieldMeta, ObjectMeta, RelationRef, SelectOption, pascal};
use crate::server::{Reply, Req, Shared};
use crate::store::{Change, State};
use crate::values::now_iso;

/// One metadata validation failure (the `/metadata` GraphQL `extensions.errors` entries).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// Twenty's code (`INVALID_FIELD_INPUT`…).
    pub code: &'static str,
    /// Message.
    pub message: String,
    /// The offending value.
    pub value: Value,
}

fn invalid(code: &'static str, message: impl Into<String>, value: Value) -> Invalid {
    Invalid { code, message: message.into(), value }
}

/// Why a metadata write failed.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaError {
    /// Validation failures (REST: the generic 400).
    Invalid(Vec<Invalid>),
    /// The object or field does not exist.
    NotFound(String),
}

fn metadata_rest_error(status: u16, error: &str, message: &str) -> ApiError {
    ApiError { status, body: json!({"statusCode": status, "messages": [message], "error": error}) }
}

fn to_rest(e: MetaError, what: &str, verb: &str) -> ApiError {
    match e {
        MetaError::Invalid(_) => {
            metadata_rest_error(400, "Bad Request", &format!("Multiple validation errors occurred while {verb} {what}"))
        }
        MetaError::NotFound(m) => metadata_rest_error(404, "Not Found", &m),
    }
}

/// `CTR Widgets` → `ctrWidgets` (lodash camelCase, as Twenty names fields from labels).
pub fn camel_from_label(label: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = label.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && (cur.chars().last().is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()) && cur.chars().all(char::is_uppercase));
        if boundary {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i == 0 { lower } else { pascal(&lower) }
        })
        .collect()
}

fn is_camel_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase()) && c.all(|x| x.is_ascii_alphanumeric()) && s.len() <= 63
}

/// SELECT option values: `^(?!.*__)[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`.
pub fn is_option_value(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_uppercase() || s.contains("__") || s.ends_with('_') {
        return false;
    }
    b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

const FIELD_TYPES: &[&str] = &[
    "UUID",
    "TEXT",
    "PHONES",
    "EMAILS",
    "DATE_TIME",
    "DATE",
    "BOOLEAN",
    "NUMBER",
    "NUMERIC",
    "LINKS",
    "CURRENCY",
    "FULL_NAME",
    "RATING",
    "SELECT",
    "MULTI_SELECT",
    "RELATION",
    "ADDRESS",
    "RAW_JSON",
    "RICH_TEXT_V2",
    "ACTOR",
    "ARRAY",
];

/// Validates and normalises options: ids kept or assigned; value pattern, length, label, duplicates.
fn validate_options(input: &Value, errors: &mut Vec<Invalid>) -> Vec<SelectOption> {
    let mut out = Vec::new();
    let Some(items) = input.as_array() else {
        errors.push(invalid("INVALID_FIELD_INPUT", "Options are required for select fields", input.clone()));
        return out;
    };
    if items.is_empty() {
        errors.push(invalid("INVALID_FIELD_INPUT", "Options are required for select fields", input.clone()));
    }
    let mut seen_values = Vec::new();
    let mut seen_ids = Vec::new();
    let mut seen_positions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let value = item.get("value").and_then(Value::as_str).unwrap_or_default().to_string();
        if value.is_empty() || value.len() > 63 {
            errors.push(invalid(
                "INVALID_FIELD_INPUT",
                format!("Option value must be between 1 and 63 characters \"{value}\""),
                json!(value),
            ));
        } else if !is_option_value(&value) {
            errors.push(invalid(
                "INVALID_FIELD_INPUT",
                format!("Value must be in UPPER_CASE and follow snake_case \"{value}\""),
                json!(value),
            ));
        }
        let label = item.get("label").cloned().unwrap_or(Value::Null);
        if label.as_str().is_none_or(|l| l.trim().is_empty()) {
            errors.push(invalid("INVALID_FIELD_INPUT", "Option label is required", label.clone()));
        }
        if seen_values.contains(&value) {
            errors.push(invalid("INVALID_FIELD_INPUT", format!("Duplicated option value \"{value}\""), json!(value)));
        }
        seen_values.push(value.clone());
        let id = match item.get("id").and_then(Value::as_str) {
            Some(id) => {
                if seen_ids.contains(&id.to_string()) {
                    errors.push(invalid("INVALID_FIELD_INPUT", format!("Duplicated option id \"{id}\""), json!(id)));
                }
                seen_ids.push(id.to_string());
                id.to_string()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let position = item.get("position").cloned().unwrap_or(json!(i));
        if seen_positions.contains(&position) {
            errors.push(invalid(
                "INVALID_FIELD_INPUT",
                format!("Duplicated option position \"{position}\""),
                position.clone(),
            ));
        }
        seen_positions.push(position.clone());
        out.push(SelectOption {
            id,
            color: item.get("color").cloned().unwrap_or(json!("gray")),
            label,
            value,
            position,
        });
    }
    out
}

fn check_default_in_options(ftype: &str, default: &Value, options: &[SelectOption], errors: &mut Vec<Invalid>) {
    let values: Vec<String> = options.iter().map(|o| format!("'{}'", o.value)).collect();
    let ok = match (ftype, default) {
        (_, Value::Null) => true,
        ("SELECT", Value::String(s)) => values.contains(s),
        ("MULTI_SELECT", Value::Array(items)) => {
            items.iter().all(|i| i.as_str().is_some_and(|s| values.contains(&s.to_string())))
        }
        _ => false,
    };
    if !ok {
        errors.push(invalid("INVALID_FIELD_INPUT", "Default value must be one of the option values", default.clone()));
    }
}

fn name_taken(obj: &ObjectMeta, name: &str) -> bool {
    obj.fields.iter().any(|f| f.name == name || f.join_column().as_deref() == Some(name))
}

fn str_field(input: &Map<String, Value>, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Creates a field (and the inverse side of a relation). Returns the new field's object and id.
pub fn create_field(state: &mut State, input: &Value) -> Result<(String, String), MetaError> {
    let Some(input) = input.as_object() else {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_FIELD_INPUT",
            "Field input must be an object",
            input.clone(),
        )]));
    };
    let object_id = str_field(input, "objectMetadataId").unwrap_or_default();
    let obj = state.schema.object_by_id(&object_id).cloned().ok_or_else(|| {
        MetaError::Invalid(vec![invalid(
            "OBJECT_METADATA_NOT_FOUND",
            "Object metadata does not exist",
            json!(object_id),
        )])
    })?;
    let mut errors = Vec::new();
    let name = str_field(input, "name").unwrap_or_default();
    let label = str_field(input, "label").unwrap_or_default();
    let ftype = str_field(input, "type").unwrap_or_default();
    if !is_camel_name(&name) {
        errors.push(invalid("INVALID_FIELD_INPUT", format!("Name \"{name}\" is not in camelCase"), json!(name)));
    } else if name_taken(&obj, &name) {
        errors.push(invalid("NOT_AVAILABLE", format!("Name \"{name}\" is not available"), json!(name)));
    }
    if label.trim().is_empty() {
        errors.push(invalid("INVALID_FIELD_INPUT", "Label is required", json!(label)));
    }
    let files_ok = ftype == "FILES" && state.schema.object("attachment").is_some_and(|a| a.field("file").is_some());
    if !FIELD_TYPES.contains(&ftype.as_str()) && !files_ok {
        errors.push(invalid("INVALID_FIELD_INPUT", format!("Field type \"{ftype}\" cannot be created"), json!(ftype)));
    }
    let default_value = input.get("defaultValue").cloned().unwrap_or(Value::Null);
    let options = if ftype == "SELECT" || ftype == "MULTI_SELECT" {
        let opts = validate_options(input.get("options").unwrap_or(&Value::Null), &mut errors);
        check_default_in_options(&ftype, &default_value, &opts, &mut errors);
        Some(opts)
    } else {
        None
    };
    let now = now_iso();
    let field_id = uuid::Uuid::new_v4().to_string();
    let mut inverse: Option<(String, FieldMeta)> = None;
    let mut relation = None;
    let mut settings = input.get("settings").cloned().filter(|s| !s.is_null());
    if ftype == "RELATION" {
        let payload = input.get("relationCreationPayload").cloned().unwrap_or(Value::Null);
        let rtype = payload.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
        let target_id = payload.get("targetObjectMetadataId").and_then(Value::as_str).unwrap_or_default();
        let target_label = payload.get("targetFieldLabel").and_then(Value::as_str).unwrap_or_default().to_string();
        let target = state.schema.object_by_id(target_id).cloned();
        if rtype != "MANY_TO_ONE" && rtype != "ONE_TO_MANY" {
            errors.push(invalid(
                "INVALID_FIELD_INPUT",
                "Relation type must be MANY_TO_ONE or ONE_TO_MANY",
                json!(rtype),
            ));
        }
        if target_label.trim().is_empty() {
            errors.push(invalid("INVALID_FIELD_INPUT", "Target field label is required", json!(target_label)));
        }
        match target {
            None => {
                errors.push(invalid("INVALID_FIELD_INPUT", "Target object metadata does not exist", json!(target_id)))
            }
            Some(target) => {
                let inv_name = payload
                    .get("targetFieldName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| camel_from_label(&target_label));
                if name_taken(&target, &inv_name) || (target.id == obj.id && inv_name == name) {
                    errors.push(invalid(
                        "NOT_AVAILABLE",
                        format!("Name \"{inv_name}\" is not available"),
                        json!(inv_name),
                    ));
                }
                let inv_type = if rtype == "MANY_TO_ONE" { "ONE_TO_MANY" } else { "MANY_TO_ONE" };
                relation = Some(RelationRef {
                    rtype: rtype.clone(),
                    target: target.name_singular.clone(),
                    target_field: inv_name.clone(),
                });
                settings = Some(if rtype == "MANY_TO_ONE" {
                    json!({"relationType": "MANY_TO_ONE", "onDelete": "SET_NULL", "joinColumnName": format!("{name}Id")})
                } else {
                    json!({"relationType": "ONE_TO_MANY"})
                });
                let inv_settings = if inv_type == "MANY_TO_ONE" {
                    json!({"relationType": "MANY_TO_ONE", "onDelete": "SET_NULL", "joinColumnName": format!("{inv_name}Id")})
                } else {
                    json!({"relationType": "ONE_TO_MANY"})
                };
                inverse = Some((
                    target.name_singular.clone(),
                    FieldMeta {
                        id: uuid::Uuid::new_v4().to_string(),
                        name: inv_name,
                        ftype: "RELATION".into(),
                        label: target_label.clone(),
                        description: Some(format!(
                            "{} tied to the {}",
                            pascal(&target.name_plural),
                            obj.label_singular
                        )),
                        icon: payload.get("targetFieldIcon").and_then(Value::as_str).map(str::to_string),
                        is_custom: true,
                        is_active: true,
                        is_system: false,
                        is_nullable: true,
                        is_unique: false,
                        default_value: Value::Null,
                        options: None,
                        settings: Some(inv_settings),
                        relation: Some(RelationRef {
                            rtype: inv_type.into(),
                            target: obj.name_singular.clone(),
                            target_field: name.clone(),
                        }),
                        morph_relations: None,
                        created_at: now.clone(),
                        updated_at: now.clone(),
                    },
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(MetaError::Invalid(errors));
    }
    let description = match (str_field(input, "description"), &relation) {
        (Some(d), _) => Some(d),
        (None, Some(r)) => state
            .schema
            .object(&r.target)
            .map(|t| format!("{} tied to the {}", pascal(&obj.name_plural), t.label_singular)),
        (None, None) => None,
    };
    let field = FieldMeta {
        id: field_id.clone(),
        name: name.clone(),
        ftype,
        label,
        description,
        icon: str_field(input, "icon"),
        is_custom: true,
        is_active: input.get("isActive").and_then(Value::as_bool).unwrap_or(true),
        is_system: false,
        is_nullable: input.get("isNullable").and_then(Value::as_bool).unwrap_or(true),
        is_unique: input.get("isUnique").and_then(Value::as_bool).unwrap_or(false),
        default_value,
        options,
        settings,
        relation,
        morph_relations: None,
        created_at: now.clone(),
        updated_at: now,
    };
    if let Some(o) = state.schema.object_mut(&obj.name_singular) {
        o.fields.push(field);
    }
    if let Some((target, inv)) = inverse
        && let Some(t) = state.schema.object_mut(&target)
    {
        t.fields.push(inv);
    }
    after_schema_change(state);
    Ok((obj.name_singular, field_id))
}

fn after_schema_change(state: &mut State) {
    state.reindex_all();
    state.pending.push(Change::Schema);
}

/// Updates a field: label, description, icon, nullability, uniqueness, default, options (full-list replace
/// keeping ids, 19), settings. Removed option values disappear from records.
pub fn update_field(state: &mut State, id: &str, update: &Value) -> Result<(String, String), MetaError> {
    let (obj, field) = state
        .schema
        .field_by_id(id)
        .map(|(o, f)| (o.clone(), f.clone()))
        .ok_or_else(|| MetaError::NotFound("Field metadata not found".into()))?;
    let Some(update) = update.as_object() else {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_FIELD_INPUT",
            "Update must be an object",
            update.clone(),
        )]));
    };
    let mut errors = Vec::new();
    let mut f = field.clone();
    for (k, v) in update {
        match k.as_str() {
            "label" => match v.as_str() {
                Some(l) if !l.trim().is_empty() => f.label = l.to_string(),
                _ => errors.push(invalid("INVALID_FIELD_INPUT", "Label is required", v.clone())),
            },
            "description" => f.description = v.as_str().map(str::to_string),
            "icon" => f.icon = v.as_str().map(str::to_string),
            "isActive" => f.is_active = v.as_bool().unwrap_or(f.is_active),
            "isNullable" => f.is_nullable = v.as_bool().unwrap_or(f.is_nullable),
            "isUnique" => f.is_unique = v.as_bool().unwrap_or(f.is_unique),
            "defaultValue" => f.default_value = v.clone(),
            "settings" => f.settings = Some(v.clone()).filter(|s| !s.is_null()),
            "options" => {
                if f.ftype != "SELECT" && f.ftype != "MULTI_SELECT" {
                    errors.push(invalid("INVALID_FIELD_INPUT", "Only select fields have options", v.clone()));
                } else {
                    f.options = Some(validate_options(v, &mut errors));
                }
            }
            "name" => match v.as_str() {
                Some(n) if n == field.name => {}
                Some(n) if field.is_custom && is_camel_name(n) && !name_taken(&obj, n) => f.name = n.to_string(),
                _ => errors.push(invalid(
                    "NOT_AVAILABLE",
                    format!("Name \"{}\" is not available", super::values::js_display(v)),
                    v.clone(),
                )),
            },
            "id" | "objectMetadataId" | "type" => {}
            other => errors.push(invalid(
                "INVALID_FIELD_INPUT",
                format!("Property \"{other}\" cannot be updated"),
                v.clone(),
            )),
        }
    }
    if let Some(opts) = &f.options {
        check_default_in_options(&f.ftype, &f.default_value, opts, &mut errors);
    }
    if f.is_unique && !field.is_unique && duplicates_exist(state, &obj, &f) {
        errors.push(invalid("INVALID_FIELD_INPUT", "Field values are not unique", json!(f.name)));
    }
    if !errors.is_empty() {
        return Err(MetaError::Invalid(errors));
    }
    f.updated_at = now_iso();
    // Option values that were removed disappear from records.
    if let (Some(old), Some(new)) = (&field.options, &f.options) {
        let kept: Vec<&str> = new.iter().map(|o| o.value.as_str()).collect();
        let removed: Vec<String> =
            old.iter().filter(|o| !kept.contains(&o.value.as_str())).map(|o| o.value.clone()).collect();
        if !removed.is_empty() {
            scrub_option_values(state, &obj.name_singular, &field.name, &removed);
        }
    }
    if f.name != field.name {
        rename_column(state, &obj.name_singular, &field.name, &f.name);
    }
    if let Some(o) = state.schema.object_mut(&obj.name_singular)
        && let Some(slot) = o.fields.iter_mut().find(|x| x.id == id)
    {
        *slot = f;
    }
    after_schema_change(state);
    Ok((obj.name_singular, id.to_string()))
}

fn duplicates_exist(state: &State, obj: &ObjectMeta, f: &FieldMeta) -> bool {
    let Some(t) = state.tables.get(&obj.name_singular) else { return false };
    let sub = crate::values::unique_subfield(&f.ftype);
    let mut seen = std::collections::HashSet::new();
    for r in t.rows.values() {
        let mut v = r.get(&f.name).unwrap_or(&Value::Null);
        if let Some(s) = sub {
            v = v.get(s).unwrap_or(&Value::Null);
        }
        if v.is_null() || v.as_str() == Some("") {
            continue;
        }
        if !seen.insert(v.to_string()) {
            return true;
        }
    }
    false
}

fn scrub_option_values(state: &mut State, object: &str, field: &str, removed: &[String]) {
    let Some(t) = state.tables.get_mut(object) else { return };
    let mut changed = Vec::new();
    for (id, r) in t.rows.iter_mut() {
        let new = match r.get(field) {
            Some(Value::String(s)) if removed.contains(s) => Value::Null,
            Some(Value::Array(items))
                if items.iter().any(|i| i.as_str().is_some_and(|s| removed.iter().any(|x| x == s))) =>
            {
                Value::Array(
                    items
                        .iter()
                        .filter(|i| !i.as_str().is_some_and(|s| removed.iter().any(|x| x == s)))
                        .cloned()
                        .collect(),
                )
            }
            _ => continue,
        };
        std::sync::Arc::make_mut(r).insert(field.to_string(), new);
        changed.push(id.clone());
    }
    for id in changed {
        state.pending.push(Change::Row(object.to_string(), id));
    }
}

fn rename_column(state: &mut State, object: &str, old: &str, new: &str) {
    let Some(t) = state.tables.get_mut(object) else { return };
    let ids: Vec<String> = t.rows.keys().cloned().collect();
    for r in t.rows.values_mut() {
        let r = std::sync::Arc::make_mut(r);
        if let Some(v) = r.remove(old) {
            r.insert(new.to_string(), v);
        }
    }
    for id in ids {
        state.pending.push(Change::Row(object.to_string(), id));
    }
}

fn drop_column(state: &mut State, object: &str, column: &str) {
    let Some(t) = state.tables.get_mut(object) else { return };
    let mut changed = Vec::new();
    for (id, r) in t.rows.iter_mut() {
        if std::sync::Arc::make_mut(r).remove(column).is_some() {
            changed.push(id.clone());
        }
    }
    for id in changed {
        state.pending.push(Change::Row(object.to_string(), id));
    }
}

/// Deletes a custom field (no deactivation step needed, 95); a relation takes its inverse with it.
pub fn delete_field(state: &mut State, id: &str) -> Result<String, MetaError> {
    let (obj, field) = state
        .schema
        .field_by_id(id)
        .map(|(o, f)| (o.clone(), f.clone()))
        .ok_or_else(|| MetaError::NotFound("Field metadata not found".into()))?;
    if !field.is_custom {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_FIELD_INPUT",
            "Standard fields cannot be deleted",
            json!(field.name),
        )]));
    }
    remove_field(state, &obj.name_singular, &field);
    if let Some(r) = &field.relation
        && let Some(inv) = state.schema.object(&r.target).and_then(|t| t.field(&r.target_field)).cloned()
    {
        remove_field(state, &r.target, &inv);
    }
    after_schema_change(state);
    Ok(id.to_string())
}

fn remove_field(state: &mut State, object: &str, field: &FieldMeta) {
    let column = field.join_column().unwrap_or_else(|| field.name.clone());
    if let Some(o) = state.schema.object_mut(object) {
        o.fields.retain(|f| f.id != field.id);
    }
    if !field.is_one_to_many() {
        drop_column(state, object, &column);
    }
}

#[allow(clippy::too_many_arguments)]
fn system_field(
    name: &str,
    ftype: &str,
    label: &str,
    description: &str,
    icon: &str,
    system: bool,
    nullable: bool,
    default: Value,
    now: &str,
) -> FieldMeta {
    FieldMeta {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.into(),
        ftype: ftype.into(),
        label: label.into(),
        description: Some(description.into()),
        icon: Some(icon.into()),
        is_custom: false,
        is_active: true,
        is_system: system,
        is_nullable: nullable,
        is_unique: false,
        default_value: default,
        options: None,
        settings: None,
        relation: None,
        morph_relations: None,
        created_at: now.into(),
        updated_at: now.into(),
    }
}

/// Creates a custom object with the 14 default fields recorded in 20, and its target columns on
/// noteTarget/taskTarget (73), favorite, attachment and timelineActivity.
pub fn create_object(state: &mut State, input: &Value) -> Result<String, MetaError> {
    let Some(input) = input.as_object() else {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_OBJECT_INPUT",
            "Object input must be an object",
            input.clone(),
        )]));
    };
    let singular = str_field(input, "nameSingular").unwrap_or_default();
    let plural = str_field(input, "namePlural").unwrap_or_default();
    let label_singular = str_field(input, "labelSingular").unwrap_or_default();
    let label_plural = str_field(input, "labelPlural").unwrap_or_default();
    let mut errors = Vec::new();
    for n in [&singular, &plural] {
        if !is_camel_name(n) {
            errors.push(invalid("INVALID_OBJECT_INPUT", format!("Name \"{n}\" is not in camelCase"), json!(n)));
        } else if state.schema.objects.iter().any(|o| o.name_singular == *n || o.name_plural == *n) {
            errors.push(invalid("NOT_AVAILABLE", format!("Name \"{n}\" is not available"), json!(n)));
        }
    }
    if singular == plural {
        errors.push(invalid("INVALID_OBJECT_INPUT", "The singular and plural names must differ", json!(singular)));
    }
    if label_singular.trim().is_empty() || label_plural.trim().is_empty() {
        errors.push(invalid("INVALID_OBJECT_INPUT", "Labels are required", json!(label_singular)));
    }
    if !errors.is_empty() {
        return Err(MetaError::Invalid(errors));
    }
    let now = now_iso();
    let pascal_plural = pascal(&plural);
    let rel = |name: &str, label: &str, target: &str, target_field: &str, target_label: &str| FieldMeta {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.into(),
        ftype: "RELATION".into(),
        label: label.into(),
        description: Some(format!("{pascal_plural} tied to the {target_label}")),
        icon: Some("IconBuildingSkyscraper".into()),
        is_custom: true,
        is_active: true,
        is_system: true,
        is_nullable: true,
        is_unique: false,
        default_value: Value::Null,
        options: None,
        settings: Some(json!({"relationType": "ONE_TO_MANY"})),
        relation: Some(RelationRef {
            rtype: "ONE_TO_MANY".into(),
            target: target.into(),
            target_field: target_field.into(),
        }),
        morph_relations: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let morph_targets = state.target_columns == TargetColumns::Morph;
    let target_field_name = |holder: &str| {
        if morph_targets && (holder == "noteTarget" || holder == "taskTarget") {
            "target".to_string()
        } else {
            singular.clone()
        }
    };
    let actor_default = json!({"name": "''", "source": "'MANUAL'"});
    let fields = vec![
        system_field("position", "POSITION", "Position", "Position", "IconHierarchy2", true, false, json!(0), &now),
        rel("taskTargets", "Task Targets", "taskTarget", &target_field_name("taskTarget"), "Task Target"),
        system_field(
            "updatedAt",
            "DATE_TIME",
            "Last update",
            "Last time the record was changed",
            "IconCalendarClock",
            false,
            false,
            json!("now"),
            &now,
        ),
        system_field(
            "createdAt",
            "DATE_TIME",
            "Creation date",
            "Creation date",
            "IconCalendar",
            false,
            false,
            json!("now"),
            &now,
        ),
        system_field(
            "createdBy",
            "ACTOR",
            "Created by",
            "The creator of the record",
            "IconCreativeCommonsSa",
            false,
            false,
            actor_default.clone(),
            &now,
        ),
        rel("timelineActivities", "Timeline Activities", "timelineActivity", "target", "Timeline Activity"),
        rel("attachments", "Attachments", "attachment", "target", "Attachment"),
        rel("favorites", "Favorites", "favorite", &singular, "Favorite"),
        system_field(
            "updatedBy",
            "ACTOR",
            "Updated by",
            "The workspace member who last updated the record",
            "IconUserCircle",
            false,
            false,
            actor_default,
            &now,
        ),
        rel("noteTargets", "Note Targets", "noteTarget", &target_field_name("noteTarget"), "Note Target"),
        system_field(
            "searchVector",
            "TS_VECTOR",
            "Search vector",
            "Search vector",
            "IconSearch",
            true,
            true,
            Value::Null,
            &now,
        ),
        system_field(
            "deletedAt",
            "DATE_TIME",
            "Deleted at",
            "Deletion date",
            "IconCalendarClock",
            false,
            true,
            Value::Null,
            &now,
        ),
        system_field("id", "UUID", "Id", "Id", "Icon123", true, false, json!("uuid"), &now),
        system_field("name", "TEXT", "Name", "Name", "IconAbc", false, true, Value::Null, &now),
    ];
    let id = uuid::Uuid::new_v4().to_string();
    let obj = ObjectMeta {
        id: id.clone(),
        name_singular: singular.clone(),
        name_plural: plural.clone(),
        label_singular: label_singular.clone(),
        label_plural,
        description: str_field(input, "description"),
        icon: str_field(input, "icon"),
        is_custom: true,
        is_active: true,
        is_system: false,
        created_at: now.clone(),
        updated_at: now.clone(),
        label_identifier: Some("name".into()),
        image_identifier: None,
        column_order: [
            "id",
            "name",
            "createdAt",
            "updatedAt",
            "updatedBy",
            "deletedAt",
            "createdBy",
            "position",
            "searchVector",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        fields,
    };
    // The other side of each relation.
    let many_to_one = |holder_plural: &str| FieldMeta {
        id: uuid::Uuid::new_v4().to_string(),
        name: singular.clone(),
        ftype: "RELATION".into(),
        label: label_singular.clone(),
        description: Some(format!("{} {}", pascal(holder_plural), label_singular)),
        icon: obj.icon.clone(),
        is_custom: true,
        is_active: true,
        is_system: true,
        is_nullable: true,
        is_unique: false,
        default_value: Value::Null,
        options: None,
        settings: Some(
            json!({"relationType": "MANY_TO_ONE", "onDelete": "CASCADE", "joinColumnName": format!("{singular}Id")}),
        ),
        relation: Some(RelationRef {
            rtype: "MANY_TO_ONE".into(),
            target: singular.clone(),
            target_field: holder_plural.into(),
        }),
        morph_relations: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let morph = |holder_plural: &str| {
        let name = format!("target{}", pascal(&singular));
        FieldMeta {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.clone(),
            ftype: "MORPH_RELATION".into(),
            label: label_singular.clone(),
            description: Some(format!("{} {}", pascal(holder_plural), label_singular)),
            icon: obj.icon.clone(),
            is_custom: true,
            is_active: true,
            is_system: false,
            is_nullable: true,
            is_unique: false,
            default_value: Value::Null,
            options: None,
            settings: Some(
                json!({"relationType": "MANY_TO_ONE", "onDelete": "CASCADE", "joinColumnName": format!("{name}Id")}),
            ),
            relation: None,
            morph_relations: Some(vec![RelationRef {
                rtype: "MANY_TO_ONE".into(),
                target: singular.clone(),
                target_field: holder_plural.into(),
            }]),
            created_at: now.clone(),
            updated_at: now.clone(),
        }
    };
    let mut additions: Vec<(&str, FieldMeta)> = vec![
        ("favorite", many_to_one("favorites")),
        ("attachment", morph("attachments")),
        ("timelineActivity", morph("timelineActivities")),
    ];
    for holder in ["noteTarget", "taskTarget"] {
        let holder_plural = if holder == "noteTarget" { "noteTargets" } else { "taskTargets" };
        additions.push((holder, if morph_targets { morph(holder_plural) } else { many_to_one(holder_plural) }));
    }
    state.schema.objects.push(obj);
    for (holder, f) in additions {
        if let Some(o) = state.schema.object_mut(holder) {
            o.fields.push(f);
        }
    }
    state.tables.insert(singular.clone(), Default::default());
    after_schema_change(state);
    Ok(id)
}

/// Deletes a custom object, its records, and every field on other objects that points at it (96).
pub fn delete_object(state: &mut State, id: &str) -> Result<String, MetaError> {
    let obj = state
        .schema
        .object_by_id(id)
        .cloned()
        .ok_or_else(|| MetaError::NotFound("Object metadata not found".into()))?;
    if !obj.is_custom {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_OBJECT_INPUT",
            "Standard objects cannot be deleted",
            json!(obj.name_singular),
        )]));
    }
    let ids: Vec<String> =
        state.tables.get(&obj.name_singular).map(|t| t.rows.keys().cloned().collect()).unwrap_or_default();
    let _ = state.destroy(&obj.name_singular, &ids);
    let pointing: Vec<(String, FieldMeta)> = state
        .schema
        .objects
        .iter()
        .filter(|o| o.name_singular != obj.name_singular)
        .flat_map(|o| {
            o.fields
                .iter()
                .filter(|f| {
                    f.relation.as_ref().is_some_and(|r| r.target == obj.name_singular)
                        || f.morph_relations.as_ref().is_some_and(|m| m.iter().any(|r| r.target == obj.name_singular))
                })
                .map(move |f| (o.name_singular.clone(), f.clone()))
        })
        .collect();
    for (holder, f) in pointing {
        remove_field(state, &holder, &f);
    }
    state.schema.objects.retain(|o| o.id != id);
    state.tables.remove(&obj.name_singular);
    after_schema_change(state);
    Ok(id.to_string())
}

/// Updates an object's labels, description, icon or activity.
pub fn update_object(state: &mut State, id: &str, update: &Value) -> Result<String, MetaError> {
    let Some(o) = state.schema.objects.iter_mut().find(|o| o.id == id) else {
        return Err(MetaError::NotFound("Object metadata not found".into()));
    };
    let Some(update) = update.as_object() else {
        return Err(MetaError::Invalid(vec![invalid(
            "INVALID_OBJECT_INPUT",
            "Update must be an object",
            update.clone(),
        )]));
    };
    for (k, v) in update {
        match (k.as_str(), v.as_str()) {
            ("labelSingular", Some(s)) => o.label_singular = s.into(),
            ("labelPlural", Some(s)) => o.label_plural = s.into(),
            ("description", s) => o.description = s.map(str::to_string),
            ("icon", s) => o.icon = s.map(str::to_string),
            ("isActive", _) => o.is_active = v.as_bool().unwrap_or(o.is_active),
            _ => {}
        }
    }
    o.updated_at = now_iso();
    after_schema_change(state);
    Ok(id.to_string())
}

/// Objects as the metadata API lists them: by id, descending (01).
pub fn objects_by_id_desc(state: &State) -> Vec<&ObjectMeta> {
    let mut objects: Vec<&ObjectMeta> = state.schema.objects.iter().collect();
    objects.sort_by(|a, b| b.id.cmp(&a.id));
    objects
}

fn array_connection_page_info(n: usize) -> Value {
    let c = |i: usize| base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{i}"));
    if n == 0 {
        json!({"hasNextPage": false, "startCursor": null, "endCursor": null})
    } else {
        json!({"hasNextPage": false, "startCursor": c(0), "endCursor": c(n - 1)})
    }
}

/// `/rest/metadata/…`.
pub fn rest(shared: &Shared, req: &Req) -> Reply {
    let segs: Vec<&str> = req.path.trim_start_matches("/rest/metadata").split('/').filter(|s| !s.is_empty()).collect();
    let body: Value = if req.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return ApiError::nest(400, "Bad Request", format!("Unexpected token in JSON: {e}")).into(),
        }
    };
    let mut state = shared.state();
    let reply = match (segs.as_slice(), req.method.as_str()) {
        (["objects"], "GET") => {
            let objects: Vec<Value> =
                objects_by_id_desc(&state).into_iter().map(|o| state.schema.object_rest_json(o)).collect();
            let n = objects.len();
            Reply::json(200, &json!({"data": {"objects": objects}, "pageInfo": array_connection_page_info(n)}))
        }
        (["objects", id], "GET") => match state.schema.object_by_id(id) {
            Some(o) => Reply::json(200, &json!({"data": {"object": state.schema.object_rest_json(o)}})),
            None => metadata_rest_error(404, "Not Found", "Object metadata not found").into(),
        },
        (["fields"], "GET") => {
            let fields: Vec<Value> = state
                .schema
                .objects
                .iter()
                .flat_map(|o| o.fields.iter().map(|f| state.schema.field_rest_json(o, f)).collect::<Vec<_>>())
                .collect();
            let n = fields.len();
            Reply::json(200, &json!({"data": {"fields": fields}, "pageInfo": array_connection_page_info(n)}))
        }
        (["fields", id], "GET") => match state.schema.field_by_id(id) {
            Some((o, f)) => Reply::json(200, &json!({"data": {"field": state.schema.field_rest_json(o, f)}})),
            None => metadata_rest_error(404, "Not Found", "Field metadata not found").into(),
        },
        (["fields"], "POST") => match create_field(&mut state, &body) {
            Ok((_, id)) => field_reply(&state, 201, "createOneField", &id),
            Err(e) => to_rest(e, "fields", "creating").into(),
        },
        (["fields", id], "PATCH" | "PUT") => match update_field(&mut state, id, &body) {
            Ok((_, id)) => field_reply(&state, 200, "updateOneField", &id),
            Err(e) => to_rest(e, "fields", "updating").into(),
        },
        (["fields", id], "DELETE") => match delete_field(&mut state, id) {
            Ok(id) => Reply::json(200, &json!({"data": {"deleteOneField": {"id": id}}})),
            Err(e) => to_rest(e, "fields", "deleting").into(),
        },
        (["objects"], "POST") => match create_object(&mut state, &body) {
            Ok(id) => object_reply(&state, 201, "createOneObject", &id),
            Err(e) => to_rest(e, "objects", "creating").into(),
        },
        (["objects", id], "PATCH" | "PUT") => match update_object(&mut state, id, &body) {
            Ok(id) => object_reply(&state, 200, "updateOneObject", &id),
            Err(e) => to_rest(e, "objects", "updating").into(),
        },
        (["objects", id], "DELETE") => match delete_object(&mut state, id) {
            Ok(id) => Reply::json(200, &json!({"data": {"deleteOneObject": {"id": id}}})),
            Err(e) => to_rest(e, "objects", "deleting").into(),
        },
        _ => metadata_rest_error(
            400,
            "Bad Request",
            &format!(
                "Query path '{}' invalid. Valid examples: /rest/metadata/fields or /rest/metadata/objects",
                req.path
            ),
        )
        .into(),
    };
    shared.flush(&mut state);
    reply
}

fn field_reply(state: &State, status: u16, key: &str, id: &str) -> Reply {
    match state.schema.field_by_id(id) {
        Some((o, f)) => Reply::json(status, &json!({"data": {key: state.schema.field_rest_json(o, f)}})),
        None => metadata_rest_error(404, "Not Found", "Field metadata not found").into(),
    }
}

fn object_reply(state: &State, status: u16, key: &str, id: &str) -> Reply {
    match state.schema.object_by_id(id) {
        Some(o) => Reply::json(status, &json!({"data": {key: state.schema.object_rest_json(o)}})),
        None => metadata_rest_error(404, "Not Found", "Object metadata not found").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_from_labels_like_lodash() {
        assert_eq!(camel_from_label("CTR Widgets"), "ctrWidgets");
        assert_eq!(camel_from_label("Legacy CRM id"), "legacyCrmId");
        assert_eq!(camel_from_label("first name"), "firstName");
    }

    #[test]
    fn option_value_pattern() {
        assert!(is_option_value("GOLD"));
        assert!(is_option_value("ON_HOLD"));
        assert!(is_option_value("A1_B2"));
        assert!(!is_option_value("on-hold"));
        assert!(!is_option_value("ON__HOLD"));
        assert!(!is_option_value("_X"));
        assert!(!is_option_value("X_"));
        assert!(!is_option_value("1X"));
    }
}
