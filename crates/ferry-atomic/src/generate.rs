//! A deterministic generator of Atomic CRM databases, for tests, demos and benchmarks.
//!
//! It writes the schema of any [`Generation`] (with the Supabase parts — `auth.users`, `storage`,
//! `extensions.citext`, the API roles — created minimally, as on plain PostgreSQL) and realistically messy data:
//! unicode and right-to-left names, emoji, very long notes, duplicate and invalid e-mails, companies sharing a
//! website, dangling tag and contact ids, archived deals, tasks without due dates, notes with attachments,
//! custom columns of several types and a user-added table. The same seed always gives the same data.
//!
//! Rows are produced one at a time and streamed, into PostgreSQL with `COPY … FROM STDIN` or into a
//! Supabase-style plain-SQL dump; nothing is held in memory beyond one buffer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use futures::SinkExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::enums::{
    DEFAULT_COMPANY_SECTORS, DEFAULT_DEAL_CATEGORIES, DEFAULT_DEAL_STAGES, DEFAULT_NOTE_STATUSES, DEFAULT_TASK_TYPES,
};
use crate::error::AtomicError;
use crate::model::quote_ident;
use crate::pgtext::{array_literal, escape_copy_into};
use crate::standard::{Generation, standard_tables};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// The seed: the same seed gives the same database.
    pub seed: u64,
    /// The schema generation to write.
    pub generation: Generation,
    /// About how many CRM rows in total (the demo has ~2.5k; the benchmark uses 1M).
    pub rows: u64,
    /// Add custom columns (several types, an enum) and a user table (`projects`).
    pub custom: bool,
    /// Add functions, triggers, views, RLS policies and a pg_cron-style job table.
    pub automation: bool,
}

impl GenConfig {
    /// The demo size (~3k rows) with custom columns and automation.
    pub fn demo(generation: Generation) -> Self {
        GenConfig { seed: 42, generation, rows: 3_000, custom: true, automation: true }
    }
}

/// Row counts per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// CRM users.
    pub sales: u64,
    /// Tags.
    pub tags: u64,
    /// Companies.
    pub companies: u64,
    /// Contacts.
    pub contacts: u64,
    /// Contact notes.
    pub contact_notes: u64,
    /// Deals.
    pub deals: u64,
    /// Deal notes.
    pub deal_notes: u64,
    /// Tasks.
    pub tasks: u64,
    /// Rows of the user table `projects`.
    pub projects: u64,
}

impl Sizes {
    /// Sizes in the demo's proportions adding up to about `total` rows.
    pub fn for_total(total: u64) -> Sizes {
        let f = total as f64 / 2_500.0;
        let n = |base: f64, min: u64| ((base * f).round() as u64).max(min);
        Sizes {
            sales: n(6.0, 3).min(200),
            tags: 8,
            companies: n(55.0, 4),
            contacts: n(500.0, 8),
            contact_notes: n(1_200.0, 8),
            deals: n(50.0, 4),
            deal_notes: n(300.0, 4),
            tasks: n(400.0, 6),
            projects: n(20.0, 2),
        }
    }
}

/// How the dump writer spells data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpStyle {
    /// `COPY … FROM stdin` blocks (pg_dump's default).
    Copy,
    /// `INSERT` statements (`pg_dump --inserts` / `--column-inserts` / `--rows-per-insert`).
    Inserts {
        /// Rows per statement (1 = one INSERT per row).
        rows_per_statement: usize,
        /// Whether each INSERT names its columns.
        column_names: bool,
    },
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Rows per `schema.table`.
    pub counts: BTreeMap<String, u64>,
}

impl GenSummary {
    /// Rows of CRM tables (everything but `auth.users` and `cron.job`).
    pub fn crm_rows(&self) -> u64 {
        self.counts.iter().filter(|(k, _)| k.starts_with("public.")).map(|(_, v)| v).sum()
    }
}

/// A generated value.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
}

fn t(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

fn js(v: serde_json::Value) -> Val {
    Val::Text(v.to_string())
}

fn write_copy_field(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("\\N"),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Val::Text(s) => escape_copy_into(out, s),
    }
}

fn write_sql_literal(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("NULL"),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Text(s) => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
    }
}

const FIRST: [&str; 24] = [
    "Jane",
    "John",
    "José",
    "Zoë",
    "Łukasz",
    "محمد",
    "שרה",
    "李",
    "Ngọc",
    "Søren",
    "Anne-Marie",
    "Chloé",
    "Dmitri",
    "Aiko",
    "Olúwaseun",
    "Björn",
    "Fatima",
    "Noa",
    "Émile",
    "Priya",
    "Kwame",
    "Ines",
    "Mateo",
    "😀 Joy",
];
const LAST: [&str; 22] = [
    "Doe",
    "Smith",
    "O'Brien",
    "García",
    "Müller",
    "Nowak",
    "אברהם",
    "عبد الله",
    "王",
    "Nguyễn",
    "Kowalski",
    "Dubois",
    "van der Berg",
    "Yamamoto",
    "Okafor",
    "Johansson",
    "Haddad",
    "Levi",
    "Rossi",
    "Patel",
    "Mensah",
    "Silva",
];
const COMPANY: [&str; 20] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Société Générale d'Ürkünde",
    "שלום בע״מ",
    "株式会社テスト",
    "🚀 Rocket Labs",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Pied Piper",
    "Oscorp",
    "Массив",
];
const WORDS: [&str; 30] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "call",
    "demo",
    "follow-up",
    "contract",
    "budget",
    "renewal",
    "pricing",
    "café",
    "naïve",
    "🎉",
    "مرحبا",
];
/// Note statuses as (value, label), from Atomic CRM's defaults.
const NOTE_STATUSES: [(&str, &str); 4] = {
    let d = DEFAULT_NOTE_STATUSES;
    [(d[0].0, d[0].1), (d[1].0, d[1].1), (d[2].0, d[2].1), (d[3].0, d[3].1)]
};
const TAGS: [(&str, &str); 8] = [
    ("football-fan", "#eddcd2"),
    ("holiday-card", "#fff1e6"),
    ("influencer", "#fde2e4"),
    ("manager", "#fad2e1"),
    ("musician", "#c5dedd"),
    ("⭐ vip", "#dbe7e4"),
    ("vip", "#f0efeb"),
    ("عميل مهم", "#d6e2e9"),
];
const WEBMAIL: [&str; 5] = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"];

const BASE_TS: i64 = 1_577_836_800; // 2020-01-01
const SPAN_TS: i64 = 200_000_000; // ~6.3 years
const PROJECT_URL: &str = "https://abcdefghijklmnop.supabase.co";

