//! One pass over the data for what the schema alone cannot tell: the enums really in use and the files records
//! point at.
//!
//! Enums are resolved from the configuration row (read from the data), a TypeScript file the user points at, or
//! Atomic CRM's defaults, then merged with the distinct values found in the records; files (note attachments,
//! avatars, logos) are classified as Supabase Storage objects, external URLs, generated images or broken references.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use ferry_core::{Problem, Record};
use serde::Serialize;

use crate::attachments::{FileClass, StorageSettings, classify_record};
use crate::enums::{self, EnumKey, Enums, Observer, TagRow};
use crate::error::AtomicError;
use crate::extract::{Item, extract};
use crate::source::SourceSpec;

/// Files found, by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    /// In Supabase Storage: these are downloaded and re-uploaded.
    pub storage: u64,
    /// On other web servers: downloaded when reachable.
    pub external: u64,
    /// Generated images (gravatar, favicon services, data URLs).
    pub generated: u64,
    /// References that point at nothing usable (reported, not failed on).
    pub broken: u64,
}

/// What the data pass found.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// The effective enums, with where each came from.
    pub enums: Enums,
    /// Files per object and column (`contact_notes.attachments`…).
    pub files: BTreeMap<String, FileCounts>,
    /// Records read per object.
    pub records: BTreeMap<String, u64>,
    /// Everything worth a person's attention: values outside the configured enums, broken file references, rows
    /// that could not be read.
    pub problems: Vec<Problem>,
}

/// Reads every record of `source` once and builds the [`Inventory`]. `ts_file` is a TypeScript configuration
/// (`App.tsx`, `defaultConfiguration.ts`) to use when the database holds no configuration row.
pub async fn inventory(
    source: &SourceSpec,
    ts_file: Option<&Path>,
    storage: &StorageSettings,
) -> Result<Inventory, AtomicError> {
    // A broken TypeScript file is refused before the (possibly long) data pass.
    let ts = match ts_file {
        Some(path) => Some(crate::tsconfig::extract(path)?),
        None => None,
    };
    let mut observer = Observer::new();
    let mut config_row: Option<serde_json::Value> = None;
    let mut tags: Vec<TagRow> = Vec::new();
    let mut files: BTreeMap<String, FileCounts> = BTreeMap::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut sink = |item: Item| -> Result<(), AtomicError> {
        match item {
            Item::Record(r) => {
                observer.observe(&r);
                note_record(&r, &mut config_row, &mut tags, &mut problems);
                for f in classify_record(&r, storage) {
                    let counts = files.entry(format!("{}.{}", f.location.table, f.location.column)).or_default();
                    match &f.class {
                        FileClass::Storage { .. } => counts.storage += 1,
                        FileClass::External { .. } => counts.external += 1,
                        FileClass::Generated { .. } => counts.generated += 1,
                        FileClass::Broken(_) => {
                            counts.broken += 1;
                            problems.extend(f.problem());
                        }
                    }
                }
            }
            Item::Problem(p) => problems.push(p),
        }
        Ok(())
    };
    let extraction = extract(source, &mut sink).await?;
    let (mut enums, enum_problems) =
        enums::resolve_with(config_row.as_ref(), ts.as_ref(), extraction.detection.enum_labels);
    problems.extend(enum_problems);
    if let Some(ts) = &ts {
        problems.extend(ts.diagnostics.iter().map(|d| {
            Problem::new("configuration", d.message.clone())
                .field(d.prop.clone())
                .value(d.snippet.clone())
                .hint(format!("{}:{}: write a literal value there, or leave the prop out", d.file.display(), d.line))
        }));
    }
    problems.extend(enums::set_tags(&mut enums, &tags));
    problems.extend(observer.apply(&mut enums));
    Ok(Inventory { enums, files, records: extraction.counts, problems })
}

/// Keeps what the enums need from one record: the configuration row and the tags.
fn note_record(
    r: &Record,
    config_row: &mut Option<serde_json::Value>,
    tags: &mut Vec<TagRow>,
    problems: &mut Vec<Problem>,
) {
    match r.object.as_str() {
        // Atomic CRM keeps one configuration row, id 1; any row is better than none.
        "configuration" if config_row.is_none() || r.key == "1" => {
            *config_row = Some(r.get("config").clone());
        }
        "tags" => {
            let id = r.get("id").as_i64().or_else(|| r.key.parse().ok());
            match (id, r.get("name").as_str()) {
                (Some(id), Some(name)) => tags.push(TagRow {
                    id,
                    name: name.to_string(),
                    color: r.get("color").as_str().unwrap_or_default().to_string(),
                }),
                _ => problems.push(
                    Problem::new("tags", "a tag without an id or a name cannot become an option")
                        .record(&r.key)
                        .hint("give the tag a name in Atomic CRM, or ignore: contacts keep their other tags"),
                ),
            }
        }
        _ => {}
    }
}

/// Renders the inventory for a terminal.
pub fn render_text(inv: &Inventory) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nEnums (value \"label\", where they come from):");
    for key in [
        EnumKey::DealStages,
        EnumKey::DealCategories,
        EnumKey::CompanySectors,
        EnumKey::TaskTypes,
        EnumKey::NoteStatuses,
        EnumKey::Genders,
        EnumKey::Tags,
    ] {
        let def = inv.enums.get(key);
        let opts: Vec<String> = def
            .options
            .iter()
            .map(|o| {
                let used = if o.records > 0 { format!(" ×{}", o.records) } else { String::new() };
                format!("{} \"{}\"{used}", o.value, o.label)
            })
            .collect();
        let _ = writeln!(s, "  {} (from {}): {}", key.config_key(), def.origin, opts.join(", "));
    }
    let _ = writeln!(s, "  currency: {}", inv.enums.currency.value);
    let _ = writeln!(s, "\nFiles (storage / external / generated / broken):");
    if inv.files.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for (place, c) in &inv.files {
        let _ = writeln!(s, "  {place:<32} {} / {} / {} / {}", c.storage, c.external, c.generated, c.broken);
    }
    if !inv.problems.is_empty() {
        let _ = writeln!(s, "\nData problems ({}):", inv.problems.len());
        for p in inv.problems.iter().take(200) {
            let _ = writeln!(s, "  {p}");
        }
        if inv.problems.len() > 200 {
            let _ = writeln!(s, "  … and {} more (use --json for all)", inv.problems.len() - 200);
        }
    }
    s
}
