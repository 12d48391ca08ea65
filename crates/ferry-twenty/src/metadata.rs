//! Data-model changes: fields (incl. SELECT options and relations) and custom objects. Every change refreshes
//! the client's schema (metadata calls are not counted by the server's rate limit).

use std::sync::LazyLock;

use regex::Regex;
use reqwest::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::{Call, Route, TwentyClient};
use crate::error::{ErrorKind, TwentyError};
use crate::schema::{FieldMeta, FieldType, ObjectMeta, parse_rest_field, parse_rest_object};

/// Colours Twenty accepts for options.
pub const OPTION_COLORS: [&str; 10] =
    ["green", "turquoise", "sky", "blue", "purple", "pink", "red", "orange", "yellow", "gray"];

static OPTION_VALUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$").unwrap());

/// A SELECT / MULTI_SELECT option to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOption {
    /// Stored value; Twenty requires UPPER_SNAKE_CASE, 1–63 characters.
    pub value: String,
    /// Label.
    pub label: String,
    /// Colour (one of [`OPTION_COLORS`]); `None` picks one by position.
    pub color: Option<String>,
}

impl NewOption {
    /// An option with a colour chosen by position.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> NewOption {
        NewOption { value: value.into(), label: label.into(), color: None }
    }
}

/// Checks an option value the way the server does (exchange 16/17): UPPER_SNAKE_CASE, no `__`, 1–63 chars.
pub fn check_option_value(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 63 {
        return Err(format!("option value \"{value}\" must be 1 to 63 characters"));
    }
    if value.contains("__") || !OPTION_VALUE.is_match(value) {
        return Err(format!("option value \"{value}\" must be UPPER_CASE and follow snake_case (e.g. ON_HOLD)"));
    }
    Ok(())
}

/// Turns a label into a value Twenty accepts (`"On hold"` → `ON_HOLD`, `"2nd try"` → `V_2ND_TRY`).
pub fn option_value_from_label(label: &str) -> String {
    let mut out = String::new();
    let mut underscore = false;
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
            underscore = false;
        } else if !out.is_empty() && !underscore {
            out.push('_');
            underscore = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("EMPTY");
    }
    if !out.starts_with(|c: char| c.is_ascii_uppercase()) {
        out.insert_str(0, "V_");
    }
    out.truncate(63);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// A field to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewField {
    /// The object (singular or plural name).
    pub object: String,
    /// API name (camelCase).
    pub name: String,
    /// Label.
    pub label: String,
    /// Type (not RELATION: use [`TwentyClient::create_relation`]).
    pub field_type: FieldType,
    /// Description.
    pub description: Option<String>,
    /// Icon name (`IconAbc`).
    pub icon: Option<String>,
    /// Nullable (default true).
    pub is_nullable: bool,
    /// Default value, as Twenty stores it.
    pub default_value: Option<Value>,
    /// Options for SELECT / MULTI_SELECT.
    pub options: Vec<NewOption>,
    /// `settings`, when the type needs some.
    pub settings: Option<Value>,
}

impl NewField {
    /// A nullable field with no options.
    pub fn new(object: &str, name: &str, label: &str, field_type: FieldType) -> NewField {
        NewField {
            object: object.to_owned(),
            name: name.to_owned(),
            label: label.to_owned(),
            field_type,
            description: None,
            icon: None,
            is_nullable: true,
            default_value: None,
            options: Vec::new(),
            settings: None,
        }
    }

    /// Sets the options.
    pub fn with_options(mut self, options: Vec<NewOption>) -> NewField {
        self.options = options;
        self
    }
}

/// A custom object to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject {
    /// Singular API name (`ctrWidget`).
    pub name_singular: String,
    /// Plural API name (`ctrWidgets`).
    pub name_plural: String,
    /// Singular label.
    pub label_singular: String,
    /// Plural label.
    pub label_plural: String,
    /// Description.
    pub description: Option<String>,
    /// Icon.
    pub icon: Option<String>,
}

/// A MANY_TO_ONE relation from `object` to `target` (one call creates both sides, exchange 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelation {
    /// The object that gets the join column.
    pub object: String,
    /// The field name on `object` (`company` → join column `companyId`).
    pub name: String,
    /// Label of the field on `object`.
    pub label: String,
    /// The target object.
    pub target: String,
    /// Label of the inverse (ONE_TO_MANY) field on the target.
    pub target_field_label: String,
    /// Icon of the inverse field.
    pub target_field_icon: Option<String>,
    /// Icon of the field.
    pub icon: Option<String>,
}

