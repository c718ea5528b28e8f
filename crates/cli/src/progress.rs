//! Progress bars on stderr when it is a terminal; silent otherwise or with --quiet.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rosterbridge_engine::{Observer, Stage};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Ui {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// Bytes read and size per source file: several files are read at once, so the bar
    /// shows their sum.
    files: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        Ui {
            quiet,
            bar: Mutex::new(None),
            files: Mutex::new(BTreeMap::new()),
        }
    }

    /// A status line on stderr (suppressed by --quiet).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            self.suspend(|| eprintln!("{msg}"));
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            // indicatif draws nothing when stderr is not a terminal.
            ProgressDrawTarget::stderr()
        }
    }

    /// A bar with a known length (e.g. bytes, rows).
    pub fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:<22} [{bar:30}] {percent:>3}% {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(msg.to_string());
        bar
    }

    fn spinner(&self, msg: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(msg.to_string());
        bar
    }

    fn suspend(&self, f: impl FnOnce()) {
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl Observer for Ui {
    fn stage(&self, stage: Stage) {
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(self.spinner(stage.label()));
        }
    }

    fn bytes(&self, file: &str, done: u64, total: u64) {
        let (sum_done, sum_total) = match self.files.lock() {
            Ok(mut files) => {
                files.insert(file.to_string(), (done, total));
                files
                    .values()
                    .fold((0, 0), |(d, t), (fd, ft)| (d + fd, t + ft.max(fd)))
            }
            Err(_) => return,
        };
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                if bar.length() != Some(sum_total) {
                    bar.set_length(sum_total);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg:<22} [{bar:30}] {bytes}/{total_bytes} eta {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                }
                bar.set_message("reading source");
                bar.set_position(sum_done);
            }
        }
    }

    fn sink(&self, message: &str, fraction: Option<f64>) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                match fraction {
                    Some(f) => {
                        bar.set_message(format!("{message} {:.0}%", (f * 100.0).clamp(0.0, 100.0)))
                    }
                    None => bar.set_message(message.to_string()),
                }
            }
        }
    }

    fn stage_done(&self, stage: Stage, elapsed: Duration) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
        if std::env::var_os("ROSTERBRIDGE_REPORT_PEAK_RSS").is_some() {
            eprintln!(
                "stage {:<20} {:>8.2}s  rss {} kB  peak {} kB",
                stage.label(),
                elapsed.as_secs_f64(),
                proc_status("VmRSS:"),
                proc_status("VmHWM:")
            );
        } else if !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("  {:<20} {:>8.2}s", stage.label(), elapsed.as_secs_f64());
        }
    }
}

/// A `/proc/self/status` memory field in kB ("?" where unavailable).
fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// With `ROSTERBRIDGE_REPORT_PEAK_RSS=1`, prints each stage's time and memory, and
/// `peak_rss_kb=N` on stderr at exit (the benchmark runs each measured step as its own
/// process and reads this).
pub fn report_peak_rss_if_asked() {
    if std::env::var_os("ROSTERBRIDGE_REPORT_PEAK_RSS").is_some() {
        eprintln!("peak_rss_kb={}", proc_status("VmHWM:"));
    }
}
