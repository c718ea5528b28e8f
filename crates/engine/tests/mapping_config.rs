//! Every mapping option from the TOML file, shown by its effect on a plan built from a real
//! OneRoster 1.1 CSV package (written to a temp folder) against a real SQLite state store.

use chrono::NaiveDate;
use rosterbridge_config::Config;
use rosterbridge_engine::{
    apply, open_store, prepare_on, ApplyOptions, EngineError, Prepared, Quiet,
};
use rosterbridge_model::kind::Kind;
use rosterbridge_plan::{Action, Plan};
use rosterbridge_sink::folder::FolderSink;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.academicSessions,bulk\nfile.categories,absent\nfile.classes,bulk\nfile.classResources,absent\nfile.courses,bulk\nfile.courseResources,absent\nfile.demographics,absent\nfile.enrollments,bulk\nfile.lineItems,absent\nfile.orgs,bulk\nfile.resources,absent\nfile.results,absent\nfile.users,bulk\n";

const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
dist,,,Springfield District,district,,\n\
sch-1,,,Springfield High,school,SHS,dist\n\
sch-2,,,Shelbyville High,school,SBH,dist\n";

const SESSIONS: &str =
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
sy-2026,,,2025-2026,schoolYear,2025-08-18,2026-06-12,,2026\n\
fall-2025,,,Fall 2025,semester,2025-08-18,2026-01-16,sy-2026,2026\n\
sy-2027,,,2026-2027,schoolYear,2026-08-17,2027-06-11,,2027\n\
fall-2026,,,Fall 2026,semester,2026-08-17,2027-01-15,sy-2027,2027\n\
spring-2027,,,Spring 2027,semester,2027-01-18,2027-06-11,sy-2027,2027\n";

const COURSES: &str = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n\
crs-phys,,,sy-2027,Physics,PHY,\"09,10\",sch-1,Science,\n\
crs-math,,,sy-2027,Mathematics,MTH,11,sch-2,Math,\n";

const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
cls-001,,,Physics - P1,\"09,10\",crs-phys,PHY-1,scheduled,Room 2,sch-1,fall-2026,Science,\"PHY,LAB\",1\n\
cls-002,,,Physics - P2,10,crs-phys,PHY-2,scheduled,Room 2,sch-1,fall-2026,Science,,2\n\
cls-003,,,Mathematics A,11,crs-math,MTH-A,scheduled,Room 9,sch-2,\"fall-2026,spring-2027\",Math,,3\n\
cls-old,,,Physics 2025,10,crs-phys,PHY-OLD,scheduled,Room 2,sch-1,fall-2025,Science,,1\n";

const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
t-1,,,true,sch-1,teacher,mkrabappel,,Edna,Krabappel,,T001,Edna@Springfield.edu,,,,,\n\
a-1,,,true,sch-1,aide,ahoover,,Allison,Hoover,,A001,hoover@springfield.edu,,,,,\n\
t-2,,,true,sch-2,teacher,jlargo,,Dewey,Largo,,T002,largo@springfield.edu,,,,,\n\
m-1,,,true,sch-2,teacher,skinner,,Seymour,Skinner,,T003,skinner@springfield.edu,,,,,\n\
007,,,true,sch-1,student,bart,,Bart,Simpson,JoJo,0007,bart@springfield.edu,,,p-1,10,\n\
008,,,true,sch-1,student,lisa,,Lisa,Simpson,,0008,lisa@springfield.edu,,,p-1,09,\n\
009,,,true,sch-2,student,milhouse,,Milhouse,Van Houten,,0009,mvh@springfield.edu,,,,11,\n\
s-9,,,true,sch-1,student,nelson,,Nelson,Muntz,,0010,nelson@springfield.edu,,,,10,\n\
p-1,,,true,sch-1,parent,marge,,Marge,Simpson,,,marge@example.org,,,\"007,008\",,\n";

const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
e-1,,,cls-001,sch-1,t-1,teacher,true,,\n\
e-2,,,cls-001,sch-1,007,student,false,,\n\
e-3,,,cls-001,sch-1,008,student,false,,\n\
e-4,,,cls-002,sch-1,t-1,teacher,true,,\n\
e-5,,,cls-002,sch-1,007,student,false,,\n\
e-6,,,cls-001,sch-1,a-1,teacher,false,,\n\
e-7,,,cls-003,sch-2,t-2,teacher,false,,\n\
e-8,,,cls-003,sch-2,m-1,ext:mentor,,,\n\
e-9,,,cls-003,sch-2,009,student,false,,\n\
e-10,,,cls-old,sch-1,008,student,false,,\n";

