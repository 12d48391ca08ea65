//! What the engine needs from a destination beyond loading records: its data model, its members, changes to its
//! data model that can be undone, encoding neutral values into its shape, reading records back, deleting them, and
//! attaching files.
//!
//! A destination crate implements [`Workspace`] (on top of [`crate::load::Destination`]); `apply`, `verify` and
//! `rollback` speak only to this trait, so they never name a vendor.

use std::future::Future;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::journal::{SchemaChange, SchemaChangeKind};
use crate::load::{Destination, WriteError};
use crate::plan::{NewField, NewObject, NewOptions};
use crate::schema::ObjectDef;

/// One record read back: its destination id and its values in neutral form, by destination field name.
pub type ReadBack = (Uuid, Map<String, Value>);

/// A person of the destination workspace who can own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The destination's id for the member (what relation fields to members hold).
    pub id: String,
    /// The member's e-mail (matched case-insensitively).
    pub email: String,
    /// A name to show.
    pub name: String,
}

/// A data-model change a destination made, to be journalled so rollback can undo exactly it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: SchemaChangeKind,
    /// The destination object concerned.
    pub object: String,
    /// The destination field concerned (none for an object).
    pub field: Option<String>,
    /// The destination's id of what was created or changed.
    pub dest_id: String,
    /// For a change to something that existed before: its state before, to restore.
    pub before: Option<Value>,
}

/// A field value the destination cannot take, found while encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    /// The destination field.
    pub field: String,
    pub message: String,
}

/// A file to attach to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileData {
    /// The file's name as people saw it.
    pub name: String,
    /// Its media type, when known.
    pub mime: Option<String>,
    pub bytes: Vec<u8>,
}

/// A destination operation that failed, said so a person can act on it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WorkspaceError {
    pub message: String,
    /// Whether trying again later may work (rate limit, timeout, server error).
    pub transient: bool,
}

impl WorkspaceError {
    pub fn new(message: impl Into<String>) -> Self {
        WorkspaceError { message: message.into(), transient: false }
    }
}

/// A destination workspace as `apply`, `verify` and `rollback` use it. All record values cross this interface in
/// ferry's neutral forms (see [`crate::transform`]), by destination field name; relation fields hold the target's
/// destination id as a string.
pub trait Workspace: Destination {
    /// The data model as it is now (objects with their fields, options included).
    fn model(&self) -> impl Future<Output = Result<Vec<ObjectDef>, WorkspaceError>>;

    /// The members of the workspace.
    fn members(&self) -> impl Future<Output = Result<Vec<Member>, WorkspaceError>>;

    /// Creates an object unless one with this name exists. Returns the change made, or `None` when the object
    /// was already there (then nothing is journalled and rollback leaves it alone).
    fn create_object(&self, object: &NewObject) -> impl Future<Output = Result<Option<Change>, WorkspaceError>>;

    /// Creates a field unless one with this name exists on the object (same contract as `create_object`). A
    /// field that exists with another kind is an error that names both kinds.
    fn create_field(&self, field: &NewField) -> impl Future<Output = Result<Option<Change>, WorkspaceError>>;

    /// Adds the options the field does not have yet (matched by value), keeping the existing ones. Returns the
    /// change made (with the field's state before), or `None` when every option was there.
    fn add_options(&self, options: &NewOptions) -> impl Future<Output = Result<Option<Change>, WorkspaceError>>;

    /// Undoes one journalled change: deletes what was created, restores the state before of what was changed.
    /// Undoing something already gone is not an error.
    fn undo(&self, change: &SchemaChange) -> impl Future<Output = Result<(), WorkspaceError>>;

    /// Turns one record's neutral values into the destination's shape. Every field that cannot be encoded is
    /// listed.
    fn encode(&self, object: &str, neutral: &Map<String, Value>) -> Result<Map<String, Value>, Vec<EncodeError>>;

    /// Reads these records back, decoded into neutral values. Ids that do not exist are left out.
    fn read(&self, object: &str, ids: &[Uuid]) -> impl Future<Output = Result<Vec<ReadBack>, WorkspaceError>>;

    /// Deletes these records for good (not to a trash). Ids that do not exist are ignored.
    fn delete(&self, object: &str, ids: &[Uuid]) -> impl Future<Output = Result<(), WorkspaceError>>;

    /// The object that holds attachments, when the destination has one (rollback deletes its records too).
    fn attachment_object(&self) -> Option<&str>;

    /// Uploads `file` and attaches it to record `parent` of `parent_object`, as attachment record `id` (the id
    /// makes a repeated call harmless: an attachment that exists is not created twice).
    fn attach(
        &self,
        parent_object: &str,
        parent: Uuid,
        id: Uuid,
        file: &FileData,
    ) -> impl Future<Output = Result<(), WriteError>>;
}

/// Where a source keeps its files: turns a file reference found in a record (a URL, a storage path, an object with
/// `src` and `title`…) into the file's bytes.
pub trait FileSource {
    /// Fetches one file. The error says which file and why, for the report.
    fn fetch(&self, reference: &Value) -> impl Future<Output = Result<FileData, String>>;
}
