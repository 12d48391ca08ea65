//! The engine's `Workspace` implemented by the client, against an in-process sandbox: data-model changes made
//! once and undone exactly, every neutral kind encoded, written and read back, hard deletes by id, attachments
//! made once, members.

mod common;

use std::collections::HashSet;

use common::{client, rows, sandbox};
use ferry_core::journal::SchemaChange;
use ferry_core::load::{Destination, Outgoing};
use ferry_core::plan::{NewField, NewObject, NewOptions};
use ferry_core::verify::same;
use ferry_core::workspace::{Change, FileData, Workspace};
use ferry_core::{FieldKind, ObjectDef, SelectOption};
use ferry_twenty::{ApiKey, ClientOptions, DeleteMode, Filter, ListQuery, TwentyClient};
use ferry_twenty_sandbox::{FaultConfig, MemberSeed, TargetColumns};
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn opt(value: &str, label: &str, position: u32) -> SelectOption {
    SelectOption { value: value.into(), label: label.into(), color: None, position }
}

fn field(object: &str, name: &str, kind: FieldKind) -> NewField {
    NewField {
        object: object.into(),
        name: name.into(),
        label: name.into(),
        kind,
        options: Vec::new(),
        target: None,
        reason: "test".into(),
    }
}

/// A new custom object `project` (Project / projects / Projects).
fn project_object(reason: &str) -> NewObject {
    NewObject {
        name: "project".into(),
        label: "Project".into(),
        plural: "projects".into(),
        plural_label: "Projects".into(),
        reason: reason.into(),
    }
}

fn journalled(seq: i64, c: &Change) -> SchemaChange {
    SchemaChange {
        seq,
        kind: c.kind,
        object: c.object.clone(),
        field: c.field.clone(),
        dest_id: c.dest_id.clone(),
        before: c.before.clone(),
    }
}

fn object<'a>(model: &'a [ObjectDef], name: &str) -> &'a ObjectDef {
    model.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("{name} in the model"))
}

/// Writes one record through the engine's interfaces (encode, create with a chosen id) and reads it back.
async fn write_and_read(ws: &TwentyClient, object: &str, neutral: &Map<String, Value>) -> (Uuid, Map<String, Value>) {
    let values = ws.encode(object, neutral).unwrap_or_else(|e| panic!("{object} encodes: {e:?}"));
    let id = Uuid::new_v4();
    Destination::create(ws, object, &[Outgoing { id, key: format!("{object}-1"), values }])
        .await
        .unwrap_or_else(|e| panic!("{object} is created: {e}"));
    let back = ws.read(object, &[id, Uuid::new_v4()]).await.unwrap();
    assert_eq!(back.len(), 1, "{object}: the record and not the missing id");
    assert_eq!(back[0].0, id);
    (id, back.into_iter().next().unwrap().1)
}

/// Every neutral field written reads back the same (by kind); returns the kinds checked.
fn check_same(
    model: &[ObjectDef],
    object_name: &str,
    neutral: &Map<String, Value>,
    found: &Map<String, Value>,
) -> Vec<FieldKind> {
    let def = object(model, object_name);
    let mut kinds = Vec::new();
    for (name, expected) in neutral {
        let kind = def.field(name).unwrap_or_else(|| panic!("{object_name}.{name} in the model")).kind;
        let got = found.get(name).unwrap_or(&Value::Null);
        assert!(same(kind, expected, got), "{object_name}.{name} ({kind}): wrote {expected}, read back {got}");
        kinds.push(kind);
    }
    kinds
}

