//! enrollments.csv behaviour.

use crate::common::*;

const HDR: &str = "course_id,section_id,user_id,role,status\n";

#[tokio::test]
async fn enrollment_without_course_or_section_warns() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR},,U1,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["No course_id or section_id given for an enrollment"]
    );
}

#[tokio::test]
async fn enrollment_without_user_warns_no_user_id_given() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,,,student,active\n"))
        .await;
    assert_eq!(warnings(&v), vec!["No user_id given for an enrollment"]);
}

#[tokio::test]
async fn enrollment_with_improper_status_warns() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,,U1,student,pending\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Improper status \"pending\" for an enrollment"]
    );
}

#[tokio::test]
async fn enrollment_for_unknown_user_warns_user_not_found() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S1,U9,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["User not found for enrollment (User ID: U9, Course ID: C1, Section ID: S1)"]
    );
}

#[tokio::test]
async fn enrollment_for_unknown_course_and_section_warns_neither_existed() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C9,S9,U1,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Neither course nor section existed for user enrollment (Course ID: C9, Section ID: S9, User ID: U1)"]
    );
}

#[tokio::test]
async fn enrollment_for_unknown_section_warns_non_existent_section() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S9,U1,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["An enrollment referenced a non-existent section S9"]
    );
}

#[tokio::test]
async fn enrollment_with_unrelated_section_and_course_warns() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC2,C2,Two,active\n",
    )
    .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C2,S1,U1,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["An enrollment listed a section (S1) and a course (C2) that are unrelated for user (U1)"]
    );
}

#[tokio::test]
async fn enrollment_with_unknown_role_warns_improper_role() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S1,U1,principal,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Improper role \"principal\" for an enrollment"]
    );
}

#[tokio::test]
async fn enrollment_by_course_only_goes_to_the_default_section() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU2,u2,active\n")
        .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,,U2,student,active\n"))
        .await;
    assert_eq!(state(&v), "imported");
    let e = sb.get("/api/v1/users/sis_user_id:U2/enrollments").await;
    assert_eq!(e[0]["type"], "StudentEnrollment");
    assert!(e[0]["sis_section_id"].is_null());
    assert_eq!(e[0]["sis_course_id"], "C1");
}

#[tokio::test]
async fn same_user_can_be_student_and_teacher_in_one_section() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(ENROLLMENTS, &format!("{HDR}C1,S1,U1,teacher,active\n"))
        .await;
    let e = sb.get("/api/v1/users/sis_user_id:U1/enrollments").await;
    let mut types: Vec<&str> = e
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, vec!["StudentEnrollment", "TeacherEnrollment"]);
}

#[tokio::test]
async fn repeating_an_enrollment_row_does_not_duplicate_it() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(ENROLLMENTS, &format!("{HDR}C1,S1,U1,student,active\n"))
        .await;
    let e = sb
        .get("/api/v1/sections/sis_section_id:S1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn completed_enrollment_is_concluded() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(ENROLLMENTS, &format!("{HDR}C1,S1,U1,student,completed\n"))
        .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?state[]=completed")
        .await;
    assert_eq!(e[0]["enrollment_state"], "completed");
}

#[tokio::test]
async fn inactive_enrollment_stays_on_admin_course_roster() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(ENROLLMENTS, &format!("{HDR}C1,S1,U1,student,inactive\n"))
        .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e[0]["enrollment_state"], "inactive");
}

#[tokio::test]
async fn new_enrollment_with_status_deleted_is_created_deleted_and_counted() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU2,u2,active\n")
        .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S1,U2,student,deleted\n"))
        .await;
    assert_eq!(count(&v, "enrollments"), 1);
    let e = sb
        .get("/api/v1/users/sis_user_id:U2/enrollments?state[]=deleted")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleted_last_completed_deletes_when_another_active_enrollment_exists() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        SECTIONS,
        "section_id,course_id,name,status\nS2,C1,Two,active\n",
    )
    .await;
    sb.import(ENROLLMENTS, &format!("{HDR}C1,S2,U1,student,active\n"))
        .await;
    sb.import(
        ENROLLMENTS,
        &format!("{HDR}C1,S2,U1,student,deleted_last_completed\n"),
    )
    .await;
    let e = sb
        .get("/api/v1/sections/sis_section_id:S2/enrollments?state[]=deleted")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleted_last_completed_completes_the_last_enrollment() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        ENROLLMENTS,
        &format!("{HDR}C1,S1,U1,student,deleted_last_completed\n"),
    )
    .await;
    let e = sb
        .get("/api/v1/sections/sis_section_id:S1/enrollments?state[]=completed")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn enrolling_a_deleted_user_warns_and_stores_the_enrollment_deleted() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU2,u2,deleted\n")
        .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S1,U2,student,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Attempted enrolling of deleted user U2 in course C1"]
    );
    let e = sb
        .get("/api/v1/users/sis_user_id:U2/enrollments?state[]=deleted")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn enrollment_in_deleted_section_fails_validation() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        SECTIONS,
        "section_id,course_id,name,status\nS2,C1,Two,deleted\n",
    )
    .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S2,U1,student,active\n"))
        .await;
    let w = warnings(&v);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with("An enrollment did not pass validation")
            && w[0].contains("not a valid section"),
        "{w:?}"
    );
}

#[tokio::test]
async fn bad_enrollment_date_warns_bad_date_format_for_user_in_section() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            ENROLLMENTS,
            "course_id,section_id,user_id,role,status,start_date\nC1,S1,U1,student,active,nope\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Bad date format for user U1 in section S1"]
    );
}

#[tokio::test]
async fn student_role_matches_by_prefix_case_insensitively() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU2,u2,active\n")
        .await;
    let v = sb
        .import(ENROLLMENTS, &format!("{HDR}C1,S1,U2,STUDENTS,active\n"))
        .await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn user_integration_id_identifies_the_user() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        USERS,
        "user_id,login_id,integration_id,status\nU2,u2,INT2,active\n",
    )
    .await;
    let v = sb
        .import(
            ENROLLMENTS,
            "course_id,section_id,user_integration_id,role,status\nC1,S1,INT2,student,active\n",
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(
        sb.get("/api/v1/users/sis_integration_id:INT2/enrollments")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
