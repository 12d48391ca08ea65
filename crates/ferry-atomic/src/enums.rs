//! Atomic CRM's enums: deal stages, deal categories, task types, note statuses, company sectors, contact genders
//! and tags, plus the scalar settings that go with them (currency, title, logos, `dealPipelineStatuses`).
//!
//! Where they come from, per key, strongest first (see [`resolve`]):
//! 1. the `configuration` table's single row (`config` jsonb, since 2026-02-11), filled with the defaults for
//!    missing keys exactly as Atomic CRM does (`{...defaultConfiguration, ...stored}`);
//! 2. a TypeScript file the user points at (`App.tsx` with `<CRM …/>` props, or `defaultConfiguration.ts`), read by
//!    [`crate::tsconfig::extract`];
//! 3. Atomic CRM's defaults ([`defaults`]), verbatim — including the stored typo `in-negociation`.
//!
//! Then [`merge_observed`] adds the values really present in the data: a value the configuration does not list is
//! reported as a [`Problem`] and kept as an extra option, so nothing is lost. Before 2026-02-11, sectors, categories,
//! task types and note statuses held display labels; with `generation_labels` the labels are mapped to the slugs
//! Atomic CRM's own migration would have produced ([`slugify`]), and [`EnumDef::value_for_stored`] gives the mapping.
//!
//! Tags are rows of the `tags` table ([`set_tags`]), not configuration. Genders are fixed in Atomic CRM
//! (`male`/`female`/`nonbinary`), unless an older `App.tsx` sets `contactGender`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ferry_core::{Problem, Record, SelectOption};
use serde::Serialize;
use serde_json::Value;

use crate::tsconfig::{self, TsConfig, TsError};

/// One of the enums ferry turns into select options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EnumKey {
    /// `companies.sector`, config `companySectors`.
    CompanySectors,
    /// `deals.stage`, config `dealStages`.
    DealStages,
    /// `deals.category`, config `dealCategories`.
    DealCategories,
    /// `tasks.type`, config `taskTypes`.
    TaskTypes,
    /// `contact_notes.status` and `contacts.status`, config `noteStatuses` (with colors).
    NoteStatuses,
    /// `contacts.gender`; fixed in Atomic CRM, `contactGender` in older `App.tsx` files.
    Genders,
    /// `contacts.tags` (ids of rows of the `tags` table).
    Tags,
}

impl EnumKey {
    /// Every enum, in a stable order.
    pub const ALL: [EnumKey; 7] = [
        EnumKey::CompanySectors,
        EnumKey::DealStages,
        EnumKey::DealCategories,
        EnumKey::TaskTypes,
        EnumKey::NoteStatuses,
        EnumKey::Genders,
        EnumKey::Tags,
    ];

    /// The key in Atomic CRM's configuration (and `<CRM>` prop name).
    pub fn config_key(self) -> &'static str {
        match self {
            EnumKey::CompanySectors => "companySectors",
            EnumKey::DealStages => "dealStages",
            EnumKey::DealCategories => "dealCategories",
            EnumKey::TaskTypes => "taskTypes",
            EnumKey::NoteStatuses => "noteStatuses",
            EnumKey::Genders => "contactGender",
            EnumKey::Tags => "tags",
        }
    }

    /// Whether records held display labels instead of slugs before 2026-02-11.
    pub fn held_labels_before_slugs(self) -> bool {
        matches!(self, EnumKey::CompanySectors | EnumKey::DealCategories | EnumKey::TaskTypes | EnumKey::NoteStatuses)
    }
}

impl std::fmt::Display for EnumKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.config_key())
    }
}

/// A column whose values belong to an enum. Readers count the distinct values of each and pass them to
/// [`merge_observed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservedColumn {
    /// The enum.
    pub key: EnumKey,
    /// The table, as named in the database read (`contact_notes`, or `contactNotes` before 2026-01-15).
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
}

/// The enum columns of the current Atomic CRM schema. For tags, the values are tag ids (`contacts.tags` elements).
pub const OBSERVED_COLUMNS: &[ObservedColumn] = &[
    ObservedColumn { key: EnumKey::CompanySectors, table: "companies", column: "sector" },
    ObservedColumn { key: EnumKey::DealStages, table: "deals", column: "stage" },
    ObservedColumn { key: EnumKey::DealCategories, table: "deals", column: "category" },
    ObservedColumn { key: EnumKey::TaskTypes, table: "tasks", column: "type" },
    ObservedColumn { key: EnumKey::NoteStatuses, table: "contact_notes", column: "status" },
    ObservedColumn { key: EnumKey::NoteStatuses, table: "contacts", column: "status" },
    ObservedColumn { key: EnumKey::Genders, table: "contacts", column: "gender" },
    ObservedColumn { key: EnumKey::Tags, table: "contacts", column: "tags" },
];

