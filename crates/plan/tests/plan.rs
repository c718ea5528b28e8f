//! Planner behaviour on small, hand-built states.

use rosterbridge_model::canvas::{Account, CanvasRole, DesiredState, Enrollment, Section, User};
use rosterbridge_model::hash::{content_hash, KeyHash};
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_model::SisId;
use rosterbridge_plan::{build, diff, Action, Plan, PlanOptions};
use rosterbridge_state::{Ownership, SnapshotEntry, StateSnapshot, StoredRecord};

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

fn enrol(section: u32, user: u32) -> Enrollment {
    Enrollment {
        section,
        user,
        role: CanvasRole::Student,
        status: Status::Active,
        start: None,
        end: None,
        src: None,
    }
}

/// Stores every object of `state` as applied, the way a sink would after success.
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
    (StateSnapshot::new(7, pairs), records)
}

fn plan(
    desired: &DesiredState,
    snap: &StateSnapshot,
    records: &[StoredRecord],
    options: &PlanOptions,
) -> Plan {
    let d = diff(desired, snap);
    let needed = d.records_needed();
    let prior: Vec<StoredRecord> = records
        .iter()
        .filter(|r| needed.contains(&r.id))
        .cloned()
        .collect();
    build(desired.clone(), d, &prior, options)
}

fn base() -> DesiredState {
    DesiredState {
        users: (0..20).map(|i| user(&format!("u{i:02}"), "Ann")).collect(),
        sections: vec![section("s1")],
        enrollments: (0..20).map(|i| enrol(0, i)).collect(),
        ..Default::default()
    }
}

#[test]
fn a_first_plan_creates_everything_in_dependency_order() {
    let mut desired = base();
    desired.accounts = vec![
        Account {
            sis_id: SisId::new("a-school"),
            integration_id: None,
            parent: Some(SisId::new("z-root")),
            name: "School".into(),
            src: None,
        },
        Account {
            sis_id: SisId::new("z-root"),
            integration_id: None,
            parent: None,
            name: "Root".into(),
            src: None,
        },
    ];
    let p = plan(
        &desired,
        &StateSnapshot::default(),
        &[],
        &PlanOptions::default(),
    );
    assert_eq!(p.summary[&Kind::Users].create, 20);
    assert_eq!(p.summary[&Kind::Enrollments].create, 20);
    assert!(p.changes.iter().all(|c| c.action == Action::Create));
    let kinds: Vec<Kind> = p.changes.iter().map(|c| c.kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        kinds, sorted,
        "accounts, users, sections, enrollments in that order"
    );
    // The parent account precedes its child although its id sorts after it.
    assert_eq!(p.key(&p.changes[0]), "z-root");
    assert_eq!(p.key(&p.changes[1]), "a-school");
    assert!(!p.safety.held);
}

#[test]
fn planning_the_applied_state_again_gives_no_changes() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let p = plan(&desired, &snap, &records, &PlanOptions::default());
    assert!(p.is_empty(), "{:?}", p.changes);
    assert_eq!(p.summary[&Kind::Users].unchanged, 20);
    assert_eq!(p.base_version, 7);
}

#[test]
fn a_renamed_user_is_an_update_listing_old_and_new_values() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let mut changed = desired.clone();
    changed.users[3].first_name = "Anne".into();
    let p = plan(&changed, &snap, &records, &PlanOptions::default());
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(
        (c.kind, c.action, p.key(c).as_str()),
        (Kind::Users, Action::Update, "u03")
    );
    let f = p.fields(c);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].field.as_str(), f[0].old.as_str(), f[0].new.as_str()),
        ("first_name", "Ann", "Anne")
    );
    assert_eq!(p.reason(c), "changed: first_name");
}

#[test]
fn a_user_gone_from_the_source_is_suspended_and_their_enrollment_deleted() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let mut changed = desired.clone();
    changed.users.remove(19);
    changed.enrollments.remove(19);
    let p = plan(&changed, &snap, &records, &PlanOptions::default());
    assert_eq!(p.summary[&Kind::Users].deactivate, 1);
    assert_eq!(p.summary[&Kind::Enrollments].delete, 1);
    let u = p.changes_of(Kind::Users).next().unwrap();
    assert_eq!(p.row(u).get("status"), "suspended");
    assert_eq!(
        p.row(u).get("login_id"),
        "login-u19",
        "the stored row is sent back with the new status"
    );
    // Removals come after everything else, enrollments before users.
    assert_eq!(p.changes[0].kind, Kind::Enrollments);
    assert_eq!(p.changes[1].kind, Kind::Users);
    assert!(!p.safety.held, "1 of 20 is 5%, under the 10% default");
}

