//! Value transforms: from a source value to ferry's neutral form of a destination field kind.
//!
//! Sources hand over values as JSON in their own shapes (a PostgreSQL `jsonb` array of e-mail objects, a number
//! of dollars, a Markdown string). A plan names, for every destination field, the transform that turns the source
//! value(s) into ferry's neutral form of the field's [`FieldKind`]; a destination crate then writes that neutral
//! form in its own shape. Neutral forms:
//!
//! | kind | neutral form |
//! |---|---|
//! | text, select, uuid | string |
//! | number | number |
//! | boolean | bool |
//! | date | `"YYYY-MM-DD"` |
//! | date_time | RFC 3339 string in UTC with milliseconds (`2024-02-29T10:00:00.000Z`) |
//! | multi_select, array | array of strings |
//! | raw_json | any JSON |
//! | currency | `{"amount_micros": i64, "currency": "USD"}` |
//! | emails | `{"primary": "a@b.c", "additional": ["…"]}` |
//! | phones | `{"primary": "+33…", "additional": ["…"]}` |
//! | links | `{"primary": "https://…", "additional": ["…"]}` |
//! | full_name | `{"first": "…", "last": "…"}` |
//! | address | `{"street1", "street2", "city", "state", "postcode", "country"}` (strings) |
//! | rich_text | `{"markdown": "…"}` |
//!
//! [`Transform::Presence`] gives a select value, [`Transform::FirstLine`] a text and [`Transform::AddressParts`] an
//! address.
//!
//! A transform never drops data silently: a value it cannot carry over fully comes back with a note saying what was
//! lost, which the caller turns into a [`crate::Problem`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// How a destination field's value is made from the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// The value as it is (JSON to JSON).
    Copy,
    /// Any scalar as text; arrays and objects as their JSON text.
    Text,
    /// A number, also from numeric text (`"1 200"`, `"1,5"` are refused: ambiguous).
    Number,
    /// true/false, also from `"true"`/`"false"`/`"yes"`/`"no"`/`1`/`0`.
    Boolean,
    /// The date part of a date or date-time.
    Date,
    /// A date-time as RFC 3339 (a bare date becomes midnight UTC).
    DateTime,
    /// One option: the source value mapped through `values` (source → destination); unmapped values are refused.
    Select { values: BTreeMap<String, String> },
    /// Several options from an array (or one value), each mapped through `values`.
    MultiSelect { values: BTreeMap<String, String> },
    /// An amount in major units (dollars) to micros, in `currency`.
    Currency { currency: String },
    /// E-mails from a string, an array of strings, or an array of objects with an `email` key; the first is primary.
    Emails,
    /// Phones from a string, an array of strings, or an array of objects with a `number` key; the first is primary.
    Phones,
    /// URLs from a string or an array of strings; the first is primary. Bare domains get `https://`.
    Links,
    /// A person's name from two source fields: the first is the first name, the second the last name.
    FullName,
    /// An address from source fields in the order street1, street2, city, state, postcode, country (fewer allowed).
    Address,
    /// Markdown text as rich text.
    RichText,
    /// An address from source fields naming their part: `parts[i]` (one of street1, street2, city, state, postcode,
    /// country) is the part the i-th source field fills; parts not named stay empty.
    AddressParts { parts: Vec<String> },
    /// One option from whether the source holds a value: `present` when it does (a completion date…), `absent`
    /// when it is blank. The value itself is not kept: map it to another field too when it matters.
    Presence { present: String, absent: String },
    /// The first non-blank line of a text, without Markdown heading, list or quote markers (a title from a body).
    FirstLine,
}

/// The result of a transform: the neutral value (`None` when there is nothing to write) and what could not be
/// carried over, if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    pub value: Option<Value>,
    pub lost: Vec<String>,
}

impl Transformed {
    fn some(value: Value) -> Self {
        Transformed { value: Some(value), lost: Vec::new() }
    }

    fn none() -> Self {
        Transformed { value: None, lost: Vec::new() }
    }
}

/// A source value a transform cannot turn into the destination's kind at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransformError {
    pub message: String,
    pub hint: String,
}