impl ObservedColumn {
    /// The standard column(s) of `key`.
    pub fn of(key: EnumKey) -> impl Iterator<Item = &'static ObservedColumn> {
        OBSERVED_COLUMNS.iter().filter(move |c| c.key == key)
    }
}

/// Where an enum, an option or a setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// The `configuration` table's row (`config` jsonb).
    ConfigurationRow,
    /// A TypeScript file, at the line where the prop or constant is set.
    TsFile {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// Atomic CRM's defaults (`defaultConfiguration.ts`).
    Defaults,
    /// Hard-coded in Atomic CRM (genders).
    Fixed,
    /// The `tags` table.
    TagsTable,
    /// Not configured, but present in the data.
    ObservedInData,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::ConfigurationRow => f.write_str("the configuration table"),
            Origin::TsFile { file, line } => write!(f, "{}:{line}", file.display()),
            Origin::Defaults => f.write_str("Atomic CRM's defaults"),
            Origin::Fixed => f.write_str("Atomic CRM's fixed values"),
            Origin::TagsTable => f.write_str("the tags table"),
            Origin::ObservedInData => f.write_str("the data"),
        }
    }
}

/// One option of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumOption {
    /// What records store (a slug such as `in-negociation`, a tag id for tags).
    pub value: String,
    /// What people read.
    pub label: String,
    /// A `#rrggbb` color (note statuses, tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where the option came from.
    pub origin: Origin,
    /// How many records use it, once [`merge_observed`] has seen the data (0 before).
    pub records: u64,
}

/// One enum: its options in order and where the list came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumDef {
    /// Which enum.
    pub key: EnumKey,
    /// Where the configured list came from (extra options observed in data carry their own origin).
    pub origin: Origin,
    /// The options, in display order: configured ones first, then extras in the order they were observed.
    pub options: Vec<EnumOption>,
    /// For data of the label generation (before 2026-02-11): stored text → option value, for every stored text that
    /// is not itself an option value. Filled by [`merge_observed`].
    pub legacy_values: BTreeMap<String, String>,
}

impl EnumDef {
    fn new(key: EnumKey, origin: Origin, options: Vec<EnumOption>) -> Self {
        EnumDef { key, origin, options, legacy_values: BTreeMap::new() }
    }

    /// The option whose value is `value`.
    pub fn option(&self, value: &str) -> Option<&EnumOption> {
        self.options.iter().find(|o| o.value == value)
    }

    /// The option values, in order.
    pub fn values(&self) -> Vec<&str> {
        self.options.iter().map(|o| o.value.as_str()).collect()
    }

    /// The options as the engine's [`SelectOption`]s, positions from 0.
    pub fn select_options(&self) -> Vec<SelectOption> {
        self.options
            .iter()
            .enumerate()
            .map(|(i, o)| SelectOption {
                value: o.value.clone(),
                label: o.label.clone(),
                color: o.color.clone(),
                position: u32::try_from(i).unwrap_or(u32::MAX),
            })
            .collect()
    }

    /// The option value a record's stored text stands for: the text itself when it is a value, else the mapping
    /// learnt from the data ([`EnumDef::legacy_values`]), else the option whose label is the text (exactly, then
    /// ignoring case), else the option whose value is [`slugify`] of the text. `None` when nothing matches.
    pub fn value_for_stored(&self, stored: &str) -> Option<&str> {
        if let Some(o) = self.option(stored) {
            return Some(&o.value);
        }
        if let Some(v) = self.legacy_values.get(stored) {
            return Some(v);
        }
        self.match_label(stored).map(|o| o.value.as_str())
    }

    fn match_label(&self, stored: &str) -> Option<&EnumOption> {
        let slug = slugify(stored);
        self.options
            .iter()
            .find(|o| o.label == stored)
            .or_else(|| self.options.iter().find(|o| o.label.to_lowercase() == stored.to_lowercase()))
            .or_else(|| self.options.iter().find(|o| !slug.is_empty() && o.value == slug))
    }
}

/// A scalar setting and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

