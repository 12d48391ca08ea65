//! A "second server" made from the recording itself, to test the harness without the sandbox.
//!
//! Every server-assigned id, server instant, cursor, file token, storage root and server URL of the recording is
//! replaced consistently, as a different but faithful server would answer. Ids keep their sort order (only the last
//! group changes) so pages hold the same records. Ids the client made up are kept, as the real server keeps them.

use std::collections::HashSet;

use serde_json::Value;

use crate::compare::{FILE_TOKEN, RECORDED_SERVER, STORAGE_ROOT, TS_ANY_RE, UUID_RE, decode_cursor, encode_cursor};
use crate::corpus::Exchange;

/// Base URL of the imaginary second server.
pub const OTHER_BASE: &str = "http://127.0.0.1:45678";
/// Its file token.
pub const OTHER_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ3b3Jrc3BhY2UiOiJ4In0.c2lnbmF0dXJl";
/// How much later its instants are.
pub const OTHER_SHIFT_HOURS: i64 = 1;

/// Renames ids, instants, cursors and tokens of recorded responses.
pub struct OtherServer {
    client_ids: HashSet<String>,
    window: (jiff::Timestamp, jiff::Timestamp),
}

impl OtherServer {
    /// Ids a request names before any response did are the client's own.
    pub fn new(exchanges: &[Exchange], recorded_at: jiff::Timestamp) -> Self {
        let mut seen = HashSet::new();
        let mut client_ids = HashSet::new();
        for ex in exchanges {
            for m in UUID_RE.find_iter(&ex.request.to_string()) {
                let id = m.as_str().to_ascii_lowercase();
                if !seen.contains(&id) {
                    client_ids.insert(id);
                }
            }
            for m in UUID_RE.find_iter(&ex.response.to_string()) {
                seen.insert(m.as_str().to_ascii_lowercase());
            }
        }
        let day = jiff::SignedDuration::from_hours(24);
        OtherServer { client_ids, window: (recorded_at - day, recorded_at + day) }
    }

    fn id(&self, id: &str) -> String {
        let lower = id.to_ascii_lowercase();
        if self.client_ids.contains(&lower) {
            return lower;
        }
        let (head, tail) = lower.split_at(24);
        let flipped: String =
            tail.chars().map(|c| c.to_digit(16).and_then(|d| char::from_digit(15 - d, 16)).unwrap_or(c)).collect();
        format!("{head}{flipped}")
    }

    fn text(&self, s: &str) -> String {
        let s = TS_ANY_RE.replace_all(s, |c: &regex::Captures<'_>| {
            let ts = &c[0];
            match ts.parse::<jiff::Timestamp>() {
                Ok(t) if t >= self.window.0 && t <= self.window.1 => {
                    let t = t + jiff::SignedDuration::from_hours(OTHER_SHIFT_HOURS);
                    format!("{}.{:03}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_millisecond())
                }
                _ => ts.to_string(),
            }
        });
        let s = s.replace(FILE_TOKEN, OTHER_TOKEN).replace(STORAGE_ROOT, "/srv/twenty/.local-storage");
        let s = s.replace(RECORDED_SERVER, OTHER_BASE);
        UUID_RE.replace_all(&s, |c: &regex::Captures<'_>| self.id(&c[0])).into_owned()
    }

    /// The answer the second server gives where the recording has `v`.
    pub fn answer(&self, v: &Value, key: Option<&str>) -> Value {
        match v {
            Value::String(s) if is_cursor_key(key) => match decode_cursor(s) {
                Some(decoded) => Value::String(encode_cursor(&self.answer(&decoded, None))),
                None => Value::String(s.clone()),
            },
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.answer(i, None)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.answer(v, Some(k)))).collect())
            }
            other => other.clone(),
        }
    }
}

/// Keys holding cursors, in answers and in requests.
fn is_cursor_key(key: Option<&str>) -> bool {
    matches!(
        key,
        Some("startCursor" | "endCursor" | "cursor" | "starting_after" | "ending_before" | "after" | "before")
    )
}
