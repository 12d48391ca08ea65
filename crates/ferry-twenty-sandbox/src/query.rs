//! Ordering and cursor pagination (`order_by`, `starting_after`, `ending_before`, `first/after` in GraphQL).

use std::cmp::Ordering;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::filter::{resolve_path, typed_cmp};
use crate::schema::ObjectMeta;

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// Body key.
    pub key: String,
    /// Composite sub-field.
    pub sub: Option<String>,
    /// Field type.
    pub ftype: String,
    /// Ascending.
    pub asc: bool,
    /// NULLs first.
    pub nulls_first: bool,
}

impl SortKey {
    fn kind(&self) -> &'static str {
        match (self.ftype.as_str(), self.sub.as_deref()) {
            ("CURRENCY", Some("amountMicros")) => "NUMBER",
            (_, Some(_)) => "TEXT",
            ("NUMBER" | "NUMERIC" | "POSITION", None) => "NUMBER",
            ("DATE_TIME", None) => "DATE_TIME",
            ("BOOLEAN", None) => "BOOLEAN",
            ("UUID", None) => "UUID",
            _ => "TEXT",
        }
    }

    fn value<'a>(&self, row: &'a Map<String, Value>) -> &'a Value {
        let v = row.get(&self.key).unwrap_or(&Value::Null);
        match &self.sub {
            Some(s) => v.get(s).unwrap_or(&Value::Null),
            None => v,
        }
    }
}

/// Parses a direction name.
pub fn parse_direction(d: &str) -> Option<(bool, bool)> {
    Some(match d {
        "AscNullsFirst" => (true, true),
        "AscNullsLast" => (true, false),
        "DescNullsFirst" => (false, true),
        "DescNullsLast" => (false, false),
        _ => return None,
    })
}

/// A complete ordering: the requested keys plus the implicit `id` tiebreaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordering_ {
    /// Keys in priority order (ends with `id`).
    pub keys: Vec<SortKey>,
}

/// The default ordering: `id` ascending.
#[cfg(test)]
pub fn id_order() -> Ordering_ {
    Ordering_ { keys: vec![id_key()] }
}

fn id_key() -> SortKey {
    SortKey { key: "id".into(), sub: None, ftype: "UUID".into(), asc: true, nulls_first: true }
}

impl Ordering_ {
    /// Builds an ordering from (path, direction) pairs.
    pub fn from_pairs(obj: &ObjectMeta, pairs: &[(String, (bool, bool))]) -> Result<Ordering_, ApiError> {
        let mut keys = Vec::new();
        for (path, (asc, nulls_first)) in pairs {
            let (key, sub, ftype) = resolve_path(obj, path)?;
            keys.push(SortKey { key, sub, ftype, asc: *asc, nulls_first: *nulls_first });
        }
        if !keys.iter().any(|k| k.key == "id" && k.sub.is_none()) {
            keys.push(id_key());
        }
        Ok(Ordering_ { keys })
    }

    /// Whether this is the plain id order (rows already come in it).
    pub fn is_id_only(&self) -> bool {
        self.keys.len() == 1 && self.keys[0].key == "id" && self.keys[0].asc
    }

    /// Compares two rows.
    pub fn compare(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        for k in &self.keys {
            let o = cmp_values(k, k.value(a), k.value(b));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// Compares a row with a decoded cursor (values in key order).
    pub fn compare_to_cursor(&self, row: &Map<String, Value>, cursor: &[Value]) -> Ordering {
        for (k, c) in self.keys.iter().zip(cursor) {
            let o = cmp_values(k, k.value(row), c);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// The cursor of a row: base64 of the JSON of its sort values (`{"employees":597,"name":…,"id":…}`).
    pub fn cursor(&self, row: &Map<String, Value>) -> String {
        let mut m = Map::new();
        for k in &self.keys {
            let v = k.value(row).clone();
            match &k.sub {
                Some(s) => {
                    let entry = m.entry(k.key.clone()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(inner) = entry {
                        inner.insert(s.clone(), v);
                    }
                }
                None => {
                    m.insert(k.key.clone(), v);
                }
            }
        }
        base64::engine::general_purpose::STANDARD.encode(Value::Object(m).to_string())
    }

    /// Decodes a cursor into values in key order.
    pub fn decode_cursor(&self, cursor: &str) -> Result<Vec<Value>, ApiError> {
        let bad = || ApiError::bad_request(format!("Invalid cursor: {cursor}"));
        let bytes = base64::engine::general_purpose::STANDARD.decode(cursor.trim()).map_err(|_| bad())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let obj = v.as_object().ok_or_else(bad)?;
        Ok(self
            .keys
            .iter()
            .map(|k| {
                let v = obj.get(&k.key).cloned().unwrap_or(Value::Null);
                match &k.sub {
                    Some(s) => v.get(s).cloned().unwrap_or(Value::Null),
                    None => v,
                }
            })
            .collect())
    }
}

fn cmp_values(k: &SortKey, a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if k.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if k.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = typed_cmp(a, b, k.kind()).unwrap_or(Ordering::Equal);
            if k.asc { o } else { o.reverse() }
        }
    }
}

/// Which side of a cursor a page is taken from.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    /// From the start.
    None,
    /// Rows after this cursor.
    After(String),
    /// Rows before this cursor.
    Before(String),
    /// The last rows (GraphQL `last` without `before`).
    Last,
}

/// One page of rows with Twenty's page info.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<'a> {
    /// Rows in display order.
    pub rows: Vec<&'a Map<String, Value>>,
    /// Cursor of the first row (swapped with `end_cursor` for `ending_before`, as recorded).
    pub start_cursor: Option<String>,
    /// Cursor of the last row.
    pub end_cursor: Option<String>,
    /// More rows in the direction read.
    pub has_next_page: bool,
    /// All matching rows.
    pub total_count: usize,
    /// Cursor of every row in `rows`.
    pub cursors: Vec<String>,
}

/// A page from rows already cut to the page (`State::page_by_id`), with cursors in `order`.
pub fn page_of<'a>(
    rows: Vec<&'a Map<String, Value>>,
    order: &Ordering_,
    has_next_page: bool,
    total_count: usize,
) -> Page<'a> {
    let cursors: Vec<String> = rows.iter().map(|r| order.cursor(r)).collect();
    Page {
        start_cursor: cursors.first().cloned(),
        end_cursor: cursors.last().cloned(),
        rows,
        has_next_page,
        total_count,
        cursors,
    }
}

