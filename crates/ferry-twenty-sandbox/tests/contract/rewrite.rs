//! Rewriting a recorded request so it means the same thing to the sandbox.
//!
//! Recorded requests name ids, instants and cursors the real server handed out earlier. Each is replaced by what the
//! sandbox handed out at the same place ([`Normaliser`] bindings); an id the client made up itself (never returned
//! before) is pinned to itself, so the sandbox must keep it. A cursor the sandbox never returned is decoded, rewritten
//! and re-encoded. An instant of the recording session that the sandbox never returned (the run start in exchange 42)
//! is shifted by the distance between the two runs.

use serde_json::Value;

use crate::compare::{FILE_TOKEN, Normaliser, RECORDED_SERVER, TS_ANY_RE, UUID_RE, decode_cursor, encode_cursor};
use crate::corpus::Exchange;

/// How the request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <the sandbox's key>`.
    ApiKey,
    /// No Authorization header.
    None,
    /// A Bearer token that is not an API key.
    Invalid,
}

/// One multipart file part.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// Form field name ("0").
    pub name: String,
    /// File name sent.
    pub filename: String,
    /// Content type of the part.
    pub content_type: String,
    /// The file's text.
    pub content: String,
}

/// Body of a prepared request.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    None,
    /// `application/json`.
    Json(Value),
    /// GraphQL multipart upload: `operations`, `map`, then the files.
    Multipart { operations: String, map: String, files: Vec<FilePart> },
}

/// A recorded request rewritten for the sandbox.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// HTTP method.
    pub method: String,
    /// Path, rewritten.
    pub path: String,
    /// Decoded query pairs, rewritten (the client encodes them).
    pub query: Vec<(String, String)>,
    /// Authentication.
    pub auth: Auth,
    /// Body, rewritten.
    pub body: Body,
}

impl Normaliser {
    /// Rewrites the recorded request of `ex` through the current bindings.
    pub fn prepare(&mut self, ex: &Exchange) -> Prepared {
        self.exchange = ex.label.clone();
        let path = self.rewrite_text(ex.path());
        let mut query = Vec::new();
        if let Some(q) = ex.request["query"].as_object() {
            for (k, v) in q {
                let v = v.as_str().map_or_else(|| v.to_string(), String::from);
                let v = if k == "starting_after" || k == "ending_before" {
                    self.rewrite_cursor(&v)
                } else {
                    self.rewrite_text(&v)
                };
                query.push((k.clone(), v));
            }
        }
        let auth = match ex.request["auth"].as_str() {
            Some("none") => Auth::None,
            Some("api-key") => Auth::ApiKey,
            _ => Auth::Invalid,
        };
        let recorded = &ex.request["body"];
        let body = if ex.request["content_type"].as_str() == Some("multipart/form-data") {
            let operations = self.rewrite_json(&recorded["operations"], None);
            let files = recorded["files"]
                .as_object()
                .map(|files| {
                    files
                        .iter()
                        .map(|(name, f)| FilePart {
                            name: name.clone(),
                            filename: f["filename"].as_str().unwrap_or_default().to_string(),
                            content_type: f["contentType"].as_str().unwrap_or("application/octet-stream").to_string(),
                            content: f["content"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Body::Multipart { operations: operations.to_string(), map: recorded["map"].to_string(), files }
        } else if recorded.is_null() {
            Body::None
        } else {
            Body::Json(self.rewrite_json(recorded, None))
        };
        Prepared { method: ex.method().to_string(), path, query, auth, body }
    }

    fn rewrite_json(&mut self, v: &Value, key: Option<&str>) -> Value {
        match v {
            Value::String(s) if matches!(key, Some("after" | "before")) => Value::String(self.rewrite_cursor(s)),
            Value::String(s) => Value::String(self.rewrite_text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.rewrite_json(i, None)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.rewrite_json(v, Some(k)))).collect())
            }
            other => other.clone(),
        }
    }

    /// Ids, instants, the file token and the server URL inside any string.
    pub fn rewrite_text(&mut self, s: &str) -> String {
        let mut text = s.to_string();
        if text.contains(FILE_TOKEN)
            && let Some(token) = self.file_token.clone()
        {
            text = text.replace(FILE_TOKEN, &token);
        }
        text = text.replace(RECORDED_SERVER, &self.base_url.clone());
        let text = UUID_RE.replace_all(&text, |c: &regex::Captures<'_>| self.pin_or_map_id(&c[0])).into_owned();
        TS_ANY_RE
            .replace_all(&text, |c: &regex::Captures<'_>| {
                let ts = &c[0];
                if let Some(mapped) = self.sandbox_time(ts) {
                    return mapped.to_string();
                }
                match ts.parse::<jiff::Timestamp>() {
                    Ok(t) if self.in_session(ts) => {
                        let t = t + self.shift;
                        format!("{}.{:03}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_millisecond())
                    }
                    _ => ts.to_string(),
                }
            })
            .into_owned()
    }

    /// A cursor the sandbox returned for the same place, else the recorded cursor with its content rewritten.
    pub fn rewrite_cursor(&mut self, s: &str) -> String {
        if let Some(got) = self.cursors.get(s) {
            return got.clone();
        }
        match decode_cursor(s) {
            Some(decoded) => {
                let rewritten = self.rewrite_json(&decoded, None);
                encode_cursor(&rewritten)
            }
            None => s.to_string(),
        }
    }
}