fn refuse(message: impl Into<String>, hint: impl Into<String>) -> TransformError {
    TransformError { message: message.into(), hint: hint.into() }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_blank),
        _ => false,
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Transform {
    /// Applies the transform to the source values it reads (one value for most transforms, several for
    /// [`Transform::FullName`] and [`Transform::Address`]).
    pub fn apply(&self, inputs: &[&Value]) -> Result<Transformed, TransformError> {
        let first = inputs.first().copied().unwrap_or(&Value::Null);
        match self {
            Transform::FullName => return Ok(full_name(inputs)),
            Transform::Address => return Ok(address(inputs)),
            Transform::AddressParts { parts } => return address_parts(parts, inputs),
            Transform::Presence { present, absent } => {
                let chosen = if is_blank(first) { absent } else { present };
                return Ok(Transformed::some(Value::String(chosen.clone())));
            }
            _ => {}
        }
        if is_blank(first) {
            return Ok(Transformed::none());
        }
        match self {
            Transform::Copy => Ok(Transformed::some(first.clone())),
            Transform::Text => Ok(Transformed::some(Value::String(scalar_text(first)))),
            Transform::Number => number(first).map(Transformed::some),
            Transform::Boolean => boolean(first).map(Transformed::some),
            Transform::Date => date(first).map(Transformed::some),
            Transform::DateTime => date_time(first).map(Transformed::some),
            Transform::Select { values } => {
                let v = scalar_text(first);
                match values.get(&v) {
                    Some(d) => Ok(Transformed::some(Value::String(d.clone()))),
                    None => Err(refuse(
                        format!("{v:?} is not one of the options the plan maps"),
                        "add the value to the field's option map in the plan",
                    )),
                }
            }
            Transform::MultiSelect { values } => multi_select(first, values),
            Transform::Currency { currency } => currency_micros(first, currency).map(Transformed::some),
            Transform::Emails => Ok(list_composite(first, "email", normalise_email)),
            Transform::Phones => Ok(list_composite(first, "number", |s| Some(s.trim().to_string()))),
            Transform::Links => Ok(list_composite(first, "url", normalise_url)),
            Transform::RichText => Ok(Transformed::some(json!({ "markdown": scalar_text(first) }))),
            Transform::FirstLine => Ok(first_line(&scalar_text(first))),
            Transform::FullName | Transform::Address | Transform::AddressParts { .. } | Transform::Presence { .. } => {
                unreachable!("handled above")
            }
        }
    }
}

fn number(v: &Value) -> Result<Value, TransformError> {
    match v {
        Value::Number(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::from(u8::from(*b))),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(Value::from(i));
            }
            match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::from(f)),
                _ => Err(refuse(format!("{s:?} is not a number"), "write the number without units or separators")),
            }
        }
        other => Err(refuse(format!("{other} is not a number"), "map this field to a text or JSON field instead")),
    }
}

fn boolean(v: &Value) -> Result<Value, TransformError> {
    match v {
        Value::Bool(_) => Ok(v.clone()),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "n" | "0" => Ok(Value::Bool(false)),
            _ => Err(refuse(format!("{s:?} is not true or false"), "map this field to a text field instead")),
        },
        other => Err(refuse(format!("{other} is not true or false"), "map this field to a text field instead")),
    }
}

fn date(v: &Value) -> Result<Value, TransformError> {
    let s = scalar_text(v);
    let t = s.trim();
    let parsed = t
        .parse::<jiff::civil::Date>()
        .or_else(|_| t.parse::<jiff::Timestamp>().map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date()));
    match parsed {
        Ok(d) => Ok(Value::String(d.to_string())),
        Err(_) => Err(refuse(format!("{s:?} is not a date"), "write dates as YYYY-MM-DD")),
    }
}

fn date_time(v: &Value) -> Result<Value, TransformError> {
    let s = scalar_text(v);
    let t = s.trim();
    let parsed = t.parse::<jiff::Timestamp>().or_else(|_| {
        t.parse::<jiff::civil::Date>().and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC)).map(|z| z.timestamp())
    });
    match parsed {
        Ok(ts) => Ok(Value::String(ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())),
        Err(_) => {
            Err(refuse(format!("{s:?} is not a date-time"), "write date-times as RFC 3339 (2024-02-29T10:00:00Z)"))
        }
    }
}