#[tokio::test]
async fn data_model_changes_are_made_once_and_undone_exactly() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let before = ws.model().await.unwrap();

    let project = project_object("source table projects");
    let mut phase = field("project", "phase", FieldKind::Select);
    phase.options = vec![opt("BUILD", "Build", 1), opt("DISCOVERY", "Discovery", 0), opt("DONE", "Done", 2)];
    let mut company = field("project", "company", FieldKind::Relation);
    company.target = Some("company".into());
    // Named by its join column, as a plan may: the field is `mainProject`, its column `mainProjectId`.
    let mut main_project = field("person", "mainProjectId", FieldKind::Relation);
    main_project.target = Some("project".into());
    let stage = NewOptions {
        object: "opportunity".into(),
        field: "stage".into(),
        options: vec![opt("NEW", "New", 0), opt("LOST", "Lost", 5), opt("WON", "Won", 6)],
        reason: "deal stages".into(),
    };

    let mut changes = Vec::new();
    changes.push(Workspace::create_object(&ws, &project).await.unwrap().expect("object created"));
    changes.push(Workspace::create_field(&ws, &phase).await.unwrap().expect("select created"));
    changes.push(Workspace::create_field(&ws, &company).await.unwrap().expect("relation created"));
    changes.push(Workspace::create_field(&ws, &main_project).await.unwrap().expect("relation created"));
    changes.push(ws.add_options(&stage).await.unwrap().expect("options added"));

    // What was journalled names what was made.
    let schema = ws.schema();
    assert_eq!(changes[0].dest_id, schema.object("project").unwrap().id.to_string());
    assert_eq!(changes[1].dest_id, schema.object("project").unwrap().field("phase").unwrap().id.to_string());
    assert_eq!(changes[3].dest_id, schema.object("person").unwrap().field("mainProject").unwrap().id.to_string());
    let stage_field = schema.object("opportunity").unwrap().field("stage").unwrap();
    assert_eq!(changes[4].dest_id, stage_field.id.to_string());
    let before_values: Vec<&str> = changes[4].before.as_ref().unwrap()["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(before_values, ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]);

    // The model knows the new object, fields and options at once.
    let model = ws.model().await.unwrap();
    let p = object(&model, "project");
    assert!(p.custom);
    let phases: Vec<&str> = p.field("phase").unwrap().options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(phases, ["DISCOVERY", "BUILD", "DONE"], "options in plan order");
    let rel = p.field("companyId").expect("relation listed under its join column");
    assert_eq!((rel.kind, rel.target.as_deref()), (FieldKind::Relation, Some("company")));
    let rel = object(&model, "person").field("mainProjectId").expect("join column mainProjectId");
    assert_eq!(rel.target.as_deref(), Some("project"));
    let stages: Vec<&str> =
        object(&model, "opportunity").field("stage").unwrap().options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(stages, ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER", "LOST", "WON"]);

    // The second time, everything is there: nothing to journal.
    assert_eq!(Workspace::create_object(&ws, &project).await.unwrap(), None);
    assert_eq!(Workspace::create_field(&ws, &phase).await.unwrap(), None);
    assert_eq!(Workspace::create_field(&ws, &company).await.unwrap(), None);
    assert_eq!(Workspace::create_field(&ws, &main_project).await.unwrap(), None);
    assert_eq!(ws.add_options(&stage).await.unwrap(), None);

    // Records use them: a project pointing at a company, its select and the new stage option.
    let (co, _) = write_and_read(&ws, "company", &map(json!({"name": "Parent"}))).await;
    let neutral = map(json!({"name": "Apollo", "phase": "BUILD", "companyId": co.to_string()}));
    let (pid, found) = write_and_read(&ws, "project", &neutral).await;
    check_same(&model, "project", &neutral, &found);
    let deal = map(json!({"name": "Lost deal", "stage": "LOST"}));
    let (_, found) = write_and_read(&ws, "opportunity", &deal).await;
    check_same(&model, "opportunity", &deal, &found);
    let person = map(json!({"name": {"first": "Pat", "last": "Doe"}, "mainProjectId": pid.to_string()}));
    let (_, found) = write_and_read(&ws, "person", &person).await;
    check_same(&model, "person", &person, &found);

    // Rollback order: the records first, then the changes newest first.
    for o in ["opportunity", "person", "project", "company"] {
        let ids: Vec<Uuid> =
            rows(&sbx, o).iter().map(|r| Uuid::parse_str(r["id"].as_str().unwrap()).unwrap()).collect();
        ws.delete(o, &ids).await.unwrap();
    }
    let journal: Vec<SchemaChange> = changes.iter().enumerate().map(|(i, c)| journalled(i as i64 + 1, c)).collect();
    for c in journal.iter().rev() {
        ws.undo(c).await.unwrap_or_else(|e| panic!("undo {c:?}: {e}"));
    }
    let after = ws.model().await.unwrap();
    assert_eq!(after, before, "the data model is back to what it was");
    // Undoing again (a rollback run twice) finds everything gone and is not an error.
    for c in journal.iter().rev() {
        ws.undo(c).await.unwrap();
    }
    assert_eq!(ws.model().await.unwrap(), before);
}

#[tokio::test]
async fn a_field_that_exists_with_another_kind_is_refused_naming_both() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let err = Workspace::create_field(&ws, &field("company", "employees", FieldKind::Text)).await.unwrap_err();
    assert!(err.message.contains("company.employees"), "{err}");
    assert!(err.message.contains("NUMBER (number)") && err.message.contains("text field"), "{err}");
    assert!(err.message.contains("fix:"), "{err}");
    assert!(!err.transient);

    let mut rel = field("person", "companyId", FieldKind::Relation);
    rel.target = Some("opportunity".into());
    let err = Workspace::create_field(&ws, &rel).await.unwrap_err();
    assert!(err.message.contains("relation to company") && err.message.contains("opportunity"), "{err}");

    let err = ws
        .add_options(&NewOptions {
            object: "company".into(),
            field: "name".into(),
            options: vec![opt("X", "X", 0)],
            reason: "test".into(),
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("company.name is a TEXT (text) field"), "{err}");
    let err = ws
        .add_options(&NewOptions {
            object: "company".into(),
            field: "sector".into(),
            options: vec![],
            reason: "t".into(),
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("company.sector does not exist"), "{err}");

    // An existing select the plan creates again gets the options it lacks, journalled with the options before.
    let mut status = field("task", "status", FieldKind::Select);
    status.options = vec![opt("TODO", "To do", 0), opt("BLOCKED", "Blocked", 1)];
    let change = Workspace::create_field(&ws, &status).await.unwrap().expect("option added");
    assert_eq!(change.kind, ferry_core::journal::SchemaChangeKind::FieldUpdated);
    assert!(ws.schema().object("task").unwrap().field("status").unwrap().has_option("BLOCKED"));
    ws.undo(&journalled(1, &change)).await.unwrap();
    assert!(!ws.schema().object("task").unwrap().field("status").unwrap().has_option("BLOCKED"));
}

#[tokio::test]
async fn every_neutral_kind_round_trips_on_standard_objects() {
    let sbx = sandbox(|c| {
        c.members =
            vec![MemberSeed { first_name: "Ada".into(), last_name: "Lovelace".into(), email: "ada@example.com".into() }]
    })
    .await;
    let ws = client(&sbx).await;
    // The kinds the standard objects lack, as custom fields on company.
    let mut tags = field("company", "tags", FieldKind::MultiSelect);
    tags.options = vec![opt("VIP", "VIP", 0), opt("PARTNER", "Partner", 1), opt("RESELLER", "Reseller", 2)];
    for f in [
        field("company", "foundedOn", FieldKind::Date),
        field("company", "profile", FieldKind::RawJson),
        field("company", "aliases", FieldKind::Array),
        field("company", "legacyRef", FieldKind::Uuid),
        tags,
    ] {
        Workspace::create_field(&ws, &f).await.unwrap().expect("created");
    }
    let model = ws.model().await.unwrap();
    let member = ws.members().await.unwrap()[0].id.clone();
    let mut kinds = HashSet::new();

    let company = map(json!({
        "name": "Acme",
        "domainName": {"primary": "https://acme.example.com", "additional": ["https://acme.example.org"]},
        "linkedinLink": {"primary": "https://www.linkedin.com/company/acme", "additional": []},
        "employees": 42,
        "idealCustomerProfile": true,
        "annualRecurringRevenue": {"amount_micros": 1_500_000_000i64, "currency": "EUR"},
        "address": {"street1": "1 Main St", "street2": "Floor 2", "city": "Paris", "state": "IDF", "postcode": "75001", "country": "France"},
        "createdAt": "2021-03-04T05:06:07.000Z",
        "accountOwnerId": member,
        "foundedOn": "1999-12-31",
        "profile": {"source": "crm", "scores": [1, 2.5], "nested": {"ok": true}},
        "aliases": ["ACME Corp", "Acme Inc"],
        "legacyRef": Uuid::new_v4().to_string(),
        "tags": ["PARTNER", "VIP"],
    }));
    let (co, found) = write_and_read(&ws, "company", &company).await;
    kinds.extend(check_same(&model, "company", &company, &found));

    let person = map(json!({
        "name": {"first": "Ada", "last": "Lovelace"},
        "emails": {"primary": "ada@example.com", "additional": ["ada@work.example.com"]},
        "phones": {"primary": "+33 6 12 34 56 78", "additional": ["+1 415 555 0100"]},
        "jobTitle": "Engineer",
        "city": "London",
        "companyId": co.to_string(),
    }));
    let (pe, found) = write_and_read(&ws, "person", &person).await;
    kinds.extend(check_same(&model, "person", &person, &found));

    let opportunity = map(json!({
        "name": "Big deal",
        "amount": {"amount_micros": 250_000_000i64, "currency": "USD"},
        "stage": "MEETING",
        "closeDate": "2024-02-29T10:00:00.000Z",
        "companyId": co.to_string(),
        "pointOfContactId": pe.to_string(),
        "ownerId": member,
    }));
    let (_, found) = write_and_read(&ws, "opportunity", &opportunity).await;
    kinds.extend(check_same(&model, "opportunity", &opportunity, &found));

    let note = map(
        json!({"title": "Call", "bodyV2": {"markdown": "Talked about **pricing**"}, "createdAt": "2020-01-02T03:04:05.000Z"}),
    );
    let (_, found) = write_and_read(&ws, "note", &note).await;
    kinds.extend(check_same(&model, "note", &note, &found));

    let task = map(json!({
        "title": "Follow up",
        "bodyV2": {"markdown": "Call back"},
        "dueAt": "2024-03-01T09:00:00.000Z",
        "status": "DONE",
        "assigneeId": member,
    }));
    let (_, found) = write_and_read(&ws, "task", &task).await;
    kinds.extend(check_same(&model, "task", &task, &found));

    let missing: Vec<FieldKind> = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Boolean,
        FieldKind::Date,
        FieldKind::DateTime,
        FieldKind::RawJson,
        FieldKind::Select,
        FieldKind::MultiSelect,
        FieldKind::Array,
        FieldKind::Uuid,
        FieldKind::Relation,
        FieldKind::Currency,
        FieldKind::Emails,
        FieldKind::Phones,
        FieldKind::Links,
        FieldKind::FullName,
        FieldKind::Address,
        FieldKind::RichText,
    ]
    .into_iter()
    .filter(|k| !kinds.contains(k))
    .collect();
    assert!(missing.is_empty(), "kinds not round-tripped: {missing:?}");
}

#[tokio::test]
async fn encode_errors_name_the_field_and_the_fix() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let errors = ws
        .encode("opportunity", &map(json!({"name": "x", "stage": "WON", "companyId": "not-a-uuid", "nmae": "typo"})))
        .unwrap_err();
    let fields: HashSet<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, HashSet::from(["stage", "companyId", "nmae"]), "{errors:?}");
    let stage = errors.iter().find(|e| e.field == "stage").unwrap();
    assert!(stage.message.contains("\"WON\" is not an option") && stage.message.contains("fix:"), "{stage:?}");
    let typo = errors.iter().find(|e| e.field == "nmae").unwrap();
    assert!(typo.message.contains("name"), "suggests the close name: {typo:?}");
    let errors = ws.encode("widget", &map(json!({"name": "x"}))).unwrap_err();
    assert!(errors[0].message.contains("no object \"widget\""), "{errors:?}");
}

