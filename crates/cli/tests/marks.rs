//! Marks passback end to end (issue 9): a real `rosterbridge sandbox` process serving both
//! Canvas and the SIS provider; the district is synced from the provider over OneRoster
//! REST, grades are put in Canvas, and `rosterbridge marks plan/push/log` carry them back to
//! the provider's gradebook (read back through its own API) and to files.

mod common;

use common::sandbox::{Sandbox, TOKEN};
use common::{run_env, Fixture, Run};
use reqwest::Method;
use rosterbridge_canvas_client::{sis_path, Body, Retry};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The fixture district (students 007 and 008 in cls-001, 009 in cls-002) served by the
/// sandbox's SIS provider.
fn start(extra: &[&str]) -> (Sandbox, String, Fixture) {
    let fixture = Fixture::new();
    let roster = fixture.path("district").display().to_string();
    let mut args = vec![
        "--sis-listen",
        "127.0.0.1:0",
        "--sis-roster",
        roster.as_str(),
    ];
    args.extend_from_slice(extra);
    let (sandbox, lines) = Sandbox::start_reading(&args, 1);
    (sandbox, lines[0].clone(), fixture)
}

struct Work {
    dir: tempfile::TempDir,
    secret: &'static str,
}

impl Work {
    fn new(source: &str, canvas: &str, marks: &str, secret: &'static str) -> Work {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rosterbridge.toml"), format!("{source}\n[canvas]\nurl = \"{canvas}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n\n[marks]\n{marks}")).unwrap();
        Work { dir, secret }
    }
    fn rb(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--config".to_string(),
            self.dir
                .path()
                .join("rosterbridge.toml")
                .display()
                .to_string(),
            "-q".into(),
        ]);
        run_env(
            self.dir.path(),
            &all,
            &[("CANVAS_TOKEN", TOKEN), ("SIS_SECRET", self.secret)],
        )
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// Sets grades on a student's enrollment in a section, through the sandbox's test endpoint.
fn set_grades(sandbox: &Sandbox, class: &str, student: &str, grades: Value) {
    let client = sandbox.client();
    sandbox.read(async {
        let path = format!(
            "/api/v1/sections/{}/enrollments",
            sis_path("sis_section_id", class)
        );
        let list: Vec<Value> = client
            .get_all(&path, &[("type[]", "StudentEnrollment".into())])
            .await
            .unwrap();
        let e = list
            .iter()
            .find(|e| e["sis_user_id"] == student)
            .unwrap_or_else(|| panic!("{student} in {class}: {list:?}"));
        let body = Body::Bytes {
            content_type: "application/json",
            data: std::sync::Arc::new(serde_json::to_vec(&grades).unwrap()),
        };
        client
            .send(
                Method::PUT,
                &format!("/api/v1/sandbox/enrollments/{}/grades", e["id"]),
                &[],
                &body,
                Retry::Safe,
            )
            .await
            .unwrap();
    });
}

/// Sets a Final Grade Override the way Canvas's gradebook does: GraphQL `setOverrideScore`.
fn set_override(sandbox: &Sandbox, class: &str, student: &str, score: f64) {
    let client = sandbox.client();
    sandbox.read(async {
        let path = format!("/api/v1/sections/{}/enrollments", sis_path("sis_section_id", class));
        let list: Vec<Value> = client.get_all(&path, &[("type[]", "StudentEnrollment".into())]).await.unwrap();
        let e = list.iter().find(|e| e["sis_user_id"] == student).unwrap();
        let q = "mutation ($id: ID!, $score: Float) { setOverrideScore(input: {enrollmentId: $id, overrideScore: $score}) { grades { overrideScore } errors { message } } }";
        let body = json!({"query": q, "variables": {"id": e["id"].to_string(), "score": score}});
        let body = Body::Bytes { content_type: "application/json", data: std::sync::Arc::new(serde_json::to_vec(&body).unwrap()) };
        let r = client.send(Method::POST, "/api/graphql", &[], &body, Retry::Safe).await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["data"]["setOverrideScore"]["grades"]["overrideScore"].as_f64(), Some(score), "{v}");
    });
}

