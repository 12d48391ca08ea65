//! The Twenty side of ferry's neutral forms (see [`ferry_core::transform`]): what the workspace can take
//! ([`describe`]), neutral values to the JSON Twenty accepts ([`encode`], [`encode_record`]) and what Twenty
//! returns back to neutral values ([`decode`], [`decode_record`]), so that for every writable field
//! `ferry_core::verify::same(kind, v, decode(read back of encode(v)))` holds.
//!
//! ## Which objects and fields [`describe`] lists
//!
//! Objects: every active object that is not a system object, plus the system objects a migration writes
//! through REST to link records: `noteTarget`, `taskTarget` and `attachment` ([`LINK_OBJECTS`]). Left out:
//! the other system objects (workspace members, which are invited rather than created, messages, calendar,
//! favorites, timeline activities, workflow runs…).
//!
//! Fields: every active field whose Twenty type has a neutral kind ([`field_kind`]), with these exceptions:
//! - `id` is listed (kind `uuid`, the object's key): the server keeps client-supplied ids (exchange 29).
//! - `createdAt` and `updatedAt` are listed (kind `date_time`): the server keeps supplied values (exchange 29).
//! - left out: other system fields (`position`, `searchVector`, `avatarUrl`…), `deletedAt` (trash state, not
//!   data), ACTOR fields (`createdBy`/`updatedBy`: no neutral kind; the server fills them), TS_VECTOR,
//!   POSITION, ONE_TO_MANY relations (inverse sides: written from the other object), and types this client does
//!   not know.
//! - a MANY_TO_ONE relation is listed under its join column (`companyId`, kind `relation`, `target` = the
//!   object it points at); so is a MORPH_RELATION with a join column (`targetCompanyId` → `company`).
//! - RICH_TEXT (the deprecated first rich-text type, a plain string) is listed as `text`; RATING as `select`
//!   with its options; NUMERIC as `number`; FILES as `files` (not encodable here: files go through uploads).
//!
//! ## Phones
//!
//! The neutral form keeps each phone as one string. [`encode`] splits it with [`split_phone`]: a leading
//! `+` followed by a country calling code from the ITU list (codes are prefix-free, so at most one matches)
//! gives `primaryPhoneCallingCode` (`+33`) and, when the calling code belongs to exactly one country,
//! `primaryPhoneCountryCode` (`FR`; `+1`, `+7`, `+44`… are shared, so the country stays empty). Everything after
//! the calling code goes, unchanged, into `primaryPhoneNumber` — separators included, so `"+33 6 12 34 56 78"`
//! stores `" 6 12 34 56 78"` — which keeps every digit and lets [`decode`] give back exactly the text written
//! (calling code + number). A phone without a leading `+`, or with an unassigned code, goes whole into the
//! number with empty codes.
//!
//! Not recorded, but in upstream Twenty's source (`transform-phones-value.util.ts`): newer servers run every
//! number through libphonenumber with the calling code as default — they store the national number (digits
//! only, trunk `0` dropped), infer a missing country, and refuse (400) a number that has neither a `+` prefix
//! nor a calling/country code. Against such a server `decode` gives `+33612345678` for a neutral
//! `+33 6 12 34 56 78`, which `verify::same` (exact equality for phones) reports as a mismatch, and national
//! numbers need a default country the neutral form does not carry.

use std::fmt;

use ferry_core::{FieldDef, FieldKind, ObjectDef, SelectOption as CoreOption};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::schema::{FieldMeta, FieldType, ObjectMeta, RelationKind, Schema};

/// System objects a migration writes through REST (note/task targets and attachments link records).
pub const LINK_OBJECTS: [&str; 3] = ["noteTarget", "taskTarget", "attachment"];

/// A neutral value Twenty cannot take for a field: names the field, the value, what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CodecError {
    /// The object (singular name), when known (set by [`encode_record`]).
    pub object: Option<String>,
    /// The field, as [`describe`] names it (a join column for relations).
    pub field: String,
    /// The value, as JSON text (shortened when long).
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(o) => write!(f, "{o}.{}", self.field)?,
            None => write!(f, "{}", self.field)?,
        }
        write!(f, ": {} (value {}); fix: {}", self.message, self.value, self.fix)
    }
}

fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 200 {
        let head: String = text.chars().take(200).collect();
        format!("{head}…")
    } else {
        text
    }
}

fn error(field: &str, value: &Value, message: impl Into<String>, fix: impl Into<String>) -> CodecError {
    CodecError { object: None, field: field.to_owned(), value: shown(value), message: message.into(), fix: fix.into() }
}

