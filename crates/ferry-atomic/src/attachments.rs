//! Files and images of an Atomic CRM installation: note attachments (`contact_notes.attachments`,
//! `deal_notes.attachments`, `jsonb[]`), contact avatars, company logos and sales avatars (`jsonb`).
//!
//! All of them use react-admin's `RAFile` shape `{src, title, path?, type?, rawFile?}` ([`RaFile`]). [`classify`]
//! turns a column value into [`FileRef`]s, each classified — never failed on — as:
//! * a Supabase Storage object ([`FileClass::Storage`]): it has a `path`, or its `src` lies under
//!   `/storage/v1/object/public/<bucket>/`; its public URL is resolved against the project URL
//!   (`https://<ref>.supabase.co`) and the bucket (`attachments` unless overridden);
//! * an external URL ([`FileClass::External`]);
//! * a generated image ([`FileClass::Generated`]): gravatar, favicon services (favicon.show, Google s2,
//!   DuckDuckGo…), ui-avatars, `data:` URLs;
//! * broken ([`FileClass::Broken`]): the trigger's `{"src":"ERROR"}`, empty values, unparsable or browser-only URLs.
//!
//! [`Fetcher::fetch`] then downloads a file over HTTP(S) (or decodes a `data:` URL), streaming, with a size limit,
//! a timeout, the SHA-256 computed while streaming and the content type recorded; a failure is a [`FetchFailure`]
//! carrying a [`Problem`] that names the table, row, column and URL and says what to do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ferry_core::{Problem, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

/// The bucket Atomic CRM uploads to (`VITE_ATTACHMENTS_BUCKET` can change it).
pub const DEFAULT_BUCKET: &str = "attachments";

/// Extensions [`FileRef::file_name`] adds to an extension-less title (a domain such as `acme.com` is not a file).
const FILE_EXTENSIONS: &[&str] = &[
    "pdf", "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "tif", "tiff", "heic", "ico", "doc", "docx", "odt",
    "rtf", "txt", "md", "csv", "tsv", "xls", "xlsx", "ods", "ppt", "pptx", "odp", "key", "pages", "numbers", "zip",
    "gz", "tgz", "7z", "rar", "json", "xml", "html", "htm", "eml", "msg", "ics", "vcf", "mp3", "wav", "m4a", "ogg",
    "mp4", "mov", "avi", "webm", "mkv",
];

/// The path prefix of Supabase Storage public object URLs.
const PUBLIC_PREFIX: &str = "/storage/v1/object/public/";
/// The path prefix of Supabase Storage signed object URLs.
const SIGNED_PREFIX: &str = "/storage/v1/object/sign/";

/// react-admin's file object as stored in Atomic CRM. Every field is optional here because real rows are messy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RaFile {
    /// The URL (public Storage URL, external URL, `data:` URL, or `"ERROR"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// The original file name, or a caption (`"Company favicon"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The object name inside the bucket (`0.8262106278726917.pdf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The MIME type given at upload.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// What the browser's `File` serialised to (usually `{}`), or the importer's `{name, type}`.
    #[serde(rename = "rawFile", default, skip_serializing_if = "Option::is_none")]
    pub raw_file: Option<Value>,
    /// Any other keys, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RaFile {
    /// Reads an object leniently: non-string `src`/`title`/`path`/`type` are kept in `extra`, and the JSON importer's
    /// `{url, name}` shape is understood as `{src, title}`.
    pub fn from_object(map: &Map<String, Value>) -> RaFile {
        let mut file = RaFile::default();
        for (k, v) in map {
            let s = v.as_str().map(str::to_string);
            match (k.as_str(), s) {
                ("src", Some(s)) => file.src = Some(s),
                ("title", Some(s)) => file.title = Some(s),
                ("path", Some(s)) => file.path = Some(s),
                ("type", Some(s)) => file.mime_type = Some(s),
                ("rawFile", _) => file.raw_file = Some(v.clone()),
                _ => {
                    file.extra.insert(k.clone(), v.clone());
                }
            }
        }
        if file.src.is_none()
            && let Some(Value::String(url)) = file.extra.get("url")
        {
            file.src = Some(url.clone());
        }
        if file.title.is_none()
            && let Some(Value::String(name)) = file.extra.get("name")
        {
            file.title = Some(name.clone());
        }
        file
    }
}

/// Where a file reference was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The table (`contact_notes`, `companies`…).
    pub table: String,
    /// The row's id.
    pub record: String,
    /// The column (`attachments`, `logo`, `avatar`…).
    pub column: String,
    /// The position inside an array column, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl Location {
    /// The column, with the array position when there is one (`attachments[2]`).
    pub fn field(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.column),
            None => self.column.clone(),
        }
    }
}

