//! The records REST API (`/rest/{plural}`…): envelopes, pagination, writes and errors as recorded.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::filter::{Filter, parse_rest_filter};
use crate::query::{Cursor, Ordering_, page_of, paginate, parse_direction};
use crate::render::{BodyShape, render};
use crate::schema::{ObjectMeta, pascal};
use crate::server::{Reply, Req, Shared};
use crate::store::{CreateOptions, Row, State, row_id};

/// Handles one `/rest/…` records request (auth already checked).
pub fn handle(shared: &Shared, req: &Req) -> Reply {
    match handle_inner(shared, req) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

fn query_path_invalid(path: &str, plural: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Query path '{path}' invalid. Valid examples: /rest/{plural}/id or /rest/{plural} or /rest/batch/{plural}"
    ))
}

/// Finds the object of a plural route segment (`object 'company' not found. Did you mean 'companies'?`).
pub fn object_for(state: &State, plural: &str) -> Result<ObjectMeta, ApiError> {
    if let Some(o) = state.schema.object_by_plural(plural) {
        return Ok(o.clone());
    }
    match state.schema.object(plural) {
        Some(o) => {
            Err(ApiError::bad_request(format!("object '{plural}' not found. Did you mean '{}'?", o.name_plural)))
        }
        None => Err(ApiError::bad_request(format!("object '{plural}' not found"))),
    }
}

fn parse_body(req: &Req) -> Result<Value, ApiError> {
    if req.body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::nest(
            400,
            "Bad Request",
            format!("Unexpected token in JSON at line {} column {}", e.line(), e.column()),
        )
    })
}

fn filter_param(obj: &ObjectMeta, req: &Req) -> Result<Option<Filter>, ApiError> {
    match req.query.get("filter") {
        Some(f) if !f.trim().is_empty() => Ok(Some(parse_rest_filter(obj, f)?)),
        _ => Ok(None),
    }
}

fn depth_param(req: &Req) -> Result<u8, ApiError> {
    match req.query.get("depth").map(String::as_str) {
        None | Some("0") => Ok(0),
        Some("1") => Ok(1),
        Some(other) => Err(ApiError::bad_request(format!("depth '{other}' is invalid. Should be 0 or 1"))),
    }
}

fn limit_param(shared: &Shared, req: &Req) -> Result<usize, ApiError> {
    match req.query.get("limit") {
        None => Ok(shared.config.page_default),
        Some(l) => match l.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as usize).min(shared.config.page_max)),
            _ => Err(ApiError::bad_request(format!("limit '{l}' is invalid. Should be an integer"))),
        },
    }
}

/// Parses `order_by=field[Direction],field2`.
pub fn order_param(obj: &ObjectMeta, raw: Option<&String>) -> Result<Ordering_, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ordering_::from_pairs(obj, &[]) };
    let mut pairs = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (path, dir) = match part.find('[') {
            Some(i) => {
                let d = part[i + 1..].trim_end_matches(']');
                (&part[..i], parse_direction(d).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "'order_by' direction '{d}' invalid. Allowed values are 'AscNullsFirst', 'AscNullsLast', 'DescNullsFirst', 'DescNullsLast'. eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3"
                    ))
                })?)
            }
            None => (part, (true, true)),
        };
        pairs.push((path.to_string(), dir));
    }
    Ordering_::from_pairs(obj, &pairs)
}