// ----------------------------------------------------------------------------------------------------------
// describe

/// The neutral kind of a Twenty field type; `None` for types that hold no migratable data (ACTOR, POSITION,
/// TS_VECTOR) or that this client does not know.
pub fn field_kind(field_type: &FieldType) -> Option<FieldKind> {
    Some(match field_type {
        FieldType::Uuid => FieldKind::Uuid,
        FieldType::Text | FieldType::RichText => FieldKind::Text,
        FieldType::Phones => FieldKind::Phones,
        FieldType::Emails => FieldKind::Emails,
        FieldType::DateTime => FieldKind::DateTime,
        FieldType::Date => FieldKind::Date,
        FieldType::Boolean => FieldKind::Boolean,
        FieldType::Number | FieldType::Numeric => FieldKind::Number,
        FieldType::Links => FieldKind::Links,
        FieldType::Currency => FieldKind::Currency,
        FieldType::FullName => FieldKind::FullName,
        FieldType::Rating | FieldType::Select => FieldKind::Select,
        FieldType::MultiSelect => FieldKind::MultiSelect,
        FieldType::Relation | FieldType::MorphRelation => FieldKind::Relation,
        FieldType::Address => FieldKind::Address,
        FieldType::RawJson => FieldKind::RawJson,
        FieldType::RichTextV2 => FieldKind::RichText,
        FieldType::Array => FieldKind::Array,
        FieldType::Files => FieldKind::Files,
        FieldType::Position | FieldType::Actor | FieldType::TsVector | FieldType::Other(_) => return None,
    })
}

/// Whether [`describe`] lists the object.
pub fn is_listed_object(object: &ObjectMeta) -> bool {
    object.is_active && (!object.is_system || LINK_OBJECTS.contains(&object.name_singular.as_str()))
}

/// The name a field is written under: the join column for relations, the field name otherwise; `None` when
/// the field is not writable (see the module doc).
pub fn write_name(field: &FieldMeta) -> Option<&str> {
    if !field.is_active || field_kind(&field.field_type).is_none() {
        return None;
    }
    match field.name.as_str() {
        "id" | "createdAt" | "updatedAt" => return Some(&field.name),
        "deletedAt" => return None,
        _ => {}
    }
    if field.is_system {
        return None;
    }
    match field.field_type {
        FieldType::Relation => match &field.relation {
            Some(r) if r.kind == RelationKind::ManyToOne => field.join_column.as_deref(),
            _ => None,
        },
        FieldType::MorphRelation => field.join_column.as_deref(),
        _ => Some(&field.name),
    }
}

/// One field as a ferry [`FieldDef`], or `None` when it is not writable.
pub fn describe_field(field: &FieldMeta) -> Option<FieldDef> {
    let name = write_name(field)?;
    let kind = field_kind(&field.field_type)?;
    let options = field
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| CoreOption {
            value: o.value.clone(),
            label: o.label.clone(),
            color: o.color.clone(),
            position: o.position.and_then(|p| u32::try_from(p).ok()).unwrap_or(i as u32),
        })
        .collect();
    let default = match &field.default_value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    Some(FieldDef {
        name: name.to_owned(),
        label: field.label.clone(),
        kind,
        native_type: Some(field.field_type.as_str().to_owned()),
        nullable: field.is_nullable,
        unique: field.is_unique,
        default,
        custom: field.is_custom,
        options,
        target: if kind == FieldKind::Relation { field.points_at().map(str::to_owned) } else { None },
    })
}

/// One object as a ferry [`ObjectDef`] (key `id`), with its writable fields in the server's order.
pub fn describe_object(object: &ObjectMeta) -> ObjectDef {
    ObjectDef {
        name: object.name_singular.clone(),
        label: object.label_singular.clone(),
        custom: object.is_custom,
        key: "id".to_owned(),
        fields: object.fields.iter().filter_map(describe_field).collect(),
    }
}

/// Every object the REST API can write, with its writable fields: what a plan proposer matches source fields
/// against. Objects are singular names; relations are listed under their join columns.
pub fn describe(schema: &Schema) -> Vec<ObjectDef> {
    schema.objects.iter().filter(|o| is_listed_object(o)).map(describe_object).collect()
}

/// The field [`describe`] lists as `name` (a field name, or a relation's join column).
pub fn writable_field<'a>(object: &'a ObjectMeta, name: &str) -> Option<&'a FieldMeta> {
    object.fields.iter().find(|f| write_name(f) == Some(name))
}