#[tokio::test]
async fn delete_by_ids_destroys_records_trash_included() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let records: Vec<Outgoing> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Outgoing { id: *id, key: i.to_string(), values: map(json!({"name": format!("Del {i}")})) })
        .collect();
    Destination::create(&ws, "company", &records).await.unwrap();
    let keep = Uuid::new_v4();
    Destination::create(
        &ws,
        "company",
        &[Outgoing { id: keep, key: "k".into(), values: map(json!({"name": "Keep"})) }],
    )
    .await
    .unwrap();
    // One of them is in the trash (someone deleted it in the app).
    assert!(ws.delete_one("company", ids[2], DeleteMode::Soft).await.unwrap());

    let mut asked = ids.clone();
    asked.push(Uuid::new_v4());
    ws.delete("companies", &asked).await.unwrap();
    let left: Vec<String> = rows(&sbx, "company").iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(left, vec![keep.to_string()], "no record left, not even in the trash");
    assert!(ws.read("company", &ids).await.unwrap().is_empty());
    // Again: nothing to delete, not an error. The same ids can be written again.
    ws.delete("company", &ids).await.unwrap();
    Destination::create(&ws, "company", &records).await.unwrap();
    assert_eq!(ws.read("company", &ids).await.unwrap().len(), 5);
}