#[test]
fn a_suspended_user_who_comes_back_is_reactivated() {
    let desired = base();
    let mut gone = desired.clone();
    gone.users.remove(0);
    gone.enrollments.remove(0);
    for e in &mut gone.enrollments {
        e.user -= 1;
    }
    let (mut snap, mut records) = applied(&desired);
    // Record the suspension as applied.
    let key = KeyHash::of(Kind::Users, "u00");
    let entry = snap.get_mut(key).unwrap();
    entry.status = Status::Suspended;
    let rec = records.iter_mut().find(|r| r.id == entry.id).unwrap();
    rec.row.set_status(Status::Suspended);
    entry.content_hash = content_hash(&rec.row);
    rec.content_hash = entry.content_hash;

    let p = plan(&desired, &snap, &records, &PlanOptions::default());
    let c = p.changes_of(Kind::Users).next().unwrap();
    assert_eq!(c.action, Action::Reactivate);
    assert_eq!(p.row(c).get("status"), "active");
    assert!(p.reason(c).contains("was suspended"));
}

#[test]
fn a_user_disabled_in_the_source_is_deactivated_not_deleted() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let mut changed = desired.clone();
    changed.users[5].status = Status::Suspended;
    let p = plan(&changed, &snap, &records, &PlanOptions::default());
    let c = &p.changes[0];
    assert_eq!(
        (c.action, p.row(c).get("status").to_string().as_str()),
        (Action::Deactivate, "suspended")
    );
    assert!(p.reason(c).contains("enabledUser=false"));
}

#[test]
fn removing_more_than_the_threshold_holds_the_plan() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let mut shrunk = desired.clone();
    shrunk.users.truncate(17);
    shrunk.enrollments.truncate(17);
    let p = plan(&shrunk, &snap, &records, &PlanOptions::default());
    assert!(p.safety.held);
    let kinds: Vec<Kind> = p.safety.violations.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [Kind::Users, Kind::Enrollments]);
    assert_eq!(p.safety.violations[0].removals, 3);
    assert_eq!(p.safety.violations[0].existing, 20);
    assert!((p.safety.violations[0].percent - 15.0).abs() < 1e-9);

    let lenient = PlanOptions {
        max_removal_percent: 20.0,
        ..Default::default()
    };
    assert!(!plan(&shrunk, &snap, &records, &lenient).safety.held);
}

#[test]
fn an_empty_source_is_held() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let p = plan(
        &DesiredState::default(),
        &snap,
        &records,
        &PlanOptions::default(),
    );
    assert!(p.safety.held);
    assert_eq!(p.summary[&Kind::Users].deactivate, 20);
    // Sections are left alone by default.
    assert_eq!(p.summary[&Kind::Sections].changes(), 0);
}

#[test]
fn removal_policy_is_configurable_per_kind() {
    let desired = base();
    let (snap, records) = applied(&desired);
    let mut options = PlanOptions::default();
    options
        .removal
        .status
        .insert(Kind::Enrollments, Some(Status::Completed));
    options
        .removal
        .status
        .insert(Kind::Sections, Some(Status::Deleted));
    let mut changed = desired.clone();
    changed.enrollments.remove(0);
    changed.sections.clear();
    changed.enrollments.clear();
    let p = plan(&changed, &snap, &records, &options);
    assert_eq!(p.summary[&Kind::Enrollments].deactivate, 20);
    assert!(p
        .changes_of(Kind::Enrollments)
        .all(|c| p.row(c).get("status") == "completed"));
    assert_eq!(p.summary[&Kind::Sections].delete, 1);
}

#[test]
fn plans_are_deterministic() {
    let desired = base();
    let json = || {
        let p = plan(
            &desired,
            &StateSnapshot::default(),
            &[],
            &PlanOptions::default(),
        );
        let mut out = Vec::new();
        rosterbridge_plan::render::write_json(&p, &[], &mut out).unwrap();
        out
    };
    assert_eq!(json(), json());
    let v: serde_json::Value = serde_json::from_slice(&json()).unwrap();
    assert_eq!(v["summary"]["users"]["create"], 20);
    assert_eq!(v["changes"][0]["row"]["user_id"], "u00");
}
