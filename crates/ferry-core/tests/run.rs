//! apply, verify and rollback against an in-memory destination with fault injection.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use ferry_core::ids::destination_id;
use ferry_core::journal::{Journal, SchemaChange, SchemaChangeKind};
use ferry_core::load::{Destination, Outgoing, WriteError};
use ferry_core::plan::{NewField, NewObject, NewOptions, Plan};
use ferry_core::run::{self, ApplyOptions, NoProgress, OwnerPolicy, Progress, RunError, Tally};
use ferry_core::schema::{FieldDef, FieldKind, ObjectDef, Record, SelectOption};
use ferry_core::stage::Stage;
use ferry_core::workspace::{Change, EncodeError, FileData, FileSource, Member, ReadBack, Workspace, WorkspaceError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------------------------
// The fake destination.

/// Everything the destination holds: records by object and id, and the data model.
#[derive(Debug, Clone, PartialEq, Default)]
struct State {
    records: BTreeMap<String, BTreeMap<Uuid, Map<String, Value>>>,
    model: Vec<ObjectDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The process dies at this call (and every later one fails).
    Crash,
    /// The write is committed but its answer lost.
    LoseAnswer,
    /// The call fails before doing anything (5xx, 429, timeout).
    Transient,
}

#[derive(Default)]
struct Fake {
    state: RefCell<State>,
    members: Vec<Member>,
    cap: usize,
    calls: Cell<u32>,
    crash_at: Cell<Option<u32>>,
    crashed: Cell<bool>,
    /// Whether the call that crashes did its work before dying.
    commit_before_crash: Cell<bool>,
    lose_answer: RefCell<HashSet<u32>>,
    transient: RefCell<HashSet<u32>>,
    /// Record creations that reached the destination (to count duplicates attempted).
    refused_duplicates: Cell<u32>,
    /// Batches refused because they repeat the value of a unique field (stored, or twice in the batch).
    refused_unique: Cell<u32>,
    /// A destination field whose values `encode` refuses.
    encode_refuses: Option<String>,
    /// Fields (`object.field`) the destination has but `model` does not list (as a destination lists a relation
    /// under its join column, `ownerId`, while the plan names it `owner`).
    unlisted: RefCell<HashSet<String>>,
}

/// What a unique field's value takes in the destination: a composite's primary, or the value; empty takes nothing.
fn slot(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if m.contains_key("primary") => slot(&m["primary"]),
        other => Some(other.to_string()),
    }
}

fn field(name: &str, kind: FieldKind) -> FieldDef {
    FieldDef::new(name, name, kind)
}

fn object(name: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef { name: name.into(), label: name.into(), custom: false, key: "id".into(), fields }
}

fn option(value: &str, position: u32) -> SelectOption {
    SelectOption { value: value.into(), label: value.to_lowercase(), color: None, position }
}

fn member(id: &str, email: &str) -> Member {
    Member { id: id.into(), email: email.into(), name: id.into() }
}

impl Fake {
    fn new() -> Fake {
        use FieldKind::*;
        let mut stage = field("stage", Select);
        stage.options = vec![option("NEW", 0)];
        // A person's primary e-mail is taken once, as in CRMs that match people by e-mail.
        let mut emails = field("emails", Emails);
        emails.unique = true;
        let model = vec![
            object(
                "company",
                vec![field("name", Text), field("accountOwnerId", Relation), field("createdAt", DateTime)],
            ),
            object("person", vec![field("name", FullName), emails, field("companyId", Relation)]),
            object("note", vec![field("bodyV2", RichText)]),
            object("noteTarget", vec![field("noteId", Relation), field("personId", Relation)]),
            object(
                "opportunity",
                vec![
                    field("amount", Currency),
                    stage,
                    field("companyId", Relation),
                    field("pointOfContactId", Relation),
                    field("ownerId", Relation),
                ],
            ),
            object("attachment", vec![field("name", Text)]),
        ];
        let mut records = BTreeMap::new();
        // A record that was there before the migration, which rollback must leave alone.
        let mut acme = Map::new();
        acme.insert("name".into(), json!("Pre-existing Inc"));
        records.insert("company".to_string(), BTreeMap::from([(uuid::Uuid::from_u128(42), acme)]));
        Fake {
            state: RefCell::new(State { records, model }),
            members: vec![member("m-ann", "ann@x.io"), member("m-bob", "bob@x.io"), member("m-dora", "Dora@X.io")],
            cap: 4,
            ..Fake::default()
        }
    }

    /// What the destination holds (objects without records are left out: an empty table is no record).
    fn snapshot(&self) -> State {
        let mut s = self.state.borrow().clone();
        s.records.retain(|_, t| !t.is_empty());
        s
    }

    fn count(&self, object: &str) -> usize {
        self.state.borrow().records.get(object).map_or(0, BTreeMap::len)
    }

    fn get(&self, object: &str, id: Uuid) -> Option<Map<String, Value>> {
        self.state.borrow().records.get(object).and_then(|t| t.get(&id)).cloned()
    }

    /// Back to life with no faults.
    fn heal(&self) {
        self.crash_at.set(None);
        self.crashed.set(false);
        self.lose_answer.borrow_mut().clear();
        self.transient.borrow_mut().clear();
    }

    fn tick(&self, record_op: bool) -> Fault {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        if self.crashed.get() {
            return Fault::Crash;
        }
        if self.crash_at.get() == Some(n) {
            self.crashed.set(true);
            return Fault::Crash;
        }
        if record_op && self.lose_answer.borrow().contains(&n) {
            return Fault::LoseAnswer;
        }
        if record_op && self.transient.borrow().contains(&n) {
            return Fault::Transient;
        }
        Fault::None
    }

    /// For a data-model or delete call: whether to do the work, and the error to answer with.
    fn meta_fault(&self) -> (bool, Option<WorkspaceError>) {
        match self.tick(false) {
            Fault::Crash => (self.commit_before_crash.get(), Some(WorkspaceError::new("the process was killed"))),
            _ => (true, None),
        }
    }
}

impl Destination for Fake {
    fn batch_cap(&self, _: &str) -> usize {
        self.cap
    }

