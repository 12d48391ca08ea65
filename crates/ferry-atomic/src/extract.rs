//! The one entry point for reading records, whatever the source: a live database or a dump file.

use std::collections::BTreeMap;

use ferry_core::{Problem, Record};
use serde::Serialize;

use crate::dump::{self, TableFilter};
use crate::error::AtomicError;
use crate::live::{self, LiveSnapshot};
use crate::model::{Catalog, Table, is_system_schema};
use crate::rows::object_name;
use crate::source::SourceSpec;
use crate::standard::{self, Detection};
use crate::users::{User, join_users};

/// What a read produces, one at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A row of a CRM table (`auth.users` rows are not emitted; they feed [`Extraction::users`]).
    Record(Record),
    /// Something that could not be read as it is, said so a person can act on it.
    Problem(Problem),
}

/// The outcome of a read.
#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    /// The source, password redacted.
    pub source: String,
    /// The structure found.
    pub catalog: Catalog,
    /// The schema generation and its markers.
    pub detection: Detection,
    /// Records emitted per object.
    pub counts: BTreeMap<String, u64>,
    /// CRM users (sales joined to auth.users).
    pub users: Vec<User>,
    /// How many problems were emitted.
    pub problems: u64,
}

impl Extraction {
    /// All records emitted.
    pub fn total_records(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Detects the generation or explains why this is not Atomic CRM.
pub fn detect_or_fail(catalog: &Catalog, source_name: &str) -> Result<Detection, AtomicError> {
    standard::detect(catalog).map_err(|missing| {
        let found: Vec<String> = catalog.tables.iter().filter(|t| t.schema == "public").map(|t| t.name.clone()).take(12).collect();
        AtomicError::NotAtomic {
            source_name: source_name.to_string(),
            reason: format!(
                "public table(s) {} not found{}",
                missing.join(", "),
                if found.is_empty() { " (no public tables at all)".to_string() } else { format!("; found {}", found.join(", ")) }
            ),
            hint: "point ferry at the Supabase database (or backup) of the Atomic CRM project; a dump must include the public schema".into(),
        }
    })
}

/// The order tables are read in: Atomic CRM's tables by dependency, then the user's tables by name.
pub fn read_order(catalog: &Catalog) -> Vec<&Table> {
    let rank = |t: &Table| -> (usize, String) {
        let canonical = if t.schema == "public" { standard::canonical_table(&t.name) } else { None };
        let order = [
            "sales",
            "tags",
            "companies",
            "contacts",
            "deals",
            "contact_notes",
            "deal_notes",
            "tasks",
            "favicons_excluded_domains",
            "configuration",
        ];
        (canonical.and_then(|c| order.iter().position(|o| *o == c)).unwrap_or(order.len()), t.qualified())
    };
    let mut tables: Vec<&Table> = catalog.tables.iter().filter(|t| !is_system_schema(&t.schema)).collect();
    tables.sort_by_key(|t| rank(t));
    tables
}

/// Reads the structure of a source without its data.
pub async fn read_catalog(source: &SourceSpec) -> Result<(Catalog, Detection, Vec<Problem>), AtomicError> {
    match source {
        SourceSpec::Postgres(url) => {
            let mut client = live::connect(url).await?;
            let snap = LiveSnapshot::begin(&mut client, url).await?;
            let catalog = snap.catalog().await?;
            snap.finish().await?;
            let detection = detect_or_fail(&catalog, &url.redacted())?;
            Ok((catalog, detection, vec![]))
        }
        SourceSpec::Dump(path) => {
            let (catalog, problems) = dump::read_catalog(path)?;
            let detection = detect_or_fail(&catalog, &path.display().to_string())?;
            Ok((catalog, detection, problems))
        }
    }
}

struct Collector<'s> {
    sink: &'s mut (dyn FnMut(Item) -> Result<(), AtomicError> + Send),
    counts: BTreeMap<String, u64>,
    sales: Vec<Record>,
    auth_users: Vec<Record>,
    problems: u64,
}

impl Collector<'_> {
    fn record(&mut self, r: Record) -> Result<(), AtomicError> {
        if r.object == "auth.users" {
            self.auth_users.push(r);
            return Ok(());
        }
        if r.object == "sales" {
            self.sales.push(r.clone());
        }
        match self.counts.get_mut(&r.object) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(r.object.clone(), 1);
            }
        }
        (self.sink)(Item::Record(r))
    }

    fn problem(&mut self, p: Problem) -> Result<(), AtomicError> {
        self.problems += 1;
        (self.sink)(Item::Problem(p))
    }
}

