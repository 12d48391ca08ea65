//! The `/graphql` and `/metadata` GraphQL endpoints: the operations the recording shows and ferry uses
//! (record connections, create/createMany with upsert, update/delete/destroy/restore, uploads, the metadata
//! catalogue and field/object writes). Anything else answers a GraphQL error saying the sandbox does not
//! emulate it. Parsing uses `async-graphql-parser`.

use std::collections::HashMap;

use async_graphql_parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql_parser::{Pos, Positioned};
use async_graphql_value::{Name, Value as GValue};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::filter::{Filter, Op, Operand, resolve_path};
use crate::metadata::{self, Invalid, MetaError};
use crate::query::{Cursor, Ordering_, paginate, parse_direction};
use crate::render::row_body;
use crate::schema::{ObjectMeta, pascal};
use crate::server::{Reply, Req, Shared};
use crate::store::{CreateOptions, Row, State, row_id};
use crate::values::now_iso;

/// One uploaded file part.
#[derive(Debug, Clone)]
struct Upload {
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// A GraphQL error entry.
#[derive(Debug, Clone)]
struct GqlError(Value);

impl GqlError {
    fn plain(message: impl Into<String>, code: &str) -> GqlError {
        GqlError(json!({"message": message.into(), "extensions": {"code": code}}))
    }

    fn from_api(e: &ApiError) -> GqlError {
        let message = e.message();
        let (code, friendly) = match e.status {
            400 if message == "A duplicate entry was detected" => {
                ("BAD_USER_INPUT", "This value is already in use. Please check your data and try again.".to_string())
            }
            400 => ("BAD_USER_INPUT", message.clone()),
            404 => ("NOT_FOUND", message.clone()),
            429 => ("BAD_USER_INPUT", "Rate limit reached. Please try again later.".to_string()),
            _ => ("INTERNAL_SERVER_ERROR", "An error occurred.".to_string()),
        };
        GqlError(json!({"message": message, "extensions": {"code": code, "userFriendlyMessage": friendly}}))
    }

    fn located(message: impl Into<String>, pos: Pos) -> GqlError {
        GqlError(json!({"message": message.into(), "locations": [{"line": pos.line, "column": pos.column}]}))
    }
}

/// A parsed GraphQL request.
struct Request {
    query: String,
    variables: Map<String, Value>,
    operation_name: Option<String>,
    uploads: Vec<Upload>,
}

fn parse_request(req: &Req) -> Result<Request, GqlError> {
    let ct = req.content_type.clone().unwrap_or_default();
    if ct.starts_with("multipart/form-data") {
        return parse_multipart(&ct, &req.body);
    }
    if req.method == "GET" {
        return Ok(Request {
            query: req.query.get("query").cloned().unwrap_or_default(),
            variables: req
                .query
                .get("variables")
                .and_then(|v| serde_json::from_str(v).ok())
                .and_then(|v: Value| v.as_object().cloned())
                .unwrap_or_default(),
            operation_name: req.query.get("operationName").cloned(),
            uploads: Vec::new(),
        });
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| GqlError::plain(format!("POST body sent invalid JSON: {e}"), "BAD_REQUEST"))?;
    from_operations(&body, Vec::new())
}

fn from_operations(body: &Value, uploads: Vec<Upload>) -> Result<Request, GqlError> {
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| GqlError::plain("Must provide query string.", "BAD_REQUEST"))?
        .to_string();
    Ok(Request {
        query,
        variables: body.get("variables").and_then(Value::as_object).cloned().unwrap_or_default(),
        operation_name: body.get("operationName").and_then(Value::as_str).map(str::to_string),
        uploads,
    })
}

/// One multipart part: file name, content type, content.
type Part = (Option<String>, Option<String>, Vec<u8>);

/// GraphQL multipart request spec: `operations`, `map`, and one part per file.
fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Request, GqlError> {
    let bad = |m: &str| GqlError::plain(format!("Invalid multipart request: {m}"), "BAD_REQUEST");
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| bad("no boundary"))?;
    let delim = format!("--{boundary}").into_bytes();
    let mut parts: HashMap<String, Part> = HashMap::new();
    let mut pos = find(body, &delim, 0).ok_or_else(|| bad("no parts"))?;
    loop {
        pos += delim.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        let start = pos + 2;
        let Some(next) = find(body, &delim, start) else { break };
        let part = &body[start..next.saturating_sub(2).max(start)];
        let Some(hdr_end) = find(part, b"\r\n\r\n", 0) else {
            pos = next;
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..hdr_end]).to_string();
        let content = part[hdr_end + 4..].to_vec();
        let mut name = None;
        let mut filename = None;
        let mut ctype = None;
        for line in headers.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';') {
                    let item = item.trim();
                    if let Some(v) = item.strip_prefix("name=") {
                        name = Some(v.trim_matches('"').to_string());
                    } else if let Some(v) = item.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                ctype = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        if let Some(n) = name {
            parts.insert(n, (filename, ctype, content));
        }
        pos = next;
    }
    let operations: Value = parts
        .get("operations")
        .and_then(|(_, _, c)| serde_json::from_slice(c).ok())
        .ok_or_else(|| bad("missing operations"))?;
    let map: Map<String, Value> = parts
        .get("map")
        .and_then(|(_, _, c)| serde_json::from_slice::<Value>(c).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut operations = operations;
    let mut uploads = Vec::new();
    for (key, paths) in map {
        let Some((filename, ctype, content)) = parts.get(&key) else { continue };
        let index = uploads.len();
        uploads.push(Upload {
            filename: filename.clone().unwrap_or_else(|| "file".into()),
            content_type: ctype.clone().unwrap_or_else(|| "application/octet-stream".into()),
            bytes: content.clone(),
        });
        for p in paths.as_array().into_iter().flatten().filter_map(Value::as_str) {
            let mut cur = &mut operations;
            let segs: Vec<&str> = p.split('.').collect();
            for (i, s) in segs.iter().enumerate() {
                let last = i + 1 == segs.len();
                let next = match cur {
                    Value::Object(m) => {
                        if last {
                            m.insert(s.to_string(), json!({"__upload": index}));
                            break;
                        }
                        m.entry(s.to_string()).or_insert(Value::Null)
                    }
                    Value::Array(a) => match s.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                        Some(v) => {
                            if last {
                                *v = json!({"__upload": index});
                                break;
                            }
                            v
                        }
                        None => break,
                    },
                    _ => break,
                };
                cur = next;
            }
        }
    }
    from_operations(&operations, uploads)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

