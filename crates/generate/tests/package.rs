//! The package itself: columns, manifest, sizes, referential integrity, awkward values.

mod common;

use std::collections::{HashMap, HashSet};

use common::{generate, list, Table, ROSTER_FILES};
use rosterbridge_generate::{write_oneroster_csv, DistrictSpec, GenerateError, Phase};

/// OneRoster 1.1 CSV columns in spec order (shared/specs/oneroster.md §2.4), typed out here
/// independently of the generator's constants.
const SPEC_HEADERS: [(&str, &str); 6] = [
    ("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"),
    (
        "academicSessions.csv",
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    ),
    (
        "courses.csv",
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes",
    ),
    (
        "classes.csv",
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    ),
    (
        "users.csv",
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
    ),
    (
        "enrollments.csv",
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
    ),
];

#[test]
fn headers_are_the_1_1_columns_in_order_and_bulk_rows_leave_status_blank() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 600, 3, 0.0);
    for (file, header) in SPEC_HEADERS {
        let raw = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(raw.lines().next().unwrap(), header, "{file}");
        assert!(!raw.contains('\r'), "{file}: LF line endings only");
        assert!(raw.ends_with('\n'));
        let t = Table::read(dir.path(), file);
        for r in &t.rows {
            assert_eq!(r.len(), t.header.len(), "{file}: {r:?}");
            assert_eq!(
                (r[1].as_str(), r[2].as_str()),
                ("", ""),
                "{file}: bulk rows leave status blank"
            );
        }
    }
}

#[test]
fn manifest_lists_all_13_files_and_only_bulk_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 300, 1, 0.0);
    let m = Table::read(dir.path(), "manifest.csv");
    assert_eq!(m.header, ["propertyName", "value"]);
    let props: HashMap<&str, &str> = m
        .rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(props.len(), m.rows.len(), "no duplicate properties");
    assert_eq!(props["manifest.version"], "1.0");
    assert_eq!(props["oneroster.version"], "1.1");
    let bulk = [
        "academicSessions",
        "classes",
        "courses",
        "enrollments",
        "orgs",
        "users",
    ];
    let absent = [
        "categories",
        "classResources",
        "courseResources",
        "demographics",
        "lineItems",
        "resources",
        "results",
    ];
    for f in bulk {
        assert_eq!(props[format!("file.{f}").as_str()], "bulk", "{f}");
        assert!(
            dir.path().join(format!("{f}.csv")).is_file(),
            "{f}.csv written"
        );
    }
    for f in absent {
        assert_eq!(props[format!("file.{f}").as_str()], "absent", "{f}");
        assert!(
            !dir.path().join(format!("{f}.csv")).exists(),
            "{f}.csv not written"
        );
    }
    assert_eq!(props.keys().filter(|k| k.starts_with("file.")).count(), 13);
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk.len(), 7, "{on_disk:?}");
}

#[test]
fn sizes_scale_like_a_real_district_and_summary_matches_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(dir.path(), 1_000, 42, 0.0);
    let n = s.students as f64;
    assert_eq!(s.students, 1_000);
    assert!(
        (2.2..2.8).contains(&(s.users as f64 / n)),
        "users per student {}",
        s.users as f64 / n
    );
    assert!(
        (6.8..8.3).contains(&(s.enrollments as f64 / n)),
        "enrollments per student {}",
        s.enrollments as f64 / n
    );
    assert!(
        (1.2..1.6).contains(&(s.parents as f64 / n)),
        "parents per student {}",
        s.parents as f64 / n
    );
    assert!(
        (0.03..0.08).contains(&(s.teachers as f64 / n)),
        "teachers per student {}",
        s.teachers as f64 / n
    );
    assert!(s.aides > 0);
    assert_eq!(s.users, s.students + s.teachers + s.aides + s.parents);
    assert_eq!(s.sessions, 7);
    assert_eq!(s.changes, Default::default());

    let rows = |f: &str| Table::read(dir.path(), f).rows.len();
    assert_eq!(rows("orgs.csv"), s.orgs);
    assert_eq!(rows("academicSessions.csv"), s.sessions);
    assert_eq!(rows("courses.csv"), s.courses);
    assert_eq!(rows("classes.csv"), s.classes);
    assert_eq!(rows("users.csv"), s.users);
    assert_eq!(rows("enrollments.csv"), s.enrollments);
    for f in &s.files {
        assert_eq!(rows(&f.name), f.rows, "{}", f.name);
        assert_eq!(
            std::fs::metadata(dir.path().join(&f.name)).unwrap().len(),
            f.bytes
        );
    }
    // One school per 600–1,000 students at each level.
    let schools = s.orgs - 1;
    assert_eq!(
        schools, 3,
        "1,000 students: one elementary, one middle, one high school"
    );
}

