//! The mapping configuration through the real binary: `config example`, `validate`,
//! profiles (`--profile`, none active, `profile copy`/`list`), and custom enrollment roles
//! checked against a real sandbox process before anything is sent.

mod common;

use common::sandbox::{Sandbox, TOKEN};
use common::{run_env, Fixture};
use rosterbridge_canvas_client::Retry;
use serde_json::Value;

#[test]
fn config_example_prints_a_configuration_that_validates() {
    let f = Fixture::new();
    let out = common::run_in(f.dir.path(), &["config".to_string(), "example".to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("[[profiles]]")
            && out.stdout.contains("[mapping.actions]")
            && out.stdout.contains("[mapping.scope]")
    );
    rosterbridge_config::Config::parse(&out.stdout, &f.path("example.toml"))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics()));
}

#[test]
fn validate_reports_every_mapping_problem_at_once_with_its_line() {
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &format!(
            "{}\n[[profiles]]\nname = \"a\"\nstart = 2026-08-01\nend = 2027-07-31\n\n[[profiles]]\nname = \"b\"\nstart = 2027-01-01\nend = 2027-12-31\ncourse_template = \"period+room\"\n\n[mapping.fields.users]\nfull_name = \"{{givenName}} {{nickname}}\"\n\n[mapping.actions]\nusers = {{ pupil = [\"create\"] }}\n",
            common::CONFIG
        ),
    );
    let out = f.rb(&["validate", "--json"]);
    assert_eq!(out.code, 1);
    let all = format!("{}{}", out.stdout, out.stderr);
    for want in [
        "rosterbridge.toml:16:1",
        "rosterbridge.toml:19:19",
        "rosterbridge.toml:22:13",
        "rosterbridge.toml:25:9",
        "overlap",
        "nickname",
        "middleName",
        "period+room",
        "pupil",
    ] {
        assert!(all.contains(want), "{want} missing from:\n{all}");
    }
}

const PROFILES: &str =
    "\n[[profiles]]\nname = \"2020-2021\"\nstart = 2020-08-01\nend = 2021-07-31\n";