/// What [`classify`] needs to know besides the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyContext {
    /// The table the value comes from.
    pub table: String,
    /// The row's id.
    pub record: String,
    /// The column.
    pub column: String,
    /// The Supabase project URL (`https://<ref>.supabase.co`), to build public URLs of Storage objects.
    pub project_url: Option<Url>,
    /// The Storage bucket of objects known only by their `path`.
    pub bucket: String,
}

impl ClassifyContext {
    /// A context for one column of one row, with the default bucket and no project URL.
    pub fn new(table: impl Into<String>, record: impl Into<String>, column: impl Into<String>) -> Self {
        ClassifyContext {
            table: table.into(),
            record: record.into(),
            column: column.into(),
            project_url: None,
            bucket: DEFAULT_BUCKET.to_string(),
        }
    }

    /// Sets the Supabase project URL.
    pub fn with_project_url(mut self, url: Url) -> Self {
        self.project_url = Some(url);
        self
    }

    /// Sets the bucket.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }

    fn location(&self, index: Option<usize>) -> Location {
        Location { table: self.table.clone(), record: self.record.clone(), column: self.column.clone(), index }
    }
}

/// A service that makes images from an e-mail address, a domain or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratedService {
    /// gravatar.com (Atomic CRM's avatar trigger).
    Gravatar,
    /// favicon.show (Atomic CRM's logo and avatar triggers).
    FaviconShow,
    /// Google's s2 favicon service (`www.google.com/s2/favicons`, `*.gstatic.com/faviconV2`).
    GoogleFavicons,
    /// DuckDuckGo's icon service (`icons.duckduckgo.com/ip3/`).
    DuckDuckGoIcons,
    /// Other favicon services (icon.horse, favicone.com, faviconkit…).
    OtherFavicons,
    /// ui-avatars.com (initials).
    UiAvatars,
    /// DiceBear (`api.dicebear.com`).
    DiceBear,
    /// Clearbit's logo service (`logo.clearbit.com`).
    Clearbit,
    /// A `data:` URL: the bytes are in the value itself.
    DataUrl,
}

/// Why a file reference is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum BrokenReason {
    /// `{"src":"ERROR"}`, written by Atomic CRM's avatar trigger when its HTTP call failed.
    ErrorMarker,
    /// No `src` and no `path`, `{}`, `null` or an empty string.
    Empty,
    /// Not an object nor a URL string (a number…).
    NotAnObject,
    /// A `src` that is not a URL.
    UnparsableUrl {
        /// The URL parser's reason.
        error: String,
    },
    /// A relative URL (`./logos/x.svg`): a file of the front-end, not of the database.
    RelativeUrl,
    /// A browser-only `blob:` URL: the file never reached the server.
    BlobUrl,
    /// A scheme ferry cannot fetch (`ftp:`, `file:`…).
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
    },
}

impl BrokenReason {
    fn describe(&self) -> String {
        match self {
            BrokenReason::ErrorMarker => {
                "the value is Atomic CRM's error marker \"ERROR\" (its avatar trigger failed); there is no file".into()
            }
            BrokenReason::Empty => "the value is empty; there is no file".into(),
            BrokenReason::NotAnObject => "the value is neither a file object nor a URL".into(),
            BrokenReason::UnparsableUrl { error } => format!("src is not a URL ({error})"),
            BrokenReason::RelativeUrl => "src is a relative path to a front-end file, not a stored file".into(),
            BrokenReason::BlobUrl => "src is a browser-only blob: URL; the upload never reached the server".into(),
            BrokenReason::UnsupportedScheme { scheme } => {
                format!("src uses the {scheme}: scheme, which ferry cannot fetch")
            }
        }
    }
}

/// What kind of file a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum FileClass {
    /// An object in Supabase Storage.
    Storage {
        /// The bucket.
        bucket: String,
        /// The object name inside the bucket (percent-decoded).
        path: String,
        /// Where to download it: the public URL built from the project URL when one was given, else `src`.
        /// `None` when neither is known (give the project URL).
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// A file on some other web server.
    External {
        /// Its URL.
        url: String,
    },
    /// An image generated by a service (or inline in a `data:` URL).
    Generated {
        /// Which service.
        service: GeneratedService,
        /// The URL (a `data:` URL for [`GeneratedService::DataUrl`]).
        url: String,
    },
    /// Unusable.
    Broken(BrokenReason),
}