/// The SIS provider's gradebook, read back through its sandbox dump.
fn gradebook(sis: &str) -> Value {
    // Building a Canvas client installs the TLS crypto provider reqwest needs here.
    let _ = rosterbridge_canvas_client::CanvasClient::new(
        sis,
        rosterbridge_canvas_client::Token::new("unused"),
        Default::default(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::get(format!("{sis}/sandbox/gradebook"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    })
}

fn result_of<'a>(gb: &'a Value, student: &str) -> Vec<&'a Value> {
    gb["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["student"]["sourcedId"] == student)
        .collect()
}

fn mark<'a>(plan: &'a Value, student: &str) -> &'a Value {
    plan["marks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["student"] == student)
        .unwrap_or_else(|| panic!("no mark for {student}: {plan}"))
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

const V11: &str = "[source]\nkind = \"oneroster-rest\"\nbase_url = \"@SIS@/ims/oneroster/v1p1\"\nversion = \"1.1\"\nclient_id = \"sandbox-key\"\nclient_secret_env = \"SIS_SECRET\"\n";
const V12: &str = "[source]\nkind = \"oneroster-rest\"\nbase_url = \"@SIS@/ims/oneroster/rostering/v1p2\"\nversion = \"1.2\"\nclient_id = \"sandbox-client\"\nclient_secret_env = \"SIS_SECRET\"\ntoken_url = \"@SIS@/oauth/token\"\n";

#[test]
fn numeric_marks_flow_from_canvas_to_the_oneroster_provider_and_files_and_a_rerun_updates_without_duplicates(
) {
    let (sandbox, sis, _fixture) = start(&[]);
    let w = Work::new(
        &V11.replace("@SIS@", &sis),
        &sandbox.url,
        "enabled = true\nmark_period = \"fall-2026\"\n",
        "sandbox-secret",
    );
    w.rb(&["sync"]).ok();
    set_grades(
        &sandbox,
        "cls-001",
        "007",
        json!({"current_score": 90.0, "final_score": 85.5}),
    );
    set_grades(
        &sandbox,
        "cls-001",
        "008",
        json!({"current_score": 60.0, "final_score": 60.0}),
    );
    set_override(&sandbox, "cls-001", "008", 75.0);
    // 009 in cls-002 has no grade yet.

    let plan = w.rb(&["marks", "plan", "--json"]);
    plan.ok();
    let plan = plan.json();
    assert_eq!(plan["summary"]["send"], 2, "{plan}");
    let bart = mark(&plan, "007");
    assert_eq!(
        (
            bart["score"].as_f64(),
            bart["from"].as_str(),
            bart["action"].as_str()
        ),
        (Some(85.5), Some("final"), Some("send"))
    );
    assert_eq!(bart["flags"][0]["flag"], "current_final_disagree");
    let lisa = mark(&plan, "008");
    assert_eq!(
        (lisa["score"].as_f64(), lisa["from"].as_str()),
        (Some(75.0), Some("override")),
        "the override wins"
    );
    let milhouse = mark(&plan, "009");
    assert_eq!(
        (
            milhouse["action"].as_str(),
            milhouse["flags"][0]["flag"].as_str()
        ),
        (Some("skip"), Some("no_grade"))
    );
    let text = w.rb(&["marks", "plan"]);
    text.ok();
    assert!(
        text.stdout.contains("current 90 and final 85.5 disagree")
            && text.stdout.contains("no grade in Canvas"),
        "{}",
        text.stdout
    );
    assert!(
        gradebook(&sis)["results"].as_array().unwrap().is_empty(),
        "plan writes nothing"
    );

    let push = w.rb(&["marks", "push", "--json"]);
    push.ok();
    let report = push.json();
    assert_eq!(
        (
            report["sent"].as_u64(),
            report["rejected"].as_u64(),
            report["outcome"].as_str()
        ),
        (Some(2), Some(0), Some("succeeded")),
        "{report}"
    );
    let gb = gradebook(&sis);
    assert_eq!(
        gb["lineItems"].as_array().unwrap().len(),
        1,
        "one line item: cls-001 (cls-002 has nothing to send)"
    );
    assert_eq!(
        gb["lineItems"][0]["gradingPeriod"]["sourcedId"],
        "fall-2026"
    );
    assert_eq!(gb["lineItems"][0]["class"]["sourcedId"], "cls-001");
    assert_eq!(result_of(&gb, "007")[0]["score"].as_f64(), Some(85.5));
    assert_eq!(result_of(&gb, "008")[0]["score"].as_f64(), Some(75.0));
    let writes = gb["writes"].as_u64().unwrap();

    // Nothing changed: nothing is sent again.
    let again = w.rb(&["marks", "push", "--json"]);
    again.ok();
    assert_eq!(
        (
            again.json()["sent"].as_u64(),
            again.json()["unchanged"].as_u64(),
            again.json()["outcome"].as_str()
        ),
        (Some(0), Some(2), Some("no_changes"))
    );
    assert_eq!(
        gradebook(&sis)["writes"].as_u64(),
        Some(writes),
        "no request reached the provider"
    );

    // A grade changes in Canvas and 009 gets one: the changed result is replaced, not duplicated.
    set_grades(
        &sandbox,
        "cls-001",
        "007",
        json!({"current_score": 91.0, "final_score": 91.0}),
    );
    set_grades(
        &sandbox,
        "cls-002",
        "009",
        json!({"current_score": 70.0, "final_score": 70.0}),
    );
    let third = w.rb(&["marks", "push", "--json"]);
    third.ok();
    assert_eq!(third.json()["sent"].as_u64(), Some(2));
    let gb = gradebook(&sis);
    assert_eq!(
        gb["results"].as_array().unwrap().len(),
        3,
        "007 and 008 once each, plus 009"
    );
    assert_eq!(result_of(&gb, "007").len(), 1);
    assert_eq!(result_of(&gb, "007")[0]["score"].as_f64(), Some(91.0));
    assert_eq!(gb["lineItems"].as_array().unwrap().len(), 2);

    // Every transfer is in the run history: who, what value, when, outcome.
    let log = w.rb(&["marks", "log", "--json"]);
    log.ok();
    let log = log.json();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 4, "2 in the first push, 2 in the third: {log:?}");
    let t = log
        .iter()
        .find(|t| t["student"] == "007" && t["value"] == "91")
        .unwrap();
    assert_eq!(
        (
            t["outcome"].as_str(),
            t["source"].as_str(),
            t["class"].as_str()
        ),
        (Some("sent"), Some("final"), Some("cls-001"))
    );
    assert!(
        t["at"].as_str().unwrap().ends_with('Z')
            && t["target"].as_str().unwrap().starts_with("oneroster http")
    );
    let runs = w.rb(&["runs", "--json"]);
    let runs = runs.json();
    let pushes: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["command"] == "marks push")
        .collect();
    assert_eq!(pushes.len(), 3);
    assert_eq!(pushes[1]["outcome"], "no_changes");
    let text = w.rb(&["runs"]);
    assert!(
        text.stdout.contains("marks push succeeded")
            && text
                .stdout
                .contains("2 mark(s) sent, 0 exported, 0 rejected"),
        "{}",
        text.stdout
    );

    // Any SIS: the same marks as a OneRoster CSV package, complete every time.
    let out = w.path("export");
    let files = w.rb(&["marks", "push", "--out", out.to_str().unwrap(), "--json"]);
    files.ok();
    assert_eq!(files.json()["exported"].as_u64(), Some(3));
    let rows = csv_rows(&out.join("results.csv"));
    assert_eq!(rows.len(), 3);
    let bart = rows.iter().find(|r| r[4] == "007").unwrap();
    assert_eq!((bart[5].as_str(), bart[6].as_str()), ("fully graded", "91"));
    assert_eq!(csv_rows(&out.join("lineItems.csv")).len(), 2);
    assert!(out.join("manifest.csv").exists() && out.join("categories.csv").exists());
}