#[test]
fn with_no_active_profile_plan_says_there_is_nothing_to_do_and_a_named_one_runs() {
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &format!("{}{PROFILES}", common::CONFIG),
    );
    let out = f.rb(&["plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("no execution profile is active")
            && out.stdout.contains("nothing to do"),
        "{}",
        out.stdout
    );
    let out = f.rb(&["plan", "--json"]);
    assert!(out.json()["idle"]
        .as_str()
        .unwrap()
        .contains("nothing to do"));
    let out = f.rb(&["plan", "--json", "--profile", "2020-2021"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["summary"]["users"]["create"], 5);
    let out = f.rb(&["plan", "--profile", "nope"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no profile is named \"nope\"") && out.stderr.contains("2020-2021"),
        "{}",
        out.stderr
    );
}

#[test]
fn profile_copy_appends_a_new_window_and_refuses_an_overlap() {
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &format!("{}# keep this comment\n{PROFILES}", common::CONFIG),
    );
    let out = f.rb(&[
        "profile",
        "copy",
        "2020-2021",
        "--name",
        "2021-2022",
        "--start",
        "2021-08-01",
        "--end",
        "2022-07-31",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(f.path("rosterbridge.toml")).unwrap();
    assert!(
        text.contains("# keep this comment") && text.contains("name = \"2021-2022\""),
        "{text}"
    );
    let before = text.clone();
    let out = f.rb(&[
        "profile",
        "copy",
        "2020-2021",
        "--name",
        "overlapping",
        "--start",
        "2022-01-01",
        "--end",
        "2022-12-31",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("overlap") && out.stderr.contains("2021-2022"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(f.path("rosterbridge.toml")).unwrap(),
        before,
        "nothing written"
    );
    let out = f.rb(&["profile", "list"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("2020-2021 2020-08-01..2021-07-31")
            && out.stdout.contains("last run: never"),
        "{}",
        out.stdout
    );
}

const MENTOR_USERS: &str =
    "m-1,,,true,sch-1,teacher,skinner,,Seymour,Skinner,,,skinner@springfield.edu,,,,,\n";
const MENTOR_ENROLLMENT: &str = "e-9,,,cls-002,sch-1,m-1,ext:mentor,,,\n";

fn mentor_fixture(url: &str, role: &str) -> Fixture {
    mentor_fixture_mode(url, role, "sis_import")
}

fn mentor_fixture_mode(url: &str, role: &str, mode: &str) -> Fixture {
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &format!("[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{url}\"\naccount_id = 1\nmode = \"{mode}\"\n\n[mapping.enrollments]\nroles = {{ mentor = \"{role}\" }}\n"),
    );
    f.district(&[
        ("users.csv", &format!("{}{MENTOR_USERS}", common::USERS)),
        (
            "enrollments.csv",
            &format!("{}{MENTOR_ENROLLMENT}", common::ENROLLMENTS),
        ),
    ]);
    f
}

fn rb_token(f: &Fixture, args: &[&str]) -> common::Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--config".to_string(), f.config()]);
    run_env(f.dir.path(), &all, &[("CANVAS_TOKEN", TOKEN)])
}

#[test]
fn custom_roles_are_checked_against_canvas_and_enrollments_get_them() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.client();
    let created: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/roles",
            vec![
                ("label".into(), "Mentor".into()),
                ("base_role_type".into(), "TeacherEnrollment".into()),
            ],
            Retry::Safe,
        ))
        .unwrap();
    let mentor_id = created["id"].as_u64().unwrap();

    // A role Canvas does not have: validate says so, sync refuses before sending anything.
    let f = mentor_fixture(&sandbox.url, "Coach");
    let out = rb_token(&f, &["validate"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("not found")
            && out.stderr.contains("Coach")
            && out.stderr.contains("Mentor"),
        "{}",
        out.stderr
    );
    let out = rb_token(&f, &["sync", "-q"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Coach"), "{}", out.stderr);
    assert!(
        !f.state_exists() || f.state_counts().0 == 0,
        "nothing applied"
    );

    // The role exists: validate resolves its id, sync enrols with it.
    let f = mentor_fixture(&sandbox.url, "Mentor");
    let out = rb_token(&f, &["validate"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("custom role \"Mentor\": role_id {mentor_id}")),
        "{}",
        out.stdout
    );
    let out = rb_token(&f, &["sync", "-q"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let enrollments: Vec<Value> = sandbox
        .read(client.get_all("/api/v1/sections/sis_section_id:cls-002/enrollments", &[]))
        .unwrap();
    let m = enrollments
        .iter()
        .find(|e| e["user"]["sis_user_id"] == "m-1" || e["sis_user_id"] == "m-1")
        .unwrap_or_else(|| panic!("{enrollments:#?}"));
    assert_eq!(m["role"], "Mentor");
    assert_eq!(m["role_id"].as_u64(), Some(mentor_id));
}

fn terms_named(sandbox: &Sandbox, name: &str) -> Vec<Value> {
    let client = sandbox.client();
    let page: Value = sandbox
        .read(client.get("/api/v1/accounts/1/terms", &[("per_page", "100".into())]))
        .unwrap();
    page["enrollment_terms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == name)
        .cloned()
        .collect()
}

#[test]
fn first_contact_matching_of_terms_by_name_follows_mapping_match() {
    for (matching, adopted) in [("[\"sis_id\", \"name\"]", true), ("[\"sis_id\"]", false)] {
        let sandbox = Sandbox::start(&[]);
        let client = sandbox.client();
        let made: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                "/api/v1/accounts/1/terms",
                vec![("enrollment_term[name]".into(), "Fall 2026".into())],
                Retry::Safe,
            ))
            .unwrap();
        let f = Fixture::new();
        f.write(
            "rosterbridge.toml",
            &format!("[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{}\"\naccount_id = 1\n\n[mapping.match]\nterms = {matching}\n", sandbox.url),
        );
        let out = rb_token(&f, &["sync", "-q"]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        let terms = terms_named(&sandbox, "Fall 2026");
        if adopted {
            assert_eq!(terms.len(), 1, "{terms:#?}");
            assert_eq!(terms[0]["id"], made["id"]);
            assert_eq!(terms[0]["sis_term_id"], "fall-2026");
        } else {
            assert_eq!(
                terms.len(),
                2,
                "matched by SIS id only: a second term is created ({terms:#?})"
            );
        }
    }
}

#[test]
fn first_contact_adopts_courses_and_sections_by_name_and_accounts_by_external_id_in_both_sinks() {
    for mode in ["sis_import", "rest"] {
        let sandbox = Sandbox::start(&[]);
        let client = sandbox.client();
        // The school as the integration being replaced left it: its own SIS id, and the
        // school's identifier as integration id.
        let csv = b"account_id,parent_account_id,name,status,integration_id\nOLD-SHS,,Springfield HS (old),active,SHS\n".to_vec();
        sandbox
            .read(client.send(
                reqwest::Method::POST,
                "/api/v1/accounts/1/sis_imports?extension=csv",
                &[],
                &rosterbridge_canvas_client::Body::Bytes {
                    content_type: "text/csv",
                    data: std::sync::Arc::new(csv),
                },
                Retry::IfNotProcessed,
            ))
            .unwrap();
        let school = wait_account(&sandbox, "sis_account_id:OLD-SHS");
        // A course and its section made by hand, with the class's names and no SIS ids; and a
        // second, identically named course for the other class: ambiguous, so not adopted.
        let course: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                "/api/v1/accounts/1/courses",
                vec![("course[name]".into(), "Physics - P1".into())],
                Retry::Safe,
            ))
            .unwrap();
        let section: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                &format!("/api/v1/courses/{}/sections", course["id"]),
                vec![("course_section[name]".into(), "Physics - P1".into())],
                Retry::Safe,
            ))
            .unwrap();
        for _ in 0..2 {
            let _: Value = sandbox
                .read(client.write(
                    reqwest::Method::POST,
                    "/api/v1/accounts/1/courses",
                    vec![("course[name]".into(), "Physics - P2".into())],
                    Retry::Safe,
                ))
                .unwrap();
        }
        let f = Fixture::new();
        f.write(
            "rosterbridge.toml",
            &format!(
                "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{}\"\naccount_id = 1\nmode = \"{mode}\"\n\n\
[mapping.match]\naccounts = [\"sis_id\", \"external_id\"]\ncourses = [\"sis_id\", \"name\"]\nsections = [\"sis_id\", \"name\"]\n\n\
[mapping.fields.accounts]\nintegration_id = {{ property = \"identifier\" }}\n",
                sandbox.url
            ),
        );
        let out = rb_token(&f, &["sync"]);
        let all = format!("{}\n{}", out.stdout, out.stderr);
        assert_eq!(
            out.code, 3,
            "partial: the ambiguous course is held back ({mode}): {all}"
        );
        assert!(
            all.contains("2 Canvas courses named \"Physics - P2\""),
            "the conflict says why ({mode}): {all}"
        );

        let id_at = |path: &str| -> Value {
            sandbox.read(client.get::<Value>(path, &[])).unwrap()["id"].clone()
        };
        assert_eq!(
            id_at("/api/v1/accounts/sis_account_id:sch-1"),
            school["id"],
            "the school was adopted by its external id ({mode})"
        );
        assert_eq!(
            id_at("/api/v1/courses/sis_course_id:cls-001"),
            course["id"],
            "the course was adopted by name ({mode})"
        );
        assert_eq!(
            id_at("/api/v1/sections/sis_section_id:cls-001"),
            section["id"],
            "the section was adopted by name within its course ({mode})"
        );
        let named_p1: Vec<Value> = sandbox
            .read(client.get_all(
                "/api/v1/accounts/1/courses",
                &[("search_term", "Physics - P1".into())],
            ))
            .unwrap();
        assert_eq!(named_p1.len(), 1, "no twin course ({mode}): {named_p1:#?}");
        assert!(
            sandbox
                .read(client.get::<Value>("/api/v1/courses/sis_course_id:cls-002", &[]))
                .is_err(),
            "the ambiguous one was not sent ({mode})"
        );
        let enrolled: Vec<Value> = sandbox
            .read(client.get_all(
                &format!("/api/v1/sections/{}/enrollments", section["id"]),
                &[],
            ))
            .unwrap();
        let of_type = |t: &str| enrolled.iter().filter(|e| e["type"] == t).count();
        assert_eq!(
            (of_type("StudentEnrollment"), of_type("TeacherEnrollment")),
            (2, 1),
            "the adopted section got the class's members ({mode}): {enrolled:#?}"
        );

        // Afterwards the stored Canvas id is used: renamed in Canvas, the course is still ours.
        let _: Value = sandbox
            .read(client.write(
                reqwest::Method::PUT,
                &format!("/api/v1/courses/{}", course["id"]),
                vec![("course[name]".into(), "Renamed by a teacher".into())],
                Retry::Safe,
            ))
            .unwrap();
        let again = rb_token(&f, &["sync", "--json"]);
        let report = format!("{}\n{}", again.stdout, again.stderr);
        assert_eq!(
            id_at("/api/v1/courses/sis_course_id:cls-001"),
            course["id"],
            "{report}"
        );
        let named_p1: Vec<Value> = sandbox
            .read(client.get_all(
                "/api/v1/accounts/1/courses",
                &[("search_term", "Physics - P1".into())],
            ))
            .unwrap();
        assert!(
            named_p1.iter().all(|c| c["id"] == course["id"]),
            "no second course created on the next run ({mode}): {named_p1:#?}"
        );
    }
}

fn wait_account(sandbox: &Sandbox, id: &str) -> Value {
    let client = sandbox.client();
    for _ in 0..100 {
        if let Ok(v) = sandbox.read(client.get::<Value>(&format!("/api/v1/accounts/{id}"), &[])) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("account {id} never appeared");
}

#[test]
fn first_contact_matches_users_by_integration_id_when_mapping_match_says_so() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.client();
    // Bart already has a Canvas account under another login, carrying his SIS identifier.
    let made: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            vec![
                ("user[name]".into(), "Bart S".into()),
                ("pseudonym[unique_id]".into(), "bart.s@old.example".into()),
                ("pseudonym[integration_id]".into(), "0007".into()),
            ],
            Retry::Safe,
        ))
        .unwrap();
    let f = Fixture::new();
    f.write(
        "rosterbridge.toml",
        &format!(
            "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{}\"\naccount_id = 1\n\n[mapping.match]\nusers = [\"sis_id\", \"integration_id\"]\n\n[mapping.fields.users]\nintegration_id = {{ property = \"identifier\" }}\n",
            sandbox.url
        ),
    );
    let out = rb_token(&f, &["sync", "-q"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let bart: Value = sandbox
        .read(client.get("/api/v1/users/sis_user_id:007", &[]))
        .unwrap();
    assert_eq!(bart["id"], made["id"], "adopted, not duplicated");
    let all: Vec<Value> = sandbox
        .read(client.get_all(
            "/api/v1/accounts/1/users",
            &[("search_term", "Bart".into())],
        ))
        .unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
}

#[test]
fn the_rest_sink_enrols_with_the_custom_roles_resolved_id() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.client();
    let created: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/roles",
            vec![
                ("label".into(), "Mentor".into()),
                ("base_role_type".into(), "TaEnrollment".into()),
            ],
            Retry::Safe,
        ))
        .unwrap();
    let f = mentor_fixture_mode(&sandbox.url, "Mentor", "rest");
    let out = rb_token(&f, &["sync", "-q"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let enrollments: Vec<Value> = sandbox
        .read(client.get_all("/api/v1/sections/sis_section_id:cls-002/enrollments", &[]))
        .unwrap();
    let m = enrollments
        .iter()
        .find(|e| e["user"]["sis_user_id"] == "m-1" || e["sis_user_id"] == "m-1")
        .unwrap_or_else(|| panic!("{enrollments:#?}"));
    assert_eq!(
        (m["type"].as_str(), m["role_id"].as_u64()),
        (Some("TaEnrollment"), created["id"].as_u64())
    );
    // Planned again: nothing to do.
    let out = rb_token(&f, &["plan", "--json"]);
    assert_eq!(out.json()["summary"]["enrollments"]["create"], 0);
}
