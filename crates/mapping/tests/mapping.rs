//! The documented mapping defaults, on small hand-built rosters. (Plans built from real
//! OneRoster files are tested end to end in the CLI crate.)

use chrono::NaiveDate;
use rosterbridge_config::{MappingConfig, RootAccount};
use rosterbridge_mapping::map;
use rosterbridge_model::canvas::CanvasRole;
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_model::roster::*;
use rosterbridge_model::{SisId, SourceRef, SourceTable, Str};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn src(t: SourceTable, line: u32) -> SourceRef {
    SourceRef::new(t, line)
}
fn id(s: &str) -> SisId {
    SisId::new(s)
}

fn org(sid: &str, t: OrgType) -> Org {
    Org {
        sourced_id: id(sid),
        name: format!("Org {sid}").as_str().into(),
        org_type: t,
        identifier: None,
        parent: None,
        src: src(SourceTable::Orgs, 2),
    }
}

fn session(
    sid: &str,
    t: SessionType,
    start: &str,
    end: &str,
    parent: Option<&str>,
) -> AcademicSession {
    AcademicSession {
        sourced_id: id(sid),
        title: format!("Session {sid}").as_str().into(),
        session_type: t,
        start_date: d(start),
        end_date: d(end),
        parent: parent.map(id),
        school_year: "2027".into(),
        src: src(SourceTable::AcademicSessions, 2),
    }
}

fn class(sid: &str, school: &str, terms: &[&str], code: Option<&str>) -> Class {
    Class {
        sourced_id: id(sid),
        title: format!("Class {sid}").as_str().into(),
        grades: vec![],
        course: id("crs-1"),
        class_code: code.map(Str::from),
        class_type: ClassType::Scheduled,
        location: None,
        school: id(school),
        terms: terms.iter().map(|t| id(t)).collect(),
        subjects: vec![],
        subject_codes: vec![],
        periods: vec![],
        src: src(SourceTable::Classes, 2),
    }
}

fn user(sid: &str, role: UserRole, username: &str, agents: &[&str]) -> User {
    User {
        sourced_id: id(sid),
        enabled: true,
        role,
        texts: UserTexts::new(&UserTextsRef {
            username,
            given_name: "Given",
            family_name: "Family",
            email: &format!("{sid}@example.org"),
            orgs: &["sch-1"],
            agents,
            ..Default::default()
        }),
        src: src(SourceTable::Users, 2),
        extra: None,
    }
}

fn enrollment(sid: &str, class: u32, user: u32, role: EnrollmentRole) -> Enrollment {
    Enrollment {
        sourced_id: id(sid),
        class,
        user,
        school: 0,
        role,
        primary: None,
        begin_date: None,
        end_date: None,
        src: src(SourceTable::Enrollments, 2),
    }
}

/// Source lines of the desired enrollments, in order.
fn enrollment_lines(m: &rosterbridge_mapping::Mapped) -> Vec<u32> {
    m.desired
        .enrollments
        .iter()
        .map(|e| e.src.unwrap().line)
        .collect()
}

fn duplicate_warnings(m: &rosterbridge_mapping::Mapped) -> Vec<&rosterbridge_model::Diagnostic> {
    m.diagnostics
        .iter()
        .filter(|d| d.code == "duplicate-enrollment")
        .collect()
}

