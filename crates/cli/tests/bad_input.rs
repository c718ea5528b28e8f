//! Bad input gets a clear error naming file, line, column and value, and changes no state.

mod common;
use common::*;

/// Applies the clean fixture, breaks it with `breakage`, and checks that `apply` fails
/// with a message containing every `expected` fragment and leaves the state as it was.
fn fails_cleanly(breakage: impl Fn(&Fixture), expected: &[&str]) -> Run {
    let f = Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox"]).ok();
    let before = f.state_counts();
    let db_before = std::fs::read(f.path("rosterbridge.state.db")).unwrap();
    breakage(&f);
    let run = f.rb(&["apply", "--sink", "folder", "--out", "outbox"]);
    assert_ne!(
        run.code, 0,
        "apply should fail:\n{}\n{}",
        run.stdout, run.stderr
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    for e in expected {
        assert!(all.contains(e), "missing {e:?} in:\n{all}");
    }
    let after = f.state_counts();
    assert_eq!(after.0, before.0, "no objects changed");
    if run.code == 1 {
        // The failed run is recorded; nothing else.
        assert!(after.1 <= before.1 + 1);
    }
    let _ = db_before;
    assert!(
        !f.path("outbox/rosterbridge-run-2.zip").exists(),
        "nothing was written"
    );
    run
}

#[test]
fn a_missing_required_file_is_named() {
    fails_cleanly(
        |f| std::fs::remove_file(f.path("district/users.csv")).unwrap(),
        &["users.csv"],
    );
}

#[test]
fn a_missing_required_column_is_named_with_its_file() {
    fails_cleanly(
        |f| {
            f.district(&[(
                "classes.csv",
                &CLASSES.replace("schoolSourcedId,", "school,"),
            )])
        },
        &["classes.csv", "schoolSourcedId"],
    );
}

#[test]
fn a_duplicate_sourced_id_is_named_with_both_lines() {
    let run = fails_cleanly(
        |f| {
            f.district(&[(
                "users.csv",
                &format!("{USERS}008,,,true,sch-1,student,lisa2,,Lisa,Two,,,,,,,09,\n"),
            )])
        },
        &["users.csv:7", "008"],
    );
    assert!(run.stderr.contains("first at line 4"), "{}", run.stderr);
}

#[test]
fn an_enrollment_pointing_at_an_unknown_user_is_named() {
    fails_cleanly(
        |f| {
            f.district(&[(
                "enrollments.csv",
                &format!("{ENROLLMENTS}e-9,,,cls-001,sch-1,ghost,student,false,,\n"),
            )])
        },
        &["enrollments.csv:7", "ghost"],
    );
}

#[test]
fn an_enrollment_pointing_at_an_unknown_class_is_named() {
    fails_cleanly(
        |f| {
            f.district(&[(
                "enrollments.csv",
                &format!("{ENROLLMENTS}e-9,,,cls-404,sch-1,007,student,false,,\n"),
            )])
        },
        &["enrollments.csv:7", "cls-404"],
    );
}

#[test]
fn a_bad_date_is_named_with_its_value() {
    fails_cleanly(
        |f| {
            f.district(&[(
                "academicSessions.csv",
                &SESSIONS.replace("2027-01-15", "2027-13-45"),
            )])
        },
        &["academicSessions.csv:3", "2027-13-45"],
    );
}

#[test]
fn invalid_utf8_is_named_with_its_line() {
    fails_cleanly(
        |f| {
            let mut bytes = USERS.as_bytes().to_vec();
            let at = USERS.find("Milhouse").unwrap();
            bytes[at] = 0xff;
            f.write_bytes("district/users.csv", &bytes);
        },
        &["users.csv", "UTF-8", ":5"],
    );
}

#[test]
fn an_empty_users_file_is_held_by_the_threshold() {
    let run = fails_cleanly(
        |f| {
            let header = USERS.lines().next().unwrap();
            let enr = ENROLLMENTS.lines().next().unwrap();
            f.district(&[
                ("users.csv", &format!("{header}\n")),
                ("enrollments.csv", &format!("{enr}\n")),
            ]);
        },
        &["held by the safety threshold", "users 5 of 5"],
    );
    assert_eq!(run.code, 2);
}

#[test]
fn a_config_with_an_unknown_key_is_refused_with_its_location() {
    fails_cleanly(
        |f| {
            f.write(
                "rosterbridge.toml",
                &CONFIG.replace("account_id = 1", "account_id = 1\nacount = 2"),
            )
        },
        &["rosterbridge.toml:8:1", "acount"],
    );
}

#[test]
fn a_config_with_a_wrong_type_is_refused_with_its_location() {
    fails_cleanly(
        |f| {
            f.write(
                "rosterbridge.toml",
                &CONFIG.replace("account_id = 1", "account_id = \"one\""),
            )
        },
        &["rosterbridge.toml:7", "invalid type"],
    );
}

#[test]
fn with_skip_policy_bad_rows_are_reported_and_the_rest_applied() {
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &CONFIG.replace(
            "path = \"district\"\n",
            "path = \"district\"\non_row_error = \"skip\"\n",
        ),
    );
    f.district(&[(
        "enrollments.csv",
        &format!("{ENROLLMENTS}e-9,,,cls-001,sch-1,ghost,student,false,,\n"),
    )]);
    let run = f.rb(&["apply", "--sink", "folder", "--out", "outbox"]);
    run.ok();
    assert!(run.stderr.contains("ghost"), "{}", run.stderr);
    assert_eq!(f.state_counts().0, 18);
}