/// Every enum and setting of one Atomic CRM installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enums {
    /// `companies.sector`.
    pub company_sectors: EnumDef,
    /// `deals.stage`.
    pub deal_stages: EnumDef,
    /// `deals.category`.
    pub deal_categories: EnumDef,
    /// `tasks.type`.
    pub task_types: EnumDef,
    /// `contact_notes.status`, `contacts.status`; options carry colors.
    pub note_statuses: EnumDef,
    /// `contacts.gender`.
    pub genders: EnumDef,
    /// `contacts.tags`: value = tag id, label = tag name, color = tag color. Empty until [`set_tags`].
    pub tags: EnumDef,
    /// Stage values counted as "won" in the pipeline widget.
    pub deal_pipeline_statuses: Setting<Vec<String>>,
    /// ISO 4217 code of `deals.amount` (whole units).
    pub currency: Setting<String>,
    /// The CRM's title.
    pub title: Setting<String>,
    /// Logo URL or path for the light theme.
    pub light_mode_logo: Setting<String>,
    /// Logo URL or path for the dark theme.
    pub dark_mode_logo: Setting<String>,
    /// Whether records hold display labels rather than slugs (schema before 2026-02-11).
    pub labels_era: bool,
}

impl Enums {
    /// The enum for `key`.
    pub fn get(&self, key: EnumKey) -> &EnumDef {
        match key {
            EnumKey::CompanySectors => &self.company_sectors,
            EnumKey::DealStages => &self.deal_stages,
            EnumKey::DealCategories => &self.deal_categories,
            EnumKey::TaskTypes => &self.task_types,
            EnumKey::NoteStatuses => &self.note_statuses,
            EnumKey::Genders => &self.genders,
            EnumKey::Tags => &self.tags,
        }
    }

    /// The enum for `key`, mutably.
    pub fn get_mut(&mut self, key: EnumKey) -> &mut EnumDef {
        match key {
            EnumKey::CompanySectors => &mut self.company_sectors,
            EnumKey::DealStages => &mut self.deal_stages,
            EnumKey::DealCategories => &mut self.deal_categories,
            EnumKey::TaskTypes => &mut self.task_types,
            EnumKey::NoteStatuses => &mut self.note_statuses,
            EnumKey::Genders => &mut self.genders,
            EnumKey::Tags => &mut self.tags,
        }
    }
}