/// Takes one page from `rows` (already filtered; sorted by `order` when `sorted`).
pub fn paginate<'a>(
    mut rows: Vec<&'a Map<String, Value>>,
    order: &Ordering_,
    sorted: bool,
    cursor: &Cursor,
    limit: usize,
) -> Result<Page<'a>, ApiError> {
    if !sorted {
        rows.sort_by(|a, b| order.compare(a, b));
    }
    let total_count = rows.len();
    let (mut picked, has_next, reversed): (Vec<&Map<String, Value>>, bool, bool) = match cursor {
        Cursor::None => {
            let has = rows.len() > limit;
            (rows.into_iter().take(limit).collect(), has, false)
        }
        Cursor::After(c) => {
            let cv = order.decode_cursor(c)?;
            let start = rows.partition_point(|r| order.compare_to_cursor(r, &cv) != Ordering::Greater);
            let rest = &rows[start..];
            (rest.iter().take(limit).copied().collect(), rest.len() > limit, false)
        }
        Cursor::Before(c) => {
            let cv = order.decode_cursor(c)?;
            let end = rows.partition_point(|r| order.compare_to_cursor(r, &cv) == Ordering::Less);
            let before = &rows[..end];
            (before.iter().rev().take(limit).copied().collect(), before.len() > limit, true)
        }
        Cursor::Last => (rows.iter().rev().take(limit).copied().collect(), rows.len() > limit, true),
    };
    let first = picked.first().map(|r| order.cursor(r));
    let last = picked.last().map(|r| order.cursor(r));
    if reversed {
        picked.reverse();
    }
    let cursors = picked.iter().map(|r| order.cursor(r)).collect();
    Ok(Page { rows: picked, start_cursor: first, end_cursor: last, has_next_page: has_next, total_count, cursors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(n: usize) -> Vec<Map<String, Value>> {
        (0..n)
            .map(|i| {
                json!({"id": format!("{i:08}-0000-4000-8000-000000000000"), "employees": if i % 3 == 0 { Value::Null } else { json!(i * 10) }, "name": format!("n{i:02}")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn cursor_encodes_sort_values_as_base64_json() {
        let order = id_order();
        let r = rows(1);
        let c = order.cursor(&r[0]);
        let decoded = base64::engine::general_purpose::STANDARD.decode(&c).expect("base64");
        assert_eq!(String::from_utf8(decoded).expect("utf8"), r#"{"id":"00000000-0000-4000-8000-000000000000"}"#);
        assert_eq!(order.decode_cursor(&c).expect("decodes"), vec![json!("00000000-0000-4000-8000-000000000000")]);
    }

    #[test]
    fn starting_after_and_ending_before_walk_the_pages_like_the_recording() {
        let all = rows(7);
        let order = id_order();
        let refs: Vec<&Map<String, Value>> = all.iter().collect();
        let p1 = paginate(refs.clone(), &order, true, &Cursor::None, 2).expect("page 1");
        assert!(p1.has_next_page);
        assert_eq!(p1.total_count, 7);
        let p2 = paginate(refs.clone(), &order, true, &Cursor::After(p1.end_cursor.clone().unwrap_or_default()), 2)
            .expect("page 2");
        assert_eq!(p2.rows[0]["name"], json!("n02"));
        let back = paginate(refs, &order, true, &Cursor::Before(p2.start_cursor.clone().unwrap_or_default()), 2)
            .expect("back");
        assert_eq!(back.rows.iter().map(|r| r["name"].clone()).collect::<Vec<_>>(), vec![json!("n00"), json!("n01")]);
        assert_eq!(back.start_cursor, p1.end_cursor, "ending_before swaps start and end cursors");
        assert_eq!(back.end_cursor, p1.start_cursor);
        assert!(!back.has_next_page);
    }

    #[test]
    fn desc_nulls_last_then_id() {
        let all = rows(7);
        let order = Ordering_ {
            keys: vec![
                SortKey { key: "employees".into(), sub: None, ftype: "NUMBER".into(), asc: false, nulls_first: false },
                id_key(),
            ],
        };
        let refs: Vec<&Map<String, Value>> = all.iter().collect();
        let page = paginate(refs.clone(), &order, false, &Cursor::None, 10).expect("page");
        let emp: Vec<Value> = page.rows.iter().map(|r| r["employees"].clone()).collect();
        assert_eq!(emp, vec![json!(50), json!(40), json!(20), json!(10), Value::Null, Value::Null, Value::Null]);
        let p1 = paginate(refs.clone(), &order, false, &Cursor::None, 3).expect("p1");
        let p2 = paginate(refs, &order, false, &Cursor::After(p1.end_cursor.unwrap_or_default()), 3).expect("p2");
        let emp: Vec<Value> = p2.rows.iter().map(|r| r["employees"].clone()).collect();
        assert_eq!(emp, vec![json!(10), Value::Null, Value::Null]);
    }
}