    async fn create(&self, object: &str, records: &[Outgoing]) -> Result<(), WriteError> {
        let fault = self.tick(true);
        if fault == Fault::Transient {
            return Err(WriteError::Ambiguous("503 Service Unavailable".into()));
        }
        if fault == Fault::Crash && !self.commit_before_crash.get() {
            return Err(WriteError::Fatal("the process was killed".into()));
        }
        let mut state = self.state.borrow_mut();
        let State { records: tables, model } = &mut *state;
        let table = tables.entry(object.to_string()).or_default();
        if records.iter().any(|r| table.contains_key(&r.id)) {
            self.refused_duplicates.set(self.refused_duplicates.get() + 1);
            return Err(WriteError::Refused { message: "A duplicate entry was detected".into(), field: None });
        }
        let unique = model.iter().find(|d| d.name == object).into_iter().flat_map(|d| &d.fields).filter(|f| f.unique);
        for f in unique {
            let mut taken: HashSet<String> = table.values().filter_map(|v| slot(v.get(&f.name)?)).collect();
            if records.iter().filter_map(|r| slot(r.values.get(&f.name)?)).any(|v| !taken.insert(v)) {
                self.refused_unique.set(self.refused_unique.get() + 1);
                return Err(WriteError::Refused {
                    message: format!("duplicate key value violates unique constraint on {}", f.name),
                    field: Some(f.name.clone()),
                });
            }
        }
        for r in records {
            let name = r.values.get("name");
            if [name, name.and_then(|n| n.get("first"))].iter().any(|n| n.and_then(Value::as_str) == Some("REFUSE ME"))
            {
                return Err(WriteError::Refused { message: "name is not allowed".into(), field: Some("name".into()) });
            }
        }
        for r in records {
            table.insert(r.id, r.values.clone());
        }
        match fault {
            Fault::Crash => Err(WriteError::Fatal("the process was killed".into())),
            Fault::LoseAnswer => Err(WriteError::Ambiguous("connection closed before the answer".into())),
            _ => Ok(()),
        }
    }

    async fn existing(&self, object: &str, ids: &[Uuid]) -> Result<std::collections::HashSet<Uuid>, WriteError> {
        match self.tick(true) {
            Fault::Crash => return Err(WriteError::Fatal("the process was killed".into())),
            Fault::Transient => return Err(WriteError::Ambiguous("429 Too Many Requests".into())),
            _ => {}
        }
        let state = self.state.borrow();
        let table = state.records.get(object);
        Ok(ids.iter().copied().filter(|id| table.is_some_and(|t| t.contains_key(id))).collect())
    }
}

impl Workspace for Fake {
    async fn model(&self) -> Result<Vec<ObjectDef>, WorkspaceError> {
        if let (_, Some(e)) = self.meta_fault() {
            return Err(e);
        }
        let mut model = self.state.borrow().model.clone();
        let unlisted = self.unlisted.borrow();
        for o in &mut model {
            o.fields.retain(|f| !unlisted.contains(&format!("{}.{}", o.name, f.name)));
        }
        Ok(model)
    }

    async fn members(&self) -> Result<Vec<Member>, WorkspaceError> {
        if let (_, Some(e)) = self.meta_fault() {
            return Err(e);
        }
        Ok(self.members.clone())
    }

    async fn create_object(&self, o: &NewObject) -> Result<Option<Change>, WorkspaceError> {
        let (work, err) = self.meta_fault();
        let mut change = None;
        if work {
            let mut state = self.state.borrow_mut();
            if !state.model.iter().any(|d| d.name == o.name) {
                state.model.push(object(&o.name, vec![]));
                change = Some(Change {
                    kind: SchemaChangeKind::ObjectCreated,
                    object: o.name.clone(),
                    field: None,
                    dest_id: format!("obj-{}", o.name),
                    before: None,
                });
            }
        }
        err.map_or(Ok(change), Err)
    }

    async fn create_field(&self, f: &NewField) -> Result<Option<Change>, WorkspaceError> {
        let (work, err) = self.meta_fault();
        let mut change = None;
        if work {
            let mut state = self.state.borrow_mut();
            let Some(o) = state.model.iter_mut().find(|d| d.name == f.object) else {
                return Err(WorkspaceError::new(format!("no object {}", f.object)));
            };
            if let Some(existing) = o.field(&f.name) {
                if existing.kind != f.kind {
                    return Err(WorkspaceError::new(format!("{} is {} not {}", f.name, existing.kind, f.kind)));
                }
            } else {
                let mut new = field(&f.name, f.kind);
                new.options = f.options.clone();
                o.fields.push(new);
                change = Some(Change {
                    kind: SchemaChangeKind::FieldCreated,
                    object: f.object.clone(),
                    field: Some(f.name.clone()),
                    dest_id: format!("fld-{}.{}", f.object, f.name),
                    before: None,
                });
            }
        }
        err.map_or(Ok(change), Err)
    }

    async fn add_options(&self, add: &NewOptions) -> Result<Option<Change>, WorkspaceError> {
        let (work, err) = self.meta_fault();
        let mut change = None;
        if work {
            let mut state = self.state.borrow_mut();
            let f = state
                .model
                .iter_mut()
                .find(|d| d.name == add.object)
                .and_then(|o| o.fields.iter_mut().find(|f| f.name == add.field))
                .ok_or_else(|| WorkspaceError::new(format!("no field {}.{}", add.object, add.field)))?;
            let before = json!({ "options": f.options });
            let mut added = false;
            for o in &add.options {
                if !f.options.iter().any(|x| x.value == o.value) {
                    f.options.push(o.clone());
                    added = true;
                }
            }
            if added {
                change = Some(Change {
                    kind: SchemaChangeKind::FieldUpdated,
                    object: add.object.clone(),
                    field: Some(add.field.clone()),
                    dest_id: format!("fld-{}.{}", add.object, add.field),
                    before: Some(before),
                });
            }
        }
        err.map_or(Ok(change), Err)
    }

    /// Finds what to undo by object and field name, so changes journalled with an empty id (recovered after a
    /// crash) are undone too.
    async fn undo(&self, c: &SchemaChange) -> Result<(), WorkspaceError> {
        let (work, err) = self.meta_fault();
        if work {
            let mut state = self.state.borrow_mut();
            match c.kind {
                SchemaChangeKind::ObjectCreated => state.model.retain(|d| d.name != c.object),
                SchemaChangeKind::FieldCreated => {
                    if let Some(o) = state.model.iter_mut().find(|d| d.name == c.object) {
                        o.fields.retain(|f| Some(&f.name) != c.field.as_ref());
                    }
                }
                SchemaChangeKind::FieldUpdated => {
                    let before: Vec<SelectOption> =
                        serde_json::from_value(c.before.as_ref().unwrap()["options"].clone()).unwrap();
                    if let Some(f) = state
                        .model
                        .iter_mut()
                        .find(|d| d.name == c.object)
                        .and_then(|o| o.fields.iter_mut().find(|f| Some(&f.name) == c.field.as_ref()))
                    {
                        f.options = before;
                    }
                }
            }
        }
        err.map_or(Ok(()), Err)
    }

