//! accounts.csv and terms.csv behaviour.

use crate::common::*;

const ACCOUNTS: &str = "accounts.csv";
const TERMS: &str = "terms.csv";
const AHDR: &str = "account_id,parent_account_id,name,status\n";
const THDR: &str = "term_id,name,status,start_date,end_date\n";

#[tokio::test]
async fn accounts_csv_missing_account_id_warns() {
    let sb = Sandbox::start().await;
    let v = sb.import(ACCOUNTS, &format!("{AHDR},,Name,active\n")).await;
    assert_eq!(warnings(&v), vec!["No account_id given for an account"]);
}

#[tokio::test]
async fn accounts_csv_unknown_parent_warns_parent_account_didnt_exist() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(ACCOUNTS, &format!("{AHDR}A1,P9,Name,active\n"))
        .await;
    assert_eq!(warnings(&v), vec!["Parent account didn't exist for A1"]);
}

#[tokio::test]
async fn new_account_without_name_or_with_bad_status_is_skipped() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(ACCOUNTS, &format!("{AHDR}A1,,,active\nA2,,Name,closed\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No name given for account A1, skipping",
            "Improper status \"closed\" for account A2, skipping"
        ]
    );
}

#[tokio::test]
async fn parent_must_come_before_child_in_the_same_file() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            ACCOUNTS,
            &format!("{AHDR}A1,,Parent,active\nA2,A1,Child,active\n"),
        )
        .await;
    assert_eq!(state(&v), "imported");
    let a1 = sb.get("/api/v1/accounts/sis_account_id:A1").await;
    let a2 = sb.get("/api/v1/accounts/sis_account_id:A2").await;
    assert_eq!(a2["parent_account_id"], a1["id"]);
    assert_eq!(a1["parent_account_id"], 1);
    assert_eq!(a2["root_account_id"], 1);
}

#[tokio::test]
async fn existing_account_accepts_blank_name_and_status() {
    let sb = Sandbox::start().await;
    sb.import(ACCOUNTS, &format!("{AHDR}A1,,Parent,active\n"))
        .await;
    let v = sb.import(ACCOUNTS, &format!("{AHDR}A1,,,\n")).await;
    assert_eq!(state(&v), "imported");
    assert_eq!(
        sb.get("/api/v1/accounts/sis_account_id:A1").await["name"],
        "Parent"
    );
}

#[tokio::test]
async fn account_with_active_sub_accounts_cannot_be_deleted() {
    let sb = Sandbox::start().await;
    sb.import(
        ACCOUNTS,
        &format!("{AHDR}A1,,Parent,active\nA2,A1,Child,active\n"),
    )
    .await;
    let v = sb
        .import(ACCOUNTS, &format!("{AHDR}A1,,Parent,deleted\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Cannot delete the sub_account with ID: A1 because it has active sub accounts."]
    );
}

#[tokio::test]
async fn account_with_active_courses_cannot_be_deleted() {
    let sb = Sandbox::start().await;
    sb.import(ACCOUNTS, &format!("{AHDR}A1,,Parent,active\n"))
        .await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,account_id,status\nC1,C1,One,A1,active\n",
    )
    .await;
    let v = sb
        .import(ACCOUNTS, &format!("{AHDR}A1,,Parent,deleted\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Cannot delete the sub_account with ID: A1 because it has active courses."]
    );
}

#[tokio::test]
async fn account_parent_change_that_makes_a_cycle_warns_would_create_a_loop() {
    let sb = Sandbox::start().await;
    sb.import(
        ACCOUNTS,
        &format!("{AHDR}A1,,Parent,active\nA2,A1,Child,active\n"),
    )
    .await;
    let v = sb
        .import(ACCOUNTS, &format!("{AHDR}A1,A2,Parent,active\n"))
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Setting account A1's parent to A2 would create a loop"]
    );
}

#[tokio::test]
async fn terms_csv_validation_messages() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            TERMS,
            &format!("{THDR},T,active,,\nT1,Term,paused,,\nT2,,active,,\n"),
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No term_id given for a term",
            "Improper status \"paused\" for term T1",
            "No name given for term T2"
        ]
    );
}

#[tokio::test]
async fn term_dates_are_imported_and_blank_clears_them() {
    let sb = Sandbox::start().await;
    sb.import(
        TERMS,
        &format!("{THDR}T1,Fall,active,2026-08-15T00:00:00Z,2026-12-20T00:00:00Z\n"),
    )
    .await;
    let t = sb.get("/api/v1/accounts/1/terms/sis_term_id:T1").await;
    assert_eq!(t["start_at"], "2026-08-15T00:00:00Z");
    assert_eq!(t["sis_term_id"], "T1");
    sb.import(TERMS, &format!("{THDR}T1,Fall,active,,\n")).await;
    assert!(sb.get("/api/v1/accounts/1/terms/sis_term_id:T1").await["start_at"].is_null());
}

#[tokio::test]
async fn bad_term_date_warns_and_imports_the_term_without_it() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(TERMS, &format!("{THDR}T1,Fall,active,soon,\n"))
        .await;
    assert_eq!(warnings(&v), vec!["Bad date format for term T1"]);
    assert_eq!(count(&v, "terms"), 1);
}

#[tokio::test]
async fn term_date_override_on_missing_term_warns() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(TERMS, "term_id,name,status,start_date,end_date,date_override_enrollment_type\nT9,X,active,,,StudentEnrollment\n")
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Cannot set date override on non-existent term"]
    );
}

#[tokio::test]
async fn term_date_override_is_shown_in_overrides() {
    let sb = Sandbox::start().await;
    sb.import(TERMS, &format!("{THDR}T1,Fall,active,,\n")).await;
    let v = sb
        .import(TERMS, "term_id,name,status,start_date,end_date,date_override_enrollment_type\nT1,,active,2026-09-01T00:00:00Z,,TeacherEnrollment\n")
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    let t = sb.get("/api/v1/accounts/1/terms/sis_term_id:T1").await;
    assert_eq!(
        t["overrides"]["TeacherEnrollment"]["start_at"],
        "2026-09-01T00:00:00Z"
    );
}

#[tokio::test]
async fn deleted_terms_are_listed_only_when_asked() {
    let sb = Sandbox::start().await;
    sb.import(
        TERMS,
        &format!("{THDR}T1,Fall,active,,\nT2,Old,deleted,,\n"),
    )
    .await;
    let active = sb.get("/api/v1/accounts/1/terms").await;
    let names: Vec<&str> = active["enrollment_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Default Term", "Fall"]);
    let all = sb
        .get("/api/v1/accounts/1/terms?workflow_state[]=all")
        .await;
    assert_eq!(all["enrollment_terms"].as_array().unwrap().len(), 3);
}