const CANVAS: &str = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:1\"\naccount_id = 1\n";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A district on disk with a configuration beside it.
struct District {
    dir: tempfile::TempDir,
}

impl District {
    fn new() -> District {
        let d = District {
            dir: tempfile::tempdir().unwrap(),
        };
        for (name, text) in [
            ("manifest.csv", MANIFEST),
            ("orgs.csv", ORGS),
            ("academicSessions.csv", SESSIONS),
            ("courses.csv", COURSES),
            ("classes.csv", CLASSES),
            ("users.csv", USERS),
            ("enrollments.csv", ENROLLMENTS),
        ] {
            d.write(name, text);
        }
        d
    }
    fn write(&self, name: &str, text: &str) {
        let p = self.dir.path().join("district").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn config(&self, extra: &str) -> Config {
        let path = self.dir.path().join("rb.toml");
        std::fs::write(&path, format!("{CANVAS}{extra}")).unwrap();
        Config::load(&path).unwrap_or_else(|e| panic!("{:#?}", e.diagnostics()))
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("rb.state.db")
    }
    /// Plans as of `on` against the state file.
    fn plan(&self, config: &Config, on: &str) -> Prepared {
        let store = open_store(&self.state()).unwrap();
        prepare_on(config, &store, &Quiet, day(on)).unwrap_or_else(|e| panic!("{e}"))
    }
    /// Plans and records the plan as applied (folder sink), so the next plan diffs against it.
    fn apply(&self, config: &Config, on: &str) -> Prepared {
        let mut store = open_store(&self.state()).unwrap();
        let prepared =
            prepare_on(config, &store, &Quiet, day(on)).unwrap_or_else(|e| panic!("{e}"));
        let mut sink = FolderSink {
            out_dir: self.dir.path().join("out"),
        };
        apply(
            config,
            &mut store,
            &prepared,
            &mut sink,
            ApplyOptions {
                allow_removals: true,
                ..Default::default()
            },
            &Quiet,
            "apply",
        )
        .unwrap();
        prepared
    }
}

fn changes(plan: &Plan, kind: Kind) -> Vec<(String, Action)> {
    plan.changes_of(kind)
        .map(|c| (rosterbridge_plan::display(&plan.key(c)), c.action))
        .collect()
}

fn keys(plan: &Plan, kind: Kind) -> Vec<String> {
    changes(plan, kind).into_iter().map(|(k, _)| k).collect()
}

fn skipped(plan: &Plan, kind: Kind) -> Vec<(String, String)> {
    plan.skipped
        .iter()
        .filter(|s| s.change.kind == kind)
        .map(|s| {
            (
                rosterbridge_plan::display(&plan.key(&s.change)),
                s.reason.describe(),
            )
        })
        .collect()
}

fn row(plan: &Plan, kind: Kind, key: &str) -> rosterbridge_model::Row {
    let c = plan
        .changes_of(kind)
        .find(|c| rosterbridge_plan::display(&plan.key(c)) == key)
        .unwrap_or_else(|| panic!("no {kind} {key}: {:?}", keys(plan, kind)));
    plan.row(c)
}

const PROFILE: &str = "\n[[profiles]]\nname = \"2026-2027\"\nstart = 2026-08-01\nend = 2027-07-31\nacademic_period = \"sy-2027\"\n";

// 1. Execution profiles.

#[test]
fn without_options_the_plan_is_todays_default() {
    let d = District::new();
    let p = d.plan(&d.config(""), "2026-09-01");
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        ["cls-001", "cls-002", "cls-003", "cls-old"]
    );
    assert_eq!(p.profile, None);
    assert!(p.plan.skipped.is_empty());
}

#[test]
fn a_profile_limits_the_plan_to_its_academic_period() {
    let d = District::new();
    let p = d.plan(&d.config(PROFILE), "2026-09-01");
    assert_eq!(p.profile.as_deref(), Some("2026-2027"));
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        ["cls-001", "cls-002", "cls-003"]
    );
    assert_eq!(
        keys(&p.plan, Kind::Terms),
        ["fall-2026", "spring-2027", "sy-2027"],
        "fall-2025 is outside the period"
    );
    assert!(!keys(&p.plan, Kind::Enrollments)
        .iter()
        .any(|k| k.starts_with("cls-old")));
}

