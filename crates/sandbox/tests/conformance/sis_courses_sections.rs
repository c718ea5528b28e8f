//! courses.csv and sections.csv behaviour.

use crate::common::*;

const HDR: &str = "course_id,short_name,long_name,status\n";

#[tokio::test]
async fn courses_csv_missing_fields_warn_in_canvas_order() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            &format!("{HDR},X,Y,active\nC1,,Y,active\nC2,X,,active\nC3,X,Y,bogus\n"),
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No course_id given for a course",
            "No short_name given for course C1",
            "No long_name given for course C2",
            "Improper status \"bogus\" for course C3",
        ]
    );
}

#[tokio::test]
async fn active_course_is_created_unpublished() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    let c = sb.get("/api/v1/courses/sis_course_id:C1").await;
    assert_eq!(c["workflow_state"], "unpublished");
    assert_eq!(c["name"], "Course");
    assert_eq!(c["course_code"], "C1");
}

#[tokio::test]
async fn published_course_is_available() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,published\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "available"
    );
}

#[tokio::test]
async fn active_on_a_completed_course_unconcludes_it_to_available() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,completed\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "completed"
    );
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "available"
    );
}

#[tokio::test]
async fn active_on_a_deleted_course_restores_it_unpublished() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,deleted\n"))
        .await;
    assert_eq!(
        sb.get_raw("/api/v1/courses/sis_course_id:C1")
            .await
            .status(),
        404
    );
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "unpublished"
    );
}

#[tokio::test]
async fn unknown_term_id_puts_course_in_default_term_without_warning() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            "course_id,short_name,long_name,term_id,status\nC1,C1,Course,NOPE,active\n",
        )
        .await;
    assert_eq!(state(&v), "imported");
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["enrollment_term_id"],
        1
    );
}

#[tokio::test]
async fn unknown_account_id_warns_account_not_found() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            "course_id,short_name,long_name,account_id,status\nC1,C1,Course,A9,active\n",
        )
        .await;
    assert_eq!(warnings(&v), vec!["Account not found \"A9\" for course C1"]);
}

#[tokio::test]
async fn fallback_account_id_is_used_when_account_id_is_unknown() {
    let sb = Sandbox::start().await;
    sb.import(
        "accounts.csv",
        "account_id,parent_account_id,name,status\nA1,,Sub,active\n",
    )
    .await;
    let v = sb
        .import(COURSES, "course_id,short_name,long_name,account_id,fallback_account_id,status\nC1,C1,Course,A9,A1,active\n")
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    let a = sb.get("/api/v1/accounts/sis_account_id:A1").await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["account_id"],
        a["id"]
    );
}

#[tokio::test]
async fn invalid_course_format_warns() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            "course_id,short_name,long_name,course_format,status\nC1,C1,Course,hybrid,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Invalid course_format \"hybrid\" for course C1"]
    );
}

#[tokio::test]
async fn course_integration_id_is_cleared_when_column_is_absent() {
    let sb = Sandbox::start().await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,integration_id,status\nC1,C1,Course,I1,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["integration_id"],
        "I1"
    );
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    assert!(sb.get("/api/v1/courses/sis_course_id:C1").await["integration_id"].is_null());
}

#[tokio::test]
async fn course_dates_set_restrict_flag_and_blank_value_clears_but_absent_column_keeps() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, "course_id,short_name,long_name,start_date,end_date,status\nC1,C1,Course,2026-08-15T00:00:00Z,2026-12-20 00:00:00-06:00,active\n").await;
    let c = sb.get("/api/v1/courses/sis_course_id:C1").await;
    assert_eq!(c["start_at"], "2026-08-15T00:00:00Z");
    assert_eq!(c["end_at"], "2026-12-20T06:00:00Z");
    assert_eq!(c["restrict_enrollments_to_course_dates"], true);
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["start_at"],
        "2026-08-15T00:00:00Z"
    );
    sb.import(
        COURSES,
        "course_id,short_name,long_name,start_date,status\nC1,C1,Course,,active\n",
    )
    .await;
    assert!(sb.get("/api/v1/courses/sis_course_id:C1").await["start_at"].is_null());
}

#[tokio::test]
async fn bad_course_date_warns_and_still_imports_the_course() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            COURSES,
            "course_id,short_name,long_name,start_date,status\nC1,C1,Course,someday,active\n",
        )
        .await;
    assert_eq!(warnings(&v), vec!["Bad date format for course C1"]);
    assert_eq!(count(&v, "courses"), 1);
}

#[tokio::test]
async fn section_referencing_missing_course_warns() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            SECTIONS,
            "section_id,course_id,name,status\nS1,C9,Sec,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Section S1 references course C9 which doesn't exist"]
    );
}

#[tokio::test]
async fn sections_csv_validation_messages() {
    let sb = Sandbox::start().await;
    sb.import(COURSES, &format!("{HDR}C1,C1,Course,active\n"))
        .await;
    let v = sb
        .import(SECTIONS, "section_id,course_id,name,status\n,C1,Sec,active\nS1,,Sec,active\nS2,C1,,active\nS3,C1,Sec,gone\n")
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No section_id given for a section in course C1",
            "No course_id given for a section S1",
            "No name given for section S2 in course C1",
            "Improper status \"gone\" for section S3 in course C1",
        ]
    );
}

#[tokio::test]
async fn section_deleted_deletes_its_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        SECTIONS,
        "section_id,course_id,name,status\nS1,C1,,deleted\n",
    )
    .await;
    assert_eq!(
        sb.get_raw("/api/v1/sections/sis_section_id:S1")
            .await
            .status(),
        404
    );
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?state[]=deleted")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn section_with_new_course_id_moves_with_its_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(COURSES, &format!("{HDR}C2,C2,Course Two,active\n"))
        .await;
    sb.import(
        SECTIONS,
        "section_id,course_id,name,status\nS1,C2,Section One,active\n",
    )
    .await;
    let s = sb.get("/api/v1/sections/sis_section_id:S1").await;
    assert_eq!(s["sis_course_id"], "C2");
    let e = sb.get("/api/v1/courses/sis_course_id:C2/enrollments").await;
    assert_eq!(e.as_array().unwrap().len(), 2);
}