// ----------------------------------------------------------------------------------------------------------
// encode

fn expect_str<'a>(field: &FieldMeta, v: &'a Value, what: &str, fix: &str) -> Result<&'a str, CodecError> {
    v.as_str().ok_or_else(|| error(&field.name, v, format!("{} expects {what}", field.field_type.as_str()), fix))
}

fn expect_object<'a>(
    field: &FieldMeta,
    v: &'a Value,
    keys: &[&str],
    fix: &str,
) -> Result<&'a Map<String, Value>, CodecError> {
    let Some(o) = v.as_object() else {
        return Err(error(
            &field.name,
            v,
            format!("{} expects an object with {}", field.field_type.as_str(), keys.join(", ")),
            fix,
        ));
    };
    if let Some(extra) = o.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(error(
            &field.name,
            v,
            format!("\"{extra}\" is not a part of {} (parts: {})", field.field_type.as_str(), keys.join(", ")),
            fix,
        ));
    }
    Ok(o)
}

/// A text part of a composite: absent or null → "", strings as they are, numbers as text.
fn part_text(field: &FieldMeta, o: &Map<String, Value>, key: &str, whole: &Value) -> Result<String, CodecError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => {
            Err(error(&field.name, whole, format!("\"{key}\" must be text, not {other}"), "give the part as a string"))
        }
    }
}

/// The `additional` list of emails/phones/links: absent or null → empty; a string → one item.
fn part_list(field: &FieldMeta, o: &Map<String, Value>, whole: &Value) -> Result<Vec<String>, CodecError> {
    match o.get("additional") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(if s.trim().is_empty() { Vec::new() } else { vec![s.clone()] }),
        Some(Value::Array(items)) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    error(&field.name, whole, format!("\"additional\" holds {i}, not text"), "list strings only")
                })
            })
            .collect(),
        Some(other) => Err(error(
            &field.name,
            whole,
            format!("\"additional\" must be a list, not {other}"),
            "give additional values as a list of strings",
        )),
    }
}

/// `{primary, additional}` from the neutral value; a bare string is the primary value.
fn primary_and_more(field: &FieldMeta, v: &Value, fix: &str) -> Result<(String, Vec<String>), CodecError> {
    if let Value::String(s) = v {
        return Ok((s.clone(), Vec::new()));
    }
    let o = expect_object(field, v, &["primary", "additional"], fix)?;
    Ok((part_text(field, o, "primary", v)?, part_list(field, o, v)?))
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn valid_date_time(s: &str) -> bool {
    let t = s.trim();
    let b = t.as_bytes();
    t.get(..10).is_some_and(valid_date)
        && b.len() >= 16
        && (b[10] == b'T' || b[10] == b' ')
        && b[11].is_ascii_digit()
        && b[12].is_ascii_digit()
        && b[13] == b':'
        && b[14].is_ascii_digit()
        && b[15].is_ascii_digit()
}

fn check_option(field: &FieldMeta, value: &str, whole: &Value) -> Result<(), CodecError> {
    if field.has_option(value) {
        return Ok(());
    }
    let options = if field.options.is_empty() { "none".to_owned() } else { field.option_values() };
    Err(error(
        &field.name,
        whole,
        format!("\"{value}\" is not an option of {} (options: {options})", field.name),
        format!(
            "map the source value to one of {options} in the plan's option map, \
             or add \"{value}\" as an option of the field"
        ),
    ))
}

fn string_list(field: &FieldMeta, v: &Value, fix: &str) -> Result<Vec<String>, CodecError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(error(&field.name, v, format!("the list holds {other}, not text"), fix)),
            })
            .collect(),
        other => {
            Err(error(&field.name, other, format!("{} expects a list of strings", field.field_type.as_str()), fix))
        }
    }
}