#[test]
fn classes_of_another_academic_period_are_left_as_they_are_not_removed() {
    let d = District::new();
    d.apply(&d.config(""), "2026-09-01");
    let p = d.plan(
        &d.config(&format!(
            "{PROFILE}\n[mapping]\ncourse_removal = \"completed\"\nsection_removal = \"deleted\"\n"
        )),
        "2026-09-02",
    );
    assert!(
        p.plan.changes.is_empty(),
        "{:?}",
        p.plan
            .changes
            .iter()
            .map(|c| (c.kind, p.plan.key(c)))
            .collect::<Vec<_>>()
    );
    assert!(
        p.diagnostics
            .iter()
            .any(|x| x.code == "kept-outside-academic-period"
                && x.message.starts_with("3 removal(s)")),
        "{:?}",
        p.diagnostics
    );
    assert!(p
        .diagnostics
        .iter()
        .any(|x| x.code == "outside-academic-period"));
}

#[test]
fn an_academic_period_missing_from_the_source_is_an_error_not_a_mass_removal() {
    let d = District::new();
    let p = d.plan(
        &d.config(&PROFILE.replace("sy-2027", "sy-2072")),
        "2026-09-01",
    );
    assert!(
        p.diagnostics
            .iter()
            .any(|x| x.code == "academic-period-unknown"
                && x.severity == rosterbridge_model::Severity::Error),
        "{:?}",
        p.diagnostics
    );
}

#[test]
fn no_active_profile_means_nothing_to_do_and_a_named_profile_runs_anyway() {
    let d = District::new();
    let mut c = d.config(PROFILE);
    let store = open_store(&d.state()).unwrap();
    match prepare_on(&c, &store, &Quiet, day("2027-09-01")) {
        Err(EngineError::NoActiveProfile { message }) => assert!(
            message.contains("nothing to do") && message.contains("2026-2027"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    c.requested_profile = Some("2026-2027".into());
    let p = prepare_on(&c, &store, &Quiet, day("2027-09-01")).unwrap();
    assert_eq!(p.profile.as_deref(), Some("2026-2027"));
}

#[test]
fn course_template_period_subject_makes_a_course_per_subject_and_term_with_classes_as_sections() {
    let d = District::new();
    let p = d.plan(
        &d.config(&format!("{PROFILE}course_template = \"period+subject\"\n")),
        "2026-09-01",
    );
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        ["fall-2026~crs-phys", "sy-2027~crs-math"]
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "fall-2026~crs-phys").get("short_name"),
        "PHY"
    );
    assert_eq!(
        keys(&p.plan, Kind::Sections),
        ["cls-001", "cls-002", "cls-003"]
    );
    assert_eq!(
        row(&p.plan, Kind::Sections, "cls-002").get("course_id"),
        "fall-2026~crs-phys"
    );
    assert!(keys(&p.plan, Kind::Enrollments).contains(&"cls-002 / 007 / student".to_string()));
}

#[test]
fn course_templates_with_group_subjects_make_a_section_per_subject_code() {
    let d = District::new();
    let p = d.plan(
        &d.config(&format!(
            "{PROFILE}course_template = \"period+groupsubject\"\n"
        )),
        "2026-09-01",
    );
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        [
            "cls-001~PHY",
            "cls-001~LAB",
            "cls-002~crs-phys",
            "cls-003~crs-math"
        ]
    );
    let e = keys(&p.plan, Kind::Enrollments);
    assert!(
        e.contains(&"cls-001~PHY / 007 / student".to_string())
            && e.contains(&"cls-001~LAB / 007 / student".to_string()),
        "{e:?}"
    );

    let p = d.plan(
        &d.config(&format!(
            "{PROFILE}course_template = \"group+groupsubject\"\n"
        )),
        "2026-09-01",
    );
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        ["cls-001", "cls-002", "cls-003"]
    );
    assert_eq!(row(&p.plan, Kind::Courses, "cls-001").get("term_id"), "");
    assert_eq!(
        row(&p.plan, Kind::Sections, "cls-001~LAB").get("course_id"),
        "cls-001"
    );
}

// 2. Actions per entity and role.

const ACTIONS: &str = "\n[mapping.actions]\nusers = { student = [\"create\", \"update\", \"deactivate\"], teacher = [\"update\", \"deactivate\"], parent = [], staff = [\"update\"] }\n";