#[test]
fn every_reference_resolves_and_links_are_mutual() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough for several schools per level and families spanning schools.
    generate(dir.path(), 5_000, 9, 0.0);
    let orgs = Table::read(dir.path(), "orgs.csv");
    let sessions = Table::read(dir.path(), "academicSessions.csv");
    let courses = Table::read(dir.path(), "courses.csv");
    let classes = Table::read(dir.path(), "classes.csv");
    let users = Table::read(dir.path(), "users.csv");
    let enrollments = Table::read(dir.path(), "enrollments.csv");
    let (org, ses, crs, cls, usr, enr) = (
        orgs.by_id(),
        sessions.by_id(),
        courses.by_id(),
        classes.by_id(),
        users.by_id(),
        enrollments.by_id(),
    );

    // sourcedIds are unique across the whole package, not only per file.
    let mut all = HashSet::new();
    for t in [&orgs, &sessions, &courses, &classes, &users, &enrollments] {
        for r in &t.rows {
            assert!(all.insert(r[0].clone()), "sourcedId {} reused", r[0]);
        }
    }

    // orgs: one district, schools under it.
    let districts: Vec<_> = orgs.rows.iter().filter(|r| r[4] == "district").collect();
    assert_eq!(districts.len(), 1);
    let district = districts[0][0].as_str();
    for r in orgs.rows.iter().filter(|r| r[4] != "district") {
        assert_eq!(r[4], "school");
        assert_eq!(r[6], district);
    }
    assert!(orgs.rows.len() >= 7, "several schools");
    let is_school = |id: &str| org.get(id).is_some_and(|r| r[4] == "school");

    // sessions: a school year, two semesters under it, grading periods under those.
    let ty = sessions.col("type");
    let sy: Vec<_> = sessions
        .rows
        .iter()
        .filter(|r| r[ty] == "schoolYear")
        .collect();
    assert_eq!(sy.len(), 1);
    assert_eq!(
        (
            sy[0][3].as_str(),
            sy[0][5].as_str(),
            sy[0][6].as_str(),
            sy[0][8].as_str()
        ),
        ("2026-2027", "2026-08-17", "2027-06-11", "2027")
    );
    let semesters: Vec<_> = sessions
        .rows
        .iter()
        .filter(|r| r[ty] == "semester")
        .collect();
    assert_eq!(semesters.len(), 2);
    for r in &sessions.rows {
        assert!(["schoolYear", "semester", "gradingPeriod", "term"].contains(&r[ty].as_str()));
        assert_eq!(r[8], "2027");
        assert!(
            r[5] <= r[6] && r[5] >= sy[0][5] && r[6] <= sy[0][6],
            "dates inside the year: {r:?}"
        );
        if r[ty] != "schoolYear" {
            let parent = ses[r[7].as_str()];
            let expected = if r[ty] == "semester" {
                "schoolYear"
            } else {
                "semester"
            };
            assert_eq!(parent[ty], expected);
        }
    }

    // courses
    for r in &courses.rows {
        assert!(is_school(&r[courses.col("orgSourcedId")]), "{r:?}");
        assert_eq!(
            ses[r[courses.col("schoolYearSourcedId")].as_str()][ty],
            "schoolYear"
        );
        assert_eq!(
            list(&r[courses.col("subjects")]).len(),
            list(&r[courses.col("subjectCodes")]).len()
        );
    }

    // classes
    let (c_course, c_school, c_terms, c_type) = (
        classes.col("courseSourcedId"),
        classes.col("schoolSourcedId"),
        classes.col("termSourcedIds"),
        classes.col("classType"),
    );
    let mut year_long = 0;
    for r in &classes.rows {
        let course = crs
            .get(r[c_course].as_str())
            .unwrap_or_else(|| panic!("class {} course missing", r[0]));
        assert_eq!(
            course[courses.col("orgSourcedId")],
            r[c_school],
            "class and its course in one school"
        );
        assert_eq!(course[courses.col("grades")], r[classes.col("grades")]);
        let terms = list(&r[c_terms]);
        assert!(!terms.is_empty());
        for t in &terms {
            assert_eq!(
                ses.get(t).map(|s| s[ty].as_str()),
                Some("semester"),
                "class {} term {t}",
                r[0]
            );
        }
        year_long += (terms.len() == 2) as usize;
        assert!(["homeroom", "scheduled"].contains(&r[c_type].as_str()));
    }
    assert!(
        year_long > 0 && year_long < classes.rows.len(),
        "both year-long and semester classes"
    );

    // users
    let (u_enabled, u_orgs, u_role, u_agents, u_username, u_email, u_ident, u_grades) = (
        users.col("enabledUser"),
        users.col("orgSourcedIds"),
        users.col("role"),
        users.col("agentSourcedIds"),
        users.col("username"),
        users.col("email"),
        users.col("identifier"),
        users.col("grades"),
    );
    let mut usernames = HashSet::new();
    let mut emails = HashSet::new();
    let mut identifiers = HashSet::new();
    let mut roles: HashMap<&str, usize> = HashMap::new();
    let mut disabled = 0;
    for r in &users.rows {
        let role = r[u_role].as_str();
        *roles.entry(role).or_default() += 1;
        assert!(["true", "false"].contains(&r[u_enabled].as_str()));
        disabled += (r[u_enabled] == "false") as usize;
        let user_orgs = list(&r[u_orgs]);
        assert!(!user_orgs.is_empty(), "{r:?}");
        assert!(user_orgs.iter().all(|o| is_school(o)), "{r:?}");
        assert!(
            usernames.insert(r[u_username].clone()),
            "username {} reused",
            r[u_username]
        );
        assert!(r[u_username].is_ascii() && !r[u_username].is_empty());
        if !r[u_email].is_empty() {
            assert!(
                emails.insert(r[u_email].clone()),
                "email {} reused",
                r[u_email]
            );
            assert!(r[u_email].is_ascii() && r[u_email].contains('@'));
        }
        let agents = list(&r[u_agents]);
        match role {
            "student" => {
                assert!(identifiers.insert(r[u_ident].clone()));
                assert!(!r[u_grades].is_empty());
                assert_eq!(user_orgs.len(), 1);
                assert!(!agents.is_empty(), "every student has a parent or guardian");
            }
            "parent" | "guardian" => assert!(!agents.is_empty(), "every parent has a child"),
            "teacher" | "aide" => assert!(agents.is_empty(), "teachers are never agents"),
            other => panic!("unexpected role {other}"),
        }
        for a in agents {
            let other = usr
                .get(a)
                .unwrap_or_else(|| panic!("{} lists missing agent {a}", r[0]));
            let other_role = other[u_role].as_str();
            if role == "student" {
                assert!(["parent", "guardian"].contains(&other_role));
            } else {
                assert_eq!(other_role, "student");
            }
            assert!(
                list(&other[u_agents]).contains(&r[0].as_str()),
                "link {} -> {a} is not mutual",
                r[0]
            );
            if role != "student" {
                // A parent belongs to every school of its children.
                assert!(user_orgs.contains(&other[u_orgs].as_str()));
            }
        }
    }
    assert!(roles["guardian"] > 0 && roles["parent"] > roles["guardian"]);
    assert!(roles["aide"] > 0);
    assert!(disabled > 0, "some users have enabledUser=false");
    assert!(
        users
            .rows
            .iter()
            .any(|r| r[u_role] == "student" && r[u_ident].starts_with("00")),
        "student identifiers with leading zeros"
    );
    assert!(
        usr.keys().any(|id| id.starts_with('0')),
        "sourcedIds with leading zeros"
    );
    assert!(
        usr.keys()
            .any(|id| id.chars().any(|c| c.is_ascii_lowercase())
                && id.chars().any(|c| c.is_ascii_uppercase())),
        "mixed-case sourcedIds"
    );
    assert!(
        users
            .rows
            .iter()
            .any(|r| ["parent", "guardian"].contains(&r[u_role].as_str())
                && list(&r[u_orgs]).len() > 1),
        "some parents have children in several schools"
    );

    // enrollments
    let (e_class, e_school, e_user, e_role, e_primary) = (
        enrollments.col("classSourcedId"),
        enrollments.col("schoolSourcedId"),
        enrollments.col("userSourcedId"),
        enrollments.col("role"),
        enrollments.col("primary"),
    );
    let mut primaries: HashMap<&str, usize> = HashMap::new();
    let mut students_in: HashMap<&str, usize> = HashMap::new();
    let mut per_student: HashMap<&str, usize> = HashMap::new();
    let mut pairs = HashSet::new();
    for r in &enrollments.rows {
        let class = cls
            .get(r[e_class].as_str())
            .unwrap_or_else(|| panic!("enrollment {} class missing", r[0]));
        assert_eq!(
            class[c_school], r[e_school],
            "enrollment school is its class's school"
        );
        let user = usr
            .get(r[e_user].as_str())
            .unwrap_or_else(|| panic!("enrollment {} user missing", r[0]));
        assert!(
            list(&user[u_orgs]).contains(&r[e_school].as_str()),
            "user belongs to the school"
        );
        assert!(
            pairs.insert((r[e_class].as_str(), r[e_user].as_str())),
            "duplicate enrollment {r:?}"
        );
        match r[e_role].as_str() {
            "student" => {
                assert_eq!(user[u_role], "student");
                assert_eq!(
                    user[u_grades],
                    class[classes.col("grades")],
                    "students take classes of their grade"
                );
                assert_eq!(r[e_primary], "");
                *students_in.entry(&r[e_class]).or_default() += 1;
                *per_student.entry(&r[e_user]).or_default() += 1;
            }
            "teacher" => match user[u_role].as_str() {
                "teacher" => {
                    assert_eq!(r[e_primary], "true");
                    *primaries.entry(&r[e_class]).or_default() += 1;
                }
                "aide" => assert_eq!(r[e_primary], "false"),
                other => panic!("{other} enrolled as teacher"),
            },
            other => panic!("enrollment role {other}"),
        }
    }
    assert!(enr.len() == enrollments.rows.len());
    for r in &classes.rows {
        assert_eq!(
            primaries.get(r[0].as_str()),
            Some(&1),
            "class {} has exactly one primary teacher",
            r[0]
        );
        let n = students_in.get(r[0].as_str()).copied().unwrap_or(0);
        assert!((1..=30).contains(&n), "class {} has {n} students", r[0]);
    }
    let avg = students_in.values().sum::<usize>() as f64 / students_in.len() as f64;
    assert!((20.0..=30.0).contains(&avg), "average class size {avg}");
    assert_eq!(
        per_student.len(),
        roles["student"],
        "every student is enrolled"
    );
    assert!(
        per_student.values().all(|n| (6..=9).contains(n)),
        "each student in ~7 classes"
    );
}