fn micros(field: &FieldMeta, v: Option<&Value>, whole: &Value) -> Result<Option<i64>, CodecError> {
    let bad = || {
        error(
            &field.name,
            whole,
            "\"amount_micros\" must be a whole number of millionths",
            "write the amount in micros (1.5 USD = 1500000); the currency transform does this",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| Some(f as i64)).ok_or_else(bad),
        },
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// Turns a neutral value of `field` into the JSON Twenty accepts for the field's type. `Value::Null` stays
/// `Value::Null` (nothing to write; [`encode_record`] leaves such fields out).
pub fn encode(field: &FieldMeta, neutral: &Value) -> Result<Value, CodecError> {
    if neutral.is_null() {
        return Ok(Value::Null);
    }
    let v = neutral;
    let name = field.name.as_str();
    match &field.field_type {
        FieldType::Text | FieldType::RichText => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(Value::String(v.to_string())),
            _ => Err(error(name, v, "TEXT expects a string", "use the text transform, or map to a RAW_JSON field")),
        },
        FieldType::Number | FieldType::Numeric => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number))
                .ok_or_else(|| error(name, v, "NUMBER expects a number", "use the number transform")),
            _ => Err(error(name, v, "NUMBER expects a number", "use the number transform")),
        },
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => Err(error(name, v, "BOOLEAN expects true or false", "use the boolean transform")),
        },
        FieldType::Date => {
            let s = expect_str(field, v, "a date \"YYYY-MM-DD\"", "use the date transform")?;
            if valid_date(s.trim()) {
                Ok(Value::String(s.trim().to_owned()))
            } else {
                Err(error(name, v, "not a calendar date \"YYYY-MM-DD\"", "use the date transform"))
            }
        }
        FieldType::DateTime => {
            let s = expect_str(field, v, "an ISO 8601 date-time", "use the date_time transform")?;
            if valid_date_time(s) {
                Ok(Value::String(s.trim().to_owned()))
            } else {
                Err(error(
                    name,
                    v,
                    "not an ISO 8601 date-time (2024-02-29T10:00:00.000Z)",
                    "use the date_time transform",
                ))
            }
        }
        FieldType::Uuid | FieldType::Relation | FieldType::MorphRelation => {
            let what = if field.field_type == FieldType::Uuid { "a UUID" } else { "the UUID of the related record" };
            let s = expect_str(field, v, what, "give the id as a UUID string")?;
            match Uuid::parse_str(s.trim()) {
                Ok(id) => Ok(Value::String(id.to_string())),
                Err(_) => Err(error(name, v, format!("not {what}"), "give the id as a UUID string")),
            }
        }
        FieldType::Select | FieldType::Rating => {
            let s = expect_str(field, v, "one option value", "map the source value to an option in the plan")?;
            check_option(field, s, v)?;
            Ok(Value::String(s.to_owned()))
        }
        FieldType::MultiSelect => {
            let items = string_list(field, v, "map the source values to options in the plan")?;
            for item in &items {
                check_option(field, item, v)?;
            }
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            Ok(json!(out))
        }
        FieldType::Array => Ok(json!(string_list(field, v, "give a list of strings")?)),
        FieldType::RawJson => Ok(v.clone()),
        FieldType::FullName => {
            if let Value::String(s) = v {
                return Ok(json!({"firstName": s, "lastName": ""}));
            }
            let o = expect_object(field, v, &["first", "last"], "use the full_name transform")?;
            Ok(json!({"firstName": part_text(field, o, "first", v)?, "lastName": part_text(field, o, "last", v)?}))
        }
        FieldType::Emails => {
            let (primary, additional) = primary_and_more(field, v, "use the emails transform")?;
            for e in std::iter::once(&primary).chain(&additional) {
                let t = e.trim();
                if !t.is_empty() && (!t.contains('@') || t.contains(char::is_whitespace)) {
                    return Err(error(
                        name,
                        v,
                        format!("\"{e}\" is not an e-mail address"),
                        "correct the address in the source, or map it to a text field",
                    ));
                }
            }
            let additional: Vec<String> = additional.iter().map(|e| e.trim().to_owned()).collect();
            Ok(json!({"primaryEmail": primary.trim(), "additionalEmails": additional}))
        }
        FieldType::Phones => {
            let (primary, additional) = primary_and_more(field, v, "use the phones transform")?;
            let p = split_phone(&primary);
            let more: Vec<Value> = additional
                .iter()
                .map(|a| {
                    let s = split_phone(a);
                    json!({"number": s.number, "countryCode": s.country_code, "callingCode": s.calling_code})
                })
                .collect();
            Ok(json!({
                "primaryPhoneNumber": p.number,
                "primaryPhoneCountryCode": p.country_code,
                "primaryPhoneCallingCode": p.calling_code,
                "additionalPhones": more,
            }))
        }
        FieldType::Links => {
            let (primary, additional) = primary_and_more(field, v, "use the links transform")?;
            let more: Vec<Value> = additional.iter().map(|u| json!({"url": u, "label": ""})).collect();
            Ok(json!({"primaryLinkUrl": primary, "primaryLinkLabel": "", "secondaryLinks": more}))
        }
        FieldType::Currency => {
            let fix = "give {\"amount_micros\": <integer>, \"currency\": \"USD\"}; the currency transform does this";
            let o = expect_object(field, v, &["amount_micros", "currency"], fix)?;
            let amount = micros(field, o.get("amount_micros"), v)?;
            let code = part_text(field, o, "currency", v)?;
            let code = code.trim();
            if !(code.is_empty() || code.len() == 3 && code.bytes().all(|c| c.is_ascii_uppercase())) {
                return Err(error(
                    name,
                    v,
                    format!("\"{code}\" is not an ISO 4217 currency code"),
                    "write the currency as three capital letters (USD, EUR…)",
                ));
            }
            if amount.is_some() && code.is_empty() {
                return Err(error(name, v, "an amount without a currency", "set the currency in the plan's transform"));
            }
            Ok(json!({"amountMicros": amount, "currencyCode": if code.is_empty() { Value::Null } else { json!(code) }}))
        }
        FieldType::Address => {
            let fix =
                "give the parts street1, street2, city, state, postcode, country; the address transform does this";
            let o = expect_object(field, v, &ADDRESS_PARTS.map(|(n, _)| n), fix)?;
            let mut out = Map::new();
            for (neutral_key, twenty_key) in ADDRESS_PARTS {
                out.insert(twenty_key.to_owned(), Value::String(part_text(field, o, neutral_key, v)?));
            }
            Ok(Value::Object(out))
        }
        FieldType::RichTextV2 => match v {
            Value::String(s) => Ok(json!({"markdown": s})),
            Value::Object(_) => {
                let o = expect_object(field, v, &["markdown"], "give {\"markdown\": \"…\"}")?;
                Ok(json!({"markdown": part_text(field, o, "markdown", v)?}))
            }
            _ => Err(error(name, v, "RICH_TEXT_V2 expects {\"markdown\": \"…\"}", "use the rich_text transform")),
        },
        FieldType::Files => Err(error(
            name,
            v,
            "FILES values are not written as record values",
            "upload the file and create an attachment (TwentyClient::upload_file, create_attachment)",
        )),
        FieldType::Position | FieldType::Actor | FieldType::TsVector | FieldType::Other(_) => Err(error(
            name,
            v,
            format!("{} fields are set by the server", field.field_type.as_str()),
            "leave this field out of the plan",
        )),
    }
}

