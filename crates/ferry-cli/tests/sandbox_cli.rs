//! `ferry sandbox` serves a Twenty workspace that answers like the real server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Served {
    child: Child,
    base_url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ferry sandbox` on a free port and reads the address it prints.
fn serve(extra: &[&str]) -> (Served, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ferry binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = Vec::new();
    let mut base_url = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout is UTF-8");
        if let Some(url) = line.strip_prefix("Twenty sandbox listening on ") {
            base_url = Some(url.trim().to_string());
        }
        let done = line.starts_with("Press Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    let base_url = base_url.unwrap_or_else(|| panic!("ferry sandbox printed no address; it printed {lines:?}"));
    (Served { child, base_url }, lines)
}

#[tokio::test]
async fn sandbox_lists_companies_in_twentys_shape_and_refuses_calls_without_a_key() {
    let (served, printed) = serve(&["--api-key", "k"]);
    assert!(printed.iter().any(|l| l == "API key: k"), "the accepted key is printed: {printed:?}");
    let http = reqwest::Client::new();

    let with_key = http
        .get(format!("{}/rest/companies?limit=5", served.base_url))
        .bearer_auth("k")
        .send()
        .await
        .expect("sandbox answers");
    assert_eq!(with_key.status(), 200);
    let body: serde_json::Value = with_key.json().await.expect("JSON body");
    assert!(body["data"]["companies"].is_array(), "list envelope: {body}");
    assert_eq!(body["totalCount"], 0);
    for key in ["startCursor", "endCursor", "hasNextPage", "hasPreviousPage"] {
        assert!(body["pageInfo"].get(key).is_some(), "pageInfo.{key} missing: {body}");
    }

    let without_key = http.get(format!("{}/rest/companies?limit=5", served.base_url)).send().await.unwrap();
    assert_eq!(without_key.status(), 403);
    let body: serde_json::Value = without_key.json().await.unwrap();
    assert_eq!(body["messages"][0], "Missing authentication token");
    assert_eq!(body["error"], "FORBIDDEN_EXCEPTION");

    let bad_key = http.get(format!("{}/rest/companies", served.base_url)).bearer_auth("nope").send().await.unwrap();
    assert_eq!(bad_key.status(), 401);
}

#[tokio::test]
async fn sandbox_prints_a_generated_key_when_none_is_given_and_accepts_it() {
    let (served, printed) = serve(&[]);
    let key = printed
        .iter()
        .find_map(|l| l.strip_prefix("API key: "))
        .unwrap_or_else(|| panic!("no key printed: {printed:?}"))
        .to_string();
    assert!(key.len() >= 16, "a generated key is not guessable: {key}");
    let status =
        reqwest::Client::new().get(format!("{}/rest/people", served.base_url)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(status.status(), 200);
}

#[test]
fn sandbox_refuses_an_unreadable_members_file_and_names_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--members", "/nonexistent/members.json"])
        .output()
        .expect("ferry binary runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/members.json"), "the error names the file: {err}");
}

#[tokio::test]
async fn sandbox_injects_the_faults_it_is_asked_for() {
    let (served, _) = serve(&["--api-key", "k", "--fail-5xx", "1", "--rate-limit", "0"]);
    let status = reqwest::Client::new()
        .get(format!("{}/rest/companies", served.base_url))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_server_error(), "every call fails with a 5xx: got {status}");
}

#[tokio::test]
async fn sandbox_can_behave_like_newer_servers_with_morph_target_columns() {
    let (served, _) = serve(&["--api-key", "k", "--morph-targets"]);
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/rest/metadata/objects", served.base_url))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let objects = body["data"]["objects"].as_array().expect("objects");
    let note_target = objects.iter().find(|o| o["nameSingular"] == "noteTarget").expect("noteTarget");
    let names: Vec<&str> =
        note_target["fields"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    assert!(names.contains(&"targetCompany"), "morph target fields: {names:?}");
    assert!(!names.contains(&"company"), "no plain company relation: {names:?}");
}

#[test]
fn sandbox_refuses_a_fault_share_above_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--fail-5xx", "1.5"])
        .output()
        .expect("ferry binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not between 0 and 1"));
}
