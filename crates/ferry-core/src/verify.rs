//! Verification: a written record read back from the destination, compared field by field with what the plan's
//! transforms made of the source.
//!
//! Both sides are in ferry's neutral forms (see [`crate::transform`]): the expected side straight from the
//! transforms, the found side from the destination crate, which reads its own shapes back into neutral forms.
//! Equality is by kind: instants compare as instants, numbers as numbers, option lists as sets, text after
//! trimming — anything else is a mismatch, reported with both values.

use serde_json::{Map, Value};

use crate::report::Mismatch;
use crate::schema::FieldKind;

/// One field to compare: its name in the destination and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check<'a> {
    pub field: &'a str,
    pub kind: FieldKind,
}

/// Compares one record. `expected` holds the neutral values the plan wrote (a field absent there was not written
/// and must read back empty); `found` what the destination returned. Returns one mismatch per differing field.
pub fn compare_record(
    object: &str,
    record: &str,
    checks: &[Check<'_>],
    expected: &Map<String, Value>,
    found: &Map<String, Value>,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for c in checks {
        let e = expected.get(c.field).unwrap_or(&Value::Null);
        let f = found.get(c.field).unwrap_or(&Value::Null);
        if !same(c.kind, e, f) {
            out.push(Mismatch {
                object: object.to_string(),
                record: record.to_string(),
                field: c.field.to_string(),
                expected: e.clone(),
                found: f.clone(),
            });
        }
    }
    out
}

/// Whether two neutral values of `kind` mean the same.
pub fn same(kind: FieldKind, expected: &Value, found: &Value) -> bool {
    if is_empty(expected) || is_empty(found) {
        return is_empty(expected) && is_empty(found);
    }
    match kind {
        FieldKind::Number => match (expected.as_f64(), found.as_f64()) {
            (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
            _ => expected == found,
        },
        FieldKind::DateTime => instant(expected).is_some() && instant(expected) == instant(found),
        FieldKind::Date => text(expected).get(..10) == text(found).get(..10),
        FieldKind::Text | FieldKind::Select | FieldKind::Uuid => text(expected).trim() == text(found).trim(),
        FieldKind::MultiSelect | FieldKind::Array => sorted_texts(expected) == sorted_texts(found),
        FieldKind::Emails => lower_json(expected) == lower_json(found),
        FieldKind::RichText => {
            let md = |v: &Value| v.get("markdown").map(|m| text(m).trim().to_string()).unwrap_or_default();
            md(expected) == md(found)
        }
        FieldKind::FullName | FieldKind::Address => trimmed_object(expected) == trimmed_object(found),
        _ => expected == found,
    }
}

/// Null, empty text, empty list, or an object whose values are all empty.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn instant(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.trim().parse().ok())
}

fn sorted_texts(v: &Value) -> Vec<String> {
    let mut items: Vec<String> = match v {
        Value::Array(a) => a.iter().filter(|x| !is_empty(x)).map(text).collect(),
        other => vec![text(other)],
    };
    items.sort();
    items.dedup();
    items
}

fn lower_json(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.trim().to_lowercase()),
        Value::Array(a) => Value::Array(a.iter().map(lower_json).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), lower_json(v))).collect()),
        other => other.clone(),
    }
}

fn trimmed_object(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| (k.clone(), Value::String(text(v).trim().to_string())))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn instants_compare_as_instants() {
        assert!(same(FieldKind::DateTime, &json!("2024-03-01T08:30:00.000Z"), &json!("2024-03-01T10:30:00+02:00")));
        assert!(!same(FieldKind::DateTime, &json!("2024-03-01T08:30:00Z"), &json!("2024-03-01T08:30:01Z")));
    }

    #[test]
    fn empty_values_are_all_alike_but_not_like_data() {
        assert!(same(FieldKind::Text, &Value::Null, &json!("")));
        assert!(same(FieldKind::Emails, &Value::Null, &json!({"primary": "", "additional": []})));
        assert!(!same(FieldKind::Text, &Value::Null, &json!("x")));
        assert!(!same(FieldKind::Boolean, &json!(false), &Value::Null), "false is a value, not emptiness");
    }

    #[test]
    fn option_lists_compare_as_sets_and_emails_ignore_case() {
        assert!(same(FieldKind::MultiSelect, &json!(["A", "B"]), &json!(["B", "A"])));
        assert!(!same(FieldKind::MultiSelect, &json!(["A", "B"]), &json!(["A"])));
        assert!(same(
            FieldKind::Emails,
            &json!({"primary": "Ada@X.com", "additional": []}),
            &json!({"primary": "ada@x.com", "additional": []})
        ));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert!(same(FieldKind::Number, &json!(42), &json!(42.0)));
        assert!(!same(FieldKind::Number, &json!(42), &json!(43)));
        assert!(same(
            FieldKind::Currency,
            &json!({"amount_micros": 5, "currency": "USD"}),
            &json!({"amount_micros": 5, "currency": "USD"})
        ));
    }

    #[test]
    fn compare_record_reports_each_differing_field_with_both_values() {
        let checks =
            [Check { field: "name", kind: FieldKind::Text }, Check { field: "employees", kind: FieldKind::Number }];
        let expected: Map<String, Value> = json!({"name": "Acme", "employees": 10}).as_object().unwrap().clone();
        let found: Map<String, Value> = json!({"name": "Acme ", "employees": 11}).as_object().unwrap().clone();
        let m = compare_record("companies", "7", &checks, &expected, &found);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].field, "employees");
        assert_eq!(m[0].expected, json!(10));
        assert_eq!(m[0].found, json!(11));
        assert_eq!(m[0].record, "7");
    }

    #[test]
    fn a_field_that_was_not_written_must_read_back_empty() {
        let checks = [Check { field: "city", kind: FieldKind::Text }];
        let found: Map<String, Value> = json!({"city": "Paris"}).as_object().unwrap().clone();
        assert_eq!(compare_record("c", "1", &checks, &Map::new(), &found).len(), 1);
    }
}
