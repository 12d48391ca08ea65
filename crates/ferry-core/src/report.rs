//! The migration report: what happened to every source row, as JSON, Markdown and one self-contained HTML page.
//!
//! Every source row is either written or listed here with the reason, so the report is also the proof that nothing
//! was lost: [`Report::ok`] is false when any row is unaccounted for or any written value does not match.

use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment};
use serde::{Deserialize, Serialize};

use crate::plan::{Lossy, NotMigrated};
use crate::problem::Problem;

/// Outcomes of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectReport {
    /// The source object.
    pub object: String,
    /// The destination object it went to.
    pub destination: String,
    /// Rows in the source.
    pub source: u64,
    pub written: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Written rows read back and found equal to the source.
    pub verified: u64,
    /// Written rows read back and found different (or missing).
    pub mismatched: u64,
}

impl ObjectReport {
    /// Source rows neither written, rejected nor skipped.
    pub fn unaccounted(&self) -> u64 {
        self.source.saturating_sub(self.written + self.rejected + self.skipped)
    }
}

/// A written value that does not read back as the plan says it should.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    pub object: String,
    pub record: String,
    pub field: String,
    pub expected: serde_json::Value,
    pub found: serde_json::Value,
}

/// Records written per object at one moment, for the throughput timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThroughputPoint {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub object: String,
    pub records: u64,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub title: String,
    pub source: String,
    pub destination: String,
    pub objects: Vec<ObjectReport>,
    #[serde(default)]
    pub mismatches: Vec<Mismatch>,
    /// Rows refused or skipped, values not carried over, relations left out: how many (each once; every one, with
    /// object, record, field, value and what to do, is in `problems.csv` beside the report).
    #[serde(default)]
    pub problem_count: u64,
    /// The problems by kind, most frequent first.
    #[serde(default)]
    pub problem_groups: Vec<ProblemGroup>,
    /// The first problems, in the order they happened (at most [`LISTED_PROBLEMS`]).
    #[serde(default)]
    pub first_problems: Vec<Problem>,
    #[serde(default)]
    pub lossy: Vec<Lossy>,
    /// Source items that do not migrate (automations, views, functions…).
    #[serde(default)]
    pub not_migrated: Vec<NotMigrated>,
    #[serde(default)]
    pub throughput: Vec<ThroughputPoint>,
}

/// Problems of one kind: the same object, field and message once the values it quotes are set aside — how the
/// report shows problems (a large migration has one per record for a label that does not carry over), while
/// `problems.csv` keeps each one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemGroup {
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The message with what varies from record to record set aside ([`message_kind`]).
    pub message: String,
    /// The first problem's hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// How many problems are of this kind.
    pub count: u64,
    /// The first few, as they were reported.
    pub examples: Vec<Problem>,
}

/// How many problems of a kind a group shows.
const GROUP_EXAMPLES: usize = 3;

/// How many problems the HTML and Markdown pages list one by one after the groups (all are in `problems.csv`).
pub const LISTED_PROBLEMS: usize = 200;

/// How many mismatches the HTML and Markdown pages list (all are in `report.json`).
pub const LISTED_MISMATCHES: usize = 500;