/// Execution context of one request.
struct Ctx<'a> {
    doc: &'a ExecutableDocument,
    vars: Map<String, Value>,
    query: &'a str,
    uploads: Vec<Upload>,
}

impl Ctx<'_> {
    /// An argument as JSON (enums become strings, uploads `{"__upload": n}`).
    fn arg(&self, field: &Field, name: &str) -> Option<Value> {
        field.get_argument(name).map(|v| self.json(&v.node))
    }

    fn json(&self, v: &GValue) -> Value {
        match v {
            GValue::Variable(n) => self.vars.get(n.as_str()).cloned().unwrap_or(Value::Null),
            GValue::Null => Value::Null,
            GValue::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
            GValue::String(s) => Value::String(s.clone()),
            GValue::Boolean(b) => Value::Bool(*b),
            GValue::Binary(_) => Value::Null,
            GValue::Enum(e) => Value::String(e.to_string()),
            GValue::List(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            GValue::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.to_string(), self.json(v))).collect()),
        }
    }

    /// The fields selected (fragments expanded).
    fn fields<'s>(&'s self, set: &'s SelectionSet) -> Vec<&'s Positioned<Field>> {
        let mut out = Vec::new();
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(fr) => out.extend(self.fields(&fr.node.selection_set.node)),
                Selection::FragmentSpread(sp) => {
                    if let Some(def) = self.doc.fragments.get(&sp.node.fragment_name.node) {
                        out.extend(self.fields(&def.node.selection_set.node));
                    }
                }
            }
        }
        out
    }
}

fn key_of(f: &Field) -> String {
    f.response_key().node.to_string()
}

fn prepare<'a>(
    parsed: &'a Request,
    doc: &'a ExecutableDocument,
) -> Result<(OperationType, &'a SelectionSet, Ctx<'a>), GqlError> {
    let op = match (&doc.operations, &parsed.operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get(&Name::new(name))
            .ok_or_else(|| GqlError::plain(format!("Unknown operation named \"{name}\"."), "BAD_USER_INPUT"))?,
        (DocumentOperations::Multiple(ops), None) => {
            if ops.len() == 1 {
                ops.values().next().ok_or_else(|| GqlError::plain("No operation", "BAD_USER_INPUT"))?
            } else {
                return Err(GqlError::plain(
                    "Must provide operation name if query contains multiple operations.",
                    "BAD_USER_INPUT",
                ));
            }
        }
    };
    let mut vars = parsed.variables.clone();
    for def in &op.node.variable_definitions {
        let name = def.node.name.node.to_string();
        if !vars.contains_key(&name)
            && let Some(default) = def.node.default_value()
        {
            vars.insert(name, default.clone().into_json().unwrap_or(Value::Null));
        }
    }
    let ctx = Ctx { doc, vars, query: &parsed.query, uploads: parsed.uploads.clone() };
    Ok((op.node.ty, &op.node.selection_set.node, ctx))
}

fn parse_doc(parsed: &Request) -> Result<ExecutableDocument, GqlError> {
    async_graphql_parser::parse_query(&parsed.query).map_err(|e| {
        let pos = e.positions().next().unwrap_or(Pos { line: 1, column: 1 });
        GqlError::located(format!("Syntax Error: {e}"), pos)
    })
}

fn errors_only(errors: Vec<GqlError>) -> Reply {
    Reply::json(200, &json!({"errors": errors.into_iter().map(|e| e.0).collect::<Vec<_>>()}))
}

fn answer(data: Map<String, Value>, errors: Vec<GqlError>, data_null: bool) -> Reply {
    let mut body = Map::new();
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors.into_iter().map(|e| e.0).collect()));
    }
    body.insert("data".into(), if data_null { Value::Null } else { Value::Object(data) });
    Reply::json(200, &Value::Object(body))
}

fn not_emulated(name: &str) -> GqlError {
    GqlError::plain(format!("The sandbox does not emulate the GraphQL operation \"{name}\""), "INTERNAL_SERVER_ERROR")
}

// ---------------------------------------------------------------------------------------------------------
// /graphql
// ---------------------------------------------------------------------------------------------------------

/// `POST /graphql`.
pub fn core_endpoint(shared: &Shared, req: &Req) -> Reply {
    let (parsed, doc) = match parse_request(req).and_then(|p| parse_doc(&p).map(|d| (p, d))) {
        Ok(x) => x,
        Err(e) => return errors_only(vec![e]),
    };
    let (ty, set, ctx) = match prepare(&parsed, &doc) {
        Ok(x) => x,
        Err(e) => return errors_only(vec![e]),
    };
    let mut state = shared.state();
    // Validation first (as GraphQL does): unknown enum values, unknown fields.
    let roots = ctx.fields(set);
    for f in &roots {
        if let Err(e) = validate_core_field(&state, &ctx, &f.node) {
            return errors_only(vec![e]);
        }
    }
    let mut data = Map::new();
    let mut errors = Vec::new();
    let mut null_data = false;
    for f in roots {
        let key = key_of(&f.node);
        match core_field(shared, &mut state, &ctx, ty, &f.node) {
            Ok(v) => {
                data.insert(key, v);
            }
            Err(e) => {
                errors.push(e);
                if ty == OperationType::Mutation {
                    null_data = true;
                }
                data.insert(key, Value::Null);
            }
        }
    }
    shared.flush(&mut state);
    answer(data, errors, null_data)
}

/// What a core root field names.
enum CoreOp {
    FindMany(ObjectMeta),
    FindOne(ObjectMeta),
    CreateOne(ObjectMeta),
    CreateMany(ObjectMeta),
    UpdateOne(ObjectMeta),
    UpdateMany(ObjectMeta),
    DeleteOne(ObjectMeta),
    DeleteMany(ObjectMeta),
    DestroyOne(ObjectMeta),
    DestroyMany(ObjectMeta),
    RestoreOne(ObjectMeta),
    RestoreMany(ObjectMeta),
}