fn roster() -> Roster {
    Roster {
        orgs: vec![
            org("sch-1", OrgType::School),
            org("dist", OrgType::District),
        ],
        sessions: vec![
            session(
                "sy",
                SessionType::SchoolYear,
                "2026-08-17",
                "2027-06-11",
                None,
            ),
            session(
                "fall",
                SessionType::Semester,
                "2026-08-17",
                "2027-01-15",
                Some("sy"),
            ),
            session(
                "spring",
                SessionType::Semester,
                "2027-01-19",
                "2027-06-11",
                Some("sy"),
            ),
            session(
                "gp1",
                SessionType::GradingPeriod,
                "2026-08-17",
                "2026-10-30",
                Some("fall"),
            ),
        ],
        courses: vec![],
        classes: vec![
            class("c-fall", "sch-1", &["fall"], Some("MATH-1")),
            class("c-year", "sch-1", &["fall", "spring"], None),
            class("c-gp", "sch-1", &["gp1"], None),
        ],
        users: vec![
            user("stu-2", UserRole::Student, "kid.two", &["par-1"]),
            user("stu-1", UserRole::Student, "kid.one", &[]),
            user("tea-1", UserRole::Teacher, "teach", &[]),
            user("aide-1", UserRole::Aide, "helper", &[]),
            user("par-1", UserRole::Parent, "mum", &["stu-1"]),
        ],
        enrollments: vec![
            enrollment("e1", 0, 0, EnrollmentRole::Student),
            enrollment("e2", 0, 1, EnrollmentRole::Student),
            enrollment("e3", 0, 2, EnrollmentRole::Teacher),
            enrollment("e4", 0, 3, EnrollmentRole::Teacher),
            enrollment("e5", 1, 2, EnrollmentRole::Administrator),
        ],
        demographics: vec![],
    }
}

#[test]
fn schools_become_sub_accounts_under_the_optional_root() {
    let m = map(&roster(), &MappingConfig::default());
    let ids: Vec<&str> = m
        .desired
        .accounts
        .iter()
        .map(|a| a.sis_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["sch-1"],
        "the district org maps to the root account, not a sub-account"
    );
    assert_eq!(m.desired.accounts[0].parent, None);

    let config = MappingConfig {
        root_account: Some(RootAccount {
            sis_id: "root".into(),
            name: "District".into(),
        }),
        ..Default::default()
    };
    let m = map(&roster(), &config);
    let ids: Vec<&str> = m
        .desired
        .accounts
        .iter()
        .map(|a| a.sis_id.as_str())
        .collect();
    assert_eq!(ids, ["root", "sch-1"]);
    assert_eq!(m.desired.accounts[1].parent, Some(id("root")));
}

#[test]
fn semesters_become_terms_and_a_year_long_class_goes_in_the_school_year() {
    let m = map(&roster(), &MappingConfig::default());
    let terms: Vec<&str> = m.desired.terms.iter().map(|t| t.sis_id.as_str()).collect();
    assert_eq!(terms, ["fall", "spring", "sy"]);
    let course = |sid: &str| {
        m.desired
            .courses
            .iter()
            .find(|c| c.sis_id.as_str() == sid)
            .unwrap()
    };
    assert_eq!(course("c-fall").term, Some(id("fall")));
    assert_eq!(
        course("c-year").term,
        Some(id("sy")),
        "two semesters with a common parent"
    );
    assert_eq!(
        course("c-gp").term,
        Some(id("fall")),
        "a grading period counts its semester"
    );
    // Dates are carried over from the sessions.
    assert_eq!(
        (course("c-year").start, course("c-year").end),
        (Some(d("2026-08-17")), Some(d("2027-06-11")))
    );
    assert_eq!(course("c-fall").end, Some(d("2027-01-15")));
    let fall = m.desired.row(Kind::Terms, 0);
    assert_eq!(
        (fall.get("start_date"), fall.get("end_date")),
        ("2026-08-17", "2027-01-15T23:59:59")
    );
}

#[test]
fn each_class_is_one_course_and_one_section_in_its_school_account() {
    let m = map(&roster(), &MappingConfig::default());
    assert_eq!(m.desired.courses.len(), 3);
    assert_eq!(m.desired.sections.len(), 3);
    let c = &m.desired.courses[0];
    assert_eq!(
        (
            c.sis_id.as_str(),
            c.short_name.as_str(),
            c.long_name.as_str()
        ),
        ("c-fall", "MATH-1", "Class c-fall")
    );
    assert_eq!(c.account, Some(id("sch-1")));
    let s = &m.desired.sections[0];
    assert_eq!((s.sis_id.as_str(), s.course.as_str()), ("c-fall", "c-fall"));
}