/// Why [`resolve`] could not run at all. Bad values inside a configuration are [`Problem`]s, not errors.
#[derive(Debug, thiserror::Error)]
pub enum EnumsError {
    /// The TypeScript file the user pointed at cannot be read or does not parse.
    #[error(transparent)]
    TsFile(#[from] TsError),
}

/// Atomic CRM's slug rule (`src/lib/toSlug.ts`, and the 2026-02-11 migration): lower-case, every run of characters
/// outside `a-z0-9` becomes one `-`, leading and trailing `-` are trimmed. `"Thank you"` → `thank-you`.
pub fn slugify(label: &str) -> String {
    let lower = label.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut pending_dash = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    out
}

fn opts(origin: &Origin, items: &[(&str, &str)]) -> Vec<EnumOption> {
    items
        .iter()
        .map(|(v, l)| EnumOption {
            value: (*v).into(),
            label: (*l).into(),
            color: None,
            origin: origin.clone(),
            records: 0,
        })
        .collect()
}

/// Atomic CRM's default company sectors (`defaultConfiguration.ts`), as (value, label).
pub const DEFAULT_COMPANY_SECTORS: &[(&str, &str)] = &[
    ("communication-services", "Communication Services"),
    ("consumer-discretionary", "Consumer Discretionary"),
    ("consumer-staples", "Consumer Staples"),
    ("energy", "Energy"),
    ("financials", "Financials"),
    ("health-care", "Health Care"),
    ("industrials", "Industrials"),
    ("information-technology", "Information Technology"),
    ("materials", "Materials"),
    ("real-estate", "Real Estate"),
    ("utilities", "Utilities"),
];

/// Atomic CRM's default deal stages (note the `in-negociation` spelling), as (value, label).
pub const DEFAULT_DEAL_STAGES: &[(&str, &str)] = &[
    ("opportunity", "Opportunity"),
    ("proposal-sent", "Proposal Sent"),
    ("in-negociation", "In Negotiation"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("delayed", "Delayed"),
];

/// Atomic CRM's default deal categories, as (value, label).
pub const DEFAULT_DEAL_CATEGORIES: &[(&str, &str)] = &[
    ("other", "Other"),
    ("copywriting", "Copywriting"),
    ("print-project", "Print project"),
    ("ui-design", "UI Design"),
    ("website-design", "Website design"),
];

/// Atomic CRM's default task types, as (value, label).
pub const DEFAULT_TASK_TYPES: &[(&str, &str)] = &[
    ("none", "None"),
    ("email", "Email"),
    ("demo", "Demo"),
    ("lunch", "Lunch"),
    ("meeting", "Meeting"),
    ("follow-up", "Follow-up"),
    ("thank-you", "Thank you"),
    ("ship", "Ship"),
    ("call", "Call"),
];

/// Atomic CRM's default note statuses, as (value, label, color).
pub const DEFAULT_NOTE_STATUSES: &[(&str, &str, &str)] = &[
    ("cold", "Cold", "#7dbde8"),
    ("warm", "Warm", "#e8cb7d"),
    ("hot", "Hot", "#e88b7d"),
    ("in-contract", "In Contract", "#a4e87d"),
];

/// The contact genders hard-coded in Atomic CRM, as (value, label).
pub const GENDERS: &[(&str, &str)] = &[("male", "He/Him"), ("female", "She/Her"), ("nonbinary", "They/Them")];

fn default_options(key: EnumKey) -> Vec<EnumOption> {
    let d = Origin::Defaults;
    match key {
        EnumKey::CompanySectors => opts(&d, DEFAULT_COMPANY_SECTORS),
        EnumKey::DealStages => opts(&d, DEFAULT_DEAL_STAGES),
        EnumKey::DealCategories => opts(&d, DEFAULT_DEAL_CATEGORIES),
        EnumKey::TaskTypes => opts(&d, DEFAULT_TASK_TYPES),
        EnumKey::NoteStatuses => DEFAULT_NOTE_STATUSES
            .iter()
            .map(|(v, l, c)| EnumOption {
                value: (*v).into(),
                label: (*l).into(),
                color: Some((*c).into()),
                origin: Origin::Defaults,
                records: 0,
            })
            .collect(),
        EnumKey::Genders => opts(&Origin::Fixed, GENDERS),
        EnumKey::Tags => Vec::new(),
    }
}

fn default_def(key: EnumKey) -> EnumDef {
    let origin = match key {
        EnumKey::Genders => Origin::Fixed,
        EnumKey::Tags => Origin::TagsTable,
        _ => Origin::Defaults,
    };
    EnumDef::new(key, origin, default_options(key))
}

/// Atomic CRM's default configuration (`defaultConfiguration.ts`), with no tags.
pub fn defaults() -> Enums {
    let s = |v: &str| Setting { value: v.to_string(), origin: Origin::Defaults };
    Enums {
        company_sectors: default_def(EnumKey::CompanySectors),
        deal_stages: default_def(EnumKey::DealStages),
        deal_categories: default_def(EnumKey::DealCategories),
        task_types: default_def(EnumKey::TaskTypes),
        note_statuses: default_def(EnumKey::NoteStatuses),
        genders: default_def(EnumKey::Genders),
        tags: default_def(EnumKey::Tags),
        deal_pipeline_statuses: Setting { value: vec!["won".into()], origin: Origin::Defaults },
        currency: s("USD"),
        title: s("Atomic CRM"),
        light_mode_logo: s("./logos/logo_atomic_crm_light.svg"),
        dark_mode_logo: s("./logos/logo_atomic_crm_dark.svg"),
        labels_era: false,
    }
}

/// Resolves the enums of one installation.
///
/// * `config_row`: the `configuration.config` jsonb of row 1 when the table exists (a whole row
///   `{"id":1,"config":{…}}` is accepted too). An empty object means "never saved in Settings".
/// * `ts_file`: a TypeScript file the user pointed at (`App.tsx`, `defaultConfiguration.ts`).
/// * `generation_labels`: whether records hold display labels (schema before 2026-02-11, see the audit).
///
/// Per key, the configuration row wins, then the TypeScript file, then the defaults. Malformed entries, non-literal
/// TypeScript values and disagreements between the row and the file are returned as [`Problem`]s; the only error is
/// a TypeScript file that cannot be read or parsed.
pub fn resolve(
    config_row: Option<&Value>,
    ts_file: Option<&Path>,
    generation_labels: bool,
) -> Result<(Enums, Vec<Problem>), EnumsError> {
    let ts = match ts_file {
        Some(path) => Some(tsconfig::extract(path)?),
        None => None,
    };
    Ok(resolve_with(config_row, ts.as_ref(), generation_labels))
}

/// [`resolve`] for a TypeScript configuration already extracted (or none).
pub fn resolve_with(
    config_row: Option<&Value>,
    ts: Option<&TsConfig>,
    generation_labels: bool,
) -> (Enums, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut enums = defaults();
    enums.labels_era = generation_labels;

    let config = config_row.map(|row| match row.get("config") {
        Some(inner) if row.get("id").is_some() => inner,
        _ => row,
    });
    let config = match config {
        Some(Value::Object(map)) => Some(map),
        Some(Value::Null) | None => None,
        Some(other) => {
            problems.push(
                Problem::new("configuration", "the configuration is not a JSON object; Atomic CRM's defaults are used")
                    .record("1")
                    .field("config")
                    .value(other.to_string())
                    .hint("fix the row in the configuration table (Settings page) or remove it"),
            );
            None
        }
    };

    if let Some(ts) = ts {
        problems.extend(ts_diagnostics_to_problems(ts));
    }

    for key in EnumKey::ALL {
        if key == EnumKey::Tags {
            continue;
        }
        let ck = key.config_key();
        let from_row = config.and_then(|c| c.get(ck)).and_then(|v| {
            let place = Place::Row { field: format!("config.{ck}") };
            options_from_json(v, &Origin::ConfigurationRow, &place, &mut problems)
        });
        let from_ts = ts.and_then(|t| t.prop(ck)).and_then(|p| {
            let origin = Origin::TsFile { file: ts_path(ts), line: p.line };
            let place = Place::Ts { file: ts_path(ts), line: p.line, prop: ck.to_string() };
            options_from_json(&p.value, &origin, &place, &mut problems).map(|o| (o, origin))
        });
        if let (Some(row_opts), Some((ts_opts, origin))) = (&from_row, &from_ts)
            && !same_options(row_opts, ts_opts)
        {
            problems.push(
                Problem::new("configuration", format!("{ck} in the configuration table differs from {origin}; the configuration table wins, as in the app"))
                    .record("1")
                    .field(format!("config.{ck}"))
                    .hint("nothing to do if the Settings page shows what you expect; otherwise fix the Settings page before migrating"),
            );
        }
        let def = enums.get_mut(key);
        if let Some(options) = from_row {
            *def = EnumDef::new(key, Origin::ConfigurationRow, options);
        } else if let Some((options, origin)) = from_ts {
            *def = EnumDef::new(key, origin, options);
        }
    }

    // Scalars.
    let scalar = |ck: &str, current: &mut Setting<String>, problems: &mut Vec<Problem>| {
        if let Some(v) = config.and_then(|c| c.get(ck)) {
            match v {
                Value::String(s) => {
                    *current = Setting { value: s.clone(), origin: Origin::ConfigurationRow };
                    return;
                }
                Value::Null => {}
                other => problems.push(
                    Problem::new("configuration", format!("{ck} is not a string; ignored"))
                        .record("1")
                        .field(format!("config.{ck}"))
                        .value(other.to_string())
                        .hint("fix it on the Settings page"),
                ),
            }
        }
        if let Some(p) = ts.and_then(|t| t.prop(ck)) {
            match &p.value {
                Value::String(s) => {
                    *current = Setting { value: s.clone(), origin: Origin::TsFile { file: ts_path(ts), line: p.line } }
                }
                other => problems.push(
                    Problem::new(
                        ts_path(ts).display().to_string(),
                        format!("line {}: {ck} is not a string; ignored", p.line),
                    )
                    .field(ck)
                    .value(other.to_string())
                    .hint("give a plain string literal"),
                ),
            }
        }
    };
    scalar("currency", &mut enums.currency, &mut problems);
    scalar("title", &mut enums.title, &mut problems);
    scalar("lightModeLogo", &mut enums.light_mode_logo, &mut problems);
    scalar("darkModeLogo", &mut enums.dark_mode_logo, &mut problems);
    // Older App.tsx files had a single `logo`.
    if let Some(p) = ts.and_then(|t| t.prop("logo"))
        && let Value::String(s) = &p.value
        && enums.light_mode_logo.origin == Origin::Defaults
    {
        let origin = Origin::TsFile { file: ts_path(ts), line: p.line };
        enums.light_mode_logo = Setting { value: s.clone(), origin: origin.clone() };
        enums.dark_mode_logo = Setting { value: s.clone(), origin };
    }

    let pipeline_row = config.and_then(|c| c.get("dealPipelineStatuses")).map(|v| (v, Origin::ConfigurationRow));
    let pipeline_ts = ts
        .and_then(|t| t.prop("dealPipelineStatuses"))
        .map(|p| (&p.value, Origin::TsFile { file: ts_path(ts), line: p.line }));
    if let Some((v, origin)) = pipeline_row.or(pipeline_ts) {
        match string_list(v) {
            Some(list) => enums.deal_pipeline_statuses = Setting { value: list, origin },
            None => problems.push(
                Problem::new("configuration", format!("dealPipelineStatuses from {origin} is not a list of stage values; the default [\"won\"] is used"))
                    .field("dealPipelineStatuses")
                    .value(v.to_string())
                    .hint("give a list of deal stage values such as [\"won\"]"),
            ),
        }
    }
    for status in &enums.deal_pipeline_statuses.value {
        if enums.deal_stages.option(status).is_none() {
            problems.push(
                Problem::new(
                    "configuration",
                    format!("dealPipelineStatuses names \"{status}\", which is not a deal stage"),
                )
                .field("dealPipelineStatuses")
                .value(status)
                .hint("it is ignored by the migration; fix it on the Settings page if it matters"),
            );
        }
    }

    (enums, problems)
}

fn ts_path(ts: Option<&TsConfig>) -> PathBuf {
    ts.map(|t| t.file.clone()).unwrap_or_default()
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|i| i.as_str().map(str::to_string)).collect()
}

fn same_options(a: &[EnumOption], b: &[EnumOption]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.value == y.value && x.label == y.label && x.color == y.color)
}

