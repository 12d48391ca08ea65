//! The API key type: it never shows itself in `Debug` output, and has no `Display`.

use std::fmt;

/// A Twenty API key (a Bearer token).
///
/// `Debug` prints `ApiKey(<redacted>)`; there is no `Display`, so the key cannot end up in a log line or an
/// error message by accident. The only way to read it is [`ApiKey::expose`], which the client uses to build the
/// (sensitive-marked) `Authorization` header and to scrub server messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace (e.g. a trailing newline from a key file) is removed.
    pub fn new(key: impl Into<String>) -> Self {
        let key: String = key.into();
        ApiKey(key.trim().to_owned())
    }

    /// The key itself. Call only where the key must be sent; never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty (an empty key is refused by [`crate::TwentyClient::connect`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the key in `text` with `<redacted>`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) { text.replace(&self.0, "<redacted>") } else { text.to_owned() }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl From<String> for ApiKey {
    fn from(value: String) -> Self {
        ApiKey::new(value)
    }
}

impl From<&str> for ApiKey {
    fn from(value: &str) -> Self {
        ApiKey::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_trim_applies() {
        let key = ApiKey::new("  sk-very-secret-123\n");
        assert_eq!(key.expose(), "sk-very-secret-123");
        let shown = format!("{key:?} {:#?}", key);
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn scrub_removes_the_key() {
        let key = ApiKey::new("sk-abcdef");
        assert_eq!(key.scrub("token sk-abcdef was bad"), "token <redacted> was bad");
        assert_eq!(key.scrub("nothing here"), "nothing here");
    }
}
