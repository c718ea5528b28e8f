//! Times one generation and prints the summary and file sizes.
//!
//! cargo run --release -p rosterbridge-generate --example generate -- [students] [seed] [change_pct] [out_dir]

use std::time::Instant;

use rosterbridge_generate::{write_oneroster_csv, DistrictSpec};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let students = args
        .get(1)
        .map_or(200_000, |s| s.parse().expect("students"));
    let seed = args.get(2).map_or(1, |s| s.parse().expect("seed"));
    let change_pct = args.get(3).map_or(0.0, |s| s.parse().expect("change_pct"));
    let dir = match args.get(4) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!(
            "rosterbridge-generate-{students}-{seed}-{change_pct}"
        )),
    };
    let spec = DistrictSpec {
        students,
        seed,
        change_pct,
    };
    let started = Instant::now();
    let sum = write_oneroster_csv(&spec, &dir, &|_, _, _| {}).expect("generate");
    let elapsed = started.elapsed();
    println!(
        "{students} students, seed {seed}, change {change_pct}% -> {}",
        dir.display()
    );
    println!("time: {:.2?}", elapsed);
    println!(
        "orgs {} sessions {} courses {} classes {} users {} (students {} teachers {} aides {} parents {}) enrollments {}",
        sum.orgs, sum.sessions, sum.courses, sum.classes, sum.users, sum.students, sum.teachers, sum.aides, sum.parents, sum.enrollments
    );
    println!(
        "per student: users {:.2}, enrollments {:.2}",
        sum.users as f64 / sum.students as f64,
        sum.enrollments as f64 / sum.students as f64
    );
    println!("changes: {:?}", sum.changes);
    let mut total = 0;
    for f in &sum.files {
        println!("  {:<22} {:>10} rows {:>12} bytes", f.name, f.rows, f.bytes);
        total += f.bytes;
    }
    println!("  total {:.1} MB", total as f64 / 1e6);
}
