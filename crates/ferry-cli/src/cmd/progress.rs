//! Progress bars for long runs: one bar per object with its rate and time left. indicatif draws nothing when
//! stderr is not a terminal, so scripts and CI logs stay clean.

use std::collections::HashMap;

use ferry_core::run::{Progress, Tally};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bars on stderr, one per object.
pub struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    verb: &'static str,
}

impl Bars {
    /// Bars whose lines end with `verb` counts (`written`, `checked`, `deleted`).
    pub fn new(verb: &'static str) -> Bars {
        Bars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), bars: HashMap::new(), verb }
    }

    fn style(&self) -> ProgressStyle {
        ProgressStyle::with_template(&format!(
            "{{prefix:>28}} [{{bar:30}}] {{human_pos}}/{{human_len}} {verb} {{per_sec}} eta {{eta}} {{msg}}",
            verb = self.verb
        ))
        .expect("a valid progress template")
        .progress_chars("=> ")
    }
}

impl Progress for Bars {
    fn start(&mut self, object: &str, total: u64) {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(self.style());
        bar.set_prefix(object.to_string());
        self.bars.insert(object.to_string(), bar);
    }

    fn advance(&mut self, object: &str, tally: &Tally) {
        if let Some(bar) = self.bars.get(object) {
            bar.set_position(tally.done);
            if tally.rejected + tally.skipped > 0 {
                bar.set_message(format!("({} rejected, {} skipped)", tally.rejected, tally.skipped));
            }
        }
    }

    fn finish(&mut self, object: &str, tally: &Tally) {
        if let Some(bar) = self.bars.get(object) {
            bar.set_position(tally.done);
            bar.finish();
        }
    }
}
