//! The Atomic CRM source for ferry.
//!
//! Reads any Atomic CRM installation — a live PostgreSQL (Supabase) database or a Supabase/pg_dump plain-SQL
//! backup — of any schema generation, and produces ferry's vendor-free [`ferry_core::Record`]s and schema.

pub mod attachments;
pub mod enums;
pub mod tsconfig;

pub mod audit;
pub mod automation;
pub mod dump;
pub mod error;
pub mod extract;
pub mod generate;
pub mod live;
pub mod model;
pub mod pgtext;
pub mod rows;
pub mod source;
pub mod sql;
pub mod standard;
pub mod users;

pub use audit::{Audit, AuditOptions, audit, audit_with, object_defs, render_text};
pub use error::AtomicError;
pub use extract::{Extraction, Item, extract, read_catalog, read_users};
pub use source::{PgUrl, SourceSpec, redact_url};
pub use standard::{Detection, Generation};
pub use users::User;
