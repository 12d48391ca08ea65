//! Something ferry could not do with one piece of data, said so a person can act on it.

use serde::{Deserialize, Serialize};

/// A problem tied to a place in the data: which object, which record, which field, which value, what went wrong
/// and what to do about it. Reports list these; nothing is dropped without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The object (table) concerned.
    pub object: String,
    /// The record's key in its source, when one record is concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The field (column) concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value, shortened for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The longest value a problem quotes, in characters.
const MAX_QUOTED: usize = 120;

impl Problem {
    pub fn new(object: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { object: object.into(), record: None, field: None, value: None, message: message.into(), hint: None }
    }

    pub fn record(mut self, key: impl Into<String>) -> Self {
        self.record = Some(key.into());
        self
    }

    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.field = Some(name.into());
        self
    }

    /// Quotes `value`, cut to a readable length.
    pub fn value(mut self, value: impl AsRef<str>) -> Self {
        let v = value.as_ref();
        let quoted = if v.chars().count() > MAX_QUOTED {
            let cut: String = v.chars().take(MAX_QUOTED).collect();
            format!("{cut}…")
        } else {
            v.to_string()
        };
        self.value = Some(quoted);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.object)?;
        if let Some(r) = &self.record {
            write!(f, " #{r}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ".{field}")?;
        }
        if let Some(v) = &self.value {
            write!(f, " = {v:?}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_object_record_field_value_and_hint() {
        let p = Problem::new("contacts", "not a valid e-mail address")
            .record("42")
            .field("email")
            .value("bob@")
            .hint("fix the address in the source or leave it out");
        assert_eq!(
            p.to_string(),
            "contacts #42.email = \"bob@\": not a valid e-mail address (fix the address in the source or leave it out)"
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let p = Problem::new("notes", "too long").value("x".repeat(500));
        let v = p.value.unwrap();
        assert_eq!(v.chars().count(), MAX_QUOTED + 1);
        assert!(v.ends_with('…'));
    }
}