fn multi_select(v: &Value, values: &BTreeMap<String, String>) -> Result<Transformed, TransformError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().filter(|x| !is_blank(x)).collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let key = scalar_text(item);
        match values.get(&key) {
            Some(d) if !out.contains(&Value::String(d.clone())) => out.push(Value::String(d.clone())),
            Some(_) => {}
            None => unknown.push(key),
        }
    }
    if !unknown.is_empty() && out.is_empty() {
        return Err(refuse(
            format!("none of {unknown:?} is an option the plan maps"),
            "add the values to the field's option map in the plan",
        ));
    }
    let lost = unknown.into_iter().map(|u| format!("{u:?} is not an option the plan maps")).collect();
    Ok(Transformed { value: Some(Value::Array(out)), lost })
}

fn currency_micros(v: &Value, currency: &str) -> Result<Value, TransformError> {
    let amount = match number(v)? {
        Value::Number(n) => n,
        _ => unreachable!("number() returns numbers"),
    };
    let micros = if let Some(i) = amount.as_i64() {
        i.checked_mul(1_000_000)
    } else {
        amount.as_f64().map(|f| f * 1_000_000.0).filter(|m| m.abs() < 9.2e18).map(|m| m.round() as i64)
    };
    match micros {
        Some(m) => Ok(json!({ "amount_micros": m, "currency": currency })),
        None => Err(refuse(format!("{amount} is too large an amount"), "check the amount in the source")),
    }
}

fn normalise_email(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_lowercase())
}

fn normalise_url(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Some(t.to_string())
    } else {
        Some(format!("https://{t}"))
    }
}

/// E-mails, phones and links: a string, an array of strings, or an array of objects carrying the value under
/// `key` (other keys, such as a type label, are reported as lost).
fn list_composite(v: &Value, key: &str, normalise: impl Fn(&str) -> Option<String>) -> Transformed {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut values: Vec<String> = Vec::new();
    let mut lost = Vec::new();
    for item in items {
        let text = match item {
            Value::Object(o) => {
                for (k, extra) in o {
                    if k != key && !is_blank(extra) {
                        lost.push(format!("{k} {:?} is not kept", scalar_text(extra)));
                    }
                }
                o.get(key).map(scalar_text)
            }
            Value::Null => None,
            other => Some(scalar_text(other)),
        };
        if let Some(n) = text.as_deref().and_then(&normalise)
            && !values.contains(&n)
        {
            values.push(n);
        }
    }
    if values.is_empty() {
        return Transformed { value: None, lost };
    }
    let primary = values.remove(0);
    Transformed { value: Some(json!({ "primary": primary, "additional": values })), lost }
}

fn text_of(v: Option<&&Value>) -> String {
    match v {
        Some(v) if !is_blank(v) => scalar_text(v).trim().to_string(),
        _ => String::new(),
    }
}

fn full_name(inputs: &[&Value]) -> Transformed {
    let first = text_of(inputs.first());
    let last = text_of(inputs.get(1));
    if first.is_empty() && last.is_empty() {
        return Transformed::none();
    }
    Transformed::some(json!({ "first": first, "last": last }))
}

const ADDRESS_PARTS: [&str; 6] = ["street1", "street2", "city", "state", "postcode", "country"];

fn address(inputs: &[&Value]) -> Transformed {
    let mut m = Map::new();
    for (i, part) in ADDRESS_PARTS.iter().enumerate() {
        m.insert(part.to_string(), Value::String(text_of(inputs.get(i))));
    }
    if m.values().all(|v| v.as_str() == Some("")) {
        return Transformed::none();
    }
    Transformed::some(Value::Object(m))
}

