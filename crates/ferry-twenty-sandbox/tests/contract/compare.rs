//! Comparing a recorded response with the sandbox's answer, after normalisation.
//!
//! The recorded server and the sandbox assign their own ids, timestamps, cursors and file tokens. The
//! [`Normaliser`] does not blank these out: it *binds* each recorded value to the sandbox's value found at the same
//! place, and from then on requires the same correspondence everywhere (an id, an instant, a cursor), so "the upsert
//! kept the id and createdAt" is still checked. Everything else must be equal: field sets, values, array order and
//! error messages.
//!
//! - **Ids** (UUIDs, whole strings or embedded, e.g. `attachment/<uuid>.txt`, blocknote block ids): recorded →
//!   sandbox, one to one. Ids the client itself sent are pinned to themselves (see `rewrite.rs`).
//! - **Server timestamps** (recorded values within a day of the recording): the sandbox's value must be an ISO
//!   timestamp with milliseconds, one recorded instant always maps to one sandbox instant, instants keep their
//!   recorded order (two may merge into one, none may swap), and an instant of the recording session must fall
//!   within this replay. Client-supplied timestamps (2019, 2024, 2027 …) are compared exactly.
//! - **Cursors** (`startCursor`, `endCursor`, `cursor`): base64 JSON, decoded and compared structurally (so the sort
//!   key names, their order and the non-id values are checked); opaque cursors are compared exactly.
//! - **File tokens and server URLs**: `<signed-file-token>` (redacted in the recording) matches any non-empty URL-safe
//!   token, `<storage-root>` any path, and the recorded server `http://127.0.0.1:3000` must be the sandbox's own
//!   base URL. Server-generated file names are UUIDs and follow the id rule.
//!
//! A few places cannot be compared index by index; they get an explicit [`Rule`] (see `rules_for`).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;
use serde_json::{Map, Value};

use crate::corpus::Exchange;

/// A UUID anywhere in a string.
pub static UUID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").expect("uuid regex")
});
static UUID_FULL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$").expect("uuid regex")
});
/// A whole-string timestamp in the server's format (milliseconds, UTC).
pub static TS_FULL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$").expect("timestamp regex"));
/// A timestamp embedded in a string (filters).
pub static TS_ANY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z").expect("timestamp regex"));
/// The recorded server's address, as it appears in signed file URLs.
pub const RECORDED_SERVER: &str = "http://127.0.0.1:3000";
/// The recorder's redaction of signed file tokens.
pub const FILE_TOKEN: &str = "<signed-file-token>";
/// The recorder's redaction of the server's storage directory.
pub const STORAGE_ROOT: &str = "<storage-root>";
static SPECIAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|<signed-file-token>|<storage-root>|http://127\.0\.0\.1:3000",
    )
    .expect("special regex")
});
static INDEX_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[[^\]]*\]").expect("index regex"));

/// One difference between the recorded response and the sandbox's.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// JSON path of the differing node (`data.createCompany.address.addressCity`), or `<status>`, `<header …>`.
    pub path: String,
    /// What the recording has there (short).
    pub recorded: String,
    /// What the sandbox answered (short).
    pub got: String,
}

impl Mismatch {
    fn new(path: &str, recorded: impl Into<String>, got: impl Into<String>) -> Self {
        Mismatch {
            path: if path.is_empty() { "<body>".into() } else { path.into() },
            recorded: recorded.into(),
            got: got.into(),
        }
    }
}

/// The order expected of an aligned array.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// Descending by the item's id (the real server's order for metadata objects; ids differ between servers).
    IdDesc,
    /// Not compared: an order that follows nothing the API shows (see `rules_for`).
    Any,
}

/// How an array at a given path is compared instead of index by index.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Items are matched by a key (`name`, `node.nameSingular`); order checked as given.
    AlignBy { key: &'static str, id_key: &'static str, order: Order },
    /// A page of records in the default order, id ascending. Which records make up a partial page depends on the
    /// ids each server drew, so: same count, sandbox ids ascending, and every returned record equal to its recorded
    /// counterpart (on the recorded page, or else its last recorded state). `complete`: the page holds the whole
    /// result, so the sets must be equal.
    IdOrderedPage { complete: bool },
    /// A set of records in an order the sandbox cannot know (Postgres heap order): same ids, any order.
    UnorderedById,
}

