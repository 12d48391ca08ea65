//! The codec against the sandbox: every field kind written from its neutral form, read back with the client,
//! decoded, and compared with `ferry_core::verify::same`; `describe` on the standard model; encode errors; the
//! recorded exchanges decoded.

use ferry_core::FieldKind;
use ferry_core::verify::same;
use ferry_twenty::codec::{self, CodecError};
use ferry_twenty::{ApiKey, ClientOptions, FieldType, NewField, NewOption, ObjectMeta, TwentyClient, WriteMode};
use ferry_twenty_sandbox::{SandboxConfig, SandboxHandle};
use serde_json::{Map, Value, json};
use uuid::Uuid;

async fn start() -> (SandboxHandle, TwentyClient) {
    let config = SandboxConfig { rate_limit: None, ..SandboxConfig::default() };
    let sbx = SandboxHandle::start(config).await.expect("sandbox starts");
    let client = TwentyClient::connect(&sbx.base_url(), ApiKey::new(sbx.api_key()), ClientOptions::for_tests())
        .await
        .expect("client connects");
    (sbx, client)
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// Custom fields on company for the kinds the standard company lacks (and a second one of some kinds).
async fn add_custom_fields(c: &TwentyClient) {
    let fields = [
        NewField::new("company", "cDate", "C date", FieldType::Date),
        NewField::new("company", "cWhen", "C when", FieldType::DateTime),
        NewField::new("company", "cScore", "C score", FieldType::Number),
        NewField::new("company", "cFlag", "C flag", FieldType::Boolean),
        NewField::new("company", "cJson", "C json", FieldType::RawJson),
        NewField::new("company", "cList", "C list", FieldType::Array),
        NewField::new("company", "cRef", "C ref", FieldType::Uuid),
        NewField::new("company", "cEmails", "C emails", FieldType::Emails),
        NewField::new("company", "cPhones", "C phones", FieldType::Phones),
        NewField::new("company", "cContact", "C contact", FieldType::FullName),
        NewField::new("company", "cNotes", "C notes", FieldType::RichTextV2),
        NewField::new("company", "cBudget", "C budget", FieldType::Currency),
        NewField::new("company", "cText", "C text", FieldType::Text),
        NewField::new("company", "cTier", "C tier", FieldType::Select).with_options(vec![
            NewOption::new("GOLD", "Gold"),
            NewOption::new("SILVER", "Silver"),
            NewOption::new("BRONZE", "Bronze"),
        ]),
        NewField::new("company", "cTags", "C tags", FieldType::MultiSelect).with_options(vec![
            NewOption::new("VIP", "VIP"),
            NewOption::new("PARTNER", "Partner"),
            NewOption::new("RESELLER", "Reseller"),
        ]),
    ];
    for f in fields {
        let name = f.name.clone();
        c.create_field(f).await.unwrap_or_else(|e| panic!("create field {name}: {e}"));
    }
}

/// Writes `neutral` (keyed by describe's names) to `object`, reads it back by id, and checks every field with
/// `verify::same`, both on the create answer and on the read-back. Returns the read-back record.
async fn round_trip(c: &TwentyClient, object: &str, neutral: Value) -> Map<String, Value> {
    let schema = c.schema();
    let meta: &ObjectMeta = schema.object(object).expect("object exists");
    let def = codec::describe_object(meta);
    let neutral = map(neutral);
    let payload = codec::encode_record(meta, &neutral).unwrap_or_else(|e| panic!("encode {object}: {e:?}"));
    let created = c.create_one(object, Value::Object(payload), WriteMode::Create).await.expect("create");
    let id: Uuid = created["id"].as_str().and_then(|s| s.parse().ok()).expect("an id");
    let read = c.get(object, id).await.expect("get").expect("record exists");
    for (label, record) in [("create answer", &created), ("read back", &read)] {
        let decoded = codec::decode_record(meta, record);
        for (name, value) in &neutral {
            let kind = def.field(name).unwrap_or_else(|| panic!("{object}.{name} is described")).kind;
            let found = decoded.get(name).unwrap_or(&Value::Null);
            assert!(
                same(kind, value, found),
                "{object}.{name} ({kind}) {label}: wrote {value}, decoded {found} from {}",
                record.get(name).unwrap_or(&Value::Null)
            );
        }
    }
    read
}

#[tokio::test]
async fn describe_gives_the_standard_model() {
    let (_sbx, c) = start().await;
    let defs = codec::describe(&c.schema());
    let object = |n: &str| defs.iter().find(|o| o.name == n).unwrap_or_else(|| panic!("{n} is described"));
    let field = |o: &str, f: &str| object(o).field(f).unwrap_or_else(|| panic!("{o}.{f} is described")).clone();

    let company = object("company");
    assert_eq!(company.key, "id");
    assert!(!company.custom);
    assert_eq!(field("company", "name").kind, FieldKind::Text);
    let domain = field("company", "domainName");
    assert_eq!((domain.kind, domain.unique), (FieldKind::Links, true));
    assert_eq!(domain.native_type.as_deref(), Some("LINKS"));
    assert_eq!(field("company", "employees").kind, FieldKind::Number);
    assert_eq!(field("company", "annualRecurringRevenue").kind, FieldKind::Currency);
    assert_eq!(field("company", "address").kind, FieldKind::Address);
    assert_eq!(field("company", "idealCustomerProfile").kind, FieldKind::Boolean);
    let owner = field("company", "accountOwnerId");
    assert_eq!((owner.kind, owner.target.as_deref()), (FieldKind::Relation, Some("workspaceMember")));
    assert_eq!(field("company", "id").kind, FieldKind::Uuid);
    assert_eq!(field("company", "createdAt").kind, FieldKind::DateTime);
    for left_out in ["searchVector", "position", "createdBy", "updatedBy", "deletedAt", "people", "accountOwner"] {
        assert!(company.field(left_out).is_none(), "company.{left_out} is left out");
    }

    assert_eq!(field("person", "name").kind, FieldKind::FullName);
    let emails = field("person", "emails");
    assert_eq!((emails.kind, emails.unique), (FieldKind::Emails, true));
    assert_eq!(field("person", "phones").kind, FieldKind::Phones);
    let company_id = field("person", "companyId");
    assert_eq!((company_id.kind, company_id.target.as_deref()), (FieldKind::Relation, Some("company")));
    assert!(object("person").field("avatarUrl").is_none(), "system field");

    let stage = field("opportunity", "stage");
    assert_eq!(stage.kind, FieldKind::Select);
    assert!(!stage.nullable);
    let values: Vec<&str> = stage.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(values, ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]);
    assert_eq!(stage.options[0].label, "New");
    assert!(stage.options.iter().all(|o| o.color.is_some()));
    assert_eq!(stage.options.iter().map(|o| o.position).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(stage.default.as_deref(), Some("'NEW'"));
    assert_eq!(field("opportunity", "pointOfContactId").target.as_deref(), Some("person"));
    assert_eq!(field("note", "bodyV2").kind, FieldKind::RichText);
    assert_eq!(field("task", "bodyV2").kind, FieldKind::RichText);

    // The link objects are described with their join columns; other system objects are not.
    assert_eq!(field("noteTarget", "companyId").target.as_deref(), Some("company"));
    assert_eq!(field("taskTarget", "personId").target.as_deref(), Some("person"));
    assert_eq!(field("attachment", "targetCompanyId").target.as_deref(), Some("company"));
    for hidden in ["workspaceMember", "favorite", "timelineActivity", "messageThread"] {
        assert!(defs.iter().all(|o| o.name != hidden), "{hidden} is not described");
    }
    for def in &defs {
        let mut names: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "{}: field names are unique", def.name);
    }
}