/// `message` with what varies from record to record set aside: double-quoted text becomes `"…"`, an address
/// (`http://` or `https://` up to a space, a quote or a closing parenthesis) becomes `…`, and a `#` followed by a
/// record key (letters, digits, `-`, `_`, `/`, `>`) becomes `#…`.
pub fn message_kind(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            // To the closing quote, past escaped ones; an unclosed quote is kept as it is.
            let body = &rest[1..];
            let mut escaped = false;
            let close = body.char_indices().find(|&(_, q)| {
                let closes = q == '"' && !escaped;
                escaped = q == '\\' && !escaped;
                closes
            });
            if let Some((i, _)) = close {
                out.push_str("\"…\"");
                rest = &body[i + 1..];
                continue;
            }
        } else if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest.find(|q: char| q.is_whitespace() || matches!(q, '"' | ')')).unwrap_or(rest.len());
            out.push('…');
            rest = &rest[end..];
            continue;
        } else if c == '#' && rest[1..].starts_with(|n: char| n.is_alphanumeric()) {
            let end = rest[1..]
                .find(|n: char| !(n.is_alphanumeric() || matches!(n, '-' | '_' | '/' | '>')))
                .map_or(rest.len(), |i| i + 1);
            out.push_str("#…");
            rest = &rest[end..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Problems gathered one at a time into what the report shows of them: their number, their kinds
/// ([`message_kind`] of the message, with object and field) and the first few — without keeping them all.
#[derive(Debug, Default)]
pub struct ProblemTally {
    count: u64,
    groups: Vec<ProblemGroup>,
    index: std::collections::HashMap<(String, Option<String>, String), usize>,
    first: Vec<Problem>,
}

impl ProblemTally {
    /// Counts `p` in its kind, keeping it when among the first [`LISTED_PROBLEMS`] or its kind's first examples.
    pub fn add(&mut self, p: Problem) {
        self.count += 1;
        let key = (p.object.clone(), p.field.clone(), message_kind(&p.message));
        let groups = &mut self.groups;
        let i = *self.index.entry(key).or_insert_with_key(|(object, field, message)| {
            groups.push(ProblemGroup {
                object: object.clone(),
                field: field.clone(),
                message: message.clone(),
                hint: p.hint.clone(),
                count: 0,
                examples: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut self.groups[i];
        g.count += 1;
        // Examples of different records (one record can meet the same kind of problem twice).
        if g.examples.len() < GROUP_EXAMPLES && !g.examples.iter().any(|e| e.record.is_some() && e.record == p.record) {
            g.examples.push(p.clone());
        }
        if self.first.len() < LISTED_PROBLEMS {
            self.first.push(p);
        }
    }

    /// Puts what was gathered into `report`: the count, the kinds most frequent first (among equals in the order
    /// each first appeared) and the first problems.
    pub fn fill(mut self, report: &mut Report) {
        self.groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        report.problem_count = self.count;
        report.problem_groups = self.groups;
        report.first_problems = self.first;
    }
}

/// Writes problems to CSV with a header row, `object,record,field,value,message,hint` (an absent part is empty), one
/// at a time.
pub struct ProblemsCsv {
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl ProblemsCsv {
    /// Creates (or empties) the file at `path` and writes the header.
    pub fn create(path: &Path) -> std::io::Result<ProblemsCsv> {
        let mut out = csv::Writer::from_writer(std::io::BufWriter::new(std::fs::File::create(path)?));
        out.write_record(["object", "record", "field", "value", "message", "hint"])?;
        Ok(ProblemsCsv { out })
    }

    pub fn write(&mut self, p: &Problem) -> std::io::Result<()> {
        fn part(s: &Option<String>) -> &str {
            s.as_deref().unwrap_or_default()
        }
        let record = [p.object.as_str(), part(&p.record), part(&p.field), part(&p.value), &p.message, part(&p.hint)];
        self.out.write_record(record).map_err(std::io::Error::from)
    }

    /// Writes what is buffered to the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Where [`Report::write`] put the report's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub html: PathBuf,
    /// Every problem, one per line: object, record, field, value, message, hint.
    pub problems_csv: PathBuf,
}

const COLOURS: [(&str, &str); 4] =
    [("written", "#2e9d5b"), ("rejected", "#d64545"), ("skipped", "#e0a030"), ("unaccounted", "#7a4bd0")];

impl Report {
    /// True when every source row is accounted for and nothing read back differently.
    pub fn ok(&self) -> bool {
        self.objects.iter().all(|o| o.unaccounted() == 0 && o.mismatched == 0) && self.mismatches.is_empty()
    }

    /// The report as JSON: `{"ok", "objects": [...], "mismatches": [...], …}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.json_view()).expect("a report is always representable as JSON")
    }

    /// Writes [`Report::to_json`]'s JSON, indented, to `out` as it is serialised (without building it in memory
    /// first: a migration that went wrong has a mismatch per record).
    pub fn write_json(&self, out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(out, &self.json_view()).map_err(std::io::Error::from)
    }

    fn json_view(&self) -> JsonView<'_> {
        JsonView { ok: self.ok(), report: self, totals: self.totals() }
    }

    fn totals(&self) -> ObjectReport {
        let mut t = ObjectReport { object: "all".into(), destination: "all".into(), ..ObjectReport::default() };
        for o in &self.objects {
            t.source += o.source;
            t.written += o.written;
            t.rejected += o.rejected;
            t.skipped += o.skipped;
            t.verified += o.verified;
            t.mismatched += o.mismatched;
        }
        t
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        self.render("report.md")
    }

    /// The report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched).
    pub fn to_html(&self) -> String {
        self.render("report.html")
    }

    fn render(&self, name: &str) -> String {
        let mut env = Environment::new();
        // `.html` templates escape every value; the Markdown one escapes table cells through `cell`.
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        env.add_filter("cell", |s: String| s.replace('|', "\\|").replace(['\n', '\r'], " "));
        env.add_template("report.html", include_str!("../templates/report.html.j2")).expect("the HTML template parses");
        env.add_template("report.md", include_str!("../templates/report.md.j2")).expect("the Markdown template parses");
        let rows: Vec<RowView> =
            self.objects.iter().chain(std::iter::once(&self.totals())).map(RowView::from).collect();
        let context = ReportView {
            title: &self.title,
            source: &self.source,
            destination: &self.destination,
            lossy: &self.lossy,
            not_migrated: &self.not_migrated,
            mismatch_count: self.mismatches.len(),
            mismatches: &self.mismatches[..self.mismatches.len().min(LISTED_MISMATCHES)],
            problem_count: self.problem_count,
            ok: self.ok(),
            rows,
            legend: COLOURS.iter().map(|(name, colour)| Legend { name, colour }).collect(),
            chart: self.outcome_chart(),
            timeline: (!self.throughput.is_empty()).then(|| self.throughput_chart()),
            groups: &self.problem_groups,
            listed: &self.first_problems,
        };
        env.get_template(name)
            .and_then(|t| t.render(Value::from(Serde(&context))))
            .expect("the report templates render every report")
    }

    /// One horizontal stacked bar per object: written, rejected, skipped, unaccounted, as shares of its source rows.
    fn outcome_chart(&self) -> Chart {
        const W: f64 = 700.0;
        const LABEL: f64 = 160.0;
        const ROW: f64 = 26.0;
        let bars = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let y = i as f64 * ROW + 4.0;
                let total = o.source.max(o.written + o.rejected + o.skipped).max(1) as f64;
                let mut x = LABEL;
                let mut segments = Vec::new();
                for ((name, colour), n) in COLOURS.iter().zip([o.written, o.rejected, o.skipped, o.unaccounted()]) {
                    if n == 0 {
                        continue;
                    }
                    let w = W * n as f64 / total;
                    segments.push(Segment { x: round1(x), w: round1(w), colour, name, n });
                    x += w;
                }
                Bar { label: o.object.clone(), y, text_y: y + 15.0, total: o.source, segments }
            })
            .collect::<Vec<_>>();
        Chart { width: W + LABEL + 90.0, height: ROW * bars.len() as f64 + 8.0, total_x: LABEL + W + 6.0, bars }
    }

    /// Records written per second over the run, all objects together, as at most 120 bars.
    fn throughput_chart(&self) -> Timeline {
        const W: f64 = 860.0;
        const H: f64 = 160.0;
        let start = self.throughput.iter().map(|p| p.at_ms).min().unwrap_or(0);
        let end = self.throughput.iter().map(|p| p.at_ms).max().unwrap_or(0);
        let seconds = ((end - start) / 1000 + 1).max(1) as u64;
        let buckets = seconds.min(120) as usize;
        let per_bucket_ms = ((seconds as f64 * 1000.0) / buckets as f64).max(1.0);
        let mut counts = vec![0u64; buckets];
        for p in &self.throughput {
            let b = (((p.at_ms - start) as f64) / per_bucket_ms) as usize;
            counts[b.min(buckets - 1)] += p.records;
        }
        let max = counts.iter().copied().max().unwrap_or(1).max(1);
        let bar = W / buckets as f64;
        let rate = |n: u64| (n as f64 * 1000.0 / per_bucket_ms).round() as u64;
        let bars = counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let h = H * *n as f64 / max as f64;
                TimeBar {
                    x: round1(i as f64 * bar),
                    y: round1(H - h),
                    w: round1((bar - 1.0).max(0.5)),
                    h: round1(h),
                    rate: rate(*n),
                }
            })
            .collect();
        Timeline { width: W, height: H, seconds, peak: rate(max), bars }
    }

    /// Writes `report.json`, `report.md`, `report.html` and `problems.csv` into `dir` (created if missing).
    /// `problems` writes every problem into the CSV (the report holds only the first few and their kinds; a run
    /// streams them from its journal).
    pub fn write(
        &self,
        dir: &Path,
        problems: impl FnOnce(&mut ProblemsCsv) -> std::io::Result<()>,
    ) -> std::io::Result<ReportFiles> {
        std::fs::create_dir_all(dir)?;
        let files = ReportFiles {
            json: dir.join("report.json"),
            markdown: dir.join("report.md"),
            html: dir.join("report.html"),
            problems_csv: dir.join("problems.csv"),
        };
        let mut csv = ProblemsCsv::create(&files.problems_csv)?;
        problems(&mut csv)?;
        csv.finish()?;
        let mut json = std::io::BufWriter::new(std::fs::File::create(&files.json)?);
        self.write_json(&mut json)?;
        std::io::Write::write_all(&mut json, b"\n")?;
        std::io::Write::flush(&mut json)?;
        std::fs::write(&files.markdown, self.to_markdown())?;
        std::fs::write(&files.html, self.to_html())?;
        Ok(files)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What `report.json` holds: the report with whether it is ok and the totals.
#[derive(Serialize)]
struct JsonView<'a> {
    ok: bool,
    #[serde(flatten)]
    report: &'a Report,
    totals: ObjectReport,
}

/// What the templates see: the report without the whole lists (the pages show the first of each; `report.json`
/// and `problems.csv` hold them all), so a large migration's pages stay readable and cheap to make.
#[derive(Serialize)]
struct ReportView<'a> {
    title: &'a str,
    source: &'a str,
    destination: &'a str,
    lossy: &'a [Lossy],
    not_migrated: &'a [NotMigrated],
    mismatch_count: usize,
    /// The mismatches listed (the first [`LISTED_MISMATCHES`]).
    mismatches: &'a [Mismatch],
    problem_count: u64,
    ok: bool,
    rows: Vec<RowView>,
    legend: Vec<Legend>,
    chart: Chart,
    timeline: Option<Timeline>,
    groups: &'a [ProblemGroup],
    /// The problems listed one by one (the first [`LISTED_PROBLEMS`]).
    listed: &'a [Problem],
}

#[derive(Serialize)]
struct RowView {
    object: String,
    destination: String,
    source: u64,
    written: u64,
    rejected: u64,
    skipped: u64,
    unaccounted: u64,
    verified: u64,
    mismatched: u64,
}

impl From<&ObjectReport> for RowView {
    fn from(o: &ObjectReport) -> Self {
        RowView {
            object: o.object.clone(),
            destination: o.destination.clone(),
            source: o.source,
            written: o.written,
            rejected: o.rejected,
            skipped: o.skipped,
            unaccounted: o.unaccounted(),
            verified: o.verified,
            mismatched: o.mismatched,
        }
    }
}

#[derive(Serialize)]
struct Legend {
    name: &'static str,
    colour: &'static str,
}

#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    total_x: f64,
    bars: Vec<Bar>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    y: f64,
    text_y: f64,
    total: u64,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    x: f64,
    w: f64,
    colour: &'static str,
    name: &'static str,
    n: u64,
}