fn core_op(state: &State, ty: OperationType, name: &str) -> Option<CoreOp> {
    let objects = &state.schema.objects;
    if ty == OperationType::Query {
        if let Some(o) = objects.iter().find(|o| o.name_plural == name) {
            return Some(CoreOp::FindMany(o.clone()));
        }
        return objects.iter().find(|o| o.name_singular == name).map(|o| CoreOp::FindOne(o.clone()));
    }
    for o in objects {
        let (s, p) = (pascal(&o.name_singular), pascal(&o.name_plural));
        let op = match name {
            n if n == format!("create{s}") => CoreOp::CreateOne(o.clone()),
            n if n == format!("create{p}") => CoreOp::CreateMany(o.clone()),
            n if n == format!("update{s}") => CoreOp::UpdateOne(o.clone()),
            n if n == format!("update{p}") => CoreOp::UpdateMany(o.clone()),
            n if n == format!("delete{s}") => CoreOp::DeleteOne(o.clone()),
            n if n == format!("delete{p}") => CoreOp::DeleteMany(o.clone()),
            n if n == format!("destroy{s}") => CoreOp::DestroyOne(o.clone()),
            n if n == format!("destroy{p}") => CoreOp::DestroyMany(o.clone()),
            n if n == format!("restore{s}") => CoreOp::RestoreOne(o.clone()),
            n if n == format!("restore{p}") => CoreOp::RestoreMany(o.clone()),
            _ => continue,
        };
        return Some(op);
    }
    None
}

fn enum_name(obj: &ObjectMeta, field: &str) -> String {
    format!("{}{}Enum", pascal(&obj.name_singular), pascal(field))
}

/// Byte offset → 1-based line/column.
fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    Pos { line, column }
}

fn offset_of(text: &str, pos: Pos) -> usize {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == pos.line {
            return offset + l.char_indices().nth(pos.column.saturating_sub(1)).map(|(b, _)| b).unwrap_or(l.len());
        }
        offset += l.len() + 1;
    }
    offset
}

