//! Field values: composite shapes and their empty values, input coercion and validation like Twenty's.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::schema::FieldMeta;

/// Sub-fields of a composite type in the order REST bodies show them; `None` when not composite.
pub fn composite_subfields(ftype: &str) -> Option<&'static [&'static str]> {
    Some(match ftype {
        "FULL_NAME" => &["firstName", "lastName"],
        "EMAILS" => &["primaryEmail", "additionalEmails"],
        "PHONES" => &["primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode", "additionalPhones"],
        "LINKS" => &["primaryLinkLabel", "primaryLinkUrl", "secondaryLinks"],
        "CURRENCY" => &["amountMicros", "currencyCode"],
        "ADDRESS" => &[
            "addressStreet1",
            "addressStreet2",
            "addressCity",
            "addressPostcode",
            "addressState",
            "addressCountry",
            "addressLat",
            "addressLng",
        ],
        "ACTOR" => &["source", "workspaceMemberId", "name", "context"],
        "RICH_TEXT_V2" => &["blocknote", "markdown"],
        _ => return None,
    })
}

/// The sub-field a composite unique constraint covers (EMAILS → primaryEmail…).
pub fn unique_subfield(ftype: &str) -> Option<&'static str> {
    match ftype {
        "EMAILS" => Some("primaryEmail"),
        "LINKS" => Some("primaryLinkUrl"),
        "PHONES" => Some("primaryPhoneNumber"),
        _ => None,
    }
}

/// The value an unset sub-field reads back as.
pub fn subfield_empty(ftype: &str, sub: &str) -> Value {
    match (ftype, sub) {
        ("LINKS", "secondaryLinks") => json!([]),
        ("EMAILS", "additionalEmails") | ("PHONES", "additionalPhones") => Value::Null,
        ("CURRENCY", _) => Value::Null,
        ("ADDRESS", "addressLat" | "addressLng") => Value::Null,
        ("RICH_TEXT_V2", _) => Value::Null,
        ("ACTOR", "source") => json!("MANUAL"),
        ("ACTOR", "name") => json!("System"),
        ("ACTOR", "workspaceMemberId") => Value::Null,
        ("ACTOR", "context") => json!({}),
        _ => json!(""),
    }
}

/// A composite value with every sub-field at its empty value.
pub fn composite_empty(ftype: &str) -> Value {
    let mut m = Map::new();
    for sub in composite_subfields(ftype).unwrap_or(&[]) {
        m.insert(sub.to_string(), subfield_empty(ftype, sub));
    }
    Value::Object(m)
}

/// `'NEW'` → `NEW` (SQL-quoted metadata defaults).
pub fn unquote_sql(v: &Value) -> Value {
    match v {
        Value::String(s) if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') => {
            Value::String(s[1..s.len() - 1].to_string())
        }
        Value::Array(items) => Value::Array(items.iter().map(unquote_sql).collect()),
        other => other.clone(),
    }
}

/// The value an unset field reads back as on a new record (not for id/createdAt/position/ACTOR, set elsewhere).
pub fn field_empty(f: &FieldMeta) -> Value {
    if composite_subfields(&f.ftype).is_some() {
        let mut v = composite_empty(&f.ftype);
        if let (Value::Object(m), Value::Object(d)) = (&mut v, &f.default_value) {
            for (k, dv) in d {
                if m.contains_key(k) {
                    m.insert(k.clone(), unquote_sql(dv));
                }
            }
        }
        return v;
    }
    match f.ftype.as_str() {
        "DATE_TIME" if f.default_value == json!("now") => Value::Null,
        "UUID" if f.default_value == json!("uuid") => Value::Null,
        "TEXT" if f.default_value.is_null() => json!(""),
        "MULTI_SELECT" if f.default_value.is_null() && f.is_custom => json!([]),
        "FILES" => json!([]),
        _ => unquote_sql(&f.default_value),
    }
}

/// Orders object keys as PostgreSQL `jsonb` does (shorter keys first, then bytewise), recursively.
pub fn jsonb_normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())));
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), jsonb_normalize(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(jsonb_normalize).collect()),
        other => other.clone(),
    }
}