fn handle_inner(shared: &Shared, req: &Req) -> Result<Reply, ApiError> {
    let rest = req.path.trim_start_matches("/rest/").trim_end_matches('/');
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method.as_str();
    match (segs.as_slice(), method) {
        (["batch", plural], "POST") => return create(shared, req, plural, true),
        ([plural], "POST") => return create(shared, req, plural, false),
        _ => {}
    }
    let mut state = shared.state();
    let result = match (segs.as_slice(), method) {
        (["restore", plural, ..], "PATCH" | "PUT") if segs.len() > 2 => {
            let _ = object_for(&state, plural)?;
            Err(query_path_invalid(&req.path, plural))
        }
        (["restore", plural], "PATCH" | "PUT") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let filter = filter_param(&obj, req)?;
            let ids: Vec<String> = state.select(&obj, filter.as_ref(), true).iter().filter_map(|r| row_id(r)).collect();
            let rows = state.restore(&obj.name_singular, &ids)?;
            let body: Vec<Value> = rows.iter().map(|r| render(&state, &shared.base_url, &obj, r, 0)).collect();
            Ok(Reply::json(200, &json!({"data": {format!("restore{}", pascal(&obj.name_plural)): body}})))
        }
        ([plural], "GET") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            list(shared, &state, &obj, req)
        }
        ([plural], "DELETE") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let filter = filter_param(&obj, req)?;
            let ids: Vec<String> =
                state.select(&obj, filter.as_ref(), false).iter().filter_map(|r| row_id(r)).collect();
            let key = format!("delete{}", pascal(&obj.name_plural));
            if req.query.get("soft_delete").map(String::as_str) == Some("true") {
                let mut body = Vec::new();
                for id in &ids {
                    let row = state.soft_delete(&obj.name_singular, id)?;
                    body.push(render(&state, &shared.base_url, &obj, &row, 0));
                }
                Ok(Reply::json(200, &json!({"data": {key: body}})))
            } else {
                let removed = state.destroy(&obj.name_singular, &ids)?;
                let body: Vec<Value> = removed.iter().map(|id| json!({"id": id})).collect();
                Ok(Reply::json(200, &json!({"data": {key: body}})))
            }
        }
        ([plural], "PATCH" | "PUT") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let filter = filter_param(&obj, req)?.ok_or_else(|| ApiError::bad_request("Filter is required"))?;
            let body = parse_body(req)?;
            let rows = state.update_many(&obj.name_singular, &filter, &body)?;
            let out: Vec<Value> = rows.iter().map(|r| render(&state, &shared.base_url, &obj, r, 0)).collect();
            Ok(Reply::json(200, &json!({"data": {format!("update{}", pascal(&obj.name_plural)): out}})))
        }
        ([plural, id], "GET") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let depth = depth_param(req)?;
            let row = state
                .tables
                .get(&obj.name_singular)
                .and_then(|t| t.rows.get(*id))
                .filter(|r| r.get("deletedAt").is_none_or(Value::is_null))
                .ok_or_else(ApiError::record_not_found)?;
            let body = render(&state, &shared.base_url, &obj, row, depth);
            Ok(Reply::json(200, &json!({"data": {obj.name_singular.clone(): body}})))
        }
        ([plural, id], "PATCH" | "PUT") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let body = parse_body(req)?;
            let row = state.update(&obj.name_singular, id, &body)?;
            let out = render(&state, &shared.base_url, &obj, &row, 0);
            Ok(Reply::json(200, &json!({"data": {format!("update{}", pascal(&obj.name_singular)): out}})))
        }
        ([plural, id], "DELETE") => {
            let obj = object_for(&state, plural)?;
            take_token(shared)?;
            let key = format!("delete{}", pascal(&obj.name_singular));
            if req.query.get("soft_delete").map(String::as_str) == Some("true") {
                let row = state.soft_delete(&obj.name_singular, id)?;
                let out = render(&state, &shared.base_url, &obj, &row, 0);
                Ok(Reply::json(200, &json!({"data": {key: out}})))
            } else {
                let removed = state.destroy(&obj.name_singular, &[id.to_string()])?;
                if removed.is_empty() {
                    return Err(ApiError::record_not_found());
                }
                Ok(Reply::json(200, &json!({"data": {key: {"id": id}}})))
            }
        }
        ([plural, _, ..], _) if segs.len() > 2 => {
            let obj = object_for(&state, plural)?;
            Err(query_path_invalid(&req.path, &obj.name_plural))
        }
        ([_, op], _) if matches!(*op, "duplicates" | "merge" | "groupBy") => Err(ApiError::rest(
            501,
            "NotImplementedException",
            format!("The sandbox does not emulate {} {}", req.method, req.path),
        )),
        _ => Err(ApiError::nest(404, "Not Found", format!("Cannot {} {}", req.method, req.path))),
    };
    shared.flush(&mut state);
    result
}

fn take_token(shared: &Shared) -> Result<(), ApiError> {
    shared.take_token().map_err(|m| ApiError::rest(429, "HttpException", m))
}