/// Inline enum literals for SELECT fields must be option values (94); variables are checked after coercion.
fn check_enums(ctx: &Ctx<'_>, obj: &ObjectMeta, v: &GValue, arg_pos: Pos, path: &str) -> Result<(), GqlError> {
    match v {
        GValue::Object(m) => {
            for (k, val) in m {
                let Some(field) = obj.field(k.as_str()) else { continue };
                if field.ftype != "SELECT" && field.ftype != "MULTI_SELECT" {
                    continue;
                }
                let allowed = field.option_values();
                let literals: Vec<&Name> = match val {
                    GValue::Enum(e) => vec![e],
                    GValue::List(items) => {
                        items.iter().filter_map(|i| if let GValue::Enum(e) = i { Some(e) } else { None }).collect()
                    }
                    _ => vec![],
                };
                for e in literals {
                    if !allowed.contains(&e.as_str()) {
                        let start = offset_of(ctx.query, arg_pos);
                        let re = regex::Regex::new(&format!(
                            r"\b{}\s*:\s*(\[[^\]]*)?\b{}\b",
                            regex::escape(k.as_str()),
                            regex::escape(e.as_str())
                        ))
                        .ok();
                        let found = re.and_then(|re| re.find_at(ctx.query, start)).map(|m| m.end() - e.as_str().len());
                        let pos = found.map(|o| pos_of(ctx.query, o)).unwrap_or(arg_pos);
                        return Err(GqlError::located(
                            format!("Value \"{e}\" does not exist in \"{}\" enum.", enum_name(obj, k.as_str())),
                            pos,
                        ));
                    }
                }
            }
            Ok(())
        }
        GValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                check_enums(ctx, obj, item, arg_pos, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        GValue::Variable(name) => {
            let value = ctx.vars.get(name.as_str()).cloned().unwrap_or(Value::Null);
            check_enum_json(obj, &value, path, name.as_str(), arg_pos)
        }
        _ => Ok(()),
    }
}

fn check_enum_json(obj: &ObjectMeta, v: &Value, path: &str, var: &str, pos: Pos) -> Result<(), GqlError> {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_enum_json(obj, item, &format!("{path}[{i}]"), var, pos)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, val) in m {
                let Some(field) = obj.field(k) else { continue };
                if field.ftype != "SELECT" && field.ftype != "MULTI_SELECT" {
                    continue;
                }
                let allowed = field.option_values();
                let values: Vec<&Value> = match val {
                    Value::Array(items) => items.iter().collect(),
                    Value::Null => vec![],
                    other => vec![other],
                };
                for x in values {
                    if !x.as_str().is_some_and(|s| allowed.contains(&s)) {
                        return Err(GqlError::located(
                            format!(
                                "Variable \"${var}\" got invalid value {x} at \"{path}.{k}\"; Value {x} does not exist in \"{}\" enum.",
                                enum_name(obj, k)
                            ),
                            pos,
                        ));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate_core_field(state: &State, ctx: &Ctx<'_>, f: &Field) -> Result<(), GqlError> {
    let name = f.name.node.as_str();
    if name == "__typename" {
        return Ok(());
    }
    let Some(op) = core_op(state, OperationType::Mutation, name).or_else(|| core_op(state, OperationType::Query, name))
    else {
        return Ok(());
    };
    let (obj, data_arg) = match &op {
        CoreOp::CreateOne(o) | CoreOp::CreateMany(o) | CoreOp::UpdateOne(o) | CoreOp::UpdateMany(o) => (o, true),
        CoreOp::FindMany(o)
        | CoreOp::FindOne(o)
        | CoreOp::DeleteOne(o)
        | CoreOp::DeleteMany(o)
        | CoreOp::DestroyOne(o)
        | CoreOp::DestroyMany(o)
        | CoreOp::RestoreOne(o)
        | CoreOp::RestoreMany(o) => (o, false),
    };
    if data_arg && let Some(arg) = f.get_argument("data") {
        check_enums(ctx, obj, &arg.node, arg.pos, "data")?;
    }
    let connection = matches!(op, CoreOp::FindMany(_));
    validate_selection(state, ctx, obj, &f.selection_set.node, connection)
}

fn validate_selection(
    state: &State,
    ctx: &Ctx<'_>,
    obj: &ObjectMeta,
    set: &SelectionSet,
    connection: bool,
) -> Result<(), GqlError> {
    let type_name = pascal(&obj.name_singular);
    for f in ctx.fields(set) {
        let name = f.node.name.node.as_str();
        if name == "__typename" {
            continue;
        }
        if connection {
            match name {
                "edges" => {
                    for e in ctx.fields(&f.node.selection_set.node) {
                        if e.node.name.node.as_str() == "node" {
                            validate_selection(state, ctx, obj, &e.node.selection_set.node, false)?;
                        }
                    }
                }
                "pageInfo" | "totalCount" => {}
                other => {
                    return Err(GqlError::located(
                        format!("Cannot query field \"{other}\" on type \"{}Connection\".", type_name),
                        f.pos,
                    ));
                }
            }
            continue;
        }
        match obj.field(name) {
            Some(field) if field.ftype == "RELATION" => {
                if let Some(target) = field.relation.as_ref().and_then(|r| state.schema.object(&r.target)) {
                    validate_selection(state, ctx, target, &f.node.selection_set.node, field.is_one_to_many())?;
                }
            }
            Some(_) => {}
            None if obj.field_by_join_column(name).is_some() => {}
            None => {
                return Err(GqlError::located(
                    format!("Cannot query field \"{name}\" on type \"{type_name}\"."),
                    f.pos,
                ));
            }
        }
    }
    Ok(())
}

fn take_token(shared: &Shared) -> Result<(), GqlError> {
    shared.take_token().map_err(|m| {
        GqlError(json!({"message": m, "extensions": {"subCode": "LIMIT_REACHED",
            "userFriendlyMessage": "Rate limit reached. Please try again later.", "code": "BAD_USER_INPUT"}}))
    })
}

fn core_field(
    shared: &Shared,
    state: &mut State,
    ctx: &Ctx<'_>,
    ty: OperationType,
    f: &Field,
) -> Result<Value, GqlError> {
    let name = f.name.node.as_str();
    if name == "__typename" {
        return Ok(json!(if ty == OperationType::Query { "Query" } else { "Mutation" }));
    }
    if ty == OperationType::Mutation
        && let Some(v) = file_mutation(state, ctx, f)?
    {
        return Ok(v);
    }
    let Some(op) = core_op(state, ty, name) else { return Err(not_emulated(name)) };
    take_token(shared)?;
    let base = shared.base_url.clone();
    let set = &f.selection_set.node;
    let api = |e: ApiError| GqlError::from_api(&e);
    match op {
        CoreOp::FindMany(obj) => {
            let filter = match ctx.arg(f, "filter") {
                Some(v) if !v.is_null() => Some(gql_filter(&obj, &v).map_err(api)?),
                _ => None,
            };
            let order = gql_order(&obj, ctx.arg(f, "orderBy").unwrap_or(Value::Null)).map_err(api)?;
            let first = ctx.arg(f, "first").and_then(|v| v.as_u64());
            let last = ctx.arg(f, "last").and_then(|v| v.as_u64());
            let after = ctx.arg(f, "after").and_then(|v| v.as_str().map(str::to_string));
            let before = ctx.arg(f, "before").and_then(|v| v.as_str().map(str::to_string));
            let limit =
                first.or(last).map(|n| n as usize).unwrap_or(shared.config.page_max).min(shared.config.page_max);
            let cursor = match (after, before) {
                (Some(a), _) => Cursor::After(a),
                (None, Some(b)) => Cursor::Before(b),
                (None, None) if last.is_some() && first.is_none() => Cursor::Last,
                _ => Cursor::None,
            };
            let rows = state.select(&obj, filter.as_ref(), false);
            let page = paginate(rows, &order, order.is_id_only(), &cursor, limit).map_err(api)?;
            Ok(project_connection(
                state,
                &base,
                ctx,
                &obj,
                &page.rows,
                &page.cursors,
                page.total_count,
                &page.start_cursor,
                &page.end_cursor,
                page.has_next_page,
                set,
            ))
        }
        CoreOp::FindOne(obj) => {
            let filter = match ctx.arg(f, "filter") {
                Some(v) if !v.is_null() => Some(gql_filter(&obj, &v).map_err(api)?),
                _ => None,
            };
            let rows = state.select(&obj, filter.as_ref(), false);
            match rows.first() {
                Some(r) => Ok(project_record(state, &base, ctx, &obj, r, set)),
                None => Err(GqlError::from_api(&ApiError::record_not_found())),
            }
        }
        CoreOp::CreateOne(obj) | CoreOp::CreateMany(obj) => {
            let many = matches!(name.strip_prefix("create"), Some(rest) if rest == pascal(&obj.name_plural));
            let data = ctx.arg(f, "data").unwrap_or(Value::Null);
            let upsert = ctx.arg(f, "upsert").and_then(|v| v.as_bool()).unwrap_or(false);
            let inputs = match (&data, many) {
                (Value::Array(items), true) => items.clone(),
                (other, _) => vec![other.clone()],
            };
            if inputs.len() > shared.config.batch_max {
                return Err(GqlError::from_api(&ApiError::bad_request(format!(
                    "Maximum number of records to upsert is {}.",
                    shared.config.batch_max
                ))));
            }
            let rows = state.create(&obj.name_singular, &inputs, CreateOptions { upsert }).map_err(api)?;
            if many {
                Ok(Value::Array(rows.iter().map(|r| project_record(state, &base, ctx, &obj, r, set)).collect()))
            } else {
                Ok(rows.first().map(|r| project_record(state, &base, ctx, &obj, r, set)).unwrap_or(Value::Null))
            }
        }
        CoreOp::UpdateOne(obj) => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let data = ctx.arg(f, "data").unwrap_or(Value::Null);
            let row = state.update(&obj.name_singular, &id, &data).map_err(api)?;
            Ok(project_record(state, &base, ctx, &obj, &row, set))
        }
        CoreOp::UpdateMany(obj) => {
            let filter = gql_filter(&obj, &ctx.arg(f, "filter").unwrap_or(json!({}))).map_err(api)?;
            let data = ctx.arg(f, "data").unwrap_or(Value::Null);
            let rows = state.update_many(&obj.name_singular, &filter, &data).map_err(api)?;
            Ok(Value::Array(rows.iter().map(|r| project_record(state, &base, ctx, &obj, r, set)).collect()))
        }
        CoreOp::DeleteOne(obj) => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let row = state.soft_delete(&obj.name_singular, &id).map_err(api)?;
            Ok(project_record(state, &base, ctx, &obj, &row, set))
        }
        CoreOp::DeleteMany(obj) => {
            let filter = gql_filter(&obj, &ctx.arg(f, "filter").unwrap_or(json!({}))).map_err(api)?;
            let ids: Vec<String> = state.select(&obj, Some(&filter), false).iter().filter_map(|r| row_id(r)).collect();
            let mut out = Vec::new();
            for id in ids {
                let row = state.soft_delete(&obj.name_singular, &id).map_err(api)?;
                out.push(project_record(state, &base, ctx, &obj, &row, set));
            }
            Ok(Value::Array(out))
        }
        CoreOp::DestroyOne(obj) => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let row = state
                .tables
                .get(&obj.name_singular)
                .and_then(|t| t.rows.get(&id))
                .cloned()
                .ok_or_else(|| api(ApiError::record_not_found()))?;
            state.destroy(&obj.name_singular, &[id]).map_err(api)?;
            Ok(project_record(state, &base, ctx, &obj, &row, set))
        }
        CoreOp::DestroyMany(obj) => {
            let filter = gql_filter(&obj, &ctx.arg(f, "filter").unwrap_or(json!({}))).map_err(api)?;
            let rows: Vec<Row> = state.select(&obj, Some(&filter), true).into_iter().cloned().collect();
            let ids: Vec<String> = rows.iter().filter_map(row_id).collect();
            state.destroy(&obj.name_singular, &ids).map_err(api)?;
            Ok(Value::Array(rows.iter().map(|r| project_record(state, &base, ctx, &obj, r, set)).collect()))
        }
        CoreOp::RestoreOne(obj) => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let rows = state.restore(&obj.name_singular, &[id]).map_err(api)?;
            rows.first()
                .map(|r| project_record(state, &base, ctx, &obj, r, set))
                .ok_or_else(|| api(ApiError::record_not_found()))
        }
        CoreOp::RestoreMany(obj) => {
            let filter = gql_filter(&obj, &ctx.arg(f, "filter").unwrap_or(json!({}))).map_err(api)?;
            let ids: Vec<String> = state.select(&obj, Some(&filter), true).iter().filter_map(|r| row_id(r)).collect();
            let rows = state.restore(&obj.name_singular, &ids).map_err(api)?;
            Ok(Value::Array(rows.iter().map(|r| project_record(state, &base, ctx, &obj, r, set)).collect()))
        }
    }
}