/// Where a configuration value was read, for problems.
enum Place {
    Row { field: String },
    Ts { file: PathBuf, line: usize, prop: String },
}

impl Place {
    fn problem(&self, path: &str, message: String, value: &Value) -> Problem {
        match self {
            Place::Row { field } => Problem::new("configuration", message)
                .record("1")
                .field(format!("{field}{path}"))
                .value(value.to_string())
                .hint("fix it on the Settings page of Atomic CRM"),
            Place::Ts { file, line, prop } => {
                Problem::new(file.display().to_string(), format!("line {line}: {message}"))
                    .field(format!("{prop}{path}"))
                    .value(value.to_string())
                    .hint("fix the file, or leave it: the entry is skipped")
            }
        }
    }
}

/// Turns a configuration list into options: `{value,label,color?}` objects, or plain label strings (older
/// configurations; value = [`slugify`] of the label). Returns `None` (after a problem) when `v` is not a list.
fn options_from_json(
    v: &Value,
    origin: &Origin,
    place: &Place,
    problems: &mut Vec<Problem>,
) -> Option<Vec<EnumOption>> {
    let Value::Array(items) = v else {
        problems.push(place.problem("", "is not a list of options; the next source is used".into(), v));
        return None;
    };
    let mut out: Vec<EnumOption> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("[{i}]");
        let (value, label, color) = match item {
            Value::String(s) => (slug_or_self(s), s.clone(), None),
            Value::Object(map) => {
                let text = |k: &str| match map.get(k) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                let (value, label) = match (text("value"), text("label")) {
                    (Some(v), Some(l)) => (v, l),
                    (Some(v), None) => (v.clone(), v),
                    (None, Some(l)) => (slug_or_self(&l), l),
                    (None, None) => {
                        problems.push(place.problem(&path, "has neither a value nor a label; skipped".into(), item));
                        continue;
                    }
                };
                (value, label, text("color"))
            }
            _ => {
                problems.push(place.problem(
                    &path,
                    "is neither a string nor a {value, label} object; skipped".into(),
                    item,
                ));
                continue;
            }
        };
        if value.trim().is_empty() {
            problems.push(place.problem(&path, "has an empty value; skipped".into(), item));
            continue;
        }
        if out.iter().any(|o| o.value == value) {
            problems.push(place.problem(&path, format!("repeats the value \"{value}\"; the first one is kept"), item));
            continue;
        }
        out.push(EnumOption { value, label, color, origin: origin.clone(), records: 0 });
    }
    Some(out)
}