fn timestamp(secs: i64, micros: u32) -> String {
    let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut s = ts.strftime("%Y-%m-%d %H:%M:%S").to_string();
    if micros > 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s.push_str("+00");
    s
}

fn date(secs: i64) -> String {
    let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%d").to_string()
}

/// The tables, in load order, that a configuration generates: (`schema.table` SQL name, columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AuthUsers,
    Sales,
    Tags,
    Companies,
    Contacts,
    Deals,
    ContactNotes,
    DealNotes,
    Tasks,
    Favicons,
    Configuration,
    Projects,
    CronJobs,
}

struct TableGen {
    kind: Kind,
    sql_name: String,
    key: String,
    columns: Vec<String>,
    n: u64,
    i: u64,
    rng: StdRng,
    sizes: Sizes,
    generation: Generation,
    seed: u64,
}

fn custom_columns(kind: Kind) -> &'static [(&'static str, &'static str)] {
    match kind {
        Kind::Companies => &[("industry_code", "character varying(20)"), ("founded_at", "timestamp with time zone")],
        Kind::Contacts => &[
            ("birthday", "date"),
            ("lead_score", "integer"),
            ("vip", "boolean"),
            ("preferences", "jsonb"),
            ("hobbies", "text[]"),
            ("nickname", "character varying(40)"),
        ],
        Kind::Deals => &[("priority", "public.deal_priority"), ("probability", "numeric(5,2)")],
        _ => &[],
    }
}

const PROJECT_COLUMNS: [(&str, &str); 7] = [
    ("id", "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    ("name", "text NOT NULL"),
    ("company_id", "bigint REFERENCES public.companies(id) ON DELETE SET NULL"),
    ("deal_id", "bigint REFERENCES public.deals(id)"),
    ("budget", "numeric(12,2)"),
    ("started_on", "date"),
    ("labels", "text[]"),
];

fn kind_of(canonical: &str) -> Kind {
    match canonical {
        "sales" => Kind::Sales,
        "tags" => Kind::Tags,
        "companies" => Kind::Companies,
        "contacts" => Kind::Contacts,
        "deals" => Kind::Deals,
        "contact_notes" => Kind::ContactNotes,
        "deal_notes" => Kind::DealNotes,
        "tasks" => Kind::Tasks,
        "favicons_excluded_domains" => Kind::Favicons,
        _ => Kind::Configuration,
    }
}

fn table_gens(cfg: &GenConfig) -> Vec<TableGen> {
    let sizes = Sizes::for_total(cfg.rows);
    let mut out = Vec::new();
    let mut push = |kind: Kind, sql_name: String, key: String, columns: Vec<String>, n: u64| {
        let salt = out.len() as u64 + 1;
        out.push(TableGen {
            kind,
            sql_name,
            key,
            columns,
            n,
            i: 0,
            rng: StdRng::seed_from_u64(
                cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9),
            ),
            sizes,
            generation: cfg.generation,
            seed: cfg.seed,
        });
    };
    push(
        Kind::AuthUsers,
        "auth.users".into(),
        "auth.users".into(),
        [
            "id",
            "email",
            "raw_user_meta_data",
            "raw_app_meta_data",
            "created_at",
            "updated_at",
            "last_sign_in_at",
            "banned_until",
        ]
        .map(String::from)
        .to_vec(),
        sizes.sales,
    );
    for spec in standard_tables(cfg.generation) {
        let kind = kind_of(spec.canonical);
        let mut columns: Vec<String> = spec.columns.iter().map(|c| c.name.to_string()).collect();
        if cfg.custom {
            columns.extend(custom_columns(kind).iter().map(|(n, _)| n.to_string()));
        }
        let n = match kind {
            Kind::Sales => sizes.sales,
            Kind::Tags => sizes.tags,
            Kind::Companies => sizes.companies,
            Kind::Contacts => sizes.contacts,
            Kind::Deals => sizes.deals,
            Kind::ContactNotes => sizes.contact_notes,
            Kind::DealNotes => sizes.deal_notes,
            Kind::Tasks => sizes.tasks,
            Kind::Favicons => WEBMAIL.len() as u64,
            _ => 1,
        };
        push(kind, format!("public.{}", quote_ident(spec.name)), format!("public.{}", spec.name), columns, n);
    }
    if cfg.custom {
        push(
            Kind::Projects,
            "public.projects".into(),
            "public.projects".into(),
            PROJECT_COLUMNS.iter().map(|(n, _)| n.to_string()).collect(),
            sizes.projects,
        );
    }
    if cfg.automation {
        push(
            Kind::CronJobs,
            "cron.job".into(),
            "cron.job".into(),
            ["jobid", "schedule", "command", "jobname", "active"].map(String::from).to_vec(),
            2,
        );
    }
    out
}

