//! Where an Atomic CRM comes from: a PostgreSQL URL or a dump file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::AtomicError;

/// A PostgreSQL connection URL. Its `Display` and `Debug` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl PgUrl {
    /// Wraps a `postgres://` or `postgresql://` URL after checking that it parses.
    pub fn new(url: &str) -> Result<Self, AtomicError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            return Err(AtomicError::InvalidSource {
                given: redact_url(url),
                reason: "a database URL starts with postgres:// or postgresql://".into(),
            });
        }
        url::Url::parse(url).map_err(|e| AtomicError::InvalidSource {
            given: redact_url(url),
            reason: format!("not a valid URL ({e}); percent-encode special characters in the password"),
        })?;
        Ok(PgUrl(url.to_string()))
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

/// Replaces the password of a URL (and a `password=` query parameter) with `***`. Strings that do not parse
/// as URLs get everything between `://` and the last `@` redacted.
pub fn redact_url(url: &str) -> String {
    if let Ok(mut u) = url::Url::parse(url) {
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
            let mut q = u.query_pairs_mut();
            q.clear();
            for (k, v) in &pairs {
                q.append_pair(k, if k.eq_ignore_ascii_case("password") { "***" } else { v });
            }
        }
        return u.to_string();
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(a)) if a > s + 3 => format!("{}***{}", &url[..s + 3], &url[a..]),
        _ => url.to_string(),
    }
}

/// What `ferry audit --from …` / `ferry migrate --from …` points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A live database.
    Postgres(PgUrl),
    /// A plain-SQL dump file (pg_dump / `supabase db dump` / a downloaded Supabase backup).
    Dump(PathBuf),
}

impl SourceSpec {
    /// Parses a `postgres://…` URL or a file path.
    pub fn parse(given: &str) -> Result<Self, AtomicError> {
        let trimmed = given.trim();
        if trimmed.is_empty() {
            return Err(AtomicError::InvalidSource { given: String::new(), reason: "it is empty".into() });
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(SourceSpec::Postgres(PgUrl::new(trimmed)?));
        }
        if lower.contains("://") {
            return Err(AtomicError::InvalidSource {
                given: redact_url(trimmed),
                reason: "only postgres:// URLs and local dump files are supported".into(),
            });
        }
        Ok(SourceSpec::Dump(PathBuf::from(trimmed)))
    }

    /// A printable name: the redacted URL or the file path.
    pub fn display_name(&self) -> String {
        match self {
            SourceSpec::Postgres(u) => u.redacted(),
            SourceSpec::Dump(p) => p.display().to_string(),
        }
    }

    /// The dump file, when this is one.
    pub fn dump_path(&self) -> Option<&Path> {
        match self {
            SourceSpec::Dump(p) => Some(p),
            SourceSpec::Postgres(_) => None,
        }
    }
}

impl std::str::FromStr for SourceSpec {
    type Err = AtomicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceSpec::parse(s)
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let r = redact_url("postgres://postgres.abc:s3cr%40t@db.example.supabase.co:5432/postgres?sslmode=require");
        assert!(!r.contains("s3cr"), "{r}");
        assert!(r.contains("***@db.example.supabase.co"), "{r}");
        let r = redact_url("postgres://u@h/db?password=hunter2");
        assert!(!r.contains("hunter2"), "{r}");
        let spec = SourceSpec::parse("postgresql://u:pw@h/db").unwrap();
        assert!(!format!("{spec} {spec:?}").contains("pw@"));
    }

    #[test]
    fn parses_urls_and_paths() {
        assert!(matches!(SourceSpec::parse("postgres://h/db").unwrap(), SourceSpec::Postgres(_)));
        assert_eq!(SourceSpec::parse("backup.sql").unwrap(), SourceSpec::Dump("backup.sql".into()));
        let err = SourceSpec::parse("mysql://u:topsecret@h/db").unwrap_err().to_string();
        assert!(!err.contains("topsecret") && err.contains("postgres://"), "{err}");
    }
}
