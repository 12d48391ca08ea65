//! The Atomic CRM source for ferry.
//!
//! Reads any Atomic CRM installation — a live PostgreSQL (Supabase) database or a Supabase/pg_dump plain-SQL
//! backup — of any schema generation, and produces ferry's vendor-free [`ferry_core::Record`]s and schema.
//!
//! * [`SourceSpec::parse`] takes `--from`: a `postgres://` URL (TLS with rustls for remote hosts, plain TCP for
//!   localhost; `sslmode` honoured) or a dump file path. Passwords never reach errors or output.
//! * [`extract`] streams every record (one `REPEATABLE READ READ ONLY` snapshot live; two streaming passes over a
//!   dump) to a callback, in the current schema's shape whatever the [`Generation`], and returns an
//!   [`Extraction`] with the catalog, the detected generation, counts and the [`User`]s.
//! * [`audit`] / [`audit_with`] give the [`Audit`] (serde-serializable for `--json`) and [`render_text`] prints it.
//! * [`object_defs`] gives the engine's [`ferry_core::ObjectDef`]s.
//! * [`generate`] writes Atomic CRM databases of any generation into PostgreSQL or as a dump, deterministically.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_atomic::AtomicError> {
//! use ferry_atomic::{Item, SourceSpec, audit, extract, render_text};
//! let source = SourceSpec::parse("backup.sql")?;
//! println!("{}", render_text(&audit(&source).await?));
//! let summary = extract(&source, &mut |item| {
//!     if let Item::Problem(p) = item { eprintln!("{p}"); }
//!     Ok(())
//! })
//! .await?;
//! println!("{} records, generation {}", summary.total_records(), summary.detection.generation);
//! # Ok(()) }
//! ```

pub mod attachments;
pub mod enums;
pub mod tsconfig;

pub mod audit;
pub mod automation;
pub mod describe;
pub mod dump;
pub mod error;
pub mod extract;
pub mod files;
pub mod generate;
pub mod inventory;
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