#[test]
fn awkward_names_are_quoted_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 1_000, 42, 0.0);
    let raw = std::fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert!(
        raw.contains(",\"Smith, Jr.\","),
        "comma in a family name is quoted"
    );
    assert!(
        raw.contains(",\"Mary \"\"Molly\"\"\","),
        "embedded quotes are doubled"
    );
    assert!(raw.contains(",O'Brien,"), "an apostrophe needs no quoting");
    let users = Table::read(dir.path(), "users.csv");
    let (g, f) = (users.col("givenName"), users.col("familyName"));
    let given: HashSet<&str> = users.rows.iter().map(|r| r[g].as_str()).collect();
    let family: HashSet<&str> = users.rows.iter().map(|r| r[f].as_str()).collect();
    for name in [
        "José",
        "Zoë",
        "Øyvind",
        "Mary \"Molly\"",
        "Siobhán",
        "Jean-Luc",
        "D'Andre",
    ] {
        assert!(given.contains(name), "given name {name} round-trips");
    }
    for name in [
        "Smith, Jr.",
        "O'Brien",
        "Nguyễn",
        "Ó Súilleabháin",
        "Hernández-López",
        "Davis, III",
    ] {
        assert!(family.contains(name), "family name {name} round-trips");
    }
    let orgs = std::fs::read_to_string(dir.path().join("orgs.csv")).unwrap();
    assert!(orgs.contains("\"Martin Luther King, Jr. Middle School\""));
    // Usernames and emails are derived from names but plain ASCII.
    let u = users.col("username");
    let row = users
        .rows
        .iter()
        .find(|r| r[f] == "Nguyễn" && r[users.col("role")] == "student")
        .unwrap();
    assert!(row[u].contains("nguyen"), "{}", row[u]);
}

