//! Errors: classified (transient or not, record-level or not), naming the object, the record, the field and the
//! value where known, quoting the server, and saying how to fix it. They never contain the API key.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use uuid::Uuid;

/// What went wrong, as far as the client can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The record names a field the object does not have (400).
    UnknownField,
    /// A value the server refused: bad SELECT value, bad composite shape or sub-field, bad UUID… (400).
    InvalidValue,
    /// A unique value (or the id) is already taken, soft-deleted rows included (400; 409 on some versions).
    Duplicate,
    /// A relation id points at a record that does not exist. Twenty answers this with a 500 carrying the raw
    /// foreign-key violation (exchange 61); it is not transient and is never retried.
    MissingRelationTarget,
    /// The batch was larger than the server's cap (`Maximum number of records to upsert is N.`).
    TooManyRecords {
        /// The cap the server named, when it named one.
        max: Option<usize>,
    },
    /// Any other 400 answer.
    BadRequest,
    /// 404: the record (or route) does not exist.
    NotFound,
    /// 401: the API key is invalid or expired.
    Unauthenticated,
    /// 403: no API key was sent, or the key's role may not do this.
    Forbidden,
    /// 429 (or GraphQL `LIMIT_REACHED`): the server's rate limit. Transient.
    RateLimited,
    /// 5xx that is not a foreign-key violation. Transient.
    ServerError,
    /// No answer within the request timeout. Transient; a write may or may not have been committed.
    Timeout,
    /// The connection failed or was dropped. Transient; a write may or may not have been committed if the
    /// request had been sent.
    Connection,
    /// The object name is not in the workspace schema.
    UnknownObject,
    /// The caller's input was refused before anything was sent (e.g. a SELECT option value Twenty would refuse).
    InvalidInput,
    /// The server answered something the client cannot read (unexpected JSON shape).
    Protocol,
    /// A GraphQL error that fits no other kind.
    GraphQl,
}

impl ErrorKind {
    /// Whether retrying the same request later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::ServerError | ErrorKind::Timeout | ErrorKind::Connection)
    }

    /// Whether the failure is caused by (some record of) the payload, so splitting a batch isolates it.
    pub fn is_record_level(&self) -> bool {
        matches!(
            self,
            ErrorKind::UnknownField
                | ErrorKind::InvalidValue
                | ErrorKind::Duplicate
                | ErrorKind::MissingRelationTarget
                | ErrorKind::BadRequest
        )
    }

    fn describe(&self) -> &'static str {
        match self {
            ErrorKind::UnknownField => "unknown field",
            ErrorKind::InvalidValue => "invalid value",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::MissingRelationTarget => "missing relation target",
            ErrorKind::TooManyRecords { .. } => "batch too large",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unauthenticated => "API key refused",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::ServerError => "server error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection failed",
            ErrorKind::UnknownObject => "unknown object",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Protocol => "unexpected answer",
            ErrorKind::GraphQl => "GraphQL error",
        }
    }
}

/// Which record of a request an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRef {
    /// The record's id (client-supplied or server-assigned).
    Id(Uuid),
    /// The position of the record in the batch the caller passed in (0-based).
    Index(usize),
    /// Both the position in the caller's batch and the id the record carries.
    IndexAndId(usize, Uuid),
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordRef::Id(id) => write!(f, "{id}"),
            RecordRef::Index(i) => write!(f, "#{i} of the batch"),
            RecordRef::IndexAndId(i, id) => write!(f, "{id} (#{i} of the batch)"),
        }
    }
}

/// An error from the Twenty client. See [`ErrorKind`] for the classification and [`ErrorDetail`] for what it
/// carries (reachable as fields: `err.kind`, `err.field`…).
///
/// `Display` reads like: `create companies (batch of 3) failed for company record 0c0f… (#3 of the batch), field
/// "ctrTier", value 'DIAMOND': invalid value: Invalid value 'DIAMOND' for field "ctrTier" (HTTP 400). Fix: …`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct TwentyError(Box<ErrorDetail>);

/// Everything a [`TwentyError`] carries.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// The classification.
    pub kind: ErrorKind,
    /// What the client was doing, e.g. `create companies (batch of 200)`.
    pub operation: String,
    /// The object (singular name) the request was about.
    pub object: Option<String>,
    /// The record the error is about, when known.
    pub record: Option<RecordRef>,
    /// The field the error is about, when the server (or the client) could tell.
    pub field: Option<String>,
    /// The offending value (shortened), when known.
    pub value: Option<String>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The server's message (or the client's own description); the API key is scrubbed from it.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// True when the request was a write that may have been committed although no answer arrived
    /// (timeout, dropped connection, 5xx after the request was sent).
    pub outcome_unknown: bool,
}