fn slug_or_self(label: &str) -> String {
    let slug = slugify(label);
    if slug.is_empty() { label.to_string() } else { slug }
}

fn ts_diagnostics_to_problems(ts: &TsConfig) -> Vec<Problem> {
    ts.diagnostics
        .iter()
        .map(|d| {
            let root: String = d.prop.split(['[', '.']).next().unwrap_or("").to_string();
            let last = d.prop.rsplit(['.', '[']).next().unwrap_or("");
            let hint = if d.prop.contains('.') && !matches!(last, "value" | "label" | "color") {
                "ignored: ferry reads only value, label and color".to_string()
            } else if !root.is_empty() && ts.prop(&root).is_none() {
                format!("{root} is taken from the next source (the defaults); inline literal values in the file to use yours")
            } else {
                "this entry is left out; inline literal values in the file to keep it".to_string()
            };
            Problem::new(d.file.display().to_string(), format!("line {}: {}", d.line, d.message))
                .field(d.prop.clone())
                .value(&d.snippet)
                .hint(hint)
        })
        .collect()
}

/// One row of the `tags` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRow {
    /// `tags.id`.
    pub id: i64,
    /// `tags.name`.
    pub name: String,
    /// `tags.color` (`#eddcd2`…).
    pub color: String,
}

/// Sets the tag options from the `tags` table (value = id, label = name, color), in id order. Tag names are not
/// unique in Atomic CRM; names shared by several tags are reported, since a destination may require unique labels.
pub fn set_tags(enums: &mut Enums, rows: &[TagRow]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut rows: Vec<&TagRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.id);
    let mut options: Vec<EnumOption> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(first) = options.iter().find(|o| o.label == row.name) {
            problems.push(
                Problem::new("tags", format!("tag name \"{}\" is also used by tag {}", row.name, first.value))
                    .record(row.id.to_string())
                    .field("name")
                    .value(&row.name)
                    .hint(
                        "both tags are migrated; rename one in Atomic CRM first if the destination needs unique names",
                    ),
            );
        }
        let color = Some(row.color.clone()).filter(|c| !c.trim().is_empty());
        options.push(EnumOption {
            value: row.id.to_string(),
            label: row.name.clone(),
            color,
            origin: Origin::TagsTable,
            records: 0,
        });
    }
    enums.tags = EnumDef::new(EnumKey::Tags, Origin::TagsTable, options);
    problems
}