/// uploadFile / uploadImage / uploadFilesFieldFile / deleteFile (77–79); `None` when not a file mutation.
fn file_mutation(state: &mut State, ctx: &Ctx<'_>, f: &Field) -> Result<Option<Value>, GqlError> {
    let name = f.name.node.as_str();
    let upload = |ctx: &Ctx<'_>| -> Result<Upload, GqlError> {
        let v = ctx.arg(f, "file").unwrap_or(Value::Null);
        v.get("__upload").and_then(Value::as_u64).and_then(|i| ctx.uploads.get(i as usize).cloned()).ok_or_else(|| {
            GqlError::plain("Variable \"$file\" of required type \"Upload!\" was not provided.", "BAD_USER_INPUT")
        })
    };
    match name {
        "uploadFile" | "uploadImage" => {
            let file = upload(ctx)?;
            let folder = ctx
                .arg(f, "fileFolder")
                .and_then(|v| v.as_str().map(folder_path))
                .unwrap_or_else(|| "attachment".into());
            let (_, path) = crate::files::store_upload(state, &folder, &file.filename, &file.content_type, file.bytes);
            let token = crate::files::sign_token(state);
            Ok(Some(project_json(
                ctx,
                &json!({"path": path, "token": token, "__typename": "SignedFile"}),
                &f.selection_set.node,
            )))
        }
        "uploadFilesFieldFile" => {
            let file = upload(ctx)?;
            let size = file.bytes.len();
            let (id, path) =
                crate::files::store_upload(state, "files-field", &file.filename, &file.content_type, file.bytes);
            let created = state.files.get(&path).map(|f| f.created_at.clone()).unwrap_or_else(now_iso);
            let url = crate::files::sign_full_path(state, "", &json!(path)).as_str().unwrap_or_default().to_string();
            Ok(Some(project_json(
                ctx,
                &json!({"id": id, "path": path, "size": size, "createdAt": created, "url": url, "__typename": "File"}),
                &f.selection_set.node,
            )))
        }
        "deleteFile" => {
            let id = ctx.arg(f, "fileId").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let ext = state
                .files
                .iter()
                .find(|(_, sf)| sf.id == id)
                .and_then(|(p, _)| p.rsplit_once('.').map(|(_, e)| format!(".{e}")))
                .unwrap_or_default();
            // The recorded build looks under another storage path and fails (79).
            Err(GqlError(json!({
                "message": format!("Failed to delete file {id}: ENOENT: no such file or directory, lstat '<storage-root>/workspace-{}/files-field/{id}{ext}'", state.workspace_id),
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "userFriendlyMessage": "An error occurred."}
            })))
        }
        _ => Ok(None),
    }
}

