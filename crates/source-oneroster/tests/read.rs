//! Reading OneRoster CSV packages: the public sample sets and hand-made edge cases,
//! from real files and zips.

use rosterbridge_model::roster::{OneRosterVersion, UserRole};
use rosterbridge_model::Severity;
use rosterbridge_source_oneroster::{
    read, snapshot_tables, CsvSourceOptions, NoProgress, SourceError, SourceRead, TableMode,
};
use rosterbridge_state::SourceTableSnapshot;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn opts(path: &Path) -> CsvSourceOptions {
    CsvSourceOptions {
        path: path.to_path_buf(),
        version: None,
        mode: None,
    }
}

fn read_ok(path: &Path, prior: &[SourceTableSnapshot]) -> SourceRead {
    read(&opts(path), prior, &NoProgress).unwrap_or_else(|e| panic!("{e}"))
}

fn codes(r: &SourceRead, severity: Severity) -> Vec<String> {
    r.diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| d.code.clone())
        .collect()
}

const MANIFEST: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.academicSessions,bulk\nfile.categories,absent\nfile.classes,bulk\nfile.classResources,absent\nfile.courses,absent\nfile.courseResources,absent\nfile.demographics,absent\nfile.enrollments,bulk\nfile.lineItems,absent\nfile.orgs,bulk\nfile.resources,absent\nfile.results,absent\nfile.users,bulk\n";
const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nsch-1,,,School One,school,,\n";
const SESSIONS: &str = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\nt1,,,Fall,semester,2026-08-17,2027-01-15,,2027\n";
const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\nc1,,,Physics,,crs,PHY,scheduled,,sch-1,t1,,,\n";
const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n007,,,true,sch-1,student,bond,,James,Bond,,,,,,,,secret\nÉlève-01,,,TRUE,sch-1,teacher,eleve,,Zoë,Müller,,,,,,,,\n";
const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne1,,,c1,sch-1,007,student,false,,\n";

fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let defaults = [
        ("manifest.csv", MANIFEST),
        ("orgs.csv", ORGS),
        ("academicSessions.csv", SESSIONS),
        ("classes.csv", CLASSES),
        ("users.csv", USERS),
        ("enrollments.csv", ENROLLMENTS),
    ];
    for (name, content) in defaults {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

fn zip_of(dir: &Path) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(file.path()).unwrap());
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(dir.join(&name)).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    file
}

#[test]
fn the_moodle_minimal_bulk_set_reads_with_its_capitalised_values_accepted() {
    let r = read_ok(&fixture("moodle-v1p1-minimal-bulk"), &[]);
    assert_eq!(r.version, OneRosterVersion::V1_1);
    let c = r.roster.counts();
    assert_eq!(
        (c.orgs, c.sessions, c.classes, c.users, c.enrollments),
        (1, 5, 2, 6, 6)
    );
    assert!(codes(&r, Severity::Error).is_empty(), "{:?}", r.diagnostics);
    // One class names two terms in a quoted list.
    assert!(r.roster.classes.iter().any(|c| c.terms.len() == 2));
}

#[test]
fn the_moodle_full_bulk_set_warns_once_per_file_about_filled_status_columns() {
    let r = read_ok(&fixture("moodle-v1p1-full-bulk"), &[]);
    let bulk_warnings = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "bulk-with-status")
        .count();
    assert!((3..=6).contains(&bulk_warnings), "{bulk_warnings}");
    // `tobedeleted`/`inactive` rows in a bulk file are still present (the values are ignored).
    assert_eq!(r.roster.sessions.len(), 5);
    let parent = r
        .roster
        .users
        .iter()
        .find(|u| u.role == UserRole::Parent)
        .unwrap();
    assert_eq!(parent.agents().len(), 1);
}

#[test]
fn the_moodle_delta_set_needs_a_previous_exchange() {
    let e = read(&opts(&fixture("moodle-v1p2-delta-small")), &[], &NoProgress).unwrap_err();
    assert!(matches!(e, SourceError::DeltaWithoutBase { .. }), "{e}");
    assert!(e.to_diagnostic().hint.unwrap().contains("bulk"));
}