impl TableGen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn enum_value(&mut self, list: &[(&str, &str)]) -> Val {
        if self.rng.random_ratio(1, 30) {
            return t("Legacy value");
        }
        let (slug, label) = *self.pick(list);
        t(if self.generation.stores_labels() { label } else { slug })
    }

    fn uuid(&self, i: u64) -> String {
        let mut r = StdRng::seed_from_u64(self.seed ^ 0xA5A5_0000 ^ i);
        uuid::Builder::from_random_bytes(r.random()).into_uuid().to_string()
    }

    fn person(&mut self) -> (String, String) {
        (self.pick(&FIRST).to_string(), self.pick(&LAST).to_string())
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for k in 0..words {
            if k > 0 {
                s.push(' ');
            }
            let w = self.pick::<&str>(&WORDS[..]);
            s.push_str(w);
        }
        s
    }

    fn note_text(&mut self) -> String {
        let i = self.i;
        if i % 97 == 5 {
            // a very long note
            let mut s = String::with_capacity(24_000);
            while s.len() < 20_000 {
                let w = self.rng.random_range(8..20);
                s.push_str(&self.sentence(w));
                s.push_str(".\n\n");
            }
            return s;
        }
        let mut s = String::new();
        if i.is_multiple_of(11) {
            s.push_str("**Call recap**\n\n- pricing\n- next steps\t(tab)\n\nPath: C:\\Users\\crm\\notes.txt ");
        }
        let paragraphs = self.rng.random_range(1..4);
        for p in 0..paragraphs {
            if p > 0 {
                s.push_str("\n\n");
            }
            let w = self.rng.random_range(5..40);
            s.push_str(&self.sentence(w));
        }
        s
    }

    fn attachment(&mut self, i: u64) -> serde_json::Value {
        let name = format!("0.{}", 1_000_000_000u64 + i * 7919 % 1_000_000_000);
        match i % 3 {
            0 => {
                json!({"src": format!("{PROJECT_URL}/storage/v1/object/public/attachments/{name}.pdf"), "title": "contrat signé.pdf", "path": format!("{name}.pdf"), "type": "application/pdf"})
            }
            1 => {
                json!({"src": format!("{PROJECT_URL}/storage/v1/object/public/attachments/{name}.png"), "title": "screenshot 📷.png", "path": format!("{name}.png"), "type": "image/png", "rawFile": {}})
            }
            _ => {
                json!({"src": "https://example.com/files/brochure.pdf", "title": "brochure.pdf", "rawFile": {"name": "brochure.pdf", "type": "application/pdf"}})
            }
        }
    }

    fn ts(&mut self) -> (i64, String) {
        let secs = BASE_TS + self.rng.random_range(0..SPAN_TS);
        let micros = if self.rng.random_ratio(1, 2) { self.rng.random_range(0..1_000_000) } else { 0 };
        (secs, timestamp(secs, micros))
    }

    fn next_row(&mut self, out: &mut Vec<Val>) -> bool {
        if self.i >= self.n {
            return false;
        }
        self.i += 1;
        out.clear();
        let columns = std::mem::take(&mut self.columns);
        let row = self.row(&columns);
        self.columns = columns;
        out.extend(row);
        true
    }

    fn row(&mut self, columns: &[String]) -> Vec<Val> {
        let i = self.i;
        let id = i as i64;
        let s = self.sizes;
        let mut vals = Vec::with_capacity(columns.len());
        // per-row values that several columns share
        let (created_secs, created) = self.ts();
        let (first, last) = self.person();
        for col in columns {
            let v = match (self.kind, col.as_str()) {
                (Kind::AuthUsers, "id") => t(self.uuid(i)),
                (Kind::AuthUsers, "email") => t(sales_email(i)),
                (Kind::AuthUsers, "raw_user_meta_data") => {
                    js(json!({"first_name": sales_first(i), "last_name": LAST[i as usize % LAST.len()]}))
                }
                (Kind::AuthUsers, "raw_app_meta_data") => js(json!({"provider": "email", "providers": ["email"]})),
                (Kind::AuthUsers, "created_at" | "updated_at") => t(created.clone()),
                (Kind::AuthUsers, "last_sign_in_at") => {
                    if i == 2 {
                        Val::Null
                    } else {
                        t(created.clone())
                    }
                }
                (Kind::AuthUsers, "banned_until") => {
                    if i == s.sales {
                        t("2099-01-01 00:00:00+00")
                    } else {
                        Val::Null
                    }
                }

                (Kind::Sales, "id") => Val::Int(id),
                (Kind::Sales, "first_name") => t(sales_first(i)),
                (Kind::Sales, "last_name") => t(LAST[i as usize % LAST.len()]),
                (Kind::Sales, "email") => t(if i == 3 { sales_email(i).to_uppercase() } else { sales_email(i) }),
                (Kind::Sales, "administrator") => Val::Bool(i <= 2),
                (Kind::Sales, "user_id") => t(self.uuid(i)),
                (Kind::Sales, "avatar") => {
                    if i.is_multiple_of(2) {
                        Val::Null
                    } else {
                        js(json!({"src": "data:image/png;base64,iVBORw0KGgo=", "title": "avatar"}))
                    }
                }
                (Kind::Sales, "disabled") => Val::Bool(i == s.sales),

                (Kind::Tags, "id") => Val::Int(id),
                (Kind::Tags, "name") => t(TAGS[(i as usize - 1) % TAGS.len()].0),
                (Kind::Tags, "color") => t(TAGS[(i as usize - 1) % TAGS.len()].1),

                (Kind::Companies, "id") => Val::Int(id),
                (Kind::Companies, "created_at") => t(created.clone()),
                (Kind::Companies, "name") => t(format!(
                    "{} {}",
                    COMPANY[i as usize % COMPANY.len()],
                    if i.is_multiple_of(5) { "Holdings" } else { "Inc." }
                )),
                (Kind::Companies, "sector") => {
                    if i.is_multiple_of(9) {
                        Val::Null
                    } else {
                        self.enum_value(DEFAULT_COMPANY_SECTORS)
                    }
                }
                (Kind::Companies, "size") => {
                    if i.is_multiple_of(7) {
                        Val::Null
                    } else {
                        Val::Int(*self.pick(&[1, 10, 50, 250, 500]))
                    }
                }
                (Kind::Companies, "linkedin_url") => {
                    if i.is_multiple_of(3) {
                        t(format!("https://www.linkedin.com/company/c{i}"))
                    } else {
                        Val::Null
                    }
                }
                (Kind::Companies, "website") => match i % 8 {
                    0 => t("https://www.acme.example.com"), // shared by many companies
                    1 => t("https://WWW.Acme.Example.com/about"),
                    2 => Val::Null,
                    _ => t(format!("https://company{i}.example.com")),
                },
                (Kind::Companies, "phone_number") => {
                    if i.is_multiple_of(4) {
                        Val::Null
                    } else {
                        t(format!("+1 (555) 01{:02}", i % 100))
                    }
                }
                (Kind::Companies, "address") => t(format!("{} Main Street", i % 900 + 1)),
                (Kind::Companies, "zipcode") => t(format!("{:05}", i * 37 % 99_999)),
                (Kind::Companies, "city") => {
                    t(*self.pick(&["Paris", "New York", "Tel Aviv", "東京", "São Paulo", "Zürich"]))
                }
                (Kind::Companies, "state_abbr" | "stateAbbr") => {
                    if i.is_multiple_of(2) {
                        t("NY")
                    } else {
                        Val::Null
                    }
                }
                (Kind::Companies, "sales_id") => Val::Int(1 + (i % s.sales) as i64),
                (Kind::Companies, "context_links") => match i % 4 {
                    0 => js(json!([format!("https://news.example.com/{i}"), "https://example.org/press"])),
                    1 => js(json!([])),
                    _ => Val::Null,
                },
                (Kind::Companies, "country") => t(*self.pick(&["USA", "France", "UK", "Israel", "Japan"])),
                (Kind::Companies, "description") => t(self.sentence(12)),
                (Kind::Companies, "revenue") => t(*self.pick(&["$1M", "$10M", "$100M", "$1B"])),
                (Kind::Companies, "tax_identifier") => t(format!("TX{:08}", i * 7_919 % 100_000_000)),
                (Kind::Companies, "logo") => match i % 5 {
                    0 => js(json!({"src": "ERROR"})),
                    1 => js(
                        json!({"src": format!("https://favicon.show/company{i}.example.com"), "title": "Company favicon"}),
                    ),
                    2 => js(
                        json!({"src": format!("{PROJECT_URL}/storage/v1/object/public/attachments/0.{i}42.png"), "path": format!("0.{i}42.png"), "title": "logo.png", "type": "image/png"}),
                    ),
                    _ => Val::Null,
                },
                (Kind::Companies, "industry_code") => {
                    if i.is_multiple_of(3) {
                        Val::Null
                    } else {
                        t(format!("NAICS-{}", 5_000 + i % 500))
                    }
                }
                (Kind::Companies, "founded_at") => t(timestamp(created_secs - 300_000_000, 0)),

                (Kind::Contacts, "id") => Val::Int(id),
                (Kind::Contacts, "first_name") => {
                    if i.is_multiple_of(41) {
                        Val::Null
                    } else {
                        t(first.clone())
                    }
                }
                (Kind::Contacts, "last_name") => {
                    if i.is_multiple_of(43) {
                        Val::Null
                    } else {
                        t(last.clone())
                    }
                }
                (Kind::Contacts, "gender") => {
                    if i.is_multiple_of(6) {
                        Val::Null
                    } else {
                        t(*self.pick(&["male", "female", "nonbinary"]))
                    }
                }
                (Kind::Contacts, "title") => {
                    t(*self.pick(&["CEO", "CTO", "Head of Sales", "Développeuse", "مدير", ""]))
                }
                (Kind::Contacts, "email") => contact_email(i, &first).map(|(e, _)| t(e)).unwrap_or(Val::Null),
                (Kind::Contacts, "email_jsonb") => match contact_email(i, &first) {
                    None => Val::Null,
                    Some((e, second)) => {
                        let mut list = vec![json!({"email": e, "type": "Work"})];
                        if let Some(s2) = second {
                            list.push(json!({"email": s2, "type": "Home"}));
                        }
                        js(serde_json::Value::Array(list))
                    }
                },
                (Kind::Contacts, "phone_jsonb") => match i % 4 {
                    0 => Val::Null,
                    1 => js(json!([{"number": format!("+33 6 12 34 {:02} {:02}", i % 100, i % 97), "type": "Work"}])),
                    _ => js(
                        json!([{"number": format!("(555) 010-{:04}", i % 10_000), "type": "Home"}, {"number": "ext. 12", "type": "Other"}]),
                    ),
                },
                (Kind::Contacts, "phone_1_number") => {
                    if i.is_multiple_of(4) {
                        Val::Null
                    } else {
                        t(format!("(555) 010-{:04}", i % 10_000))
                    }
                }
                (Kind::Contacts, "phone_1_type") => {
                    if i.is_multiple_of(4) {
                        Val::Null
                    } else {
                        t("Work")
                    }
                }
                (Kind::Contacts, "phone_2_number") => {
                    if i.is_multiple_of(3) {
                        t("ext. 12")
                    } else {
                        Val::Null
                    }
                }
                (Kind::Contacts, "phone_2_type") => {
                    if i.is_multiple_of(3) {
                        t("Other")
                    } else {
                        Val::Null
                    }
                }
                (Kind::Contacts, "background") => {
                    if i.is_multiple_of(5) {
                        Val::Null
                    } else {
                        t(self.sentence(20))
                    }
                }
                (Kind::Contacts, "avatar") => match i % 6 {
                    0 => js(json!({"src": format!("https://www.gravatar.com/avatar/{:064x}?d=404", i)})),
                    1 => js(json!({"src": "ERROR"})),
                    2 => js(json!({})),
                    _ => Val::Null,
                },
                (Kind::Contacts, "first_seen") => t(created.clone()),
                (Kind::Contacts, "last_seen") => t(timestamp(created_secs + self.rng.random_range(0..10_000_000), 0)),
                (Kind::Contacts, "has_newsletter") => {
                    if i.is_multiple_of(10) {
                        Val::Null
                    } else {
                        Val::Bool(i.is_multiple_of(3))
                    }
                }
                (Kind::Contacts, "status") => self.enum_value(&NOTE_STATUSES),
                (Kind::Contacts, "tags") => match i % 6 {
                    0 => Val::Null,
                    1 => t("{}"),
                    2 => t(array_literal([Some("1"), Some("6")])),
                    3 => t(array_literal([Some("9999".to_string())])), // a tag that no longer exists
                    _ => t(array_literal([Some((1 + i % s.tags).to_string())])),
                },
                (Kind::Contacts, "company_id") => {
                    if i.is_multiple_of(13) {
                        Val::Null
                    } else {
                        Val::Int(1 + (i % s.companies) as i64)
                    }
                }
                (Kind::Contacts, "sales_id") => Val::Int(1 + (i % s.sales) as i64),
                (Kind::Contacts, "linkedin_url") => {
                    if i.is_multiple_of(4) {
                        t(format!("https://www.linkedin.com/in/p{i}"))
                    } else {
                        Val::Null
                    }
                }
                (Kind::Contacts, "birthday") => {
                    if i.is_multiple_of(3) {
                        Val::Null
                    } else {
                        t(date(BASE_TS - 600_000_000 - (i as i64 * 86_400) % 900_000_000))
                    }
                }
                (Kind::Contacts, "lead_score") => {
                    if i.is_multiple_of(4) {
                        Val::Null
                    } else {
                        Val::Int((i % 101) as i64)
                    }
                }
                (Kind::Contacts, "vip") => Val::Bool(i.is_multiple_of(17)),
                (Kind::Contacts, "preferences") => {
                    if i.is_multiple_of(2) {
                        Val::Null
                    } else {
                        js(json!({"newsletter": "weekly", "channels": ["email", "sms"], "score": 4.5}))
                    }
                }
                (Kind::Contacts, "hobbies") => match i % 3 {
                    0 => Val::Null,
                    1 => t(array_literal([Some("chess"), Some("jazz, \"bebop\""), None])),
                    _ => t(array_literal([Some("ski ⛷")])),
                },
                (Kind::Contacts, "nickname") => {
                    if i.is_multiple_of(5) {
                        t(format!("{first} 😎"))
                    } else {
                        Val::Null
                    }
                }

                (Kind::Deals, "id") => Val::Int(id),
                (Kind::Deals, "name") => t(format!("{} deal #{i}", COMPANY[i as usize % COMPANY.len()])),
                (Kind::Deals, "company_id") => Val::Int(1 + (i % s.companies) as i64),
                (Kind::Deals, "contact_ids") => {
                    let a = 1 + (i * 7) % s.contacts;
                    let b = 1 + (i * 13) % s.contacts;
                    if i.is_multiple_of(5) {
                        t(array_literal([Some(a.to_string()), Some((s.contacts + 1_000 + i).to_string())])) // dangling
                    } else {
                        t(array_literal([Some(a.to_string()), Some(b.to_string())]))
                    }
                }
                (Kind::Deals, "category") => self.enum_value(DEFAULT_DEAL_CATEGORIES),
                (Kind::Deals, "stage") => t(self.pick(DEFAULT_DEAL_STAGES).0),
                (Kind::Deals, "description") => t(self.sentence(15)),
                (Kind::Deals, "amount") => Val::Int(self.rng.random_range(0..1_000) * 100),
                (Kind::Deals, "created_at") => t(created.clone()),
                (Kind::Deals, "updated_at") => t(created.clone()),
                (Kind::Deals, "archived_at") => {
                    if i.is_multiple_of(10) {
                        t(timestamp(created_secs + 5_000_000, 0))
                    } else {
                        Val::Null
                    }
                }
                (Kind::Deals, "expected_closing_date") => {
                    if i.is_multiple_of(6) {
                        Val::Null
                    } else if self.generation >= Generation::Configuration2026 {
                        t(date(created_secs + 15_000_000))
                    } else {
                        t(timestamp(created_secs + 15_000_000, 0))
                    }
                }
                (Kind::Deals, "sales_id") => Val::Int(1 + (i % s.sales) as i64),
                (Kind::Deals, "index") => Val::Int((i % 50) as i64),
                (Kind::Deals, "priority") => {
                    if i.is_multiple_of(4) {
                        Val::Null
                    } else {
                        t(*self.pick(&["low", "medium", "high", "urgent"]))
                    }
                }
                (Kind::Deals, "probability") => {
                    if i.is_multiple_of(3) {
                        Val::Null
                    } else {
                        t(format!("{}.{:02}", i % 100, i % 7 * 5))
                    }
                }

                (Kind::ContactNotes | Kind::DealNotes, "id") => Val::Int(id),
                (Kind::ContactNotes, "contact_id") => Val::Int(1 + ((i * 31) % s.contacts) as i64),
                (Kind::DealNotes, "deal_id") => Val::Int(1 + ((i * 17) % s.deals) as i64),
                (Kind::DealNotes, "type") => {
                    if i.is_multiple_of(3) {
                        t("Email")
                    } else {
                        Val::Null
                    }
                }
                (Kind::ContactNotes | Kind::DealNotes, "text") => t(self.note_text()),
                (Kind::ContactNotes | Kind::DealNotes, "date") => t(created.clone()),
                (Kind::ContactNotes | Kind::DealNotes, "sales_id") => {
                    if i.is_multiple_of(19) {
                        Val::Null
                    } else {
                        Val::Int(1 + (i % s.sales) as i64)
                    }
                }
                (Kind::ContactNotes, "status") => self.enum_value(&NOTE_STATUSES),
                (Kind::ContactNotes | Kind::DealNotes, "attachments") => match i % 10 {
                    0 => {
                        let a = self.attachment(i).to_string();
                        let b = self.attachment(i + 1).to_string();
                        t(array_literal([Some(a), Some(b)]))
                    }
                    1 => t("{}"),
                    _ => Val::Null,
                },

                (Kind::Tasks, "id") => Val::Int(id),
                (Kind::Tasks, "contact_id") => Val::Int(1 + ((i * 23) % s.contacts) as i64),
                (Kind::Tasks, "type") => self.enum_value(DEFAULT_TASK_TYPES),
                (Kind::Tasks, "text") => t(self.sentence(8)),
                (Kind::Tasks, "due_date") => {
                    if i.is_multiple_of(7) && self.generation >= Generation::SnakeCase2026 {
                        Val::Null
                    } else {
                        t(timestamp(created_secs + 864_000, 0))
                    }
                }
                (Kind::Tasks, "done_date") => {
                    if i.is_multiple_of(3) {
                        t(timestamp(created_secs + 100_000, 0))
                    } else {
                        Val::Null
                    }
                }
                (Kind::Tasks, "sales_id") => {
                    if i.is_multiple_of(29) {
                        Val::Int(999)
                    } else {
                        Val::Int(1 + (i % s.sales) as i64)
                    }
                } // no FK: dangling owner

                (Kind::Favicons, "id") => Val::Int(id),
                (Kind::Favicons, "domain") => t(WEBMAIL[(i as usize - 1) % WEBMAIL.len()]),

                (Kind::Configuration, "id") => Val::Int(1),
                (Kind::Configuration, "config") => js(json!({
                    "title": "Ferry Test CRM",
                    "currency": "EUR",
                    "dealStages": [
                        {"value": "opportunity", "label": "Opportunity"},
                        {"value": "proposal-sent", "label": "Proposal Sent"},
                        {"value": "in-negociation", "label": "In Negotiation"},
                        {"value": "won", "label": "Won"},
                        {"value": "lost", "label": "Lost"},
                        {"value": "delayed", "label": "Delayed"},
                        {"value": "on-hold", "label": "On hold ⏸"}
                    ],
                    "noteStatuses": [
                        {"value": "cold", "label": "Cold", "color": "#7dbde8"},
                        {"value": "warm", "label": "Warm", "color": "#e8cb7d"},
                        {"value": "hot", "label": "Hot", "color": "#e88b7d"},
                        {"value": "in-contract", "label": "In Contract", "color": "#a4e87d"}
                    ]
                })),

                (Kind::Projects, "id") => Val::Int(id),
                (Kind::Projects, "name") => t(format!("Project {}", self.sentence(2))),
                (Kind::Projects, "company_id") => Val::Int(1 + (i % s.companies) as i64),
                (Kind::Projects, "deal_id") => {
                    if i.is_multiple_of(2) {
                        Val::Null
                    } else {
                        Val::Int(1 + (i % s.deals) as i64)
                    }
                }
                (Kind::Projects, "budget") => t(format!("{}.50", i * 1_000)),
                (Kind::Projects, "started_on") => t(date(created_secs)),
                (Kind::Projects, "labels") => t(array_literal([Some("internal"), Some("q3")])),

                (Kind::CronJobs, "jobid") => Val::Int(id),
                (Kind::CronJobs, "schedule") => t(if i == 1 { "0 3 * * *" } else { "*/15 * * * *" }),
                (Kind::CronJobs, "command") => t(if i == 1 {
                    "UPDATE public.deals SET archived_at = now() WHERE stage = 'lost' AND archived_at IS NULL"
                } else {
                    "SELECT net.http_post('https://hooks.example.com/sync')"
                }),
                (Kind::CronJobs, "jobname") => t(if i == 1 { "archive-lost-deals" } else { "sync-webhook" }),
                (Kind::CronJobs, "active") => Val::Bool(true),

                (_, _) => Val::Null,
            };
            vals.push(v);
        }
        vals
    }
}