#[test]
fn users_get_logins_from_username_then_email_and_disabled_users_are_suspended() {
    let mut r = roster();
    r.users[1].edit_texts(|t| t.username = "".into());
    r.users[2].enabled = false;
    let m = map(&r, &MappingConfig::default());
    let u = |sid: &str| {
        m.desired
            .users
            .iter()
            .find(|u| u.sis_id.as_str() == sid)
            .unwrap()
    };
    assert_eq!(u("stu-2").login_id.as_str(), "kid.two");
    assert_eq!(u("stu-1").login_id.as_str(), "stu-1@example.org");
    assert_eq!(u("tea-1").status, Status::Suspended);
    assert_eq!(u("stu-2").status, Status::Active);
}

#[test]
fn roles_map_student_teacher_and_aide_to_ta_and_other_roles_are_reported() {
    let m = map(&roster(), &MappingConfig::default());
    let roles: Vec<(String, CanvasRole)> = m
        .desired
        .enrollments
        .iter()
        .map(|e| {
            (
                m.desired.users[e.user as usize].sis_id.to_string(),
                e.role.clone(),
            )
        })
        .collect();
    assert!(roles.contains(&("stu-1".into(), CanvasRole::Student)));
    assert!(roles.contains(&("tea-1".into(), CanvasRole::Teacher)));
    assert!(roles.contains(&("aide-1".into(), CanvasRole::Ta)));
    assert_eq!(roles.len(), 4, "the administrator enrollment is not synced");
    assert!(m
        .diagnostics
        .iter()
        .any(|d| d.code == "role-not-synced" && d.message.contains("administrator")));
}

#[test]
fn parents_observe_their_students_from_either_direction_of_agent_links() {
    let m = map(&roster(), &MappingConfig::default());
    let mut links: Vec<(String, String)> = (0..m.desired.observers.len())
        .map(|i| {
            let row = m.desired.row(Kind::UserObservers, i);
            (
                row.get("observer_id").to_string(),
                row.get("student_id").to_string(),
            )
        })
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            ("par-1".to_string(), "stu-1".to_string()),
            ("par-1".to_string(), "stu-2".to_string())
        ]
    );
}

#[test]
fn a_duplicate_login_is_an_error_and_the_second_user_is_left_out() {
    let mut r = roster();
    r.users[1].edit_texts(|t| t.username = "KID.TWO".into());
    let m = map(&r, &MappingConfig::default());
    let e = m
        .diagnostics
        .iter()
        .find(|d| d.code == "duplicate-login")
        .unwrap();
    assert_eq!(e.sis_id.as_deref(), Some("stu-1"));
    assert!(m.desired.users.iter().all(|u| u.sis_id.as_str() != "stu-1"));
    assert!(m
        .diagnostics
        .iter()
        .any(|d| d.code == "enrollment-user-not-synced"));
}

#[test]
fn duplicate_enrollments_collapse_to_one_with_a_warning() {
    let mut r = roster();
    r.enrollments
        .push(enrollment("e1-again", 0, 0, EnrollmentRole::Student));
    let m = map(&r, &MappingConfig::default());
    assert_eq!(m.desired.enrollments.len(), 4);
    assert!(m
        .diagnostics
        .iter()
        .any(|d| d.code == "duplicate-enrollment"));
}

#[test]
fn output_is_deterministic() {
    let a = map(&roster(), &MappingConfig::default()).desired;
    let b = map(&roster(), &MappingConfig::default()).desired;
    assert_eq!(a, b);
}

