//! End to end through the real binary, real files and a real SQLite state database.

mod common;
use common::*;

#[test]
fn plan_json_summarises_each_kind_by_canvas_file_name() {
    let f = Fixture::new();
    let run = f.rb(&["plan", "--json"]);
    run.ok();
    let plan = run.json();
    for kind in [
        "accounts",
        "terms",
        "users",
        "courses",
        "sections",
        "enrollments",
        "user_observers",
    ] {
        for action in ["create", "update", "reactivate", "deactivate", "delete"] {
            count(&plan, kind, action);
        }
    }
    assert_eq!(
        count(&plan, "accounts", "create"),
        1,
        "one school; the district is the root account"
    );
    assert_eq!(count(&plan, "terms", "create"), 1);
    assert_eq!(count(&plan, "users", "create"), 5);
    assert_eq!(count(&plan, "courses", "create"), 2);
    assert_eq!(count(&plan, "sections", "create"), 2);
    assert_eq!(count(&plan, "enrollments", "create"), 5);
    assert_eq!(count(&plan, "user_observers", "create"), 2);
    assert!(!f.state_exists(), "plan never creates the state database");
}

#[test]
fn plan_text_is_a_readable_table_with_the_first_changes() {
    let f = Fixture::new();
    let run = f.rb(&["plan"]);
    run.ok();
    assert!(run.stdout.contains("kind"), "{}", run.stdout);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("users") && l.split_whitespace().nth(1) == Some("5")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("create     007"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "create     cls-001 / 007 / student  (new in the source)  [enrollments.csv:3]"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn plan_out_writes_the_delta_as_byte_identical_canvas_csv() {
    let f = Fixture::new();
    f.rb(&["plan", "--out", "a.zip"]).ok();
    f.rb(&["plan", "--out", "b.zip"]).ok();
    let a = std::fs::read(f.path("a.zip")).unwrap();
    assert_eq!(a, std::fs::read(f.path("b.zip")).unwrap());
    f.rb(&["plan", "--out", "csv"]).ok();
    let users = std::fs::read_to_string(f.path("csv/users.csv")).unwrap();
    assert!(
        users.starts_with("user_id,integration_id,login_id,"),
        "{users}"
    );
    assert!(
        users.contains("009,,milhouse,,Milhouse,\"Van Houten, Jr.\",,,,mvh@springfield.edu,active"),
        "{users}"
    );
    let observers = std::fs::read_to_string(f.path("csv/user_observers.csv")).unwrap();
    assert_eq!(
        observers,
        "observer_id,student_id,status\r\np-1,007,active\r\np-1,008,active\r\n"
    );
    let enrollments = std::fs::read_to_string(f.path("csv/enrollments.csv")).unwrap();
    assert!(
        enrollments.contains("cls-001,t-1,teacher,,active,,"),
        "{enrollments}"
    );
}

#[test]
fn apply_records_state_and_planning_again_shows_no_changes() {
    let f = Fixture::new();
    let run = f.rb(&["apply", "--sink", "folder", "--out", "outbox"]);
    run.ok();
    assert!(
        run.stdout
            .contains("run 1: 18 change(s) applied through the folder sink, 0 rejected"),
        "{}",
        run.stdout
    );
    assert!(f.path("outbox/rosterbridge-run-1.zip").exists());
    assert_eq!(f.state_counts(), (18, 1));

    let plan = f.rb(&["plan", "--json"]);
    plan.ok();
    assert_eq!(plan.json()["changes"].as_array().unwrap().len(), 0);
    assert_eq!(count(&plan.json(), "users", "unchanged"), 5);

    let again = f.rb(&["apply", "--sink", "folder", "--out", "outbox"]);
    again.ok();
    assert!(
        again.stdout.contains("nothing to apply"),
        "{}",
        again.stdout
    );
    assert_eq!(f.state_counts(), (18, 2));
}

#[test]
fn changes_in_the_source_plan_only_the_delta() {
    let f = Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox"]).ok();
    // Milhouse leaves (user and enrollment gone), Lisa is renamed.
    let users: String = USERS
        .lines()
        .filter(|l| !l.starts_with("009,"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replace("Lisa,Simpson", "Lisa,Bouvier");
    let enrollments: String = ENROLLMENTS
        .lines()
        .filter(|l| !l.contains(",009,"))
        .map(|l| format!("{l}\n"))
        .collect();
    f.district(&[("users.csv", &users), ("enrollments.csv", &enrollments)]);
    // 1 of 5 users is 20%: allow it for this test.
    f.write(
        "rosterbridge.toml",
        &format!("{CONFIG}\n[safety]\nmax_removal_percent = 50\n"),
    );
    let plan = f.rb(&["plan", "--json"]);
    plan.ok();
    let p = plan.json();
    assert_eq!(count(&p, "users", "update"), 1);
    assert_eq!(count(&p, "users", "deactivate"), 1);
    assert_eq!(count(&p, "enrollments", "delete"), 1);
    assert_eq!(p["changes"].as_array().unwrap().len(), 3);
    let update = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(update["fields"][0]["field"], "last_name");
    assert_eq!(update["fields"][0]["old"], "Simpson");
    assert_eq!(update["fields"][0]["new"], "Bouvier");
    let suspended = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "deactivate")
        .unwrap();
    assert_eq!(suspended["row"]["status"], "suspended");
}

#[test]
fn a_plan_that_removes_too_much_is_held_and_apply_refuses_without_the_override() {
    let f = Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox"]).ok();
    let header = USERS.lines().next().unwrap();
    let enr_header = ENROLLMENTS.lines().next().unwrap();
    // An export that came out empty.
    f.district(&[
        ("users.csv", &format!("{header}\n")),
        ("enrollments.csv", &format!("{enr_header}\n")),
    ]);
    let plan = f.rb(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.stdout);
    assert!(plan.stdout.contains("HELD"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("users: 5 of 5 existing (100.0%)"),
        "{}",
        plan.stdout
    );

    let before = f.state_counts();
    let apply = f.rb(&["apply", "--sink", "folder", "--out", "outbox"]);
    assert_eq!(apply.code, 2, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("held by the safety threshold"),
        "{}",
        apply.stderr
    );
    let after = f.state_counts();
    assert_eq!(after.0, before.0, "no object changed");
    assert!(!f.path("outbox/rosterbridge-run-2.zip").exists());

    let forced = f.rb(&[
        "apply",
        "--sink",
        "folder",
        "--out",
        "outbox",
        "--allow-removals",
    ]);
    forced.ok();
    assert!(forced.stdout.contains("applied"), "{}", forced.stdout);
}

#[test]
fn a_zipped_package_gives_the_same_plan_as_the_folder() {
    let f = Fixture::new();
    let folder = f.rb(&["plan", "--json"]).json();
    let zip_path = f.path("district.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for name in [
        "manifest.csv",
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "users.csv",
        "enrollments.csv",
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(
            &mut zip,
            &std::fs::read(f.path(&format!("district/{name}"))).unwrap(),
        )
        .unwrap();
    }
    zip.finish().unwrap();
    f.write(
        "rosterbridge.toml",
        &CONFIG.replace("path = \"district\"", "path = \"district.zip\""),
    );
    let zipped = f.rb(&["plan", "--json"]).json();
    assert_eq!(folder["changes"], zipped["changes"]);
}

#[test]
fn validate_reports_counts_and_no_problems_for_a_clean_source() {
    let f = Fixture::new();
    let run = f.rb(&["validate"]);
    run.ok();
    assert!(
        run.stdout.contains("5 users, 5 enrollments"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("0 error(s)"), "{}", run.stdout);
}

#[test]
fn no_progress_bars_are_drawn_when_stderr_is_not_a_terminal() {
    let f = Fixture::new();
    let run = f.rb(&["plan"]);
    run.ok();
    assert!(
        !run.stderr.contains('\u{1b}'),
        "escape codes on a non-terminal: {:?}",
        run.stderr
    );
}

#[test]
fn help_explains_commands_and_exit_codes() {
    let run = run_in(std::path::Path::new("."), &["--help".to_string()]);
    run.ok();
    for word in [
        "validate",
        "plan",
        "apply",
        "generate",
        "bench",
        "Exit codes",
        "held",
    ] {
        assert!(
            run.stdout.contains(word),
            "{word} missing from --help:\n{}",
            run.stdout
        );
    }
}

#[test]
fn generate_writes_a_district_that_plans_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(
        dir.path(),
        &["generate", "--students", "300", "--out", "district"].map(String::from),
    );
    run.ok();
    std::fs::write(dir.path().join("rosterbridge.toml"), CONFIG).unwrap();
    let plan = run_in(
        dir.path(),
        &["plan", "--json", "--config", "rosterbridge.toml"].map(String::from),
    );
    plan.ok();
    let p = plan.json();
    assert_eq!(
        p["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .count(),
        0,
        "{}",
        p["diagnostics"]
    );
    assert!(count(&p, "users", "create") > 600);
    assert!(count(&p, "enrollments", "create") > 1500);
    assert!(count(&p, "user_observers", "create") > 300);
}

#[test]
fn delta_files_are_applied_on_top_of_the_previous_exchange() {
    let f = Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox"]).ok();
    // A delta exchange: users and enrollments are deltas, everything else absent.
    let manifest = MANIFEST
        .replace("file.users,bulk", "file.users,delta")
        .replace("file.enrollments,bulk", "file.enrollments,delta")
        .replace("file.orgs,bulk", "file.orgs,absent")
        .replace("file.academicSessions,bulk", "file.academicSessions,absent")
        .replace("file.courses,bulk", "file.courses,absent")
        .replace("file.classes,bulk", "file.classes,absent");
    let header = USERS.lines().next().unwrap();
    let users = format!(
        "{header}\n008,active,2026-11-20T10:00:00.000Z,true,sch-1,student,lisa,,Lisa,Bouvier,,0008,lisa@springfield.edu,,,p-1,09,\n\
         009,tobedeleted,2026-11-20T10:00:00.000Z,true,sch-1,student,milhouse,,Milhouse,\"Van Houten, Jr.\",,0009,mvh@springfield.edu,,,,10,\n"
    );
    let enr_header = ENROLLMENTS.lines().next().unwrap();
    let enrollments = format!("{enr_header}\ne-5,tobedeleted,2026-11-20T10:00:00.000Z,cls-002,sch-1,009,student,false,,\n");
    for name in [
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
    ] {
        std::fs::remove_file(f.path(&format!("district/{name}"))).unwrap();
    }
    f.district(&[
        ("manifest.csv", &manifest),
        ("users.csv", &users),
        ("enrollments.csv", &enrollments),
    ]);
    f.write(
        "rosterbridge.toml",
        &format!("{CONFIG}\n[safety]\nmax_removal_percent = 50\n"),
    );

    let plan = f.rb(&["plan", "--json"]);
    plan.ok();
    let p = plan.json();
    assert_eq!(count(&p, "users", "update"), 1, "{}", p["changes"]);
    assert_eq!(count(&p, "users", "deactivate"), 1);
    assert_eq!(count(&p, "enrollments", "delete"), 1);
    assert_eq!(
        p["changes"].as_array().unwrap().len(),
        3,
        "absent files change nothing: {}",
        p["changes"]
    );
    assert_eq!(count(&p, "courses", "unchanged"), 2);

    f.rb(&["apply", "--sink", "folder", "--out", "outbox"]).ok();
    // The merged exchange is now the base: planning the same delta again changes nothing.
    let again = f.rb(&["plan", "--json"]);
    again.ok();
    assert_eq!(
        again.json()["changes"].as_array().unwrap().len(),
        0,
        "{}",
        again.json()["changes"]
    );
}

#[test]
fn bench_times_every_step_and_repeats_the_plans() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let run = run_in(
        dir.path(),
        &[
            "bench",
            "--students",
            "200",
            "--repeat",
            "2",
            "--dir",
            work.to_str().unwrap(),
        ]
        .map(String::from),
    );
    run.ok();
    let row = |name: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name:?} in:\n{}", run.stdout))
            .split('|')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    for (name, runs) in [
        ("generate 200 students", "1"),
        ("full first plan", "2"),
        ("apply (folder sink, records state)", "1"),
        ("no-change plan", "2"),
        ("1%-change plan", "2"),
    ] {
        let cells = row(name);
        assert_eq!(cells[1], runs, "{name}: {cells:?}");
        let best: f64 = cells[2].parse().unwrap();
        let median: f64 = cells[3].parse().unwrap();
        assert!(best > 0.0 && best <= median, "{name}: {cells:?}");
        let rss: f64 = cells[4].parse().unwrap();
        assert!(rss > 1.0, "{name}: peak RSS {rss}");
    }
    // The apply recorded the district: the no-change plan really planned against it.
    assert!(work.join("state.db").is_file());
}