fn sales_first(i: u64) -> &'static str {
    if i == 1 { "Jane" } else { FIRST[i as usize % FIRST.len()] }
}

fn sales_email(i: u64) -> String {
    if i == 1 { "janedoe@atomic.dev".into() } else { format!("user{i}@atomic.dev") }
}

/// A contact's e-mail(s): duplicates, invalid ones, mixed case, none.
fn contact_email(i: u64, first: &str) -> Option<(String, Option<String>)> {
    let local: String = first.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    let local = if local.is_empty() || !local.is_ascii() { format!("contact{i}") } else { format!("{local}.{i}") };
    match i % 20 {
        0 => None,
        1 => Some(("shared.inbox@example.com".into(), None)), // the same address on many contacts
        2 => Some(("not-an-email".into(), None)),
        3 => Some((format!("{}@Example.COM", local.to_uppercase()), None)),
        4 => Some(("bob@".into(), Some(format!("{local}@{}", WEBMAIL[i as usize % WEBMAIL.len()])))),
        5 => Some((format!(" {local}@example.com "), None)),
        _ => Some((
            format!("{local}@company{}.example.com", i % 97),
            if i.is_multiple_of(3) { Some(format!("{local}@gmail.com")) } else { None },
        )),
    }
}

/// The SQL that creates the whole schema of `cfg`: Supabase stand-ins, tables, custom columns, user table and,
/// when asked, Atomic CRM's functions, triggers, views, policies and a pg_cron-style job table.
pub fn schema_sql(cfg: &GenConfig) -> String {
    let g = cfg.generation;
    let mut s = String::new();
    s.push_str(PRELUDE);
    if cfg.custom {
        s.push_str("CREATE TYPE public.deal_priority AS ENUM ('low', 'medium', 'high', 'urgent');\n\n");
    }
    for spec in standard_tables(g) {
        let kind = kind_of(spec.canonical);
        let _ = writeln!(s, "CREATE TABLE public.{} (", quote_ident(spec.name));
        let mut lines: Vec<String> = spec
            .columns
            .iter()
            .map(|c| {
                format!("    {} {}{}{}", quote_ident(c.name), c.ty, if c.extra.is_empty() { "" } else { " " }, c.extra)
            })
            .collect();
        if cfg.custom {
            lines.extend(custom_columns(kind).iter().map(|(n, ty)| format!("    {n} {ty}")));
        }
        s.push_str(&lines.join(",\n"));
        s.push_str("\n);\n\n");
    }
    let notes = if g.camel_case() { "\"contactNotes\"" } else { "contact_notes" };
    let deal_notes = if g.camel_case() { "\"dealNotes\"" } else { "deal_notes" };
    let _ = writeln!(
        s,
        "CREATE INDEX contacts_company_id_idx ON public.contacts (company_id);\nCREATE INDEX deals_company_id_idx ON public.deals (company_id);\n\
         CREATE INDEX contact_notes_contact_id_idx ON public.{notes} (contact_id);\nCREATE INDEX deal_notes_deal_id_idx ON public.{deal_notes} (deal_id);\n"
    );
    if cfg.custom {
        s.push_str("CREATE TABLE public.projects (\n");
        s.push_str(&PROJECT_COLUMNS.iter().map(|(n, ty)| format!("    {n} {ty}")).collect::<Vec<_>>().join(",\n"));
        s.push_str("\n);\n\n");
    }
    if cfg.automation {
        s.push_str(&automation_sql(cfg));
    }
    s
}