/// One file reference found in a column value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRef {
    /// Where it was found.
    pub location: Location,
    /// The stored object.
    pub file: RaFile,
    /// What it points at.
    pub class: FileClass,
}

impl FileRef {
    /// The URL to download: the Storage URL, the external URL, the generated image's URL (`data:` included).
    /// `None` for broken references and Storage objects without a known URL.
    pub fn fetch_url(&self) -> Option<&str> {
        match &self.class {
            FileClass::Storage { url, .. } => url.as_deref(),
            FileClass::External { url } | FileClass::Generated { url, .. } => Some(url),
            FileClass::Broken(_) => None,
        }
    }

    /// A file name for the destination: the `title` (the original name for uploads) made safe, with the extension of
    /// `path`/URL added when the title has none; else the last segment of `path` or the URL; else `file`.
    pub fn file_name(&self) -> String {
        let from_path = self
            .file
            .path
            .as_deref()
            .or(self.file.src.as_deref().filter(|s| !s.starts_with("data:")))
            .and_then(|p| p.split(['?', '#']).next())
            .and_then(|p| p.rsplit('/').next())
            .map(percent_decode)
            .map(|s| sanitize_file_name(&s))
            .filter(|s| !s.is_empty());
        let title = self.file.title.as_deref().map(sanitize_file_name).filter(|s| !s.is_empty());
        match (title, from_path) {
            (Some(t), Some(p)) if !t.contains('.') => match p.rsplit_once('.') {
                Some((_, ext)) if FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) => format!("{t}.{ext}"),
                _ => t,
            },
            (Some(t), _) => t,
            (None, Some(p)) => p,
            (None, None) => "file".to_string(),
        }
    }

    /// A problem for a broken reference (`None` for the others).
    pub fn problem(&self) -> Option<Problem> {
        let FileClass::Broken(reason) = &self.class else { return None };
        let shown = self.file.src.clone().unwrap_or_else(|| serde_json::to_string(&self.file).unwrap_or_default());
        Some(
            Problem::new(&self.location.table, reason.describe())
                .record(&self.location.record)
                .field(self.location.field())
                .value(redact_url(&shown))
                .hint("nothing to fetch: the record is migrated without this file"),
        )
    }
}

/// Classifies the file references in one column value. Accepts:
/// * `null` → nothing;
/// * an object (`RAFile`; the importer's `{url, name}` too) → one reference;
/// * an array (a decoded `jsonb[]`, or a JSON array) → one reference per element, `index` set;
/// * a string: JSON text of the above, a PostgreSQL array literal of jsonb (`{"{\"src\": …}"}`), or a plain URL
///   (settings logos).
///
/// Never fails: unusable elements are [`FileClass::Broken`].
pub fn classify(value: &Value, ctx: &ClassifyContext) -> Vec<FileRef> {
    let mut out = Vec::new();
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                classify_one(item, ctx, Some(i), &mut out);
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with('[') || t.starts_with("{\"") || t.starts_with("{ \"") {
                if let Ok(parsed) = serde_json::from_str::<Value>(t)
                    && (parsed.is_array() || parsed.is_object())
                {
                    return classify(&parsed, ctx);
                }
                if let Ok(items) = parse_pg_jsonb_array(t) {
                    return classify(&Value::Array(items), ctx);
                }
            }
            if t == "{}" {
                return Vec::new(); // an empty PostgreSQL array
            }
            classify_one(value, ctx, None, &mut out);
        }
        _ => classify_one(value, ctx, None, &mut out),
    }
    out
}

fn classify_one(item: &Value, ctx: &ClassifyContext, index: Option<usize>, out: &mut Vec<FileRef>) {
    let file = match item {
        Value::Object(map) => RaFile::from_object(map),
        Value::String(s) => RaFile { src: Some(s.clone()), ..RaFile::default() },
        Value::Null => RaFile::default(),
        _ => {
            out.push(FileRef {
                location: ctx.location(index),
                file: RaFile { extra: Map::from_iter([("value".to_string(), item.clone())]), ..RaFile::default() },
                class: FileClass::Broken(BrokenReason::NotAnObject),
            });
            return;
        }
    };
    let class = classify_file(&file, ctx);
    out.push(FileRef { location: ctx.location(index), file, class });
}