    fn encode(&self, _object: &str, neutral: &Map<String, Value>) -> Result<Map<String, Value>, Vec<EncodeError>> {
        if let Some(f) = &self.encode_refuses
            && neutral.contains_key(f)
        {
            return Err(vec![EncodeError { field: f.clone(), message: "too long for this destination".into() }]);
        }
        Ok(neutral.clone())
    }

    async fn read(&self, object: &str, ids: &[Uuid]) -> Result<Vec<ReadBack>, WorkspaceError> {
        if let (_, Some(e)) = self.meta_fault() {
            return Err(e);
        }
        let state = self.state.borrow();
        let table = state.records.get(object);
        Ok(ids.iter().filter_map(|id| table.and_then(|t| t.get(id)).map(|v| (*id, v.clone()))).collect())
    }

    async fn delete(&self, object: &str, ids: &[Uuid]) -> Result<(), WorkspaceError> {
        let (work, err) = self.meta_fault();
        if work && let Some(t) = self.state.borrow_mut().records.get_mut(object) {
            for id in ids {
                t.remove(id);
            }
        }
        err.map_or(Ok(()), Err)
    }

    fn attachment_object(&self) -> Option<&str> {
        Some("attachment")
    }

    async fn attach(&self, parent_object: &str, parent: Uuid, id: Uuid, file: &FileData) -> Result<(), WriteError> {
        let fault = self.tick(true);
        if fault == Fault::Transient {
            return Err(WriteError::Ambiguous("504 Gateway Timeout".into()));
        }
        if fault == Fault::Crash && !self.commit_before_crash.get() {
            return Err(WriteError::Fatal("the process was killed".into()));
        }
        let mut v = Map::new();
        v.insert("name".into(), json!(file.name));
        v.insert("parent".into(), json!(format!("{parent_object}:{parent}")));
        v.insert("size".into(), json!(file.bytes.len()));
        self.state.borrow_mut().records.entry("attachment".into()).or_default().entry(id).or_insert(v);
        match fault {
            Fault::Crash => Err(WriteError::Fatal("the process was killed".into())),
            Fault::LoseAnswer => Err(WriteError::Ambiguous("connection reset".into())),
            _ => Ok(()),
        }
    }
}

/// Files by reference: `file://name` exists, anything else cannot be read.
struct Files;