const PRELUDE: &str = "\
DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN OTHERS THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN OTHERS THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE service_role NOLOGIN; EXCEPTION WHEN OTHERS THEN NULL; END $$;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA extensions;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (
    id uuid NOT NULL PRIMARY KEY,
    email character varying(255),
    raw_user_meta_data jsonb,
    raw_app_meta_data jsonb,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    last_sign_in_at timestamp with time zone,
    banned_until timestamp with time zone
);
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('request.jwt.claim.sub', true), (current_setting('request.jwt.claims', true)::jsonb ->> 'sub'))::uuid
$$;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE TABLE IF NOT EXISTS storage.buckets (id text PRIMARY KEY, name text NOT NULL, owner uuid, public boolean DEFAULT false,
    created_at timestamp with time zone DEFAULT now(), updated_at timestamp with time zone DEFAULT now());
CREATE TABLE IF NOT EXISTS storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets(id),
    name text, owner uuid, metadata jsonb, created_at timestamp with time zone DEFAULT now(), updated_at timestamp with time zone DEFAULT now());
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

";

fn automation_sql(cfg: &GenConfig) -> String {
    let g = cfg.generation;
    let notes = if g.camel_case() { "\"contactNotes\"" } else { "contact_notes" };
    let deal_notes = if g.camel_case() { "\"dealNotes\"" } else { "deal_notes" };
    let mut s = String::from(
        "CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE sales_count int;
BEGIN
  SELECT count(id) INTO sales_count FROM public.sales;
  INSERT INTO public.sales (first_name, last_name, email, user_id, administrator)
  VALUES (coalesce(new.raw_user_meta_data ->> 'first_name', 'Pending'), coalesce(new.raw_user_meta_data ->> 'last_name', 'Pending'), new.email, new.id, sales_count = 0);
  RETURN new;
END;
$$;

CREATE FUNCTION public.handle_update_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  UPDATE public.sales SET first_name = coalesce(new.raw_user_meta_data ->> 'first_name', first_name), email = new.email WHERE user_id = new.id;
  RETURN new;
END;
$$;

CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
CREATE TRIGGER on_auth_user_updated AFTER UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_update_user();

CREATE FUNCTION public.set_sales_id_default() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF new.sales_id IS NULL THEN
    SELECT id INTO new.sales_id FROM public.sales WHERE user_id = auth.uid();
  END IF;
  RETURN new;
END;
$$;

CREATE FUNCTION public.is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.sales WHERE user_id = auth.uid() AND administrator)
$$;

",
    );
    let _ = write!(
        s,
        "CREATE FUNCTION public.handle_contact_note_created_or_updated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  UPDATE public.contacts SET last_seen = new.date WHERE id = new.contact_id AND (last_seen IS NULL OR last_seen < new.date);
  RETURN new;
END;
$$;

CREATE TRIGGER on_public_contact_notes_created_or_updated AFTER INSERT ON public.{notes} FOR EACH ROW EXECUTE FUNCTION public.handle_contact_note_created_or_updated();
CREATE TRIGGER set_company_sales_id_trigger BEFORE INSERT ON public.companies FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();
CREATE TRIGGER set_contact_sales_id_trigger BEFORE INSERT ON public.contacts FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();
CREATE TRIGGER set_contact_notes_sales_id_trigger BEFORE INSERT ON public.{notes} FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();
CREATE TRIGGER set_deal_sales_id_trigger BEFORE INSERT ON public.deals FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();
CREATE TRIGGER set_deal_notes_sales_id_trigger BEFORE INSERT ON public.{deal_notes} FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();
CREATE TRIGGER set_task_sales_id_trigger BEFORE INSERT ON public.tasks FOR EACH ROW EXECUTE FUNCTION public.set_sales_id_default();

"
    );
    if !g.legacy_contact_channels() {
        s.push_str(
            "CREATE FUNCTION public.lowercase_email_jsonb() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF new.email_jsonb IS NOT NULL THEN
    new.email_jsonb := (SELECT jsonb_agg(jsonb_set(e, '{email}', to_jsonb(lower(e ->> 'email')))) FROM jsonb_array_elements(new.email_jsonb) e);
  END IF;
  RETURN new;
END;
$$;

CREATE TRIGGER \"10_lowercase_contact_emails\" BEFORE INSERT OR UPDATE ON public.contacts FOR EACH ROW EXECUTE FUNCTION public.lowercase_email_jsonb();

",
        );
    }
    let email_fts = if g.legacy_contact_channels() {
        "co.email AS email_fts"
    } else {
        "jsonb_path_query_array(co.email_jsonb, '$[*].email')::text AS email_fts"
    };
    let _ = write!(
        s,
        "CREATE VIEW public.init_state AS SELECT CASE WHEN EXISTS (SELECT 1 FROM public.sales) THEN 1 ELSE 0 END AS is_initialized;

CREATE VIEW public.companies_summary WITH (security_invoker = on) AS
  SELECT c.*, count(DISTINCT d.id) AS nb_deals, count(DISTINCT co.id) AS nb_contacts
  FROM public.companies c LEFT JOIN public.deals d ON c.id = d.company_id LEFT JOIN public.contacts co ON c.id = co.company_id
  GROUP BY c.id;

CREATE VIEW public.contacts_summary WITH (security_invoker = on) AS
  SELECT co.*, {email_fts}, c.name AS company_name, count(DISTINCT t.id) FILTER (WHERE t.done_date IS NULL) AS nb_tasks
  FROM public.contacts co LEFT JOIN public.tasks t ON co.id = t.contact_id LEFT JOIN public.companies c ON c.id = co.company_id
  GROUP BY co.id, c.name;

"
    );
    let mut tables = vec!["companies", "contacts", notes, "deals", deal_notes, "tags", "tasks", "sales"];
    if g >= Generation::SnakeCase2026 {
        tables.push("favicons_excluded_domains");
    }
    if g >= Generation::Configuration2026 {
        tables.push("configuration");
    }
    for table in tables {
        let _ = writeln!(s, "ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY;");
        let clean = table.trim_matches('"');
        if table == "sales" {
            let _ = writeln!(
                s,
                "CREATE POLICY \"Enable read access for authenticated users\" ON public.sales FOR SELECT TO authenticated USING (true);"
            );
        } else if table == "configuration" {
            let _ = writeln!(
                s,
                "CREATE POLICY \"Enable read for authenticated\" ON public.configuration FOR SELECT TO authenticated USING (true);"
            );
            let _ = writeln!(
                s,
                "CREATE POLICY \"Enable update for admins\" ON public.configuration FOR UPDATE TO authenticated USING (public.is_admin()) WITH CHECK (public.is_admin());"
            );
        } else {
            for cmd in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
                let cond = if cmd == "INSERT" { "WITH CHECK (true)" } else { "USING (true)" };
                let _ = writeln!(
                    s,
                    "CREATE POLICY \"{clean} {cmd} for authenticated\" ON public.{table} FOR {cmd} TO authenticated {cond};"
                );
            }
        }
    }
    s.push_str("CREATE POLICY \"Attachments 1mt4rzk_0\" ON storage.objects FOR SELECT TO authenticated USING (bucket_id = 'attachments');\n\n");
    if cfg.custom {
        s.push_str(
            "CREATE FUNCTION public.touch_deal_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  new.updated_at := now();
  RETURN new;
END;
$$;

CREATE TRIGGER touch_deal_updated_at BEFORE UPDATE ON public.deals FOR EACH ROW EXECUTE FUNCTION public.touch_deal_updated_at();

CREATE VIEW public.won_deals AS SELECT d.id, d.name, d.amount, c.name AS company FROM public.deals d JOIN public.companies c ON c.id = d.company_id WHERE d.stage = 'won';

",
        );
    }
    s.push_str(
        "CREATE SCHEMA IF NOT EXISTS cron;
CREATE TABLE IF NOT EXISTS cron.job (jobid bigint PRIMARY KEY, schedule text NOT NULL, command text NOT NULL, jobname text, active boolean DEFAULT true);

",
    );
    s
}