/// How JavaScript's template strings show a value in Twenty's messages (`'${value}'`).
pub fn js_display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Object(_) => "[object Object]".into(),
        Value::Array(items) => items.iter().map(js_display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Current time as Twenty writes it: `2026-11-21T22:30:11.304Z`.
pub fn now_iso() -> String {
    format_timestamp(jiff::Timestamp::now())
}

/// Formats a timestamp with millisecond precision in UTC.
pub fn format_timestamp(ts: jiff::Timestamp) -> String {
    let ms = ts.as_millisecond();
    let t = jiff::Timestamp::from_millisecond(ms).unwrap_or(ts);
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Parses a DATE_TIME input as PostgreSQL `timestamptz` would (ISO 8601; no zone = UTC).
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

/// Whether `s` is a UUID as PostgreSQL accepts it.
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// `addressLat` numbers come back as strings (PostgreSQL numeric).
fn numeric_string(v: &Value) -> Option<Value> {
    match v {
        Value::Null => Some(Value::Null),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::String(s) if s.trim().parse::<f64>().is_ok() => Some(Value::String(s.trim().to_string())),
        _ => None,
    }
}

fn number_value(v: &Value) -> Option<Value> {
    match v {
        Value::Null => Some(Value::Null),
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                Some(json!(i))
            } else {
                t.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
            }
        }
        _ => None,
    }
}