#[test]
fn the_moodle_delta_set_applies_on_top_of_a_previous_exchange_with_roles_from_roles_csv() {
    let dir = fixture("moodle-v1p2-delta-small");
    // The previous exchange: the same tables (a delta re-applying its rows is idempotent).
    let prior: Vec<SourceTableSnapshot> = [
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "users.csv",
        "roles.csv",
        "enrollments.csv",
        "demographics.csv",
    ]
    .iter()
    .map(|f| SourceTableSnapshot {
        file: f.to_string(),
        csv: std::fs::read(dir.join(f)).unwrap(),
    })
    .collect();
    let r = read_ok(&dir, &prior);
    assert_eq!(r.version, OneRosterVersion::V1_2);
    assert_eq!(r.roster.users.len(), 1);
    let u = &r.roster.users[0];
    assert_eq!(
        u.role,
        UserRole::Student,
        "role comes from roles.csv in 1.2"
    );
    assert!(u.orgs().len() > 0);
    assert_eq!(r.roster.enrollments.len(), 1);
    assert!(r.tables.iter().all(|t| t.mode == TableMode::Delta));
}

#[test]
fn the_oat_vendor_set_is_refused_for_its_missing_spec_columns() {
    let e = read(&opts(&fixture("oat-v1p1-base")), &[], &NoProgress).unwrap_err();
    match e {
        SourceError::MissingColumn { file, column, .. } => assert_eq!(
            (file.as_str(), column.as_str()),
            ("academicSessions.csv", "schoolYear")
        ),
        other => panic!("{other}"),
    }
}

#[test]
fn a_zip_reads_exactly_like_its_folder() {
    let dir = fixture("moodle-v1p1-full-bulk");
    let zip = zip_of(&dir);
    let a = read_ok(&dir, &[]);
    let b = read_ok(zip.path(), &[]);
    assert_eq!(a.roster, b.roster);
    assert_eq!(a.diagnostics, b.diagnostics);
}

#[test]
fn ids_keep_leading_zeros_case_and_unicode_and_passwords_are_not_read() {
    let p = package(&[]);
    let r = read_ok(p.path(), &[]);
    let ids: Vec<&str> = r
        .roster
        .users
        .iter()
        .map(|u| u.sourced_id.as_str())
        .collect();
    assert_eq!(ids, ["007", "Élève-01"]);
    assert!(r.roster.users[1].enabled, "TRUE is read case-insensitively");
    assert!(!format!("{:?}", r.roster).contains("secret"));
}

#[test]
fn bom_crlf_quotes_and_embedded_newlines_are_read_per_rfc_4180() {
    let users = "\u{feff}sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\r\n\
                 u1,,,true,sch-1,student,u1,,\"Mary\nAnn\",\"Smith, Jr.\",,,,,,,\"09, 10\",\r\n\
                 u2,,,true,sch-1,student,u2,,\"Say \"\"hi\"\"\",Doe,,,,,,,,";
    let p = package(&[("users.csv", users), ("enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\r\ne1,,,c1,sch-1,u2,student,,,\r\n")]);
    let r = read_ok(p.path(), &[]);
    assert!(codes(&r, Severity::Error).is_empty(), "{:?}", r.diagnostics);
    let u = &r.roster.users;
    assert_eq!(u[0].given_name(), "Mary\nAnn");
    assert_eq!(u[0].family_name(), "Smith, Jr.");
    assert_eq!(u[0].grades().collect::<Vec<_>>(), ["09", "10"]);
    assert_eq!(u[1].given_name(), "Say \"hi\"");
    // u2 starts on physical line 4 (u1's name spans lines 2-3).
    assert_eq!(u[1].src.line, 4);
    assert_eq!(r.roster.enrollments[0].src.line, 2);
}