const ADDRESS_PARTS: [(&str, &str); 6] = [
    ("street1", "addressStreet1"),
    ("street2", "addressStreet2"),
    ("city", "addressCity"),
    ("state", "addressState"),
    ("postcode", "addressPostcode"),
    ("country", "addressCountry"),
];

fn close_names(object: &ObjectMeta, name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    object
        .fields
        .iter()
        .filter_map(write_name)
        .filter(|n| {
            let l = n.to_lowercase();
            l.contains(&lower) || lower.contains(&l) || edit_distance(&l, &lower) <= 2
        })
        .take(5)
        .map(str::to_owned)
        .collect()
}

/// Levenshtein distance over characters (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Encodes a whole record: `neutral` is keyed by the names [`describe`] gives (join columns for relations).
/// Null values are left out (nothing to write). Returns every problem at once.
pub fn encode_record(object: &ObjectMeta, neutral: &Map<String, Value>) -> Result<Map<String, Value>, Vec<CodecError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (name, value) in neutral {
        let Some(field) = writable_field(object, name) else {
            let exists = object.field(name).is_some();
            let close = close_names(object, name);
            let message = if exists {
                format!("{name} is not written through the API (system, read-only or inverse side)")
            } else {
                format!("{} has no writable field {name}", object.name_singular)
            };
            let fix = if close.is_empty() {
                "leave it out of the plan, or create the field first".to_owned()
            } else {
                format!("did you mean {}?", close.join(", "))
            };
            errors.push(CodecError {
                object: Some(object.name_singular.clone()),
                field: name.clone(),
                value: shown(value),
                message,
                fix,
            });
            continue;
        };
        if value.is_null() {
            continue;
        }
        match encode(field, value) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(mut e) => {
                e.object = Some(object.name_singular.clone());
                e.field = name.clone();
                errors.push(e);
            }
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

// ----------------------------------------------------------------------------------------------------------
// decode

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn list_of(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).map(|a| a.to_vec()).unwrap_or_default()
}