/// Reads every record of an Atomic CRM source and hands it to `sink`, one at a time, in table dependency order
/// (live) or file order (dump). Live reads happen in one `REPEATABLE READ READ ONLY` transaction. A dump is read
/// synchronously (blocking file I/O): call this from `spawn_blocking` if the runtime must stay responsive.
///
/// Records are in the current schema's shape whatever the generation (`contactNotes` → `contact_notes`,
/// `stateAbbr` → `state_abbr`, old `email`/`phone_N_*` → `email_jsonb`/`phone_jsonb`); custom columns and
/// tables come through under their own names. Enum values are left as stored (see [`Detection::enum_labels`]).
pub async fn extract(
    source: &SourceSpec,
    sink: &mut (dyn FnMut(Item) -> Result<(), AtomicError> + Send),
) -> Result<Extraction, AtomicError> {
    let mut col = Collector { sink, counts: BTreeMap::new(), sales: vec![], auth_users: vec![], problems: 0 };
    let (catalog, detection, has_auth) = match source {
        SourceSpec::Postgres(url) => {
            let mut client = live::connect(url).await?;
            let snap = LiveSnapshot::begin(&mut client, url).await?;
            let catalog = snap.catalog().await?;
            let detection = detect_or_fail(&catalog, &url.redacted())?;
            let col_cell = std::sync::Mutex::new(&mut col);
            for table in read_order(&catalog) {
                let mut on_record =
                    |r: Record| col_cell.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?.record(r);
                let mut on_problem =
                    |p: Problem| col_cell.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?.problem(p);
                snap.read_table(table, &detection, &mut on_record, &mut on_problem).await?;
                col_cell
                    .lock()
                    .map_err(|_| AtomicError::Sink("poisoned".into()))?
                    .counts
                    .entry(object_name(table))
                    .or_default();
            }
            let has_auth = if let Some(auth) = catalog.table("auth", "users") {
                let mut on_record =
                    |r: Record| col_cell.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?.record(r);
                let mut on_problem =
                    |p: Problem| col_cell.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?.problem(p);
                snap.read_table(auth, &detection, &mut on_record, &mut on_problem).await?;
                true
            } else {
                false
            };
            snap.finish().await?;
            (catalog, detection, has_auth)
        }
        SourceSpec::Dump(path) => {
            let (catalog, schema_problems) = dump::read_catalog(path)?;
            let detection = detect_or_fail(&catalog, &path.display().to_string())?;
            for p in schema_problems {
                col.problem(p)?;
            }
            for table in read_order(&catalog) {
                col.counts.entry(object_name(table)).or_default();
            }
            let cell = std::cell::RefCell::new(&mut col);
            dump::read_records(
                path,
                &catalog,
                &detection,
                TableFilter::All,
                &mut |r| cell.borrow_mut().record(r),
                &mut |p| cell.borrow_mut().problem(p),
            )?;
            let has_auth = catalog.table("auth", "users").is_some();
            (catalog, detection, has_auth)
        }
    };
    let (users, user_problems) = join_users(&col.sales, if has_auth { Some(&col.auth_users) } else { None });
    for p in user_problems {
        col.problem(p)?;
    }
    Ok(Extraction {
        source: source.display_name(),
        catalog,
        detection,
        counts: col.counts,
        users,
        problems: col.problems,
    })
}

/// The users of a dump whose catalog is already known (one data pass over `public.sales` and `auth.users`).
pub(crate) fn dump_users(
    path: &std::path::Path,
    catalog: &Catalog,
    detection: &Detection,
) -> Result<(Vec<User>, Vec<Problem>), AtomicError> {
    let mut sales = Vec::new();
    let mut auth = Vec::new();
    let mut problems = Vec::new();
    let only = ["public.sales", "auth.users"];
    dump::read_records(
        path,
        catalog,
        detection,
        TableFilter::Only(&only),
        &mut |r| {
            if r.object == "sales" {
                sales.push(r)
            } else {
                auth.push(r)
            }
            Ok(())
        },
        &mut |p| {
            problems.push(p);
            Ok(())
        },
    )?;
    let has_auth = catalog.table("auth", "users").is_some();
    let (users, more) = join_users(&sales, if has_auth { Some(&auth) } else { None });
    problems.extend(more);
    Ok((users, problems))
}

/// Reads only the users (sales joined to auth.users) of a source.
pub async fn read_users(source: &SourceSpec) -> Result<(Vec<User>, Vec<Problem>), AtomicError> {
    let mut sales = Vec::new();
    let mut auth = Vec::new();
    let mut problems = Vec::new();
    let has_auth;
    match source {
        SourceSpec::Postgres(url) => {
            let mut client = live::connect(url).await?;
            let snap = LiveSnapshot::begin(&mut client, url).await?;
            let catalog = snap.catalog().await?;
            let detection = detect_or_fail(&catalog, &url.redacted())?;
            let cells = std::sync::Mutex::new((&mut sales, &mut auth, &mut problems));
            for (schema, name) in [("public", "sales"), ("auth", "users")] {
                if let Some(t) = catalog.table(schema, name) {
                    let mut on_record = |r: Record| {
                        let mut g = cells.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?;
                        if r.object == "sales" {
                            g.0.push(r)
                        } else {
                            g.1.push(r)
                        }
                        Ok(())
                    };
                    let mut on_problem = |p: Problem| {
                        cells.lock().map_err(|_| AtomicError::Sink("poisoned".into()))?.2.push(p);
                        Ok(())
                    };
                    snap.read_table(t, &detection, &mut on_record, &mut on_problem).await?;
                }
            }
            has_auth = catalog.table("auth", "users").is_some();
            snap.finish().await?;
        }
        SourceSpec::Dump(path) => {
            let (catalog, _) = dump::read_catalog(path)?;
            let detection = detect_or_fail(&catalog, &path.display().to_string())?;
            return dump_users(path, &catalog, &detection);
        }
    }
    let (users, more) = join_users(&sales, if has_auth { Some(&auth) } else { None });
    problems.extend(more);
    Ok((users, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn extract_and_audit_futures_can_be_spawned() {
        let spec = SourceSpec::parse("postgres://localhost/x").unwrap();
        let mut sink = |_: Item| Ok(());
        let fut = extract(&spec, &mut sink);
        assert_send(&fut);
        let audit = crate::audit::audit(&spec);
        assert_send(&audit);
    }
}
