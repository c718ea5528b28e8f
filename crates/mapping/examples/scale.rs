//! Times mapping and the planner's diff on an in-memory roster of state-wide size.
//! `cargo run --release -p rosterbridge-mapping --example scale -- 200000`

use chrono::NaiveDate;
use rosterbridge_config::MappingConfig;
use rosterbridge_model::hash::{content_hash, KeyHash};
use rosterbridge_model::kind::Kind;
use rosterbridge_model::roster::*;
use rosterbridge_model::{SisId, SourceRef, SourceTable};
use rosterbridge_state::{SnapshotEntry, StateSnapshot};
use std::time::Instant;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let students: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let src = SourceRef::new(SourceTable::Users, 2);
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let schools = students / 800 + 1;
    let classes_n = students * 7 / 28;
    let mut r = Roster::default();
    for s in 0..schools {
        r.orgs.push(Org {
            sourced_id: SisId::new(format!("sch-{s:04}")),
            name: format!("School {s}").as_str().into(),
            org_type: OrgType::School,
            identifier: None,
            parent: None,
            src,
        });
    }
    r.sessions.push(AcademicSession {
        sourced_id: "fall".into(),
        title: "Fall".into(),
        session_type: SessionType::Semester,
        start_date: d("2026-08-17"),
        end_date: d("2027-01-15"),
        parent: None,
        school_year: "2027".into(),
        src,
    });
    for c in 0..classes_n {
        r.classes.push(Class {
            sourced_id: SisId::new(format!("cls-{c:07}")),
            title: format!("Class {c}").as_str().into(),
            grades: vec![],
            course: "crs".into(),
            class_code: None,
            class_type: ClassType::Scheduled,
            location: None,
            school: SisId::new(format!("sch-{:04}", c % schools)),
            terms: vec!["fall".into()],
            subjects: vec![],
            subject_codes: vec![],
            periods: vec![],
            src,
        });
    }
    let mk = |id: String, role: UserRole, agents: Vec<SisId>| User {
        sourced_id: SisId::new(&id),
        enabled: true,
        role,
        texts: UserTexts::new(&UserTextsRef {
            username: &id,
            given_name: "Given",
            family_name: "Family",
            email: &format!("{id}@example.org"),
            agents: &agents.iter().map(SisId::as_str).collect::<Vec<_>>(),
            ..Default::default()
        }),
        src,
        extra: None,
    };
    for s in 0..students {
        r.users.push(mk(
            format!("stu-{s:07}"),
            UserRole::Student,
            vec![SisId::new(format!("par-{:07}", s * 7 / 10))],
        ));
    }
    for p in 0..students * 7 / 5 {
        r.users
            .push(mk(format!("par-{p:07}"), UserRole::Parent, vec![]));
    }
    let teachers = classes_n / 5;
    for t in 0..teachers {
        r.users
            .push(mk(format!("tea-{t:06}"), UserRole::Teacher, vec![]));
    }
    for s in 0..students {
        for k in 0..7 {
            r.enrollments.push(Enrollment {
                sourced_id: SisId::new(format!("e-{s}-{k}")),
                class: ((s * 7 + k) % classes_n) as u32,
                user: s as u32,
                school: 0,
                role: EnrollmentRole::Student,
                primary: None,
                begin_date: None,
                end_date: None,
                src,
            });
        }
    }
    for c in 0..classes_n {
        r.enrollments.push(Enrollment {
            sourced_id: SisId::new(format!("et-{c}")),
            class: c as u32,
            user: (students + students * 7 / 5 + c % teachers) as u32,
            school: 0,
            role: EnrollmentRole::Teacher,
            primary: Some(true),
            begin_date: None,
            end_date: None,
            src,
        });
    }
    println!(
        "roster: {} users, {} enrollments; peak so far {:.0} MB",
        r.users.len(),
        r.enrollments.len(),
        rss_mb()
    );

    let t = Instant::now();
    let mapped = rosterbridge_mapping::map(&r, &MappingConfig::default());
    println!(
        "map: {:.3} s ({} observers); peak {:.0} MB",
        t.elapsed().as_secs_f64(),
        mapped.desired.observers.len(),
        rss_mb()
    );
    drop(r);
    let desired = mapped.desired;

    let t = Instant::now();
    let first = rosterbridge_plan::diff(&desired, &StateSnapshot::default());
    println!(
        "diff against empty state: {:.3} s, {} changed; peak {:.0} MB",
        t.elapsed().as_secs_f64(),
        first.changed.len(),
        rss_mb()
    );

    let mut pairs = Vec::with_capacity(first.changed.len());
    for (i, c) in first.changed.iter().enumerate() {
        let row = desired.row(c.kind, c.index as usize);
        pairs.push((
            KeyHash::of(c.kind, &desired.key(c.kind, c.index as usize)),
            SnapshotEntry {
                id: i as i64,
                kind: c.kind,
                content_hash: content_hash(&row),
                status: row.status().unwrap(),
            },
        ));
    }
    let snap = StateSnapshot::new(1, pairs);
    drop(first);
    println!(
        "snapshot built: {} entries; peak {:.0} MB",
        snap.len(),
        rss_mb()
    );
    let t = Instant::now();
    let again = rosterbridge_plan::diff(&desired, &snap);
    println!(
        "no-change diff: {:.3} s, {} changed, {} gone; peak {:.0} MB",
        t.elapsed().as_secs_f64(),
        again.changed.len(),
        again.gone.len(),
        rss_mb()
    );
    let _ = Kind::ALL;
}