fn address_parts(parts: &[String], inputs: &[&Value]) -> Result<Transformed, TransformError> {
    let null = Value::Null;
    let mut ordered: Vec<&Value> = vec![&null; ADDRESS_PARTS.len()];
    for (i, part) in parts.iter().enumerate() {
        let Some(slot) = ADDRESS_PARTS.iter().position(|p| p == part) else {
            return Err(refuse(
                format!("{part:?} is not a part of an address"),
                format!("name each source field's part: one of {}", ADDRESS_PARTS.join(", ")),
            ));
        };
        if let Some(v) = inputs.get(i) {
            ordered[slot] = *v;
        }
    }
    Ok(address(&ordered))
}

fn first_line(text: &str) -> Transformed {
    let line =
        text.lines().map(|l| l.trim().trim_start_matches(['#', '>', '-', '*', '+']).trim()).find(|l| !l.is_empty());
    match line {
        Some(l) => Transformed::some(Value::String(l.to_string())),
        None => Transformed::none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(t: &Transform, v: Value) -> Result<Transformed, TransformError> {
        t.apply(&[&v])
    }

    #[test]
    fn blanks_write_nothing() {
        for t in [Transform::Text, Transform::Number, Transform::Emails, Transform::Date] {
            assert_eq!(one(&t, Value::Null).unwrap(), Transformed::none());
            assert_eq!(one(&t, json!("  ")).unwrap(), Transformed::none());
        }
        assert_eq!(Transform::FullName.apply(&[&Value::Null, &json!("")]).unwrap(), Transformed::none());
    }

    #[test]
    fn numbers_from_text_and_refusals_name_the_value() {
        assert_eq!(one(&Transform::Number, json!("42")).unwrap().value, Some(json!(42)));
        assert_eq!(one(&Transform::Number, json!(" 4.5 ")).unwrap().value, Some(json!(4.5)));
        let e = one(&Transform::Number, json!("$1M")).unwrap_err();
        assert!(e.message.contains("\"$1M\""), "{e}");
    }

    #[test]
    fn dates_and_date_times() {
        assert_eq!(one(&Transform::Date, json!("2024-02-29T10:00:00Z")).unwrap().value, Some(json!("2024-02-29")));
        assert!(one(&Transform::Date, json!("2023-02-29")).is_err(), "not a leap year");
        assert_eq!(
            one(&Transform::DateTime, json!("2024-03-01 08:30:00+00")).unwrap().value,
            Some(json!("2024-03-01T08:30:00.000Z"))
        );
        assert_eq!(
            one(&Transform::DateTime, json!("2024-03-01")).unwrap().value,
            Some(json!("2024-03-01T00:00:00.000Z"))
        );
        assert_eq!(
            one(&Transform::DateTime, json!("2024-03-01T08:30:00.123Z")).unwrap().value,
            Some(json!("2024-03-01T08:30:00.123Z"))
        );
        assert_eq!(
            one(&Transform::DateTime, json!("2024-03-01T10:30:00+02:00")).unwrap().value,
            Some(json!("2024-03-01T08:30:00.000Z"))
        );
        assert!(one(&Transform::DateTime, json!("yesterday")).is_err());
    }

    #[test]
    fn selects_map_values_and_refuse_unmapped_ones() {
        let values: BTreeMap<_, _> = [("won".to_string(), "WON".to_string())].into();
        let t = Transform::Select { values };
        assert_eq!(one(&t, json!("won")).unwrap().value, Some(json!("WON")));
        assert!(one(&t, json!("lost")).unwrap_err().message.contains("\"lost\""));
    }

    #[test]
    fn multi_select_keeps_known_values_and_reports_the_others() {
        let values: BTreeMap<_, _> =
            [("1".to_string(), "FOOTBALL".to_string()), ("2".to_string(), "VIP".to_string())].into();
        let t = Transform::MultiSelect { values };
        let r = one(&t, json!([1, 2, 2, 99])).unwrap();
        assert_eq!(r.value, Some(json!(["FOOTBALL", "VIP"])));
        assert_eq!(r.lost.len(), 1);
        assert!(r.lost[0].contains("99"));
    }

    #[test]
    fn currency_to_micros() {
        let t = Transform::Currency { currency: "EUR".into() };
        assert_eq!(
            one(&t, json!(1250)).unwrap().value,
            Some(json!({"amount_micros": 1_250_000_000i64, "currency": "EUR"}))
        );
        assert_eq!(one(&t, json!(0.1)).unwrap().value, Some(json!({"amount_micros": 100_000, "currency": "EUR"})));
        assert!(one(&t, json!(1e30)).is_err());
    }

    #[test]
    fn emails_from_json_objects_keep_every_address_and_report_type_labels() {
        let r = one(
            &Transform::Emails,
            json!([{"email": "Ada@Example.com", "type": "Work"}, {"email": "ada@home.example", "type": "Home"}]),
        )
        .unwrap();
        assert_eq!(r.value, Some(json!({"primary": "ada@example.com", "additional": ["ada@home.example"]})));
        assert_eq!(r.lost, vec![r#"type "Work" is not kept"#.to_string(), r#"type "Home" is not kept"#.to_string()]);
        let single = one(&Transform::Emails, json!("bob@example.com")).unwrap();
        assert_eq!(single.value, Some(json!({"primary": "bob@example.com", "additional": []})));
    }

    #[test]
    fn links_get_a_scheme_and_duplicates_collapse() {
        let r = one(&Transform::Links, json!(["acme.com", "https://acme.com", "http://blog.acme.com"])).unwrap();
        assert_eq!(r.value, Some(json!({"primary": "https://acme.com", "additional": ["http://blog.acme.com"]})));
    }

    #[test]
    fn names_and_addresses_come_from_several_fields() {
        let r = Transform::FullName.apply(&[&json!(" Ada "), &Value::Null]).unwrap();
        assert_eq!(r.value, Some(json!({"first": "Ada", "last": ""})));
        let r = Transform::Address.apply(&[
            &json!("1 rue X"),
            &Value::Null,
            &json!("Paris"),
            &Value::Null,
            &json!("75001"),
        ]);
        let v = r.unwrap().value.unwrap();
        assert_eq!(v["city"], "Paris");
        assert_eq!(v["postcode"], "75001");
        assert_eq!(v["country"], "");
    }

    #[test]
    fn address_parts_place_each_source_field_by_name() {
        let t = Transform::AddressParts {
            parts: vec!["street1".into(), "postcode".into(), "city".into(), "state".into(), "country".into()],
        };
        let v = t.apply(&[&json!("1 Main St"), &json!("94107"), &json!("SF"), &json!("CA"), &json!("US")]).unwrap();
        let v = v.value.unwrap();
        assert_eq!(v["street1"], "1 Main St");
        assert_eq!(v["postcode"], "94107");
        assert_eq!(v["state"], "CA");
        assert_eq!(v["street2"], "");
        assert_eq!(t.apply(&[&Value::Null, &json!(" ")]).unwrap(), Transformed::none());
        let bad = Transform::AddressParts { parts: vec!["zip".into()] };
        assert!(bad.apply(&[&json!("1")]).unwrap_err().message.contains("\"zip\""));
    }

    #[test]
    fn presence_chooses_an_option_from_whether_a_value_is_there() {
        let t = Transform::Presence { present: "DONE".into(), absent: "TODO".into() };
        assert_eq!(one(&t, json!("2024-03-01T10:00:00Z")).unwrap().value, Some(json!("DONE")));
        assert_eq!(one(&t, Value::Null).unwrap().value, Some(json!("TODO")));
        assert_eq!(one(&t, json!("")).unwrap().value, Some(json!("TODO")));
    }

    #[test]
    fn first_line_makes_a_title_from_markdown() {
        assert_eq!(
            one(&Transform::FirstLine, json!("\n\n## Call Ada\nabout the deal")).unwrap().value,
            Some(json!("Call Ada"))
        );
        assert_eq!(one(&Transform::FirstLine, json!("- buy milk")).unwrap().value, Some(json!("buy milk")));
        assert_eq!(one(&Transform::FirstLine, json!(" \n ")).unwrap(), Transformed::none());
    }

    #[test]
    fn transforms_read_back_from_a_plan() {
        let t: Transform = serde_json::from_value(json!({"kind": "currency", "currency": "USD"})).unwrap();
        assert_eq!(t, Transform::Currency { currency: "USD".into() });
    }
}
