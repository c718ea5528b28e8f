//! The generated district: deterministic, the right size, internally consistent, and a
//! changed district differs from its base by about the requested amount.

use rosterbridge_generate::{write_oneroster_csv, DistrictSpec};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn generate(dir: &Path, students: u32, change: f64) -> rosterbridge_generate::GenerateSummary {
    write_oneroster_csv(
        &DistrictSpec {
            students,
            seed: 42,
            change_pct: change,
        },
        dir,
        &|_, _, _| {},
    )
    .unwrap()
}

fn table(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(name)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_same_spec_gives_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(a.path(), 500, 0.0);
    generate(b.path(), 500, 0.0);
    for name in [
        "manifest.csv",
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "users.csv",
        "enrollments.csv",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn sizes_scale_with_students() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(dir.path(), 2000, 0.0);
    assert_eq!(s.students, 2000);
    let users_per_student = s.users as f64 / 2000.0;
    let enrollments_per_student = s.enrollments as f64 / 2000.0;
    assert!(
        (2.2..2.8).contains(&users_per_student),
        "{users_per_student}"
    );
    assert!(
        (7.0..8.0).contains(&enrollments_per_student),
        "{enrollments_per_student}"
    );
    assert_eq!(table(dir.path(), "users.csv").len(), s.users);
    assert_eq!(table(dir.path(), "enrollments.csv").len(), s.enrollments);
    assert!(s.teachers > 0 && s.parents > 2000);
}

#[test]
fn every_reference_resolves_and_agent_links_are_mutual() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 1500, 0.0);
    let ids = |name: &str| -> HashSet<String> {
        let rows = table(dir.path(), name);
        let set: HashSet<String> = rows.iter().map(|r| r["sourcedId"].clone()).collect();
        assert_eq!(set.len(), rows.len(), "duplicate sourcedIds in {name}");
        set
    };
    let orgs = ids("orgs.csv");
    let sessions = ids("academicSessions.csv");
    let courses = ids("courses.csv");
    let classes = ids("classes.csv");
    let users = ids("users.csv");
    ids("enrollments.csv");
    for c in table(dir.path(), "classes.csv") {
        assert!(orgs.contains(&c["schoolSourcedId"]));
        assert!(courses.contains(&c["courseSourcedId"]));
        for t in c["termSourcedIds"].split(',') {
            assert!(sessions.contains(t), "{t}");
        }
    }
    for e in table(dir.path(), "enrollments.csv") {
        assert!(
            classes.contains(&e["classSourcedId"]),
            "{}",
            e["classSourcedId"]
        );
        assert!(
            users.contains(&e["userSourcedId"]),
            "{}",
            e["userSourcedId"]
        );
        assert!(orgs.contains(&e["schoolSourcedId"]));
    }
    let user_rows = table(dir.path(), "users.csv");
    let agents: HashMap<String, HashSet<String>> = user_rows
        .iter()
        .map(|u| {
            (
                u["sourcedId"].clone(),
                u["agentSourcedIds"]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            )
        })
        .collect();
    let mut links = 0;
    for (user, list) in &agents {
        for a in list {
            assert!(
                agents.get(a).is_some_and(|back| back.contains(user)),
                "{user} -> {a} is not mutual"
            );
            links += 1;
        }
    }
    assert!(links > 1500);
    // Awkward names are there and round-trip through CSV quoting.
    assert!(user_rows
        .iter()
        .any(|u| u["familyName"].contains(',') || u["familyName"].contains('"')));
    assert!(user_rows.iter().any(|u| !u["givenName"].is_ascii()));
    assert!(user_rows.iter().any(|u| u["sourcedId"].starts_with("000")));
}

#[test]
fn a_changed_district_differs_from_its_base_by_about_the_requested_percent() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let base = generate(a.path(), 4000, 0.0);
    let changed = generate(b.path(), 4000, 4.0);
    let c = &changed.changes;
    assert!(
        c.renamed > 0
            && c.added_students > 0
            && c.withdrawn_students > 0
            && c.dropped_enrollments > 0,
        "{c:?}"
    );
    assert_eq!(
        changed.students,
        base.students + c.added_students - c.withdrawn_students
    );

    let rows = |dir: &Path, name: &str| -> HashSet<String> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    let mut differing = 0usize;
    let mut total = 0usize;
    for name in ["users.csv", "enrollments.csv"] {
        let (x, y) = (rows(a.path(), name), rows(b.path(), name));
        differing += x.symmetric_difference(&y).count();
        total += x.len();
    }
    let pct = differing as f64 * 100.0 / total as f64;
    assert!((1.5..8.0).contains(&pct), "{pct:.2}% of rows differ");
    // Classes and courses stay the same: the change is in people and enrollments.
    assert_eq!(
        std::fs::read(a.path().join("classes.csv")).unwrap(),
        std::fs::read(b.path().join("classes.csv")).unwrap()
    );
}

#[test]
fn zero_students_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_oneroster_csv(
        &DistrictSpec {
            students: 0,
            seed: 1,
            change_pct: 0.0,
        },
        dir.path(),
        &|_, _, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("at least one student"));
}