fn options_json(options: &[NewOption], ids: &dyn Fn(&str) -> Option<String>) -> Vec<Value> {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut m = Map::new();
            if let Some(id) = ids(&o.value) {
                m.insert("id".into(), Value::String(id));
            }
            m.insert("value".into(), Value::String(o.value.clone()));
            m.insert("label".into(), Value::String(o.label.clone()));
            let color = o.color.clone().unwrap_or_else(|| OPTION_COLORS[i % OPTION_COLORS.len()].to_owned());
            m.insert("color".into(), Value::String(color));
            m.insert("position".into(), json!(i));
            Value::Object(m)
        })
        .collect()
}

fn check_options(op: &str, object: &str, field: &str, options: &[NewOption]) -> Result<(), TwentyError> {
    let mut seen = std::collections::HashSet::new();
    for o in options {
        if let Err(m) = check_option_value(&o.value) {
            return Err(TwentyError::new(ErrorKind::InvalidInput, op, m)
                .with_object(object)
                .with_field(field)
                .with_value(&o.value)
                .with_hint(format!("use {}", option_value_from_label(&o.value))));
        }
        if o.label.trim().is_empty() {
            return Err(TwentyError::new(ErrorKind::InvalidInput, op, "an option label is empty")
                .with_object(object)
                .with_field(field)
                .with_value(&o.value)
                .with_hint("give every option a label"));
        }
        if !seen.insert(o.value.as_str()) {
            return Err(TwentyError::new(ErrorKind::InvalidInput, op, "option values must be unique")
                .with_object(object)
                .with_field(field)
                .with_value(&o.value)
                .with_hint("remove the repeated option"));
        }
    }
    Ok(())
}

impl TwentyClient {
    fn parse_field_answer(&self, body: &Value, op: &str, object: &str) -> Result<FieldMeta, TwentyError> {
        body.get("data")
            .and_then(Value::as_object)
            .and_then(|d| d.values().next())
            .and_then(parse_rest_field)
            .ok_or_else(|| TwentyError::new(ErrorKind::Protocol, op, "the answer has no field").with_object(object))
    }

    /// Creates a field. SELECT / MULTI_SELECT option values are checked first the way the server checks them.
    /// When the server refuses (REST gives only a generic message), the same input is sent to the `/metadata`
    /// GraphQL API once, whose answer names the reason (exchange 17).
    pub async fn create_field(&self, field: NewField) -> Result<FieldMeta, TwentyError> {
        let schema = self.schema();
        let meta = schema.require(&field.object, "create field")?;
        let op = format!("create field {}.{}", meta.name_singular, field.name);
        check_options(&op, &meta.name_singular, &field.name, &field.options)?;
        let mut body = Map::new();
        body.insert("objectMetadataId".into(), Value::String(meta.id.to_string()));
        body.insert("type".into(), Value::String(field.field_type.as_str().to_owned()));
        body.insert("name".into(), Value::String(field.name.clone()));
        body.insert("label".into(), Value::String(field.label.clone()));
        body.insert("isNullable".into(), Value::Bool(field.is_nullable));
        if let Some(d) = &field.description {
            body.insert("description".into(), Value::String(d.clone()));
        }
        if let Some(i) = &field.icon {
            body.insert("icon".into(), Value::String(i.clone()));
        }
        if let Some(d) = &field.default_value {
            body.insert("defaultValue".into(), d.clone());
        }
        if !field.options.is_empty() {
            body.insert("options".into(), Value::Array(options_json(&field.options, &|_| None)));
        }
        if let Some(s) = &field.settings {
            body.insert("settings".into(), s.clone());
        }
        self.create_field_raw(&meta.name_singular, &field.name, body, &op).await
    }

