//! Files as recorded (77–83): uploads stored in the workspace, signed download URLs, downloads without auth.

use base64::Engine;
use hmac_sha256::hmac;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::server::{Reply, Shared};
use crate::store::{Change, State, StoredFile};
use crate::values::now_iso;

/// File tokens are valid one day (JWT exp − iat = 86400 s, 81).
const TOKEN_LIFETIME_SECS: i64 = 86_400;

mod hmac_sha256 {
    use sha2::{Digest, Sha256};

    /// HMAC-SHA256 (RFC 2104).
    pub fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha256::new();
        inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
        inner.update(msg);
        let ih = inner.finalize();
        let mut outer = Sha256::new();
        outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
        outer.update(ih);
        outer.finalize().into()
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn secret(state: &State) -> Vec<u8> {
    format!("ferry-sandbox-file-secret:{}", state.workspace_id).into_bytes()
}

/// A file JWT (HS256) for the workspace, valid one day.
pub fn sign_token(state: &State) -> String {
    let iat = jiff::Timestamp::now().as_second();
    let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64url(
        json!({"workspaceId": state.workspace_id, "type": "FILE", "iat": iat, "exp": iat + TOKEN_LIFETIME_SECS})
            .to_string()
            .as_bytes(),
    );
    let signing_input = format!("{header}.{payload}");
    let sig = b64url(&hmac(&secret(state), signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// Whether a file token was signed by this workspace and has not expired.
pub fn verify_token(state: &State, token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if b64url(&hmac(&secret(state), signing_input.as_bytes())) != parts[2] {
        return false;
    }
    let Ok(payload) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]) else { return false };
    let Ok(v) = serde_json::from_slice::<Value>(&payload) else { return false };
    v.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp > jiff::Timestamp::now().as_second())
}

/// `attachment/<uuid>.txt` → `<server>/files/attachment/<token>/<uuid>.txt` (signed when read, 80/81).
pub fn sign_full_path(state: &State, base_url: &str, v: &Value) -> Value {
    let Some(path) = v.as_str() else { return v.clone() };
    if path.is_empty() || path.starts_with("http://") || path.starts_with("https://") {
        return v.clone();
    }
    let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
    Value::String(format!("{base_url}/files/{folder}/{}/{file}", sign_token(state)))
}

/// Stores an upload; returns (id, path).
pub fn store_upload(
    state: &mut State,
    folder: &str,
    filename: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let ext = filename.rsplit_once('.').map(|(_, e)| format!(".{e}")).unwrap_or_default();
    let path = format!("{folder}/{id}{ext}");
    state.files.insert(
        path.clone(),
        StoredFile {
            bytes,
            original_name: filename.to_string(),
            content_type: content_type.to_string(),
            created_at: now_iso(),
            id: id.clone(),
        },
    );
    state.pending.push(Change::File(path.clone()));
    (id, path)
}

/// `GET /files/<folder>/<token>/<file>`: the raw bytes without auth and without a Content-Type (82);
/// without a token 400 "Folder  is not allowed" (83).
pub fn download(shared: &Shared, path: &str) -> Reply {
    let rest = path.trim_start_matches("/files/");
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.len() < 3 {
        return ApiError::nest(400, "Bad Request", "Folder  is not allowed").into();
    }
    let (folder, token, file) = (segs[0], segs[1], segs[2..].join("/"));
    let state = shared.state();
    if !verify_token(&state, token) {
        return ApiError::nest(403, "Forbidden", "Forbidden resource").into();
    }
    match state.files.get(&format!("{folder}/{file}")) {
        Some(f) => Reply { status: 200, body: bytes::Bytes::from(f.bytes.clone()), content_type: None },
        None => ApiError::nest(404, "Not Found", "File not found").into(),
    }
}