#[test]
fn actions_not_allowed_for_a_role_are_skipped_with_the_reason_and_so_are_their_enrollments() {
    let d = District::new();
    let p = d.plan(&d.config(ACTIONS), "2026-09-01");
    let created = keys(&p.plan, Kind::Users);
    assert_eq!(
        created,
        ["007", "008", "009", "s-9"],
        "only students are created"
    );
    let users = skipped(&p.plan, Kind::Users);
    assert!(
        users.contains(&(
            "t-1".into(),
            "skipped: mapping.actions.users.teacher does not allow create".into()
        )),
        "{users:?}"
    );
    assert!(users.contains(&(
        "p-1".into(),
        "skipped: mapping.actions.users.parent does not allow create".into()
    )));
    assert!(users.contains(&(
        "a-1".into(),
        "skipped: mapping.actions.users.staff does not allow create".into()
    )));
    let enrollments = skipped(&p.plan, Kind::Enrollments);
    assert!(
        enrollments.contains(&(
            "cls-001 / t-1 / teacher".into(),
            "skipped: its user is not created in this run".into()
        )),
        "{enrollments:?}"
    );
    assert_eq!(p.plan.summary[&Kind::Users].create, 4);
    assert_eq!(p.plan.summary[&Kind::Users].skipped, 5);
    let text = rosterbridge_plan::render::text(&p.plan, 10);
    assert!(
        text.contains("skipped by the configuration")
            && text.contains("mapping.actions.users.parent does not allow create"),
        "{text}"
    );
    let json = rosterbridge_plan::render::json(&p.plan, &[]);
    assert!(json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["key"] == "t-1"));
}

#[test]
fn a_deactivation_not_allowed_for_students_is_skipped_even_when_the_user_is_gone_from_the_source() {
    let d = District::new();
    d.apply(&d.config(""), "2026-09-01");
    // Milhouse leaves: user and enrollment gone from the source.
    d.write(
        "users.csv",
        &USERS
            .lines()
            .filter(|l| !l.starts_with("009,"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    d.write(
        "enrollments.csv",
        &ENROLLMENTS
            .lines()
            .filter(|l| !l.starts_with("e-9,"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let allowed = d.plan(&d.config(""), "2026-09-02");
    assert_eq!(
        changes(&allowed.plan, Kind::Users),
        [("009".into(), Action::Deactivate)]
    );
    let p = d.plan(
        &d.config("\n[mapping.actions]\nusers = { student = [\"create\", \"update\"] }\n"),
        "2026-09-02",
    );
    assert!(changes(&p.plan, Kind::Users).is_empty());
    assert_eq!(
        skipped(&p.plan, Kind::Users),
        [(
            "009".into(),
            "skipped: mapping.actions.users.student does not allow deactivate".into()
        )]
    );
    assert_eq!(
        changes(&p.plan, Kind::Enrollments),
        [("cls-003 / 009 / student".into(), Action::Delete)]
    );
}

// 4. Field mappings.

#[test]
fn field_mappings_build_logins_names_and_course_names_from_templates() {
    let d = District::new();
    let p = d.plan(
        &d.config("\n[mapping.fields.users]\nlogin_id = { property = \"email\", case = \"lower\" }\nfull_name = \"{givenName} {middleName} {familyName}\"\nintegration_id = { property = \"identifier\" }\n\n[mapping.fields.courses]\nlong_name = \"{courseTitle} {classCode} ({termTitle})\"\nshort_name = { template = \"{classCode}\", case = \"lower\" }\n\n[mapping.fields.sections]\nname = { static = \"Main section\" }\n\n[mapping.fields.terms]\nname = \"{title} ({schoolYear})\"\n\n[mapping.fields.accounts]\nname = { property = \"name\", case = \"upper\" }\n"),
        "2026-09-01",
    );
    let t1 = row(&p.plan, Kind::Users, "t-1");
    assert_eq!(t1.get("login_id"), "edna@springfield.edu");
    assert_eq!(
        t1.get("full_name"),
        "Edna Krabappel",
        "the empty middle name leaves no double space"
    );
    assert_eq!(t1.get("integration_id"), "T001");
    assert_eq!(
        row(&p.plan, Kind::Users, "007").get("full_name"),
        "Bart JoJo Simpson"
    );
    let c = row(&p.plan, Kind::Courses, "cls-001");
    assert_eq!(c.get("long_name"), "Physics PHY-1 (Fall 2026)");
    assert_eq!(c.get("short_name"), "phy-1");
    assert_eq!(
        row(&p.plan, Kind::Sections, "cls-002").get("name"),
        "Main section"
    );
    assert_eq!(
        row(&p.plan, Kind::Terms, "fall-2026").get("name"),
        "Fall 2026 (2027)"
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "sch-1").get("name"),
        "SPRINGFIELD HIGH"
    );
}

// 5. Terms and accounts.

#[test]
fn terms_from_the_academic_period_or_its_semesters() {
    let d = District::new();
    let p = d.plan(
        &d.config(&format!(
            "{PROFILE}\n[mapping.terms]\nfrom = \"academic_period\"\n"
        )),
        "2026-09-01",
    );
    assert_eq!(keys(&p.plan, Kind::Terms), ["sy-2027"]);
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-001").get("term_id"),
        "sy-2027"
    );
    let p = d.plan(
        &d.config(&format!(
            "{PROFILE}\n[mapping.terms]\nfrom = \"semesters\"\n"
        )),
        "2026-09-01",
    );
    assert_eq!(keys(&p.plan, Kind::Terms), ["fall-2026"]);
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-003").get("term_id"),
        "fall-2026",
        "a class over two semesters goes in its first"
    );
}

#[test]
fn account_levels_build_a_hierarchy_under_the_root_sub_account() {
    let d = District::new();
    let p = d.plan(&d.config("\n[mapping.root_account]\nsis_id = \"root\"\nname = \"All schools\"\n\n[mapping.accounts]\nlevels = [\"institute\", \"school\", \"grade\"]\n"), "2026-09-01");
    assert_eq!(
        keys(&p.plan, Kind::Accounts),
        [
            "root",
            "dist",
            "sch-1",
            "sch-2",
            "sch-1~grade-09",
            "sch-1~grade-10",
            "sch-2~grade-11"
        ]
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "dist").get("parent_account_id"),
        "root"
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "sch-1").get("parent_account_id"),
        "dist"
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "sch-1~grade-09").get("name"),
        "Grade 09"
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-001").get("account_id"),
        "sch-1~grade-09"
    );
    let p = d.plan(
        &d.config("\n[mapping.accounts]\nlevels = [\"school\", \"marking_period\"]\n"),
        "2026-09-01",
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-003").get("account_id"),
        "sch-2~sy-2027"
    );
}

