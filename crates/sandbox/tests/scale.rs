//! Scale check (issue point 10): a standard import of a district-sized roster.
//! Ignored by default (it takes a while in debug builds); run with
//! `cargo test -p rosterbridge-sandbox --test scale -- --ignored --nocapture`.

use std::fmt::Write;
use std::time::{Duration, Instant};

use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;

fn district(students: usize) -> Vec<(String, String)> {
    let teachers = students / 20;
    let courses = students / 50;
    let mut users = String::from("user_id,login_id,first_name,last_name,email,status\n");
    for i in 0..students {
        let _ = writeln!(users, "S{i:07},s{i:07},Stu{i},Dent,s{i}@example.org,active");
    }
    for i in 0..teachers {
        let _ = writeln!(users, "T{i:06},t{i:06},Tea{i},Cher,t{i}@example.org,active");
    }
    let mut c = String::from("course_id,short_name,long_name,term_id,status\n");
    let mut s = String::from("section_id,course_id,name,status\n");
    for i in 0..courses {
        let _ = writeln!(c, "C{i:06},C{i},Course {i},,active");
        for k in 0..2 {
            let _ = writeln!(s, "S{i:06}-{k},C{i:06},Section {k},active");
        }
    }
    let mut e = String::from("section_id,user_id,role,status\n");
    for i in 0..students {
        for k in 0..9 {
            let course = (i * 7 + k * 13) % courses;
            let _ = writeln!(e, "S{course:06}-{},S{i:07},student,active", i % 2);
        }
    }
    for i in 0..courses {
        let _ = writeln!(e, "S{i:06}-0,T{:06},teacher,active", i % teachers.max(1));
    }
    vec![
        ("users.csv".into(), users),
        ("courses.csv".into(), c),
        ("sections.csv".into(), s),
        ("enrollments.csv".into(), e),
    ]
}

#[tokio::test]
#[ignore]
async fn standard_import_of_200k_student_district_completes_within_60s() {
    let files = district(200_000);
    let rows: usize = files.iter().map(|(_, f)| f.lines().count() - 1).sum();
    let zip = {
        use std::io::Write as _;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (n, f) in &files {
            w.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
                .expect("zip");
            w.write_all(f.as_bytes()).expect("zip");
        }
        w.finish().expect("zip").into_inner()
    };
    let sb = RunningSandbox::start(SandboxConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        "t",
    ))
    .await
    .expect("start");
    let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest has no default provider here
    let http = reqwest::Client::new();
    let started = Instant::now();
    let r = http
        .post(format!(
            "{}/api/v1/accounts/1/sis_imports?extension=zip",
            sb.base_url
        ))
        .bearer_auth("t")
        .body(zip)
        .send()
        .await
        .expect("post");
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_u64()
        .expect("id");
    let v = loop {
        let v: Value = http
            .get(format!(
                "{}/api/v1/accounts/1/sis_imports/{id}",
                sb.base_url
            ))
            .bearer_auth("t")
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if v["workflow_state"] != "importing" && v["workflow_state"] != "created" {
            break v;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "too slow");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let took = started.elapsed();
    eprintln!("{rows} rows in {took:?}: {}", v["data"]["counts"]);
    assert_eq!(v["workflow_state"], "imported", "{v}");
    // Paginated reads stay fast on the big tables.
    let t = Instant::now();
    let r = http
        .get(format!(
            "{}/api/v1/courses/sis_course_id:C000001/enrollments?per_page=100&page=2",
            sb.base_url
        ))
        .bearer_auth("t")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    eprintln!("page read in {:?}", t.elapsed());
    assert!(took < Duration::from_secs(60), "import took {took:?}");
}
