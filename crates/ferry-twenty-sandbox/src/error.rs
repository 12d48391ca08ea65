//! Errors of the sandbox itself, and the HTTP errors it answers like Twenty.

use std::path::PathBuf;

use serde_json::{Value, json};

/// What can stop the sandbox from starting, persisting or shutting down.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: std::net::SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The members file could not be read.
    #[error("members file {path}: {reason}")]
    Members {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The SQLite state file could not be opened, read or written.
    #[error("state file {path}: {reason}; delete it to start from an empty workspace, or point --state elsewhere")]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The built-in standard data model is inconsistent (a bug of the sandbox).
    #[error("built-in standard data model: {0}")]
    Model(String),
    /// The server task ended abnormally.
    #[error("sandbox server task failed: {0}")]
    Server(String),
}

/// An HTTP answer that is an error, shaped like the real server's.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl ApiError {
    /// Twenty's REST error: `{statusCode, error, messages:[message]}`.
    pub fn rest(status: u16, error: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: json!({"statusCode": status, "error": error, "messages": [message.into()]}) }
    }

    /// 400 `BadRequestException`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::rest(400, "BadRequestException", message)
    }

    /// 404 `NotFoundException` "Record not found".
    pub fn record_not_found() -> ApiError {
        ApiError::rest(404, "NotFoundException", "Record not found")
    }

    /// 500 `InternalServerErrorException` (raw database errors).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::rest(500, "InternalServerErrorException", message)
    }

    /// 400 "A duplicate entry was detected" (no field name, no id of the existing record).
    pub fn duplicate() -> ApiError {
        ApiError::bad_request("A duplicate entry was detected")
    }

    /// Nest's plain error body `{statusCode, message, error}` (metadata REST, files, unknown routes).
    pub fn nest(status: u16, error: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: json!({"statusCode": status, "message": message.into(), "error": error}) }
    }

    /// The message of this error, for GraphQL answers.
    pub fn message(&self) -> String {
        if let Some(m) = self.body.get("messages").and_then(|m| m.get(0)).and_then(Value::as_str) {
            return m.to_string();
        }
        self.body.get("message").and_then(Value::as_str).unwrap_or("Internal server error").to_string()
    }
}
