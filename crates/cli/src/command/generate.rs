//! `rosterbridge generate`: a synthetic district as OneRoster 1.1 CSV.

use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_generate::DistrictSpec;
use std::path::PathBuf;

/// Write a realistic, deterministic synthetic district as a OneRoster 1.1 bulk CSV folder:
/// schools, a school year with two semesters, courses, classes, teachers, students,
/// parents linked through agentSourcedIds, and enrollments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of students (users come to about 2.5x this, enrollments about 7.5x).
    #[arg(long, value_name = "N")]
    pub students: u32,
    /// Output folder (created if needed; existing files are overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed: the same seed gives the same district, byte for byte.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Make the same district with about PCT% of rows changed (renames, new and withdrawn
    /// students, dropped enrollments).
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    pub change: f64,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    if !(0.0..=100.0).contains(&args.change) {
        anyhow::bail!("--change must be between 0 and 100 (got {})", args.change);
    }
    let spec = DistrictSpec {
        students: args.students,
        seed: args.seed,
        change_pct: args.change,
    };
    let bar = ui.bar(0, "generating");
    let summary =
        rosterbridge_generate::write_oneroster_csv(&spec, &args.out, &|phase, done, total| {
            if bar.length() != Some(total) {
                bar.set_length(total);
            }
            bar.set_message(format!("{phase:?}"));
            bar.set_position(done);
        })
        .with_context(|| format!("generating a district into {}", args.out.display()))?;
    bar.finish_and_clear();
    println!(
        "wrote {}: {} orgs, {} sessions, {} courses, {} classes, {} users ({} students, {} teachers, {} parents), {} enrollments",
        args.out.display(),
        summary.orgs,
        summary.sessions,
        summary.courses,
        summary.classes,
        summary.users,
        summary.students,
        summary.teachers,
        summary.parents,
        summary.enrollments
    );
    if args.change > 0.0 {
        let c = &summary.changes;
        println!(
            "changes: {} renamed, {} students added, {} withdrawn, {} enrollments dropped",
            c.renamed, c.added_students, c.withdrawn_students, c.dropped_enrollments
        );
    }
    Ok(Code::Ok)
}