/// `Attachment` → `attachment`, `PersonPicture` → `person-picture`.
fn folder_path(enum_value: &str) -> String {
    let mut out = String::new();
    for (i, c) in enum_value.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A GraphQL record filter (`{name: {like: "CTR-%"}, and: [...]}`) as a filter tree.
fn gql_filter(obj: &ObjectMeta, v: &Value) -> Result<Filter, ApiError> {
    let Value::Object(m) = v else { return Ok(Filter::And(vec![])) };
    let mut items = Vec::new();
    for (k, val) in m {
        match k.as_str() {
            "and" | "or" => {
                let subs: Vec<Filter> =
                    val.as_array().into_iter().flatten().map(|x| gql_filter(obj, x)).collect::<Result<_, _>>()?;
                items.push(if k == "and" { Filter::And(subs) } else { Filter::Or(subs) });
            }
            "not" => items.push(Filter::Not(Box::new(gql_filter(obj, val)?))),
            field => {
                let is_composite =
                    obj.field(field).is_some_and(|f| crate::values::composite_subfields(&f.ftype).is_some());
                let comparisons: Vec<(String, &Value)> = match (is_composite, val) {
                    (true, Value::Object(subs)) => subs
                        .iter()
                        .flat_map(|(sub, cmp)| {
                            cmp.as_object().into_iter().flatten().map(move |(_, _)| (format!("{field}.{sub}"), cmp))
                        })
                        .collect(),
                    _ => vec![(field.to_string(), val)],
                };
                for (path, cmp) in comparisons {
                    let (key, sub, ftype) = resolve_path(obj, &path)?;
                    for (op_name, operand) in cmp.as_object().into_iter().flatten() {
                        let op = Op::parse(op_name)
                            .ok_or_else(|| ApiError::bad_request(format!("Unknown filter comparator {op_name}")))?;
                        let value = match (op, operand) {
                            (Op::Is, Value::String(s)) if s == "NULL" => Operand::Null,
                            (Op::Is, _) => Operand::NotNull,
                            (Op::In | Op::ContainsAny, Value::Array(list)) => Operand::List(list.clone()),
                            (_, other) => Operand::Scalar(other.clone()),
                        };
                        items.push(Filter::Cmp { key: key.clone(), sub: sub.clone(), op, value, ftype: ftype.clone() });
                    }
                }
            }
        }
    }
    Ok(if items.len() == 1 { items.remove(0) } else { Filter::And(items) })
}

fn gql_order(obj: &ObjectMeta, v: Value) -> Result<Ordering_, ApiError> {
    let entries: Vec<Value> = match v {
        Value::Array(items) => items,
        Value::Null => vec![],
        other => vec![other],
    };
    let mut pairs = Vec::new();
    for e in entries {
        for (k, d) in e.as_object().into_iter().flatten() {
            match d {
                Value::String(dir) => {
                    let parsed = parse_direction(dir)
                        .ok_or_else(|| ApiError::bad_request(format!("Invalid order direction {dir}")))?;
                    pairs.push((k.clone(), parsed));
                }
                Value::Object(subs) => {
                    for (sub, dir) in subs {
                        let dir = dir.as_str().unwrap_or_default();
                        let parsed = parse_direction(dir)
                            .ok_or_else(|| ApiError::bad_request(format!("Invalid order direction {dir}")))?;
                        pairs.push((format!("{k}.{sub}"), parsed));
                    }
                }
                _ => {}
            }
        }
    }
    Ordering_::from_pairs(obj, &pairs)
}

#[allow(clippy::too_many_arguments)]
fn project_connection(
    state: &State,
    base: &str,
    ctx: &Ctx<'_>,
    obj: &ObjectMeta,
    rows: &[&Row],
    cursors: &[String],
    total: usize,
    start: &Option<String>,
    end: &Option<String>,
    has_next: bool,
    set: &SelectionSet,
) -> Value {
    let mut out = Map::new();
    for f in ctx.fields(set) {
        let key = key_of(&f.node);
        let v = match f.node.name.node.as_str() {
            "__typename" => json!(format!("{}Connection", pascal(&obj.name_singular))),
            "totalCount" => json!(total),
            "pageInfo" => project_json(
                ctx,
                &json!({"hasNextPage": has_next, "hasPreviousPage": false, "startCursor": start, "endCursor": end, "__typename": "PageInfo"}),
                &f.node.selection_set.node,
            ),
            "edges" => Value::Array(
                rows.iter()
                    .zip(cursors)
                    .map(|(r, c)| {
                        let mut edge = Map::new();
                        for ef in ctx.fields(&f.node.selection_set.node) {
                            let ek = key_of(&ef.node);
                            let ev = match ef.node.name.node.as_str() {
                                "cursor" => json!(c),
                                "node" => project_record(state, base, ctx, obj, r, &ef.node.selection_set.node),
                                "__typename" => json!(format!("{}Edge", pascal(&obj.name_singular))),
                                _ => Value::Null,
                            };
                            edge.insert(ek, ev);
                        }
                        Value::Object(edge)
                    })
                    .collect(),
            ),
            _ => Value::Null,
        };
        out.insert(key, v);
    }
    Value::Object(out)
}

fn project_record(state: &State, base: &str, ctx: &Ctx<'_>, obj: &ObjectMeta, row: &Row, set: &SelectionSet) -> Value {
    let body = row_body(state, base, obj, row);
    let mut out = Map::new();
    for f in ctx.fields(set) {
        let key = key_of(&f.node);
        let name = f.node.name.node.as_str();
        let sub = &f.node.selection_set.node;
        let v = if name == "__typename" {
            json!(pascal(&obj.name_singular))
        } else if let Some(field) = obj.field(name) {
            match field.ftype.as_str() {
                "RELATION" if field.is_one_to_many() => {
                    let Some(rel) = &field.relation else { continue };
                    let Some(target) = state.schema.object(&rel.target) else { continue };
                    let column = target
                        .field(&rel.target_field)
                        .and_then(|tf| tf.join_column())
                        .unwrap_or_else(|| format!("target{}Id", pascal(&obj.name_singular)));
                    let id = row.get("id").and_then(Value::as_str);
                    let rows: Vec<&Row> = state
                        .tables
                        .get(&target.name_singular)
                        .map(|t| {
                            t.rows
                                .values()
                                .filter(|r| r.get(&column).and_then(Value::as_str) == id)
                                .filter(|r| r.get("deletedAt").is_none_or(Value::is_null))
                                .take(60)
                                .map(|r| &**r)
                                .collect()
                        })
                        .unwrap_or_default();
                    let order = Ordering_::from_pairs(target, &[]).unwrap_or_else(|_| Ordering_ { keys: vec![] });
                    let cursors: Vec<String> = rows.iter().map(|r| order.cursor(r)).collect();
                    let (start, end) = (cursors.first().cloned(), cursors.last().cloned());
                    project_connection(state, base, ctx, target, &rows, &cursors, rows.len(), &start, &end, false, sub)
                }
                "RELATION" => {
                    let target = field.points_at().and_then(|t| state.schema.object(t));
                    let col = field.join_column().unwrap_or_default();
                    match (target, row.get(&col).and_then(Value::as_str)) {
                        (Some(t), Some(tid)) => state
                            .tables
                            .get(&t.name_singular)
                            .and_then(|tb| tb.rows.get(tid))
                            .map(|r| project_record(state, base, ctx, t, r, sub))
                            .unwrap_or(Value::Null),
                        _ => Value::Null,
                    }
                }
                _ => {
                    let v = body.get(name).cloned().unwrap_or(Value::Null);
                    if sub.items.is_empty() { v } else { project_json(ctx, &v, sub) }
                }
            }
        } else {
            body.get(name).cloned().or_else(|| row.get(name).cloned()).unwrap_or(Value::Null)
        };
        out.insert(key, v);
    }
    Value::Object(out)
}

/// Projects plain JSON onto a selection set (arrays element-wise).
fn project_json(ctx: &Ctx<'_>, v: &Value, set: &SelectionSet) -> Value {
    if set.items.is_empty() {
        return v.clone();
    }
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| project_json(ctx, i, set)).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for f in ctx.fields(set) {
                let name = f.node.name.node.as_str();
                let val = m.get(name).cloned().unwrap_or(Value::Null);
                out.insert(key_of(&f.node), project_json(ctx, &val, &f.node.selection_set.node));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// /metadata
// ---------------------------------------------------------------------------------------------------------

/// `POST /metadata`.
pub fn metadata_endpoint(shared: &Shared, req: &Req) -> Reply {
    let (parsed, doc) = match parse_request(req).and_then(|p| parse_doc(&p).map(|d| (p, d))) {
        Ok(x) => x,
        Err(e) => return errors_only(vec![e]),
    };
    let (ty, set, ctx) = match prepare(&parsed, &doc) {
        Ok(x) => x,
        Err(e) => return errors_only(vec![e]),
    };
    let mut state = shared.state();
    let mut data = Map::new();
    let mut errors = Vec::new();
    let mut null_data = false;
    for f in ctx.fields(set) {
        let key = key_of(&f.node);
        match metadata_field(&mut state, &ctx, ty, &f.node) {
            Ok(v) => {
                data.insert(key, v);
            }
            Err(e) => {
                errors.push(e);
                null_data = true;
            }
        }
    }
    shared.flush(&mut state);
    answer(data, errors, null_data)
}

fn field_node(state: &State, obj: &ObjectMeta, f: &crate::schema::FieldMeta) -> Value {
    let mut v = state.schema.field_graphql_json(obj, f);
    if let Value::Object(m) = &mut v {
        m.insert("__typename".into(), json!("Field"));
    }
    v
}

fn object_node(state: &State, o: &ObjectMeta) -> Value {
    let mut v = state.schema.object_graphql_json(o);
    if let Value::Object(m) = &mut v {
        m.insert("__typename".into(), json!("Object"));
    }
    v
}

fn simple_match(node: &Value, filter: &Value) -> bool {
    let Some(m) = filter.as_object() else { return true };
    m.iter().all(|(k, cond)| {
        let have = node.get(k).unwrap_or(&Value::Null);
        match cond.as_object() {
            Some(c) => c.iter().all(|(op, want)| match op.as_str() {
                "eq" | "is" => have == want,
                "neq" => have != want,
                "in" => want.as_array().is_some_and(|a| a.contains(have)),
                _ => true,
            }),
            None => have == cond,
        }
    })
}

/// A metadata connection (`edges { node }`, `pageInfo`, `totalCount`) over nodes, with `fields` nested as a
/// connection inside object nodes.
fn project_meta_connection(ctx: &Ctx<'_>, nodes: &[Value], set: &SelectionSet, kind: &str) -> Value {
    let mut out = Map::new();
    for f in ctx.fields(set) {
        let key = key_of(&f.node);
        let v = match f.node.name.node.as_str() {
            "totalCount" => json!(nodes.len()),
            "pageInfo" => {
                let cursor = |i: usize| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{i}"))
                };
                let (s, e) = if nodes.is_empty() {
                    (Value::Null, Value::Null)
                } else {
                    (json!(cursor(0)), json!(cursor(nodes.len() - 1)))
                };
                project_json(
                    ctx,
                    &json!({"hasNextPage": false, "hasPreviousPage": false, "startCursor": s, "endCursor": e}),
                    &f.node.selection_set.node,
                )
            }
            "edges" => Value::Array(
                nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let mut edge = Map::new();
                        for ef in ctx.fields(&f.node.selection_set.node) {
                            let v = match ef.node.name.node.as_str() {
                                "node" => project_meta_node(ctx, n, &ef.node.selection_set.node, kind),
                                "cursor" => {
                                    use base64::Engine;
                                    json!(
                                        base64::engine::general_purpose::STANDARD
                                            .encode(format!("arrayconnection:{i}"))
                                    )
                                }
                                _ => Value::Null,
                            };
                            edge.insert(key_of(&ef.node), v);
                        }
                        Value::Object(edge)
                    })
                    .collect(),
            ),
            _ => Value::Null,
        };
        out.insert(key, v);
    }
    Value::Object(out)
}