fn nonempty(s: &str) -> bool {
    !s.trim().is_empty()
}

/// Turns what Twenty returns for `field` into ferry's neutral form. Empty composites (`""`, `[]`, nulls)
/// become `Value::Null`; values of an unexpected shape are returned as they are (verification then reports
/// them).
pub fn decode(field: &FieldMeta, twenty: &Value) -> Value {
    let v = twenty;
    if v.is_null() {
        return Value::Null;
    }
    match &field.field_type {
        FieldType::Number | FieldType::Numeric => match v {
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number))
                .unwrap_or_else(|| v.clone()),
            _ => v.clone(),
        },
        FieldType::Date => match v {
            Value::String(s) if s.len() > 10 && s.is_char_boundary(10) => Value::String(s[..10].to_owned()),
            _ => v.clone(),
        },
        FieldType::FullName if v.is_object() => {
            let first = text_of(v.get("firstName"));
            let last = text_of(v.get("lastName"));
            if nonempty(&first) || nonempty(&last) { json!({"first": first, "last": last}) } else { Value::Null }
        }
        FieldType::Emails if v.is_object() => {
            let primary = text_of(v.get("primaryEmail"));
            let additional: Vec<Value> =
                list_of(v.get("additionalEmails")).into_iter().filter(|e| !e.is_null()).collect();
            if nonempty(&primary) || !additional.is_empty() {
                json!({"primary": primary, "additional": additional})
            } else {
                Value::Null
            }
        }
        FieldType::Phones if v.is_object() => {
            let primary = join_phone(v.get("primaryPhoneCallingCode"), v.get("primaryPhoneNumber"));
            let additional: Vec<String> = list_of(v.get("additionalPhones"))
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => join_phone(other.get("callingCode"), other.get("number")),
                })
                .filter(|p| nonempty(p))
                .collect();
            if nonempty(&primary) || !additional.is_empty() {
                json!({"primary": primary, "additional": additional})
            } else {
                Value::Null
            }
        }
        FieldType::Links if v.is_object() => {
            let primary = text_of(v.get("primaryLinkUrl"));
            let additional: Vec<String> = list_of(v.get("secondaryLinks"))
                .iter()
                .map(|l| match l {
                    Value::String(s) => s.clone(),
                    other => text_of(other.get("url")),
                })
                .filter(|u| nonempty(u))
                .collect();
            if nonempty(&primary) || !additional.is_empty() {
                json!({"primary": primary, "additional": additional})
            } else {
                Value::Null
            }
        }
        FieldType::Currency if v.is_object() => {
            let amount = match v.get("amountMicros") {
                Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
                Some(Value::String(s)) => {
                    s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().map(|f| f.round() as i64))
                }
                _ => None,
            };
            match amount {
                Some(a) => json!({"amount_micros": a, "currency": text_of(v.get("currencyCode"))}),
                None => Value::Null,
            }
        }
        FieldType::Address if v.is_object() => {
            let mut out = Map::new();
            for (neutral_key, twenty_key) in ADDRESS_PARTS {
                out.insert(neutral_key.to_owned(), Value::String(text_of(v.get(twenty_key))));
            }
            if out.values().any(|p| p.as_str().is_some_and(nonempty)) { Value::Object(out) } else { Value::Null }
        }
        FieldType::RichTextV2 if v.is_object() => {
            let md = text_of(v.get("markdown"));
            if nonempty(&md) { json!({"markdown": md}) } else { Value::Null }
        }
        FieldType::MultiSelect | FieldType::Array => match v {
            Value::Array(a) if a.is_empty() => Value::Null,
            _ => v.clone(),
        },
        FieldType::Text | FieldType::RichText | FieldType::Select | FieldType::Rating => match v {
            Value::String(s) if s.is_empty() => Value::Null,
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

fn join_phone(calling: Option<&Value>, number: Option<&Value>) -> String {
    let number = text_of(number);
    if number.is_empty() {
        return String::new();
    }
    format!("{}{number}", text_of(calling))
}

/// Decodes a record as Twenty returns it into neutral values keyed by the names [`describe`] gives; fields
/// [`describe`] does not list are left out.
pub fn decode_record(object: &ObjectMeta, record: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for field in &object.fields {
        let Some(name) = write_name(field) else { continue };
        if let Some(v) = record.get(name) {
            out.insert(name.to_owned(), decode(field, v));
        }
    }
    out
}

// ----------------------------------------------------------------------------------------------------------
// phones

/// A phone number split the way Twenty stores it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneParts {
    /// `+33`, or empty when the text has no recognised calling code.
    pub calling_code: String,
    /// ISO 3166 alpha-2 country (`FR`), empty when the calling code is shared by several countries or unknown.
    pub country_code: String,
    /// Everything after the calling code, unchanged (or the whole text, trimmed, when there is no code).
    pub number: String,
}

