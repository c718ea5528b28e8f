//! Timing for the benchmark sizes. Run with:
//! cargo test --release -p rosterbridge-generate --test bench -- --ignored --nocapture

mod common;

use std::time::Instant;

use common::generate;

fn timed(students: u32) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let s = generate(dir.path(), students, 1, 0.0);
    let elapsed = started.elapsed();
    println!(
        "{students} students: {elapsed:.2?}; users {} enrollments {} classes {}",
        s.users, s.enrollments, s.classes
    );
    let mut total = 0;
    for f in &s.files {
        println!("  {:<22} {:>10} rows {:>12} bytes", f.name, f.rows, f.bytes);
        total += f.bytes;
    }
    println!("  total {:.1} MB", total as f64 / 1e6);
}

#[test]
#[ignore = "timing; run in --release"]
fn time_200k_students() {
    timed(200_000);
}

#[test]
#[ignore = "timing; run in --release, ~1 GB of output"]
fn time_1m_students() {
    timed(1_000_000);
}