/// A [`Rule`] and the generalised path (`data.objects[*].fields`) it applies to.
#[derive(Debug, Clone)]
pub struct PathRule {
    /// Path with every index written `[*]`.
    pub pattern: String,
    /// The rule.
    pub rule: Rule,
}

fn rule(pattern: impl Into<String>, rule: Rule) -> PathRule {
    PathRule { pattern: pattern.into(), rule }
}

/// The comparison rules for one exchange. Every relaxation is listed here with its reason.
pub fn rules_for(ex: &Exchange) -> Vec<PathRule> {
    let mut rules = Vec::new();
    match ex.id.as_str() {
        // Metadata objects come back in descending id order (all 29 in 01), and ids are each server's own. The
        // fields of an object come back in an order that follows nothing the API shows: not id, name, creation time
        // or position (01's company fields; 20's new object), and 22 shows the relation field created in 21 inserted
        // at index 4 among the 14 older ones. So fields are matched by name, their order is not compared.
        // Items are matched by name so one misplaced object does not cascade.
        "01" => {
            rules.push(rule("data.objects", Rule::AlignBy { key: "nameSingular", id_key: "id", order: Order::IdDesc }));
            rules.push(rule("data.objects[*].fields", Rule::AlignBy { key: "name", id_key: "id", order: Order::Any }));
        }
        "02" => {
            rules.push(rule(
                "data.objects.edges",
                Rule::AlignBy { key: "node.nameSingular", id_key: "node.id", order: Order::IdDesc },
            ));
            rules.push(rule(
                "data.objects.edges[*].node.fields.edges",
                Rule::AlignBy { key: "node.name", id_key: "node.id", order: Order::Any },
            ));
        }
        "20" => rules
            .push(rule("data.createOneObject.fields", Rule::AlignBy { key: "name", id_key: "id", order: Order::Any })),
        "22" => rules.push(rule("data.object.fields", Rule::AlignBy { key: "name", id_key: "id", order: Order::Any })),
        // DELETE by filter answers the 200 ids in Postgres heap order (a rotation of the insert order in the
        // recording), which depends on the server's storage, not on the API.
        "50" => rules.push(rule("data.deleteCompanies", Rule::UnorderedById)),
        // timelineActivities are written by the real server's event pipeline (company.created, then company.updated
        // with the diff of 32). Their content is compared, matched by event name; their order is not: the two
        // recorded entries are in id order and in time order at once, and ids are random, so which of the two orders
        // the server uses cannot be told from the recording.
        "52" => rules.push(rule(
            "data.company.timelineActivities",
            Rule::AlignBy { key: "name", id_key: "id", order: Order::Any },
        )),
        _ => {}
    }
    // A records list without order_by is ordered by id ascending.
    let body = &ex.response["body"];
    let is_records_get =
        ex.method() == "GET" && ex.path().starts_with("/rest/") && !ex.path().starts_with("/rest/metadata");
    if is_records_get
        && ex.query("order_by").is_none()
        && body.get("pageInfo").is_some()
        && let Some((key, Value::Array(items))) = body["data"].as_object().and_then(|d| d.iter().next())
    {
        let cursor = ex.query("starting_after").is_some() || ex.query("ending_before").is_some();
        let complete = !cursor && body["totalCount"].as_u64() == Some(items.len() as u64);
        rules.push(rule(format!("data.{key}"), Rule::IdOrderedPage { complete }));
    }
    rules
}

/// Holds the recorded → sandbox correspondences of one replay and compares responses.
pub struct Normaliser {
    /// The sandbox's base URL (signed file URLs must use it).
    pub base_url: String,
    /// Label of the exchange being handled (for "first bound at").
    pub exchange: String,
    ids: HashMap<String, (String, String)>,
    ids_rev: HashMap<String, String>,
    times: HashMap<String, (String, String)>,
    /// Recorded instant → (sandbox instant, recorded text), to check that instants keep their order.
    instants: std::collections::BTreeMap<jiff::Timestamp, (jiff::Timestamp, String)>,
    recorded_at: jiff::Timestamp,
    /// Require session instants to be no later than now (off for the harness's own tests on fixed data).
    pub now_bound: bool,
    pub(crate) cursors: HashMap<String, String>,
    /// The last signed file token the sandbox handed out.
    pub file_token: Option<String>,
    store: HashMap<String, (String, Value)>,
    window: (jiff::Timestamp, jiff::Timestamp),
    /// Sandbox run start − recording start, applied to recorded instants the sandbox never returned (filters).
    pub(crate) shift: jiff::SignedDuration,
    page: Option<(Vec<Value>, Vec<Value>)>,
    out: Vec<Mismatch>,
}