fn list(shared: &Shared, state: &State, obj: &ObjectMeta, req: &Req) -> Result<Reply, ApiError> {
    let limit = limit_param(shared, req)?;
    let depth = depth_param(req)?;
    let filter = filter_param(obj, req)?;
    let order = order_param(obj, req.query.get("order_by"))?;
    let cursor = match (req.query.get("starting_after"), req.query.get("ending_before")) {
        (Some(a), None) => Cursor::After(a.clone()),
        (None, Some(b)) => Cursor::Before(b.clone()),
        (None, None) => Cursor::None,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("Cannot use both starting_after and ending_before"));
        }
    };
    let page = match (&filter, &cursor) {
        // Plain paging in id order (what a full export does): O(page), not a scan of the table.
        (None, Cursor::None | Cursor::After(_)) if order.is_id_only() => {
            let after = match &cursor {
                Cursor::After(c) => order.decode_cursor(c)?.first().and_then(Value::as_str).map(str::to_lowercase),
                _ => None,
            };
            let (rows, more, total) = state.page_by_id(obj, after.as_deref(), limit);
            page_of(rows, &order, more, total)
        }
        _ => paginate(state.select(obj, filter.as_ref(), false), &order, order.is_id_only(), &cursor, limit)?,
    };
    let records: Vec<Value> = page.rows.iter().map(|r| render(state, &shared.base_url, obj, r, depth)).collect();
    Ok(Reply::json(
        200,
        &json!({
            "data": {obj.name_plural.clone(): records},
            "totalCount": page.total_count,
            "pageInfo": {
                "startCursor": page.start_cursor,
                "endCursor": page.end_cursor,
                "hasNextPage": page.has_next_page,
                "hasPreviousPage": false,
            },
        }),
    ))
}

/// A create (one record, or a batch): the state lock is held only to copy what the records are built from and then
/// to check them against the stored rows and store them. Parsing, validation, the computed columns (search vector,
/// rich text) and the answer's serialisation happen without it, so concurrent calls overlap. The errors come in the
/// order they did under one lock: object, rate limit, body, size, inputs, then what needs the stored rows.
fn create(shared: &Shared, req: &Req, plural: &str, batch: bool) -> Result<Reply, ApiError> {
    let body = parse_body(req);
    let upsert = req.query.get("upsert").map(String::as_str) == Some("true");
    let (obj, snapshot, inputs) = {
        let state = shared.state();
        let obj = object_for(&state, plural)?;
        take_token(shared)?;
        let inputs: Vec<Value> = match body? {
            Value::Array(items) if batch => items,
            other => vec![other],
        };
        if inputs.len() > shared.config.batch_max {
            return Err(ApiError::bad_request(format!(
                "Maximum number of records to upsert is {}.",
                shared.config.batch_max
            )));
        }
        let snapshot = state.create_snapshot(&obj.name_singular, CreateOptions { upsert })?;
        (obj, snapshot, inputs)
    };
    let draft = snapshot.draft(&inputs)?;
    let mut state = shared.state();
    let rows = state.commit_create(draft, &inputs);
    shared.flush(&mut state);
    let rows = rows?;
    drop(inputs);
    let shape = BodyShape::of(&state, &shared.base_url, &obj);
    if shape.needs_state() {
        return create_answer(&obj, &shape, &rows, batch);
    }
    let shape = shape.detached();
    drop(state);
    create_answer(&obj, &shape, &rows, batch)
}

/// `{"data": {"createCompanies": [...]}}` (`createCompany` and one body for a single create).
fn create_answer(obj: &ObjectMeta, shape: &BodyShape<'_>, rows: &[Arc<Row>], batch: bool) -> Result<Reply, ApiError> {
    let rows: Vec<&Row> = rows.iter().map(|r| &**r).collect();
    let bodies = shape.bodies(obj, &rows);
    let answer = if batch {
        json_bytes(&CreateAnswer { data: [(format!("create{}", pascal(&obj.name_plural)), &bodies[..])] })
    } else {
        let body = bodies.first().ok_or_else(|| ApiError::internal("no record created"))?;
        json_bytes(&CreateAnswer { data: [(format!("create{}", pascal(&obj.name_singular)), body)] })
    };
    Ok(Reply::json_bytes(201, answer))
}

/// `{"data": {"<key>": …}}`.
#[derive(serde::Serialize)]
struct CreateAnswer<T: serde::Serialize> {
    #[serde(serialize_with = "one_entry")]
    data: [(String, T); 1],
}

fn one_entry<T: serde::Serialize, S: serde::Serializer>(entry: &[(String, T); 1], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(&entry[0].0, &entry[0].1)?;
    map.end()
}

fn json_bytes(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes())
}
