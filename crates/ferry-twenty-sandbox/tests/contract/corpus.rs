//! Loading the recorded exchanges copied into `tests/fixtures/twenty-contract/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One recorded request/response exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The number in the file name: "00a", "07", "99".
    pub id: String,
    /// The file name without `.json`, e.g. "25-company-create-full".
    pub label: String,
    /// `request` as recorded.
    pub request: Value,
    /// `response` as recorded.
    pub response: Value,
}

impl Exchange {
    /// HTTP method of the recorded request.
    pub fn method(&self) -> &str {
        self.request["method"].as_str().unwrap_or("GET")
    }

    /// Path of the recorded request (before rewriting).
    pub fn path(&self) -> &str {
        self.request["path"].as_str().unwrap_or("/")
    }

    /// A decoded query parameter of the recorded request.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.request["query"].get(key).and_then(Value::as_str)
    }

    /// Recorded status code.
    pub fn status(&self) -> u16 {
        self.response["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0)
    }

    /// "POST /rest/companies?upsert=true", for reports.
    pub fn request_line(&self) -> String {
        let mut line = format!("{} {}", self.method(), self.path());
        if let Some(query) = self.request["query"].as_object().filter(|q| !q.is_empty()) {
            let parts: Vec<String> =
                query.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
            line.push('?');
            line.push_str(&parts.join("&"));
        }
        if line.len() > 110 {
            let cut = line.char_indices().nth(107).map_or(line.len(), |(i, _)| i);
            line.truncate(cut);
            line.push('…');
        }
        line
    }
}

/// Directory holding the copied corpus.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twenty-contract")
}

/// Every exchange of the copied corpus, in recorded (file-name) order.
pub fn load_all() -> Vec<Exchange> {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the contract fixtures in {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".json") && name.as_bytes().first().is_some_and(u8::is_ascii_digit)
        })
        .collect();
    files.sort();
    files.iter().map(|p| load(p)).collect()
}

fn load(path: &Path) -> Exchange {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let label = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let id = label.split('-').next().unwrap_or_default().to_string();
    Exchange { id, label, request: json["request"].clone(), response: json["response"].clone() }
}

/// The recording's start time (`recorded_at` in index.json).
pub fn recorded_at() -> jiff::Timestamp {
    let path = fixtures_dir().join("index.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    json["recorded_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{} has no valid recorded_at", path.display()))
}