fn classify_file(file: &RaFile, ctx: &ClassifyContext) -> FileClass {
    let src = file.src.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let path = file.path.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let parsed = src.map(Url::parse);
    let storage_from_src = match &parsed {
        Some(Ok(url)) if matches!(url.scheme(), "http" | "https") => storage_object(url),
        _ => None,
    };

    if let Some(path) = path {
        let bucket = storage_from_src.as_ref().map(|(b, _)| b.clone()).unwrap_or_else(|| ctx.bucket.clone());
        let path = path.trim_start_matches('/').to_string();
        let url = storage_url(ctx, &bucket, &path, src, storage_from_src.is_some());
        return FileClass::Storage { bucket, path, url };
    }
    if let Some((bucket, path)) = storage_from_src {
        let url = storage_url(ctx, &bucket, &path, src, true);
        return FileClass::Storage { bucket, path, url };
    }
    let Some(src) = src else {
        return FileClass::Broken(BrokenReason::Empty);
    };
    if src.eq_ignore_ascii_case("error") {
        return FileClass::Broken(BrokenReason::ErrorMarker);
    }
    if src.len() >= 5 && src[..5].eq_ignore_ascii_case("data:") {
        return FileClass::Generated { service: GeneratedService::DataUrl, url: src.to_string() };
    }
    match parsed {
        Some(Ok(url)) => match url.scheme() {
            "http" | "https" => match generated_service(&url) {
                Some(service) => FileClass::Generated { service, url: src.to_string() },
                None => FileClass::External { url: src.to_string() },
            },
            "blob" => FileClass::Broken(BrokenReason::BlobUrl),
            scheme => FileClass::Broken(BrokenReason::UnsupportedScheme { scheme: scheme.to_string() }),
        },
        Some(Err(url::ParseError::RelativeUrlWithoutBase)) => {
            if src.starts_with("//") {
                // Protocol-relative: assume https.
                match Url::parse(&format!("https:{src}")) {
                    Ok(url) => match generated_service(&url) {
                        Some(service) => FileClass::Generated { service, url: url.to_string() },
                        None => FileClass::External { url: url.to_string() },
                    },
                    Err(e) => FileClass::Broken(BrokenReason::UnparsableUrl { error: e.to_string() }),
                }
            } else {
                FileClass::Broken(BrokenReason::RelativeUrl)
            }
        }
        Some(Err(e)) => FileClass::Broken(BrokenReason::UnparsableUrl { error: e.to_string() }),
        None => FileClass::Broken(BrokenReason::Empty),
    }
}

/// The URL to fetch a Storage object from: the project's public URL when the project URL is known, else `src` when
/// it is an absolute Storage URL.
fn storage_url(
    ctx: &ClassifyContext,
    bucket: &str,
    path: &str,
    src: Option<&str>,
    src_is_storage: bool,
) -> Option<String> {
    if let Some(project) = &ctx.project_url {
        return Some(public_url(project, bucket, path).to_string());
    }
    if src_is_storage { src.map(str::to_string) } else { None }
}

/// `(bucket, path)` when `url` is a Supabase Storage public or signed object URL.
fn storage_object(url: &Url) -> Option<(String, String)> {
    let p = url.path();
    let rest = p
        .find(PUBLIC_PREFIX)
        .map(|i| &p[i + PUBLIC_PREFIX.len()..])
        .or_else(|| p.find(SIGNED_PREFIX).map(|i| &p[i + SIGNED_PREFIX.len()..]))?;
    let (bucket, path) = rest.split_once('/')?;
    if bucket.is_empty() || path.is_empty() {
        return None;
    }
    Some((percent_decode(bucket), percent_decode(path)))
}

/// The columns of Atomic CRM that hold files, as `(object, column)` with the readers' object names.
pub const FILE_COLUMNS: &[(&str, &str)] = &[
    ("contact_notes", "attachments"),
    ("deal_notes", "attachments"),
    ("contacts", "avatar"),
    ("companies", "logo"),
    ("sales", "avatar"),
];

/// Where an installation's Storage files live: the project URL (when known) and the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// `https://<ref>.supabase.co`, or `None` when unknown (Storage objects known only by `path` then cannot be
    /// fetched; those whose `src` is a full Storage URL still can).
    pub project_url: Option<Url>,
    /// The bucket (`attachments` unless `VITE_ATTACHMENTS_BUCKET` changed it).
    pub bucket: String,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings { project_url: None, bucket: DEFAULT_BUCKET.to_string() }
    }
}

