//! Record bodies as the REST API shows them (depth 0 and depth 1).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::schema::{ObjectMeta, pascal};
use crate::store::{Row, State};
use crate::values::field_empty;

/// Most related rows nested per relation at depth 1 (QUERY_MAX_RECORDS_FROM_RELATION).
const NESTED_MAX: usize = 60;

/// A record body at depth 0: every column in recorded order, join columns but no nested relations.
pub fn row_body(state: &State, base_url: &str, obj: &ObjectMeta, row: &Row) -> Value {
    row_body_with(state, base_url, obj, row, None)
}

/// `body_keys` of an object, cached per thread by a fingerprint of its fields (lists render many rows).
fn cached_body_keys(state: &State, obj: &ObjectMeta) -> Rc<Vec<String>> {
    thread_local! {
        static CACHE: RefCell<HashMap<u64, Rc<Vec<String>>>> = RefCell::new(HashMap::new());
    }
    let mut h = DefaultHasher::new();
    obj.id.hash(&mut h);
    (state.target_columns == crate::config::TargetColumns::Morph).hash(&mut h);
    obj.column_order.hash(&mut h);
    for f in &obj.fields {
        f.name.hash(&mut h);
        f.ftype.hash(&mut h);
        f.settings.as_ref().and_then(|s| s.get("joinColumnName")).and_then(Value::as_str).hash(&mut h);
        f.relation.as_ref().map(|r| r.rtype.as_str()).hash(&mut h);
    }
    let key = h.finish();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 4096 {
            c.clear();
        }
        c.entry(key).or_insert_with(|| Rc::new(obj.body_keys(state.target_columns))).clone()
    })
}

fn row_body_with(state: &State, base_url: &str, obj: &ObjectMeta, row: &Row, extra_column: Option<&str>) -> Value {
    let mut out = Map::new();
    let keys = cached_body_keys(state, obj);
    for key in keys.iter().cloned() {
        let v = match row.get(&key) {
            Some(v) => v.clone(),
            None => obj.field(&key).map(field_empty).unwrap_or(Value::Null),
        };
        let v = if obj.name_singular == "attachment" && key == "fullPath" {
            crate::files::sign_full_path(state, base_url, &v)
        } else {
            v
        };
        out.insert(key, v);
    }
    if let Some(col) = extra_column
        && !out.contains_key(col)
    {
        out.insert(col.to_string(), row.get(col).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// A record body at depth 0 written straight from the stored row (the same bytes as serialising
/// [`row_body`], without copying the row into a new value first): what write answers are made of.
pub struct BodyRef<'a> {
    /// The workspace and server address that sign an attachment's `fullPath`; `None` for other objects, so their
    /// answers can be written without the state (after its lock is let go).
    signer: Option<(&'a State, &'a str)>,
    obj: &'a ObjectMeta,
    row: &'a Row,
    keys: Rc<Vec<String>>,
}

/// How the bodies of one object's records are written: their keys in order, and what signs file paths.
pub struct BodyShape<'a> {
    keys: Rc<Vec<String>>,
    signer: Option<(&'a State, &'a str)>,
}

impl<'a> BodyShape<'a> {
    /// The shape of `obj`'s bodies. Only attachments keep `state` (to sign their paths).
    pub fn of(state: &'a State, base_url: &'a str, obj: &ObjectMeta) -> BodyShape<'a> {
        let signer = (obj.name_singular == "attachment").then_some((state, base_url));
        BodyShape { keys: cached_body_keys(state, obj), signer }
    }

    /// Whether writing the bodies needs the state.
    pub fn needs_state(&self) -> bool {
        self.signer.is_some()
    }

    /// A shape that keeps nothing of the state (for objects whose bodies do not need it).
    pub fn detached<'b>(self) -> BodyShape<'b> {
        BodyShape { keys: self.keys, signer: None }
    }

    /// The bodies of `rows` of `obj`.
    pub fn bodies<'r>(&self, obj: &'r ObjectMeta, rows: &[&'r Row]) -> Vec<BodyRef<'r>>
    where
        'a: 'r,
    {
        rows.iter().map(|row| BodyRef { signer: self.signer, obj, row, keys: self.keys.clone() }).collect()
    }
}

impl serde::Serialize for BodyRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.keys.len()))?;
        for key in self.keys.iter() {
            match (self.row.get(key), self.signer) {
                (Some(v), None) => map.serialize_entry(key, v)?,
                (Some(v), Some(_)) if key != "fullPath" => map.serialize_entry(key, v)?,
                (stored, signer) => {
                    let v =
                        stored.cloned().unwrap_or_else(|| self.obj.field(key).map(field_empty).unwrap_or(Value::Null));
                    let v = match signer {
                        Some((state, base_url)) if key == "fullPath" => {
                            crate::files::sign_full_path(state, base_url, &v)
                        }
                        _ => v,
                    };
                    map.serialize_entry(key, &v)?;
                }
            }
        }
        map.end()
    }
}

/// A record body at `depth` (0 or 1): depth 1 nests every relation (52).
pub fn render(state: &State, base_url: &str, obj: &ObjectMeta, row: &Row, depth: u8) -> Value {
    let mut body = row_body(state, base_url, obj, row);
    if depth == 0 {
        return body;
    }
    let Some(id) = row.get("id").and_then(Value::as_str) else { return body };
    let Value::Object(out) = &mut body else { return body };
    let mut many_to_one = Vec::new();
    let mut one_to_many = Vec::new();
    for f in &obj.fields {
        if f.ftype != "RELATION" {
            continue;
        }
        if f.is_one_to_many() {
            one_to_many.push(f);
        } else {
            many_to_one.push(f);
        }
    }
    for f in many_to_one {
        let (Some(col), Some(target)) = (f.join_column(), f.points_at()) else { continue };
        let nested = row
            .get(&col)
            .and_then(Value::as_str)
            .and_then(|tid| {
                let t = state.schema.object(target)?;
                let r = state.tables.get(target)?.rows.get(tid)?;
                r.get("deletedAt").is_none_or(Value::is_null).then(|| row_body(state, base_url, t, r))
            })
            .unwrap_or(Value::Null);
        out.insert(f.name.clone(), nested);
    }
    for f in one_to_many {
        let Some(rel) = &f.relation else { continue };
        let Some(target) = state.schema.object(&rel.target) else { continue };
        // The column on the target that points back here: a plain join column, or the morph column for us.
        let (column, show) = match target.field(&rel.target_field).and_then(|tf| tf.join_column()) {
            Some(c) if target.field(&rel.target_field).is_some_and(|tf| tf.ftype == "RELATION") => (c, false),
            _ => (format!("target{}Id", pascal(&obj.name_singular)), true),
        };
        let rows: Vec<Value> = state
            .tables
            .get(&target.name_singular)
            .map(|t| {
                t.rows
                    .values()
                    .filter(|r| r.get(&column).and_then(Value::as_str) == Some(id))
                    .filter(|r| r.get("deletedAt").is_none_or(Value::is_null))
                    .take(NESTED_MAX)
                    .map(|r| row_body_with(state, base_url, target, r, show.then_some(column.as_str())))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(f.name.clone(), Value::Array(rows));
    }
    body
}
