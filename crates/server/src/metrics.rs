//! Counters for Prometheus (`GET /metrics`, text format 0.0.4): runs by outcome, rows by kind
//! and action, Canvas requests and throttled answers, run duration. Kept in memory: they
//! start at zero with the process, as Prometheus counters may.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds (seconds) of the run-duration histogram.
const BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0];

#[derive(Default)]
struct Counts {
    runs: BTreeMap<String, u64>,
    rows: BTreeMap<(String, String), u64>,
    requests: u64,
    throttled: u64,
    buckets: [u64; BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
}

#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

impl Metrics {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One finished run: its outcome, the rows its plan held per kind and action, what it
    /// asked of Canvas, and how long it took.
    pub fn record_run(
        &self,
        outcome: &str,
        rows: &[(String, String, u64)],
        requests: u64,
        throttled: u64,
        seconds: f64,
    ) {
        let mut c = self.counts();
        *c.runs.entry(outcome.to_string()).or_default() += 1;
        for (kind, action, n) in rows {
            *c.rows.entry((kind.clone(), action.clone())).or_default() += n;
        }
        c.requests += requests;
        c.throttled += throttled;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                c.buckets[i] += 1;
            }
        }
        c.duration_sum += seconds;
        c.duration_count += 1;
    }

    pub fn render(&self) -> String {
        let c = self.counts();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP rosterbridge_runs_total Runs finished, by outcome.\n# TYPE rosterbridge_runs_total counter");
        for (outcome, n) in &c.runs {
            let _ = writeln!(out, "rosterbridge_runs_total{{outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP rosterbridge_rows_total Changes in applied plans, by kind and action.\n# TYPE rosterbridge_rows_total counter");
        for ((kind, action), n) in &c.rows {
            let _ = writeln!(
                out,
                "rosterbridge_rows_total{{kind=\"{kind}\",action=\"{action}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP rosterbridge_canvas_requests_total Requests sent to Canvas by runs.\n# TYPE rosterbridge_canvas_requests_total counter");
        let _ = writeln!(out, "rosterbridge_canvas_requests_total {}", c.requests);
        let _ = writeln!(out, "# HELP rosterbridge_canvas_throttled_total Canvas answers that were throttled (429, or 403 Rate Limit Exceeded).\n# TYPE rosterbridge_canvas_throttled_total counter");
        let _ = writeln!(out, "rosterbridge_canvas_throttled_total {}", c.throttled);
        let _ = writeln!(out, "# HELP rosterbridge_run_duration_seconds How long runs took.\n# TYPE rosterbridge_run_duration_seconds histogram");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "rosterbridge_run_duration_seconds_bucket{{le=\"{le}\"}} {}",
                c.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "rosterbridge_run_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            c.duration_count
        );
        let _ = writeln!(
            out,
            "rosterbridge_run_duration_seconds_sum {}",
            c.duration_sum
        );
        let _ = writeln!(
            out,
            "rosterbridge_run_duration_seconds_count {}",
            c.duration_count
        );
        out
    }
}