/// Merges the distinct values really present in one column (with how many records hold each) into its enum.
///
/// * A value that is an option: its record count grows.
/// * Label generation ([`Enums::labels_era`]) and an enum that held labels: a stored label is mapped to its option
///   (by label, then by [`slugify`]), recorded in [`EnumDef::legacy_values`]; no problem.
/// * Otherwise a stored text that is an option's label (or slugifies to its value): mapped to that option, reported.
/// * Anything else is added as an extra option (label = the stored text; value = the text, or its slug for label-era
///   data) and reported: "value X used by N records is not in the configured dealStages; it will still be migrated
///   as an extra option".
/// * Empty or blank values are reported and not added.
/// * Tags: values are tag ids; an id with no tag row is reported (the reference is dropped, there is no name to
///   migrate) and not added.
pub fn merge_observed(enums: &mut Enums, column: &ObservedColumn, observed: &[(String, u64)]) -> Vec<Problem> {
    let labels_era = enums.labels_era;
    let def = enums.get_mut(column.key);
    let mut index = OptionIndex::new(&def.options);
    let mut problems = Vec::new();
    let ck = column.key.config_key();
    let noun = |n: u64| if n == 1 { "record" } else { "records" };
    for (stored, count) in observed {
        let count = *count;
        let problem = |message: String, hint: &str| {
            Problem::new(column.table, message).field(column.column).value(stored).hint(hint.to_string())
        };
        if stored.trim().is_empty() {
            problems.push(problem(
                format!(
                    "an empty {ck} value is used by {count} {}; they will be migrated without a value",
                    noun(count)
                ),
                "nothing to do unless these records should have a value",
            ));
            continue;
        }
        if let Some(&i) = index.by_value.get(stored.as_str()) {
            def.options[i].records += count;
            continue;
        }
        if column.key == EnumKey::Tags {
            problems.push(problem(
                format!("tag id {stored} is referenced by {count} {} but no tag has that id (a deleted tag); the reference is dropped", noun(count)),
                "nothing to do: Atomic CRM does not clean contacts.tags when a tag is deleted",
            ));
            continue;
        }
        if let Some(i) = index.match_label(stored) {
            let value = def.options[i].value.clone();
            def.legacy_values.insert(stored.clone(), value.clone());
            def.options[i].records += count;
            if !(labels_era && column.key.held_labels_before_slugs()) {
                problems.push(problem(
                    format!("value \"{stored}\" used by {count} {} is not a {ck} value but matches the option \"{value}\"; it will be migrated as \"{value}\"", noun(count)),
                    "nothing to do unless another option was meant",
                ));
            }
            continue;
        }
        let value =
            if labels_era && column.key.held_labels_before_slugs() { slug_or_self(stored) } else { stored.clone() };
        if value != *stored {
            def.legacy_values.insert(stored.clone(), value.clone());
        }
        match index.by_value.get(value.as_str()) {
            // An extra already added from another column or spelling.
            Some(&i) => def.options[i].records += count,
            None => {
                let option = EnumOption {
                    value: value.clone(),
                    label: stored.clone(),
                    color: None,
                    origin: Origin::ObservedInData,
                    records: count,
                };
                index.add(def.options.len(), &option);
                def.options.push(option);
            }
        }
        problems.push(problem(
            format!("value \"{stored}\" used by {count} {} is not in the configured {ck}; it will still be migrated as an extra option", noun(count)),
            "add it to the configuration (Settings page) to give it a proper label, or leave it: it is kept as an option",
        ));
    }
    problems
}

/// Lookups of an enum's options by value and label, so that merging many observed values stays linear.
/// Each key points at the first option that has it, as [`EnumDef::value_for_stored`] does.
struct OptionIndex {
    by_value: HashMap<String, usize>,
    by_label: HashMap<String, usize>,
    by_label_lower: HashMap<String, usize>,
}