async fn attach_twice(ws: &TwentyClient, parent_object: &str, parent: Uuid) -> Uuid {
    let file = FileData { name: "report.txt".into(), mime: None, bytes: b"quarterly numbers\n".to_vec() };
    let id = Uuid::new_v4();
    ws.attach(parent_object, parent, id, &file).await.unwrap();
    ws.attach(parent_object, parent, id, &file).await.unwrap();
    id
}

#[tokio::test]
async fn attaching_twice_makes_one_attachment_with_the_file() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    assert_eq!(ws.attachment_object(), Some("attachment"));
    let (co, _) = write_and_read(&ws, "company", &map(json!({"name": "Files"}))).await;
    let id = attach_twice(&ws, "companies", co).await;
    let all = rows(&sbx, "attachment");
    assert_eq!(all.len(), 1, "one attachment: {all:?}");
    let found = ws.list_all("attachment", ListQuery::filtered(Filter::eq("targetCompanyId", co))).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id.to_string());
    assert_eq!(found[0]["name"], "report.txt");
    let bytes = ws.download_file(found[0]["fullPath"].as_str().unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"quarterly numbers\n");
    // An object attachments do not relate to: refused (this file), before anything is uploaded.
    let err = ws
        .attach("noteTarget", co, Uuid::new_v4(), &FileData { name: "x.txt".into(), mime: None, bytes: vec![1] })
        .await;
    match err {
        Err(ferry_core::load::WriteError::Refused { message, .. }) => {
            assert!(message.contains("cannot point at noteTarget") && message.contains("x.txt"), "{message}")
        }
        other => panic!("refused, not {other:?}"),
    }
    assert_eq!(rows(&sbx, "attachment").len(), 1);
    // Rollback deletes attachments like any record.
    ws.delete("attachment", &[id]).await.unwrap();
    assert!(rows(&sbx, "attachment").is_empty());
}