/// Classifies every file column ([`FILE_COLUMNS`]) of one record; other records give nothing.
pub fn classify_record(record: &Record, storage: &StorageSettings) -> Vec<FileRef> {
    let mut out = Vec::new();
    for (_, column) in FILE_COLUMNS.iter().filter(|(object, _)| *object == record.object) {
        let ctx = ClassifyContext {
            table: record.object.clone(),
            record: record.key.clone(),
            column: (*column).to_string(),
            project_url: storage.project_url.clone(),
            bucket: storage.bucket.clone(),
        };
        out.extend(classify(record.get(column), &ctx));
    }
    out
}

/// The Supabase project URL (`https://<ref>.supabase.co`) behind a PostgreSQL URL, when it is a Supabase one:
/// the direct connection `db.<ref>.supabase.co`, or the pooler (`*.pooler.supabase.com`, user `postgres.<ref>`).
/// `None` for any other database (then ask for the project URL, or rely on full `src` URLs).
pub fn project_url_from_db_url(db_url: &str) -> Option<Url> {
    let url = Url::parse(db_url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let project_ref = if let Some(rest) = host.strip_prefix("db.") {
        rest.strip_suffix(".supabase.co")?.to_string()
    } else if host.ends_with(".pooler.supabase.com") {
        let user = percent_decode(url.username());
        user.split_once('.').map(|(_, r)| r.to_string())?
    } else {
        return None;
    };
    let valid = !project_ref.is_empty() && project_ref.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid {
        return None;
    }
    Url::parse(&format!("https://{project_ref}.supabase.co")).ok()
}

/// The public URL of `path` in `bucket` of the Supabase project at `project_url`:
/// `<project>/storage/v1/object/public/<bucket>/<path>`, each segment percent-encoded. Any path the project URL
/// already has (a reverse proxy prefix) is kept.
pub fn public_url(project_url: &Url, bucket: &str, path: &str) -> Url {
    let mut url = project_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        segments.extend(["storage", "v1", "object", "public", bucket]);
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
    }
    url
}

fn generated_service(url: &Url) -> Option<GeneratedService> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.trim_start_matches("www.");
    let path = url.path();
    let is = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if is("gravatar.com") {
        Some(GeneratedService::Gravatar)
    } else if is("favicon.show") {
        Some(GeneratedService::FaviconShow)
    } else if (host == "google.com" && path.starts_with("/s2/favicons"))
        || (is("gstatic.com") && path.starts_with("/faviconV2"))
    {
        Some(GeneratedService::GoogleFavicons)
    } else if host == "icons.duckduckgo.com" {
        Some(GeneratedService::DuckDuckGoIcons)
    } else if [
        "icon.horse",
        "favicone.com",
        "faviconkit.com",
        "besticon-demo.herokuapp.com",
        "favicongrabber.com",
        "f1.allesedv.com",
    ]
    .iter()
    .any(|d| is(d))
    {
        Some(GeneratedService::OtherFavicons)
    } else if is("ui-avatars.com") {
        Some(GeneratedService::UiAvatars)
    } else if is("dicebear.com") {
        Some(GeneratedService::DiceBear)
    } else if host == "logo.clearbit.com" {
        Some(GeneratedService::Clearbit)
    } else {
        None
    }
}

/// Decodes `%XX` escapes (invalid ones are kept as they are; invalid UTF-8 is replaced).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sanitize_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_matches('.').trim();
    cleaned.chars().take(200).collect()
}

/// Shows a URL without secrets: a password in it and the values of query parameters such as `token`, `signature`,
/// `key` become `***`. `data:` URLs are cut after their media type.
pub fn redact_url(raw: &str) -> String {
    if raw.len() >= 5 && raw[..5].eq_ignore_ascii_case("data:") {
        let head = raw.split(',').next().unwrap_or(raw);
        return format!("{head},…");
    }
    let Ok(mut url) = Url::parse(raw) else { return raw.to_string() };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = [
                    "token",
                    "sig",
                    "signature",
                    "key",
                    "apikey",
                    "access_token",
                    "x-amz-signature",
                    "x-amz-credential",
                    "secret",
                    "password",
                ]
                .contains(&lower.as_str());
                (k.into_owned(), if secret { "***".to_string() } else { v.into_owned() })
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Parses a PostgreSQL array literal of `jsonb` as written by `pg_dump` or `::text` (`{"{\"src\": \"…\"}",NULL}`)
/// into its elements (`NULL` → `null`). Only one-dimensional arrays are supported.
pub fn parse_pg_jsonb_array(text: &str) -> Result<Vec<Value>, String> {
    let t = text.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| "a PostgreSQL array literal must be enclosed in { }".to_string())?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let element = if first == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some(c) => s.push(c),
                        None => return Err("unfinished escape in array element".into()),
                    },
                    Some('"') => break,
                    Some(c) => s.push(c),
                    None => return Err("unterminated quoted array element".into()),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                s.push(c);
                chars.next();
            }
            let s = s.trim().to_string();
            if s.eq_ignore_ascii_case("null") { None } else { Some(s) }
        };
        match element {
            Some(s) => items
                .push(serde_json::from_str(&s).map_err(|e| format!("array element {} is not JSON: {e}", items.len()))?),
            None => items.push(Value::Null),
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(c) => return Err(format!("unexpected {c:?} after array element {}", items.len() - 1)),
        }
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------------------------------
// Fetching