fn project_meta_node(ctx: &Ctx<'_>, node: &Value, set: &SelectionSet, kind: &str) -> Value {
    let mut out = Map::new();
    for f in ctx.fields(set) {
        let key = key_of(&f.node);
        let name = f.node.name.node.as_str();
        let v = if kind == "object" && name == "fields" {
            let mut fields: Vec<Value> = node.get("fields").and_then(Value::as_array).cloned().unwrap_or_default();
            if let Some(filter) = f.node.get_argument("filter").map(|a| ctx.json(&a.node)) {
                fields.retain(|n| simple_match(n, &filter));
            }
            project_meta_connection(ctx, &fields, &f.node.selection_set.node, "field")
        } else {
            let v = node.get(name).cloned().unwrap_or(Value::Null);
            project_json(ctx, &v, &f.node.selection_set.node)
        };
        out.insert(key, v);
    }
    Value::Object(out)
}

fn validation_error(
    e: MetaError,
    kind: &str,
    verb: &str,
    op_type: &str,
    input: &Value,
    object_id: Option<&str>,
) -> GqlError {
    match e {
        MetaError::NotFound(m) => {
            GqlError(json!({"message": m, "extensions": {"code": "NOT_FOUND", "userFriendlyMessage": m}}))
        }
        MetaError::Invalid(list) => {
            let metadata_name = format!("{kind}Metadata");
            let entries: Vec<Value> = list
                .iter()
                .map(|i: &Invalid| json!({"code": i.code, "message": i.message, "userFriendlyMessage": i.message, "value": i.value}))
                .collect();
            let mut info = Map::new();
            info.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
            info.insert("universalIdentifier".into(), json!(uuid::Uuid::new_v4().to_string()));
            if let Some(n) = input.get("name").or_else(|| input.get("nameSingular")) {
                info.insert("name".into(), n.clone());
            }
            if let Some(o) = object_id {
                info.insert("objectMetadataId".into(), json!(o));
            }
            GqlError(json!({
                "message": format!("Multiple validation errors occurred while {verb} {}s", if kind == "field" { "field" } else { "object" }),
                "extensions": {
                    "code": "METADATA_VALIDATION_FAILED",
                    "errors": {metadata_name.clone(): [{"status": "fail", "errors": entries,
                        "flatEntityMinimalInformation": Value::Object(info), "metadataName": metadata_name, "type": op_type}]},
                    "summary": {"totalErrors": list.len(), metadata_name.clone(): 1},
                    "message": format!("Validation failed for 1 {metadata_name}"),
                    "userFriendlyMessage": "Metadata validation failed",
                }
            }))
        }
    }
}

