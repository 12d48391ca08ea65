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
    /// Rows refused or skipped, values not carried over, relations left out — each with object, record, field,
    /// value and what to do.
    #[serde(default)]
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub lossy: Vec<Lossy>,
    /// Source items that do not migrate (automations, views, functions…).
    #[serde(default)]
    pub not_migrated: Vec<NotMigrated>,
    #[serde(default)]
    pub throughput: Vec<ThroughputPoint>,
}

/// Where [`Report::write`] put the three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub html: PathBuf,
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
        let mut v = serde_json::to_value(self).expect("a report is always representable as JSON");
        if let Some(map) = v.as_object_mut() {
            map.insert("ok".into(), serde_json::Value::Bool(self.ok()));
            let totals = self.totals();
            map.insert("totals".into(), serde_json::to_value(totals).expect("plain numbers"));
        }
        v
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
            r: self,
            ok: self.ok(),
            rows,
            legend: COLOURS.iter().map(|(name, colour)| Legend { name, colour }).collect(),
            chart: self.outcome_chart(),
            timeline: (!self.throughput.is_empty()).then(|| self.throughput_chart()),
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

    /// Writes `report.json`, `report.md` and `report.html` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<ReportFiles> {
        std::fs::create_dir_all(dir)?;
        let files = ReportFiles {
            json: dir.join("report.json"),
            markdown: dir.join("report.md"),
            html: dir.join("report.html"),
        };
        let json = serde_json::to_string_pretty(&self.to_json()).expect("JSON values always print");
        std::fs::write(&files.json, json + "\n")?;
        std::fs::write(&files.markdown, self.to_markdown())?;
        std::fs::write(&files.html, self.to_html())?;
        Ok(files)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What the templates see.
#[derive(Serialize)]
struct ReportView<'a> {
    r: &'a Report,
    ok: bool,
    rows: Vec<RowView>,
    legend: Vec<Legend>,
    chart: Chart,
    timeline: Option<Timeline>,
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
        Report {
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
            problems: vec![
                Problem::new("companies", "A duplicate entry was detected")
                    .record("7")
                    .field("website")
                    .value("<script>acme.com|x</script>"),
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
        }
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
    fn write_puts_three_files_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let files = report().write(&dir.path().join("report")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
        assert_eq!(json["objects"].as_array().unwrap().len(), 2);
        assert!(std::fs::read_to_string(&files.markdown).unwrap().starts_with("# Migration report"));
        assert!(std::fs::read_to_string(&files.html).unwrap().contains("</html>"));
    }
}