#[test]
fn of_duplicate_enrollments_the_first_in_source_order_is_kept_and_order_is_preserved() {
    let mut r = roster();
    let at = |mut e: Enrollment, line: u32| {
        e.src = src(SourceTable::Enrollments, line);
        e
    };
    r.enrollments = vec![
        at(enrollment("a", 1, 0, EnrollmentRole::Student), 2),
        at(enrollment("b", 0, 0, EnrollmentRole::Student), 3),
        at(enrollment("c", 1, 0, EnrollmentRole::Student), 4),
        at(enrollment("d", 1, 2, EnrollmentRole::Teacher), 5),
        at(enrollment("e", 0, 0, EnrollmentRole::Student), 6),
        at(enrollment("f", 1, 2, EnrollmentRole::Student), 7),
    ];
    let m = map(&r, &MappingConfig::default());
    let lines = enrollment_lines(&m);
    assert_eq!(
        lines,
        [2, 3, 5, 7],
        "c and e repeat a and b; f is another role"
    );
    let dups = duplicate_warnings(&m);
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0].location.as_ref().and_then(|l| l.line), Some(4));
    assert!(
        dups[0].message.contains("line 2") || dups[0].message.contains(":2"),
        "{}",
        dups[0].message
    );
    assert_eq!(dups[1].location.as_ref().and_then(|l| l.line), Some(6));
}

#[test]
fn a_user_with_many_enrollments_keeps_the_first_of_each_repeat_too() {
    // A teacher in 30 classes, each class twice (the repeat 30 rows later), plus a third
    // row as a student: users with more than a handful of enrollments take another path.
    let mut r = roster();
    for c in 0..30 {
        r.classes
            .push(class(&format!("extra-{c}"), "sch-1", &["fall"], None));
    }
    let first_extra = (r.classes.len() - 30) as u32;
    r.enrollments.clear();
    let mut line = 1;
    let mut add = |r: &mut Roster, c: u32, role: EnrollmentRole| {
        line += 1;
        let mut e = enrollment(&format!("e{line}"), first_extra + c, 2, role);
        e.src = src(SourceTable::Enrollments, line);
        r.enrollments.push(e);
    };
    for c in 0..30 {
        add(&mut r, c, EnrollmentRole::Teacher);
    }
    for c in 0..30 {
        add(&mut r, c, EnrollmentRole::Teacher);
    }
    add(&mut r, 0, EnrollmentRole::Student);
    assert!(matches!(r.users[2].role, UserRole::Teacher));
    let m = map(&r, &MappingConfig::default());
    let lines = enrollment_lines(&m);
    let expected: Vec<u32> = (2..32).chain([62]).collect();
    assert_eq!(
        lines, expected,
        "the first 30 rows and the student row stay"
    );
    let dups = duplicate_warnings(&m);
    assert_eq!(dups.len(), 30);
    assert_eq!(dups[0].location.as_ref().and_then(|l| l.line), Some(32));
}

#[test]
fn an_unsynced_role_of_an_unmapped_user_counts_as_a_user_left_out() {
    let mut r = roster();
    // tea-1 loses its login to a clash, so its administrator enrollment (e5) is left out
    // because of the user, not the role.
    r.users[2].edit_texts(|t| t.username = "KID.TWO".into());
    let m = map(&r, &MappingConfig::default());
    assert!(!m.diagnostics.iter().any(|d| d.code == "role-not-synced"));
    let d = m
        .diagnostics
        .iter()
        .find(|d| d.code == "enrollment-user-not-synced")
        .unwrap();
    assert!(d.message.starts_with("2 enrollment(s)"), "{}", d.message);
}

#[test]
fn mapping_a_consumed_roster_gives_the_same_result_as_a_borrowed_one() {
    let mut r = roster();
    r.enrollments
        .push(enrollment("e1-again", 0, 0, EnrollmentRole::Student));
    let borrowed = map(&r, &MappingConfig::default());
    let owned = rosterbridge_mapping::map_owned(
        r,
        &MappingConfig::default(),
        &rosterbridge_mapping::MapContext::default(),
    );
    assert_eq!(owned.desired, borrowed.desired);
    assert_eq!(owned.diagnostics, borrowed.diagnostics);
    assert!(!owned.desired.enrollments.is_empty());
}
