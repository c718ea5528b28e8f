//! The Canvas CSV writer against the spec's headers, quoting and statuses.

use rosterbridge_canvas::csv::{write_folder, write_zip, write_zip_file};
use rosterbridge_model::canvas::{CanvasRole, Course, DesiredState, Enrollment, Section, User};
use rosterbridge_model::kind::Status;
use rosterbridge_model::SisId;
use rosterbridge_plan::{build, diff, PlanOptions};
use rosterbridge_state::StateSnapshot;
use std::io::{Cursor, Read};

fn desired() -> DesiredState {
    DesiredState {
        users: vec![User::new(
            SisId::new("0042"),
            "zoë.o'brien".into(),
            "Zoë".into(),
            "Smith, Jr.".into(),
            Some("zoe@example.org".into()),
            Status::Active,
        )],
        courses: vec![Course {
            sis_id: SisId::new("C-1"),
            integration_id: None,
            short_name: "PHY \"honors\"".into(),
            long_name: "Physics\nline two".into(),
            account: Some(SisId::new("school-1")),
            term: Some(SisId::new("T1")),
            start: None,
            end: None,
            src: None,
        }],
        sections: vec![Section {
            sis_id: SisId::new("C-1"),
            integration_id: None,
            course: SisId::new("C-1"),
            name: "Physics".into(),
            start: None,
            end: None,
            src: None,
        }],
        enrollments: vec![Enrollment {
            section: 0,
            user: 0,
            role: CanvasRole::Student,
            status: Status::Active,
            start: None,
            end: None,
            src: None,
        }],
        ..Default::default()
    }
}

fn plan() -> rosterbridge_plan::Plan {
    let d = desired();
    let df = diff(&d, &StateSnapshot::default());
    build(d, df, &[], &PlanOptions::default())
}

fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().unwrap().to_string(), s)
        })
        .collect()
}

#[test]
fn one_file_per_kind_in_canvas_processing_order_with_canvas_headers() {
    let mut buf = Cursor::new(Vec::new());
    let written = write_zip(&plan(), &mut buf, "p.zip".as_ref()).unwrap();
    let files = unzip(buf.get_ref());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "users.csv",
            "courses.csv",
            "sections.csv",
            "enrollments.csv"
        ]
    );
    assert_eq!(written.rows(), 4);
    assert_eq!(
        files[0].1,
        "user_id,integration_id,login_id,authentication_provider_id,first_name,last_name,full_name,sortable_name,short_name,email,status\r\n\
         0042,,zoë.o'brien,,Zoë,\"Smith, Jr.\",,,,zoe@example.org,active\r\n"
    );
    assert_eq!(files[3].1, "section_id,user_id,role,role_id,status,start_date,end_date\r\nC-1,0042,student,,active,,\r\n");
}

#[test]
fn quotes_embedded_quotes_and_newlines_per_rfc_4180() {
    let mut buf = Cursor::new(Vec::new());
    write_zip(&plan(), &mut buf, "p.zip".as_ref()).unwrap();
    let courses = &unzip(buf.get_ref())[1].1;
    assert!(
        courses.contains("C-1,,\"PHY \"\"honors\"\"\",\"Physics\nline two\",school-1,T1,active,,"),
        "{courses}"
    );
}

#[test]
fn identical_plans_give_byte_identical_zips() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.zip");
    let b = dir.path().join("b.zip");
    write_zip_file(&plan(), &a).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_zip_file(&plan(), &b).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn folder_output_matches_zip_contents() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(&plan(), dir.path()).unwrap();
    let mut buf = Cursor::new(Vec::new());
    write_zip(&plan(), &mut buf, "p.zip".as_ref()).unwrap();
    for (name, content) in unzip(buf.get_ref()) {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&name)).unwrap(),
            content,
            "{name}"
        );
    }
}