impl Normaliser {
    /// `recorded_at`: start of the recording; `run_start`: start of this replay.
    pub fn new(base_url: &str, recorded_at: jiff::Timestamp, run_start: jiff::Timestamp) -> Self {
        let day = jiff::SignedDuration::from_hours(24);
        Normaliser {
            base_url: base_url.trim_end_matches('/').to_string(),
            exchange: String::new(),
            ids: HashMap::new(),
            ids_rev: HashMap::new(),
            times: HashMap::new(),
            instants: std::collections::BTreeMap::new(),
            recorded_at,
            now_bound: true,
            cursors: HashMap::new(),
            file_token: None,
            store: HashMap::new(),
            window: (recorded_at - day, recorded_at + day),
            shift: run_start.duration_since(recorded_at),
            page: None,
            out: Vec::new(),
        }
    }

    /// Recorded id → itself: the client sent it, so the sandbox must keep it.
    pub(crate) fn pin_or_map_id(&mut self, recorded: &str) -> String {
        let rec = recorded.to_ascii_lowercase();
        if let Some((got, _)) = self.ids.get(&rec) {
            return got.clone();
        }
        if !self.ids_rev.contains_key(&rec) {
            self.ids.insert(rec.clone(), (rec.clone(), format!("{} (sent by the client)", self.exchange)));
            self.ids_rev.insert(rec.clone(), rec.clone());
        }
        recorded.to_string()
    }

    /// Binds a recorded id to the sandbox's, for records an unrecorded setup step created; false on a conflict.
    pub fn bind_setup_id(&mut self, recorded: &str, sandbox: &str) -> bool {
        let before = self.out.len();
        self.bind_id(recorded, sandbox, "<setup>");
        let ok = self.out.len() == before;
        self.out.truncate(before);
        ok
    }

    /// The sandbox id a recorded id stands for, if known.
    pub(crate) fn sandbox_id(&self, recorded: &str) -> Option<&str> {
        self.ids.get(&recorded.to_ascii_lowercase()).map(|(s, _)| s.as_str())
    }

    /// The sandbox instant a recorded server instant stands for, if the sandbox returned one.
    pub(crate) fn sandbox_time(&self, recorded: &str) -> Option<&str> {
        self.times.get(recorded).map(|(s, _)| s.as_str())
    }

    /// Is this recorded timestamp one the server generated during the recording session?
    pub(crate) fn in_session(&self, ts: &str) -> bool {
        ts.parse::<jiff::Timestamp>().is_ok_and(|t| t >= self.window.0 && t <= self.window.1)
    }