#[test]
fn a_stream_level_groups_classes_by_a_class_property_under_their_grade() {
    let d = District::new();
    // By default a stream is named after the class's subjects.
    let p = d.plan(
        &d.config("\n[mapping.accounts]\nlevels = [\"school\", \"grade\", \"stream\"]\n"),
        "2026-09-01",
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-002").get("account_id"),
        "sch-1~grade-10~stream-Science"
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "sch-1~grade-10~stream-Science").get("name"),
        "Science"
    );
    assert_eq!(
        row(&p.plan, Kind::Accounts, "sch-1~grade-10~stream-Science").get("parent_account_id"),
        "sch-1~grade-10"
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-003").get("account_id"),
        "sch-2~grade-11~stream-Math"
    );
    // Or after another class property, e.g. its location.
    let p = d.plan(
        &d.config(
            "\n[mapping.accounts]\nlevels = [\"school\", \"stream\"]\nstream = \"location\"\n",
        ),
        "2026-09-01",
    );
    assert_eq!(
        row(&p.plan, Kind::Courses, "cls-003").get("account_id"),
        "sch-2~stream-Room 9"
    );
}

// 6. Enrollments.

#[test]
fn roles_map_to_base_and_custom_canvas_roles() {
    let d = District::new();
    let p = d.plan(&d.config("\n[mapping.enrollments]\nroles = { aide = \"designer\", secondary_teacher = \"ta\", mentor = \"Mentor\", student = \"student\" }\n"), "2026-09-01");
    let e = keys(&p.plan, Kind::Enrollments);
    for want in [
        "cls-001 / a-1 / designer",
        "cls-003 / t-2 / ta",
        "cls-003 / m-1 / Mentor",
        "cls-001 / t-1 / teacher",
    ] {
        assert!(e.contains(&want.to_string()), "{want} not in {e:?}");
    }
    let mentor = row(&p.plan, Kind::Enrollments, "cls-003 / m-1 / Mentor");
    assert_eq!(
        (mentor.get("role"), mentor.get("role_id")),
        ("Mentor", ""),
        "the plan carries the name; the id is Canvas's"
    );
    // Without the mapping the ext: role is not synced.
    let p = d.plan(&d.config(""), "2026-09-01");
    assert!(!keys(&p.plan, Kind::Enrollments)
        .iter()
        .any(|k| k.contains("m-1")));
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == "role-not-synced" && d.message.contains("ext:mentor")));
}