impl FileSource for Files {
    async fn fetch(&self, reference: &Value) -> Result<FileData, String> {
        let r = reference.as_str().ok_or("not a file reference")?;
        match r.strip_prefix("file://") {
            Some(name) => Ok(FileData { name: name.into(), mime: None, bytes: name.as_bytes().to_vec() }),
            None => Err(format!("{r}: 404 Not Found")),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The source and the plan.

const PLAN: &str = r#"
version = 1
journal = "m.journal"

[source]
kind = "test"
location = "memory"

[destination]
kind = "fake"
location = "memory"

[users]
object = "sales"
email = "email"

[[members]]
source = "ann@x.io"
destination = "ann@x.io"
reason = "same e-mail"

[[members]]
source = "carl@x.io"
reason = "no member has this e-mail"

[create]
[[create.object]]
name = "sectorRegistry"
label = "Sector registry"
plural = "sectorRegistries"
plural_label = "Sector registries"
reason = "custom table"

[[create.field]]
object = "company"
name = "sector"
label = "Sector"
kind = "select"
options = [{ value = "TECH", label = "Tech", position = 0 }, { value = "ENERGY", label = "Energy", position = 1 }]
reason = "companies.sector has no destination field"

[[create.field]]
object = "note"
name = "status"
label = "Status"
kind = "select"
options = [{ value = "HOT", label = "Hot", position = 0 }]
reason = "contact_notes.status"

[[create.options]]
object = "opportunity"
field = "stage"
options = [{ value = "LEAD", label = "Lead", position = 1 }, { value = "WON", label = "Won", position = 2 }]
reason = "deal stages"

[[object]]
source = "companies"
destination = "company"
reason = "same role"

[[object.field]]
destination = "name"
source = ["name"]
transform = { kind = "text" }
reason = "same name"

[[object.field]]
destination = "sector"
source = ["sector"]
transform = { kind = "select", values = { tech = "TECH", energy = "ENERGY" } }
reason = "new select"

[[object.field]]
destination = "createdAt"
source = ["created_at"]
transform = { kind = "date_time" }
reason = "createdAt is preserved"

[[object.relation]]
destination = "accountOwnerId"
source = "sales_id"
target = "sales"
reason = "owner"

[[object]]
source = "contacts"
destination = "person"
reason = "contact ≈ person"

[[object.field]]
destination = "name"
source = ["first_name", "last_name"]
transform = { kind = "full_name" }
reason = "two columns"

[[object.field]]
destination = "emails"
source = ["email_jsonb"]
transform = { kind = "emails" }
reason = "emails"

[[object.relation]]
destination = "companyId"
source = "company_id"
target = "companies"
reason = "same role"

[[object.attachment]]
source = "files"
reason = "attachments"

[[object]]
source = "notes"
destination = "note"
reason = "notes"

[[object.field]]
destination = "bodyV2"
source = ["text"]
transform = { kind = "rich_text" }
reason = "Markdown"

[[object.field]]
destination = "status"
source = ["status"]
transform = { kind = "select", values = { hot = "HOT" } }
reason = "status"

[[object.link]]
destination = "noteTarget"
parent = "noteId"
field = "personId"
source = "contact_ids"
target = "contacts"
reason = "one target per contact"

[[object]]
source = "deals"
destination = "opportunity"
reason = "deal ≈ opportunity"

[[object.field]]
destination = "amount"
source = ["amount"]
transform = { kind = "currency", currency = "EUR" }
reason = "micros"

[[object.field]]
destination = "stage"
source = ["stage"]
transform = { kind = "select", values = { lead = "LEAD", won = "WON" } }
reason = "stages"

[[object.relation]]
destination = "companyId"
source = "company_id"
target = "companies"
reason = "same"

[[object.relation]]
destination = "pointOfContactId"
source = "contact_ids"
target = "contacts"
reason = "first contact"

[[object.relation]]
destination = "ownerId"
source = "sales_id"
target = "sales"
reason = "owner"
"#;

fn plan() -> Plan {
    Plan::parse(PLAN, Path::new("test.toml")).unwrap()
}

fn rec(object: &str, key: impl ToString, values: Value) -> Record {
    Record { object: object.into(), key: key.to_string(), values: values.as_object().unwrap().clone() }
}

/// 3 users, 5 companies, 12 contacts, 10 notes, 6 deals. Contact 12 points at a company that does not exist,
/// contact 5 has a file that cannot be read, note 10 has a status the plan does not map, contact 3 has an e-mail
/// with a type label (lost).
fn source() -> Vec<Record> {
    let mut out = vec![
        rec("sales", 1, json!({"email": "ann@x.io"})),
        rec("sales", 2, json!({"email": "BOB@x.io"})),
        rec("sales", 3, json!({"email": "carl@x.io"})),
    ];
    for i in 1..=5 {
        out.push(rec(
            "companies",
            i,
            json!({"name": format!("Company {i}"), "sector": if i % 2 == 0 { "tech" } else { "energy" },
                   "sales_id": 1 + i % 2, "created_at": format!("2023-0{i}-01T10:00:00Z")}),
        ));
    }
    for i in 1..=12 {
        let files = match i {
            1 => json!(["file://a.pdf", "file://b.png"]),
            2 => json!("file://c.txt"),
            5 => json!(["missing://gone.pdf"]),
            _ => Value::Null,
        };
        let email = if i == 3 {
            json!([{"email": "c3@x.io", "type": "Work"}, {"email": "home3@x.io", "type": "Home"}])
        } else {
            json!([{"email": format!("c{i}@x.io")}])
        };
        out.push(rec(
            "contacts",
            i,
            json!({"first_name": format!("First{i}"), "last_name": format!("Last{i}"), "email_jsonb": email,
                   "company_id": if i == 12 { 99 } else { 1 + i % 5 }, "files": files}),
        ));
    }
    for i in 1..=10 {
        out.push(rec(
            "notes",
            i,
            json!({"text": format!("# Note {i}\n\nbody"), "status": if i == 10 { "weird" } else { "hot" },
                   "contact_ids": [1 + i % 12, 1 + (i + 5) % 12]}),
        ));
    }
    for i in 1..=6 {
        out.push(rec(
            "deals",
            i,
            json!({"amount": 1000 * i, "stage": if i % 2 == 0 { "won" } else { "lead" }, "company_id": 1 + i % 5,
                   "contact_ids": [1 + i % 12, 2 + i % 11], "sales_id": 1 + i % 2}),
        ));
    }
    out
}

struct Setup {
    dir: tempfile::TempDir,
    stage: Stage,
    journal: Journal,
}

fn setup(records: Vec<Record>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut stage = Stage::open(&dir.path().join("stage")).unwrap();
    for r in records {
        stage.push(r).unwrap();
    }
    stage.flush().unwrap();
    let journal = Journal::open(&dir.path().join("m.journal")).unwrap();
    Setup { dir, stage, journal }
}

impl Setup {
    /// Opens the journal again, as a new process would.
    fn reopen(&mut self) {
        self.journal = Journal::open(&self.dir.path().join("m.journal")).unwrap();
    }

    async fn apply(&mut self, fake: &Fake, options: ApplyOptions<'_>) -> Result<run::ApplySummary, RunError> {
        run::apply(&plan(), &mut self.stage, &mut self.journal, fake, &Files, options).await
    }

    async fn verify(&mut self, fake: &Fake) -> ferry_core::report::Report {
        run::verify(&plan(), &mut self.stage, &self.journal, fake).await.unwrap()
    }

    async fn rollback(&mut self, fake: &Fake) -> Result<run::RollbackSummary, RunError> {
        run::rollback(&plan(), &mut self.journal, fake, &mut NoProgress).await
    }

    fn id(&self, object: &str, key: &str) -> Uuid {
        destination_id(self.journal.migration_id(), object, key)
    }
}

/// Records per destination object after a clean full run of [`source`]: 5 companies (+1 pre-existing), 11 people
/// (contact 12's company is missing but the relation is optional: 12), 10 notes, 20 note targets, 6 opportunities,
/// 3 attachments.
fn expected_counts() -> Vec<(&'static str, usize)> {
    vec![("company", 6), ("person", 12), ("note", 10), ("noteTarget", 20), ("opportunity", 6), ("attachment", 3)]
}

fn counts(fake: &Fake) -> Vec<(&'static str, usize)> {
    expected_counts().iter().map(|(o, _)| (*o, fake.count(o))).collect()
}

fn opts<'a>() -> ApplyOptions<'a> {
    ApplyOptions::default()
}

// ---------------------------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn a_full_apply_reconciles_and_keeps_relations_links_and_attachments() {
    let fake = Fake::new();
    let mut s = setup(source());
    let summary = s.apply(&fake, opts()).await.unwrap();
    assert_eq!(counts(&fake), expected_counts());
    assert_eq!(summary.schema_changes, 4, "object, two fields, options");
    assert_eq!(fake.refused_duplicates.get(), 0);

    // person → company; contact 12's company is missing: relation left out, reported.
    let person = fake.get("person", s.id("contacts", "1")).unwrap();
    assert_eq!(person["companyId"], json!(s.id("companies", "2").to_string()));
    assert_eq!(person["name"], json!({"first": "First1", "last": "Last1"}));
    assert!(fake.get("person", s.id("contacts", "12")).unwrap().get("companyId").is_none());
    // opportunity → company, point of contact (first of the array), owner (a member).
    let deal = fake.get("opportunity", s.id("deals", "2")).unwrap();
    assert_eq!(deal["companyId"], json!(s.id("companies", "3").to_string()));
    assert_eq!(deal["pointOfContactId"], json!(s.id("contacts", "3").to_string()));
    assert_eq!(deal["ownerId"], json!("m-ann"));
    assert_eq!(deal["stage"], json!("WON"));
    let company = fake.get("company", s.id("companies", "1")).unwrap();
    assert_eq!(company["accountOwnerId"], json!("m-bob"), "BOB@x.io matches bob@x.io without case");
    assert_eq!(company["createdAt"], json!("2023-01-01T10:00:00.000Z"));
    // note targets: one per contact, parent and target set.
    let target = fake.get("noteTarget", s.id("notes.contact_ids", "1>2")).unwrap();
    assert_eq!(target["noteId"], json!(s.id("notes", "1").to_string()));
    assert_eq!(target["personId"], json!(s.id("contacts", "2").to_string()));
    // attachments point at their parent.
    let a = fake.get("attachment", s.id("contacts.files", "1/1")).unwrap();
    assert_eq!(a["name"], json!("b.png"));
    assert_eq!(a["parent"], json!(format!("person:{}", s.id("contacts", "1"))));

    let problems = s.journal.problems().unwrap();
    let has = |object: &str, record: &str, needle: &str| {
        problems
            .iter()
            .any(|p| p.object == object && p.record.as_deref() == Some(record) && p.to_string().contains(needle))
    };
    assert!(has("contacts", "12", "99"), "dangling company reported: {problems:#?}");
    assert!(has("contacts.files", "5/0", "404"), "unreadable file reported: {problems:#?}");
    assert!(has("notes", "10", "weird"), "unmapped status reported: {problems:#?}");
    assert!(problems.iter().any(|p| p.record.as_deref() == Some("3") && p.object == "contacts"), "lost e-mail type");
    assert!(
        fake.get("note", s.id("notes", "10")).is_some(),
        "a field that cannot be carried over does not stop the record"
    );

    let report = s.verify(&fake).await;
    assert!(report.ok(), "{:#?}", report.mismatches);
    let json = report.to_json();
    assert_eq!(json["ok"], true);
    let files = report.objects.iter().find(|o| o.object == "contacts.files").unwrap();
    assert_eq!((files.source, files.written, files.skipped, files.verified), (4, 3, 1, 3));
    let people = report.objects.iter().find(|o| o.object == "contacts").unwrap();
    assert_eq!((people.source, people.written, people.verified, people.mismatched), (12, 12, 12, 0));
    for o in &json["objects"].as_array().unwrap()[..] {
        for k in ["object", "source", "written", "rejected", "skipped", "verified", "mismatched"] {
            assert!(o.get(k).is_some(), "{k} missing in {o}");
        }
    }
    assert!(!report.throughput.is_empty(), "throughput points journalled");
}

#[tokio::test]
async fn a_second_apply_writes_nothing() {
    second_apply_of(source()).await;
}

/// Applies `records`, then applies them again as a new process would, and checks that the second run wrote, changed and
/// called nothing and reported no problem twice. Returns the second run's summary.
async fn second_apply_of(records: Vec<Record>) -> run::ApplySummary {
    let fake = Fake::new();
    let mut s = setup(records);
    s.apply(&fake, opts()).await.unwrap();
    let after_first = fake.snapshot();
    let problems = s.journal.problems().unwrap().len();
    s.reopen();
    let again = s.apply(&fake, opts()).await.unwrap();
    assert_eq!(again.written(), 0);
    assert_eq!(again.schema_changes, 0);
    assert!(again.objects.iter().all(|o| o.calls == 0), "{again:#?}");
    assert_eq!(fake.snapshot(), after_first);
    assert_eq!(s.journal.problems().unwrap().len(), problems, "no problem reported twice");
    again
}

/// Runs a clean migration and returns how many destination calls it makes.
async fn clean_calls() -> u32 {
    let fake = Fake::new();
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    fake.calls.get()
}

async fn crash_then_resume(commit_before_crash: bool) {
    let total = clean_calls().await;
    assert!(total > 20, "the run makes enough calls to crash in many places ({total})");
    for at in 1..=total {
        let fake = Fake::new();
        let before = fake.snapshot();
        let mut s = setup(source());
        fake.commit_before_crash.set(commit_before_crash);
        fake.crash_at.set(Some(at));
        let first = s.apply(&fake, opts()).await;
        assert!(first.is_err(), "call {at} of {total} crashes the run");
        fake.heal();
        s.reopen();
        s.apply(&fake, opts()).await.unwrap_or_else(|e| panic!("crash at call {at}: resume failed: {e}"));
        assert_eq!(counts(&fake), expected_counts(), "crash at call {at} (commit: {commit_before_crash})");
        assert_eq!(fake.refused_duplicates.get(), 0, "crash at call {at}: a duplicate was attempted");
        let report = s.verify(&fake).await;
        assert!(report.ok(), "crash at call {at}: {:#?} {:#?}", report.objects, report.mismatches);
        // Rollback undoes exactly what the migration did, including changes the crashed run never journalled.
        s.rollback(&fake).await.unwrap();
        assert_eq!(fake.snapshot(), before, "crash at call {at}: rollback left something behind");
    }
}

#[tokio::test]
async fn duplicate_or_loss_after_a_crash_at_any_call_before_the_destination_commits() {
    crash_then_resume(false).await;
}

#[tokio::test]
async fn duplicate_or_loss_after_a_crash_at_any_call_after_the_destination_committed() {
    crash_then_resume(true).await;
}

#[tokio::test]
async fn duplicate_after_lost_answers_and_transient_errors_everywhere() {
    let total = clean_calls().await;
    let fake = Fake::new();
    let mut s = setup(source());
    // Every third call fails before doing anything, every seventh is committed with its answer lost.
    for n in 1..=total * 3 {
        if n % 3 == 0 {
            fake.transient.borrow_mut().insert(n);
        } else if n % 7 == 0 {
            fake.lose_answer.borrow_mut().insert(n);
        }
    }
    s.apply(&fake, opts()).await.unwrap();
    assert_eq!(counts(&fake), expected_counts());
    assert_eq!(fake.refused_duplicates.get(), 0);
    assert!(s.verify(&fake).await.ok());
}

#[tokio::test]
async fn a_sample_then_a_full_apply_writes_everything_once() {
    let fake = Fake::new();
    let mut s = setup(source());
    let sample = s.apply(&fake, ApplyOptions { sample: Some(1), ..opts() }).await.unwrap();
    assert!(sample.sample);
    // Deal 1 points at company 2 and contact 2 (the first of 2, 3); note 1 at contacts 2, 7; contact 1 at company 2.
    for (object, key) in [("deals", "1"), ("companies", "2"), ("contacts", "2"), ("contacts", "7")] {
        let dest = match object {
            "deals" => "opportunity",
            "companies" => "company",
            _ => "person",
        };
        assert!(fake.get(dest, s.id(object, key)).is_some(), "{object} #{key} loaded with the sample");
    }
    let deal = fake.get("opportunity", s.id("deals", "1")).unwrap();
    assert_eq!(deal["companyId"], json!(s.id("companies", "2").to_string()), "relations hold in a sample");
    assert_eq!(deal["pointOfContactId"], json!(s.id("contacts", "2").to_string()));
    assert_eq!(fake.count("opportunity"), 1);
    assert_eq!(fake.count("noteTarget"), 2, "the sampled note's targets");
    assert!(!s.verify(&fake).await.ok(), "a sample leaves records unaccounted for");

    s.reopen();
    let full = s.apply(&fake, opts()).await.unwrap();
    assert!(full.objects.iter().any(|o| o.already > 0));
    assert_eq!(counts(&fake), expected_counts());
    assert_eq!(fake.refused_duplicates.get(), 0);
    let report = s.verify(&fake).await;
    assert!(report.ok(), "{:#?}", report.mismatches);
}

#[tokio::test]
async fn unmatched_owners_are_refused_before_anything_is_written() {
    let fake = Fake::new();
    let before = fake.snapshot();
    let mut records = source();
    records.push(rec("deals", 7, json!({"amount": 1, "stage": "lead", "company_id": 1, "sales_id": 3})));
    let mut s = setup(records);
    let err = s.apply(&fake, opts()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RunError::UnmatchedMembers { .. }), "{text}");
    assert!(
        text.contains("carl@x.io") && text.contains("--fallback-owner EMAIL") && text.contains("--allow-unassigned")
    );
    assert_eq!(fake.snapshot(), before, "nothing written");

    let err = s.apply(&fake, ApplyOptions { owners: OwnerPolicy::Fallback("nobody@x.io".into()), ..opts() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, RunError::FallbackMissing { .. }), "{err}");
    assert!(err.to_string().contains("nobody@x.io"));
    assert_eq!(fake.snapshot(), before);
}

#[tokio::test]
async fn a_fallback_owner_takes_unmatched_users_records() {
    let fake = Fake::new();
    let mut records = source();
    records.push(rec("deals", 7, json!({"amount": 1, "stage": "lead", "company_id": 1, "sales_id": 3})));
    let mut s = setup(records);
    let owners = OwnerPolicy::Fallback("dora@x.io".into());
    s.apply(&fake, ApplyOptions { owners, ..opts() }).await.unwrap();
    assert_eq!(fake.get("opportunity", s.id("deals", "7")).unwrap()["ownerId"], json!("m-dora"));
    assert_eq!(
        fake.get("opportunity", s.id("deals", "1")).unwrap()["ownerId"],
        json!("m-bob"),
        "matched users keep theirs"
    );
    assert!(s.verify(&fake).await.ok());
}

#[tokio::test]
async fn unassigned_owners_are_left_out_and_each_one_reported() {
    let fake = Fake::new();
    let mut records = source();
    records.push(rec("deals", 7, json!({"amount": 1, "stage": "lead", "company_id": 1, "sales_id": 3})));
    records.push(rec("deals", 8, json!({"amount": 2, "stage": "won", "company_id": 1, "sales_id": 3})));
    let mut s = setup(records);
    s.apply(&fake, ApplyOptions { owners: OwnerPolicy::Unassigned, ..opts() }).await.unwrap();
    let deal = fake.get("opportunity", s.id("deals", "7")).unwrap();
    assert!(deal.get("ownerId").is_none());
    let problems = s.journal.problems().unwrap();
    let about_carl: Vec<_> = problems.iter().filter(|p| p.message.contains("carl@x.io")).collect();
    assert_eq!(about_carl.len(), 2, "{problems:#?}");
    assert!(s.verify(&fake).await.ok());
}

#[tokio::test]
async fn verify_finds_a_tampered_field_and_a_missing_record() {
    let fake = Fake::new();
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    assert!(s.verify(&fake).await.ok());
    let tampered = s.id("companies", "3");
    fake.state.borrow_mut().records.get_mut("company").unwrap().get_mut(&tampered).unwrap()["name"] =
        json!("Evil Corp");
    let gone = s.id("deals", "4");
    fake.state.borrow_mut().records.get_mut("opportunity").unwrap().remove(&gone);
    let moved = s.id("contacts", "4");
    fake.state.borrow_mut().records.get_mut("person").unwrap().get_mut(&moved).unwrap()["companyId"] =
        json!(s.id("companies", "1").to_string());
    let report = s.verify(&fake).await;
    assert!(!report.ok());
    let json = report.to_json();
    assert_eq!(json["ok"], false);
    let m = &report.mismatches;
    assert!(
        m.iter()
            .any(|m| m.object == "companies" && m.record == "3" && m.field == "name" && m.found == json!("Evil Corp"))
    );
    assert!(m.iter().any(|m| m.object == "deals" && m.record == "4" && m.field == run::MISSING));
    assert!(m.iter().any(|m| m.object == "contacts" && m.record == "4" && m.field == "companyId"), "{m:#?}");
    let companies = report.objects.iter().find(|o| o.object == "companies").unwrap();
    assert_eq!((companies.verified, companies.mismatched), (4, 1));
}

#[tokio::test]
async fn a_value_the_destination_cannot_encode_is_left_out_and_reported() {
    let fake = Fake { encode_refuses: Some("bodyV2".into()), ..Fake::new() };
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    let note = fake.get("note", s.id("notes", "1")).unwrap();
    assert!(note.get("bodyV2").is_none());
    assert_eq!(note["status"], json!("HOT"));
    let problems = s.journal.problems().unwrap();
    assert_eq!(problems.iter().filter(|p| p.field.as_deref() == Some("bodyV2")).count(), 10);
    assert!(s.verify(&fake).await.ok(), "what was left out is expected empty");
}

#[tokio::test]
async fn a_refused_record_is_accounted_for() {
    let fake = Fake::new();
    let mut records = source();
    records.push(rec("companies", 6, json!({"name": "REFUSE ME", "sector": "tech", "sales_id": 1})));
    let mut s = setup(records);
    s.apply(&fake, opts()).await.unwrap();
    let report = s.verify(&fake).await;
    let companies = report.objects.iter().find(|o| o.object == "companies").unwrap();
    assert_eq!((companies.source, companies.written, companies.rejected), (6, 5, 1));
    assert!(report.ok(), "a rejection with its reason is accounted for");
    let refused = |p: &ferry_core::Problem| p.record.as_deref() == Some("6") && p.message.contains("not allowed");
    assert!(report.first_problems.iter().any(refused), "{:#?}", report.first_problems);
    assert_eq!(report.problem_count, s.journal.problems().unwrap().len() as u64);
    assert!(report.problem_groups.iter().any(|g| g.examples.iter().any(refused)), "{:#?}", report.problem_groups);
    // Every problem, each once, goes to problems.csv, read from the journal.
    s.journal.add_problem(&s.journal.problems().unwrap()[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = ferry_core::run::write_report(&report, &s.journal, dir.path()).unwrap();
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_path(&files.problems_csv).unwrap().records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as u64, report.problem_count, "the repeat is written once");
    assert!(rows.iter().any(|r| &r[0] == "companies" && &r[1] == "6" && r[4].contains("not allowed")), "{rows:?}");
}

#[tokio::test]
async fn rollback_restores_the_destination_and_a_second_one_does_nothing() {
    let fake = Fake::new();
    let before = fake.snapshot();
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    assert_ne!(fake.snapshot(), before);
    let done = s.rollback(&fake).await.unwrap();
    assert_eq!(done.deleted_total(), 56);
    assert_eq!(done.schema_changes, 4);
    assert_eq!(fake.snapshot(), before);
    assert!(s.journal.problems().unwrap().is_empty(), "the rolled-back run's problems are cleared");

    s.reopen();
    let again = s.rollback(&fake).await.unwrap();
    assert_eq!(again, run::RollbackSummary::default());
    assert_eq!(fake.snapshot(), before);

    // apply works again after a rollback, as a fresh run.
    let summary = s.apply(&fake, opts()).await.unwrap();
    assert_eq!(summary.schema_changes, 4);
    assert_eq!(counts(&fake), expected_counts());
    assert_eq!(fake.refused_duplicates.get(), 0);
    assert!(s.verify(&fake).await.ok());
}

#[tokio::test]
async fn a_crashed_rollback_is_run_again_to_the_end() {
    let fake = Fake::new();
    let before = fake.snapshot();
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    let start = fake.calls.get();
    s.rollback(&fake).await.unwrap();
    let total = fake.calls.get() - start;
    for at in 1..=total {
        for commit in [false, true] {
            let fake = Fake::new();
            let mut s = setup(source());
            s.apply(&fake, opts()).await.unwrap();
            fake.commit_before_crash.set(commit);
            fake.crash_at.set(Some(fake.calls.get() + at));
            assert!(s.rollback(&fake).await.is_err(), "call {at} crashes the rollback");
            fake.heal();
            s.reopen();
            s.rollback(&fake).await.unwrap();
            assert_eq!(fake.snapshot(), before, "rollback crashed at call {at} (commit: {commit})");
        }
    }
}

#[derive(Default)]
struct Seen {
    started: Vec<(String, u64)>,
    finished: Vec<(String, Tally)>,
    advanced: u32,
}

impl Progress for Seen {
    fn start(&mut self, object: &str, total: u64) {
        self.started.push((object.into(), total));
    }
    fn advance(&mut self, _: &str, _: &Tally) {
        self.advanced += 1;
    }
    fn finish(&mut self, object: &str, tally: &Tally) {
        self.finished.push((object.into(), tally.clone()));
    }
}

#[tokio::test]
async fn progress_is_told_of_every_object() {
    let fake = Fake::new();
    let mut s = setup(source());
    let mut seen = Seen::default();
    s.apply(&fake, ApplyOptions { progress: Some(&mut seen), ..opts() }).await.unwrap();
    assert_eq!(&seen.started[..2], &[("companies".to_string(), 5), ("contacts".to_string(), 12)]);
    let names: Vec<&str> = seen.finished.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(names, ["companies", "contacts", "notes", "deals", "notes.contact_ids", "contacts.files"]);
    let contacts = &seen.finished[1].1;
    assert_eq!((contacts.done, contacts.written), (12, 12));
    assert!(seen.advanced >= 6);
}

#[tokio::test]
async fn loss_of_a_schema_change_made_just_before_a_crash_is_prevented_by_the_intent() {
    let fake = Fake::new();
    let before = fake.snapshot();
    let mut s = setup(source());
    // Calls: members, model, then create_object: the destination creates the object, the process dies before
    // the journal hears of it.
    fake.commit_before_crash.set(true);
    fake.crash_at.set(Some(3));
    assert!(s.apply(&fake, opts()).await.is_err());
    assert!(fake.snapshot().model.iter().any(|o| o.name == "sectorRegistry"), "the destination made the change");
    assert!(s.journal.schema_changes_to_undo().unwrap().is_empty(), "the journal did not hear of it");
    fake.heal();
    s.reopen();
    let summary = s.apply(&fake, opts()).await.unwrap();
    assert_eq!(summary.schema_changes, 4, "the crashed run's object is journalled on the re-run");
    let changes = s.journal.schema_changes_to_undo().unwrap();
    let recovered = changes.iter().find(|c| c.object == "sectorRegistry").unwrap();
    assert_eq!(recovered.dest_id, "", "found again by name when undone");
    s.rollback(&fake).await.unwrap();
    assert_eq!(fake.snapshot(), before);
}

/// The destination's company object gets a `sector` select (TECH, ENERGY) of its own, before any migration.
fn give_company_a_sector(fake: &Fake) {
    let mut state = fake.state.borrow_mut();
    let company = state.model.iter_mut().find(|o| o.name == "company").unwrap();
    let mut sector = field("sector", FieldKind::Select);
    sector.options = vec![option("TECH", 0), option("ENERGY", 1)];
    company.fields.push(sector);
}

#[tokio::test]
async fn what_existed_before_the_migration_is_not_journalled_nor_undone() {
    let fake = Fake::new();
    give_company_a_sector(&fake);
    let before = fake.snapshot();
    let mut s = setup(source());
    let summary = s.apply(&fake, opts()).await.unwrap();
    assert_eq!(summary.schema_changes, 3, "the existing company.sector is used, not created");
    assert!(s.verify(&fake).await.ok());
    s.rollback(&fake).await.unwrap();
    assert_eq!(fake.snapshot(), before, "company.sector is still there");
}

#[tokio::test]
async fn loss_of_a_field_the_destination_had_but_did_not_list_is_prevented_on_the_second_run() {
    // The model does not list company.sector (a destination may list a field under another name), so apply notes
    // an intent to create it; the destination answers that it exists. A second run must not take that for a
    // creation lost in a crash, or rollback would delete the destination's own field.
    let fake = Fake::new();
    give_company_a_sector(&fake);
    fake.unlisted.borrow_mut().insert("company.sector".into());
    let before = fake.snapshot();
    let mut s = setup(source());
    s.apply(&fake, opts()).await.unwrap();
    s.reopen();
    s.apply(&fake, opts()).await.unwrap();
    let undo = s.journal.schema_changes_to_undo().unwrap();
    assert!(!undo.iter().any(|c| c.object == "company" && c.field.as_deref() == Some("sector")), "{undo:?}");
    s.rollback(&fake).await.unwrap();
    assert_eq!(fake.snapshot(), before, "company.sector is still there");
}

/// The users and companies of [`source`] and contacts 1 to 10, contact `i` with e-mail `c{i}@x.io` — or, for a pair
/// `(i, of)` of `repeats`, contact `of`'s e-mail. The names of `refused` are refused by the destination.
fn contacts_with_repeats(refused: &[u32], repeats: &[(u32, u32)]) -> Vec<Record> {
    let mut out: Vec<Record> =
        source().into_iter().filter(|r| r.object == "sales" || r.object == "companies").collect();
    for i in 1..=10 {
        let of = repeats.iter().find(|(r, _)| *r == i).map_or(i, |(_, of)| *of);
        let first = if refused.contains(&i) { "REFUSE ME".to_string() } else { format!("First{i}") };
        out.push(rec(
            "contacts",
            i,
            json!({"first_name": first, "last_name": format!("Last{i}"), "email_jsonb": [{"email": format!("c{of}@x.io")}],
                   "company_id": 1 + i % 5}),
        ));
    }
    out
}

fn contacts(summary: &run::ApplySummary) -> &run::ObjectSummary {
    summary.objects.iter().find(|o| o.object == "contacts").unwrap()
}

#[tokio::test]
async fn a_repeated_unique_email_is_rejected_before_sending_and_no_batch_is_split() {
    let fake = Fake::new();
    let mut s = setup(contacts_with_repeats(&[], &[(4, 1), (6, 2), (9, 1)]));
    let summary = s.apply(&fake, opts()).await.unwrap();
    let c = contacts(&summary);
    assert_eq!((c.written, c.rejected, c.skipped), (7, 3, 0));
    assert_eq!(c.calls, 2, "7 contacts in batches of 4: no batch refused, none split");
    assert_eq!(fake.refused_unique.get(), 0, "no batch carried a repeat");
    assert_eq!(fake.count("person"), 7);
    for (key, holder, email) in [("4", "1", "c1@x.io"), ("6", "2", "c2@x.io"), ("9", "1", "c1@x.io")] {
        assert!(fake.get("person", s.id("contacts", key)).is_none());
        assert_eq!(s.journal.state("contacts", key).unwrap().unwrap().0, ferry_core::journal::RowState::Rejected);
        let problems = s.journal.problems().unwrap();
        let p = problems.iter().find(|p| p.object == "contacts" && p.record.as_deref() == Some(key)).unwrap();
        assert_eq!((p.field.as_deref(), p.value.as_deref()), (Some("emails"), Some(email)));
        assert!(p.message.contains(&format!("already held by contacts #{holder}")), "{p}");
        assert!(p.to_string().contains("merge the two records"), "{p}");
    }
    let report = s.verify(&fake).await;
    assert!(report.ok(), "every repeat is accounted for: {:#?}", report.mismatches);
}

#[tokio::test]
async fn a_second_apply_after_repeats_writes_nothing_and_rejects_nothing_new() {
    let again = second_apply_of(contacts_with_repeats(&[2], &[(4, 1), (6, 2), (9, 1)])).await;
    assert!(again.objects.iter().all(|o| o.rejected == 0), "{again:#?}");
    assert_eq!(contacts(&again).already, 7, "contact 6 took the e-mail of the refused contact 2");
}

#[tokio::test]
async fn loss_of_a_duplicate_whose_holder_was_refused_is_prevented() {
    // Contact 2 holds c2@x.io but the destination refuses its name: contact 3 (c2@x.io too) must be written, and
    // contact 5 (c2@x.io again) is then the repeat of contact 3.
    let fake = Fake::new();
    let mut s = setup(contacts_with_repeats(&[2], &[(3, 2), (5, 2)]));
    let summary = s.apply(&fake, opts()).await.unwrap();
    let c = contacts(&summary);
    assert_eq!((c.written, c.rejected), (8, 2));
    assert!(fake.get("person", s.id("contacts", "3")).is_some(), "the repeat of a refused holder is written");
    assert!(fake.get("person", s.id("contacts", "2")).is_none());
    assert!(fake.get("person", s.id("contacts", "5")).is_none());
    assert_eq!(fake.refused_unique.get(), 0);
    let problems = s.journal.problems().unwrap();
    let about = |key: &str| problems.iter().find(|p| p.object == "contacts" && p.record.as_deref() == Some(key));
    assert!(about("2").unwrap().message.contains("not allowed"));
    assert!(about("3").is_none());
    assert!(about("5").unwrap().message.contains("already held by contacts #3"), "{problems:#?}");
    assert!(s.verify(&fake).await.ok());
}

#[tokio::test]
async fn duplicate_or_loss_of_a_set_aside_record_after_a_crash_at_any_call_cannot_happen() {
    let records = || contacts_with_repeats(&[2], &[(3, 2), (5, 2), (7, 1), (10, 1)]);
    let states = |s: &Setup| -> Vec<Option<ferry_core::journal::RowState>> {
        (1..=10).map(|k| s.journal.state("contacts", &k.to_string()).unwrap().map(|(st, _)| st)).collect()
    };
    let clean = Fake::new();
    let mut s = setup(records());
    s.apply(&clean, opts()).await.unwrap();
    let (expected, people, total) = (states(&s), clean.count("person"), clean.calls.get());
    assert_eq!(people, 6);
    for at in 1..=total {
        for commit in [false, true] {
            let fake = Fake::new();
            let mut s = setup(records());
            fake.commit_before_crash.set(commit);
            fake.crash_at.set(Some(at));
            assert!(s.apply(&fake, opts()).await.is_err(), "call {at} of {total} crashes the run");
            fake.heal();
            s.reopen();
            s.apply(&fake, opts()).await.unwrap_or_else(|e| panic!("crash at call {at}: resume failed: {e}"));
            assert_eq!(states(&s), expected, "crash at call {at} (commit: {commit})");
            assert_eq!(fake.count("person"), people, "crash at call {at} (commit: {commit})");
            assert_eq!(fake.refused_duplicates.get(), 0, "crash at call {at}: a duplicate was attempted");
            let report = s.verify(&fake).await;
            assert!(report.ok(), "crash at call {at}: {:#?}", report.mismatches);
        }
    }
}
