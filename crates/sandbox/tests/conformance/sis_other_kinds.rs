//! xlists.csv, logins.csv, admins.csv and change_sis_id.csv behaviour.

use crate::common::*;

const XLISTS: &str = "xlists.csv";
const XHDR: &str = "xlist_course_id,section_id,status\n";

#[tokio::test]
async fn xlist_into_missing_course_creates_it_from_the_sections_course_and_moves_the_section() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.import(XLISTS, &format!("{XHDR}X1,S1,active\n")).await;
    assert_eq!(state(&v), "imported", "{v}");
    let x = sb.get("/api/v1/courses/sis_course_id:X1").await;
    assert_eq!(x["name"], "Course One");
    assert_eq!(x["workflow_state"], "unpublished");
    let s = sb.get("/api/v1/sections/sis_section_id:S1").await;
    assert_eq!(s["course_id"], x["id"]);
    let c1 = sb.get("/api/v1/courses/sis_course_id:C1").await;
    assert_eq!(s["nonxlist_course_id"], c1["id"]);
    // Enrollments travel with the section.
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:X1/enrollments")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn deleted_xlist_moves_the_section_back_to_its_original_course() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(XLISTS, &format!("{XHDR}X1,S1,active\n")).await;
    sb.import(XLISTS, &format!("{XHDR}X1,S1,deleted\n")).await;
    let s = sb.get("/api/v1/sections/sis_section_id:S1").await;
    assert_eq!(s["sis_course_id"], "C1");
    assert!(s["nonxlist_course_id"].is_null());
    // The cross-list course is not deleted.
    assert_eq!(
        sb.get_raw("/api/v1/courses/sis_course_id:X1")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn xlist_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            XLISTS,
            &format!("{XHDR},S1,active\nX1,,active\nX1,S1,\nX1,S1,activated\nX1,S9,active\n"),
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No xlist_course_id given for a cross-listing",
            "No section_id given for a cross-listing",
            "Improper status \"\" for a cross-listing",
            "Improper status \"activated\" for a cross-listing",
            "A cross-listing referenced a non-existent section S9",
        ]
    );
}

#[tokio::test]
async fn section_row_naming_its_original_course_keeps_it_cross_listed() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(XLISTS, &format!("{XHDR}X1,S1,active\n")).await;
    sb.import(
        SECTIONS,
        "section_id,course_id,name,status\nS1,C1,Section One,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/sections/sis_section_id:S1").await["sis_course_id"],
        "X1"
    );
}

const LOGINS: &str = "logins.csv";

#[tokio::test]
async fn logins_csv_adds_a_second_login_to_an_existing_user() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            LOGINS,
            "user_id,login_id,existing_user_id\nU1-alt,student1-alt,U1\n",
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(count(&v, "logins"), 1);
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1/logins")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        sb.get("/api/v1/users/sis_login_id:student1-alt").await["id"],
        sb.get("/api/v1/users/sis_user_id:U1").await["id"]
    );
}

#[tokio::test]
async fn logins_csv_messages_for_missing_or_mismatched_existing_users() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            LOGINS,
            "user_id,login_id,existing_user_id,existing_integration_id\n\
             L1,l1,,\nL2,l2,U9,\nL3,student1,U1,\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No existing user provided for login with SIS ID L1",
            "Could not find the existing user for login with SIS ID L2, skipping",
            "An existing Canvas user with the SIS ID L3 or login of student1 already exists, skipping",
        ]
    );
}

#[tokio::test]
async fn deleting_one_of_two_logins_keeps_the_users_enrollments() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        LOGINS,
        "user_id,login_id,existing_user_id\nU1-alt,student1-alt,U1\n",
    )
    .await;
    sb.import(USERS, "user_id,login_id,status\nU1,student1,deleted\n")
        .await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
}

const ADMINS: &str = "admins.csv";

#[tokio::test]
async fn admins_csv_makes_a_user_account_admin() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            ADMINS,
            "user_id,account_id,role,status\nT1,,AccountAdmin,active\n",
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    // The token's own user is an admin too (as in Canvas): look for T1 among them.
    let admins = sb.get("/api/v1/accounts/1/admins").await;
    let t1 = admins
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user"]["sis_user_id"] == "T1")
        .unwrap_or_else(|| panic!("T1 is not an admin: {admins}"));
    assert_eq!(t1["role"], "AccountAdmin");
}

#[tokio::test]
async fn admins_csv_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            ADMINS,
            "user_id,account_id,role,status\n,,AccountAdmin,active\nT1,,AccountAdmin,\nT1,,,active\n\
             T1,,AccountAdmin,gone\nT1,A9,AccountAdmin,active\nT1,,accountadmin,active\nU9,,AccountAdmin,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No user_id given for admin",
            "No status given for admin",
            "No role_id or role given for admin",
            "Invalid status gone for admin",
            "Invalid account_id given for admin",
            "Invalid role 'accountadmin' for admin",
            "Invalid or unknown user_id 'U9' for admin",
        ]
    );
}

#[tokio::test]
async fn deleting_users_last_login_removes_their_admin_roles() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        ADMINS,
        "user_id,account_id,role,status\nT1,,AccountAdmin,active\n",
    )
    .await;
    sb.import(USERS, "user_id,login_id,status\nT1,teacher1,deleted\n")
        .await;
    let admins = sb.get("/api/v1/accounts/1/admins").await;
    assert!(
        !admins
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["user"]["sis_user_id"] == "T1"),
        "{admins}"
    );
}

const CHANGE: &str = "change_sis_id.csv";

#[tokio::test]
async fn change_sis_id_renames_a_course_and_runs_before_other_files() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import_zip(
            &[
                (
                    "sections.csv",
                    "section_id,course_id,name,status\nS2,C1-new,Two,active\n",
                ),
                ("change.csv", "old_id,new_id,type\nC1,C1-new,course\n"),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(
        v["data"]["supplied_batches"],
        serde_json::json!(["change_sis_id", "section"])
    );
    assert_eq!(
        sb.get_raw("/api/v1/courses/sis_course_id:C1")
            .await
            .status(),
        404
    );
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1-new/sections")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn change_sis_id_renames_a_users_sis_id() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(CHANGE, "old_id,new_id,type\nU1,U1b,user\n").await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1b").await["login_id"],
        "student1"
    );
}

#[tokio::test]
async fn change_sis_id_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            CHANGE,
            "old_id,new_id,type,old_integration_id,new_integration_id\n\
             C1,C2,,,\n,C2,course,,\nC1,,course,,\nC1,C2,widget,,\nC1,U1,user,,\nC9,C10,course,,\n,,group_category,G1,G2\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No type given for change_sis_id",
            "No old_id or old_integration_id given for change_sis_id",
            "No new_id or new_integration_id given for change_sis_id",
            "Invalid type 'widget' for change_sis_id",
            "A new_id, 'U1', referenced an existing user and the user with sis_user_id 'C1' was not updated",
            "An old_id, 'C9', referenced a non-existent course and was not changed.",
            "Group categories should not have integration IDs.",
        ]
    );
}
