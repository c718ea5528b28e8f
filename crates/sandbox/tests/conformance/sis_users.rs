//! users.csv behaviour.

use crate::common::*;

#[tokio::test]
async fn users_csv_missing_user_id_warns_no_user_id_given_for_a_user() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\n,u1,active\n")
        .await;
    assert_eq!(warnings(&v), vec!["No user_id given for a user"]);
    assert_eq!(count(&v, "users"), 0);
}

#[tokio::test]
async fn users_csv_missing_login_id_warns_no_login_id_given() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,,active\n")
        .await;
    assert_eq!(warnings(&v), vec!["No login_id given for user U1"]);
}

#[tokio::test]
async fn users_csv_missing_status_warns_no_status_given() {
    let sb = Sandbox::start().await;
    let v = sb.import(USERS, "user_id,login_id,status\nU1,u1,\n").await;
    assert_eq!(warnings(&v), vec!["No status given for user U1"]);
}

#[tokio::test]
async fn users_csv_bad_status_warns_improper_status_without_quotes() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,retired\n")
        .await;
    assert_eq!(warnings(&v), vec!["Improper status for user U1"]);
}

#[tokio::test]
async fn users_csv_status_is_matched_case_insensitively() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,ACTIVE\n")
        .await;
    assert_eq!(state(&v), "imported");
}

#[tokio::test]
async fn users_csv_full_name_wins_and_sortable_name_is_inferred() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,first_name,last_name,full_name,status\nU1,u1,A,B,User One,active\n",
    )
    .await;
    let u = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(u["name"], "User One");
    assert_eq!(u["sortable_name"], "One, User");
}

#[tokio::test]
async fn users_csv_first_and_last_name_build_name_and_sortable_name() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,first_name,last_name,status\nU1,u1,Ada,Lovelace,active\n",
    )
    .await;
    let u = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(u["name"], "Ada Lovelace");
    assert_eq!(u["sortable_name"], "Lovelace, Ada");
    assert_eq!(u["login_id"], "u1");
    assert_eq!(u["sis_user_id"], "U1");
}

#[tokio::test]
async fn users_csv_existing_user_keeps_name_when_row_has_no_name_columns() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,full_name,status\nU1,u1,Kept Name,active\n",
    )
    .await;
    sb.import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let u = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(u["name"], "Kept Name");
}

#[tokio::test]
async fn users_csv_login_claimed_by_other_sis_user_warns_already_claimed() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,shared,active\n")
        .await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU2,SHARED,active\n")
        .await;
    assert_eq!(
        warnings(&v),
        vec!["An existing Canvas user with the SIS ID U1 has already claimed U2's user_id requested login information, skipping"]
    );
}

#[tokio::test]
async fn update_sis_id_if_login_claimed_rewrites_the_sis_id_instead_of_warning() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,shared,active\n")
        .await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU2,shared,active\n",
            &[("update_sis_id_if_login_claimed", "true")],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    let u = sb.get("/api/v1/users/sis_user_id:U2").await;
    assert_eq!(u["login_id"], "shared");
    assert_eq!(
        sb.get_raw("/api/v1/users/sis_user_id:U1").await.status(),
        404
    );
}

#[tokio::test]
async fn users_csv_integration_id_claimed_by_another_user_warns() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,integration_id,status\nU1,u1,I1,active\n",
    )
    .await;
    let v = sb
        .import(
            USERS,
            "user_id,login_id,integration_id,status\nU2,u2,I1,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["An existing Canvas user with the SIS ID U1 has already claimed U2's requested integration_id, skipping"]
    );
}

#[tokio::test]
async fn users_csv_blank_integration_id_keeps_the_stored_value() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,integration_id,status\nU1,u1,I1,active\n",
    )
    .await;
    sb.import(
        USERS,
        "user_id,login_id,integration_id,status\nU1,u1,,active\n",
    )
    .await;
    let u = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(u["integration_id"], "I1");
}

#[tokio::test]
async fn users_csv_too_long_login_warns_could_not_save_unknown_reason() {
    let sb = Sandbox::start().await;
    let login = "x".repeat(101);
    let v = sb
        .import(
            USERS,
            &format!("user_id,login_id,status\nU1,{login},active\n"),
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Could not save the user with user_id: 'U1'. Unknown reason: unique_id is too long (maximum is 100 characters)"]
    );
}

#[tokio::test]
async fn users_csv_invalid_email_warns_but_imports_the_user() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            USERS,
            "user_id,login_id,email,status\nU1,u1,not-an-email,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec!["The email address associated with user 'U1' is invalid (email: 'not-an-email')"]
    );
    assert_eq!(count(&v, "users"), 1);
}

#[tokio::test]
async fn users_csv_suspended_status_suspends_the_login_and_keeps_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU1,student1,suspended\n")
        .await;
    let logins = sb.get("/api/v1/users/sis_user_id:U1/logins").await;
    assert_eq!(logins[0]["workflow_state"], "suspended");
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_last_login_deletes_users_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,student1,deleted\n")
        .await;
    assert_eq!(state(&v), "imported");
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?state[]=deleted")
        .await;
    let e = e.as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["sis_user_id"], "U1");
    // The user record itself stays.
    let users = sb
        .get("/api/v1/accounts/1/users?include_deleted_users=true&search_term=U1")
        .await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reactivating_a_deleted_login_does_not_restore_its_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(USERS, "user_id,login_id,status\nU1,student1,deleted\n")
        .await;
    sb.import(USERS, "user_id,login_id,status\nU1,student1,active\n")
        .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn skip_deletes_ignores_deleted_user_rows() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU1,student1,deleted\n",
            &[("skip_deletes", "true")],
        )
        .await;
    assert_eq!(state(&v), "imported");
    let logins = sb.get("/api/v1/users/sis_user_id:U1/logins").await;
    assert_eq!(logins[0]["workflow_state"], "active");
}

#[tokio::test]
async fn user_created_with_status_deleted_exists_with_a_deleted_login() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,deleted\n")
        .await;
    assert_eq!(count(&v, "users"), 1);
    let u = sb.get("/api/v1/users/sis_user_id:U1").await;
    assert_eq!(u["login_id"], "u1");
    assert!(sb
        .get("/api/v1/users/sis_user_id:U1/logins")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn users_csv_login_change_updates_the_unique_id() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,old,active\n")
        .await;
    sb.import(USERS, "user_id,login_id,status\nU1,new,active\n")
        .await;
    let u = sb.get("/api/v1/users/sis_login_id:NEW").await;
    assert_eq!(u["sis_user_id"], "U1");
}
