//! The schema audit: every table and column, what is custom, what ferry proposes for it, the users and the
//! automation that will not migrate. Printable as text or JSON (`ferry audit --from … [--json]`).

use std::fmt::Write as _;
use std::path::PathBuf;

use ferry_core::{FieldDef, FieldKind, ObjectDef, Problem, SelectOption};
use serde::{Deserialize, Serialize};

use crate::automation::{self, AutomationItem};
use crate::error::AtomicError;
use crate::extract;
use crate::model::{Catalog, Column, ForeignKey, Table, is_system_schema};
use crate::pgtext::{BaseType, ColType};
use crate::rows::object_name;
use crate::source::SourceSpec;
use crate::standard::{self, Detection, Generation};
use crate::users::User;

/// One column in the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnAudit {
    /// Stored name.
    pub name: String,
    /// Native type.
    pub native_type: String,
    /// NULL allowed.
    pub nullable: bool,
    /// Default expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Not part of Atomic CRM's standard schema for the detected generation.
    pub custom: bool,
    /// The destination kind ferry proposes.
    pub proposed_kind: FieldKind,
    /// Options, for enum-typed columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    /// For a foreign-key column: the table it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// Anything worth knowing about the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One table in the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableAudit {
    /// `schema.table` as stored.
    pub name: String,
    /// The object name records get.
    pub object: String,
    /// Whether Atomic CRM ships this table.
    pub standard: bool,
    /// Columns in order.
    pub columns: Vec<ColumnAudit>,
    /// Primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Standard columns of the generation that this table lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_standard_columns: Vec<String>,
}

/// A custom column of a standard table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomColumn {
    /// `schema.table`.
    pub table: String,
    /// The column.
    #[serde(flatten)]
    pub column: ColumnAudit,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// The source, password redacted.
    pub source: String,
    /// The detected schema generation.
    pub generation: Generation,
    /// What that generation means.
    pub generation_description: String,
    /// The markers the detection read.
    pub detection: Detection,
    /// Every table (user schemas).
    pub tables: Vec<TableAudit>,
    /// Columns users added to Atomic CRM's tables.
    pub custom_columns: Vec<CustomColumn>,
    /// Tables users added, with their foreign keys.
    pub user_tables: Vec<TableAudit>,
    /// CRM users.
    pub users: Vec<User>,
    /// Automation that will not migrate.
    pub automation: Vec<AutomationItem>,
    /// Problems met while auditing.
    pub problems: Vec<Problem>,
}

/// Options of [`audit_with`].
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// The Supabase project folder, to list its edge functions (`supabase/functions/*`).
    pub supabase_project: Option<PathBuf>,
}

/// Audits a source: `ferry audit --from <postgres URL | dump file>`.
pub async fn audit(source: &SourceSpec) -> Result<Audit, AtomicError> {
    audit_with(source, &AuditOptions::default()).await
}

/// Audits a source, also listing the edge functions of a Supabase project folder when given.
pub async fn audit_with(source: &SourceSpec, options: &AuditOptions) -> Result<Audit, AtomicError> {
    let (catalog, detection, problems, users) = match source {
        SourceSpec::Dump(path) => {
            // two passes over the file: structure, then sales and auth.users
            let (catalog, problems) = crate::dump::read_catalog(path)?;
            let detection = extract::detect_or_fail(&catalog, &path.display().to_string())?;
            let (users, user_problems) = extract::dump_users(path, &catalog, &detection)?;
            (catalog, detection, problems.into_iter().chain(user_problems).collect(), users)
        }
        SourceSpec::Postgres(_) => {
            let (catalog, detection, problems) = extract::read_catalog(source).await?;
            let (users, user_problems) = extract::read_users(source).await?;
            (catalog, detection, problems.into_iter().chain(user_problems).collect::<Vec<_>>(), users)
        }
    };
    let mut audit = build_audit(&source.display_name(), &catalog, &detection, users, problems);
    if let Some(dir) = &options.supabase_project {
        audit.automation.extend(automation::edge_functions(dir)?);
    }
    Ok(audit)
}