#[test]
fn a_missing_required_file_is_fatal_and_named() {
    let p = package(&[]);
    std::fs::remove_file(p.path().join("users.csv")).unwrap();
    let e = read(&opts(p.path()), &[], &NoProgress).unwrap_err();
    assert!(
        matches!(&e, SourceError::MissingFile { file, .. } if file == "users.csv"),
        "{e}"
    );
}

#[test]
fn a_missing_required_column_names_the_column_file_and_header() {
    let p = package(&[("classes.csv", &CLASSES.replace("termSourcedIds", "terms"))]);
    let e = read(&opts(p.path()), &[], &NoProgress).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("classes.csv") && msg.contains("`termSourcedIds`") && msg.contains("terms"),
        "{msg}"
    );
}

#[test]
fn a_package_without_a_manifest_needs_version_and_mode_configured() {
    let p = package(&[]);
    std::fs::remove_file(p.path().join("manifest.csv")).unwrap();
    assert!(matches!(
        read(&opts(p.path()), &[], &NoProgress),
        Err(SourceError::NoManifest { .. })
    ));
    let o = CsvSourceOptions {
        path: p.path().into(),
        version: Some(OneRosterVersion::V1_1),
        mode: Some(TableMode::Bulk),
    };
    let r = read(&o, &[], &NoProgress).unwrap();
    assert_eq!(r.roster.users.len(), 2);
}

#[test]
fn duplicate_ids_bad_dates_and_unknown_references_are_row_errors_with_locations() {
    let p = package(&[
        ("users.csv", &format!("{USERS}007,,,true,sch-1,student,bond2,,J,B,,,,,,,,\n")),
        ("academicSessions.csv", &format!("{SESSIONS}t2,,,Spring,semester,2027-02-30,2027-06-01,,2027\n")),
        ("enrollments.csv", &format!("{ENROLLMENTS}e2,,,c1,sch-1,ghost,student,,,\ne3,,,nope,sch-1,007,student,,,\ne4,,,c1,sch-1,007,teacher,,2026-13-01,\n")),
    ]);
    let r = read_ok(p.path(), &[]);
    let find = |code: &str, value: &str| {
        r.diagnostics
            .iter()
            .find(|d| d.code == code && d.value.as_deref() == Some(value))
            .unwrap_or_else(|| panic!("no {code} for {value}: {:#?}", r.diagnostics))
    };
    let dup = find("duplicate-id", "007");
    assert_eq!(dup.location.as_ref().unwrap().line, Some(4));
    assert!(dup.message.contains("line 2"));
    let date = find("bad-date", "2027-02-30");
    assert_eq!(date.location.as_ref().unwrap().line, Some(3));
    assert_eq!(date.location.as_ref().unwrap().column, Some(6));
    let ghost = find("unknown-reference", "ghost");
    assert_eq!(ghost.location.as_ref().unwrap().line, Some(3));
    let class = find("unknown-reference", "nope");
    assert_eq!(
        class.location.as_ref().unwrap().field.as_deref(),
        Some("classSourcedId")
    );
    find("bad-date", "2026-13-01");
    assert!(r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .all(|d| d.hint.is_some()));
    // Bad rows are left out; good rows are kept.
    assert_eq!(r.roster.users.len(), 2);
    assert_eq!(r.roster.sessions.len(), 1);
    assert_eq!(r.roster.enrollments.len(), 1);
}

