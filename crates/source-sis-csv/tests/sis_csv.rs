//! Generic SIS CSV: a Classter-style export read through a mapping, and a generated district
//! read as a "foreign" export giving the same roster as the OneRoster CSV source.

use rosterbridge_config::SisCsvTables;
use rosterbridge_model::roster::Roster;
use rosterbridge_source_sis_csv::{read, SisCsvError, SisCsvOptions};
use std::path::Path;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

const CLASSTER_MAPPING: &str = r#"
date_format = "%d/%m/%Y"
school = { id = "main", name = "Main Campus" }
sessions = { file = "Periods.csv", id = "Period Code", title = "Period", start = "Start", end = "End", session_type = "semester" }
courses = { file = "Subjects.csv", id = "Subject Code", title = "Subject Name" }
classes = { file = "Groups.csv", id = "Group Code", title = "Group Name", course = "Subject Code", terms = "Period Code", period = "Slot" }

[[people]]
file = "Students.csv"
id = "Student No"
given_name = "First Name"
family_name = "Last Name"
email = "E-mail"
grade = "Level"
role = "student"

[[people]]
file = "Staff.csv"
id = "Staff No"
given_name = "Name"
family_name = "Surname"
role_column = "Position"
role_map = { Teacher = "teacher", "Teaching Assistant" = "aide" }
enabled = "Active"

[[people]]
file = "Parents.csv"
id = "Parent No"
given_name = "Name"
family_name = "Surname"
role = "guardian"
children = "Children"

[[enrollments]]
file = "Group Members.csv"
class = "Group Code"
person = "Member No"
role_column = "Type"
role_map = { Student = "student", Tutor = "teacher" }
primary = "Main Tutor"
"#;

fn classter(dir: &Path) {
    write(
        dir,
        &[
            ("Periods.csv", "\u{feff}Period Code,Period,Start,End\nS1,Semester 1,01/09/2026,31/01/2027\nS2,Semester 2,01/02/2027,30/06/2027\n"),
            ("Subjects.csv", "Subject Code,Subject Name\nMATH,Mathematics\nBIO,Biology\n"),
            ("Groups.csv", "Group Code,Group Name,Subject Code,Period Code,Slot\nG-MATH-10A,Maths 10A,MATH,\"S1;S2\",3\nG-BIO-10A,Biology 10A,BIO,S1,5\n"),
            ("Students.csv", "Student No,First Name,Last Name,E-mail,Level\n007,James,Bond,jb@example.org,10\n008,Zoë,Müller,,10\n"),
            ("Staff.csv", "Staff No,Name,Surname,Position,Active\nT1,Ada,Lovelace,Teacher,yes\nT2,Alan,Turing,Teaching Assistant,no\n"),
            ("Parents.csv", "Parent No,Name,Surname,Children\nP1,Mary,Bond,007\n"),
            ("Group Members.csv", "Group Code,Member No,Type,Main Tutor\nG-MATH-10A,007,Student,\nG-MATH-10A,008,Student,\nG-MATH-10A,T1,Tutor,Y\nG-MATH-10A,T2,Tutor,N\nG-BIO-10A,007,Student,\nG-BIO-10A,999,Student,\n"),
        ],
    );
}