#[test]
fn before_the_sync_start_date_student_enrollments_are_skipped() {
    let d = District::new();
    let c = d.config("\n[mapping.enrollments]\nsync_start = 2026-08-24\n");
    let before = d.plan(&c, "2026-08-20");
    assert!(keys(&before.plan, Kind::Enrollments)
        .iter()
        .all(|k| !k.ends_with("/ student")));
    assert!(keys(&before.plan, Kind::Enrollments).contains(&"cls-001 / t-1 / teacher".to_string()));
    assert!(skipped(&before.plan, Kind::Enrollments)
        .iter()
        .any(|(k, r)| k == "cls-001 / 007 / student" && r.contains("synced from 2026-08-24")));
    let after = d.plan(&c, "2026-08-24");
    assert!(keys(&after.plan, Kind::Enrollments).contains(&"cls-001 / 007 / student".to_string()));
    assert!(after.plan.skipped.is_empty());
}

#[test]
fn users_without_enrollments_can_be_left_out_but_parents_of_enrolled_students_stay() {
    let d = District::new();
    let all = d.plan(&d.config(""), "2026-09-01");
    assert!(keys(&all.plan, Kind::Users).contains(&"s-9".to_string()));
    let p = d.plan(
        &d.config("\n[mapping.enrollments]\nsync_users_without_enrollments = false\n"),
        "2026-09-01",
    );
    let users = keys(&p.plan, Kind::Users);
    assert!(
        !users.contains(&"s-9".to_string()) && !users.contains(&"m-1".to_string()),
        "{users:?}"
    );
    assert!(users.contains(&"p-1".to_string()) && users.contains(&"007".to_string()));
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == "out-of-scope" && d.message.contains("no synced enrollment")));
}

