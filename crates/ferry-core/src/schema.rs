//! The shape of data as ferry sees it, whatever system it came from.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a field holds, in terms any CRM-like destination understands.
///
/// Sources map their native types onto these kinds (a PostgreSQL `timestamptz` is a [`FieldKind::DateTime`]);
/// destinations map these kinds onto theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// Integer or decimal number.
    Number,
    /// true / false.
    Boolean,
    /// A calendar date without time (`2024-02-29`).
    Date,
    /// An instant (`2024-02-29T10:00:00Z`).
    DateTime,
    /// Arbitrary JSON kept as is.
    RawJson,
    /// One value out of a list of options.
    Select,
    /// Any number of values out of a list of options.
    MultiSelect,
    /// A list of free-text values.
    Array,
    /// A UUID.
    Uuid,
    /// A reference to one record of another object.
    Relation,
    /// An amount with a currency.
    Currency,
    /// One or more e-mail addresses (primary + additional).
    Emails,
    /// One or more phone numbers (primary + additional).
    Phones,
    /// One or more URLs (primary + additional).
    Links,
    /// A person's first and last name.
    FullName,
    /// A postal address.
    Address,
    /// Formatted text (Markdown).
    RichText,
    /// One or more files.
    Files,
}

impl FieldKind {
    /// The name used in plans, reports and audits (`date_time`, `multi_select`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::DateTime => "date_time",
            FieldKind::RawJson => "raw_json",
            FieldKind::Select => "select",
            FieldKind::MultiSelect => "multi_select",
            FieldKind::Array => "array",
            FieldKind::Uuid => "uuid",
            FieldKind::Relation => "relation",
            FieldKind::Currency => "currency",
            FieldKind::Emails => "emails",
            FieldKind::Phones => "phones",
            FieldKind::Links => "links",
            FieldKind::FullName => "full_name",
            FieldKind::Address => "address",
            FieldKind::RichText => "rich_text",
            FieldKind::Files => "files",
        }
    }
}

impl std::fmt::Display for FieldKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option of a select or multi-select field. `value` is what records store, `label` what people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Order among the field's options, from 0.
    pub position: u32,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The name in the system it comes from (`first_name`, `contactNotes`…).
    pub name: String,
    /// A human label.
    pub label: String,
    pub kind: FieldKind,
    /// The native type in the system it comes from (`timestamp with time zone`, `jsonb[]`, `TEXT`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_type: Option<String>,
    pub nullable: bool,
    /// Whether two records may not share a value.
    #[serde(default)]
    pub unique: bool,
    /// The default as the source states it (an SQL expression, a JSON value…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Whether the field was added by the user rather than shipped by the product.
    #[serde(default)]
    pub custom: bool,
    /// Options of a select or multi-select field, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    /// For a relation: the object it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One object (a table, an entity type) with its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    /// Whether the object was added by the user rather than shipped by the product.
    #[serde(default)]
    pub custom: bool,
    /// The field that identifies a record in the source (`id`).
    pub key: String,
    pub fields: Vec<FieldDef>,
}

impl FieldDef {
    /// A nullable field with nothing else to it: not unique, no default, shipped by the product, no options, no
    /// target (set those with struct update syntax).
    pub fn new(name: impl Into<String>, label: impl Into<String>, kind: FieldKind) -> FieldDef {
        FieldDef {
            name: name.into(),
            label: label.into(),
            kind,
            native_type: None,
            nullable: true,
            unique: false,
            default: None,
            custom: false,
            options: Vec::new(),
            target: None,
        }
    }
}

impl ObjectDef {
    /// The field called `name`, if any.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One record as read from a source: the object it belongs to, its key in the source, and its values by field
/// name, in the source's column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub object: String,
    pub key: String,
    pub values: Map<String, Value>,
}

impl Record {
    pub fn new(object: impl Into<String>, key: impl Into<String>) -> Self {
        Record { object: object.into(), key: key.into(), values: Map::new() }
    }

    /// The value of `field`, or `Value::Null` when the record has none.
    pub fn get(&self, field: &str) -> &Value {
        self.values.get(field).unwrap_or(&Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_kind_names_round_trip_through_serde() {
        for kind in [FieldKind::DateTime, FieldKind::MultiSelect, FieldKind::RawJson, FieldKind::FullName] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: FieldKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn record_get_returns_null_for_missing_fields() {
        let mut r = Record::new("companies", "7");
        r.values.insert("name".into(), Value::from("Acme"));
        assert_eq!(r.get("name"), &Value::from("Acme"));
        assert!(r.get("website").is_null());
    }
}
