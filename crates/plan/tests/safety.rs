//! The safety rules on small, hand-built states: thresholds with floors, ceilings, per-kind
//! overrides and per-scope checks; update thresholds; add-only windows; ended sessions.

use chrono::NaiveDate;
use rosterbridge_config::chrono_free::Date;
use rosterbridge_config::{DateWindow, SafetyRules, ScopeRule, Threshold, Thresholds};
use rosterbridge_model::canvas::{CanvasRole, Course, DesiredState, Enrollment, Section, User};
use rosterbridge_model::hash::{content_hash, KeyHash};
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_model::SisId;
use rosterbridge_plan::safety::{assess, exceeds, fingerprint, Context};
use rosterbridge_plan::{build, diff, Plan, PlanOptions};
use rosterbridge_state::{Ownership, SnapshotEntry, StateSnapshot, StoredRecord};

const TODAY: Date = Date {
    year: 2027,
    month: 3,
    day: 1,
};

fn user(id: &str, first: &str) -> User {
    User::new(
        SisId::new(id),
        format!("login-{id}").as_str().into(),
        first.into(),
        "Doe".into(),
        None,
        Status::Active,
    )
}

fn course(id: &str, account: &str, end: Option<NaiveDate>) -> Course {
    Course {
        sis_id: SisId::new(id),
        integration_id: None,
        short_name: id.into(),
        long_name: id.into(),
        account: Some(SisId::new(account)),
        term: Some(SisId::new("T1")),
        start: None,
        end,
        src: None,
    }
}

fn section(id: &str) -> Section {
    Section {
        sis_id: SisId::new(id),
        integration_id: None,
        course: SisId::new(id),
        name: id.into(),
        start: None,
        end: None,
        src: None,
    }
}