fn copy_header(tg: &TableGen) -> String {
    let cols: Vec<String> = tg.columns.iter().map(|c| quote_ident(c)).collect();
    format!("COPY {} ({}) FROM stdin;\n", tg.sql_name, cols.join(", "))
}

fn setval_sql(tg: &TableGen) -> Option<String> {
    if tg.kind == Kind::AuthUsers || tg.kind == Kind::Configuration || tg.kind == Kind::CronJobs || tg.n == 0 {
        return None;
    }
    let lit = tg.sql_name.replace('\'', "''");
    Some(format!("SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('{lit}', 'id'), {}, true);\n", tg.n))
}

/// Writes a Supabase-style plain-SQL dump of the generated database to `out`.
pub fn write_dump(out: &mut dyn Write, cfg: &GenConfig, style: DumpStyle) -> Result<GenSummary, AtomicError> {
    let io = |e: std::io::Error| AtomicError::Generator(format!("cannot write the dump: {e}"));
    let mut summary = GenSummary::default();
    writeln!(
        out,
        "--\n-- PostgreSQL database dump\n--\n\n-- generated by ferry-atomic (seed {}, generation {})\n",
        cfg.seed, cfg.generation
    )
    .map_err(io)?;
    out.write_all(b"SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n").map_err(io)?;
    out.write_all(schema_sql(cfg).as_bytes()).map_err(io)?;
    let mut row = Vec::new();
    let mut buf = String::with_capacity(256 * 1024);
    let mut setvals = String::new();
    for mut tg in table_gens(cfg) {
        let cols: Vec<String> = tg.columns.iter().map(|c| quote_ident(c)).collect();
        let mut count = 0u64;
        match style {
            DumpStyle::Copy => {
                out.write_all(b"\n").map_err(io)?;
                out.write_all(copy_header(&tg).as_bytes()).map_err(io)?;
                while tg.next_row(&mut row) {
                    for (k, v) in row.iter().enumerate() {
                        if k > 0 {
                            buf.push('\t');
                        }
                        write_copy_field(&mut buf, v);
                    }
                    buf.push('\n');
                    count += 1;
                    if buf.len() > 200_000 {
                        out.write_all(buf.as_bytes()).map_err(io)?;
                        buf.clear();
                    }
                }
                buf.push_str("\\.\n");
            }
            DumpStyle::Inserts { rows_per_statement, column_names } => {
                let per = rows_per_statement.max(1);
                let head = if column_names {
                    format!("INSERT INTO {} ({}) VALUES", tg.sql_name, cols.join(", "))
                } else {
                    format!("INSERT INTO {} VALUES", tg.sql_name)
                };
                let mut in_stmt = 0usize;
                while tg.next_row(&mut row) {
                    if in_stmt == 0 {
                        buf.push_str(&head);
                        buf.push_str(if per > 1 { "\n\t(" } else { " (" });
                    } else {
                        buf.push_str(",\n\t(");
                    }
                    for (k, v) in row.iter().enumerate() {
                        if k > 0 {
                            buf.push_str(", ");
                        }
                        write_sql_literal(&mut buf, v);
                    }
                    buf.push(')');
                    in_stmt += 1;
                    count += 1;
                    if in_stmt == per {
                        buf.push_str(";\n");
                        in_stmt = 0;
                    }
                    if buf.len() > 200_000 && in_stmt == 0 {
                        out.write_all(buf.as_bytes()).map_err(io)?;
                        buf.clear();
                    }
                }
                if in_stmt > 0 {
                    buf.push_str(";\n");
                }
            }
        }
        out.write_all(buf.as_bytes()).map_err(io)?;
        buf.clear();
        if let Some(sv) = setval_sql(&tg) {
            setvals.push_str(&sv);
        }
        summary.counts.insert(tg.key.clone(), count);
    }
    out.write_all(b"\n").map_err(io)?;
    out.write_all(setvals.as_bytes()).map_err(io)?;
    out.write_all(b"\n--\n-- PostgreSQL database dump complete\n--\n\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(summary)
}

/// Creates the schema in the database `client` is connected to and loads the data with `COPY … FROM STDIN`.
/// Triggers and foreign-key checks are off during the load (`session_replication_role = replica`, which needs a
/// superuser), as when restoring a backup; identity sequences are moved past the generated ids.
pub async fn load_into(client: &tokio_postgres::Client, cfg: &GenConfig) -> Result<GenSummary, AtomicError> {
    let pg = |what: &str, e: tokio_postgres::Error| {
        let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
        AtomicError::Generator(format!("{what}: {msg}"))
    };
    client.batch_execute(&schema_sql(cfg)).await.map_err(|e| pg("creating the schema", e))?;
    client
        .batch_execute("SET session_replication_role = replica")
        .await
        .map_err(|e| pg("disabling triggers for the load (needs a superuser)", e))?;
    let mut summary = GenSummary::default();
    let mut row = Vec::new();
    for mut tg in table_gens(cfg) {
        let header = copy_header(&tg);
        let stmt = header.trim_end().trim_end_matches(';').replace("FROM stdin", "FROM STDIN");
        let sink = client
            .copy_in::<_, bytes::Bytes>(stmt.as_str())
            .await
            .map_err(|e| pg(&format!("starting COPY into {}", tg.key), e))?;
        let mut sink = std::pin::pin!(sink);
        let mut buf = String::with_capacity(512 * 1024);
        let mut count = 0u64;
        while tg.next_row(&mut row) {
            for (k, v) in row.iter().enumerate() {
                if k > 0 {
                    buf.push('\t');
                }
                write_copy_field(&mut buf, v);
            }
            buf.push('\n');
            count += 1;
            if buf.len() > 480 * 1024 {
                let chunk = bytes::Bytes::from(std::mem::replace(&mut buf, String::with_capacity(512 * 1024)));
                sink.send(chunk).await.map_err(|e| pg(&format!("loading {}", tg.key), e))?;
            }
        }
        if !buf.is_empty() {
            sink.send(bytes::Bytes::from(buf)).await.map_err(|e| pg(&format!("loading {}", tg.key), e))?;
        }
        sink.as_mut().finish().await.map_err(|e| pg(&format!("finishing COPY into {}", tg.key), e))?;
        if let Some(sv) = setval_sql(&tg) {
            client.batch_execute(&sv).await.map_err(|e| pg("moving identity sequences", e))?;
        }
        summary.counts.insert(tg.key.clone(), count);
    }
    client
        .batch_execute("SET session_replication_role = DEFAULT; ANALYZE")
        .await
        .map_err(|e| pg("finishing the load", e))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_dump_and_sizes_scale() {
        let cfg = GenConfig { seed: 7, generation: Generation::Jsonb2025, rows: 400, custom: true, automation: true };
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_dump(&mut a, &cfg, DumpStyle::Copy).unwrap();
        write_dump(&mut b, &cfg, DumpStyle::Copy).unwrap();
        assert_eq!(a, b);
        let other = GenConfig { seed: 8, ..cfg };
        let mut c = Vec::new();
        write_dump(&mut c, &other, DumpStyle::Copy).unwrap();
        assert_ne!(a, c);
        let big = Sizes::for_total(1_000_000);
        let total = big.sales
            + big.tags
            + big.companies
            + big.contacts
            + big.contact_notes
            + big.deals
            + big.deal_notes
            + big.tasks;
        assert!(total >= 1_000_000, "{total}");
    }
}