fn metadata_field(state: &mut State, ctx: &Ctx<'_>, ty: OperationType, f: &Field) -> Result<Value, GqlError> {
    let name = f.name.node.as_str();
    let set = &f.selection_set.node;
    let input = ctx.arg(f, "input").unwrap_or(Value::Null);
    match (ty, name) {
        (_, "__typename") => Ok(json!(if ty == OperationType::Query { "Query" } else { "Mutation" })),
        (OperationType::Query, "objects") => {
            let filter = ctx.arg(f, "filter").unwrap_or(Value::Null);
            let nodes: Vec<Value> = metadata::objects_by_id_desc(state)
                .into_iter()
                .map(|o| object_node(state, o))
                .filter(|n| simple_match(n, &filter))
                .collect();
            Ok(project_meta_connection(ctx, &nodes, set, "object"))
        }
        (OperationType::Query, "object") => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let o = state.schema.object_by_id(&id).ok_or_else(|| GqlError::plain("Object not found", "NOT_FOUND"))?;
            Ok(project_meta_node(ctx, &object_node(state, o), set, "object"))
        }
        (OperationType::Query, "fields") => {
            let filter = ctx.arg(f, "filter").unwrap_or(Value::Null);
            let nodes: Vec<Value> = state
                .schema
                .objects
                .iter()
                .flat_map(|o| o.fields.iter().map(move |fm| (o, fm)))
                .map(|(o, fm)| field_node(state, o, fm))
                .filter(|n| simple_match(n, &filter))
                .collect();
            Ok(project_meta_connection(ctx, &nodes, set, "field"))
        }
        (OperationType::Query, "field") => {
            let id = ctx.arg(f, "id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let (o, fm) =
                state.schema.field_by_id(&id).ok_or_else(|| GqlError::plain("Field not found", "NOT_FOUND"))?;
            Ok(project_json(ctx, &field_node(state, o, fm), set))
        }
        (OperationType::Mutation, "createOneField") => {
            let field = input.get("field").cloned().unwrap_or(Value::Null);
            let object_id = field.get("objectMetadataId").and_then(Value::as_str).map(str::to_string);
            let (_, id) = metadata::create_field(state, &field)
                .map_err(|e| validation_error(e, "field", "creating", "create", &field, object_id.as_deref()))?;
            let (o, fm) =
                state.schema.field_by_id(&id).ok_or_else(|| GqlError::plain("Field not found", "NOT_FOUND"))?;
            Ok(project_json(ctx, &field_node(state, o, fm), set))
        }
        (OperationType::Mutation, "updateOneField") => {
            let id = input.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let update = input.get("update").cloned().unwrap_or(Value::Null);
            let object_id = state.schema.field_by_id(&id).map(|(o, _)| o.id.clone());
            metadata::update_field(state, &id, &update)
                .map_err(|e| validation_error(e, "field", "updating", "update", &update, object_id.as_deref()))?;
            let (o, fm) =
                state.schema.field_by_id(&id).ok_or_else(|| GqlError::plain("Field not found", "NOT_FOUND"))?;
            Ok(project_json(ctx, &field_node(state, o, fm), set))
        }
        (OperationType::Mutation, "deleteOneField") => {
            let id = input.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let before = state.schema.field_by_id(&id).map(|(o, fm)| field_node(state, o, fm));
            metadata::delete_field(state, &id)
                .map_err(|e| validation_error(e, "field", "deleting", "delete", &input, None))?;
            Ok(project_json(ctx, &before.unwrap_or(json!({"id": id})), set))
        }
        (OperationType::Mutation, "createOneObject") => {
            let object = input.get("object").cloned().unwrap_or(Value::Null);
            let id = metadata::create_object(state, &object)
                .map_err(|e| validation_error(e, "object", "creating", "create", &object, None))?;
            let o = state.schema.object_by_id(&id).ok_or_else(|| GqlError::plain("Object not found", "NOT_FOUND"))?;
            Ok(project_meta_node(ctx, &object_node(state, o), set, "object"))
        }
        (OperationType::Mutation, "updateOneObject") => {
            let id = input.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let update = input.get("update").cloned().unwrap_or(Value::Null);
            metadata::update_object(state, &id, &update)
                .map_err(|e| validation_error(e, "object", "updating", "update", &update, None))?;
            let o = state.schema.object_by_id(&id).ok_or_else(|| GqlError::plain("Object not found", "NOT_FOUND"))?;
            Ok(project_meta_node(ctx, &object_node(state, o), set, "object"))
        }
        (OperationType::Mutation, "deleteOneObject") => {
            let id = input.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let before = state.schema.object_by_id(&id).map(|o| object_node(state, o));
            metadata::delete_object(state, &id)
                .map_err(|e| validation_error(e, "object", "deleting", "delete", &input, None))?;
            Ok(project_meta_node(ctx, &before.unwrap_or(json!({"id": id})), set, "object"))
        }
        (OperationType::Mutation, _) => match file_mutation(state, ctx, f)? {
            Some(v) => Ok(v),
            None => Err(not_emulated(name)),
        },
        _ => Err(not_emulated(name)),
    }
}
