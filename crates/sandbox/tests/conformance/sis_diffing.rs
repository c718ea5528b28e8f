//! Diffing mode: only changes since the chain's baseline are imported.

use crate::common::*;

const ID: (&str, &str) = ("diffing_data_set_identifier", "district");

async fn first(sb: &Sandbox) -> serde_json::Value {
    let v = sb
        .import_with(USERS, "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\nU3,u3,Three,active\n", &[ID])
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert!(v["diffed_against_import_id"].is_null());
    v
}

#[tokio::test]
async fn diffed_import_applies_only_changed_rows_and_records_its_baseline() {
    let sb = Sandbox::start().await;
    let base = first(&sb).await;
    let v = sb
        .import_with(USERS, "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two Changed,active\nU3,u3,Three,active\n", &[ID])
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(v["diffed_against_import_id"], base["id"]);
    assert_eq!(v["data"]["diffed_against_sis_batch_id"], base["id"]);
    assert_eq!(count(&v, "users"), 1);
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U2").await["name"],
        "Two Changed"
    );
    // Rows diffed out keep their old sis_import_id.
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1").await["sis_import_id"],
        base["id"]
    );
}

#[tokio::test]
async fn rows_missing_from_a_diffed_import_are_deleted() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\n",
            &[ID],
        )
        .await;
    assert_eq!(count(&v, "users"), 1);
    assert!(sb
        .get("/api/v1/users/sis_user_id:U3/logins")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn diffing_user_remove_status_suspends_missing_users() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    sb.import_with(
        USERS,
        "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\n",
        &[ID, ("diffing_user_remove_status", "suspended")],
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U3/logins").await[0]["workflow_state"],
        "suspended"
    );
}

#[tokio::test]
async fn diffing_drop_status_completes_missing_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = "course_id,section_id,user_id,role,status\n";
    sb.import_with(
        ENROLLMENTS,
        &format!("{e}C1,S1,U1,student,active\nC1,S1,T1,teacher,active\n"),
        &[ID],
    )
    .await;
    sb.import_with(
        ENROLLMENTS,
        &format!("{e}C1,S1,T1,teacher,active\n"),
        &[ID, ("diffing_drop_status", "completed")],
    )
    .await;
    let s = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?state[]=completed")
        .await;
    assert_eq!(s[0]["sis_user_id"], "U1");
}

#[tokio::test]
async fn identical_diffed_import_changes_nothing_and_ends_imported() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    let v = sb
        .import_with(USERS, "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\nU3,u3,Three,active\n", &[ID])
        .await;
    assert_eq!(state(&v), "imported");
    assert_eq!(count(&v, "users"), 0);
}

#[tokio::test]
async fn remaster_imports_everything_without_a_diff() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\nU3,u3,Three,active\n",
            &[ID, ("diffing_remaster_data_set", "true")],
        )
        .await;
    assert!(v["diffed_against_import_id"].is_null());
    assert_eq!(v["diffing_remaster"], true);
    assert_eq!(count(&v, "users"), 3);
}

#[tokio::test]
async fn file_size_change_over_threshold_skips_diffing_with_warning() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,One,active\n",
            &[ID, ("change_threshold", "10")],
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Diffing not performed because file size difference exceeded threshold"]
    );
    assert_eq!(v["diffing_threshold_exceeded"], true);
    assert!(v["diffed_against_import_id"].is_null());
    // The whole file was imported, so nobody was deleted.
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U3/logins").await[0]["workflow_state"],
        "active"
    );
}

#[tokio::test]
async fn diff_row_count_over_threshold_imports_whole_file_with_warning() {
    let sb = Sandbox::start().await;
    first(&sb).await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,A,active\nU2,u2,B,active\nU3,u3,C,active\n",
            &[ID, ("diff_row_count_threshold", "2")],
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Diffing not performed because difference row count exceeded threshold"]
    );
    assert_eq!(v["diffing_threshold_exceeded"], true);
    assert_eq!(count(&v, "users"), 3);
}

#[tokio::test]
async fn failed_imports_are_skipped_when_choosing_the_baseline() {
    let sb = Sandbox::start().await;
    let base = first(&sb).await;
    let bad = sb
        .import_with("bad.csv", "nonsense,headers\n1,2\n", &[ID])
        .await;
    assert_eq!(state(&bad), "failed_with_messages");
    let v = sb
        .import_with(USERS, "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\nU3,u3,Three,active\n", &[ID])
        .await;
    assert_eq!(v["diffed_against_import_id"], base["id"]);
}

#[tokio::test]
async fn batch_mode_wins_over_diffing() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU1,u1,active\n",
            &[ID, ("batch_mode", "true"), ("batch_mode_term_id", "1")],
        )
        .await;
    assert_eq!(v["batch_mode"], true);
    assert!(v["diffing_data_set_identifier"].is_null());
}
