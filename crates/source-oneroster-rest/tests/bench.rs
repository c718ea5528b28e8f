//! Pull-throughput benchmark: a generated district served by the sandbox provider and pulled
//! over OneRoster 1.1 REST (OAuth 1.0a signed, 10,000 records a page). Ignored by default;
//! run in release and read the printed figures:
//!
//! ```text
//! ROSTERBRIDGE_BENCH_STUDENTS=200000 cargo test --release -p rosterbridge-source-oneroster-rest \
//!     --test bench -- --ignored --nocapture
//! ```
//!
//! Provider and client share the process (and the machine's cores), so the figure is for
//! both ends together: a real provider's own time is not in it, but its serving cost is.

use rosterbridge_model::roster::OneRosterVersion;
use rosterbridge_sandbox_roster::{ProviderConfig, RunningProvider};
use rosterbridge_source_oneroster_rest::{read, NoProgress, RestAuth, RestOptions, Secret, Url};
use std::time::Instant;

/// Peak resident memory of this process so far (Linux), in MB.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb / 1024)
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn pull_a_district_over_oneroster_rest() {
    let students: u32 = std::env::var("ROSTERBRIDGE_BENCH_STUDENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let t = Instant::now();
    let roster = rosterbridge_sandbox_roster::generate_roster(students, 42).unwrap();
    let counts = roster.counts();
    println!(
        "generate + load {students} students: {:.2} s ({} users, {} enrollments, {} classes)",
        t.elapsed().as_secs_f64(),
        counts.users,
        counts.enrollments,
        counts.classes
    );
    let provider = RunningProvider::start(roster, ProviderConfig::default()).unwrap();
    let before = peak_rss_mb();

    let auth = RestAuth::OAuth1 {
        consumer_key: "sandbox-key".into(),
        consumer_secret: Secret::new("sandbox-secret"),
        secret_source: "bench".into(),
    };
    let mut opts = RestOptions::new(
        Url::parse(&provider.v1p1_url()).unwrap(),
        OneRosterVersion::V1_1,
        auth,
    );
    opts.page_size = 10_000;
    let requests = provider.state.requests();
    let t = Instant::now();
    let got = read(&opts, &[], &NoProgress).unwrap_or_else(|e| panic!("{e}"));
    let secs = t.elapsed().as_secs_f64();
    let records: usize = got.collections.iter().map(|c| c.records).sum();
    assert_eq!(
        got.read.roster.counts(),
        counts,
        "the pull must bring every record"
    );
    println!(
        "pull: {secs:.2} s, {records} records ({:.0}/s), {} requests, {} diagnostics",
        records as f64 / secs,
        provider.state.requests() - requests,
        got.read.diagnostics.len()
    );
    for c in &got.collections {
        println!(
            "  {:<18} {:>9} records {:>4} pages",
            c.collection, c.records, c.pages
        );
    }
    println!(
        "peak RSS (provider + client, one process): before pull {:?} MB, after {:?} MB",
        before,
        peak_rss_mb()
    );
}
