//! ferry's vendor-free engine.
//!
//! This crate knows objects, fields, values, records and problems. It never names a vendor: a source crate
//! (Atomic CRM, Twenty, CSV…) describes what it reads with these types, and a destination crate receives them.
//! Data flows one way: source → plan → load → verify → report.

pub mod ids;
pub mod journal;
pub mod load;
pub mod plan;
pub mod problem;
pub mod propose;
pub mod report;
pub mod run;
pub mod schema;
pub mod stage;
pub mod transform;
pub mod verify;
pub mod workspace;

pub use journal::{Journal, JournalError, RowState};
pub use problem::Problem;
pub use schema::{FieldDef, FieldKind, ObjectDef, Record, SelectOption};
