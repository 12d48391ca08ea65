//! `ferry plan` against a generated Atomic CRM backup and an in-process Twenty sandbox: the plan's decisions, that
//! nothing is written to the destination, that edits survive a re-run, and that the API key stays secret.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferry_core::plan::{Plan, UsersPlan};
use ferry_core::transform::Transform;
use ferry_core::{FieldKind, plan::ObjectPlan};
use ferry_twenty_sandbox::{MemberSeed, SandboxConfig, SandboxHandle};

const KEY: &str = "sbx_plan_cli_secret_key_0123456789";

fn ferry(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(args).env_remove("TWENTY_API_KEY");
    if let Some(k) = key {
        cmd.env("TWENTY_API_KEY", k);
    }
    cmd.output().expect("ferry binary runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Runs ferry off the async runtime, so the in-process sandbox keeps answering.
async fn ferry_async(args: Vec<String>, key: Option<&'static str>) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ferry(&refs, key)
    })
    .await
    .expect("ferry ran")
}

fn plan_args(dump: &Path, to: &str, out: &Path) -> Vec<String> {
    ["plan", "--from", dump.to_str().unwrap(), "--to", to, "--out", out.to_str().unwrap()]
        .into_iter()
        .map(String::from)
        .collect()
}

/// A generated backup in a temporary folder.
fn backup(dir: &Path) -> PathBuf {
    let dump = dir.join("backup.sql");
    let out = ferry(&["generate", "--out", dump.to_str().unwrap(), "--rows", "300"], None);
    assert!(out.status.success(), "generate failed: {}", text(&out).1);
    dump
}

async fn user_emails(dump: &Path) -> Vec<String> {
    let spec = ferry_atomic::SourceSpec::parse(dump.to_str().unwrap()).unwrap();
    let (users, _) = ferry_atomic::read_users(&spec).await.expect("users of the backup");
    users.into_iter().filter_map(|u| u.email).collect()
}

async fn sandbox(members: Vec<MemberSeed>) -> SandboxHandle {
    SandboxHandle::start(SandboxConfig { api_key: KEY.into(), members, rate_limit: None, ..SandboxConfig::default() })
        .await
        .expect("sandbox starts")
}

fn obj<'p>(plan: &'p Plan, source: &str) -> &'p ObjectPlan {
    plan.objects.iter().find(|o| o.source == source).unwrap_or_else(|| panic!("{source} is in the plan"))
}

