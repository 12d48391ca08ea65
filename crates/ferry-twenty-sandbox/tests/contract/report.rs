//! The outcome of a replay and its report, with the accepted deviations.

use crate::compare::Mismatch;

/// The result of replaying one exchange.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Exchange number ("25").
    pub id: String,
    /// File stem ("25-company-create-full").
    pub label: String,
    /// Recorded request line, for the report.
    pub request_line: String,
    /// Every difference found (empty: the exchange passes).
    pub mismatches: Vec<Mismatch>,
}

/// An accepted difference, printed by every run (never silently skipped).
#[derive(Debug, Clone, Copy)]
pub struct KnownDeviation {
    /// Exchange number ("52").
    pub exchange: &'static str,
    /// Glob (`*` = any text) over the mismatch path.
    pub path: &'static str,
    /// Why the sandbox differs here.
    pub reason: &'static str,
}

impl KnownDeviation {
    fn covers(&self, outcome_id: &str, m: &Mismatch) -> bool {
        self.exchange == outcome_id && glob(self.path, &m.path)
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// The printed report and the verdict of a replay.
pub struct Report {
    /// Human-readable, one block per exchange that is not a plain pass.
    pub text: String,
    /// Exchanges with differences not covered by a known deviation.
    pub failing: Vec<String>,
    /// Known deviations that matched nothing (the sandbox was fixed: remove them).
    pub stale: Vec<String>,
}

/// Lines of diff shown per exchange.
const SHOWN: usize = 4;

/// Builds the report of a replay, applying `known` deviations.
pub fn report(outcomes: &[Outcome], known: &[KnownDeviation]) -> Report {
    let mut text = String::new();
    let mut failing = Vec::new();
    let (mut pass, mut tolerated) = (0, 0);
    let mut used = vec![false; known.len()];
    for o in outcomes {
        let (accepted, real): (Vec<&Mismatch>, Vec<&Mismatch>) = o.mismatches.iter().partition(|m| {
            let hit = known.iter().position(|k| k.covers(&o.id, m));
            if let Some(i) = hit {
                used[i] = true;
            }
            hit.is_some()
        });
        if real.is_empty() && accepted.is_empty() {
            pass += 1;
            continue;
        }
        if real.is_empty() {
            tolerated += 1;
            text.push_str(&format!("KNOWN {}  {}\n", o.label, o.request_line));
            for m in accepted.iter().take(SHOWN) {
                let reason = known.iter().find(|k| k.covers(&o.id, m)).map_or("", |k| k.reason);
                text.push_str(&format!("    {}: recorded {} | got {}  [{reason}]\n", m.path, m.recorded, m.got));
            }
            continue;
        }
        failing.push(o.label.clone());
        text.push_str(&format!("FAIL  {}  {}  ({} differences)\n", o.label, o.request_line, real.len()));
        for m in real.iter().take(SHOWN) {
            text.push_str(&format!("    {}: recorded {} | got {}\n", m.path, m.recorded, m.got));
        }
        if real.len() > SHOWN {
            text.push_str(&format!("    … and {} more\n", real.len() - SHOWN));
        }
    }
    let ran: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    let stale: Vec<String> = known
        .iter()
        .zip(&used)
        .filter(|(k, used)| !**used && ran.contains(&k.exchange))
        .map(|(k, _)| format!("{} {} ({})", k.exchange, k.path, k.reason))
        .collect();
    let summary = format!(
        "contract replay: {} exchanges, {pass} pass, {tolerated} pass with known deviations, {} fail\n",
        outcomes.len(),
        failing.len()
    );
    Report { text: summary + &text, failing, stale }
}

#[cfg(test)]
mod tests {
    #[test]
    fn glob_matches_prefixes_and_wildcards() {
        assert!(super::glob("data.*.searchVector", "data.createCompany.searchVector"));
        assert!(super::glob("<status>", "<status>"));
        assert!(!super::glob("data.*.name", "data.createCompany.searchVector"));
        assert!(super::glob("*", "anything"));
    }
}
