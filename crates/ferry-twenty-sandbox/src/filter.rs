//! Record filters: the REST `filter=` syntax, the tree both APIs share, and its evaluation (PostgreSQL semantics).

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::ApiError;
use crate::schema::ObjectMeta;
use crate::values::{composite_subfields, parse_timestamp};

/// Comparators the recorded build accepts (49).
pub const COMPARATORS: &[&str] =
    &["eq", "neq", "in", "containsAny", "is", "gt", "gte", "lt", "lte", "startsWith", "like", "ilike"];

/// A filter comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `IN (…)`
    In,
    /// array overlap
    ContainsAny,
    /// `IS NULL` / `IS NOT NULL`
    Is,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `LIKE '<value>'` (this build appends no `%`: 44)
    StartsWith,
    /// `LIKE`
    Like,
    /// `ILIKE`
    Ilike,
}

impl Op {
    /// Parses a comparator name.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "in" => Op::In,
            "containsAny" => Op::ContainsAny,
            "is" => Op::Is,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "startsWith" => Op::StartsWith,
            "like" => Op::Like,
            "ilike" => Op::Ilike,
            _ => return None,
        })
    }
}

/// The compared value.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// One scalar (strings, numbers and booleans as sent).
    Scalar(Value),
    /// A list (`in`, `containsAny`).
    List(Vec<Value>),
    /// `NULL` for `is`.
    Null,
    /// `NOT_NULL` for `is`.
    NotNull,
}

/// A filter tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must hold.
    And(Vec<Filter>),
    /// One must hold.
    Or(Vec<Filter>),
    /// Must not hold.
    Not(Box<Filter>),
    /// One comparison on a column (`key`) or a composite sub-field (`key`, `sub`).
    Cmp {
        /// Body key: field name or join column.
        key: String,
        /// Composite sub-field.
        sub: Option<String>,
        /// Comparator.
        op: Op,
        /// Operand.
        value: Operand,
        /// Field type (decides how values compare).
        ftype: String,
    },
}

impl Filter {
    /// Whether the filter names `deletedAt` anywhere (then soft-deleted rows are included).
    pub fn mentions_deleted_at(&self) -> bool {
        match self {
            Filter::And(items) | Filter::Or(items) => items.iter().any(Filter::mentions_deleted_at),
            Filter::Not(inner) => inner.mentions_deleted_at(),
            Filter::Cmp { key, .. } => key == "deletedAt",
        }
    }

    /// The ids a row must have one of to match, when the filter says so at its top (`id` `in` or `eq`, alone or
    /// in an `and`); `None` when any row could match.
    pub fn pinned_ids(&self) -> Option<Vec<&str>> {
        match self {
            Filter::Cmp { key, sub: None, op: Op::In, value: Operand::List(items), .. } if key == "id" => {
                // A non-text item matches no stored id.
                Some(items.iter().filter_map(Value::as_str).collect())
            }
            Filter::Cmp { key, sub: None, op: Op::Eq, value: Operand::Scalar(v), .. } if key == "id" => {
                Some(v.as_str().into_iter().collect())
            }
            Filter::And(items) => items.iter().find_map(Filter::pinned_ids),
            _ => None,
        }
    }

    /// Evaluates the filter on a stored row.
    pub fn matches(&self, row: &serde_json::Map<String, Value>) -> bool {
        match self {
            Filter::And(items) => items.iter().all(|f| f.matches(row)),
            Filter::Or(items) => items.iter().any(|f| f.matches(row)),
            Filter::Not(inner) => !inner.matches(row),
            Filter::Cmp { key, sub, op, value, ftype } => {
                let mut v = row.get(key).unwrap_or(&Value::Null);
                if let Some(s) = sub {
                    v = v.get(s).unwrap_or(&Value::Null);
                }
                compare(v, *op, value, ftype, sub.as_deref())
            }
        }
    }
}