fn field<'p>(o: &'p ObjectPlan, dest: &str) -> &'p ferry_core::plan::FieldPlan {
    o.fields.iter().find(|f| f.destination == dest).unwrap_or_else(|| panic!("{}.{dest} is filled", o.destination))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_proposes_the_atomic_to_twenty_decisions_and_writes_nothing_to_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let dump = backup(dir.path());
    let emails = user_emails(&dump).await;
    assert!(emails.len() >= 2, "the generated backup has several users: {emails:?}");
    // one user is a member (written in another case), the others are not
    let sbx = sandbox(vec![MemberSeed {
        first_name: "Ada".into(),
        last_name: "Member".into(),
        email: emails[0].to_uppercase(),
    }])
    .await;
    let before = sbx.snapshot();
    let out_file = dir.path().join("migration.toml");
    let out = ferry_async(plan_args(&dump, &sbx.base_url(), &out_file), Some(KEY)).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "plan failed: {stderr}\n{stdout}");
    assert_eq!(sbx.snapshot(), before, "plan writes nothing to the destination");

    let plan_text = std::fs::read_to_string(&out_file).unwrap();
    for shown in [&stdout, &stderr, &plan_text] {
        assert!(!shown.contains(KEY), "the API key never shows");
    }
    assert!(stdout.contains("Objects, in load order"), "{stdout}");
    assert!(stdout.contains("Members: 1 matched"), "{stdout}");
    assert!(stdout.contains("Lossy transforms"), "{stdout}");
    let plan = Plan::load(&out_file).expect("the plan reads back");
    assert_eq!(plan.journal, PathBuf::from("migration.journal"));
    assert_eq!(plan.source.kind, "atomic-crm");
    assert_eq!(plan.users, Some(UsersPlan { object: "sales".into(), email: "email".into() }));

    // objects, parents first
    let order: Vec<(&str, &str)> = plan.objects.iter().map(|o| (o.source.as_str(), o.destination.as_str())).collect();
    for pair in [
        ("companies", "company"),
        ("contacts", "person"),
        ("deals", "opportunity"),
        ("contact_notes", "note"),
        ("deal_notes", "note"),
        ("tasks", "task"),
    ] {
        assert!(order.contains(&pair), "{pair:?} in {order:?}");
    }
    let pos = |s: &str| order.iter().position(|(o, _)| *o == s).unwrap();
    assert!(pos("companies") < pos("contacts") && pos("contacts") < pos("deals") && pos("deals") < pos("deal_notes"));
    for not_loaded in ["sales", "tags", "configuration", "favicons_excluded_domains"] {
        assert!(!order.iter().any(|(o, _)| *o == not_loaded), "{not_loaded} is not loaded as records");
        assert!(plan.not_migrated.iter().any(|n| n.name == not_loaded), "{not_loaded} says why it does not load");
    }
    assert!(plan.not_migrated.iter().any(|n| n.kind == "trigger"), "automation is listed as not migrating");

    // companies
    let companies = obj(&plan, "companies");
    assert_eq!(field(companies, "domainName").source, vec!["website"]);
    assert_eq!(field(companies, "employees").source, vec!["size"]);
    assert_eq!(field(companies, "createdAt").source, vec!["created_at"]);
    assert!(matches!(field(companies, "address").transform, Transform::AddressParts { .. }));
    assert_eq!(companies.relations.iter().find(|r| r.source == "sales_id").unwrap().destination, "accountOwnerId");
    assert!(companies.attachments.iter().any(|a| a.source == "logo"));
    let sector = plan.create.fields.iter().find(|f| f.object == "company" && f.name == "sector").expect("sector");
    assert_eq!(sector.kind, FieldKind::Select);
    assert!(!sector.options.is_empty());

    // contacts
    let contacts = obj(&plan, "contacts");
    assert_eq!(field(contacts, "name").transform, Transform::FullName);
    assert_eq!(field(contacts, "emails").source, vec!["email_jsonb"]);
    assert_eq!(field(contacts, "jobTitle").source, vec!["title"]);
    assert_eq!(contacts.relations.iter().find(|r| r.source == "company_id").unwrap().destination, "companyId");
    assert!(contacts.attachments.iter().any(|a| a.source == "avatar"));
    let tags = plan.create.fields.iter().find(|f| f.object == "person" && f.name == "tags").expect("tags field");
    assert_eq!(tags.kind, FieldKind::MultiSelect);
    let Transform::MultiSelect { values } = &field(contacts, "tags").transform else { panic!("tags map options") };
    assert!(!values.is_empty() && values.keys().all(|k| k.parse::<i64>().is_ok()), "tag ids → options: {values:?}");
    assert!(plan.lossy.iter().any(|l| l.object == "contacts" && l.field == "email_jsonb"));

    // deals
    let deals = obj(&plan, "deals");
    let spec = ferry_atomic::SourceSpec::parse(dump.to_str().unwrap()).unwrap();
    let configured = ferry_atomic::describe::describe(&spec, None).await.unwrap().currency;
    let currency = configured.unwrap_or_else(|| "USD".into());
    assert_eq!(field(deals, "amount").transform, Transform::Currency { currency: currency.clone() });
    assert!(plan.lossy.iter().any(|l| l.field == "amount" && l.what.contains(&currency)), "{:?}", plan.lossy);
    let Transform::Select { values } = &field(deals, "stage").transform else { panic!("stage is a select") };
    assert_eq!(values.get("in-negociation").map(String::as_str), Some("IN_NEGOCIATION"));
    assert!(plan.create.options.iter().any(|o| o.object == "opportunity" && o.field == "stage"));
    assert_eq!(field(deals, "closeDate").source, vec!["expected_closing_date"]);
    assert_eq!(field(deals, "createdAt").source, vec!["created_at"]);
    let poc = deals.relations.iter().find(|r| r.source == "contact_ids").expect("contact_ids → relation");
    assert_eq!(poc.destination, "pointOfContactId");
    let link = deals.links.iter().find(|l| l.source == "contact_ids").expect("contact_ids → links");
    assert_eq!((link.parent.as_str(), link.field.as_str()), ("opportunityId", "personId"));
    assert!(plan.create.objects.iter().any(|o| o.name == link.destination));
    assert!(plan.lossy.iter().any(|l| l.object == "deals" && l.field == "contact_ids"));
    assert_eq!(deals.relations.iter().find(|r| r.source == "sales_id").unwrap().destination, "ownerId");

    // notes and tasks
    for (notes, target) in [("contact_notes", "personId"), ("deal_notes", "opportunityId")] {
        let n = obj(&plan, notes);
        assert_eq!(field(n, "bodyV2").transform, Transform::RichText);
        assert_eq!(field(n, "title").transform, Transform::FirstLine);
        assert_eq!(field(n, "createdAt").source, vec!["date"]);
        let l = &n.links[0];
        assert_eq!((l.destination.as_str(), l.parent.as_str(), l.field.as_str()), ("noteTarget", "noteId", target));
        assert!(n.attachments.iter().any(|a| a.source == "attachments"));
    }
    let tasks = obj(&plan, "tasks");
    let l = &tasks.links[0];
    assert_eq!((l.destination.as_str(), l.parent.as_str(), l.field.as_str()), ("taskTarget", "taskId", "personId"));
    assert_eq!(field(tasks, "status").transform, Transform::Presence { present: "DONE".into(), absent: "TODO".into() });
    assert_eq!(field(tasks, "doneDate").source, vec!["done_date"]);
    assert_eq!(field(tasks, "dueAt").source, vec!["due_date"]);
    assert_eq!(tasks.relations.iter().find(|r| r.source == "sales_id").unwrap().destination, "assigneeId");
    assert!(plan.create.fields.iter().any(|f| f.object == "task" && f.name == "type" && f.kind == FieldKind::Select));

    // members: the matched one case-insensitively, the rest to reconcile
    let m = plan.members.iter().find(|m| m.source.eq_ignore_ascii_case(&emails[0])).unwrap();
    assert_eq!(m.destination.as_deref(), Some(emails[0].to_uppercase().as_str()));
    assert_eq!(plan.members.iter().filter(|m| m.destination.is_none()).count(), plan.members.len() - 1);
    sbx.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_running_plan_on_an_edited_plan_keeps_the_edits() {
    let dir = tempfile::tempdir().unwrap();
    let dump = backup(dir.path());
    let sbx = sandbox(vec![MemberSeed::default()]).await;
    let out_file = dir.path().join("acme.toml");
    let args = plan_args(&dump, &sbx.base_url(), &out_file);
    let first = ferry_async(args.clone(), Some(KEY)).await;
    assert!(first.status.success(), "{}", text(&first).1);
    let mut plan = Plan::load(&out_file).unwrap();
    assert_eq!(plan.journal, PathBuf::from("acme.journal"), "the journal is named after the plan");
    let deals = plan.objects.iter_mut().find(|o| o.source == "deals").unwrap();
    let amount = deals.fields.iter_mut().find(|f| f.destination == "amount").unwrap();
    amount.transform = Transform::Currency { currency: "EUR".into() };
    amount.reason = "decided by Ada: the books are in euros".into();
    plan.objects.iter_mut().find(|o| o.source == "tasks").unwrap().skip = true;
    plan.members[0].destination = Some("tim@apple.dev".into());
    let member = plan.members[0].source.clone();
    plan.save(&out_file).unwrap();

    // the second run takes the key from a file instead of the environment
    let key_file = dir.path().join("twenty.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let mut with_file = args;
    with_file.extend(["--api-key-file".to_string(), key_file.to_str().unwrap().to_string()]);
    let second = ferry_async(with_file, None).await;
    let (stdout, stderr) = text(&second);
    assert!(second.status.success(), "{stderr}");
    assert!(stdout.contains("edits are kept"), "{stdout}");
    let again = Plan::load(&out_file).unwrap();
    let amount = obj(&again, "deals").fields.iter().find(|f| f.destination == "amount").unwrap();
    assert_eq!(amount.transform, Transform::Currency { currency: "EUR".into() });
    assert_eq!(amount.reason, "decided by Ada: the books are in euros");
    assert!(obj(&again, "tasks").skip);
    let m = again.members.iter().find(|m| m.source == member).unwrap();
    assert_eq!(m.destination.as_deref(), Some("tim@apple.dev"));
    sbx.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_without_a_key_says_how_to_set_it_and_a_bad_key_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let dump = backup(dir.path());
    let sbx = sandbox(vec![MemberSeed::default()]).await;
    let out_file = dir.path().join("m.toml");
    let args = plan_args(&dump, &sbx.base_url(), &out_file);
    let missing = ferry_async(args.clone(), None).await;
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("export TWENTY_API_KEY="), "{}", text(&missing).1);
    assert!(!out_file.exists(), "no plan without a destination");

    let wrong = "wrong_key_that_must_not_leak_42";
    let bad = ferry_async(args, Some(wrong)).await;
    let (stdout, stderr) = text(&bad);
    assert!(!bad.status.success());
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong), "{stderr}");
    assert!(stderr.contains(&sbx.base_url()), "the error names the server: {stderr}");
    assert!(!out_file.exists());
    sbx.shutdown().await.unwrap();
}

#[test]
fn plan_names_an_unreachable_server_and_an_unreadable_source() {
    let dir = tempfile::tempdir().unwrap();
    let dump = backup(dir.path());
    let out = dir.path().join("m.toml");
    // nothing listens on port 9 (discard) locally
    let down = ferry(
        &["plan", "--from", dump.to_str().unwrap(), "--to", "http://127.0.0.1:9", "--out", out.to_str().unwrap()],
        Some(KEY),
    );
    assert!(!down.status.success());
    let (_, stderr) = text(&down);
    assert!(stderr.contains("http://127.0.0.1:9"), "{stderr}");
    assert!(!stderr.contains(KEY));

    let missing = ferry(
        &["plan", "--from", "/nonexistent/backup.sql", "--to", "http://127.0.0.1:9", "--out", out.to_str().unwrap()],
        Some(KEY),
    );
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("/nonexistent/backup.sql"), "{}", text(&missing).1);
}
