//! Sending the recorded requests to a running sandbox, in order, and reporting the differences.

use std::time::Duration;

use ferry_twenty_sandbox::SandboxHandle;

use crate::compare::{Mismatch, Normaliser, Rule, rules_for, short_str};
use crate::corpus::Exchange;
use crate::report::Outcome;
use crate::rewrite::{Auth, Body, Prepared};

/// A Bearer token that is not the sandbox's key (exchange 00b).
const INVALID_KEY: &str = "not-a-valid-api-key-for-the-contract-test";

/// An HTTP client for the replay: loopback only, no redirects, generous timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client")
}

/// The recorded id of "CTR-Trash Co", which the recorder created without recording the request (see [`replay`]).
const TRASH_CO_RECORDED_ID: &str = "0b6115c0-fe92-4423-9c41-1a3829cd55c7";

/// Replays `exchanges` in order against `handle`, comparing each answer with the recording.
///
/// Three steps the recording implies but did not record are reproduced, each checked, and any difference is reported
/// under the exchange that follows it:
/// - before 63: `POST /rest/companies` "CTR-Trash Co" with domain `https://ctr-trash.example.com`. 63 soft-deletes
///   that company (created 22:30:12.846, position -7), which no earlier exchange created or returned, and 66/67 use
///   its domain. Its sandbox id is bound to the recorded one.
/// - before 97: `DELETE /rest/companies?filter=name[like]:CTR-%`. 92/93 count 7 CTR- companies, no recorded exchange
///   deletes them, and 99 finds none.
/// - rate limit (97–99): the recording sent 100 counted calls with a full bucket right before 97 and waited 61 s
///   before 99. Before 97 the sandbox's clock is moved on 61 s (a full bucket) and 100 `GET /rest/companies?limit=1`
///   are sent, each of which must answer 200; before 99 the clock is moved on 61 s again.
pub async fn replay(handle: &SandboxHandle, exchanges: &[Exchange], norm: &mut Normaliser) -> Vec<Outcome> {
    let client = client();
    let mut outcomes = Vec::new();
    for ex in exchanges {
        let mut mismatches = Vec::new();
        if ex.id == "63" {
            let body = serde_json::json!({
                "name": "CTR-Trash Co",
                "domainName": { "primaryLinkUrl": "https://ctr-trash.example.com" }
            });
            match setup_call(&client, handle, "POST", "/rest/companies", &[], Some(&body), 201).await {
                Ok(answer) => {
                    let id = answer["data"]["createCompany"]["id"].as_str().unwrap_or_default();
                    if !norm.bind_setup_id(TRASH_CO_RECORDED_ID, id) {
                        mismatches.push(setup_mismatch("create CTR-Trash Co", "a new id", id));
                    }
                }
                Err(got) => mismatches.push(setup_mismatch("create CTR-Trash Co", "201", &got)),
            }
        }
        if ex.id == "97" {
            let query = [("filter".to_string(), "name[like]:CTR-%".to_string())];
            if let Err(got) = setup_call(&client, handle, "DELETE", "/rest/companies", &query, None, 200).await {
                mismatches.push(setup_mismatch("delete every CTR- company", "200", &got));
            }
            handle.advance_clock(Duration::from_secs(61));
            for n in 1..=100 {
                let query = [("limit".to_string(), "1".to_string())];
                if let Err(got) = setup_call(&client, handle, "GET", "/rest/companies", &query, None, 200).await {
                    mismatches.push(setup_mismatch(&format!("rate-limit prelude call {n} of 100"), "200", &got));
                }
            }
        }
        if ex.id == "99" {
            handle.advance_clock(Duration::from_secs(61));
        }
        let prepared = norm.prepare(ex);
        match send(&client, handle, &prepared).await {
            Ok((status, headers, body)) => {
                dump(ex, &prepared, status, &body);
                mismatches.extend(norm.check(ex, status, &headers, &body));
                let partial = rules_for(ex).iter().any(|r| matches!(r.rule, Rule::IdOrderedPage { complete: false }));
                if partial && status == 200 {
                    mismatches.extend(cross_check_page(&client, handle, ex, &prepared, &body, norm).await);
                }
            }
            Err(e) => mismatches.push(Mismatch {
                path: "<transport>".into(),
                recorded: format!("a {} response", ex.status()),
                got: short_str(&format!("{e:#}")),
            }),
        }
        outcomes.push(Outcome {
            id: ex.id.clone(),
            label: ex.label.clone(),
            request_line: ex.request_line(),
            mismatches,
        });
    }
    outcomes
}

/// With `FERRY_CONTRACT_DUMP=<dir>`, writes each request as sent and the sandbox's answer, for debugging.
fn dump(ex: &Exchange, req: &Prepared, status: u16, body: &[u8]) {
    let Ok(dir) = std::env::var("FERRY_CONTRACT_DUMP") else { return };
    let body_text = String::from_utf8_lossy(body);
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::String(body_text.into()));
    let request_body = match &req.body {
        Body::Json(v) => v.clone(),
        Body::Multipart { operations, .. } => serde_json::Value::String(operations.clone()),
        Body::None => serde_json::Value::Null,
    };
    let record = serde_json::json!({
        "request": { "method": req.method, "path": req.path, "query": req.query, "body": request_body },
        "response": { "status": status, "body": answer },
    });
    let path = std::path::Path::new(&dir).join(format!("{}.sandbox.json", ex.label));
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}