impl OptionIndex {
    fn new(options: &[EnumOption]) -> Self {
        let mut index =
            OptionIndex { by_value: HashMap::new(), by_label: HashMap::new(), by_label_lower: HashMap::new() };
        for (i, o) in options.iter().enumerate() {
            index.add(i, o);
        }
        index
    }

    fn add(&mut self, i: usize, o: &EnumOption) {
        self.by_value.entry(o.value.clone()).or_insert(i);
        self.by_label.entry(o.label.clone()).or_insert(i);
        self.by_label_lower.entry(o.label.to_lowercase()).or_insert(i);
    }

    /// Same order as [`EnumDef::value_for_stored`]'s label matching: exact label, label ignoring case, slug = value.
    fn match_label(&self, stored: &str) -> Option<usize> {
        if let Some(&i) = self.by_label.get(stored) {
            return Some(i);
        }
        if let Some(&i) = self.by_label_lower.get(&stored.to_lowercase()) {
            return Some(i);
        }
        let slug = slugify(stored);
        if slug.is_empty() { None } else { self.by_value.get(&slug).copied() }
    }
}

/// How many distinct values [`Observer`] keeps per column before deciding the column is not an enum.
pub const MAX_DISTINCT_VALUES: usize = 10_000;

/// Counts the distinct values of every enum column ([`OBSERVED_COLUMNS`]) as records stream past, so that the
/// readers need no second pass. Memory grows with the number of distinct values only (at most
/// [`MAX_DISTINCT_VALUES`] per column). Records are matched by their object name (`contact_notes` also for an older
/// `contactNotes` table, as the readers name them) and field name.
#[derive(Debug, Clone, Default)]
pub struct Observer {
    counts: BTreeMap<(&'static str, &'static str), BTreeMap<String, u64>>,
    overflow: BTreeMap<(&'static str, &'static str), u64>,
}

impl Observer {
    /// An observer with nothing counted.
    pub fn new() -> Self {
        Observer::default()
    }

    /// Counts the enum values of one record. Strings count as they are, numbers and booleans as their text, arrays
    /// (`contacts.tags`) element by element; `null` is not counted.
    pub fn observe(&mut self, record: &Record) {
        for col in OBSERVED_COLUMNS.iter().filter(|c| c.table == record.object) {
            let value = record.get(col.column);
            let mut add = |text: String| {
                let counts = self.counts.entry((col.table, col.column)).or_default();
                if let Some(n) = counts.get_mut(&text) {
                    *n += 1;
                } else if counts.len() < MAX_DISTINCT_VALUES {
                    counts.insert(text, 1);
                } else {
                    *self.overflow.entry((col.table, col.column)).or_default() += 1;
                }
            };
            match value {
                Value::Null => {}
                Value::String(s) => add(s.clone()),
                Value::Array(items) => {
                    for item in items {
                        match item {
                            Value::Null => {}
                            Value::String(s) => add(s.clone()),
                            other => add(other.to_string()),
                        }
                    }
                }
                other => add(other.to_string()),
            }
        }
    }

    /// The distinct values seen in `column` with their counts, most used first (ties by value).
    pub fn counts(&self, column: &ObservedColumn) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .counts
            .get(&(column.table, column.column))
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// Merges every column's counts into `enums` with [`merge_observed`], in [`OBSERVED_COLUMNS`] order, and reports
    /// columns with more distinct values than [`MAX_DISTINCT_VALUES`].
    pub fn apply(&self, enums: &mut Enums) -> Vec<Problem> {
        let mut problems = Vec::new();
        for col in OBSERVED_COLUMNS {
            let counts = self.counts(col);
            if counts.is_empty() {
                continue;
            }
            problems.extend(merge_observed(enums, col, &counts));
            if let Some(extra) = self.overflow.get(&(col.table, col.column)) {
                problems.push(
                    Problem::new(col.table, format!("more than {MAX_DISTINCT_VALUES} distinct {} values; {extra} values beyond them were not turned into options", col.key))
                        .field(col.column)
                        .hint("this column does not look like an enum; check the data, or migrate it as text"),
                );
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_follows_atomic_rule() {
        assert_eq!(slugify("Information Technology"), "information-technology");
        assert_eq!(slugify("Follow-up"), "follow-up");
        assert_eq!(slugify("  Thank you!! "), "thank-you");
        assert_eq!(slugify("UI / Design"), "ui-design");
        assert_eq!(slugify("Café crème"), "caf-cr-me");
        assert_eq!(slugify("日本"), "");
    }
}