#[tokio::test]
async fn attachments_follow_newer_servers_columns_and_files_field() {
    let sbx = sandbox(|c| {
        c.target_columns = TargetColumns::Morph;
        c.files_field = true;
    })
    .await;
    let ws = client(&sbx).await;
    let (note, _) = write_and_read(&ws, "note", &map(json!({"title": "With file"}))).await;
    let id = attach_twice(&ws, "note", note).await;
    let all = rows(&sbx, "attachment");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["id"], id.to_string());
    assert_eq!(all[0]["targetNoteId"], note.to_string());
    assert!(all[0]["file"].as_array().is_some_and(|f| f.len() == 1), "the FILES field holds the file: {:?}", all[0]);
}

#[tokio::test]
async fn members_are_listed_with_id_email_and_name() {
    let sbx = sandbox(|c| {
        c.members = vec![
            MemberSeed { first_name: "Ada".into(), last_name: "Lovelace".into(), email: "ada@example.com".into() },
            MemberSeed { first_name: "Alan".into(), last_name: "Turing".into(), email: "Alan@Example.com".into() },
        ]
    })
    .await;
    let ws = client(&sbx).await;
    let mut members = ws.members().await.unwrap();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let shown: Vec<(&str, &str)> = members.iter().map(|m| (m.name.as_str(), m.email.as_str())).collect();
    assert_eq!(shown, [("Ada Lovelace", "ada@example.com"), ("Alan Turing", "Alan@Example.com")]);
    let ids: Vec<String> = ws.workspace_members().await.unwrap().iter().map(|m| m.id.to_string()).collect();
    assert!(members.iter().all(|m| ids.contains(&m.id)));
    // A member id is what owner relations take.
    let neutral = map(json!({"name": "Owned", "accountOwnerId": members[0].id}));
    let (_, found) = write_and_read(&ws, "company", &neutral).await;
    assert_eq!(found["accountOwnerId"], json!(members[0].id));
}