#[test]
fn progress_reports_each_phase_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let s = write_oneroster_csv(
        &DistrictSpec::base(2_000, 1),
        dir.path(),
        &|p, done, total| {
            assert!(done <= total);
            seen.borrow_mut().push((p, done, total));
        },
    )
    .unwrap();
    let seen = seen.into_inner();
    for phase in [Phase::Plan, Phase::Schools, Phase::Parents, Phase::Manifest] {
        let last = seen
            .iter()
            .rev()
            .find(|e| e.0 == phase)
            .unwrap_or_else(|| panic!("{phase:?} reported"));
        assert_eq!(last.1, last.2, "{phase:?} reaches its total");
    }
    let schools = seen.iter().rev().find(|e| e.0 == Phase::Schools).unwrap();
    assert_eq!(schools.2 as usize, s.orgs - 1);
    let order: Vec<Phase> = seen.iter().map(|e| e.0).collect();
    let first = |p| order.iter().position(|x| *x == p).unwrap();
    assert!(first(Phase::Plan) < first(Phase::Schools));
    assert!(first(Phase::Schools) < first(Phase::Parents));
    assert!(first(Phase::Parents) < first(Phase::Manifest));
}

#[test]
fn bad_specs_and_unwritable_folders_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for spec in [
        DistrictSpec::base(0, 1),
        DistrictSpec::base(10, 1).with_changes(150.0),
        DistrictSpec::base(10, 1).with_changes(-1.0),
    ] {
        let err = write_oneroster_csv(&spec, dir.path(), &|_, _, _| {}).unwrap_err();
        assert!(matches!(err, GenerateError::InvalidSpec(_)), "{err}");
    }
    // The "folder" is a file: the error names the path that failed.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("out");
    let err = write_oneroster_csv(&DistrictSpec::base(10, 1), &target, &|_, _, _| {}).unwrap_err();
    assert!(
        err.to_string().contains(&target.display().to_string()),
        "{err}"
    );
    for f in ROSTER_FILES {
        assert!(!dir.path().join(f).exists());
    }
}