#[derive(Serialize)]
struct Timeline {
    width: f64,
    height: f64,
    seconds: u64,
    peak: u64,
    bars: Vec<TimeBar>,
}

#[derive(Serialize)]
struct TimeBar {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    rate: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut r = Report {
            title: "Migration report".into(),
            source: "backup.sql".into(),
            destination: "http://127.0.0.1:3000".into(),
            objects: vec![
                ObjectReport {
                    object: "companies".into(),
                    destination: "company".into(),
                    source: 10,
                    written: 9,
                    rejected: 1,
                    verified: 9,
                    ..Default::default()
                },
                ObjectReport {
                    object: "contacts".into(),
                    destination: "person".into(),
                    source: 5,
                    written: 5,
                    verified: 5,
                    ..Default::default()
                },
            ],
            not_migrated: vec![NotMigrated {
                kind: "trigger".into(),
                name: "on_note_insert".into(),
                what: "bumps contacts.last_seen".into(),
                why: "the destination has no database triggers".into(),
            }],
            throughput: vec![
                ThroughputPoint { at_ms: 1_000, object: "companies".into(), records: 9 },
                ThroughputPoint { at_ms: 2_500, object: "contacts".into(), records: 5 },
            ],
            ..Default::default()
        };
        set_problems(&mut r, problems());
        r
    }

    /// Sets `r`'s problems from `problems`, all at hand, as a run does from its journal.
    fn set_problems(r: &mut Report, problems: Vec<Problem>) {
        let mut tally = ProblemTally::default();
        problems.into_iter().for_each(|p| tally.add(p));
        tally.fill(r);
    }

    fn problems() -> Vec<Problem> {
        vec![
            Problem::new("companies", "A duplicate entry was detected")
                .record("7")
                .field("website")
                .value("<script>acme.com|x</script>"),
        ]
    }

    /// Writes `r` with `all` as every problem.
    fn write(r: &Report, dir: &Path, all: &[Problem]) -> ReportFiles {
        r.write(dir, |csv| all.iter().try_for_each(|p| csv.write(p))).unwrap()
    }

    /// What the report shows of `problems`.
    fn group_problems(problems: &[Problem]) -> Vec<ProblemGroup> {
        let mut r = Report::default();
        set_problems(&mut r, problems.to_vec());
        r.problem_groups
    }

    #[test]
    fn rows_rejected_with_a_reason_are_accounted_for() {
        let r = report();
        assert!(r.ok());
        let json = r.to_json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["objects"][0]["rejected"], 1);
        assert_eq!(json["totals"]["source"], 15);
    }

    #[test]
    fn unaccounted_rows_or_mismatches_make_the_report_fail() {
        let mut r = report();
        r.objects[1].written = 4;
        assert!(!r.ok());
        assert_eq!(r.objects[1].unaccounted(), 1);
        let mut r = report();
        r.mismatches.push(Mismatch {
            object: "contacts".into(),
            record: "3".into(),
            field: "name".into(),
            expected: "Ada".into(),
            found: "Bob".into(),
        });
        assert!(!r.ok());
        assert!(r.to_markdown().contains("## Mismatches (1)"));
    }

    #[test]
    fn html_is_self_contained_escaped_and_has_charts() {
        let page = report().to_html();
        assert!(page.contains("<svg"), "a chart per object");
        assert!(page.contains("aria-label=\"records written per second\""), "a throughput timeline");
        assert!(!page.contains("<script>"), "values are escaped");
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("http-equiv") && !page.contains("src=\"http"), "nothing is fetched");
        assert!(page.contains("on_note_insert"));
    }

    #[test]
    fn markdown_cells_survive_pipes() {
        let md = report().to_markdown();
        assert!(md.contains("acme.com\\|x"), "{md}");
        assert!(md.contains("| companies | company | 10 | 9 | 1 | 0 | 0 | 9 | 0 |"), "{md}");
    }

    #[test]
    fn write_puts_the_report_files_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(&report(), &dir.path().join("report"), &problems());
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
        assert_eq!(json["objects"].as_array().unwrap().len(), 2);
        assert!(std::fs::read_to_string(&files.markdown).unwrap().starts_with("# Migration report"));
        assert!(std::fs::read_to_string(&files.html).unwrap().contains("</html>"));
        assert_eq!(std::fs::read_to_string(&files.problems_csv).unwrap().lines().count(), 2, "header and the problem");
    }

    #[test]
    fn message_kind_sets_quoted_values_and_record_numbers_aside() {
        let kind = |m: &str| message_kind(m);
        assert_eq!(kind(r#"type "Work" is not kept"#), r#"type "…" is not kept"#);
        assert_eq!(kind(r#"type "Home" is not kept"#), kind(r#"type "Other" is not kept"#));
        assert_eq!(
            kind(r#"person.emails "bob@" is already held by contacts #4"#),
            r#"person.emails "…" is already held by contacts #…"#
        );
        assert_eq!(kind(r#"none of ["9999", "a \"q\""] maps"#), r#"none of ["…", "…"] maps"#);
        assert_eq!(kind("the companies #17 it points at was refused"), "the companies #… it points at was refused");
        assert_eq!(kind("files #5/0 and #a-b_c too, #13>404."), "files #… and #… too, #….");
        assert_eq!(
            kind("cannot connect (error sending request for url (https://favicon.show/c1.example.com?a=1): dns)"),
            "cannot connect (error sending request for url (…): dns)"
        );
        assert_eq!(kind("at http://h/x and é \"ü\" ok"), "at … and é \"…\" ok");
        // Nothing to set aside, or nothing that closes: kept as it is.
        assert_eq!(kind("# heading, 3 rows, \"open"), "# heading, 3 rows, \"open");
        assert_eq!(kind(""), "");
    }

    fn lost_type(key: u32, label: &str) -> Problem {
        Problem::new("contacts", format!("type {label:?} is not kept"))
            .record(key.to_string())
            .field("email_jsonb")
            .value(format!(r#"[{{"email":"a{key}@x.io","type":"{label}"}}]"#))
            .hint("the rest of the value is migrated to person.emails")
    }

    #[test]
    fn problems_of_one_kind_make_one_group_counted_with_its_first_examples() {
        let mut problems: Vec<Problem> =
            (1..=50).map(|k| lost_type(k, if k % 2 == 0 { "Work" } else { "Home" })).collect();
        problems.insert(1, lost_type(1, "Other"));
        problems.push(
            Problem::new("contacts", "the companies #9 it points at was refused").record("51").field("companyId"),
        );
        problems.push(lost_type(52, "Work").field("phone_jsonb"));
        problems.push(
            Problem::new("companies", "the companies #3 it points at was refused").record("1").field("companyId"),
        );
        let groups = group_problems(&problems);
        let summary: Vec<(&str, Option<&str>, u64)> =
            groups.iter().map(|g| (g.object.as_str(), g.field.as_deref(), g.count)).collect();
        assert_eq!(
            summary,
            vec![
                ("contacts", Some("email_jsonb"), 51),
                ("contacts", Some("companyId"), 1),
                ("contacts", Some("phone_jsonb"), 1),
                ("companies", Some("companyId"), 1),
            ],
            "by count, then first seen; object and field part of the kind"
        );
        assert_eq!(groups[0].message, r#"type "…" is not kept"#);
        assert_eq!(groups[0].hint.as_deref(), Some("the rest of the value is migrated to person.emails"));
        let examples: Vec<&str> = groups[0].examples.iter().filter_map(|p| p.record.as_deref()).collect();
        assert_eq!(examples, vec!["1", "2", "3"], "examples of different records");
        assert_eq!(groups.iter().map(|g| g.count).sum::<u64>(), problems.len() as u64, "every problem counted once");
    }

    #[test]
    fn many_problems_show_as_kinds_and_every_one_goes_to_the_csv() {
        let mut r = report();
        let mut all: Vec<Problem> = (1..=(LISTED_PROBLEMS as u32 + 50)).map(|k| lost_type(k, "Work")).collect();
        all.push(Problem::new("companies", "a \"quoted\" line,\nwith a comma").record("7"));
        set_problems(&mut r, all.clone());
        let md = r.to_markdown();
        assert!(md.contains("of 2 kinds"), "{md}");
        assert!(
            md.contains(&format!(r#"| contacts | email_jsonb | type "…" is not kept | {} |"#, LISTED_PROBLEMS + 50)),
            "{md}"
        );
        assert!(md.contains(&format!("### The first {LISTED_PROBLEMS} one by one")), "{md}");
        let listed = md
            .lines()
            .filter(|l| l.starts_with("| contacts | ") && l.contains("| type \"Work\" is not kept |"))
            .count();
        assert_eq!(listed, LISTED_PROBLEMS, "the list stops at its cap");
        let html = r.to_html();
        assert!(html.contains(&format!("The first {LISTED_PROBLEMS} one by one")));
        assert!(html.contains("problems.csv"));
        let json = r.to_json();
        assert_eq!(json["problem_count"], LISTED_PROBLEMS as u64 + 51);
        assert_eq!(json["first_problems"].as_array().unwrap().len(), LISTED_PROBLEMS, "the first, not all");
        assert_eq!(json["problem_groups"][0]["count"], LISTED_PROBLEMS as u64 + 50);
        assert_eq!(json["problem_groups"][1]["examples"][0]["record"], "7");

        let dir = tempfile::tempdir().unwrap();
        let files = write(&r, dir.path(), &all);
        let mut csv = csv::Reader::from_path(&files.problems_csv).unwrap();
        assert_eq!(csv.headers().unwrap(), vec!["object", "record", "field", "value", "message", "hint"]);
        let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), LISTED_PROBLEMS + 51, "every problem, past the pages' cap");
        assert_eq!(&rows[0][1], "1");
        assert_eq!(&rows[0][3], r#"[{"email":"a1@x.io","type":"Work"}]"#);
        let last = rows.last().unwrap();
        assert_eq!(
            (&last[0], &last[1], &last[2], &last[4]),
            ("companies", "7", "", "a \"quoted\" line,\nwith a comma")
        );
    }

    #[test]
    fn a_few_problems_are_all_listed_one_by_one() {
        let md = report().to_markdown();
        assert!(md.contains("of 1 kind)"), "{md}");
        assert!(md.contains("### One by one"), "{md}");
    }

    #[test]
    fn the_json_written_is_the_json_reported_with_ok_totals_and_groups() {
        let r = report();
        let mut written = Vec::new();
        r.write_json(&mut written).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(written, r.to_json());
        assert_eq!(written["ok"], true);
        assert_eq!(written["totals"]["written"], 14);
        assert_eq!(written["problem_groups"][0]["count"], 1);
        assert_eq!(written["first_problems"][0]["record"], "7");
        assert_eq!(written["problem_count"], 1);
        assert_eq!(written["objects"][1]["object"], "contacts");
    }

    #[test]
    fn many_mismatches_are_listed_up_to_the_cap_and_counted_in_full() {
        let mut r = report();
        r.mismatches = (0..LISTED_MISMATCHES + 7)
            .map(|i| Mismatch {
                object: "contacts".into(),
                record: i.to_string(),
                field: "name".into(),
                expected: "Ada".into(),
                found: "Bob".into(),
            })
            .collect();
        let md = r.to_markdown();
        assert!(md.contains(&format!("## Mismatches ({})", LISTED_MISMATCHES + 7)), "{md}");
        assert!(md.contains(&format!("The first {LISTED_MISMATCHES}; every one is in `report.json`.")), "{md}");
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| contacts | ") && l.contains("| name |")).count(),
            LISTED_MISMATCHES
        );
        assert!(r.to_html().contains(&format!("The first {LISTED_MISMATCHES}; every one")));
        assert_eq!(r.to_json()["mismatches"].as_array().unwrap().len(), LISTED_MISMATCHES + 7);
    }
}
