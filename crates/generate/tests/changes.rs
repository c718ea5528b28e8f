//! A change run is the base district with about `change_pct`% of user and enrollment rows
//! changed, and its ChangeSummary is exactly what a row-by-row comparison finds.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{generate, list, Table};
use rosterbridge_generate::ChangeSummary;

struct Diff {
    summary: ChangeSummary,
    changed_rows: usize,
    base_rows: usize,
    withdrawn: HashSet<String>,
}

fn diff(base: &Path, changed: &Path) -> Diff {
    let (bu, cu) = (
        Table::read(base, "users.csv"),
        Table::read(changed, "users.csv"),
    );
    let (be, ce) = (
        Table::read(base, "enrollments.csv"),
        Table::read(changed, "enrollments.csv"),
    );
    let (bum, cum, bem, cem) = (bu.by_id(), cu.by_id(), be.by_id(), ce.by_id());
    let (role, family, agents, orgs) = (
        bu.col("role"),
        bu.col("familyName"),
        bu.col("agentSourcedIds"),
        bu.col("orgSourcedIds"),
    );
    let is_parent = |r: &Vec<String>| r[role] == "parent" || r[role] == "guardian";
    let mut s = ChangeSummary::default();
    let mut changed_rows = 0;
    let mut withdrawn = HashSet::new();

    for (id, r) in &cum {
        match bum.get(id) {
            None => {
                changed_rows += 1;
                match r[role].as_str() {
                    "student" => s.added_students += 1,
                    "parent" | "guardian" => s.added_parents += 1,
                    other => panic!("{other} {id} added: staff never change"),
                }
            }
            Some(b) => {
                if *b == *r {
                    continue;
                }
                changed_rows += 1;
                for (i, (x, y)) in b.iter().zip(r.iter()).enumerate() {
                    if x != y {
                        assert!(
                            [family, agents, orgs].contains(&i),
                            "{id}: column {} changed",
                            bu.header[i]
                        );
                    }
                }
                if b[family] != r[family] {
                    s.renamed += 1;
                }
                if b[agents] != r[agents] {
                    assert!(is_parent(r), "{id}: only a parent loses a child");
                    let (old, new) = (list(&b[agents]), list(&r[agents]));
                    assert!(new.len() < old.len() && new.iter().all(|a| old.contains(a)));
                    s.relinked_parents += 1;
                } else {
                    assert_eq!(b[orgs], r[orgs], "{id}: orgs change only with children");
                }
            }
        }
    }
    for (id, r) in &bum {
        if !cum.contains_key(id) {
            changed_rows += 1;
            match r[role].as_str() {
                "student" => {
                    s.withdrawn_students += 1;
                    withdrawn.insert(id.to_string());
                }
                "parent" | "guardian" => {
                    s.removed_parents += 1;
                    assert!(
                        list(&r[agents]).iter().all(|c| !cum.contains_key(c)),
                        "{id} removed but a child stays"
                    );
                }
                other => panic!("{other} {id} removed: staff never change"),
            }
        }
    }

    let user = be.col("userSourcedId");
    for (id, r) in &cem {
        match bem.get(id) {
            None => {
                changed_rows += 1;
                s.added_enrollments += 1;
                assert!(
                    !bum.contains_key(r[user].as_str()),
                    "{id}: only added students gain enrollments"
                );
            }
            Some(b) => assert_eq!(b, r, "{id}: a kept enrollment is unchanged"),
        }
    }
    for (id, r) in &bem {
        if !cem.contains_key(id) {
            changed_rows += 1;
            if withdrawn.contains(&r[user]) {
                s.withdrawn_enrollments += 1;
            } else {
                assert_eq!(
                    r[be.col("role")],
                    "student",
                    "{id}: teachers keep their classes"
                );
                s.dropped_enrollments += 1;
            }
        }
    }
    Diff {
        summary: s,
        changed_rows,
        base_rows: bu.rows.len() + be.rows.len(),
        withdrawn,
    }
}