/// The destination kind proposed for a column, with options for enums and the target of a foreign key.
pub fn propose(
    table: &Table,
    column: &Column,
    catalog: &Catalog,
) -> (FieldKind, Vec<SelectOption>, Option<String>, Option<String>) {
    let fk = table
        .foreign_keys
        .iter()
        .find(|f| f.columns.len() == 1 && f.columns[0] == column.name)
        .map(|f| f.target.clone());
    if let Some(target) = fk {
        return (FieldKind::Relation, vec![], Some(target), None);
    }
    if let Some(e) = catalog.enum_for(&column.native_type) {
        let options = e
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| SelectOption { value: l.clone(), label: l.clone(), color: None, position: i as u32 })
            .collect();
        let kind = if column.native_type.ends_with("[]") { FieldKind::MultiSelect } else { FieldKind::Select };
        return (kind, options, None, Some(format!("PostgreSQL enum {}.{}", e.schema, e.name)));
    }
    let ty = ColType::parse(&column.native_type);
    if ty.dims > 0 {
        return (FieldKind::Array, vec![], None, None);
    }
    let lower = column.native_type.to_ascii_lowercase();
    let kind = match ty.base {
        BaseType::Int | BaseType::Float | BaseType::Numeric => FieldKind::Number,
        BaseType::Bool => FieldKind::Boolean,
        BaseType::Date => FieldKind::Date,
        BaseType::TimestampTz | BaseType::Timestamp => FieldKind::DateTime,
        BaseType::Json => FieldKind::RawJson,
        BaseType::Text if lower == "uuid" => FieldKind::Uuid,
        BaseType::Text => FieldKind::Text,
        BaseType::Other => {
            return (
                FieldKind::Text,
                vec![],
                None,
                Some(format!("{} has no direct equivalent; migrated as its text form", column.native_type)),
            );
        }
    };
    (kind, vec![], None, None)
}

fn column_audit(table: &Table, column: &Column, catalog: &Catalog, custom: bool) -> ColumnAudit {
    let (kind, options, references, note) = propose(table, column, catalog);
    ColumnAudit {
        name: column.name.clone(),
        native_type: column.native_type.clone(),
        nullable: column.nullable,
        default: column.default.clone(),
        custom,
        proposed_kind: kind,
        options,
        references,
        note,
    }
}

/// Builds the audit from what was read.
pub fn build_audit(
    source: &str,
    catalog: &Catalog,
    detection: &Detection,
    users: Vec<User>,
    mut problems: Vec<Problem>,
) -> Audit {
    let g = detection.generation;
    let specs = standard::standard_tables(g);
    let mut tables = Vec::new();
    let mut custom_columns = Vec::new();
    let mut user_tables = Vec::new();
    for table in catalog.tables.iter().filter(|t| !is_system_schema(&t.schema)) {
        let spec = if table.schema == "public" { specs.iter().find(|s| s.name == table.name) } else { None };
        let standard = spec.is_some() || (table.schema == "public" && standard::canonical_table(&table.name).is_some());
        let columns: Vec<ColumnAudit> = table
            .columns
            .iter()
            .map(|c| {
                let custom = standard && !standard::is_standard_column(g, &table.name, &c.name);
                column_audit(table, c, catalog, custom)
            })
            .collect();
        let missing: Vec<String> = spec
            .map(|s| {
                s.columns.iter().filter(|sc| table.column(sc.name).is_none()).map(|sc| sc.name.to_string()).collect()
            })
            .unwrap_or_default();
        for m in &missing {
            problems.push(
                Problem::new(table.qualified(), format!("standard column {m} is missing for generation {g}"))
                    .field(m)
                    .hint("nothing to migrate for it; check that this is the right database"),
            );
        }
        for c in columns.iter().filter(|c| c.custom) {
            custom_columns.push(CustomColumn { table: table.qualified(), column: c.clone() });
        }
        let ta = TableAudit {
            name: table.qualified(),
            object: object_name(table),
            standard,
            columns,
            primary_key: table.primary_key.clone(),
            foreign_keys: table.foreign_keys.clone(),
            missing_standard_columns: missing,
        };
        if !standard {
            user_tables.push(ta.clone());
        }
        tables.push(ta);
    }
    Audit {
        source: source.to_string(),
        generation: g,
        generation_description: g.describe().to_string(),
        detection: detection.clone(),
        tables,
        custom_columns,
        user_tables,
        users,
        automation: catalog.automation.clone(),
        problems,
    }
}