/// How [`Fetcher`] downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Files larger than this are refused ([`FetchFailureKind::TooLarge`]). Default 50 MiB, Supabase's default
    /// upload limit in Atomic CRM.
    pub max_bytes: u64,
    /// The whole request, body included, must finish within this. Default 120 s.
    pub timeout: Duration,
    /// Connecting must finish within this. Default 10 s.
    pub connect_timeout: Duration,
    /// No byte for this long fails the download. Default 30 s.
    pub read_timeout: Duration,
    /// Files up to this size stay in memory; larger ones go to `spool_dir` when set. Default 8 MiB.
    pub memory_limit: u64,
    /// Where to write files larger than `memory_limit`, named by their SHA-256. `None`: everything in memory.
    pub spool_dir: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_bytes: 50 * 1024 * 1024,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            memory_limit: 8 * 1024 * 1024,
            spool_dir: None,
        }
    }
}

/// Where a fetched file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// In memory.
    Memory(Vec<u8>),
    /// In a file under [`FetchOptions::spool_dir`], named by the SHA-256; the caller owns (and removes) it.
    Spooled(PathBuf),
}

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    /// The bytes.
    pub content: FileContent,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The `Content-Type` the server sent (or the `data:` URL's media type, or the stored `type`).
    pub content_type: Option<String>,
    /// A file name for the destination (see [`FileRef::file_name`]).
    pub file_name: String,
    /// The URL fetched (secrets redacted), for reports.
    pub url: String,
}

/// Why a fetch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchFailureKind {
    /// Nothing to fetch: a broken reference, or a Storage object whose URL is unknown.
    NotFetchable,
    /// HTTP 404 or 410.
    NotFound,
    /// HTTP 401 or 403.
    Forbidden,
    /// Another HTTP error status.
    HttpStatus(u16),
    /// The server did not answer, or stopped sending, in time.
    Timeout,
    /// The file is larger than [`FetchOptions::max_bytes`].
    TooLarge,
    /// No connection (DNS, refused, TLS…).
    Connection,
    /// A local write to the spool directory failed.
    Io,
    /// A `data:` URL that cannot be decoded.
    InvalidDataUrl,
}

/// A failed fetch: its kind (for retry decisions) and the problem to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// What went wrong.
    pub kind: FetchFailureKind,
    /// The table, row, column and URL, what went wrong and what to do.
    pub problem: Problem,
}

impl FetchFailure {
    /// Whether trying again later may succeed (timeouts, connection errors, 429 and 5xx).
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            FetchFailureKind::Timeout | FetchFailureKind::Connection => true,
            FetchFailureKind::HttpStatus(s) => s == 429 || s >= 500,
            _ => false,
        }
    }
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem.fmt(f)
    }
}

impl std::error::Error for FetchFailure {}

/// Downloads files: one HTTP client (connection pool) for a whole run.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