    async fn create_field_raw(
        &self,
        object: &str,
        name: &str,
        body: Map<String, Value>,
        op: &str,
    ) -> Result<FieldMeta, TwentyError> {
        let call = Call::new(Method::POST, Route::Metadata, "rest/metadata/fields", op)
            .object(object)
            .json(Value::Object(body.clone()));
        let result = match self.json(call).await {
            Ok(answer) => self.parse_field_answer(&answer, op, object),
            Err(e) if e.status == Some(400) => {
                // Ask the GraphQL metadata API for the reason (it validates the same way).
                let gql = Call::new(Method::POST, Route::MetadataGraphql, "metadata", op)
                    .object(object)
                    .json(json!({
                        "query": "mutation CreateOneField($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id name label type isCustom isSystem isActive isNullable defaultValue options } }",
                        "variables": {"input": {"field": Value::Object(body)}}
                    }));
                match self.json(gql).await {
                    Ok(answer) => self.parse_field_answer(&answer, op, object),
                    Err(mut detail) if detail.kind == ErrorKind::InvalidInput => {
                        let mut e = e;
                        e.message = std::mem::take(&mut detail.message);
                        if detail.value.is_some() {
                            e.value = detail.value.take();
                        }
                        e.kind = ErrorKind::InvalidInput;
                        Err(e)
                    }
                    Err(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let result = result.map_err(|mut e| {
            e.object = Some(object.to_owned());
            e.field.get_or_insert_with(|| name.to_owned());
            if e.hint.is_none() || e.kind == ErrorKind::BadRequest || e.kind == ErrorKind::InvalidInput {
                e.hint = Some(format!(
                    "check that {object} has no field named \"{name}\" yet and that the name is camelCase, and the \
                     options are valid"
                ));
            }
            e
        });
        let created = result?;
        self.refresh_schema().await?;
        Ok(created)
    }

    /// Creates a MANY_TO_ONE relation field and its inverse (exchange 21).
    pub async fn create_relation(&self, relation: NewRelation) -> Result<FieldMeta, TwentyError> {
        let schema = self.schema();
        let meta = schema.require(&relation.object, "create relation")?;
        let target = schema.require(&relation.target, "create relation")?;
        let op = format!("create relation {}.{} → {}", meta.name_singular, relation.name, target.name_singular);
        let mut payload = Map::new();
        payload.insert("type".into(), json!("MANY_TO_ONE"));
        payload.insert("targetObjectMetadataId".into(), json!(target.id.to_string()));
        payload.insert("targetFieldLabel".into(), json!(relation.target_field_label));
        payload.insert("targetFieldIcon".into(), json!(relation.target_field_icon.as_deref().unwrap_or("IconLink")));
        let mut body = Map::new();
        body.insert("objectMetadataId".into(), json!(meta.id.to_string()));
        body.insert("type".into(), json!("RELATION"));
        body.insert("name".into(), json!(relation.name));
        body.insert("label".into(), json!(relation.label));
        body.insert("icon".into(), json!(relation.icon.as_deref().unwrap_or("IconLink")));
        body.insert("isNullable".into(), json!(true));
        body.insert("relationCreationPayload".into(), Value::Object(payload));
        self.create_field_raw(&meta.name_singular, &relation.name, body, &op).await
    }

    fn field_meta(&self, object: &str, field: &str, op: &str) -> Result<(ObjectMeta, FieldMeta), TwentyError> {
        let schema = self.schema();
        let meta = schema.require(object, op)?;
        let f = meta.field(field).cloned().ok_or_else(|| {
            TwentyError::new(ErrorKind::UnknownField, op, format!("{} has no field \"{field}\"", meta.name_singular))
                .with_object(&meta.name_singular)
                .with_field(field)
                .with_hint("create the field first, or refresh the schema if another tool created it")
        })?;
        Ok((meta.clone(), f))
    }

    /// PATCHes a field's metadata (`label`, `description`, `options`…) with `patch`.
    pub async fn update_field(&self, object: &str, field: &str, patch: Value) -> Result<FieldMeta, TwentyError> {
        let (meta, f) = self.field_meta(object, field, "update field")?;
        let op = format!("update field {}.{}", meta.name_singular, f.name);
        let call = Call::new(Method::PATCH, Route::Metadata, format!("rest/metadata/fields/{}", f.id), op.clone())
            .object(&meta.name_singular)
            .json(patch);
        let answer = self.json(call).await.map_err(|e| e.with_field(&f.name))?;
        let updated = self.parse_field_answer(&answer, &op, &meta.name_singular)?;
        self.refresh_schema().await?;
        Ok(updated)
    }

    /// Replaces a SELECT / MULTI_SELECT field's options with `options` (Twenty replaces the full list). Options
    /// whose value already exists keep their id, so records holding them keep their value; options left out are
    /// removed by the server.
    pub async fn set_field_options(
        &self,
        object: &str,
        field: &str,
        options: Vec<NewOption>,
    ) -> Result<FieldMeta, TwentyError> {
        let (meta, f) = self.field_meta(object, field, "set field options")?;
        let op = format!("set options of {}.{}", meta.name_singular, f.name);
        check_options(&op, &meta.name_singular, &f.name, &options)?;
        let existing = f.options.clone();
        let ids = move |value: &str| existing.iter().find(|o| o.value == value).and_then(|o| o.id.clone());
        let list = options_json(&options, &ids);
        self.update_field(&meta.name_singular, &f.name, json!({ "options": list })).await
    }

    /// Adds `options` to a SELECT / MULTI_SELECT field, keeping every existing option (values already present
    /// are skipped, so calling it twice changes nothing).
    pub async fn add_field_options(
        &self,
        object: &str,
        field: &str,
        options: Vec<NewOption>,
    ) -> Result<FieldMeta, TwentyError> {
        let (meta, f) = self.field_meta(object, field, "add field options")?;
        let mut all: Vec<NewOption> = f
            .options
            .iter()
            .map(|o| NewOption { value: o.value.clone(), label: o.label.clone(), color: o.color.clone() })
            .collect();
        let before = all.len();
        for o in options {
            if !all.iter().any(|e| e.value == o.value) {
                all.push(o);
            }
        }
        if all.len() == before {
            return Ok(f);
        }
        self.set_field_options(&meta.name_singular, &f.name, all).await
    }

    /// Deletes a field (active custom fields can be deleted directly, exchange 95).
    pub async fn delete_field(&self, object: &str, field: &str) -> Result<(), TwentyError> {
        let (meta, f) = self.field_meta(object, field, "delete field")?;
        let call = Call::new(
            Method::DELETE,
            Route::Metadata,
            format!("rest/metadata/fields/{}", f.id),
            format!("delete field {}.{}", meta.name_singular, f.name),
        )
        .object(&meta.name_singular);
        self.execute(call).await.map_err(|e| e.with_field(&f.name))?;
        self.refresh_schema().await?;
        Ok(())
    }

    /// Creates a custom object; its REST route works at once (exchange 20).
    pub async fn create_object(&self, object: NewObject) -> Result<ObjectMeta, TwentyError> {
        let op = format!("create object {}", object.name_singular);
        let mut body = Map::new();
        body.insert("nameSingular".into(), json!(object.name_singular));
        body.insert("namePlural".into(), json!(object.name_plural));
        body.insert("labelSingular".into(), json!(object.label_singular));
        body.insert("labelPlural".into(), json!(object.label_plural));
        if let Some(d) = &object.description {
            body.insert("description".into(), json!(d));
        }
        body.insert("icon".into(), json!(object.icon.as_deref().unwrap_or("IconBox")));
        let call = Call::new(Method::POST, Route::Metadata, "rest/metadata/objects", op.clone())
            .object(&object.name_singular)
            .json(Value::Object(body));
        let answer = self.json(call).await.map_err(|mut e| {
            if e.hint.is_none() || e.kind == ErrorKind::BadRequest {
                e.hint = Some(format!(
                    "check that no object is named {} / {} yet and that both names are camelCase",
                    object.name_singular, object.name_plural
                ));
            }
            e
        })?;
        let created = answer
            .get("data")
            .and_then(Value::as_object)
            .and_then(|d| d.values().next())
            .and_then(parse_rest_object)
            .ok_or_else(|| TwentyError::new(ErrorKind::Protocol, op, "the answer has no object"))?;
        let schema = self.refresh_schema().await?;
        Ok(schema.object(&created.name_singular).cloned().unwrap_or(created))
    }

    /// Deletes a custom object (with its relations, exchange 96).
    pub async fn delete_object(&self, object: &str) -> Result<(), TwentyError> {
        let schema = self.schema();
        let meta = schema.require(object, "delete object")?;
        let id: Uuid = meta.id;
        let call = Call::new(
            Method::DELETE,
            Route::Metadata,
            format!("rest/metadata/objects/{id}"),
            format!("delete object {}", meta.name_singular),
        )
        .object(&meta.name_singular);
        self.execute(call).await?;
        self.refresh_schema().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_follow_the_server_rule() {
        assert!(check_option_value("ON_HOLD").is_ok());
        assert!(check_option_value("A1").is_ok());
        assert!(check_option_value("on-hold").is_err());
        assert!(check_option_value("A__B").is_err());
        assert!(check_option_value("_A").is_err());
        assert!(check_option_value("").is_err());
        assert!(check_option_value(&"A".repeat(64)).is_err());
        assert_eq!(option_value_from_label("On hold"), "ON_HOLD");
        assert_eq!(option_value_from_label("2nd try!"), "V_2ND_TRY");
        assert_eq!(option_value_from_label("--"), "EMPTY");
        for l in ["Won (closed)", "über", "x".repeat(100).as_str()] {
            assert!(check_option_value(&option_value_from_label(l)).is_ok(), "{l}");
        }
    }

    #[test]
    fn options_keep_ids_by_value() {
        let opts = vec![NewOption::new("GOLD", "Gold"), NewOption::new("NEW_ONE", "New")];
        let ids = |v: &str| (v == "GOLD").then(|| "id-gold".to_owned());
        let j = options_json(&opts, &ids);
        assert_eq!(j[0]["id"], "id-gold");
        assert!(j[1].get("id").is_none());
        assert_eq!(j[1]["position"], 1);
        assert!(check_options("x", "o", "f", &[NewOption::new("A", "a"), NewOption::new("A", "b")]).is_err());
    }
}