/// The kind of a standard column, for [`object_defs`].
fn standard_kind(object: &str, column: &str) -> Option<(FieldKind, Option<&'static str>)> {
    Some(match (object, column) {
        (_, "sales_id") => (FieldKind::Relation, Some("sales")),
        (_, "company_id") => (FieldKind::Relation, Some("companies")),
        (_, "contact_id") => (FieldKind::Relation, Some("contacts")),
        ("deal_notes", "deal_id") => (FieldKind::Relation, Some("deals")),
        ("contacts", "email_jsonb") => (FieldKind::Emails, None),
        ("contacts", "phone_jsonb") => (FieldKind::Phones, None),
        ("sales", "email") => (FieldKind::Emails, None),
        (_, "avatar" | "logo" | "attachments") => (FieldKind::Files, None),
        (_, "website" | "linkedin_url" | "context_links") => (FieldKind::Links, None),
        ("contact_notes" | "deal_notes", "text") => (FieldKind::RichText, None),
        ("deals", "amount") => (FieldKind::Currency, None),
        ("companies", "sector")
        | ("deals", "category" | "stage")
        | ("tasks", "type")
        | ("contact_notes" | "contacts", "status")
        | ("contacts", "gender") => (FieldKind::Select, None),
        ("contacts", "tags") => (FieldKind::MultiSelect, None),
        ("deals", "contact_ids") => (FieldKind::Array, None),
        _ => return None,
    })
}

/// The engine's view of the source's objects and fields, in records' (current, canonical) names. Select options
/// of standard enum columns are left empty: the enums module fills them.
pub fn object_defs(catalog: &Catalog, detection: &Detection) -> Vec<ObjectDef> {
    let g = detection.generation;
    extract::read_order(catalog)
        .into_iter()
        .map(|table| {
            let object = object_name(table);
            let standard_table = table.schema == "public" && standard::canonical_table(&table.name).is_some();
            let mut fields = Vec::new();
            let mut emitted_phones = false;
            for c in &table.columns {
                let mut name = if standard_table {
                    standard::canonical_column(&object, &c.name).to_string()
                } else {
                    c.name.clone()
                };
                let custom = standard_table && !standard::is_standard_column(g, &table.name, &c.name);
                let (mut kind, options, target, _) = propose(table, c, catalog);
                let mut target = target.map(|t| {
                    t.strip_prefix("public.")
                        .map(|s| standard::canonical_table(s).unwrap_or(s).to_string())
                        .unwrap_or(t)
                });
                if object == "contacts" && standard_table && !detection.email_jsonb && c.name == "email" {
                    name = "email_jsonb".into();
                }
                if object == "contacts"
                    && standard_table
                    && !detection.phone_jsonb
                    && c.name.starts_with("phone_")
                    && !custom
                {
                    if emitted_phones {
                        continue;
                    }
                    emitted_phones = true;
                    name = "phone_jsonb".into();
                }
                if standard_table
                    && !custom
                    && let Some((k, t)) = standard_kind(&object, &name)
                {
                    kind = k;
                    if let Some(t) = t {
                        target = Some(t.to_string());
                    }
                }
                if name == "id" {
                    kind = FieldKind::Number;
                    target = None;
                }
                fields.push(FieldDef {
                    label: label_of(&name),
                    name,
                    kind,
                    native_type: Some(c.native_type.clone()),
                    nullable: c.nullable,
                    unique: table.primary_key.len() == 1 && table.primary_key[0] == c.name,
                    default: c.default.clone(),
                    custom,
                    options,
                    target: if kind == FieldKind::Relation { target } else { None },
                });
            }
            ObjectDef {
                label: label_of(&object),
                custom: !standard_table,
                key: table.primary_key.first().cloned().unwrap_or_else(|| "id".into()),
                name: object,
                fields,
            }
        })
        .collect()
}

