//! Sandbox-only features: grades admin endpoint and fault injection.

use rosterbridge_sandbox::{FaultConfig, ImportFault, RunningSandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn grades_set_through_sandbox_endpoint_show_on_student_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let id = e[0]["id"].as_u64().unwrap();
    let r = sb
        .http
        .put(sb.url(&format!("/api/v1/sandbox/enrollments/{id}/grades")))
        .bearer_auth(TOKEN)
        .json(&json!({"current_score": 91.5, "current_grade": "A-", "override_score": 95.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e[0]["grades"]["current_score"], 91.5);
    assert_eq!(e[0]["grades"]["current_grade"], "A-");
    assert_eq!(e[0]["grades"]["override_score"], 95.0);
    assert_eq!(e[0]["override_score"], 95.0);
    assert!(e[0]["grades"]["final_score"].is_null());
}

async fn start_with_faults(faults: FaultConfig) -> (RunningSandbox, reqwest::Client) {
    let mut config = SandboxConfig::new("127.0.0.1:0".parse().unwrap(), TOKEN);
    config.faults = faults;
    (
        RunningSandbox::start(config).await.unwrap(),
        crate::common::http_client(),
    )
}

#[tokio::test]
async fn error_rate_one_answers_every_api_request_with_a_5xx() {
    let (sb, http) = start_with_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = http
            .get(format!("{}/api/v1/accounts/1", sb.base_url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![500, 502, 503]);
}

#[tokio::test]
async fn error_rate_zero_injects_nothing() {
    let (sb, http) = start_with_faults(FaultConfig::default()).await;
    let r = http
        .get(format!("{}/api/v1/accounts/1", sb.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn post_import(sb: &RunningSandbox, http: &reqwest::Client) -> u64 {
    let r = http
        .post(format!(
            "{}/api/v1/accounts/1/sis_imports?extension=csv",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .body("user_id,login_id,status\nU1,u1,active\n")
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

async fn show(sb: &RunningSandbox, http: &reqwest::Client, id: u64) -> Value {
    http.get(format!(
        "{}/api/v1/accounts/1/sis_imports/{id}",
        sb.base_url
    ))
    .bearer_auth(TOKEN)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn import_fault_fail_ends_failed_with_error_message() {
    let (sb, http) = start_with_faults(FaultConfig {
        import_outcome: Some(ImportFault::Fail),
        ..FaultConfig::default()
    })
    .await;
    let id = post_import(&sb, &http).await;
    let mut v = show(&sb, &http, id).await;
    for _ in 0..100 {
        if v["workflow_state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        v = show(&sb, &http, id).await;
    }
    assert_eq!(v["workflow_state"], "failed");
    assert!(v["data"]["error_message"].is_string());
    assert!(v.get("processing_errors").is_none());
}

#[tokio::test]
async fn import_fault_stay_importing_never_finishes_and_can_be_aborted() {
    let (sb, http) = start_with_faults(FaultConfig {
        import_outcome: Some(ImportFault::StayImporting),
        ..FaultConfig::default()
    })
    .await;
    let id = post_import(&sb, &http).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(show(&sb, &http, id).await["workflow_state"], "importing");
    let importing: Value = http
        .get(format!(
            "{}/api/v1/accounts/1/sis_imports/importing",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(importing["sis_imports"].as_array().unwrap().len(), 1);
    let r = http
        .put(format!(
            "{}/api/v1/accounts/1/sis_imports/{id}/abort",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["workflow_state"],
        "aborted"
    );
}

async fn start_db(path: &std::path::Path) -> RunningSandbox {
    let mut config = SandboxConfig::new("127.0.0.1:0".parse().unwrap(), TOKEN);
    config.db = Some(path.to_path_buf());
    RunningSandbox::start(config).await.unwrap()
}

async fn import_and_wait(
    sb: &RunningSandbox,
    http: &reqwest::Client,
    query: &str,
    csv: &str,
) -> Value {
    let r = http
        .post(format!(
            "{}/api/v1/accounts/1/sis_imports?extension=csv{query}",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    for _ in 0..500 {
        let v = show(sb, http, id).await;
        if v["workflow_state"] != "created" && v["workflow_state"] != "importing" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("import {id} did not finish");
}

#[tokio::test]
async fn sandbox_with_db_keeps_objects_ids_and_imports_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.db");
    let http = crate::common::http_client();
    let sb = start_db(&db).await;
    let first = import_and_wait(
        &sb,
        &http,
        "&diffing_data_set_identifier=d",
        "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\n",
    )
    .await;
    assert_eq!(first["workflow_state"], "imported");
    let u1: Value = http
        .get(format!("{}/api/v1/users/sis_user_id:U1", sb.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sb.stop().await.unwrap();

    let sb = start_db(&db).await;
    let again: Value = http
        .get(format!("{}/api/v1/users/sis_user_id:U1", sb.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], u1["id"]);
    assert_eq!(again["name"], "One");
    let shown = show(&sb, &http, 1).await;
    assert_eq!(shown["workflow_state"], "imported");
    // The import's user and its downloadable CSV survive the restart too.
    assert_eq!(shown["user"], first["user"]);
    let csv_url = shown["csv_attachments"][0]["url"].as_str().unwrap();
    let csv = reqwest::get(csv_url).await.unwrap().text().await.unwrap();
    assert!(
        csv.starts_with("user_id,login_id,full_name,status\nU1,u1,One"),
        "{csv}"
    );
    // The stored upload is still the diffing baseline after the restart.
    let second = import_and_wait(
        &sb,
        &http,
        "&diffing_data_set_identifier=d",
        "user_id,login_id,full_name,status\nU1,u1,One,active\n",
    )
    .await;
    assert_eq!(second["diffed_against_import_id"], 1);
    assert_eq!(second["data"]["counts"]["users"], 1);
    sb.stop().await.unwrap();
}

#[tokio::test]
async fn sandbox_without_db_starts_empty_every_time() {
    let (sb, http) = start_with_faults(FaultConfig::default()).await;
    let v: Value = http
        .get(format!("{}/api/v1/accounts/1/sis_imports", sb.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["sis_imports"], json!([]));
}

#[tokio::test]
async fn drop_rate_one_cuts_every_api_response_short() {
    let (sb, http) = start_with_faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    for _ in 0..2 {
        let outcome = match http
            .get(format!("{}/api/v1/accounts/1", sb.base_url))
            .bearer_auth(TOKEN)
            .send()
            .await
        {
            Err(e) => Err(e),
            Ok(r) => r.bytes().await.map(|_| ()),
        };
        assert!(outcome.is_err(), "the client must see a broken response");
    }
}

async fn form(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = sb
        .http
        .request(method, sb.url(path))
        .bearer_auth(TOKEN)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn set_grades(sb: &Sandbox, id: u64, grades: Value) {
    let r = sb
        .http
        .put(sb.url(&format!("/api/v1/sandbox/enrollments/{id}/grades")))
        .bearer_auth(TOKEN)
        .json(&grades)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn course_grading_standard_turns_scores_into_letter_grades_the_canvas_way() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let entries = [("A", "90"), ("B", "80"), ("C", "70"), ("F", "0")];
    let mut f: Vec<(&str, &str)> = vec![("title", "Letters")];
    for (n, v) in &entries {
        f.push(("grading_scheme_entry[][name]", n));
        f.push(("grading_scheme_entry[][value]", v));
    }
    let (status, gs) = form(
        &sb,
        reqwest::Method::POST,
        "/api/v1/courses/sis_course_id:C1/grading_standards",
        &f,
    )
    .await;
    assert_eq!(status, 200, "{gs}");
    assert_eq!(gs["context_type"], "Course");
    assert_eq!(
        gs["grading_scheme"][0],
        json!({"name": "A", "value": 0.9}),
        "values are stored as fractions, highest first"
    );
    let id = gs["id"].as_u64().unwrap();
    let listed = sb
        .get("/api/v1/courses/sis_course_id:C1/grading_standards")
        .await;
    assert_eq!(listed[0]["id"], id);
    assert_eq!(
        sb.get(&format!(
            "/api/v1/courses/sis_course_id:C1/grading_standards/{id}"
        ))
        .await["title"],
        "Letters"
    );

    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let eid = e[0]["id"].as_u64().unwrap();
    set_grades(
        &sb,
        eid,
        json!({"current_score": 89.99, "final_score": 90.0, "override_score": -3.0}),
    )
    .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert!(
        e[0]["grades"]["current_grade"].is_null(),
        "no letter grades without a grading scheme on the course"
    );

    let (status, course) = form(
        &sb,
        reqwest::Method::PUT,
        "/api/v1/courses/sis_course_id:C1",
        &[("course[grading_standard_id]", &id.to_string())],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(course["grading_standard_id"], id);
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let g = &e[0]["grades"];
    assert_eq!(
        (
            g["current_grade"].as_str(),
            g["final_grade"].as_str(),
            g["override_grade"].as_str()
        ),
        (Some("B"), Some("A"), Some("F")),
        "{g}"
    );
    assert_eq!(e[0]["override_grade"], "F");

    // Blank clears the scheme; a standard of another course is not usable (404).
    let (status, _) = form(
        &sb,
        reqwest::Method::PUT,
        "/api/v1/courses/sis_course_id:C1",
        &[("course[grading_standard_id]", "")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(sb.get("/api/v1/courses/sis_course_id:C1").await["grading_standard_id"].is_null());
    let (status, _) = form(
        &sb,
        reqwest::Method::PUT,
        "/api/v1/courses/sis_course_id:C1",
        &[("course[grading_standard_id]", "999")],
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn grading_standards_are_validated_as_canvas_does() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let path = "/api/v1/courses/sis_course_id:C1/grading_standards";
    let no_zero = [
        ("title", "X"),
        ("grading_scheme_entry[][name]", "P"),
        ("grading_scheme_entry[][value]", "50"),
    ];
    let (status, body) = form(&sb, reqwest::Method::POST, path, &no_zero).await;
    assert_eq!(status, 400);
    assert!(
        body.to_string()
            .contains("grading schemes must have 0% for the lowest grade"),
        "{body}"
    );
    let dup = [
        ("title", "X"),
        ("grading_scheme_entry[][name]", "P"),
        ("grading_scheme_entry[][value]", "0"),
        ("grading_scheme_entry[][name]", "Q"),
        ("grading_scheme_entry[][value]", "0"),
    ];
    let (status, body) = form(&sb, reqwest::Method::POST, path, &dup).await;
    assert_eq!(status, 400);
    assert!(
        body.to_string().contains("cannot contain duplicate values"),
        "{body}"
    );
    let (status, _) = form(
        &sb,
        reqwest::Method::POST,
        path,
        &[
            ("grading_scheme_entry[][name]", "P"),
            ("grading_scheme_entry[][value]", "0"),
        ],
    )
    .await;
    assert_eq!(status, 400, "a title is required");
    // An account's standard is usable by its courses.
    let (status, gs) = form(
        &sb,
        reqwest::Method::POST,
        "/api/v1/accounts/1/grading_standards",
        &[
            ("title", "District"),
            ("grading_scheme_entry[][name]", "Pass"),
            ("grading_scheme_entry[][value]", "50"),
            ("grading_scheme_entry[][name]", "Fail"),
            ("grading_scheme_entry[][value]", "0"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{gs}");
    let listed = sb.get(path).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == gs["id"] && g["context_type"] == "Account"));
}

async fn graphql(sb: &Sandbox, body: Value) -> Value {
    let r = sb
        .http
        .post(sb.url("/api/graphql"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn final_grade_override_is_set_through_canvas_graphql_set_override_score() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let id = e[0]["id"].as_u64().unwrap();
    set_grades(&sb, id, json!({"current_score": 70.0, "final_score": 65.0})).await;
    let q = "mutation SetOverride($enrollmentId: ID!, $overrideScore: Float) { setOverrideScore(input: {enrollmentId: $enrollmentId, overrideScore: $overrideScore}) { grades { overrideScore } errors { attribute message } } }";
    let r = graphql(
        &sb,
        json!({"query": q, "variables": {"enrollmentId": id.to_string(), "overrideScore": 88.5}}),
    )
    .await;
    assert_eq!(
        r["data"]["setOverrideScore"]["grades"]["overrideScore"], 88.5,
        "{r}"
    );
    assert!(r["data"]["setOverrideScore"]["errors"].is_null());
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(
        (
            e[0]["grades"]["override_score"].as_f64(),
            e[0]["override_score"].as_f64()
        ),
        (Some(88.5), Some(88.5))
    );
    assert_eq!(
        e[0]["grades"]["final_score"], 65.0,
        "the computed grades stay"
    );
    // Literal arguments work too; null removes the override.
    let r = graphql(&sb, json!({"query": format!("mutation {{ setOverrideScore(input: {{enrollmentId: \"{id}\", overrideScore: null}}) {{ grades {{ overrideScore }} }} }}")})).await;
    assert!(
        r["data"]["setOverrideScore"]["grades"]["overrideScore"].is_null(),
        "{r}"
    );
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert!(e[0]["grades"]["override_score"].is_null());
    // An unknown enrollment and other queries are GraphQL errors.
    let r = graphql(
        &sb,
        json!({"query": q, "variables": {"enrollmentId": "99999", "overrideScore": 1.0}}),
    )
    .await;
    assert!(
        r["data"]["setOverrideScore"].is_null() && r["errors"][0]["message"] == "not found",
        "{r}"
    );
    let r = graphql(&sb, json!({"query": "{ course(id: 1) { name } }"})).await;
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("setOverrideScore"));
    // Like every API call, it needs a token.
    let r = sb
        .http
        .post(sb.url("/api/graphql"))
        .json(&json!({"query": q}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