#[test]
fn keep_previous_enrollments_never_unenrols() {
    let d = District::new();
    d.apply(&d.config(""), "2026-09-01");
    d.write(
        "enrollments.csv",
        &ENROLLMENTS
            .lines()
            .filter(|l| !l.starts_with("e-5,"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let p = d.plan(
        &d.config("\n[mapping.enrollments]\nkeep_previous = true\n"),
        "2026-09-02",
    );
    assert!(
        p.plan.changes.is_empty(),
        "{:?}",
        keys(&p.plan, Kind::Enrollments)
    );
    assert_eq!(
        skipped(&p.plan, Kind::Enrollments),
        [(
            "cls-002 / 007 / student".into(),
            "skipped: previous enrollments are kept (mapping.enrollments.keep_previous)".into()
        )]
    );
    let p = d.plan(&d.config(""), "2026-09-02");
    assert_eq!(
        changes(&p.plan, Kind::Enrollments),
        [("cls-002 / 007 / student".into(), Action::Delete)]
    );
}

#[test]
fn disabled_sync_for_new_sections_skips_new_sections_and_their_enrollments_only() {
    let d = District::new();
    d.apply(&d.config(""), "2026-09-01");
    d.write("classes.csv", &format!("{CLASSES}cls-004,,,Physics - P4,10,crs-phys,PHY-4,scheduled,Room 2,sch-1,fall-2026,Science,,4\n"));
    d.write("enrollments.csv", &format!("{ENROLLMENTS}e-11,,,cls-004,sch-1,007,student,false,,\ne-12,,,cls-002,sch-1,008,student,false,,\n"));
    let p = d.plan(
        &d.config("\n[mapping.enrollments]\ndisable_sync_for_new_sections = true\n"),
        "2026-09-02",
    );
    assert_eq!(skipped(&p.plan, Kind::Sections), [("cls-004".into(), "skipped: sync is disabled for new sections (mapping.enrollments.disable_sync_for_new_sections)".into())]);
    assert_eq!(
        skipped(&p.plan, Kind::Enrollments),
        [(
            "cls-004 / 007 / student".into(),
            "skipped: its section is not created in this run".into()
        )]
    );
    assert_eq!(
        changes(&p.plan, Kind::Enrollments),
        [("cls-002 / 008 / student".into(), Action::Create)],
        "existing sections still sync"
    );
}

// 7. Scope.

#[test]
fn scope_filters_schools_roles_and_grades() {
    let d = District::new();
    let p = d.plan(
        &d.config("\n[mapping.scope]\nschools = [\"SHS\"]\n"),
        "2026-09-01",
    );
    assert_eq!(
        keys(&p.plan, Kind::Courses),
        ["cls-001", "cls-002", "cls-old"]
    );
    assert_eq!(keys(&p.plan, Kind::Accounts), ["sch-1"]);
    assert!(!keys(&p.plan, Kind::Users).contains(&"009".to_string()));
    let p = d.plan(
        &d.config("\n[mapping.scope]\nroles = [\"student\", \"teacher\"]\n"),
        "2026-09-01",
    );
    assert!(!keys(&p.plan, Kind::Users).contains(&"p-1".to_string()));
    assert!(keys(&p.plan, Kind::UserObservers).is_empty());
    let p = d.plan(
        &d.config("\n[mapping.scope]\ngrades = [\"10\", \"11\"]\n"),
        "2026-09-01",
    );
    let users = keys(&p.plan, Kind::Users);
    assert!(
        !users.contains(&"008".to_string())
            && users.contains(&"007".to_string())
            && users.contains(&"t-1".to_string()),
        "{users:?}"
    );
}

#[test]
fn objects_leaving_the_scope_are_deactivated_visibly() {
    let d = District::new();
    d.apply(&d.config(""), "2026-09-01");
    let p = d.plan(
        &d.config("\n[mapping.scope]\nschools = [\"sch-1\"]\n"),
        "2026-09-02",
    );
    assert_eq!(
        changes(&p.plan, Kind::Users),
        [
            ("009".into(), Action::Deactivate),
            ("m-1".into(), Action::Deactivate),
            ("t-2".into(), Action::Deactivate)
        ]
    );
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == "out-of-scope" && d.message.contains("mapping.scope.schools")));
    let text = rosterbridge_plan::render::text(&p.plan, 10);
    assert!(
        text.contains("deactivate 009  (left the configured scope (suspended))"),
        "{text}"
    );
    assert!(
        text.contains("delete     cls-003 / 009 / student  (left the configured scope (deleted))"),
        "{text}"
    );
}

// 9. Golden Canvas CSV for a small district under a non-default configuration.

const GOLDEN_CONFIG: &str = "
[[profiles]]
name = \"2026-2027\"
start = 2026-08-01
end = 2027-07-31
academic_period = \"sy-2027\"
course_template = \"period+subject\"

[mapping.root_account]
sis_id = \"root\"
name = \"Springfield\"

[mapping.accounts]
levels = [\"institute\", \"school\"]

[mapping.fields.users]
login_id = { property = \"email\", case = \"lower\" }
full_name = \"{givenName} {middleName} {familyName}\"
sortable_name = \"{familyName}, {givenName}\"

[mapping.fields.courses]
long_name = \"{courseTitle} ({termTitle})\"

[mapping.enrollments]
roles = { mentor = \"Mentor\", secondary_teacher = \"ta\", aide = \"ta\" }
sync_users_without_enrollments = false

[mapping.actions]
users = { parent = [] }
";

#[test]
fn golden_canvas_csv_of_a_small_district_under_a_non_default_configuration() {
    let d = District::new();
    let p = d.plan(&d.config(GOLDEN_CONFIG), "2026-09-01");
    // The parent is not created (parent = []), so neither are its observer links.
    assert_eq!(skipped(&p.plan, Kind::UserObservers).len(), 2);
    assert_eq!(
        skipped(&p.plan, Kind::Users),
        [(
            "p-1".into(),
            "skipped: mapping.actions.users.parent does not allow create".into()
        )]
    );
    let out = d.dir.path().join("csv");
    rosterbridge_canvas::csv::write_folder(&p.plan, &out).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/custom-config");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&golden).unwrap();
        for n in &names {
            std::fs::copy(out.join(n), golden.join(n)).unwrap();
        }
    }
    let mut want: Vec<String> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(names, want);
    for n in &names {
        let got = std::fs::read_to_string(out.join(n)).unwrap();
        let exp = std::fs::read_to_string(golden.join(n)).unwrap();
        assert_eq!(
            got, exp,
            "{n} differs from tests/golden/custom-config/{n} (UPDATE_GOLDEN=1 rewrites it)"
        );
    }
}
