//! restore_states and data.statistics (the roll-back journal).

use serde_json::Value;

use crate::common::*;

impl Sandbox {
    async fn restore(&self, id: &Value, params: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .put(self.url(&format!(
                "/api/v1/accounts/1/sis_imports/{id}/restore_states"
            )))
            .bearer_auth(TOKEN)
            .form(params)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn statistics_count_created_objects_per_type() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                (
                    "courses.csv",
                    "course_id,short_name,long_name,status\nC1,C1,One,active\n",
                ),
                ("users.csv", "user_id,login_id,status\nU1,u1,active\n"),
                (
                    "enrollments.csv",
                    "course_id,user_id,role,status\nC1,U1,student,active\n",
                ),
            ],
            &[],
        )
        .await;
    let s = &v["data"]["statistics"];
    assert_eq!(s["Course"]["created"], 1);
    assert_eq!(s["Pseudonym"]["created"], 1);
    assert_eq!(s["Enrollment"]["created"], 1);
    assert_eq!(s["Enrollment"]["concluded"], 0);
    assert_eq!(s["Enrollment"]["deactivated"], 0);
    assert_eq!(s["total_state_changes"], 3);
    assert!(s["AbstractCourse"].is_object() && s["CommunicationChannel"].is_object());
}

#[tokio::test]
async fn statistics_count_deletions_and_conclusions() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.import(ENROLLMENTS, "course_id,section_id,user_id,role,status\nC1,S1,U1,student,completed\nC1,S1,T1,teacher,deleted\n").await;
    let s = &v["data"]["statistics"];
    assert_eq!(s["Enrollment"]["concluded"], 1);
    assert_eq!(s["Enrollment"]["deleted"], 1);
}

#[tokio::test]
async fn restore_states_deletes_what_the_import_created_and_ends_restored() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            "course_id,short_name,long_name,status\nC1,C1,One,active\n",
        )
        .await;
    let r = sb.restore(&v["id"], &[]).await;
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["tag"], "sis_batch_state_restore");
    assert_eq!(
        sb.get(&format!("/api/v1/progress/{}", p["id"])).await["workflow_state"],
        "completed"
    );
    assert_eq!(
        sb.get_raw("/api/v1/courses/sis_course_id:C1")
            .await
            .status(),
        404
    );
    assert_eq!(
        sb.get(&format!("/api/v1/accounts/1/sis_imports/{}", v["id"]))
            .await["workflow_state"],
        "restored"
    );
}

#[tokio::test]
async fn restore_states_brings_back_deleted_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,student1,deleted\n")
        .await;
    assert!(sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    sb.restore(&v["id"], &[]).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e[0]["enrollment_state"], "active");
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1/logins").await[0]["workflow_state"],
        "active"
    );
}

#[tokio::test]
async fn restore_states_with_undelete_only_leaves_other_changes_and_is_partially_restored() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.import(ENROLLMENTS, "course_id,section_id,user_id,role,status\nC1,S1,U1,student,completed\nC1,S1,T1,teacher,deleted\n").await;
    sb.restore(&v["id"], &[("undelete_only", "true")]).await;
    let teachers = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=TeacherEnrollment")
        .await;
    assert_eq!(teachers[0]["enrollment_state"], "active");
    let students = sb.get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment&state[]=completed").await;
    assert_eq!(students.as_array().unwrap().len(), 1);
    assert_eq!(
        sb.get(&format!("/api/v1/accounts/1/sis_imports/{}", v["id"]))
            .await["workflow_state"],
        "partially_restored"
    );
}

#[tokio::test]
async fn restore_states_with_both_only_flags_is_400() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let r = sb
        .restore(
            &v["id"],
            &[("undelete_only", "1"), ("unconclude_only", "1")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        Value::from("cannot set both undelete_only and unconclude_only")
    );
}

#[tokio::test]
async fn restore_states_batch_mode_reverts_only_batch_mode_deletions() {
    let sb = Sandbox::start().await;
    sb.import_zip(
        &[
            ("terms.csv", "term_id,name,status\nT1,Fall,active\n"),
            ("courses.csv", "course_id,short_name,long_name,term_id,status\nC1,C1,One,T1,active\nC2,C2,Two,T1,active\n"),
        ],
        &[],
    )
    .await;
    let v = sb
        .import_with(
            COURSES,
            "course_id,short_name,long_name,term_id,status\nC1,C1,One,T1,active\nC3,C3,Three,T1,active\n",
            &[("batch_mode", "1"), ("batch_mode_term_id", "sis_term_id:T1")],
        )
        .await;
    assert_eq!(count(&v, "batch_courses_deleted"), 1);
    sb.restore(&v["id"], &[("batch_mode", "true")]).await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C2").await["workflow_state"],
        "unpublished"
    );
    // C3 was created by the import, not deleted by batch mode: it stays.
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C3").await["workflow_state"],
        "unpublished"
    );
}