#[test]
fn unknown_orgs_and_agents_of_users_are_warnings_and_only_the_unknown_agent_links_are_dropped() {
    let p = package(&[(
        "users.csv",
        &format!(
            "{USERS}p1,,,true,sch-1,parent,p1,,Pat,Bond,,,,,,\"007,ghost\",,\np2,,,true,nowhere,parent,p2,,Kim,Bond,,,,,,007,,\n"
        ),
    )]);
    let r = read_ok(p.path(), &[]);
    let warning = |value: &str| {
        r.diagnostics
            .iter()
            .find(|d| d.code == "unknown-reference" && d.value.as_deref() == Some(value))
            .unwrap_or_else(|| panic!("no warning for {value}: {:#?}", r.diagnostics))
    };
    let ghost = warning("ghost");
    assert_eq!(ghost.severity, Severity::Warning);
    assert_eq!(ghost.location.as_ref().unwrap().line, Some(4));
    assert_eq!(
        ghost.location.as_ref().unwrap().field.as_deref(),
        Some("agentSourcedIds")
    );
    let org = warning("nowhere");
    assert_eq!(org.location.as_ref().unwrap().line, Some(5));
    let user = |id: &str| {
        r.roster
            .users
            .iter()
            .find(|u| u.sourced_id.as_str() == id)
            .unwrap()
    };
    // The known link stays, in order; the other user's agents are untouched.
    let agents = |id: &str| -> Vec<String> { user(id).agents().map(str::to_string).collect() };
    assert_eq!(agents("p1"), ["007"]);
    assert_eq!(agents("p2"), ["007"]);
    assert_eq!(user("p2").orgs().next().unwrap(), "nowhere");
    assert_eq!(codes(&r, Severity::Error), Vec::<String>::new());
}

#[test]
fn invalid_utf8_is_fatal_with_line_and_column() {
    let mut bytes = USERS.as_bytes().to_vec();
    let at = USERS.find("James").unwrap();
    bytes[at] = 0xe9; // Latin-1 é
    let p = package(&[]);
    std::fs::write(p.path().join("users.csv"), bytes).unwrap();
    match read(&opts(p.path()), &[], &NoProgress).unwrap_err() {
        SourceError::InvalidUtf8 {
            file, line, column, ..
        } => assert_eq!((file.as_str(), line, column), ("users.csv", 2, 9)),
        other => panic!("{other}"),
    }
}

#[test]
fn an_unbalanced_quote_is_reported_as_malformed_csv() {
    let users = format!("{USERS}u3,,,true,sch-1,student,u3,,\"Ann,Lee,,,,,,,,\nu4,,,true,sch-1,student,u4,,Bo,Lee,,,,,,,,\n");
    let p = package(&[("users.csv", &users)]);
    let e = read(&opts(p.path()), &[], &NoProgress).unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("users.csv:4"), "{e}");
}

#[test]
fn delta_rows_upsert_and_delete_on_top_of_the_previous_exchange_and_absent_files_carry_it_forward()
{
    let base = package(&[]);
    let prior = snapshot_tables(&opts(base.path()), &[]).unwrap();
    assert_eq!(prior.len(), 5);

    let delta_manifest = MANIFEST
        .replace("file.users,bulk", "file.users,delta")
        .replace("file.enrollments,bulk", "file.enrollments,absent")
        .replace("file.classes,bulk", "file.classes,absent");
    let users = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
                 007,active,2026-11-20T00:00:00.000Z,true,sch-1,student,bond,,Jim,Bond,,,,,,,,\n\
                 Élève-01,tobedeleted,2026-11-20T00:00:00.000Z,,,,,,,,,,,,,,,\n\
                 new-1,active,2026-11-20T00:00:00.000Z,true,sch-1,student,newbie,,New,Kid,,,,,,,,\n";
    let delta = package(&[("manifest.csv", &delta_manifest), ("users.csv", users)]);
    std::fs::remove_file(delta.path().join("classes.csv")).unwrap();
    std::fs::remove_file(delta.path().join("enrollments.csv")).unwrap();
    let r = read_ok(delta.path(), &prior);
    let names: Vec<(&str, &str)> = r
        .roster
        .users
        .iter()
        .map(|u| (u.sourced_id.as_str(), u.given_name()))
        .collect();
    assert_eq!(names, [("007", "Jim"), ("new-1", "New")]);
    assert_eq!(
        r.roster.classes.len(),
        1,
        "absent classes.csv carries the previous exchange forward"
    );
    assert_eq!(
        r.roster.enrollments.len(),
        1,
        "absent enrollments.csv carries the previous exchange forward"
    );

    // The merged exchange becomes the next base.
    let next = snapshot_tables(&opts(delta.path()), &prior).unwrap();
    let users_csv = String::from_utf8(
        next.iter()
            .find(|t| t.file == "users.csv")
            .unwrap()
            .csv
            .clone(),
    )
    .unwrap();
    assert!(
        users_csv.contains("Jim") && users_csv.contains("new-1") && !users_csv.contains("Élève-01"),
        "{users_csv}"
    );
}

