//! Batch mode: the import is the whole truth for a term.

use crate::common::*;

async fn seed_term(sb: &Sandbox) {
    let v = sb
        .import_zip(
            &[
                ("terms.csv", "term_id,name,status\nT1,Fall,active\n"),
                ("courses.csv", "course_id,short_name,long_name,term_id,status\nC1,C1,One,T1,active\nC2,C2,Two,T1,active\n"),
                ("sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C2,Two,active\n"),
                ("users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\n"),
                ("enrollments.csv", "section_id,user_id,role,status\nS1,U1,student,active\nS2,U2,student,active\n"),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn batch_mode_deletes_absent_courses_sections_and_enrollments_of_the_term() {
    let sb = Sandbox::start().await;
    seed_term(&sb).await;
    let v = sb
        .import_zip(
            &[
                (
                    "courses.csv",
                    "course_id,short_name,long_name,term_id,status\nC1,C1,One,T1,active\n",
                ),
                (
                    "sections.csv",
                    "section_id,course_id,name,status\nS1,C1,One,active\n",
                ),
                (
                    "enrollments.csv",
                    "section_id,user_id,role,status\nS1,U1,student,active\n",
                ),
            ],
            &[
                ("batch_mode", "true"),
                ("batch_mode_term_id", "sis_term_id:T1"),
            ],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(v["batch_mode"], true);
    assert_eq!(count(&v, "batch_courses_deleted"), 1);
    assert_eq!(count(&v, "batch_sections_deleted"), 1);
    assert_eq!(count(&v, "batch_enrollments_deleted"), 1);
    assert_eq!(
        sb.get_raw("/api/v1/courses/sis_course_id:C2")
            .await
            .status(),
        404
    );
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "unpublished"
    );
}

#[tokio::test]
async fn batch_mode_only_cleans_kinds_supplied_in_the_import() {
    let sb = Sandbox::start().await;
    seed_term(&sb).await;
    let v = sb
        .import_zip(
            &[(
                "enrollments.csv",
                "section_id,user_id,role,status\nS1,U1,student,active\n",
            )],
            &[
                ("batch_mode", "true"),
                ("batch_mode_term_id", "sis_term_id:T1"),
            ],
        )
        .await;
    assert_eq!(count(&v, "batch_enrollments_deleted"), 1);
    assert_eq!(count(&v, "batch_courses_deleted"), 0);
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C2").await["sis_course_id"],
        "C2"
    );
}

#[tokio::test]
async fn batch_mode_change_threshold_exceeded_aborts_before_deleting() {
    let sb = Sandbox::start().await;
    seed_term(&sb).await;
    let v = sb
        .import_zip(
            &[(
                "enrollments.csv",
                "section_id,user_id,role,status\nS1,U1,student,active\n",
            )],
            &[
                ("batch_mode", "true"),
                ("batch_mode_term_id", "sis_term_id:T1"),
                ("change_threshold", "10"),
            ],
        )
        .await;
    assert_eq!(state(&v), "aborted");
    assert_eq!(
        warnings(&v),
        vec!["1 enrollments would be deleted and exceeds the set threshold of 10%"]
    );
    let e = sb
        .get("/api/v1/sections/sis_section_id:S2/enrollments")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn batch_mode_enrollment_drop_status_completed_concludes_absent_enrollments() {
    let sb = Sandbox::start().await;
    seed_term(&sb).await;
    sb.import_zip(
        &[(
            "enrollments.csv",
            "section_id,user_id,role,status\nS1,U1,student,active\n",
        )],
        &[
            ("batch_mode", "true"),
            ("batch_mode_term_id", "sis_term_id:T1"),
            ("batch_mode_enrollment_drop_status", "completed"),
        ],
    )
    .await;
    let e = sb
        .get("/api/v1/sections/sis_section_id:S2/enrollments?state[]=completed")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn multi_term_batch_mode_without_terms_in_import_aborts_terms_not_found() {
    let sb = Sandbox::start().await;
    seed_term(&sb).await;
    let v = sb
        .import_zip(
            &[(
                "enrollments.csv",
                "section_id,user_id,role,status\nS1,U1,student,active\n",
            )],
            &[
                ("multi_term_batch_mode", "true"),
                ("change_threshold", "100"),
            ],
        )
        .await;
    assert_eq!(state(&v), "aborted");
    assert_eq!(
        warnings(&v),
        vec!["Terms not found. Terms must be included with multi_term_batch_mode"]
    );
}