/// Resolves a filter/sort path (`name`, `emails.primaryEmail`, `companyId`) on `obj` into (key, sub, type).
pub fn resolve_path(obj: &ObjectMeta, path: &str) -> Result<(String, Option<String>, String), ApiError> {
    let not_found = || ApiError::rest(400, "Error", format!("Field metadata not found for field: {path}"));
    let (head, sub) = match path.split_once('.') {
        Some((h, s)) => (h, Some(s.to_string())),
        None => (path, None),
    };
    if let Some(f) = obj.field(head)
        && f.ftype != "RELATION"
        && f.ftype != "MORPH_RELATION"
    {
        if let Some(s) = &sub {
            let subs = composite_subfields(&f.ftype).ok_or_else(not_found)?;
            if !subs.contains(&s.as_str()) {
                return Err(not_found());
            }
        }
        return Ok((f.name.clone(), sub, f.ftype.clone()));
    }
    if sub.is_none()
        && let Some(f) = obj.field_by_join_column(head)
    {
        let _ = f;
        return Ok((head.to_string(), None, "UUID".to_string()));
    }
    Err(not_found())
}

fn sub_type(ftype: &str, sub: Option<&str>) -> &'static str {
    match (ftype, sub) {
        ("CURRENCY", Some("amountMicros")) => "NUMBER",
        ("ADDRESS", Some("addressLat" | "addressLng")) => "NUMBER",
        ("ACTOR", Some("workspaceMemberId")) => "UUID",
        (_, Some(_)) => "TEXT",
        ("NUMBER" | "NUMERIC" | "POSITION" | "RATING", None) => "NUMBER",
        ("DATE_TIME", None) => "DATE_TIME",
        ("BOOLEAN", None) => "BOOLEAN",
        ("UUID", None) => "UUID",
        ("MULTI_SELECT" | "ARRAY", None) => "ARRAY",
        _ => "TEXT",
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Compares a stored value with an operand value under the column's type (`None` when either is NULL).
pub fn typed_cmp(stored: &Value, operand: &Value, kind: &str) -> Option<Ordering> {
    if stored.is_null() || operand.is_null() {
        return None;
    }
    match kind {
        "NUMBER" => as_f64(stored)?.partial_cmp(&as_f64(operand)?),
        "DATE_TIME" => {
            let a = parse_timestamp(stored.as_str()?)?;
            let b = parse_timestamp(&as_text(operand)?)?;
            Some(a.cmp(&b))
        }
        "BOOLEAN" => {
            let b = |v: &Value| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s == "true" => Some(true),
                Value::String(s) if s == "false" => Some(false),
                _ => None,
            };
            Some(b(stored)?.cmp(&b(operand)?))
        }
        "UUID" => match (stored, operand) {
            // Ids are ASCII: compared without case and without copying (an `in` over a table compares many).
            (Value::String(a), Value::String(b)) => {
                Some(a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase())))
            }
            _ => Some(as_text(stored)?.to_lowercase().cmp(&as_text(operand)?.to_lowercase())),
        },
        _ => Some(as_text(stored)?.as_bytes().cmp(as_text(operand)?.as_bytes())),
    }
}

