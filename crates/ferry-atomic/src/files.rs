//! Atomic CRM's files as the engine fetches them: one file reference (an `RAFile` object, a URL, a Storage path)
//! in, the file's bytes out — through [`crate::attachments`]' classification and [`Fetcher`].

use ferry_core::workspace::{FileData, FileSource};
use serde_json::Value;

use crate::attachments::{ClassifyContext, FetchOptions, Fetcher, FileContent, StorageSettings, classify};

/// Fetches Atomic CRM files for the engine.
#[derive(Debug, Clone)]
pub struct AtomicFiles {
    fetcher: Fetcher,
    storage: StorageSettings,
}

impl AtomicFiles {
    /// Files of an installation whose Storage is described by `storage`.
    pub fn new(storage: StorageSettings, options: FetchOptions) -> Result<AtomicFiles, String> {
        let fetcher = Fetcher::new(options).map_err(|e| format!("cannot set up the HTTP client for files: {e}"))?;
        Ok(AtomicFiles { fetcher, storage })
    }
}

impl FileSource for AtomicFiles {
    async fn fetch(&self, reference: &Value) -> Result<FileData, String> {
        let ctx = ClassifyContext {
            table: String::new(),
            record: String::new(),
            column: String::new(),
            project_url: self.storage.project_url.clone(),
            bucket: self.storage.bucket.clone(),
        };
        let refs = classify(reference, &ctx);
        let file = match refs.as_slice() {
            [] => return Err("the value holds no file reference".to_string()),
            [one] => one,
            more => return Err(format!("the value holds {} file references where one was expected", more.len())),
        };
        let fetched = self.fetcher.fetch(file).await.map_err(|failure| {
            let p = failure.problem;
            match (&p.value, &p.hint) {
                (Some(v), Some(h)) => format!("{} ({v}); {h}", p.message),
                (Some(v), None) => format!("{} ({v})", p.message),
                (None, Some(h)) => format!("{}; {h}", p.message),
                (None, None) => p.message,
            }
        })?;
        let bytes = match fetched.content {
            FileContent::Memory(bytes) => bytes,
            FileContent::Spooled(path) => {
                let bytes = std::fs::read(&path).map_err(|e| format!("cannot read the downloaded file back: {e}"));
                let _ = std::fs::remove_file(&path);
                bytes?
            }
        };
        Ok(FileData { name: fetched.file_name, mime: fetched.content_type, bytes })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn files() -> AtomicFiles {
        AtomicFiles::new(StorageSettings::default(), FetchOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn a_data_url_is_fetched_with_its_name_and_type() {
        let f = files().fetch(&json!({"src": "data:text/plain;base64,aGVsbG8=", "title": "hello.txt"})).await.unwrap();
        assert_eq!(f.bytes, b"hello");
        assert_eq!(f.name, "hello.txt");
        assert_eq!(f.mime.as_deref(), Some("text/plain"));
    }

    #[tokio::test]
    async fn a_broken_reference_says_why_and_what_happens() {
        let err = files().fetch(&json!({"src": "ERROR"})).await.unwrap_err();
        assert!(err.contains("migrated without this file"), "{err}");
    }

    #[tokio::test]
    async fn nothing_to_fetch_is_an_error_not_an_empty_file() {
        let err = files().fetch(&Value::Null).await.unwrap_err();
        assert!(err.contains("no file reference"), "{err}");
    }
}