fn label_of(name: &str) -> String {
    let bare = name.rsplit('.').next().unwrap_or(name).replace("_jsonb", "s");
    let mut out = String::new();
    let mut prev_lower = false;
    for (i, ch) in bare.chars().enumerate() {
        if ch == '_' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower {
            out.push(' ');
        }
        if i == 0 {
            out.extend(ch.to_uppercase())
        } else {
            out.extend(ch.to_lowercase())
        }
        prev_lower = ch.is_lowercase();
    }
    out
}

/// Renders the audit for a terminal.
pub fn render_text(a: &Audit) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Atomic CRM audit of {}", a.source);
    let _ = writeln!(s, "Schema generation: {} — {}", a.generation, a.generation_description);
    if a.detection.enum_labels {
        let _ = writeln!(s, "  enum columns hold display labels (no configuration table); they will be slugified");
    }
    let _ = writeln!(s, "\nTables ({}):", a.tables.len());
    for t in &a.tables {
        let tag = if t.standard { "" } else { "  [user table]" };
        let _ = writeln!(s, "  {} → {}{tag}", t.name, t.object);
        for c in &t.columns {
            let mut line =
                format!("    {:<28} {:<30} {}", c.name, c.native_type, if c.nullable { "null" } else { "not null" });
            if let Some(d) = &c.default {
                let _ = write!(line, "  default {d}");
            }
            if c.custom {
                let _ = write!(line, "  [custom → {}]", c.proposed_kind);
            }
            let _ = writeln!(s, "{line}");
        }
        if !t.missing_standard_columns.is_empty() {
            let _ = writeln!(s, "    missing standard columns: {}", t.missing_standard_columns.join(", "));
        }
    }
    let _ = writeln!(s, "\nCustom columns ({}):", a.custom_columns.len());
    if a.custom_columns.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for c in &a.custom_columns {
        let mut line =
            format!("  {}.{} ({}) → {}", c.table, c.column.name, c.column.native_type, c.column.proposed_kind);
        if !c.column.options.is_empty() {
            let opts: Vec<&str> = c.column.options.iter().map(|o| o.label.as_str()).collect();
            let _ = write!(line, " [{}]", opts.join(", "));
        }
        if let Some(r) = &c.column.references {
            let _ = write!(line, " → {r}");
        }
        if let Some(n) = &c.column.note {
            let _ = write!(line, " ({n})");
        }
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s, "\nUser tables ({}):", a.user_tables.len());
    if a.user_tables.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for t in &a.user_tables {
        let _ = writeln!(s, "  {} ({} columns)", t.name, t.columns.len());
        for fk in &t.foreign_keys {
            let _ = writeln!(
                s,
                "    foreign key ({}) → {}({})",
                fk.columns.join(", "),
                fk.target,
                fk.target_columns.join(", ")
            );
        }
    }
    let _ = writeln!(s, "\nUsers ({}):", a.users.len());
    for u in &a.users {
        let name = format!("{} {}", u.first_name.as_deref().unwrap_or(""), u.last_name.as_deref().unwrap_or(""))
            .trim()
            .to_string();
        let mut flags = Vec::new();
        if u.administrator {
            flags.push("administrator");
        }
        if u.disabled {
            flags.push("disabled");
        }
        let _ = writeln!(
            s,
            "  #{} {} <{}>{}",
            u.sales_id,
            name,
            u.email.as_deref().unwrap_or("no e-mail"),
            if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join(", ")) }
        );
    }
    let _ = writeln!(s, "\nAutomation that will not migrate ({}):", a.automation.len());
    for item in &a.automation {
        let on = item.on.as_deref().map(|o| format!(" on {o}")).unwrap_or_default();
        let _ = writeln!(s, "  {} {}{on}: {}", item.kind.as_str(), item.name, item.description);
    }
    if !a.problems.is_empty() {
        let _ = writeln!(s, "\nProblems ({}):", a.problems.len());
        for p in &a.problems {
            let _ = writeln!(s, "  {p}");
        }
    }
    s
}
