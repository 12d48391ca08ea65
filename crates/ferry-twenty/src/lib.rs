//! # ferry-twenty — a client for one Twenty CRM workspace
//!
//! [`TwentyClient::connect`] discovers the workspace's data model through the metadata API (REST, completed by
//! the `/metadata` GraphQL query) and exposes it as a typed [`Schema`]; nothing about objects or fields is
//! hard-coded. On top of it the client pages through any object ([`TwentyClient::list`]), writes records in
//! batches sized to the server's cap — exactly once even when an answer is lost
//! ([`TwentyClient::create_batch_idempotent`]) — updates, deletes and restores records, changes the data model
//! (fields, options, relations, custom objects), lists members, and uploads and downloads files.
//!
//! The engine's interfaces are implemented on the client itself: [`ferry_core::load::Destination`] (exactly-once
//! creates) and [`ferry_core::workspace::Workspace`] (data model, members, undoable changes, encode, read back,
//! hard delete, attachments); call the trait methods as `Workspace::create_field(&client, …)` where the client's
//! own methods of the same name would be picked.
//!
//! Every request goes through one shared rate limiter (governor) for the routes the server counts, and
//! transient failures (429, 5xx, timeouts, connection errors) are retried with jittered exponential backoff
//! (backon). Failures that are not transient — validation (400), auth (401/403), 404, and the 500 the server
//! returns for a foreign-key violation — are classified and returned at once, naming the object, the record,
//! the field and the value, with a hint. The API key ([`ApiKey`]) never appears in errors or logs.

#![warn(missing_docs)]

mod client;
pub mod codec;
mod destination;
mod error;
mod files;
mod filter;
mod metadata;
mod metrics;
mod records;
mod schema;
mod secret;
mod workspace;

pub use client::{ClientOptions, RateLimit, RetryPolicy, TwentyClient};
pub use destination::write_error;
pub use error::{ErrorDetail, ErrorKind, RecordRef, TwentyError};
pub use files::{NewAttachment, UploadedFile, file_category};
pub use filter::{Direction, Filter, OrderBy};
pub use metadata::{
    NewField, NewObject, NewOption, NewRelation, OPTION_COLORS, check_option_value, option_value_from_label,
};
pub use metrics::MetricsSnapshot;
pub use records::{BatchOutcome, DeleteMode, ListQuery, Page, Record, RecordOutcome, WorkspaceMember, WriteMode};
pub use schema::{
    CompositeKind, FieldMeta, FieldType, LinkColumn, ObjectMeta, RelationKind, RelationMeta, Schema, SchemaDetail,
    SelectOption,
};
pub use secret::ApiKey;
pub use workspace::field_type_for;
