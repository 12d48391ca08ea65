//! Files: GraphQL multipart upload, signed-URL download, attachment records. Which upload mutation and which
//! attachment columns to use is read from the schema: the recorded build has no FILES field (upload with
//! `uploadFile(fileFolder: Attachment)`, store the path in `fullPath`); newer builds have a FILES field (upload
//! with `uploadFilesFieldFile`, store `[{fileId, label}]`).

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::{Body, Call, Route, TwentyClient};
use crate::error::{ErrorKind, TwentyError};
use crate::records::{Record, WriteMode};
use crate::schema::FieldType;

/// The object attachments live in (standard object name).
const ATTACHMENT: &str = "attachment";

/// A file stored on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The storage path (`attachment/<uuid>.txt`, or `files-field/<uuid>.txt`).
    pub path: String,
    /// The file token (legacy upload), when returned.
    pub token: Option<String>,
    /// The file id (FILES-field upload), when returned.
    pub file_id: Option<Uuid>,
    /// The original file name.
    pub filename: String,
}

/// An attachment to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// Attachment id (client-supplied for exactly-once; `None` = the server picks).
    pub id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// The uploaded file.
    pub file: UploadedFile,
    /// The object the attachment belongs to (`company`, `person`, `note`…).
    pub target_object: String,
    /// The record it belongs to.
    pub target_id: Uuid,
}

/// A `fileCategory` for a file name, by extension.
pub fn file_category(filename: &str) -> &'static str {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "zip" | "tar" | "gz" | "tgz" | "7z" | "rar" => "ARCHIVE",
        "mp3" | "wav" | "ogg" | "m4a" | "flac" => "AUDIO",
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "bmp" | "heic" => "IMAGE",
        "ppt" | "pptx" | "key" | "odp" => "PRESENTATION",
        "xls" | "xlsx" | "csv" | "ods" | "numbers" => "SPREADSHEET",
        "txt" | "md" | "pdf" | "doc" | "docx" | "odt" | "rtf" | "pages" => "TEXT_DOCUMENT",
        "mp4" | "mov" | "avi" | "mkv" | "webm" => "VIDEO",
        _ => "OTHER",
    }
}

impl TwentyClient {
    /// Whether the workspace's attachments use a FILES field (newer builds) rather than `fullPath`.
    pub fn attachments_use_files_field(&self) -> bool {
        self.schema().object(ATTACHMENT).and_then(|a| a.files_field()).is_some()
    }

