//! The stored rows the safety checks read for removed objects (`ops::load_context`),
//! against a real SQLite state file written by a real apply of a generated district.

use rosterbridge_config::Config;
use rosterbridge_engine::{apply, open_store, ops, prepare, ApplyOptions, Prepared, Quiet};
use rosterbridge_model::kind::Kind;
use rosterbridge_sink::folder::FolderSink;
use rosterbridge_state::StateStore;
use std::path::Path;

fn config(dir: &Path) -> Config {
    let path = dir.join("sync.toml");
    std::fs::write(
        &path,
        "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:1\"\naccount_id = 1\n\n[safety]\nmax_removal_percent = 100\n",
    )
    .unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{:?}", e.diagnostics()))
}

/// Rewrites a CSV file of the district without the rows `drop` picks (the header stays).
fn drop_rows(file: &Path, drop: impl Fn(&[&str]) -> bool) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        // The generated ids and codes hold no commas; titles after them may be quoted.
        let cells: Vec<&str> = line.split(',').collect();
        if !drop(&cells) {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(file, out).unwrap();
}

#[test]
fn stored_rows_are_read_only_for_removed_objects_and_the_terms_their_courses_name() {
    let dir = tempfile::tempdir().unwrap();
    let district = dir.path().join("district");
    rosterbridge_generate::write_oneroster_csv(
        &rosterbridge_generate::DistrictSpec::base(60, 5),
        &district,
        &|_, _, _| {},
    )
    .unwrap();
    let config = config(dir.path());
    let state = dir.path().join("state.db");
    {
        let mut store = open_store(&state).unwrap();
        let prepared = prepare(&config, &store, &Quiet).unwrap_or_else(|e| panic!("{e}"));
        let mut sink = FolderSink {
            out_dir: dir.path().join("out"),
        };
        apply(
            &config,
            &mut store,
            &prepared,
            &mut sink,
            ApplyOptions::default(),
            &Quiet,
            "apply",
        )
        .unwrap();
    }

    // One student enrollment leaves a class that stays; one class leaves with its
    // enrollments (its course, one per class, goes with it).
    let enrollments = std::fs::read_to_string(district.join("enrollments.csv")).unwrap();
    let rows: Vec<Vec<&str>> = enrollments
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let gone_enrollment = rows.iter().find(|r| r[6] == "student").unwrap()[0].to_string();
    let kept_class = rows.iter().find(|r| r[0] == gone_enrollment).unwrap()[3].to_string();
    let gone_class = rows.iter().rev().find(|r| r[3] != kept_class).unwrap()[3].to_string();
    drop_rows(&district.join("enrollments.csv"), |r| {
        r[0] == gone_enrollment || r[3] == gone_class
    });
    drop_rows(&district.join("classes.csv"), |r| r[0] == gone_class);

    let store = open_store(&state).unwrap();
    let Prepared { plan, .. } = prepare(&config, &store, &Quiet).unwrap_or_else(|e| panic!("{e}"));
    // What the planner reads: every changed or gone object's stored row.
    let snapshot = store.snapshot().unwrap();
    let diff = rosterbridge_plan::diff(&plan.desired, &snapshot);
    let prior = store.load_records(&diff.records_needed()).unwrap();
    assert!(prior
        .iter()
        .any(|r| r.kind == Kind::Sections && r.key == gone_class));
    assert!(prior
        .iter()
        .any(|r| r.kind == Kind::Enrollments && r.row.get("section_id") == kept_class));
    let context = ops::load_context(&store, &snapshot, &prior, &plan.desired).unwrap();

    // The kept class is still desired: its desired rows place the removed enrollment, so
    // neither its stored section nor its course is read; the term its course names is.
    let kept_section = plan
        .desired
        .sections
        .iter()
        .find(|s| s.sis_id.as_str() == kept_class)
        .unwrap();
    let kept_course = plan
        .desired
        .courses
        .iter()
        .find(|c| c.sis_id == kept_section.course)
        .unwrap();
    let term = kept_course.term.as_ref().unwrap().to_string();
    let has = |kind: Kind, key: &str| context.rows.contains_key(&(kind, key.to_string()));
    assert!(!has(Kind::Sections, &kept_class));
    assert!(!has(Kind::Courses, kept_course.sis_id.as_str()));
    assert!(has(Kind::Terms, &term), "{:?}", context.rows.keys());
    // The removed class's course is gone from the source: its stored row is read.
    assert!(has(Kind::Courses, &gone_class), "{:?}", context.rows.keys());
    // And no stored row of anything still desired is read at all.
    for (kind, key) in context.rows.keys() {
        let desired = match kind {
            Kind::Sections => plan
                .desired
                .sections
                .iter()
                .any(|s| s.sis_id.as_str() == key),
            Kind::Courses => plan
                .desired
                .courses
                .iter()
                .any(|c| c.sis_id.as_str() == key),
            _ => false,
        };
        assert!(
            !desired,
            "read the stored row of {kind} {key}, still desired"
        );
    }
    assert!(has(Kind::Sections, &gone_class));
}