/// 20 users; courses/sections A (school SA, 16 students) and B (school SB, 4 students).
fn district(end: Option<NaiveDate>) -> DesiredState {
    DesiredState {
        users: (0..20).map(|i| user(&format!("u{i:02}"), "Ann")).collect(),
        courses: vec![course("A", "SA", end), course("B", "SB", end)],
        sections: vec![section("A"), section("B")],
        enrollments: (0..20)
            .map(|i| Enrollment {
                section: if i < 16 { 0 } else { 1 },
                user: i,
                role: CanvasRole::Student,
                status: Status::Active,
                start: None,
                end: None,
                src: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn applied(state: &DesiredState) -> (StateSnapshot, Vec<StoredRecord>) {
    let mut pairs = Vec::new();
    let mut records = Vec::new();
    for kind in Kind::ALL {
        for i in 0..state.len(kind) {
            let row = state.row(kind, i);
            let key = state.key(kind, i);
            let id = records.len() as i64 + 1;
            let entry = SnapshotEntry {
                id,
                kind,
                content_hash: content_hash(&row),
                status: row.status().unwrap(),
            };
            pairs.push((KeyHash::of(kind, &key), entry));
            records.push(StoredRecord {
                id,
                kind,
                key,
                content_hash: entry.content_hash,
                row,
                canvas_id: None,
                ownership: Ownership::Created,
                last_outcome: "applied".into(),
                last_run: Some(1),
            });
        }
    }
    (StateSnapshot::new(3, pairs), records)
}

fn plan_with(before: &DesiredState, now: &DesiredState, rules: &SafetyRules, today: Date) -> Plan {
    let (snap, records) = applied(before);
    let d = diff(now, &snap);
    let needed = d.records_needed();
    let prior: Vec<StoredRecord> = records
        .iter()
        .filter(|r| needed.contains(&r.id))
        .cloned()
        .collect();
    let mut p = build(now.clone(), d, &prior, &PlanOptions::default());
    assess(&mut p, rules, &Context::default(), Vec::new(), today);
    p
}

fn without_enrollments_of(state: &DesiredState, section: u32, n: usize) -> DesiredState {
    let mut s = state.clone();
    let mut dropped = 0;
    s.enrollments.retain(|e| {
        if e.section == section && dropped < n {
            dropped += 1;
            false
        } else {
            true
        }
    });
    s
}

#[test]
fn a_threshold_holds_above_its_percent_or_ceiling_and_never_at_or_below_its_floor() {
    let t = Threshold {
        percent: 10.0,
        floor: 5,
        ceiling: Some(50),
    };
    assert_eq!(exceeds(t, 5, 10), None, "at the floor: never");
    assert!(exceeds(t, 6, 10).is_some(), "60% > 10%");
    assert_eq!(exceeds(t, 6, 1000), None, "0.6% and under the ceiling");
    assert!(
        exceeds(t, 51, 10_000).is_some(),
        "over the ceiling whatever the percent"
    );
    assert_eq!(
        exceeds(
            Threshold {
                percent: 10.0,
                floor: 0,
                ceiling: None
            },
            3,
            0
        ),
        None,
        "nothing existed: only a ceiling can hold"
    );
}

#[test]
fn per_kind_overrides_and_the_removal_floor_decide_the_kind_wide_verdict() {
    let before = district(None);
    let mut now = before.clone();
    now.users.truncate(17);
    now.enrollments.retain(|e| e.user < 17);
    let rules = SafetyRules {
        per_scope: false,
        ..Default::default()
    };
    let p = plan_with(&before, &now, &rules, TODAY);
    let kinds: Vec<Kind> = p.safety.violations.iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Users, Kind::Enrollments],
        "15% > 10% for both"
    );

    let mut lenient = rules.clone();
    lenient.kinds.insert(
        Kind::Users,
        Thresholds {
            removals: Threshold {
                percent: 20.0,
                floor: 0,
                ceiling: None,
            },
            ..Thresholds::default()
        },
    );
    lenient.thresholds.removals.floor = 0;
    let p = plan_with(&before, &now, &lenient, TODAY);
    let kinds: Vec<Kind> = p.safety.violations.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [Kind::Enrollments], "users allow 20%");

    let mut floored = rules.clone();
    floored.thresholds.removals.floor = 3;
    assert!(
        !plan_with(&before, &now, &floored, TODAY).safety.held,
        "3 removals are at the floor"
    );
}

#[test]
fn one_school_losing_its_enrollments_is_held_per_scope_although_the_kind_is_under_its_limit() {
    let before = district(None);
    let now = without_enrollments_of(&before, 1, 4); // school SB: 4 of 4; kind-wide 4 of 20
    let mut rules = SafetyRules::default();
    rules.thresholds.removals.percent = 50.0;
    let p = plan_with(&before, &now, &rules, TODAY);
    assert!(p.safety.violations.is_empty(), "20% < 50% kind-wide");
    let scopes: Vec<&str> = p
        .safety
        .holds
        .iter()
        .filter_map(|h| h.scope.as_deref())
        .collect();
    assert_eq!(scopes, ["account:SB"], "{:?}", p.safety.holds);
    assert!(p.safety.held);

    // A scope of its own may allow it.
    rules.scopes.push(ScopeRule {
        account: Some("SB".into()),
        term: None,
        thresholds: Thresholds {
            removals: Threshold {
                percent: 100.0,
                floor: 0,
                ceiling: None,
            },
            ..Thresholds::default()
        },
    });
    assert!(!plan_with(&before, &now, &rules, TODAY).safety.held);
    // And per_scope = false checks kinds only.
    let off = SafetyRules {
        per_scope: false,
        thresholds: rules.thresholds,
        ..Default::default()
    };
    assert!(!plan_with(&before, &now, &off, TODAY).safety.held);
}

#[test]
fn mass_updates_are_held_by_the_update_threshold() {
    let before = district(None);
    let mut now = before.clone();
    for u in now.users.iter_mut().take(16) {
        u.first_name = "Renamed".into();
    }
    let p = plan_with(&before, &now, &SafetyRules::default(), TODAY);
    let codes: Vec<(&str, Kind)> = p
        .safety
        .holds
        .iter()
        .map(|h| (h.code.as_str(), h.kind))
        .collect();
    assert_eq!(codes, [("updates", Kind::Users)], "16 of 20 > 75%");
    let mut rules = SafetyRules::default();
    rules.thresholds.updates.floor = 16;
    assert!(!plan_with(&before, &now, &rules, TODAY).safety.held);
}

#[test]
fn an_add_only_window_drops_every_removal_and_says_so() {
    let before = district(None);
    let mut now = before.clone();
    now.users.truncate(10);
    now.enrollments.retain(|e| e.user < 10);
    now.users.push(user("new", "Neo"));
    let rules = SafetyRules {
        add_only: vec![DateWindow {
            start: Date {
                year: 2027,
                month: 2,
                day: 1,
            },
            end: Date {
                year: 2027,
                month: 3,
                day: 31,
            },
            reason: Some("rollover".into()),
        }],
        ..Default::default()
    };
    let p = plan_with(&before, &now, &rules, TODAY);
    assert!(p.changes.iter().all(|c| !c.action.is_removal()));
    assert_eq!(p.summary[&Kind::Users].create, 1);
    assert_eq!(p.safety.adjustments.deferred_removals, 20);
    assert!(!p.safety.held, "nothing is removed, so nothing to hold");
    // Outside the window the same plan removes (and is held).
    assert!(
        plan_with(
            &before,
            &now,
            &rules,
            Date {
                year: 2027,
                month: 4,
                day: 1
            }
        )
        .safety
        .held
    );
}

#[test]
fn enrollments_of_an_ended_session_are_concluded_not_deleted_when_they_leave_the_export() {
    let ended = NaiveDate::from_ymd_opt(2027, 1, 15);
    let before = district(ended);
    let now = without_enrollments_of(&before, 0, 1);
    let rules = SafetyRules::default();
    let p = plan_with(&before, &now, &rules, TODAY);
    let c = p
        .changes
        .iter()
        .find(|c| c.kind == Kind::Enrollments)
        .unwrap();
    assert_eq!(p.row(c).status(), Some(Status::Completed));
    assert_eq!(p.safety.adjustments.concluded_ended, 1);
    // While the session runs, the configured removal (deleted) stands.
    let running = plan_with(
        &before,
        &now,
        &rules,
        Date {
            year: 2027,
            month: 1,
            day: 10,
        },
    );
    let c = running
        .changes
        .iter()
        .find(|c| c.kind == Kind::Enrollments)
        .unwrap();
    assert_eq!(running.row(c).status(), Some(Status::Deleted));
}

#[test]
fn the_fingerprint_names_exactly_one_plan() {
    let before = district(None);
    let a = plan_with(
        &before,
        &without_enrollments_of(&before, 0, 2),
        &SafetyRules::default(),
        TODAY,
    );
    let b = plan_with(
        &before,
        &without_enrollments_of(&before, 0, 2),
        &SafetyRules::default(),
        TODAY,
    );
    let c = plan_with(
        &before,
        &without_enrollments_of(&before, 0, 3),
        &SafetyRules::default(),
        TODAY,
    );
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&c));
}