#[test]
fn change_run_differs_by_about_the_percent_and_summary_matches() {
    let base = tempfile::tempdir().unwrap();
    let sb = generate(base.path(), 4_000, 5, 0.0);
    for pct in [2.0, 5.0] {
        let changed = tempfile::tempdir().unwrap();
        let sc = generate(changed.path(), 4_000, 5, pct);
        for f in [
            "orgs.csv",
            "academicSessions.csv",
            "courses.csv",
            "classes.csv",
        ] {
            assert_eq!(
                std::fs::read(base.path().join(f)).unwrap(),
                std::fs::read(changed.path().join(f)).unwrap(),
                "{f} is the same district"
            );
        }
        let d = diff(base.path(), changed.path());
        assert_eq!(
            d.summary, sc.changes,
            "{pct}%: summary equals the observed differences"
        );
        let c = &sc.changes;
        assert!(
            c.renamed > 0
                && c.added_students > 0
                && c.withdrawn_students > 0
                && c.dropped_enrollments > 0,
            "{c:?}"
        );
        assert!(
            c.added_parents > 0 && c.removed_parents > 0 && c.relinked_parents > 0,
            "{c:?}"
        );
        assert_eq!(
            sc.students,
            sb.students + c.added_students - c.withdrawn_students
        );
        assert_eq!(sc.parents, sb.parents + c.added_parents - c.removed_parents);
        assert_eq!(
            sc.enrollments,
            sb.enrollments + c.added_enrollments - c.withdrawn_enrollments - c.dropped_enrollments
        );
        let observed = 100.0 * d.changed_rows as f64 / d.base_rows as f64;
        assert!(
            (0.7 * pct..=1.3 * pct).contains(&observed),
            "asked {pct}%, {observed:.2}% of rows differ"
        );
        // Added students are full members: enrolled in ~7 classes, linked to their new parents.
        let users = Table::read(changed.path(), "users.csv");
        let enr = Table::read(changed.path(), "enrollments.csv");
        let by_id = users.by_id();
        let mut per_user: HashMap<&str, usize> = HashMap::new();
        for r in &enr.rows {
            assert!(by_id.contains_key(r[enr.col("userSourcedId")].as_str()));
            *per_user.entry(&r[enr.col("userSourcedId")]).or_default() += 1;
        }
        let agents = users.col("agentSourcedIds");
        let base_users = Table::read(base.path(), "users.csv");
        let base_ids = base_users.by_id();
        for r in users
            .rows
            .iter()
            .filter(|r| !base_ids.contains_key(r[0].as_str()))
        {
            for a in list(&r[agents]) {
                assert!(
                    list(&by_id[a][agents]).contains(&r[0].as_str()),
                    "mutual link {} {a}",
                    r[0]
                );
            }
            if r[users.col("role")] == "student" {
                assert!(
                    per_user.get(r[0].as_str()).is_some_and(|n| *n >= 6),
                    "added student {} enrolled",
                    r[0]
                );
            }
        }
        for w in &d.withdrawn {
            assert!(!per_user.contains_key(w.as_str()));
        }
    }
}

#[test]
fn changes_grow_with_the_percent_from_the_same_base() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let base = tempfile::tempdir().unwrap();
    generate(base.path(), 3_000, 8, 0.0);
    let s1 = generate(a.path(), 3_000, 8, 1.0);
    let s4 = generate(b.path(), 3_000, 8, 4.0);
    assert!(s4.changes.withdrawn_students > s1.changes.withdrawn_students);
    assert!(s4.changes.renamed > s1.changes.renamed);
    // Decisions are per entity, so everyone withdrawn at 1% is also withdrawn at 4%.
    let w1 = diff(base.path(), a.path()).withdrawn;
    let w4 = diff(base.path(), b.path()).withdrawn;
    assert!(!w1.is_empty() && w1.is_subset(&w4));
}