fn compare(stored: &Value, op: Op, operand: &Operand, ftype: &str, sub: Option<&str>) -> bool {
    let kind = sub_type(ftype, sub);
    match (op, operand) {
        (Op::Is, Operand::Null) => stored.is_null(),
        (Op::Is, Operand::NotNull) => !stored.is_null(),
        (Op::Is, Operand::Scalar(v)) => match v.as_str() {
            Some("NULL") => stored.is_null(),
            Some("NOT_NULL") => !stored.is_null(),
            _ => false,
        },
        (Op::In, Operand::List(items)) => items.iter().any(|i| typed_cmp(stored, i, kind) == Some(Ordering::Equal)),
        (Op::ContainsAny, Operand::List(items)) => match stored {
            Value::Array(have) => have.iter().any(|h| items.iter().any(|i| h == i || as_text(h) == as_text(i))),
            _ => false,
        },
        (Op::Like | Op::StartsWith | Op::Ilike, Operand::Scalar(pattern)) => {
            let (Some(text), Some(pat)) = (as_text(stored), as_text(pattern)) else { return false };
            if stored.is_array() || stored.is_object() {
                return false;
            }
            if op == Op::Ilike { like(&text.to_lowercase(), &pat.to_lowercase()) } else { like(&text, &pat) }
        }
        (_, Operand::Scalar(v)) => {
            if kind == "ARRAY" {
                return false;
            }
            let Some(ord) = typed_cmp(stored, v, kind) else { return false };
            match op {
                Op::Eq => ord == Ordering::Equal,
                Op::Neq => ord != Ordering::Equal,
                Op::Gt => ord == Ordering::Greater,
                Op::Gte => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                Op::Lte => ord != Ordering::Greater,
                _ => false,
            }
        }
        _ => false,
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes.
pub fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Dynamic programming over (text position, pattern position), O(len(t) * len(p)).
    let mut prev = vec![false; t.len() + 1];
    prev[0] = true;
    let mut i = 0;
    while i < p.len() {
        let mut cur = vec![false; t.len() + 1];
        let (c, literal, step) = if p[i] == '\\' && i + 1 < p.len() { (p[i + 1], true, 2) } else { (p[i], false, 1) };
        if c == '%' && !literal {
            let mut seen = false;
            for j in 0..=t.len() {
                seen = seen || prev[j];
                cur[j] = seen;
            }
        } else {
            for j in 1..=t.len() {
                cur[j] = prev[j - 1] && ((c == '_' && !literal) || t[j - 1] == c);
            }
        }
        prev = cur;
        i += step;
    }
    prev[t.len()]
}

/// Splits on `sep` at depth 0 (outside brackets, parentheses and double quotes).
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut in_quotes = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '(' | '[' if !in_quotes => depth += 1,
            ')' | ']' if !in_quotes => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !in_quotes {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') { t[1..t.len() - 1].to_string() } else { t.to_string() }
}

/// Parses the REST `filter=` parameter.
pub fn parse_rest_filter(obj: &ObjectMeta, input: &str) -> Result<Filter, ApiError> {
    let parts = split_top(input, ',');
    let mut items = Vec::new();
    for p in parts {
        items.push(parse_rest_part(obj, &p)?);
    }
    Ok(if items.len() == 1 { items.remove(0) } else { Filter::And(items) })
}

fn invalid_filter(part: &str) -> ApiError {
    ApiError::bad_request(format!("'filter' invalid for '{part}'. eg: price[gte]:10"))
}

fn parse_rest_part(obj: &ObjectMeta, part: &str) -> Result<Filter, ApiError> {
    for (prefix, kind) in [("and(", 0), ("or(", 1), ("not(", 2)] {
        if let Some(rest) = part.strip_prefix(prefix) {
            let inner = rest.strip_suffix(')').ok_or_else(|| invalid_filter(part))?;
            let subs = split_top(inner, ',');
            let mut items = Vec::new();
            for s in subs {
                items.push(parse_rest_part(obj, &s)?);
            }
            return Ok(match kind {
                0 => Filter::And(items),
                1 => Filter::Or(items),
                _ => {
                    let inner = if items.len() == 1 { items.remove(0) } else { Filter::And(items) };
                    Filter::Not(Box::new(inner))
                }
            });
        }
    }
    let open = part.find('[').ok_or_else(|| invalid_filter(part))?;
    let close = part[open..].find(']').map(|i| i + open).ok_or_else(|| invalid_filter(part))?;
    let path = &part[..open];
    let comparator = &part[open + 1..close];
    let rest = &part[close + 1..];
    let raw = rest.strip_prefix(':').ok_or_else(|| invalid_filter(part))?;
    let op = Op::parse(comparator).ok_or_else(|| {
        ApiError::bad_request(format!(
            "'filter' invalid for '{part}', comparator {comparator} not in {}",
            COMPARATORS.join(", ")
        ))
    })?;
    let (key, sub, ftype) = resolve_path(obj, path)?;
    let value = match op {
        Op::Is => match raw.trim() {
            "NULL" => Operand::Null,
            "NOT_NULL" => Operand::NotNull,
            _ => return Err(invalid_filter(part)),
        },
        Op::In | Op::ContainsAny => {
            let t = raw.trim();
            let inner = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')).ok_or_else(|| invalid_filter(part))?;
            Operand::List(split_top(inner, ',').iter().map(|s| Value::String(unquote(s))).collect())
        }
        _ => Operand::Scalar(Value::String(unquote(raw))),
    };
    Ok(Filter::Cmp { key, sub, op, value, ftype })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetColumns;
    use crate::schema::Schema;
    use serde_json::json;

    fn company() -> ObjectMeta {
        Schema::standard("2026-01-01T00:00:00.000Z", TargetColumns::Plain, false)
            .ok()
            .and_then(|s| s.object("company").cloned())
            .expect("company object")
    }

    fn row(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn like_follows_sql() {
        assert!(like("CTR-Bulk 001", "CTR-Bulk%"));
        assert!(!like("CTR-Bulk 001", "CTR-Bulk"));
        assert!(like("abc", "a_c"));
        assert!(like("a%c", "a\\%c"));
        assert!(!like("abc", "a\\%c"));
        assert!(like("", "%"));
    }

    #[test]
    fn parses_and_with_comparators_and_sub_fields() {
        let c = company();
        let f = parse_rest_filter(&c, "and(name[like]:CTR-Bulk%,employees[gte]:550)").expect("parses");
        let yes = row(json!({"name": "CTR-Bulk 190", "employees": 570}));
        let no = row(json!({"name": "CTR-Bulk 10", "employees": 30}));
        assert!(f.matches(&yes));
        assert!(!f.matches(&no));
        let f = parse_rest_filter(&c, "domainName.primaryLinkUrl[eq]:https://a.example.com").expect("parses");
        assert!(f.matches(&row(json!({"domainName": {"primaryLinkUrl": "https://a.example.com"}}))));
    }

    #[test]
    fn starts_with_appends_no_percent_like_the_recorded_build() {
        let c = company();
        let f = parse_rest_filter(&c, "name[startsWith]:CTR-Bulk").expect("parses");
        assert!(!f.matches(&row(json!({"name": "CTR-Bulk 001"}))));
        assert!(f.matches(&row(json!({"name": "CTR-Bulk"}))));
    }

    #[test]
    fn in_with_quoted_ids_and_is_null_and_or_not() {
        let c = company();
        let f = parse_rest_filter(&c, r#"id[in]:["a1","b2"]"#).expect("parses");
        assert!(f.matches(&row(json!({"id": "b2"}))));
        assert!(!f.matches(&row(json!({"id": "c3"}))));
        let f = parse_rest_filter(&c, "employees[is]:NULL").expect("parses");
        assert!(f.matches(&row(json!({"employees": null}))));
        let f = parse_rest_filter(&c, "or(employees[lt]:5,not(name[eq]:x))").expect("parses");
        assert!(f.matches(&row(json!({"employees": 10, "name": "y"}))));
        assert!(!f.matches(&row(json!({"employees": 10, "name": "x"}))));
        assert!(!f.mentions_deleted_at());
        assert!(parse_rest_filter(&c, "deletedAt[is]:NOT_NULL").expect("parses").mentions_deleted_at());
    }

    #[test]
    fn errors_match_the_recording() {
        let c = company();
        let e = parse_rest_filter(&c, "nope[eq]:1").expect_err("unknown field");
        assert_eq!(
            e.body,
            json!({"statusCode": 400, "error": "Error", "messages": ["Field metadata not found for field: nope"]})
        );
        let e = parse_rest_filter(&c, "name[endsWith]:Acme").expect_err("bad comparator");
        assert_eq!(
            e.message(),
            "'filter' invalid for 'name[endsWith]:Acme', comparator endsWith not in eq, neq, in, containsAny, is, gt, gte, lt, lte, startsWith, like, ilike"
        );
    }

    #[test]
    fn join_columns_and_dates_compare_typed() {
        let c = company();
        let f = parse_rest_filter(&c, "createdAt[gte]:2026-11-21T22:30:07.000Z").expect("parses");
        assert!(f.matches(&row(json!({"createdAt": "2026-11-21T22:30:08.000Z"}))));
        assert!(!f.matches(&row(json!({"createdAt": "2019-03-14T09:26:53.000Z"}))));
        let f = parse_rest_filter(&c, "accountOwnerId[eq]:ABC").expect("join column");
        assert!(f.matches(&row(json!({"accountOwnerId": "abc"}))));
        let f = parse_rest_filter(&c, "employees[gt]:9").expect("parses");
        assert!(f.matches(&row(json!({"employees": 10}))), "numbers compare as numbers, not text");
    }
}