/// Coerces one input value for `f` (the API name `key` may be the join column) into its stored form.
/// `partial_composite` keeps only the sent sub-fields (a PATCH merges them into the stored value).
pub fn coerce_field(f: &FieldMeta, key: &str, v: &Value, partial_composite: bool) -> Result<Value, ApiError> {
    let invalid = || ApiError::bad_request(format!("Invalid value '{}' for field \"{}\"", js_display(v), key));
    if let Some(subs) = composite_subfields(&f.ftype) {
        if v.is_null() {
            return Ok(if partial_composite { Value::Null } else { composite_empty(&f.ftype) });
        }
        let Value::Object(input) = v else {
            return Err(ApiError::bad_request(format!(
                "Invalid object value '{}' for field \"{}\"",
                js_display(v),
                f.name
            )));
        };
        let type_words = f.ftype.to_lowercase().replace('_', " ");
        let mut out = Map::new();
        if !partial_composite {
            for sub in subs {
                out.insert(sub.to_string(), subfield_empty(&f.ftype, sub));
            }
        }
        for (sub, sv) in input {
            if !subs.contains(&sub.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Invalid subfield {sub} for {type_words} field \"{}\"",
                    f.name
                )));
            }
            let bad_sub = || {
                ApiError::bad_request(format!(
                    "Invalid value '{}' for subfield {sub} of {type_words} field \"{}\"",
                    js_display(sv),
                    f.name
                ))
            };
            let coerced = match (f.ftype.as_str(), sub.as_str()) {
                ("CURRENCY", "amountMicros") => number_value(sv).ok_or_else(bad_sub)?,
                ("ADDRESS", "addressLat" | "addressLng") => numeric_string(sv).ok_or_else(bad_sub)?,
                ("EMAILS", "additionalEmails") => match sv {
                    Value::Null => Value::Null,
                    Value::Array(items) if items.iter().all(Value::is_string) => sv.clone(),
                    _ => return Err(bad_sub()),
                },
                ("LINKS", "secondaryLinks") => match sv {
                    Value::Null => json!([]),
                    Value::Array(items) if items.iter().all(Value::is_object) => jsonb_normalize(sv),
                    _ => return Err(bad_sub()),
                },
                ("PHONES", "additionalPhones") => match sv {
                    Value::Null => Value::Null,
                    Value::Array(items) if items.iter().all(Value::is_object) => jsonb_normalize(sv),
                    _ => return Err(bad_sub()),
                },
                ("ACTOR", "context") => sv.clone(),
                ("ACTOR", "workspaceMemberId") => match sv {
                    Value::Null => Value::Null,
                    Value::String(s) if is_uuid(s) => sv.clone(),
                    _ => return Err(bad_sub()),
                },
                ("EMAILS", "primaryEmail") => match sv {
                    Value::Null => json!(""),
                    Value::String(s) => json!(s.to_lowercase()),
                    _ => return Err(bad_sub()),
                },
                _ => match sv {
                    Value::Null => {
                        if partial_composite {
                            Value::Null
                        } else {
                            subfield_empty(&f.ftype, sub)
                        }
                    }
                    Value::String(_) => sv.clone(),
                    Value::Number(_) | Value::Bool(_) => Value::String(js_display(sv)),
                    _ => return Err(bad_sub()),
                },
            };
            out.insert(sub.clone(), coerced);
        }
        if f.ftype == "RICH_TEXT_V2" {
            // Sending one half regenerates the other (the server converts markdown <-> blocknote).
            match (input.contains_key("markdown"), input.contains_key("blocknote")) {
                (true, false) => {
                    out.insert("blocknote".into(), Value::Null);
                }
                (false, true) => {
                    out.insert("markdown".into(), Value::Null);
                }
                _ => {}
            }
        }
        return Ok(Value::Object(out));
    }
    match f.ftype.as_str() {
        "TEXT" => match v {
            Value::Null | Value::String(_) => Ok(v.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(Value::String(js_display(v))),
            _ => Err(invalid()),
        },
        "NUMBER" | "NUMERIC" | "POSITION" => number_value(v).ok_or_else(invalid),
        "BOOLEAN" => match v {
            Value::Null | Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(invalid()),
        },
        "DATE_TIME" => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) => parse_timestamp(s).map(|t| Value::String(format_timestamp(t))).ok_or_else(invalid),
            _ => Err(invalid()),
        },
        "DATE" => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) => {
                if let Ok(d) = s.parse::<jiff::civil::Date>() {
                    Ok(Value::String(d.to_string()))
                } else if let Some(t) = parse_timestamp(s) {
                    Ok(Value::String(t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()))
                } else {
                    Err(invalid())
                }
            }
            _ => Err(invalid()),
        },
        "UUID" | "RELATION" | "MORPH_RELATION" => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if is_uuid(s) => Ok(Value::String(s.to_lowercase())),
            _ => Err(ApiError::bad_request(format!("Invalid UUID value '{}' for field \"{}\"", js_display(v), key))),
        },
        "SELECT" | "RATING" => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if f.option_values().contains(&s.as_str()) => Ok(v.clone()),
            _ => Err(invalid()),
        },
        "MULTI_SELECT" => match v {
            Value::Null => Ok(Value::Null),
            Value::Array(items) => {
                let allowed = f.option_values();
                for item in items {
                    match item {
                        Value::String(s) if allowed.contains(&s.as_str()) => {}
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "Invalid value '{}' for field \"{}\"",
                                js_display(item),
                                key
                            )));
                        }
                    }
                }
                Ok(v.clone())
            }
            _ => Err(invalid()),
        },
        "ARRAY" => match v {
            Value::Null => Ok(Value::Null),
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(v.clone()),
            _ => Err(invalid()),
        },
        "RAW_JSON" => Ok(jsonb_normalize(v)),
        "FILES" => match v {
            Value::Null => Ok(json!([])),
            Value::Array(items) if items.iter().all(Value::is_object) => Ok(jsonb_normalize(v)),
            _ => Err(invalid()),
        },
        "TS_VECTOR" => Err(invalid()),
        _ => Ok(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_order_is_length_then_bytes() {
        let v = json!({"legacy": {"tags": [1], "id": 42}, "ok": true});
        assert_eq!(
            serde_json::to_string(&jsonb_normalize(&v)).unwrap_or_default(),
            r#"{"ok":true,"legacy":{"id":42,"tags":[1]}}"#
        );
        let p = json!({"number": "1", "countryCode": "US", "callingCode": "+1"});
        assert_eq!(
            serde_json::to_string(&jsonb_normalize(&p)).unwrap_or_default(),
            r#"{"number":"1","callingCode":"+1","countryCode":"US"}"#
        );
    }

    #[test]
    fn timestamps_are_normalised_to_milliseconds_utc() {
        let t = parse_timestamp("2019-03-14T09:26:53Z").expect("parses");
        assert_eq!(format_timestamp(t), "2019-03-14T09:26:53.000Z");
        let t = parse_timestamp("2019-03-14T10:26:53.5+01:00").expect("parses");
        assert_eq!(format_timestamp(t), "2019-03-14T09:26:53.500Z");
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn sql_defaults_are_unquoted() {
        assert_eq!(unquote_sql(&json!("'NEW'")), json!("NEW"));
        assert_eq!(unquote_sql(&json!(["'A'"])), json!(["A"]));
        assert_eq!(unquote_sql(&json!(7)), json!(7));
    }
}
