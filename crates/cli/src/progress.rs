//! Progress on a terminal (indicatif), drawn to standard error and only when it is a terminal:
//! piped or redirected runs print nothing extra.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target() -> ProgressDrawTarget {
    // indicatif hides its stderr target when stderr is not a terminal.
    ProgressDrawTarget::stderr()
}

/// A bar over `len` bytes.
pub fn bytes(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}

/// A spinner with elapsed time, for a step whose length is unknown.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Progress of a query's pull-through fetches: a bar over the planned fetches (on a
/// terminal), and a note on standard error when a table answers from stored rows only.
pub struct FetchProgress {
    bar: ProgressBar,
}

impl Default for FetchProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl FetchProgress {
    /// A bar with nothing planned yet (hidden until a fetch is planned).
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("fetching {msg} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        FetchProgress { bar }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl cacheness::pull::FetchObserver for FetchProgress {
    fn planned(&self, table: &str, fetches: &[cacheness::pull::FetchRequest<String>]) {
        if fetches.is_empty() {
            return;
        }
        if self.bar.is_hidden() {
            self.bar.set_draw_target(target());
        }
        self.bar.inc_length(fetches.len() as u64);
        self.bar.set_message(table.to_string());
    }

    fn stored(&self, table: &str, fetch: &cacheness::pull::FetchRequest<String>, rows: usize) {
        self.bar
            .set_message(format!("{table}: {} ({rows} rows)", fetch.key));
        self.bar.inc(1);
    }

    fn cache_only(&self, table: &str, reason: &str) {
        self.bar.suspend(|| {
            eprintln!("note: {table} answered from stored rows only: {reason}");
        });
    }
}