/// Splits a phone written as text: a leading `+` and an assigned country calling code become the calling code
/// (and the country, when the code belongs to one country only); the rest is kept as the number, unchanged,
/// so `calling_code + number` is the trimmed input.
pub fn split_phone(text: &str) -> PhoneParts {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('+') {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).take(3).collect();
        for len in 1..=digits.len() {
            let code = &digits[..len];
            if let Some((_, countries)) = CALLING_CODES.iter().find(|(c, _)| *c == code)
                && !rest[len..].trim().is_empty()
            {
                let country = if countries.len() == 2 { (*countries).to_owned() } else { String::new() };
                return PhoneParts {
                    calling_code: format!("+{code}"),
                    country_code: country,
                    number: rest[len..].to_owned(),
                };
            }
        }
    }
    PhoneParts { calling_code: String::new(), country_code: String::new(), number: t.to_owned() }
}

/// ITU-T E.164 country calling codes with their countries (ISO 3166 alpha-2; several = shared code, joined).
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US CA PR DO JM TT BS BB AG DM GD KN LC VC AI BM VG KY MS TC SX GU AS MP VI"),
    ("7", "RU KZ"),
    ("20", "EG"),
    ("27", "ZA"),
    ("30", "GR"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("36", "HU"),
    ("39", "IT VA"),
    ("40", "RO"),
    ("41", "CH"),
    ("43", "AT"),
    ("44", "GB GG IM JE"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO SJ"),
    ("48", "PL"),
    ("49", "DE"),
    ("51", "PE"),
    ("52", "MX"),
    ("53", "CU"),
    ("54", "AR"),
    ("55", "BR"),
    ("56", "CL"),
    ("57", "CO"),
    ("58", "VE"),
    ("60", "MY"),
    ("61", "AU CX CC"),
    ("62", "ID"),
    ("63", "PH"),
    ("64", "NZ"),
    ("65", "SG"),
    ("66", "TH"),
    ("81", "JP"),
    ("82", "KR"),
    ("84", "VN"),
    ("86", "CN"),
    ("90", "TR"),
    ("91", "IN"),
    ("92", "PK"),
    ("93", "AF"),
    ("94", "LK"),
    ("95", "MM"),
    ("98", "IR"),
    ("211", "SS"),
    ("212", "MA EH"),
    ("213", "DZ"),
    ("216", "TN"),
    ("218", "LY"),
    ("220", "GM"),
    ("221", "SN"),
    ("222", "MR"),
    ("223", "ML"),
    ("224", "GN"),
    ("225", "CI"),
    ("226", "BF"),
    ("227", "NE"),
    ("228", "TG"),
    ("229", "BJ"),
    ("230", "MU"),
    ("231", "LR"),
    ("232", "SL"),
    ("233", "GH"),
    ("234", "NG"),
    ("235", "TD"),
    ("236", "CF"),
    ("237", "CM"),
    ("238", "CV"),
    ("239", "ST"),
    ("240", "GQ"),
    ("241", "GA"),
    ("242", "CG"),
    ("243", "CD"),
    ("244", "AO"),
    ("245", "GW"),
    ("246", "IO"),
    ("248", "SC"),
    ("249", "SD"),
    ("250", "RW"),
    ("251", "ET"),
    ("252", "SO"),
    ("253", "DJ"),
    ("254", "KE"),
    ("255", "TZ"),
    ("256", "UG"),
    ("257", "BI"),
    ("258", "MZ"),
    ("260", "ZM"),
    ("261", "MG"),
    ("262", "RE YT"),
    ("263", "ZW"),
    ("264", "NA"),
    ("265", "MW"),
    ("266", "LS"),
    ("267", "BW"),
    ("268", "SZ"),
    ("269", "KM"),
    ("290", "SH"),
    ("291", "ER"),
    ("297", "AW"),
    ("298", "FO"),
    ("299", "GL"),
    ("350", "GI"),
    ("351", "PT"),
    ("352", "LU"),
    ("353", "IE"),
    ("354", "IS"),
    ("355", "AL"),
    ("356", "MT"),
    ("357", "CY"),
    ("358", "FI AX"),
    ("359", "BG"),
    ("370", "LT"),
    ("371", "LV"),
    ("372", "EE"),
    ("373", "MD"),
    ("374", "AM"),
    ("375", "BY"),
    ("376", "AD"),
    ("377", "MC"),
    ("378", "SM"),
    ("380", "UA"),
    ("381", "RS"),
    ("382", "ME"),
    ("383", "XK"),
    ("385", "HR"),
    ("386", "SI"),
    ("387", "BA"),
    ("389", "MK"),
    ("420", "CZ"),
    ("421", "SK"),
    ("423", "LI"),
    ("500", "FK"),
    ("501", "BZ"),
    ("502", "GT"),
    ("503", "SV"),
    ("504", "HN"),
    ("505", "NI"),
    ("506", "CR"),
    ("507", "PA"),
    ("508", "PM"),
    ("509", "HT"),
    ("590", "GP BL MF"),
    ("591", "BO"),
    ("592", "GY"),
    ("593", "EC"),
    ("594", "GF"),
    ("595", "PY"),
    ("596", "MQ"),
    ("597", "SR"),
    ("598", "UY"),
    ("599", "CW BQ"),
    ("670", "TL"),
    ("672", "NF"),
    ("673", "BN"),
    ("674", "NR"),
    ("675", "PG"),
    ("676", "TO"),
    ("677", "SB"),
    ("678", "VU"),
    ("679", "FJ"),
    ("680", "PW"),
    ("681", "WF"),
    ("682", "CK"),
    ("683", "NU"),
    ("685", "WS"),
    ("686", "KI"),
    ("687", "NC"),
    ("688", "TV"),
    ("689", "PF"),
    ("690", "TK"),
    ("691", "FM"),
    ("692", "MH"),
    ("850", "KP"),
    ("852", "HK"),
    ("853", "MO"),
    ("855", "KH"),
    ("856", "LA"),
    ("880", "BD"),
    ("886", "TW"),
    ("960", "MV"),
    ("961", "LB"),
    ("962", "JO"),
    ("963", "SY"),
    ("964", "IQ"),
    ("965", "KW"),
    ("966", "SA"),
    ("967", "YE"),
    ("968", "OM"),
    ("970", "PS"),
    ("971", "AE"),
    ("972", "IL"),
    ("973", "BH"),
    ("974", "QA"),
    ("975", "BT"),
    ("976", "MN"),
    ("977", "NP"),
    ("992", "TJ"),
    ("993", "TM"),
    ("994", "AZ"),
    ("995", "GE"),
    ("996", "KG"),
    ("998", "UZ"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_codes_are_prefix_free_and_well_formed() {
        for (i, (a, countries)) in CALLING_CODES.iter().enumerate() {
            assert!(a.bytes().all(|c| c.is_ascii_digit()) && (1..=3).contains(&a.len()), "{a}");
            assert!(countries.split(' ').all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())), "{a}");
            for (b, _) in &CALLING_CODES[i + 1..] {
                assert!(!a.starts_with(b) && !b.starts_with(a), "{a} / {b}");
            }
        }
    }

    #[test]
    fn phones_split_on_the_calling_code_and_keep_every_character() {
        let p = split_phone("+33612345678");
        assert_eq!((p.calling_code.as_str(), p.country_code.as_str(), p.number.as_str()), ("+33", "FR", "612345678"));
        let p = split_phone(" +1 (555) 010-0100 ");
        assert_eq!(
            (p.calling_code.as_str(), p.country_code.as_str(), p.number.as_str()),
            ("+1", "", " (555) 010-0100")
        );
        let p = split_phone("+3726123456");
        assert_eq!((p.calling_code.as_str(), p.country_code.as_str()), ("+372", "EE"));
        for raw in ["0612345678", "+999 123", "+", "+33", "00 33 6 12"] {
            let p = split_phone(raw);
            assert_eq!(format!("{}{}", p.calling_code, p.number), raw.trim(), "{raw}");
        }
        assert_eq!(split_phone("+999 123").calling_code, "", "unassigned code");
    }

    #[test]
    fn dates_are_checked_as_calendar_dates() {
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2023-02-29"));
        assert!(!valid_date("2024-13-01"));
        assert!(!valid_date("24-02-29"));
        assert!(valid_date_time("2024-02-29T10:00:00.000Z"));
        assert!(!valid_date_time("2024-02-29"));
        assert!(!valid_date_time("yesterday at 10"));
    }
}