impl std::ops::Deref for TwentyError {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for TwentyError {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

impl fmt::Display for TwentyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        if let Some(object) = &self.object {
            write!(f, " for {object}")?;
        }
        if let Some(record) = &self.record {
            write!(f, " record {record}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field \"{field}\"")?;
        }
        if let Some(value) = &self.value {
            write!(f, ", value '{value}'")?;
        }
        write!(f, ": {}: {}", self.kind.describe(), self.message)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        if self.outcome_unknown {
            write!(f, "; the write may or may not have been committed")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, ". Fix: {hint}")?;
        }
        Ok(())
    }
}

const MAX_VALUE_CHARS: usize = 120;

/// Shortens a value for an error message.
pub(crate) fn short_value(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

impl TwentyError {
    /// A new error of `kind` for `operation` with `message`; everything else empty.
    pub fn new(kind: ErrorKind, operation: impl Into<String>, message: impl Into<String>) -> Self {
        TwentyError(Box::new(ErrorDetail {
            kind,
            operation: operation.into(),
            object: None,
            record: None,
            field: None,
            value: None,
            status: None,
            message: message.into(),
            hint: None,
            attempts: 1,
            outcome_unknown: false,
        }))
    }

    /// Whether retrying can succeed (see [`ErrorKind::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }

    /// Sets the object.
    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// Sets the record.
    pub fn with_record(mut self, record: RecordRef) -> Self {
        self.record = Some(record);
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the value (shortened).
    pub fn with_value(mut self, value: impl AsRef<str>) -> Self {
        self.value = Some(short_value(value.as_ref()));
        self
    }

    /// Sets the fix hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The server's cap when this is a [`ErrorKind::TooManyRecords`] error.
    pub fn batch_cap(&self) -> Option<usize> {
        match self.kind {
            ErrorKind::TooManyRecords { max } => max,
            _ => None,
        }
    }
}

static TOO_MANY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Maximum number of records to (?:upsert|update|create|delete) is (\d+)").unwrap());
static NO_SUCH_FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"doesn't have any "([^"]+)" field"#).unwrap());
static FIELD_METADATA_NOT_FOUND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Field metadata not found for field: ?([A-Za-z0-9_.]+)").unwrap());
static INVALID_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"Invalid (?:[A-Za-z]+ )?value '(.*)' for (?:[A-Za-z_ ]+ )?field "([^"]+)""#).unwrap()
});
static INVALID_SUBFIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"Invalid subfield ([A-Za-z0-9_]+) for (?:[A-Za-z_ ]+ )?field "([^"]+)""#).unwrap());
static FOR_FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"for field "([^"]+)""#).unwrap());

static LIMIT_REACHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Limit reached \((\d+) tokens per (\d+) ms\)").unwrap());

/// The server's refill period named by its 429 message (`Limit reached (100 tokens per 60000 ms)` → 600 ms).
/// Twenty resets its refill clock at every request, so a retry sooner than this gets no token.
pub(crate) fn refill_period(message: &str) -> Option<std::time::Duration> {
    let c = LIMIT_REACHED.captures(message)?;
    let tokens: u64 = c[1].parse().ok().filter(|t| *t > 0)?;
    let window_ms: u64 = c[2].parse().ok()?;
    Some(std::time::Duration::from_micros(window_ms * 1000 / tokens))
}

/// What the client can read out of a server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub kind: ErrorKind,
    pub field: Option<String>,
    pub value: Option<String>,
}

/// Classifies an HTTP status plus the server's message.
pub(crate) fn classify(status: u16, message: &str) -> Parsed {
    let mut field = None;
    let mut value = None;
    let lower = message.to_ascii_lowercase();
    let kind = if let Some(c) = TOO_MANY.captures(message) {
        ErrorKind::TooManyRecords { max: c[1].parse().ok() }
    } else if lower.contains("violates foreign key constraint") {
        ErrorKind::MissingRelationTarget
    } else if lower.contains("duplicate entry") || lower.contains("duplicate key value") || status == 409 {
        ErrorKind::Duplicate
    } else if let Some(c) = NO_SUCH_FIELD.captures(message) {
        field = Some(c[1].to_owned());
        ErrorKind::UnknownField
    } else if let Some(c) = FIELD_METADATA_NOT_FOUND.captures(message) {
        field = Some(c[1].to_owned());
        ErrorKind::UnknownField
    } else if let Some(c) = INVALID_SUBFIELD.captures(message) {
        value = Some(format!("sub-field {}", &c[1]));
        field = Some(c[2].to_owned());
        ErrorKind::InvalidValue
    } else if let Some(c) = INVALID_VALUE.captures(message) {
        value = Some(short_value(&c[1]));
        field = Some(c[2].to_owned());
        ErrorKind::InvalidValue
    } else {
        match status {
            400 | 422 => {
                if let Some(c) = FOR_FIELD.captures(message) {
                    field = Some(c[1].to_owned());
                    ErrorKind::InvalidValue
                } else {
                    ErrorKind::BadRequest
                }
            }
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::TooManyRecords { max: None },
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::ServerError,
            _ if lower.contains("limit reached") => ErrorKind::RateLimited,
            _ => ErrorKind::BadRequest,
        }
    };
    Parsed { kind, field, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_messages() {
        // 27
        let p = classify(400, "Invalid value 'DIAMOND' for field \"ctrTier\"");
        assert_eq!(
            (p.kind, p.field.as_deref(), p.value.as_deref()),
            (ErrorKind::InvalidValue, Some("ctrTier"), Some("DIAMOND"))
        );
        // 56
        let p = classify(400, "Object company doesn't have any \"notAField\" field.");
        assert_eq!((p.kind, p.field.as_deref()), (ErrorKind::UnknownField, Some("notAField")));
        // 57
        let p = classify(400, "Invalid object value 'ctr-bad.example.com' for field \"domainName\"");
        assert_eq!(p.field.as_deref(), Some("domainName"));
        assert_eq!(p.value.as_deref(), Some("ctr-bad.example.com"));
        // 58
        let p = classify(400, "Invalid subfield amount for currency field \"annualRecurringRevenue\"");
        assert_eq!((p.kind, p.field.as_deref()), (ErrorKind::InvalidValue, Some("annualRecurringRevenue")));
        assert_eq!(p.value.as_deref(), Some("sub-field amount"));
        // 60
        let p = classify(400, "Invalid UUID value 'not-a-uuid' for field \"companyId\"");
        assert_eq!((p.field.as_deref(), p.value.as_deref()), (Some("companyId"), Some("not-a-uuid")));
        // 48
        let p = classify(400, "Field metadata not found for field: nope");
        assert_eq!((p.kind, p.field.as_deref()), (ErrorKind::UnknownField, Some("nope")));
        // 54
        assert_eq!(classify(400, "A duplicate entry was detected").kind, ErrorKind::Duplicate);
        // 33
        assert_eq!(
            classify(400, "Maximum number of records to upsert is 200.").kind,
            ErrorKind::TooManyRecords { max: Some(200) }
        );
        // 61
        let m =
            "insert or update on table \"person\" violates foreign key constraint \"FK_ee066ddacfce46c9a7cb90edd1a\"";
        let p = classify(500, m);
        assert_eq!(p.kind, ErrorKind::MissingRelationTarget);
        assert!(!p.kind.is_transient());
        // 97, 53, 00a, 00b
        assert_eq!(classify(429, "Limit reached (100 tokens per 60000 ms)").kind, ErrorKind::RateLimited);
        assert_eq!(
            refill_period("Limit reached (100 tokens per 60000 ms)"),
            Some(std::time::Duration::from_millis(600))
        );
        assert_eq!(refill_period("Limit reached"), None);
        assert_eq!(classify(404, "Record not found").kind, ErrorKind::NotFound);
        assert_eq!(classify(403, "Missing authentication token").kind, ErrorKind::Forbidden);
        assert_eq!(classify(401, "No payload").kind, ErrorKind::Unauthenticated);
        assert_eq!(classify(503, "Service Unavailable").kind, ErrorKind::ServerError);
        assert!(classify(502, "").kind.is_transient());
    }

    #[test]
    fn display_names_everything() {
        let e =
            TwentyError::new(ErrorKind::InvalidValue, "create companies (batch)", "Invalid value 'X' for field \"t\"")
                .with_object("company")
                .with_record(RecordRef::Index(3))
                .with_field("t")
                .with_value("X")
                .with_hint("use one of A, B");
        let s = e.to_string();
        for part in ["create companies (batch) failed", "company", "#3", "\"t\"", "'X'", "Fix: use one of A, B"] {
            assert!(s.contains(part), "{s} lacks {part}");
        }
    }

    #[test]
    fn long_values_are_shortened() {
        let v = "x".repeat(500);
        assert!(short_value(&v).chars().count() <= MAX_VALUE_CHARS + 1);
    }
}