/// A partial default-ordered page (e.g. 60 of 206) holds whichever records sort first by the server's own ids, so
/// the body comparison can only check it record by record. This reads the sandbox's whole result for the same filter
/// (pages of 200, without the page's cursor) and checks that the page is a run of it in id order, that its size is
/// `totalCount`, and that every record the recorded page showed is part of it (the filter kept it on the real
/// server). The bucket is refilled first (clock +61 s) so these extra calls cannot cause a 429 the recording did not
/// have.
async fn cross_check_page(
    client: &reqwest::Client,
    handle: &SandboxHandle,
    ex: &Exchange,
    prepared: &Prepared,
    body: &[u8],
    norm: &Normaliser,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut fail = |what: &str, recorded: String, got: String| {
        out.push(Mismatch { path: format!("<whole result: {what}>"), recorded, got });
    };
    let Ok(page) = serde_json::from_slice::<serde_json::Value>(body) else { return out };
    let Some((key, items)) = page["data"].as_object().and_then(|d| d.iter().next()) else { return out };
    let ids = |items: &serde_json::Value| -> Vec<String> {
        items
            .as_array()
            .map_or_else(Vec::new, |a| a.iter().filter_map(|v| v["id"].as_str().map(String::from)).collect())
    };
    let page_ids = ids(items);
    handle.advance_clock(Duration::from_secs(61));
    let mut all: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let mut query: Vec<(String, String)> = prepared
            .query
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "starting_after" | "ending_before" | "limit"))
            .cloned()
            .collect();
        query.push(("limit".into(), "200".into()));
        if let Some(cursor) = &after {
            query.push(("starting_after".into(), cursor.clone()));
        }
        let req = Prepared { query, body: Body::None, ..prepared.clone() };
        let answer = match send(client, handle, &req).await {
            Ok((200, _, bytes)) => serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
            Ok((status, _, bytes)) => {
                fail("read", "200".into(), format!("{status} {}", short_str(&String::from_utf8_lossy(&bytes))));
                return out;
            }
            Err(e) => {
                fail("read", "200".into(), format!("transport error: {e:#}"));
                return out;
            }
        };
        all.extend(ids(&answer["data"][key]));
        match answer["pageInfo"]["endCursor"].as_str() {
            Some(cursor) if answer["pageInfo"]["hasNextPage"] == true => after = Some(cursor.to_string()),
            _ => break,
        }
    }
    if Some(all.len() as u64) != page["totalCount"].as_u64() {
        fail("size", format!("totalCount {}", page["totalCount"]), format!("{} records", all.len()));
    }
    if all.windows(2).any(|w| w[0] >= w[1]) {
        fail("order", "ascending ids".into(), "other order".into());
    }
    let run = all.iter().position(|id| Some(id) == page_ids.first()).map(|start| &all[start..]);
    if !page_ids.is_empty() && run.is_none_or(|rest| !rest.starts_with(&page_ids)) {
        fail("page", "a run of the whole result in id order".into(), short_str(&format!("{page_ids:?}")));
    }
    for recorded in ids(&ex.response["body"]["data"][key]) {
        if let Some(id) = norm.sandbox_id(&recorded)
            && !all.iter().any(|a| a == id)
        {
            fail("membership", format!("record {recorded} (recorded on this page)"), format!("{id} is not in it"));
        }
    }
    out
}

fn setup_mismatch(step: &str, recorded: &str, got: &str) -> Mismatch {
    Mismatch { path: format!("<setup: {step}>"), recorded: recorded.to_string(), got: short_str(got) }
}

/// One unrecorded step: sends it with the API key and returns the JSON answer, or what went wrong.
async fn setup_call(
    client: &reqwest::Client,
    handle: &SandboxHandle,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&serde_json::Value>,
    expected: u16,
) -> Result<serde_json::Value, String> {
    let req = Prepared {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_vec(),
        auth: Auth::ApiKey,
        body: body.map_or(Body::None, |b| Body::Json(b.clone())),
    };
    let (status, _, bytes) = send(client, handle, &req).await.map_err(|e| format!("transport error: {e:#}"))?;
    let text = String::from_utf8_lossy(&bytes);
    if status != expected {
        return Err(format!("{status} {text}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{status}, not JSON ({e}): {text}"))
}

/// Sends one prepared request; returns status, headers (lower-case names) and body bytes.
pub async fn send(
    client: &reqwest::Client,
    handle: &SandboxHandle,
    req: &Prepared,
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), reqwest::Error> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = client.request(method, format!("{}{}", handle.base_url(), req.path));
    if !req.query.is_empty() {
        builder = builder.query(&req.query);
    }
    builder = match req.auth {
        Auth::ApiKey => builder.bearer_auth(handle.api_key()),
        Auth::Invalid => builder.bearer_auth(INVALID_KEY),
        Auth::None => builder,
    };
    builder = match &req.body {
        Body::None => builder,
        Body::Json(v) => builder.json(v),
        Body::Multipart { operations, map, files } => {
            let mut form =
                reqwest::multipart::Form::new().text("operations", operations.clone()).text("map", map.clone());
            for f in files {
                let part = reqwest::multipart::Part::bytes(f.content.clone().into_bytes())
                    .file_name(f.filename.clone())
                    .mime_str(&f.content_type)?;
                form = form.part(f.name.clone(), part);
            }
            builder.multipart(form)
        }
    };
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = response.bytes().await?.to_vec();
    Ok((status, headers, body))
}
