//! user_observers.csv behaviour and observer enrollments.

use crate::common::*;

const OBS: &str = "user_observers.csv";
const HDR: &str = "observer_id,student_id,status\n";

#[tokio::test]
async fn user_observers_validation_messages_in_canvas_order() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(OBS, &format!("{HDR},U1,active\nP1,,active\nU1,U1,active\nP1,U1,activated\nP9,U1,active\nP1,U9,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No observer_id given for a user observer",
            "No user_id given for a user observer",
            "Can't observe yourself user U1",
            "Improper status \"activated\" for a user_observer",
            "An observer referenced a non-existent user P9",
            "A student referenced a non-existent user U9",
        ]
    );
}

#[tokio::test]
async fn user_observer_status_is_case_insensitive_whole_word() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.import(OBS, &format!("{HDR}P1,U1,ACTIVE\n")).await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn observer_link_enrolls_observer_in_students_sections() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    let e = sb.get("/api/v1/users/sis_user_id:P1/enrollments").await;
    let e = e.as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["type"], "ObserverEnrollment");
    assert_eq!(e[0]["sis_section_id"], "S1");
    let student = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(e[0]["associated_user_id"], student["id"]);
    let observees = sb.get("/api/v1/users/sis_user_id:P1/observees").await;
    assert_eq!(observees[0]["sis_user_id"], "U1");
}

#[tokio::test]
async fn observer_links_in_same_import_follow_enrollments_processed_earlier() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                (
                    "observers.csv",
                    "observer_id,student_id,status\nP1,U1,active\n",
                ),
                (
                    "courses.csv",
                    "course_id,short_name,long_name,status\nC1,C1,One,active\n",
                ),
                (
                    "users.csv",
                    "user_id,login_id,status\nU1,u1,active\nP1,p1,active\n",
                ),
                (
                    "enrollments.csv",
                    "course_id,user_id,role,status\nC1,U1,student,active\n",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(
        v["data"]["supplied_batches"],
        serde_json::json!(["course", "user", "enrollment", "user_observer"])
    );
    let e = sb.get("/api/v1/users/sis_user_id:P1/enrollments").await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn new_student_enrollment_gets_linked_observer_enrollment() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC2,C2,Two,active\n",
    )
    .await;
    sb.import(
        ENROLLMENTS,
        "course_id,user_id,role,status\nC2,U1,student,active\n",
    )
    .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C2/enrollments?type[]=ObserverEnrollment")
        .await;
    assert_eq!(e[0]["sis_user_id"], "P1");
}

#[tokio::test]
async fn deleting_observer_link_deletes_derived_observer_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(OBS, &format!("{HDR}P1,U1,deleted\n")).await;
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/enrollments")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/observees")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn deleting_a_non_existent_observer_link_warns() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.import(OBS, &format!("{HDR}P1,U1,deleted\n")).await;
    assert_eq!(
        warnings(&v),
        vec!["Can't delete a non-existent observer for observer: P1, student: U1"]
    );
}

#[tokio::test]
async fn deleting_student_enrollment_deletes_linked_observer_enrollment() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(
        ENROLLMENTS,
        "course_id,section_id,user_id,role,status\nC1,S1,U1,student,deleted\n",
    )
    .await;
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/enrollments")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

const E: &str = "course_id,section_id,user_id,role,status\n";

#[tokio::test]
async fn observer_enrollment_mirrors_student_enrollment_state() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,completed\n"))
        .await;
    let e = sb
        .get("/api/v1/users/sis_user_id:P1/enrollments?state[]=completed")
        .await;
    assert_eq!(e[0]["type"], "ObserverEnrollment");
}

#[tokio::test]
async fn new_observer_link_skips_completed_student_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,completed\n"))
        .await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    let e = sb.get("/api/v1/users/sis_user_id:P1/enrollments?state[]=active&state[]=completed&state[]=deleted").await;
    assert!(e.as_array().unwrap().is_empty(), "{e}");
}

#[tokio::test]
async fn unlinked_observer_is_not_reenrolled_when_the_student_returns() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(OBS, &format!("{HDR}P1,U1,deleted\n")).await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,deleted\n"))
        .await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,active\n"))
        .await;
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/enrollments")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn explicitly_deleted_observer_enrollment_is_not_revived_by_student_changes() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    let e = sb.get("/api/v1/users/sis_user_id:P1/enrollments").await;
    let oid = e[0]["id"].as_u64().unwrap();
    let r = sb
        .http
        .delete(sb.url(&format!(
            "/api/v1/courses/sis_course_id:C1/enrollments/{oid}?task=delete"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,completed\n"))
        .await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,active\n"))
        .await;
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/enrollments")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn student_enrollment_back_from_deleted_recreates_linked_observer_enrollment() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(OBS, &format!("{HDR}P1,U1,active\n")).await;
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,deleted\n"))
        .await;
    assert!(sb
        .get("/api/v1/users/sis_user_id:P1/enrollments")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    sb.import(ENROLLMENTS, &format!("{E}C1,S1,U1,student,active\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:P1/enrollments")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
