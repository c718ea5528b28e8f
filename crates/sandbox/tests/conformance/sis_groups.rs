//! group_categories.csv, groups.csv, group_memberships.csv.

use crate::common::*;

const GC: &str = "group_categories.csv";
const G: &str = "groups.csv";
const GM: &str = "group_memberships.csv";

#[tokio::test]
async fn course_group_with_category_and_members_is_imported() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import_zip(
            &[
                (
                    "gc.csv",
                    "group_category_id,course_id,category_name,status\nGC1,C1,Projects,active\n",
                ),
                (
                    "g.csv",
                    "group_id,group_category_id,name,status\nG1,GC1,Team A,available\n",
                ),
                ("gm.csv", "group_id,user_id,status\nG1,U1,accepted\n"),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(
        v["data"]["supplied_batches"],
        serde_json::json!(["group_category", "group", "group_membership"])
    );
    let g = sb.get("/api/v1/groups/sis_group_id:G1").await;
    assert_eq!(g["context_type"], "Course");
    assert_eq!(g["members_count"], 1);
    let cat = sb
        .get("/api/v1/group_categories/sis_group_category_id:GC1")
        .await;
    assert_eq!(g["group_category_id"], cat["id"]);
    assert_eq!(
        sb.get("/api/v1/groups/sis_group_id:G1/users").await[0]["sis_user_id"],
        "U1"
    );
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1/groups")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn group_without_context_goes_to_the_root_account() {
    let sb = Sandbox::start().await;
    sb.import(G, "group_id,name,status\nG1,Club,available\n")
        .await;
    let g = sb.get("/api/v1/groups/sis_group_id:G1").await;
    assert_eq!(g["context_type"], "Account");
    assert_eq!(g["account_id"], 1);
}

#[tokio::test]
async fn group_category_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            GC,
            "group_category_id,account_id,course_id,category_name,status\n\
             ,,,Name,active\nGC1,,,,active\nGC2,,,Name,\nGC3,,,Name,open\nGC4,A1,C1,Name,active\n\
             GC5,A9,,Name,active\nGC6,,C9,Name,active\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No sis_id given for a group category",
            "No name given for group category GC1",
            "No status given for group category GC2",
            "Improper status \"open\" for group category GC3, skipping",
            "Only one context is allowed and both course_id and account_id where provided for group category GC4.",
            "Account with id \"A9\" didn't exist for group category GC5",
            "Course with id \"C9\" didn't exist for group category GC6",
        ]
    );
}

#[tokio::test]
async fn group_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .import(
            G,
            "group_id,group_category_id,account_id,course_id,name,status\n\
             G1,,,,,available\nG2,,,,Name,open\nG3,,A1,C1,Name,available\nG4,,A9,,Name,available\n\
             G5,,,C9,Name,available\nG6,GC9,,,Name,available\nG7,GC9,,C1,Name,available\n",
        )
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No name given for group G1.",
            "Improper status \"open\" for group G2.",
            "Only one context is allowed and both course_id and account_id where provided for group G3.",
            "Account with sis id A9 didn't exist for group G4.",
            "Course with sis id C9 didn't exist for group G5.",
            "Group Category GC9 didn't exist for group G6.",
            "Group Category GC9 didn't exist in course C1 for group G7.",
        ]
    );
}

#[tokio::test]
async fn group_membership_validation_messages() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(G, "group_id,course_id,name,status\nG1,C1,Team,available\n")
        .await;
    let v = sb
        .import(GM, "group_id,user_id,status\n,U1,accepted\nG1,,accepted\nG1,U1,joined\nG1,U9,accepted\nG9,U1,accepted\nG1,P1,accepted\n")
        .await;
    assert_eq!(
        warnings(&v),
        vec![
            "No group_id given for a group user",
            "No user_id given for a group user",
            "Improper status \"joined\" for a group user",
            "User U9 didn't exist for group user",
            "Group G9 didn't exist for group user",
            "User P1 doesn't have an enrollment in the course of group G1.",
        ]
    );
}

#[tokio::test]
async fn course_group_with_members_cannot_move() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(G, "group_id,course_id,name,status\nG1,C1,Team,available\n")
        .await;
    sb.import(GM, "group_id,user_id,status\nG1,U1,accepted\n")
        .await;
    let v = sb
        .import(G, "group_id,name,status\nG1,Team,available\n")
        .await;
    assert_eq!(
        warnings(&v),
        vec!["Cannot move group G1 because it has group_memberships."]
    );
}

#[tokio::test]
async fn deleting_a_student_enrollment_removes_their_course_group_memberships() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(G, "group_id,course_id,name,status\nG1,C1,Team,available\n")
        .await;
    sb.import(GM, "group_id,user_id,status\nG1,U1,accepted\n")
        .await;
    sb.import(
        ENROLLMENTS,
        "course_id,section_id,user_id,role,status\nC1,S1,U1,student,deleted\n",
    )
    .await;
    assert!(sb
        .get("/api/v1/groups/sis_group_id:G1/users")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn group_name_edited_outside_sis_is_sticky() {
    let sb = Sandbox::start().await;
    sb.import_with(
        G,
        "group_id,name,status\nG1,Locked,available\n",
        &[
            ("override_sis_stickiness", "1"),
            ("add_sis_stickiness", "1"),
        ],
    )
    .await;
    sb.import(G, "group_id,name,status\nG1,Renamed,available\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/groups/sis_group_id:G1").await["name"],
        "Locked"
    );
}

#[tokio::test]
async fn change_sis_id_renames_a_group() {
    let sb = Sandbox::start().await;
    sb.import(G, "group_id,name,status\nG1,Club,available\n")
        .await;
    sb.import("change.csv", "old_id,new_id,type\nG1,G2,group\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/groups/sis_group_id:G2").await["name"],
        "Club"
    );
}