#[test]
fn a_classter_style_export_reads_through_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    classter(dir.path());
    let tables: SisCsvTables = toml::from_str(CLASSTER_MAPPING).unwrap();
    let got = read(&SisCsvOptions {
        path: dir.path().to_path_buf(),
        tables,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let r = &got.read.roster;
    assert_eq!(r.orgs.len(), 1);
    assert_eq!(r.sessions[0].start_date.to_string(), "2026-09-01");
    assert_eq!(r.sessions[0].school_year.as_str(), "2027");
    let maths = r
        .classes
        .iter()
        .find(|c| c.sourced_id.as_str() == "G-MATH-10A")
        .unwrap();
    assert_eq!(maths.terms, vec!["S1".into(), "S2".into()]);
    assert_eq!(maths.course.as_str(), "MATH");
    let bond = r
        .users
        .iter()
        .find(|u| u.sourced_id.as_str() == "007")
        .unwrap();
    assert_eq!(
        (
            bond.role.as_str(),
            bond.username(),
            bond.orgs().next().unwrap()
        ),
        ("student", "jb@example.org", "main")
    );
    assert_eq!(
        bond.agents().collect::<Vec<_>>(),
        ["P1"],
        "the reverse guardian link is made"
    );
    let turing = r
        .users
        .iter()
        .find(|u| u.sourced_id.as_str() == "T2")
        .unwrap();
    assert_eq!((turing.role.as_str(), turing.enabled), ("aide", false));
    let parent = r
        .users
        .iter()
        .find(|u| u.sourced_id.as_str() == "P1")
        .unwrap();
    assert_eq!(
        (parent.role.as_str(), parent.agents().collect::<Vec<_>>()),
        ("guardian", vec!["007"])
    );
    assert_eq!(r.enrollments.len(), 5);
    let main_tutor = r
        .enrollments
        .iter()
        .find(|e| r.users[e.user as usize].sourced_id.as_str() == "T1")
        .unwrap();
    assert_eq!(
        (main_tutor.role.as_str(), main_tutor.primary),
        ("teacher", Some(true))
    );
    // The member that is nobody is a row error pointing at the SIS file and line.
    let d = got
        .read
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-reference" && d.value.as_deref() == Some("999"))
        .unwrap();
    let loc = d.location.as_ref().unwrap();
    assert!(
        loc.file.ends_with("Group Members.csv") && loc.line == Some(7),
        "{d}"
    );
}

#[test]
fn a_wrong_column_name_says_which_key_and_what_the_file_has() {
    let dir = tempfile::tempdir().unwrap();
    classter(dir.path());
    let tables: SisCsvTables =
        toml::from_str(&CLASSTER_MAPPING.replace("\"Last Name\"", "\"Surname\"")).unwrap();
    let err = read(&SisCsvOptions {
        path: dir.path().to_path_buf(),
        tables,
    })
    .unwrap_err();
    assert!(matches!(err, SisCsvError::MissingColumn { .. }));
    let text = err.to_string();
    assert!(
        text.contains(
            "Students.csv: no column \"Surname\" (named by `source.tables.people[0].family_name`)"
        ) && text.contains("Last Name"),
        "{text}"
    );
}

/// The generated district's OneRoster files, mapped as if they were some SIS's own export.
const ONEROSTER_AS_SIS: &str = r#"
schools = { file = "orgs.csv", id = "sourcedId", name = "name", identifier = "identifier", type_column = "type", parent = "parentSourcedId" }
sessions = { file = "academicSessions.csv", id = "sourcedId", title = "title", start = "startDate", end = "endDate", type_column = "type", parent = "parentSourcedId", school_year = "schoolYear" }
courses = { file = "courses.csv", id = "sourcedId", title = "title", code = "courseCode", school = "orgSourcedId", subject = "subjects" }
classes = { file = "classes.csv", id = "sourcedId", title = "title", course = "courseSourcedId", school = "schoolSourcedId", terms = "termSourcedIds", code = "classCode", period = "periods", subject = "subjects", grade = "grades", class_type = "classType" }

[[people]]
file = "users.csv"
id = "sourcedId"
given_name = "givenName"
family_name = "familyName"
role_column = "role"
username = "username"
email = "email"
identifier = "identifier"
school = "orgSourcedIds"
grade = "grades"
enabled = "enabledUser"
children = "agentSourcedIds"

[[enrollments]]
file = "enrollments.csv"
id = "sourcedId"
class = "classSourcedId"
person = "userSourcedId"
role_column = "role"
primary = "primary"
begin = "beginDate"
end = "endDate"
"#;

/// The fields the mapping above carries (it leaves out what a SIS export rarely has).
fn carried(r: &Roster) -> Roster {
    let mut r = r.clone();
    for c in &mut r.courses {
        c.school_year = None;
        c.grades.clear();
        c.subject_codes.clear();
        c.src.line = 0;
    }
    for c in &mut r.classes {
        c.subject_codes.clear();
        c.location = None;
        c.src.line = 0;
    }
    for u in &mut r.users {
        u.extra = None;
        u.edit_texts(|t| {
            t.agents.sort();
            // The less common texts (middle name, phones, preferred names) are not carried.
            *t = rosterbridge_model::roster::UserTextsOwned {
                username: std::mem::take(&mut t.username),
                given_name: std::mem::take(&mut t.given_name),
                family_name: std::mem::take(&mut t.family_name),
                identifier: std::mem::take(&mut t.identifier),
                email: std::mem::take(&mut t.email),
                grades: std::mem::take(&mut t.grades),
                orgs: std::mem::take(&mut t.orgs),
                agents: std::mem::take(&mut t.agents),
                ..Default::default()
            };
        });
        u.src.line = 0;
    }
    r.orgs.iter_mut().for_each(|x| x.src.line = 0);
    r.sessions.iter_mut().for_each(|x| x.src.line = 0);
    r.enrollments.iter_mut().for_each(|x| x.src.line = 0);
    r.demographics.clear();
    r
}

#[test]
fn a_generated_district_mapped_as_a_generic_export_gives_the_same_roster() {
    let dir = tempfile::tempdir().unwrap();
    rosterbridge_generate::write_oneroster_csv(
        &rosterbridge_generate::DistrictSpec::base(250, 3),
        dir.path(),
        &|_, _, _| {},
    )
    .unwrap();
    let csv = rosterbridge_source_oneroster::read(
        &rosterbridge_source_oneroster::CsvSourceOptions {
            path: dir.path().to_path_buf(),
            version: None,
            mode: None,
        },
        &[],
        &rosterbridge_source_oneroster::NoProgress,
    )
    .unwrap();
    let tables: SisCsvTables = toml::from_str(ONEROSTER_AS_SIS).unwrap();
    let got = read(&SisCsvOptions {
        path: dir.path().to_path_buf(),
        tables,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        got.read.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        got.read.diagnostics.first()
    );
    assert_eq!(carried(&got.read.roster), carried(&csv.roster));
}