#[test]
fn literal_marks_over_oneroster_1_2_with_a_provider_that_refuses_one_student() {
    let (sandbox, sis, _fixture) = start(&["--sis-reject-result", "008"]);
    let marks = "enabled = true\ntype = \"literal\"\ngrade = \"current\"\nmark_period = \"fall-2026\"\nscale = [{ name = \"A\", min = 90 }, { name = \"B\", min = 80 }, { name = \"C\", min = 70 }, { name = \"F\", min = 0 }]\n";
    let w = Work::new(
        &V12.replace("@SIS@", &sis),
        &sandbox.url,
        marks,
        "sandbox-client-secret",
    );
    w.rb(&["sync"]).ok();
    set_grades(
        &sandbox,
        "cls-001",
        "007",
        json!({"current_score": 89.99, "final_score": 70.0}),
    );
    set_grades(&sandbox, "cls-001", "008", json!({"current_score": 95.0}));
    set_grades(&sandbox, "cls-002", "009", json!({"current_score": 104.0}));

    let plan = w.rb(&["marks", "plan", "--json"]);
    plan.ok();
    let plan = plan.json();
    assert_eq!(
        mark(&plan, "007")["text"],
        "B",
        "89.99 is below the A band's 90"
    );
    assert_eq!(mark(&plan, "009")["text"], "A");
    assert_eq!(mark(&plan, "009")["flags"][0]["flag"], "outside_scale");

    let push = w.rb(&["marks", "push", "--json"]);
    assert_eq!(
        push.code, 3,
        "partial failure: {}\n{}",
        push.stdout, push.stderr
    );
    let report = push.json();
    assert_eq!(
        (
            report["sent"].as_u64(),
            report["rejected"].as_u64(),
            report["outcome"].as_str()
        ),
        (Some(2), Some(1), Some("partial_failure"))
    );
    let gb = gradebook(&sis);
    assert_eq!(result_of(&gb, "007")[0]["textScore"], "B");
    assert_eq!(result_of(&gb, "007")[0]["score"].as_f64(), Some(89.99));
    assert_eq!(result_of(&gb, "009")[0]["textScore"], "A");
    assert!(
        result_of(&gb, "008").is_empty(),
        "the refused result is not stored"
    );
    assert_eq!(
        gb["lineItems"][0]["academicSession"]["sourcedId"],
        "fall-2026"
    );
    assert_eq!(
        gb["lineItems"][0]["school"]["sourcedId"], "sch-1",
        "1.2 line items name the class's school"
    );

    // The refusal is recorded with the provider's reason, and the next push tries it again.
    let log = w.rb(&["marks", "log", "--json"]).json();
    let refused = log
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["student"] == "008")
        .unwrap();
    assert_eq!(refused["outcome"], "rejected");
    assert!(
        refused["message"].as_str().unwrap().contains("locked"),
        "{refused}"
    );
    let again = w.rb(&["marks", "push", "--json"]);
    assert_eq!(again.code, 3);
    assert_eq!(
        (
            again.json()["sent"].as_u64(),
            again.json()["rejected"].as_u64(),
            again.json()["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(2))
    );
}

#[test]
fn marks_commands_refuse_when_marks_are_off_and_before_any_sync() {
    let (sandbox, sis, _fixture) = start(&[]);
    let w = Work::new(
        &V11.replace("@SIS@", &sis),
        &sandbox.url,
        "enabled = true\nmark_period = \"fall-2026\"\n",
        "sandbox-secret",
    );
    let early = w.rb(&["marks", "plan"]);
    assert_eq!(early.code, 1);
    assert!(
        early.stderr.contains("run `rosterbridge sync` first"),
        "{}",
        early.stderr
    );
    let off = Work::new(
        &V11.replace("@SIS@", &sis),
        &sandbox.url,
        "enabled = false\n",
        "sandbox-secret",
    );
    off.rb(&["sync"]).ok();
    let r = off.rb(&["marks", "push"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("marks syncing is off"), "{}", r.stderr);
}

#[test]
fn literal_marks_from_canvas_letter_grades_need_a_grading_scheme_on_the_course() {
    let (sandbox, sis, _fixture) = start(&[]);
    let w = Work::new(
        &V11.replace("@SIS@", &sis),
        &sandbox.url,
        "enabled = true\ntype = \"literal\"\nscale = \"canvas\"\nmark_period = \"fall-2026\"\n",
        "sandbox-secret",
    );
    w.rb(&["sync"]).ok();
    // cls-001 gets a grading scheme through Canvas's API; cls-002 has none.
    let client = sandbox.client();
    sandbox.read(async {
        let course = sis_path("sis_course_id", "cls-001");
        let mut form = vec![("title".to_string(), "Letters".to_string())];
        for (n, v) in [("A", "90"), ("B", "80"), ("C", "70"), ("F", "0")] {
            form.push(("grading_scheme_entry[][name]".into(), n.into()));
            form.push(("grading_scheme_entry[][value]".into(), v.into()));
        }
        let gs: Value = client
            .write(
                Method::POST,
                &format!("/api/v1/courses/{course}/grading_standards"),
                form,
                Retry::IfNotProcessed,
            )
            .await
            .unwrap();
        let _: Value = client
            .write(
                Method::PUT,
                &format!("/api/v1/courses/{course}"),
                vec![("course[grading_standard_id]".into(), gs["id"].to_string())],
                Retry::Safe,
            )
            .await
            .unwrap();
    });
    set_grades(
        &sandbox,
        "cls-001",
        "007",
        json!({"current_score": 79.0, "final_score": 79.0}),
    );
    set_grades(
        &sandbox,
        "cls-001",
        "008",
        json!({"current_score": 50.0, "final_score": 50.0}),
    );
    set_override(&sandbox, "cls-001", "008", 80.0);
    set_grades(
        &sandbox,
        "cls-002",
        "009",
        json!({"current_score": 95.0, "final_score": 95.0}),
    );
    let plan = w.rb(&["marks", "plan", "--json"]);
    plan.ok();
    let plan = plan.json();
    assert_eq!(
        mark(&plan, "007")["text"],
        "C",
        "Canvas's letter for 79 under the course's scheme"
    );
    assert_eq!(
        (
            mark(&plan, "008")["text"].as_str(),
            mark(&plan, "008")["from"].as_str()
        ),
        (Some("B"), Some("override"))
    );
    assert_eq!(
        (
            mark(&plan, "009")["action"].as_str(),
            mark(&plan, "009")["flags"][0]["flag"].as_str()
        ),
        (Some("skip"), Some("no_letter_grade"))
    );
    let push = w.rb(&["marks", "push", "--json"]);
    push.ok();
    let gb = gradebook(&sis);
    assert_eq!(
        result_of(&gb, "007")[0]["comment"],
        "C",
        "1.1 has no textScore: the letter travels in the comment"
    );
    assert_eq!(result_of(&gb, "007")[0]["score"].as_f64(), Some(79.0));
}

#[test]
fn a_class_canvas_no_longer_knows_is_reported_and_the_others_are_still_planned() {
    let (sandbox, sis, _fixture) = start(&[]);
    let w = Work::new(
        &V11.replace("@SIS@", &sis),
        &sandbox.url,
        "enabled = true\nmark_period = \"fall-2026\"\n",
        "sandbox-secret",
    );
    w.rb(&["sync"]).ok();
    set_grades(&sandbox, "cls-001", "007", json!({"final_score": 77.0}));
    // Someone changes cls-002's section SIS id in Canvas: Canvas no longer knows the class.
    let client = sandbox.client();
    sandbox.read(async {
        let section = sis_path("sis_section_id", "cls-002");
        let _: Value = client
            .write(
                Method::PUT,
                &format!("/api/v1/sections/{section}"),
                vec![(
                    "course_section[sis_section_id]".into(),
                    "renamed-in-canvas".into(),
                )],
                Retry::Safe,
            )
            .await
            .unwrap();
    });
    let plan = w.rb(&["marks", "plan", "--json"]);
    plan.ok();
    assert!(
        plan.stderr
            .contains("class cls-002 is in the state but not in Canvas"),
        "{}\n{}",
        plan.stderr,
        plan.stdout
    );
    let plan = plan.json();
    assert_eq!(plan["missing_classes"], json!(["cls-002"]));
    assert_eq!(mark(&plan, "007")["score"].as_f64(), Some(77.0));
}