impl Fetcher {
    /// A fetcher with these options.
    pub fn new(options: FetchOptions) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .timeout(options.timeout)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher { client, options })
    }

    /// The options in use.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Fetches the file a reference points at. Broken references and Storage objects with no known URL fail with
    /// [`FetchFailureKind::NotFetchable`].
    pub async fn fetch(&self, file: &FileRef) -> Result<FetchedFile, FetchFailure> {
        let Some(url) = file.fetch_url() else {
            let problem = match &file.class {
                FileClass::Storage { bucket, path, .. } => Problem::new(
                    &file.location.table,
                    format!("the file {path} of bucket {bucket} has no known URL"),
                )
                .record(&file.location.record)
                .field(file.location.field())
                .value(path)
                .hint("give ferry the Supabase project URL (https://<project-ref>.supabase.co) to fetch Storage files"),
                _ => file.problem().unwrap_or_else(|| Problem::new(&file.location.table, "nothing to fetch")),
            };
            return Err(FetchFailure { kind: FetchFailureKind::NotFetchable, problem });
        };
        let storage = match &file.class {
            FileClass::Storage { bucket, .. } => Some(bucket.as_str()),
            _ => None,
        };
        let mut fetched = self.fetch_url(url, &file.location, &file.file_name(), storage).await?;
        if fetched.content_type.is_none() {
            fetched.content_type = file.file.mime_type.clone();
        }
        Ok(fetched)
    }

    /// Fetches `url` (http, https or data) found at `location`. `file_name` names the result; `storage_bucket`,
    /// when the URL is a Storage object, makes the hints precise.
    pub async fn fetch_url(
        &self,
        url: &str,
        location: &Location,
        file_name: &str,
        storage_bucket: Option<&str>,
    ) -> Result<FetchedFile, FetchFailure> {
        let shown = redact_url(url);
        let fail = |kind: FetchFailureKind, message: String, hint: String| FetchFailure {
            kind,
            problem: Problem::new(&location.table, message)
                .record(&location.record)
                .field(location.field())
                .value(&shown)
                .hint(hint),
        };
        if url.len() >= 5 && url[..5].eq_ignore_ascii_case("data:") {
            let (content_type, bytes) = decode_data_url(url).map_err(|e| {
                fail(
                    FetchFailureKind::InvalidDataUrl,
                    format!("the data: URL cannot be decoded ({e})"),
                    "nothing to fetch: the record is migrated without this image".into(),
                )
            })?;
            if bytes.len() as u64 > self.options.max_bytes {
                return Err(fail(
                    FetchFailureKind::TooLarge,
                    format!(
                        "the data: URL holds {} bytes, more than the limit of {} bytes",
                        bytes.len(),
                        self.options.max_bytes
                    ),
                    "raise the file size limit to migrate it".into(),
                ));
            }
            let sha256 = hex(&Sha256::digest(&bytes));
            return Ok(FetchedFile {
                size: bytes.len() as u64,
                sha256,
                content_type,
                file_name: file_name.to_string(),
                url: shown.clone(),
                content: FileContent::Memory(bytes),
            });
        }

        let timeout_hint = || {
            format!(
                "the server did not answer or stopped sending within the time limit ({} s total, {} s without data); retry later, or raise the timeout",
                self.options.timeout.as_secs_f64(),
                self.options.read_timeout.as_secs_f64()
            )
        };
        let request_error = |e: reqwest::Error| {
            if e.is_timeout() {
                fail(FetchFailureKind::Timeout, "the download timed out".into(), timeout_hint())
            } else if e.is_connect() {
                fail(
                    FetchFailureKind::Connection,
                    format!("cannot connect ({})", error_chain(&e)),
                    "check the network and the URL (for Storage files: the Supabase project URL); retry later".into(),
                )
            } else {
                fail(
                    FetchFailureKind::Connection,
                    format!("the download failed ({})", error_chain(&e)),
                    "retry later; if it keeps failing the record is migrated without this file".into(),
                )
            }
        };

        let parsed = Url::parse(url).map_err(|e| {
            fail(
                FetchFailureKind::NotFetchable,
                format!("not a URL ({e})"),
                "nothing to fetch: the record is migrated without this file".into(),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(fail(
                FetchFailureKind::NotFetchable,
                format!("the {}: scheme cannot be fetched", parsed.scheme()),
                "nothing to fetch: the record is migrated without this file".into(),
            ));
        }
        let mut response = self.client.get(parsed).send().await.map_err(request_error)?;
        let status = response.status();
        if !status.is_success() {
            let code = status.as_u16();
            let (kind, hint) = match (code, storage_bucket) {
                (404 | 410, Some(bucket)) => (
                    FetchFailureKind::NotFound,
                    format!("the object is not in bucket \"{bucket}\" (deleted, or the bucket was renamed); check Storage in the Supabase dashboard; otherwise the record is migrated without this file"),
                ),
                (404 | 410, None) => (
                    FetchFailureKind::NotFound,
                    "the file is gone from that server; the record is migrated without it (the URL stays in the report)".to_string(),
                ),
                (401 | 403, Some(bucket)) => (
                    FetchFailureKind::Forbidden,
                    format!("bucket \"{bucket}\" refuses anonymous reads; make it public again (Atomic CRM creates it public) or download the files yourself"),
                ),
                (401 | 403, None) => (
                    FetchFailureKind::Forbidden,
                    "the server refuses access to this file; download it yourself if it matters".to_string(),
                ),
                (429, _) => (FetchFailureKind::HttpStatus(429), "the server is rate limiting; retry later".to_string()),
                (c, _) if c >= 500 => (FetchFailureKind::HttpStatus(c), "the server failed; retry later".to_string()),
                (c, _) => (FetchFailureKind::HttpStatus(c), "the server refused the request; the record is migrated without this file".to_string()),
            };
            return Err(fail(kind, format!("the download failed with HTTP {status}"), hint));
        }
        let too_large = |seen: u64| {
            fail(
                FetchFailureKind::TooLarge,
                format!("the file is larger than the limit of {} bytes ({seen} bytes or more)", self.options.max_bytes),
                "raise the file size limit to migrate it, or leave it: the record is migrated without this file".into(),
            )
        };
        if let Some(len) = response.content_length()
            && len > self.options.max_bytes
        {
            return Err(too_large(len));
        }
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);

        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buffer: Vec<u8> = Vec::new();
        let mut spool: Option<(PathBuf, tokio::fs::File)> = None;
        let result: Result<(), FetchFailure> = async {
            while let Some(chunk) = response.chunk().await.map_err(request_error)? {
                size += chunk.len() as u64;
                if size > self.options.max_bytes {
                    return Err(too_large(size));
                }
                hasher.update(&chunk);
                match &mut spool {
                    Some((_, file)) => file.write_all(&chunk).await.map_err(|e| io_failure(&fail, e))?,
                    None => {
                        buffer.extend_from_slice(&chunk);
                        if let Some(dir) = &self.options.spool_dir
                            && buffer.len() as u64 > self.options.memory_limit
                        {
                            let part = dir.join(format!(".ferry-{}.part", uuid::Uuid::new_v4()));
                            let created = tokio::fs::File::create(&part).await;
                            let mut file = created.map_err(|e| io_failure(&fail, e))?;
                            // Register the part file before writing, so that a failure removes it.
                            let write = file.write_all(&buffer).await;
                            spool = Some((part, file));
                            write.map_err(|e| io_failure(&fail, e))?;
                            buffer = Vec::new();
                        }
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(failure) = result {
            if let Some((part, file)) = spool {
                drop(file);
                let _ = tokio::fs::remove_file(&part).await;
            }
            return Err(failure);
        }
        let sha256 = hex(&hasher.finalize());
        let content = match spool {
            None => FileContent::Memory(buffer),
            Some((part, mut file)) => {
                let finished = async {
                    file.flush().await?;
                    file.sync_all().await?;
                    drop(file);
                    let target = part.with_file_name(&sha256);
                    tokio::fs::rename(&part, &target).await?;
                    Ok::<PathBuf, std::io::Error>(target)
                }
                .await;
                match finished {
                    Ok(target) => FileContent::Spooled(target),
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&part).await;
                        return Err(io_failure(&fail, e));
                    }
                }
            }
        };
        Ok(FetchedFile { content, size, sha256, content_type, file_name: file_name.to_string(), url: shown })
    }
}

fn io_failure(fail: &impl Fn(FetchFailureKind, String, String) -> FetchFailure, e: std::io::Error) -> FetchFailure {
    fail(
        FetchFailureKind::Io,
        format!("cannot write the downloaded file to the spool directory ({e})"),
        "check free space and permissions of the spool directory".into(),
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Decodes a `data:[<media type>][;base64],<data>` URL into its media type and bytes.
pub fn decode_data_url(url: &str) -> Result<(Option<String>, Vec<u8>), String> {
    let rest = url.get(5..).ok_or("too short")?;
    let (meta, data) = rest.split_once(',').ok_or("no comma before the data")?;
    let mut parts = meta.split(';');
    let media = parts.next().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
    let is_base64 = meta.split(';').any(|p| p.trim().eq_ignore_ascii_case("base64"));
    if is_base64 {
        let cleaned: String = percent_decode(data).chars().filter(|c| !c.is_whitespace()).collect();
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes = engine
            .decode(cleaned.as_bytes())
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=').as_bytes())
            })
            .or_else(|_| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.trim_end_matches('=').as_bytes())
            })
            .map_err(|e| format!("bad base64: {e}"))?;
        Ok((media, bytes))
    } else {
        Ok((media, percent_decode(data).into_bytes()))
    }
}

/// Reads a spooled or in-memory file's bytes (convenience for tests and small files).
pub async fn read_content(content: &FileContent) -> std::io::Result<Vec<u8>> {
    match content {
        FileContent::Memory(bytes) => Ok(bytes.clone()),
        FileContent::Spooled(path) => tokio::fs::read(Path::new(path)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
    }
}