/// A proxy in front of the sandbox that forwards every request and, for the first request matching each rule
/// (method, path), answers 502 after the sandbox did the work: a write committed whose answer was lost. (The
/// sandbox injects faults on counted routes only; metadata calls are not counted.)
async fn losing_proxy(upstream: String, rules: Vec<(&'static str, &'static str)>) -> String {
    use axum::body::{Body, to_bytes};
    use axum::extract::{Request, State};
    use axum::response::Response;
    use std::sync::{Arc, Mutex};

    type Shared = Arc<(String, Mutex<Vec<(&'static str, &'static str)>>, reqwest::Client)>;
    async fn forward(State(shared): State<Shared>, req: Request) -> Response {
        let (upstream, rules, http) = &*shared;
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let target = format!("{upstream}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
        let mut out = http.request(method.clone(), target);
        for (k, v) in req.headers() {
            if k != "host" && k != "content-length" {
                out = out.header(k, v);
            }
        }
        let body = to_bytes(req.into_body(), usize::MAX).await.unwrap();
        let answer = out.body(body).send().await.unwrap();
        let lose = {
            let mut rules = rules.lock().unwrap();
            let hit = rules.iter().position(|(m, p)| *m == method.as_str() && *p == path);
            hit.map(|i| rules.remove(i)).is_some()
        };
        if lose {
            return Response::builder()
                .status(502)
                .body(Body::from(r#"{"statusCode":502,"message":"Bad Gateway"}"#))
                .unwrap();
        }
        let status = answer.status();
        let content_type = answer.headers().get("content-type").cloned();
        let bytes = answer.bytes().await.unwrap();
        let mut r = Response::builder().status(status);
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        r.body(Body::from(bytes)).unwrap()
    }
    let shared: Shared =
        Arc::new((upstream.trim_end_matches('/').to_owned(), Mutex::new(rules), reqwest::Client::new()));
    let app = axum::Router::new().fallback(forward).with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Regression (leftover after rollback): a create whose answer was lost made the object or field, the next call
/// found it "already there" and returned `None`, so nothing was journalled and rollback left it behind. Now the
/// call that lost its answer returns the change, naming what exists.
#[tokio::test]
async fn lost_answers_to_data_model_creates_are_still_journalled() {
    let sbx = sandbox(|_| {}).await;
    let url =
        losing_proxy(sbx.base_url(), vec![("POST", "/rest/metadata/objects"), ("POST", "/rest/metadata/fields")]).await;
    let ws = TwentyClient::connect(&url, ApiKey::new(sbx.api_key()), ClientOptions::for_tests()).await.unwrap();
    let before = ws.model().await.unwrap();
    let project = project_object("test");
    let mut budget = field("project", "budget", FieldKind::Currency);
    budget.label = "Budget".into();
    let object_change = Workspace::create_object(&ws, &project).await.unwrap().expect("the object is journalled");
    let field_change = Workspace::create_field(&ws, &budget).await.unwrap().expect("the field is journalled");
    let schema = ws.schema();
    let meta = schema.object("project").expect("the object exists");
    assert_eq!(object_change.dest_id, meta.id.to_string());
    assert_eq!(field_change.dest_id, meta.field("budget").unwrap().id.to_string());
    // Called again: there already, nothing more to journal.
    assert_eq!(Workspace::create_object(&ws, &project).await.unwrap(), None);
    assert_eq!(Workspace::create_field(&ws, &budget).await.unwrap(), None);
    // And undoing what was journalled leaves nothing behind.
    ws.undo(&journalled(2, &field_change)).await.unwrap();
    ws.undo(&journalled(1, &object_change)).await.unwrap();
    assert_eq!(ws.model().await.unwrap(), before);
}

/// Regression (duplicate attachments): with answers lost after commit and server errors, attaching until the call
/// succeeds leaves exactly one attachment per id.
#[tokio::test]
async fn attach_with_lost_answers_makes_one_attachment() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let (co, _) = write_and_read(&ws, "company", &map(json!({"name": "Faulty files"}))).await;
    sbx.set_faults(FaultConfig { commit_then_lose: 0.3, server_error: 0.1, seed: 11, ..FaultConfig::default() });
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = Uuid::new_v4();
        let file = FileData { name: format!("f{i}.pdf"), mime: None, bytes: format!("%PDF {i}").into_bytes() };
        let mut done = false;
        for _ in 0..20 {
            if ws.attach("company", co, id, &file).await.is_ok() {
                done = true;
                break;
            }
        }
        assert!(done, "attachment {i} made");
        ids.push(id.to_string());
    }
    assert!(sbx.stats().faults_injected > 0);
    sbx.set_faults(FaultConfig::default());
    let mut found: Vec<String> =
        rows(&sbx, "attachment").iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    found.sort();
    ids.sort();
    assert_eq!(found, ids, "each attachment exactly once");
}

/// An engine that saw a change made but crashed before its answer journals it without an id (`dest_id` empty) and,
/// for options, with the options before in ferry's neutral form: undo finds what to undo by name.
#[tokio::test]
async fn undo_works_by_name_for_changes_journalled_without_an_id() {
    let sbx = sandbox(|_| {}).await;
    let ws = client(&sbx).await;
    let before = ws.model().await.unwrap();
    let neutral_stage = serde_json::to_value(&object(&before, "opportunity").field("stage").unwrap().options).unwrap();
    let project = project_object("test");
    Workspace::create_object(&ws, &project).await.unwrap().unwrap();
    let mut client_ref = field("project", "clientId", FieldKind::Relation);
    client_ref.target = Some("company".into());
    Workspace::create_field(&ws, &client_ref).await.unwrap().unwrap();
    let stage = NewOptions {
        object: "opportunity".into(),
        field: "stage".into(),
        options: vec![opt("LOST", "Lost", 0)],
        reason: "t".into(),
    };
    ws.add_options(&stage).await.unwrap().unwrap();
    let (deal, _) = write_and_read(&ws, "opportunity", &map(json!({"name": "Kept", "stage": "PROPOSAL"}))).await;

    let blind = |seq, kind, object: &str, field: Option<&str>, before: Option<Value>| SchemaChange {
        seq,
        kind,
        object: object.into(),
        field: field.map(str::to_owned),
        dest_id: String::new(),
        before,
    };
    use ferry_core::journal::SchemaChangeKind as K;
    let journal = [
        blind(1, K::ObjectCreated, "project", None, None),
        blind(2, K::FieldCreated, "project", Some("clientId"), None),
        blind(3, K::FieldUpdated, "opportunity", Some("stage"), Some(json!({ "options": neutral_stage }))),
    ];
    for c in journal.iter().rev() {
        ws.undo(c).await.unwrap_or_else(|e| panic!("undo {c:?}: {e}"));
    }
    assert_eq!(ws.model().await.unwrap(), before);
    // The record holding an option that was there before keeps its value.
    let back = ws.read("opportunity", &[deal]).await.unwrap();
    assert_eq!(back[0].1["stage"], "PROPOSAL");
    for c in journal.iter().rev() {
        ws.undo(c).await.unwrap();
    }
}