#[test]
fn a_sharply_shrunken_table_is_held_even_when_removals_are_allowed() {
    let before = district(None);
    let mut now = before.clone();
    now.users.truncate(8);
    now.enrollments.retain(|e| e.user < 8);
    let mut rules = SafetyRules::default();
    rules.thresholds.removals.percent = 100.0;
    let p = plan_with(&before, &now, &rules, TODAY);
    let shrunk: Vec<Kind> = p
        .safety
        .holds
        .iter()
        .filter(|h| h.code == "shrunken_table")
        .map(|h| h.kind)
        .collect();
    assert_eq!(
        shrunk,
        [Kind::Users, Kind::Enrollments],
        "8 of 20 kept: 60% gone > 50% ({:?})",
        p.safety.holds
    );
    assert!(
        p.safety.holds[0].hint.contains("add_only"),
        "says how to proceed"
    );
    rules.max_shrink_percent = 70.0;
    assert!(!plan_with(&before, &now, &rules, TODAY).safety.held);
}

#[test]
fn scope_lines_are_left_out_for_a_kind_held_kind_wide_and_the_hint_names_the_key() {
    let before = district(None);
    let mut now = before.clone();
    now.enrollments.clear();
    let p = plan_with(&before, &now, &SafetyRules::default(), TODAY);
    assert!(p
        .safety
        .violations
        .iter()
        .any(|v| v.kind == Kind::Enrollments));
    assert!(
        p.safety.holds.iter().all(|h| h.scope.is_none()),
        "{:?}",
        p.safety.holds
    );

    let mut rules = SafetyRules::default();
    rules.thresholds.removals.percent = 50.0;
    let p = plan_with(
        &before,
        &without_enrollments_of(&before, 1, 4),
        &rules,
        TODAY,
    );
    assert!(
        p.safety.holds[0].hint.contains("account = \"SB\""),
        "{}",
        p.safety.holds[0].hint
    );
}