#[tokio::test]
async fn custom_fields_are_described_as_custom_with_their_options() {
    let (_sbx, c) = start().await;
    add_custom_fields(&c).await;
    let defs = codec::describe(&c.schema());
    let company = defs.iter().find(|o| o.name == "company").unwrap();
    let kinds = [
        ("cDate", FieldKind::Date),
        ("cWhen", FieldKind::DateTime),
        ("cJson", FieldKind::RawJson),
        ("cList", FieldKind::Array),
        ("cRef", FieldKind::Uuid),
        ("cNotes", FieldKind::RichText),
        ("cTier", FieldKind::Select),
        ("cTags", FieldKind::MultiSelect),
    ];
    for (name, kind) in kinds {
        let f = company.field(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(f.kind, kind, "{name}");
        assert!(f.custom, "{name} is custom");
    }
    let tags = company.field("cTags").unwrap();
    assert_eq!(tags.options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["VIP", "Partner", "Reseller"]);
    assert!(!company.field("name").unwrap().custom);
}

#[tokio::test]
async fn every_kind_round_trips_through_the_sandbox() {
    let (_sbx, c) = start().await;
    add_custom_fields(&c).await;
    let member = c.workspace_members().await.expect("members")[0].id;

    // Plain values of every kind.
    let company = round_trip(
        &c,
        "company",
        json!({
            "name": "Acme",
            "domainName": {"primary": "https://acme.example.com", "additional": ["https://shop.acme.example.com"]},
            "employees": 120,
            "idealCustomerProfile": true,
            "annualRecurringRevenue": {"amount_micros": 1_250_000_000_000i64, "currency": "EUR"},
            "address": {"street1": "1 Rue de Rivoli", "street2": "Bat. B", "city": "Paris", "state": "Ile-de-France",
                        "postcode": "75001", "country": "France"},
            "accountOwnerId": member.to_string(),
            "createdAt": "2019-05-01T08:00:00.000Z",
            "cDate": "2024-02-29",
            "cWhen": "2024-02-29T13:45:00.000Z",
            "cScore": 42.5,
            "cFlag": false,
            "cJson": {"legacy": {"id": 42, "tags": ["a", "b"]}, "ok": true},
            "cList": ["alpha", "beta"],
            "cRef": "0c0ffee0-1e9a-4c00-8000-000000000001",
            "cEmails": {"primary": "ada@example.com", "additional": ["ada.l@example.com", "ada@home.example"]},
            "cPhones": {"primary": "+33612345678", "additional": ["+1 (555) 010-0100", "020 7946 0000"]},
            "cContact": {"first": "Ada", "last": "Lovelace"},
            "cNotes": {"markdown": "# Call Ada\n\n- ask about the **renewal**\n\
                                    - send the [deck](https://example.com/deck)\n"},
            "cBudget": {"amount_micros": 1_500_000, "currency": "USD"},
            "cText": "LEG-0042",
            "cTier": "GOLD",
            "cTags": ["VIP", "PARTNER"],
        }),
    )
    .await;
    // What Twenty stores for the phones: the calling code split off, every digit kept.
    assert_eq!(company["cPhones"]["primaryPhoneCallingCode"], "+33");
    assert_eq!(company["cPhones"]["primaryPhoneCountryCode"], "FR");
    assert_eq!(company["cPhones"]["primaryPhoneNumber"], "612345678");
    assert_eq!(company["cPhones"]["additionalPhones"][0]["callingCode"], "+1");
    assert_eq!(company["cPhones"]["additionalPhones"][1]["callingCode"], "");
    assert_eq!(company["cPhones"]["additionalPhones"][1]["number"], "020 7946 0000");
    assert_eq!(company["annualRecurringRevenue"]["amountMicros"], json!(1_250_000_000_000i64));
    assert_eq!(company["cNotes"]["blocknote"].as_str().map(|b| b.contains("heading")), Some(true));
    assert_eq!(company["createdAt"], "2019-05-01T08:00:00.000Z", "createdAt kept");

    // Tricky values: unicode, right-to-left and emoji text, fractional amounts, phones with spaces, many values,
    // negative and fractional numbers, nested JSON arrays.
    round_trip(
        &c,
        "company",
        json!({
            "name": "Société Générale 🚀 — شركة",
            "domainName": {"primary": "https://xn--sterreich-z7a.example", "additional": []},
            "employees": 0,
            "annualRecurringRevenue": {"amount_micros": 123_456_789, "currency": "JPY"},
            "address": {"street1": "Straße 1", "street2": "", "city": "Zürich", "state": "", "postcode": "8001",
                        "country": "Schweiz"},
            "cScore": -0.125,
            "cFlag": true,
            "cJson": [1, "two", {"three": [3]}, null],
            "cList": ["שלום", "こんにちは", "👍"],
            "cEmails": {"primary": "Zoë.Ü@Example.COM", "additional": ["a@x.example", "b@x.example", "c@x.example"]},
            "cPhones": {"primary": "+44 20 7946 0958", "additional": ["+3726123456", "+7 495 123-45-67", "12345"]},
            "cContact": {"first": "محمد", "last": "O'Brien-Łukasz 👩‍💻"},
            "cNotes": {"markdown": "Ünïcödé **bold** 🎉\n\nשלום עולם"},
            "cBudget": {"amount_micros": 10_500_000, "currency": "EUR"},
            "cText": "  padded  ",
            "cTier": "SILVER",
            "cTags": ["RESELLER"],
            "cWhen": "2024-03-01T10:30:00+02:00",
        }),
    )
    .await;

    // Empty values of every kind read back empty.
    round_trip(
        &c,
        "company",
        json!({
            "name": "",
            "cDate": null,
            "cScore": null,
            "cList": [],
            "cEmails": {"primary": "", "additional": []},
            "cPhones": {"primary": "", "additional": []},
            "cContact": {"first": "", "last": ""},
            "cNotes": {"markdown": ""},
            "cBudget": {"amount_micros": null, "currency": ""},
            "cText": "",
            "cTags": [],
            "address": {"street1": "", "street2": "", "city": "", "state": "", "postcode": "", "country": ""},
        }),
    )
    .await;
}

#[tokio::test]
async fn standard_objects_round_trip_with_relations() {
    let (_sbx, c) = start().await;
    let member = c.workspace_members().await.expect("members")[0].id.to_string();
    let company = round_trip(&c, "company", json!({"name": "Globex", "accountOwnerId": member})).await;
    let company_id = company["id"].as_str().unwrap().to_owned();
    let person = round_trip(
        &c,
        "person",
        json!({
            "name": {"first": "Ada", "last": "Lovelace"},
            "emails": {"primary": "ada@ctr.example.com", "additional": ["ada.l@ctr.example.com"]},
            "phones": {"primary": "+33 6 12 34 56 78", "additional": ["+15550100"]},
            "jobTitle": "Analyst",
            "city": "London",
            "companyId": company_id,
        }),
    )
    .await;
    assert_eq!(person["phones"]["primaryPhoneCallingCode"], "+33");
    assert!(person["phones"]["primaryPhoneNumber"].as_str().unwrap().contains("6 12 34 56 78"));
    let person_id = person["id"].as_str().unwrap().to_owned();
    round_trip(
        &c,
        "opportunity",
        json!({
            "name": "Globex renewal",
            "amount": {"amount_micros": 125_000_000_000i64, "currency": "EUR"},
            "stage": "MEETING",
            "closeDate": "2027-03-31T00:00:00.000Z",
            "pointOfContactId": person_id,
            "companyId": company_id,
            "ownerId": member,
        }),
    )
    .await;
    let note = round_trip(&c, "note", json!({"title": "Kick-off", "bodyV2": {"markdown": "Met **Ada**.\n"}})).await;
    round_trip(&c, "noteTarget", json!({"noteId": note["id"], "companyId": company_id})).await;
    round_trip(
        &c,
        "task",
        json!({"title": "Call Ada", "status": "TODO", "dueAt": "2027-01-15T09:00:00.000Z", "assigneeId": member,
               "bodyV2": {"markdown": "- one\n- two\n"}}),
    )
    .await;
}

#[tokio::test]
async fn encode_errors_name_the_field_the_value_and_the_fix() {
    let (_sbx, c) = start().await;
    let schema = c.schema();
    let opportunity = schema.object("opportunity").unwrap();
    let stage = opportunity.field("stage").unwrap();

    let e: CodecError = codec::encode(stage, &json!("WON")).unwrap_err();
    assert_eq!(e.field, "stage");
    assert!(e.value.contains("WON"), "{e}");
    assert!(e.message.contains("NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER"), "{e}");
    assert!(e.fix.contains("option"), "{e}");
    assert_eq!(codec::encode(stage, &json!("MEETING")).unwrap(), json!("MEETING"));

    let errors = codec::encode_record(
        opportunity,
        &map(json!({"stage": "WON", "closeDate": "next week", "amount": {"amount_micros": 1.5, "currency": "EUR"},
                    "companyId": "not-a-uuid", "nmae": "x", "searchVector": "y", "name": "ok"})),
    )
    .unwrap_err();
    let by_field = |f: &str| errors.iter().find(|e| e.field == f).unwrap_or_else(|| panic!("an error for {f}"));
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert!(errors.iter().all(|e| e.object.as_deref() == Some("opportunity")));
    assert!(by_field("closeDate").to_string().contains("next week"));
    assert!(by_field("amount").fix.contains("micros"));
    assert!(by_field("companyId").message.contains("UUID"));
    assert!(by_field("nmae").fix.contains("name"), "{}", by_field("nmae"));
    assert!(by_field("searchVector").message.contains("not written"), "{}", by_field("searchVector"));
    let shown = by_field("stage").to_string();
    assert!(shown.starts_with("opportunity.stage:") && shown.contains("CUSTOMER") && shown.contains("fix:"), "{shown}");

    let person = schema.object("person").unwrap();
    let e = codec::encode(person.field("emails").unwrap(), &json!({"primary": "not an email", "additional": []}));
    assert!(e.unwrap_err().message.contains("not an e-mail"));
    let company = schema.object("company").unwrap();
    let e = codec::encode(company.field("address").unwrap(), &json!({"city": "Paris", "zip": "75001"})).unwrap_err();
    assert!(e.message.contains("\"zip\"") && e.message.contains("postcode"), "{e}");
    let e = codec::encode(
        company.field("annualRecurringRevenue").unwrap(),
        &json!({"amount_micros": 5, "currency": "eur"}),
    );
    assert!(e.unwrap_err().fix.contains("three capital letters"));
    let e = codec::encode(company.field("employees").unwrap(), &json!("many")).unwrap_err();
    assert!(e.fix.contains("number transform"));
    let e = codec::encode(company.field("idealCustomerProfile").unwrap(), &json!("yes")).unwrap_err();
    assert!(e.message.contains("BOOLEAN"));
    assert_eq!(codec::encode(company.field("employees").unwrap(), &Value::Null).unwrap(), Value::Null);
}

#[tokio::test]
async fn multi_select_errors_list_the_options() {
    let (_sbx, c) = start().await;
    add_custom_fields(&c).await;
    let schema = c.schema();
    let tags = schema.object("company").unwrap().field("cTags").unwrap();
    let e = codec::encode(tags, &json!(["VIP", "GOLDEN"])).unwrap_err();
    assert!(e.message.contains("\"GOLDEN\"") && e.message.contains("VIP, PARTNER, RESELLER"), "{e}");
    assert_eq!(codec::encode(tags, &json!(["VIP", "VIP", "PARTNER"])).unwrap(), json!(["VIP", "PARTNER"]));
    assert_eq!(codec::encode(tags, &json!("VIP")).unwrap(), json!(["VIP"]));
    let date = schema.object("company").unwrap().field("cDate").unwrap();
    assert!(codec::encode(date, &json!("2023-02-29")).unwrap_err().message.contains("calendar date"));
}

/// The recorded answers of the real server (exchanges 25, 26, 28, 71, 72) decode into the expected neutral values.
#[tokio::test]
async fn recorded_answers_decode_to_neutral_values() {
    let (_sbx, c) = start().await;
    add_custom_fields(&c).await;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferry-twenty-sandbox/tests/fixtures/twenty-contract");
    let body = |file: &str| -> Map<String, Value> {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let exchange: Value = serde_json::from_str(&text).unwrap();
        let data = exchange["response"]["body"]["data"].as_object().unwrap();
        data.values().next().and_then(Value::as_object).cloned().unwrap()
    };
    let schema = c.schema();
    let decoded = |object: &str, file: &str| codec::decode_record(schema.object(object).unwrap(), &body(file));

    let acme = decoded("company", "25-company-create-full.json");
    assert_eq!(
        acme["domainName"],
        json!({"primary": "https://ctr-acme.example.com", "additional": ["https://shop.ctr-acme.example.com"]})
    );
    assert_eq!(acme["address"]["city"], "Paris");
    assert!(acme["address"].get("lat").is_none(), "lat/lng are not part of the neutral address");
    assert_eq!(acme["annualRecurringRevenue"], json!({"amount_micros": 1_250_000_000_000i64, "currency": "EUR"}));
    assert_eq!(acme["xLink"], Value::Null, "an empty LINKS composite is empty");
    assert_eq!(acme["employees"], json!(120));
    assert!(acme.get("searchVector").is_none() && acme.get("createdBy").is_none() && acme.get("position").is_none());

    let person = decoded("person", "28-person-create-full.json");
    assert_eq!(person["name"], json!({"first": "Ada", "last": "Lovelace"}));
    assert_eq!(person["emails"], json!({"primary": "ada@ctr.example.com", "additional": ["ada.l@ctr.example.com"]}));
    assert_eq!(person["phones"], json!({"primary": "+33612345678", "additional": ["+15550100"]}));
    assert_eq!(person["companyId"], "c2445aca-183f-4ed0-9031-5c94ac5ce468");
    assert_eq!(person["linkedinLink"], Value::Null);

    let opportunity = decoded("opportunity", "71-opportunity-create.json");
    assert_eq!(opportunity["stage"], "MEETING");
    assert_eq!(opportunity["amount"], json!({"amount_micros": 125_000_000_000i64, "currency": "EUR"}));
    assert_eq!(opportunity["pointOfContactId"], "20233d37-0aba-4274-bb6e-c60e0b480b84");

    let task = decoded("task", "72-task-create.json");
    assert_eq!(
        task["bodyV2"],
        json!({"markdown": "# Call Ada\n\n- ask about the **renewal**\n- send the [deck](https://example.com/deck)\n"})
    );

    // amountMicros may come back as a string (PostgreSQL numeric); empty currency composites are empty.
    let budget = schema.object("company").unwrap().field("cBudget").unwrap();
    assert_eq!(
        codec::decode(budget, &json!({"amountMicros": "1500000000", "currencyCode": "USD"})),
        json!({"amount_micros": 1_500_000_000i64, "currency": "USD"})
    );
    assert_eq!(codec::decode(budget, &json!({"amountMicros": null, "currencyCode": null})), Value::Null);
    assert_eq!(codec::decode(budget, &json!({"amountMicros": null, "currencyCode": "USD"})), Value::Null);
    let emails = schema.object("company").unwrap().field("cEmails").unwrap();
    assert_eq!(codec::decode(emails, &json!({"primaryEmail": "", "additionalEmails": null})), Value::Null);
}

/// Source values through ferry-core's transforms (as a plan applies them), then the codec and the sandbox: links
/// without a scheme, fractional currency amounts, e-mails from JSON objects, phones with and without a calling
/// code, Markdown, dates from date-times.
#[tokio::test]
async fn transformed_source_values_round_trip() {
    use ferry_core::transform::Transform;
    let (_sbx, c) = start().await;
    add_custom_fields(&c).await;
    let apply = |t: Transform, inputs: &[Value]| -> Value {
        let refs: Vec<&Value> = inputs.iter().collect();
        t.apply(&refs).expect("transform").value.unwrap_or(Value::Null)
    };
    let neutral = json!({
        "name": apply(Transform::Text, &[json!("Initech 🖨️")]),
        "domainName": apply(
            Transform::Links,
            &[json!(["initech.example", "https://initech.example", "blog.initech.example"])]
        ),
        "annualRecurringRevenue": apply(Transform::Currency { currency: "USD".into() }, &[json!(1234.56)]),
        "cBudget": apply(Transform::Currency { currency: "EUR".into() }, &[json!("0.01")]),
        "employees": apply(Transform::Number, &[json!("250")]),
        "cEmails": apply(
            Transform::Emails,
            &[json!([{"email": "Bill@Initech.example", "type": "Work"}, {"email": "bill@home.example"}])]
        ),
        "cPhones": apply(
            Transform::Phones,
            &[json!([{"number": "+49 30 1234567"}, {"number": "555-0100"}, {"number": "+1-800-555-0199"}])]
        ),
        "cContact": apply(Transform::FullName, &[json!("Bill"), json!("Lumbergh")]),
        "address": apply(
            Transform::Address,
            &[json!("1 Initech Way"), Value::Null, json!("Austin"), json!("TX"), json!("78701")]
        ),
        "cNotes": apply(Transform::RichText, &[json!("## TPS reports\n\n1. cover sheet\n2. memo\n")]),
        "cDate": apply(Transform::Date, &[json!("2024-02-29T23:30:00Z")]),
        "cWhen": apply(Transform::DateTime, &[json!("2024-03-01 08:30:00+00")]),
        "cFlag": apply(Transform::Boolean, &[json!("yes")]),
        "cText": apply(Transform::Text, &[json!(42)]),
    });
    assert_eq!(neutral["domainName"]["primary"], "https://initech.example");
    assert_eq!(neutral["annualRecurringRevenue"]["amount_micros"], json!(1_234_560_000i64));
    let read = round_trip(&c, "company", neutral).await;
    assert_eq!(read["domainName"]["primaryLinkUrl"], "https://initech.example");
    assert_eq!(read["domainName"]["secondaryLinks"][0]["url"], "https://blog.initech.example");
    assert_eq!(read["cPhones"]["primaryPhoneCallingCode"], "+49");
    assert_eq!(read["cPhones"]["additionalPhones"][0]["number"], "555-0100");
    assert_eq!(read["cPhones"]["additionalPhones"][1]["callingCode"], "+1");
    assert_eq!(read["annualRecurringRevenue"]["amountMicros"], json!(1_234_560_000i64));
}