    /// Compares the sandbox's answer with the recorded response of `ex`; returns every difference.
    pub fn check(&mut self, ex: &Exchange, status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<Mismatch> {
        self.exchange = ex.label.clone();
        self.out.clear();
        self.page = None;
        let recorded_status = ex.status();
        if status != recorded_status {
            let text = String::from_utf8_lossy(body);
            self.out.push(Mismatch::new(
                "<status>",
                recorded_status.to_string(),
                format!("{status} {}", short_str(&text)),
            ));
            self.remember(ex);
            return std::mem::take(&mut self.out);
        }
        self.check_headers(ex, headers);
        let recorded = &ex.response["body"];
        match recorded {
            Value::String(text) => {
                let got = String::from_utf8_lossy(body);
                if *text != got {
                    self.out.push(Mismatch::new("<body text>", short_str(text), short_str(&got)));
                }
            }
            Value::Null => {
                if !body.is_empty() {
                    self.out.push(Mismatch::new("<body>", "(empty)", short_str(&String::from_utf8_lossy(body))));
                }
            }
            _ => match serde_json::from_slice::<Value>(body) {
                Err(e) => self.out.push(Mismatch::new(
                    "<body>",
                    "JSON",
                    format!("not JSON ({e}): {}", short_str(&String::from_utf8_lossy(body))),
                )),
                Ok(got) => self.compare_body(ex, recorded, &got),
            },
        }
        self.remember(ex);
        std::mem::take(&mut self.out)
    }

    /// Compares two JSON bodies under the rules of `ex` (no status or header check).
    pub fn compare_body(&mut self, ex: &Exchange, recorded: &Value, got: &Value) {
        let rules = rules_for(ex);
        for r in &rules {
            if matches!(r.rule, Rule::IdOrderedPage { .. }) {
                let rec_items = lookup(recorded, &r.pattern).and_then(Value::as_array).cloned().unwrap_or_default();
                let got_items = lookup(got, &r.pattern).and_then(Value::as_array).cloned().unwrap_or_default();
                self.page = Some((rec_items, got_items));
            }
        }
        self.cmp(recorded, got, "", None, &rules);
        self.page = None;
    }

    fn check_headers(&mut self, ex: &Exchange, headers: &[(String, String)]) {
        let recorded = ex.response["headers"].as_object().cloned().unwrap_or_default();
        let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        for (name, value) in &recorded {
            let want = value.as_str().unwrap_or_default();
            match get(name) {
                Some(v) if v == want => {}
                Some(v) => self.out.push(Mismatch::new(&format!("<header {name}>"), want, v)),
                None => self.out.push(Mismatch::new(&format!("<header {name}>"), want, "(absent)")),
            }
        }
        // The recorder kept content-type and every rate-limit, retry, deprecation, link or location header.
        for (name, value) in headers {
            let lname = name.to_ascii_lowercase();
            let kept = lname == "content-type"
                || lname == "retry-after"
                || lname.starts_with("x-ratelimit")
                || lname.starts_with("ratelimit")
                || lname == "deprecation"
                || lname == "link"
                || lname == "location";
            if kept && !recorded.contains_key(&lname) {
                self.out.push(Mismatch::new(&format!("<header {lname}>"), "(absent)", value.clone()));
            }
        }
    }

    /// Keeps the last recorded state of every record a REST answer showed (used for partial pages).
    fn remember(&mut self, ex: &Exchange) {
        let path = ex.path();
        if !path.starts_with("/rest/") || path.starts_with("/rest/metadata") || !(200..300).contains(&ex.status()) {
            return;
        }
        let Some(data) = ex.response["body"]["data"].as_object() else { return };
        let is_record = |v: &Value| v.get("createdAt").is_some() && v.get("id").and_then(Value::as_str).is_some();
        for value in data.values() {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items.into_iter().filter(|v| is_record(v)) {
                let id = item["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                self.store.insert(id, (ex.id.clone(), item.clone()));
            }
        }
    }

    fn push(&mut self, path: &str, recorded: impl Into<String>, got: impl Into<String>) {
        self.out.push(Mismatch::new(path, recorded, got));
    }

    fn cmp(&mut self, rec: &Value, got: &Value, path: &str, key: Option<&str>, rules: &[PathRule]) {
        let general = INDEX_RE.replace_all(path, "[*]");
        if let Some(r) = rules.iter().find(|r| r.pattern == general) {
            let r = r.rule.clone();
            return self.apply(&r, rec, got, path, rules);
        }
        match (rec, got) {
            (Value::Object(r), Value::Object(g)) => {
                for (k, rv) in r {
                    let child = child(path, k);
                    match g.get(k) {
                        Some(gv) => self.cmp(rv, gv, &child, Some(k), rules),
                        None => self.push(&child, short(rv), "(field missing)"),
                    }
                }
                for (k, gv) in g {
                    if !r.contains_key(k) {
                        self.push(&child(path, k), "(no such field)", short(gv));
                    }
                }
            }
            (Value::Array(r), Value::Array(g)) => {
                if r.len() != g.len() {
                    self.push(path, format!("{} items", r.len()), format!("{} items", g.len()));
                }
                for (i, (rv, gv)) in r.iter().zip(g).enumerate() {
                    self.cmp(rv, gv, &format!("{path}[{i}]"), None, rules);
                }
            }
            (Value::String(r), Value::String(g)) => self.cmp_str(r, g, path, key, rules),
            _ => {
                if rec != got {
                    self.push(path, short(rec), short(got));
                }
            }
        }
    }

    fn cmp_str(&mut self, r: &str, g: &str, path: &str, key: Option<&str>, rules: &[PathRule]) {
        if matches!(key, Some("startCursor" | "endCursor" | "cursor")) {
            return self.cmp_cursor(r, g, path, key, rules);
        }
        if TS_FULL_RE.is_match(r) && self.in_session(r) {
            return self.cmp_time(r, g, path);
        }
        if UUID_FULL_RE.is_match(r) {
            if UUID_FULL_RE.is_match(g) {
                self.bind_id(r, g, path);
            } else {
                self.push(path, format!("an id ({r})"), short_str(g));
            }
            return;
        }
        if !SPECIAL_RE.is_match(r) {
            if r != g {
                self.push(path, short_str(r), short_str(g));
            }
            return;
        }
        self.cmp_pattern(r, g, path);
    }

    /// A string with embedded ids, file tokens, the storage root or the server URL.
    fn cmp_pattern(&mut self, r: &str, g: &str, path: &str) {
        enum Part {
            Id(String),
            Token,
            Root,
        }
        let mut pattern = String::from("^");
        let mut parts = Vec::new();
        let mut last = 0;
        for m in SPECIAL_RE.find_iter(r) {
            pattern.push_str(&regex::escape(&r[last..m.start()]));
            match m.as_str() {
                FILE_TOKEN => {
                    pattern.push_str(r"([A-Za-z0-9_.~%-]+)");
                    parts.push(Part::Token);
                }
                STORAGE_ROOT => {
                    pattern.push_str("(.+?)");
                    parts.push(Part::Root);
                }
                RECORDED_SERVER => pattern.push_str(&regex::escape(&self.base_url)),
                id => {
                    pattern.push_str("([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})");
                    parts.push(Part::Id(id.to_string()));
                }
            }
            last = m.end();
        }
        pattern.push_str(&regex::escape(&r[last..]));
        pattern.push('$');
        let re = Regex::new(&pattern).expect("escaped pattern is valid");
        let Some(caps) = re.captures(g) else {
            return self.push(path, short_str(r), short_str(g));
        };
        let values: Vec<String> =
            caps.iter().skip(1).map(|c| c.map_or(String::new(), |m| m.as_str().to_string())).collect();
        for (part, value) in parts.iter().zip(values) {
            match part {
                Part::Id(rec) => self.bind_id(rec, &value, path),
                Part::Token => self.file_token = Some(value),
                Part::Root => {}
            }
        }
    }

    fn bind_id(&mut self, rec: &str, got: &str, path: &str) {
        let (rec, got) = (rec.to_ascii_lowercase(), got.to_ascii_lowercase());
        if let Some((prev, at)) = self.ids.get(&rec) {
            if *prev != got {
                let msg = format!("{rec} (= sandbox {prev} since {at})");
                self.push(path, msg, got);
            }
            return;
        }
        if let Some(other) = self.ids_rev.get(&got) {
            if *other != rec {
                let msg = format!("{got}, which already stands for recorded {other}");
                self.push(path, rec, msg);
            }
            return;
        }
        let at = format!("{} {path}", self.exchange.split('-').next().unwrap_or_default());
        self.ids.insert(rec.clone(), (got.clone(), at));
        self.ids_rev.insert(got, rec);
    }

    fn cmp_time(&mut self, r: &str, g: &str, path: &str) {
        let got_time = g.parse::<jiff::Timestamp>();
        let (true, Ok(got_time)) = (TS_FULL_RE.is_match(g), got_time) else {
            return self.push(path, format!("a timestamp like {r}"), short_str(g));
        };
        if let Some((prev, at)) = self.times.get(r) {
            if prev != g {
                let msg = format!("{r} (= sandbox {prev} at {at})");
                self.push(path, msg, g);
            }
            return;
        }
        let Ok(rec_time) = r.parse::<jiff::Timestamp>() else { return };
        // An instant of the recording session must be one of this replay, and instants keep their order: the
        // sandbox may merge two recorded instants into one, but never swap them.
        let run_start = self.recorded_at + self.shift;
        let latest = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
        if rec_time >= self.recorded_at && (got_time < run_start || (self.now_bound && got_time > latest)) {
            return self.push(path, format!("an instant of this replay (recorded {r})"), g);
        }
        // timelineActivities are written by the real server's asynchronous event worker (52: company.created is
        // stamped after the next exchange's company): their instants follow the worker, not the request order.
        if path.contains(".timelineActivities[") {
            let at = format!("{} {path}", self.exchange.split('-').next().unwrap_or_default());
            self.times.insert(r.to_string(), (g.to_string(), at));
            return;
        }
        let before = self.instants.range(..rec_time).next_back().map(|(_, v)| v.clone());
        let after = self.instants.range(rec_time..).next().map(|(_, v)| v.clone());
        if let Some((earlier, rec_earlier)) = before.filter(|(t, _)| *t > got_time) {
            return self.push(path, format!("{r}, after recorded {rec_earlier}"), format!("{g}, before {earlier}"));
        }
        if let Some((later, rec_later)) = after.filter(|(t, _)| *t < got_time) {
            return self.push(path, format!("{r}, before recorded {rec_later}"), format!("{g}, after {later}"));
        }
        let at = format!("{} {path}", self.exchange.split('-').next().unwrap_or_default());
        self.times.insert(r.to_string(), (g.to_string(), at));
        self.instants.insert(rec_time, (got_time, r.to_string()));
    }

    fn cmp_cursor(&mut self, r: &str, g: &str, path: &str, key: Option<&str>, rules: &[PathRule]) {
        let rec_decoded = decode_cursor(r);
        let got_decoded = decode_cursor(g);
        let relational = matches!(key, Some("startCursor" | "endCursor")) && self.page.is_some();
        match (&rec_decoded, &got_decoded) {
            (Some(Value::Object(rd)), Some(gd)) if relational => {
                // On a default-ordered page the cursor names an item by position: the sandbox's cursor must name
                // the sandbox's item at the same position, with the same keys.
                let (rec_items, got_items) = self.page.clone().unwrap_or_default();
                let index = rec_items.iter().position(|it| it.get("id") == rd.get("id"));
                match index.and_then(|k| got_items.get(k).map(|item| (k, item))) {
                    Some((k, item)) => {
                        let expected: Map<String, Value> =
                            rd.keys().map(|key| (key.clone(), item.get(key).cloned().unwrap_or(Value::Null))).collect();
                        let expected = Value::Object(expected);
                        if *gd != expected {
                            self.push(path, format!("cursor of item [{k}] {}", short(&expected)), short(gd));
                        }
                    }
                    None => self.cmp(&Value::Object(rd.clone()), gd, &format!("{path}<decoded>"), None, rules),
                }
            }
            (Some(rd @ Value::Object(_)), Some(gd)) => {
                self.cmp(rd, gd, &format!("{path}<decoded>"), None, rules);
            }
            (Some(Value::Object(rd)), None) => {
                let rd = Value::Object(rd.clone());
                self.push(path, format!("base64 JSON cursor {}", short(&rd)), short_str(g));
            }
            _ => {
                if r != g {
                    self.push(path, short_str(r), short_str(g));
                }
            }
        }
        self.cursors.insert(r.to_string(), g.to_string());
    }

    fn apply(&mut self, rule: &Rule, rec: &Value, got: &Value, path: &str, rules: &[PathRule]) {
        let (Some(r), Some(g)) = (rec.as_array(), got.as_array()) else {
            if rec != got {
                self.push(path, short(rec), short(got));
            }
            return;
        };
        match rule {
            Rule::AlignBy { key, id_key, order } => self.align_by(r, g, path, key, id_key, *order, rules),
            Rule::IdOrderedPage { complete } => self.id_ordered_page(r, g, path, *complete, rules),
            Rule::UnorderedById => {
                if r.len() != g.len() {
                    self.push(path, format!("{} items", r.len()), format!("{} items", g.len()));
                }
                let positions: HashMap<String, usize> =
                    r.iter().enumerate().map(|(i, v)| (id_of(v, "id"), i)).collect();
                for (i, gv) in g.iter().enumerate() {
                    let gid = id_of(gv, "id");
                    let child = format!("{path}[{i}]");
                    match self.ids_rev.get(&gid).and_then(|rid| positions.get(rid)).copied() {
                        Some(j) => self.cmp(&r[j], gv, &child, None, rules),
                        None => self.push(&child, "one of the recorded records", format!("id {gid}")),
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn align_by(
        &mut self,
        r: &[Value],
        g: &[Value],
        path: &str,
        key: &str,
        id_key: &str,
        order: Order,
        rules: &[PathRule],
    ) {
        let key_of =
            |v: &Value| lookup(v, key).map_or_else(|| short(v), |k| k.as_str().map_or_else(|| short(k), String::from));
        let rkeys: Vec<String> = r.iter().map(key_of).collect();
        let gkeys: Vec<String> = g.iter().map(key_of).collect();
        match order {
            Order::IdDesc => {
                let ids: Vec<String> = g.iter().map(|v| id_of(v, id_key)).collect();
                if ids.windows(2).any(|w| w[0] < w[1]) {
                    self.push(path, "items in descending id order", format!("{gkeys:?}"));
                }
            }
            Order::Any => {}
        }
        let mut used = HashSet::new();
        for (j, rv) in r.iter().enumerate() {
            let k = &rkeys[j];
            let child = format!("{path}[{k}]");
            match gkeys.iter().enumerate().position(|(p, gk)| gk == k && !used.contains(&p)) {
                Some(p) => {
                    used.insert(p);
                    self.cmp(rv, &g[p], &child, None, rules);
                }
                None => self.push(&child, "present", "(item missing)"),
            }
        }
        for (p, gk) in gkeys.iter().enumerate() {
            if !used.contains(&p) {
                self.push(&format!("{path}[{gk}]"), "(no such item)", short(&g[p]));
            }
        }
    }

    fn id_ordered_page(&mut self, r: &[Value], g: &[Value], path: &str, complete: bool, rules: &[PathRule]) {
        if r.len() != g.len() {
            self.push(path, format!("{} records", r.len()), format!("{} records", g.len()));
        }
        let got_ids: Vec<String> = g.iter().map(|v| id_of(v, "id")).collect();
        if got_ids.windows(2).any(|w| w[0] >= w[1]) {
            self.push(path, "records in ascending id order", format!("ids {got_ids:?}"));
        }
        let positions: HashMap<String, usize> = r.iter().enumerate().map(|(i, v)| (id_of(v, "id"), i)).collect();
        // Records neither server has shown before (first sighting, e.g. the seeded member in 24) are paired in order.
        let mut unseen: std::collections::VecDeque<usize> =
            (0..r.len()).filter(|&j| !self.ids.contains_key(&id_of(&r[j], "id"))).collect();
        for (i, gv) in g.iter().enumerate() {
            let child = format!("{path}[{i}]");
            let gid = &got_ids[i];
            let Some(rid) = self.ids_rev.get(gid).cloned() else {
                match unseen.pop_front() {
                    Some(j) => self.cmp(&r[j], gv, &child, None, rules),
                    None => self.push(&child, "a record the recording knows", format!("unknown id {gid}")),
                }
                continue;
            };
            if let Some(&j) = positions.get(&rid) {
                self.cmp(&r[j], gv, &child, None, rules);
            } else if complete {
                self.push(
                    &child,
                    "one of the recorded records",
                    format!("record {gid} (recorded {rid}), not listed here"),
                );
            } else if let Some((from, last)) = self.store.get(&rid).cloned() {
                // Not on the recorded page only because the servers' ids sort differently: compare with the
                // record's last recorded state.
                self.cmp(&last, gv, &format!("{child}(as in {from})"), None, rules);
            } else {
                self.push(
                    &child,
                    "a record the recording showed",
                    format!("record {gid} (recorded {rid}) never shown"),
                );
            }
        }
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn lookup<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

fn id_of(v: &Value, id_key: &str) -> String {
    lookup(v, id_key).and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase()
}

/// Decodes a base64 cursor into JSON, if it is one.
pub fn decode_cursor(s: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.starts_with('{') { serde_json::from_str(&text).ok() } else { None }
}

/// Encodes JSON as a cursor the way the real server does (standard base64 with padding).
pub fn encode_cursor(v: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

/// A JSON value, compact and cut to a readable length.
pub fn short(v: &Value) -> String {
    short_str(&v.to_string())
}

/// A string cut to a readable length.
pub fn short_str(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}
