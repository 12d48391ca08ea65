//! Tests of the harness itself, against a consistently renamed copy of the recording (no sandbox needed).

use crate::compare::{self, Mismatch, Normaliser};
use crate::corpus::{self, Exchange};
use crate::report::{self, KnownDeviation, Outcome};
use crate::{rewrite, selftest};

/// Runs the harness over the whole recording with the "other server" answers, after `mutate` may alter some.
/// With `check_requests`, every rewritten request must also be what a client of that server would send.
fn replay_against_other_server(
    check_requests: bool,
    mutate: impl Fn(&str, &mut serde_json::Value) -> Option<u16>,
) -> Vec<Outcome> {
    let exchanges = corpus::load_all();
    let recorded_at = corpus::recorded_at();
    let other = selftest::OtherServer::new(&exchanges, recorded_at);
    let run_start = recorded_at + jiff::SignedDuration::from_hours(selftest::OTHER_SHIFT_HOURS);
    let mut norm = Normaliser::new(selftest::OTHER_BASE, recorded_at, run_start);
    norm.now_bound = false;
    let mut outcomes = Vec::new();
    for ex in &exchanges {
        let prepared = norm.prepare(ex);
        if check_requests {
            check_rewritten_request(ex, &prepared, &other.answer(&ex.request, None));
        }
        let mut body = other.answer(&ex.response["body"], None);
        let status = mutate(&ex.id, &mut body).unwrap_or_else(|| ex.status());
        let bytes = match &body {
            serde_json::Value::String(s) => s.clone().into_bytes(),
            serde_json::Value::Null => Vec::new(),
            v => serde_json::to_vec(v).expect("serialisable"),
        };
        let headers: Vec<(String, String)> = ex.response["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        let mismatches = norm.check(ex, status, &headers, &bytes);
        outcomes.push(Outcome {
            id: ex.id.clone(),
            label: ex.label.clone(),
            request_line: ex.request_line(),
            mismatches,
        });
    }
    outcomes
}

/// The rewritten request must be what a client of the other server would send: its ids and token, shifted instants.
fn check_rewritten_request(ex: &Exchange, prepared: &rewrite::Prepared, expected: &serde_json::Value) {
    let mut expected_path = expected["path"].as_str().unwrap_or_default().to_string();
    expected_path = expected_path.replace(selftest::OTHER_BASE, "");
    assert_eq!(prepared.path, expected_path, "{}: rewritten path", ex.label);
    for (k, v) in &prepared.query {
        let want = expected["query"][k].as_str().unwrap_or_default();
        if k == "starting_after" || k == "ending_before" {
            let want = compare::decode_cursor(want);
            assert_eq!(compare::decode_cursor(v), want, "{}: rewritten cursor {k}", ex.label);
        } else {
            assert_eq!(v, want, "{}: rewritten query {k}", ex.label);
        }
    }
    if let rewrite::Body::Json(body) = &prepared.body {
        // GraphQL cursors in variables are re-encoded; compare them decoded.
        let mut body = body.clone();
        let mut want = expected["body"].clone();
        for v in [&mut body, &mut want] {
            if let Some(after) = v.pointer_mut("/variables/after")
                && let Some(decoded) = after.as_str().and_then(compare::decode_cursor)
            {
                *after = decoded;
            }
        }
        assert_eq!(body, want, "{}: rewritten body", ex.label);
    }
}

#[test]
fn harness_accepts_a_faithful_server_with_other_ids_instants_and_tokens() {
    let outcomes = replay_against_other_server(true, |_, _| None);
    let failing: Vec<(&str, &Vec<Mismatch>)> =
        outcomes.iter().filter(|o| !o.mismatches.is_empty()).map(|o| (o.label.as_str(), &o.mismatches)).collect();
    assert!(failing.is_empty(), "false differences: {failing:#?}");
    assert_eq!(outcomes.len(), 97);
}

#[test]
fn harness_reports_each_kind_of_difference_at_its_path() {
    use serde_json::json;
    let outcomes = replay_against_other_server(true, |id, body| match id {
        // A value differs.
        "25" => {
            body["data"]["createCompany"]["address"]["addressCity"] = json!("Pariss");
            None
        }
        // A field is missing, another is added.
        "28" => {
            let person = body["data"]["createPerson"].as_object_mut().expect("person");
            person.remove("jobTitle");
            person.insert("extra".into(), json!(1));
            None
        }
        // The client-supplied id was not kept.
        "30" => {
            body["data"]["company"]["id"] = json!("11111111-2222-4333-8444-555555555555");
            None
        }
        // The upsert reset createdAt (it must be the instant the record was created at in 25).
        "62" => {
            body["data"]["createCompany"]["createdAt"] = json!("2026-11-21T23:59:59.999Z");
            None
        }
        // The update answers an updatedAt earlier than the record's creation (25).
        "32" => {
            body["data"]["updateCompany"]["updatedAt"] = json!("2026-11-21T23:30:00.000Z");
            None
        }
        // A default-ordered page is not in id order.
        "36" => {
            body["data"]["companies"].as_array_mut().expect("page").swap(0, 1);
            None
        }
        // Status differs.
        "27" => Some(422),
        // A metadata object's label differs: reported under the object's name.
        "01" => {
            let objects = body["data"]["objects"].as_array_mut().expect("objects");
            let company = objects.iter_mut().find(|o| o["nameSingular"] == "company").expect("company");
            company["labelSingular"] = json!("Firm");
            None
        }
        // DELETE by filter: order is free (heap order), the set is not.
        "50" => {
            let ids = body["data"]["deleteCompanies"].as_array_mut().expect("ids");
            ids.reverse();
            ids.pop();
            None
        }
        // The signed URL points at another server.
        "81" => {
            let url = body["data"]["attachment"]["fullPath"]
                .as_str()
                .expect("url")
                .replace(selftest::OTHER_BASE, "http://localhost:1");
            body["data"]["attachment"]["fullPath"] = json!(url);
            None
        }
        // The downloaded bytes differ.
        "82" => {
            *body = json!("hello\n");
            None
        }
        // An error message differs.
        "61" => {
            body["messages"][0] = json!("Foreign key violation");
            None
        }
        _ => None,
    });
    let paths = |id: &str| -> Vec<String> {
        outcomes.iter().find(|o| o.id == id).map(|o| o.mismatches.iter().map(|m| m.path.clone()).collect()).unwrap()
    };
    assert_eq!(paths("25"), ["data.createCompany.address.addressCity"]);
    assert_eq!(paths("28"), ["data.createPerson.jobTitle", "data.createPerson.extra"]);
    assert_eq!(paths("30"), ["data.company.id"]);
    assert_eq!(paths("62"), ["data.createCompany.createdAt"]);
    assert!(paths("36").contains(&"data.companies".to_string()), "{:?}", paths("36"));
    assert_eq!(paths("27"), ["<status>"]);
    assert_eq!(paths("61"), ["messages[0]"]);
    assert_eq!(paths("01"), ["data.objects[company].labelSingular"]);
    assert_eq!(paths("32"), ["data.updateCompany.updatedAt"]);
    assert_eq!(paths("50"), ["data.deleteCompanies"]);
    assert_eq!(paths("81"), ["data.attachment.fullPath"]);
    assert_eq!(paths("82"), ["<body text>"]);
    let mutated = ["25", "28", "30", "32", "62", "36", "27", "61", "01", "50", "81", "82"];
    let others: Vec<&Outcome> =
        outcomes.iter().filter(|o| !mutated.contains(&o.id.as_str()) && !o.mismatches.is_empty()).collect();
    assert!(others.is_empty(), "unexpected differences: {others:#?}");
}

#[test]
fn report_lists_failures_known_deviations_and_stale_entries() {
    let outcome = |id: &str, paths: &[&str]| Outcome {
        id: id.into(),
        label: format!("{id}-x"),
        request_line: "GET /x".into(),
        mismatches: paths
            .iter()
            .map(|p| Mismatch { path: (*p).into(), recorded: "a".into(), got: "b".into() })
            .collect(),
    };
    let outcomes = [outcome("01", &[]), outcome("02", &["data.x"]), outcome("03", &["data.y.searchVector"])];
    let known = [
        KnownDeviation { exchange: "03", path: "data.*.searchVector", reason: "tsvector" },
        KnownDeviation { exchange: "01", path: "*", reason: "stale" },
    ];
    let report = report::report(&outcomes, &known);
    assert_eq!(report.failing, ["02-x"]);
    assert_eq!(report.stale.len(), 1);
    assert!(report.text.contains("1 pass, 1 pass with known deviations, 1 fail"), "{}", report.text);
    assert!(report.text.contains("FAIL  02-x") && report.text.contains("KNOWN 03-x"), "{}", report.text);
}

/// A partial default-ordered page may hold other records than the recorded page (the servers' ids sort
/// differently): each is then compared with its last recorded state. A complete page may not.
#[test]
fn harness_compares_other_records_on_partial_pages_only() {
    use serde_json::json;
    let exchanges = corpus::load_all();
    let other = selftest::OtherServer::new(&exchanges, corpus::recorded_at());
    let body_of = |id: &str| {
        let ex = exchanges.iter().find(|e| e.id == id).expect("exchange");
        other.answer(&ex.response["body"], None)
    };
    // 36 (limit 2 of 206) answers with the two records the recording showed on 37, with cursors naming them.
    let page_37 = body_of("37")["data"]["companies"].clone();
    // 45 (15 of 15) swaps one record for a company it does not list (CTR-Legacy Imported, exchange 30).
    let stranger = body_of("30")["data"]["company"].clone();
    // 37 then follows the cursor of the page 36 answered, so its request differs from the recorded one.
    let outcomes = replay_against_other_server(false, |id, body| {
        match id {
            "36" => {
                let cursor = |i: usize| compare::encode_cursor(&json!({ "id": page_37[i]["id"] }));
                body["data"]["companies"] = page_37.clone();
                body["pageInfo"]["startCursor"] = json!(cursor(0));
                body["pageInfo"]["endCursor"] = json!(cursor(1));
            }
            "45" => body["data"]["companies"][3] = stranger.clone(),
            _ => {}
        }
        None
    });
    let paths = |id: &str| -> Vec<String> {
        outcomes.iter().find(|o| o.id == id).map(|o| o.mismatches.iter().map(|m| m.path.clone()).collect()).unwrap()
    };
    assert_eq!(paths("36"), Vec::<String>::new(), "other records on a partial page are compared with their state");
    let p45 = paths("45");
    assert!(p45.contains(&"data.companies[3]".to_string()), "{p45:?}");
    let m45 = &outcomes.iter().find(|o| o.id == "45").expect("45").mismatches;
    assert!(m45.iter().any(|m| m.got.contains("not listed here")), "{m45:?}");
}
