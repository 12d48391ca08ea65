//! The errors of the Atomic CRM source. Each one names the database (with its password redacted) or the file,
//! the line, the table and what to do.

use std::path::PathBuf;

/// Everything that can stop a read, an audit or a generation.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The `--from` argument is neither a PostgreSQL URL nor a file path.
    #[error(
        "invalid source {given:?}: {reason} (give a postgres://user:password@host:5432/db URL or the path of a .sql dump file)"
    )]
    InvalidSource {
        /// What the user gave, with any password redacted.
        given: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The database did not accept the connection.
    #[error(
        "cannot connect to {url}: {message} (check host, port, user, password and sslmode; with Supabase use the direct connection or the session pooler, port 5432)"
    )]
    Connect {
        /// The URL with the password redacted.
        url: String,
        /// The driver's reason.
        message: String,
    },
    /// A query failed once connected.
    #[error("{url}: {context}: {message}")]
    Database {
        /// The URL with the password redacted.
        url: String,
        /// What ferry was doing (which table, which catalog query).
        context: String,
        /// The server's or driver's reason.
        message: String,
    },
    /// A file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A dump file is truncated or malformed at a given place.
    #[error("{}:{line}: {}{message} ({hint})", path.display(), table.as_ref().map(|t| format!("table {t}: ")).unwrap_or_default())]
    Dump {
        /// The dump file.
        path: PathBuf,
        /// The 1-based line where the problem was found.
        line: u64,
        /// The table being read, when known.
        table: Option<String>,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The database or dump holds no Atomic CRM schema.
    #[error("{source_name} is not an Atomic CRM database: {reason} ({hint})")]
    NotAtomic {
        /// The URL (redacted) or file.
        source_name: String,
        /// What is missing.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// The generator was given impossible settings or its target refused the data.
    #[error("generator: {0}")]
    Generator(String),
    /// The consumer of the records asked to stop.
    /// A TypeScript configuration file that cannot be read or parsed.
    #[error(transparent)]
    TsConfig(#[from] crate::tsconfig::TsError),
    #[error("the record consumer stopped the read: {0}")]
    Sink(String),
}

impl AtomicError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AtomicError::Io { path: path.into(), source }
    }
}