    /// Uploads a file through GraphQL multipart (counted by the server's rate limit).
    pub async fn upload_file(
        &self,
        filename: &str,
        content_type: &str,
        content: Bytes,
    ) -> Result<UploadedFile, TwentyError> {
        let files_field = self.schema().object(ATTACHMENT).and_then(|a| a.files_field().map(|f| f.id));
        let op = format!("upload file {filename}");
        let (query, variables, key) = match files_field {
            None => (
                "mutation UploadFile($file: Upload!, $fileFolder: FileFolder) { uploadFile(file: $file, fileFolder: $fileFolder) { path token } }",
                json!({"file": null, "fileFolder": "Attachment"}),
                "uploadFile",
            ),
            Some(_) => (
                "mutation UploadFilesFieldFile($file: Upload!) { uploadFilesFieldFile(file: $file) { id path size createdAt } }",
                json!({"file": null}),
                "uploadFilesFieldFile",
            ),
        };
        let first = self.upload_call(&op, query, variables, filename, content_type, content.clone()).await;
        let answer = match (first, files_field) {
            // Newer servers require the FILES field's metadata id.
            (Err(e), Some(field_id)) if e.message.contains("fieldMetadataId") => {
                self.upload_call(
                    &op,
                    "mutation UploadFilesFieldFile($file: Upload!, $fieldMetadataId: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $fieldMetadataId) { id path size createdAt } }",
                    json!({"file": null, "fieldMetadataId": field_id.to_string()}),
                    filename,
                    content_type,
                    content,
                )
                .await?
            }
            (r, _) => r?,
        };
        let data = answer.pointer(&format!("/data/{key}")).ok_or_else(|| {
            TwentyError::new(ErrorKind::Protocol, op.clone(), format!("the answer has no data.{key}"))
        })?;
        let path = data.get("path").and_then(Value::as_str).unwrap_or_default().to_owned();
        if path.is_empty() {
            return Err(TwentyError::new(ErrorKind::Protocol, op, "the upload answer has no path"));
        }
        Ok(UploadedFile {
            path,
            token: data.get("token").and_then(Value::as_str).map(str::to_owned),
            file_id: data.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()),
            filename: filename.to_owned(),
        })
    }

    async fn upload_call(
        &self,
        op: &str,
        query: &str,
        variables: Value,
        filename: &str,
        content_type: &str,
        content: Bytes,
    ) -> Result<Value, TwentyError> {
        let operations = json!({"query": query, "variables": variables}).to_string();
        let map = json!({"0": ["variables.file"]}).to_string();
        let filename = Arc::<str>::from(filename);
        let content_type = Arc::<str>::from(content_type);
        let build = move || {
            let part = reqwest::multipart::Part::bytes(content.to_vec()).file_name(filename.to_string());
            let part = match part.mime_str(&content_type) {
                Ok(p) => p,
                Err(_) => reqwest::multipart::Part::bytes(content.to_vec()).file_name(filename.to_string()),
            };
            reqwest::multipart::Form::new()
                .text("operations", operations.clone())
                .text("map", map.clone())
                .part("0", part)
        };
        let mut call = Call::new(Method::POST, Route::Graphql, "graphql", op).object(ATTACHMENT);
        call.body = Body::Multipart(Box::new(build));
        // A repeated upload only leaves an orphan file, never a duplicate record.
        call.idempotent = true;
        self.json(call).await
    }

    /// Downloads a file from its signed URL (an attachment's `fullPath` as read back). The API key is **not**
    /// sent: the signed URL carries its own token, and the URL may point at another host.
    pub async fn download_file(&self, signed_url: &str) -> Result<Bytes, TwentyError> {
        let url = if signed_url.starts_with("http://") || signed_url.starts_with("https://") {
            signed_url.to_owned()
        } else {
            self.base_url()
                .join(signed_url.trim_start_matches('/'))
                .map_err(|e| {
                    TwentyError::new(ErrorKind::InvalidInput, "download file", format!("bad file URL: {e}"))
                        .with_value(signed_url)
                })?
                .to_string()
        };
        let call = Call::new(Method::GET, Route::File, url, "download file").object(ATTACHMENT);
        self.execute(call).await.map_err(|mut e| {
            if matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Forbidden | ErrorKind::Unauthenticated) {
                e.hint = Some(
                    "download with the signed URL read from the attachment's fullPath (it expires after a day; read \
                     the attachment again for a fresh one)"
                        .to_owned(),
                );
            }
            e
        })
    }

    /// The attachment record for `attachment`, with the columns this workspace uses: `fullPath` or the FILES
    /// field, `fileCategory` when the field exists, and the target column (`targetCompanyId` or `companyId`).
    pub fn attachment_record(&self, attachment: &NewAttachment) -> Result<Value, TwentyError> {
        let schema = self.schema();
        let op = "build attachment";
        let meta = schema.require(ATTACHMENT, op)?;
        let link = meta.link_column(&attachment.target_object).ok_or_else(|| {
            TwentyError::new(
                ErrorKind::InvalidInput,
                op,
                format!("attachments cannot point at {} in this workspace", attachment.target_object),
            )
            .with_object(ATTACHMENT)
            .with_hint("attach the file to an object the attachment object relates to (company, person, note…)")
        })?;
        let mut r = Map::new();
        if let Some(id) = attachment.id {
            r.insert("id".into(), json!(id.to_string()));
        }
        r.insert("name".into(), json!(attachment.name));
        match meta.files_field() {
            Some(f) => {
                let file_id = attachment.file.file_id.ok_or_else(|| {
                    TwentyError::new(ErrorKind::InvalidInput, op, "the upload returned no file id for the FILES field")
                        .with_object(ATTACHMENT)
                        .with_field(&f.name)
                })?;
                r.insert(f.name.clone(), json!([{"fileId": file_id.to_string(), "label": attachment.name}]));
                if meta.field("fullPath").is_some_and(|p| p.field_type == FieldType::Text) {
                    r.insert("fullPath".into(), json!(attachment.file.path));
                }
            }
            None => {
                r.insert("fullPath".into(), json!(attachment.file.path));
            }
        }
        if let Some(cat) = meta.field("fileCategory") {
            let wanted = file_category(&attachment.file.filename);
            let value = if cat.has_option(wanted) {
                Some(wanted)
            } else if cat.has_option("OTHER") {
                Some("OTHER")
            } else {
                None
            };
            if let Some(v) = value {
                r.insert("fileCategory".into(), json!(v));
            }
        }
        r.insert(link.column, json!(attachment.target_id.to_string()));
        Ok(Value::Object(r))
    }

    /// Creates an attachment record pointing at an uploaded file.
    pub async fn create_attachment(&self, attachment: &NewAttachment) -> Result<Record, TwentyError> {
        let record = self.attachment_record(attachment)?;
        self.create_one(ATTACHMENT, record, WriteMode::Create).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_by_extension() {
        assert_eq!(file_category("a.TXT"), "TEXT_DOCUMENT");
        assert_eq!(file_category("photo.jpeg"), "IMAGE");
        assert_eq!(file_category("noext"), "OTHER");
    }
}