#[test]
fn a_required_file_marked_absent_without_a_previous_exchange_is_fatal() {
    let p = package(&[(
        "manifest.csv",
        &MANIFEST.replace("file.users,bulk", "file.users,absent"),
    )]);
    let e = read(&opts(p.path()), &[], &NoProgress).unwrap_err();
    assert!(
        matches!(&e, SourceError::MissingFile { file, .. } if file == "users.csv"),
        "{e}"
    );
}

/// Sources that build their tables in memory (REST, Clever, generic CSV) go through the same
/// parser: the same files give the same roster and diagnostics as from a folder.
#[test]
fn memory_package_reads_like_the_folder() {
    use rosterbridge_source_oneroster::{read_memory, snapshot_memory, MemoryPackage};
    let dir = fixture("moodle-v1p1-full-bulk");
    let from_folder = read_ok(&dir, &[]);
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".csv") {
            files.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    let pkg = MemoryPackage {
        label: dir.clone(),
        files,
    };
    let from_memory = read_memory(&pkg, &[], &NoProgress).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_memory.roster, from_folder.roster);
    assert_eq!(from_memory.diagnostics, from_folder.diagnostics);
    assert_eq!(
        snapshot_memory(&pkg, &[]).unwrap(),
        snapshot_tables(&opts(&dir), &[]).unwrap()
    );
}

#[test]
fn a_repeated_enrollment_id_keeps_the_first_row_and_reports_each_later_one() {
    let p = package(&[(
        "enrollments.csv",
        &format!("{ENROLLMENTS}e2,,,c1,sch-1,Élève-01,teacher,,,\ne1,,,c1,sch-1,Élève-01,teacher,,,\nE1,,,c1,sch-1,Élève-01,teacher,,,\ne1,,,c1,sch-1,007,student,,,\n"),
    )]);
    let r = read_ok(p.path(), &[]);
    let ids: Vec<(&str, u32)> = r
        .roster
        .enrollments
        .iter()
        .map(|e| (e.sourced_id.as_str(), e.src.line))
        .collect();
    assert_eq!(
        ids,
        [("e1", 2), ("e2", 3), ("E1", 5)],
        "ids are exact strings: E1 is not e1"
    );
    let dups: Vec<_> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "duplicate-id")
        .collect();
    assert_eq!(dups.len(), 2, "{dups:#?}");
    assert_eq!(
        dups.iter()
            .map(|d| d.location.as_ref().unwrap().line)
            .collect::<Vec<_>>(),
        [Some(4), Some(6)]
    );
    assert!(dups
        .iter()
        .all(|d| d.message.contains("line 2") && d.sis_id.as_deref() == Some("e1")));
    assert_eq!(
        dups[0].location.as_ref().unwrap().field.as_deref(),
        Some("sourcedId")
    );
}

#[test]
fn a_character_split_across_two_cells_is_invalid_utf8_not_an_empty_cell() {
    // "é" is C3 A9: one cell ends with C3 and the next begins with A9. Joined, the bytes
    // would read as valid UTF-8; each cell on its own is not.
    let text = USERS.replace("James,Bond", "JamesX,YBond");
    let mut bytes = text.into_bytes();
    let x = bytes.iter().position(|b| *b == b'X').unwrap();
    bytes[x] = 0xc3;
    let y = bytes.iter().position(|b| *b == b'Y').unwrap();
    bytes[y] = 0xa9;
    let p = package(&[]);
    std::fs::write(p.path().join("users.csv"), bytes).unwrap();
    match read(&opts(p.path()), &[], &NoProgress).unwrap_err() {
        SourceError::InvalidUtf8 {
            file, line, column, ..
        } => assert_eq!((file.as_str(), line, column), ("users.csv", 2, 9)),
        other => panic!("{other}"),
    }
}
