//! The SIS Imports API itself: create, show, list, abort, states, messages, options.

use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn created_import_renders_state_created_progress_zero_and_only_import_type_in_data() {
    let sb = Sandbox::start().await;
    let r = sb
        .post_csv(USERS, "user_id,login_id,status\nU1,u1,active\n", &[])
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    // The worker may already have picked it up; created is what Canvas returns from POST.
    assert!(
        ["created", "importing", "imported"].contains(&state(&v)),
        "{v}"
    );
    if state(&v) == "created" {
        assert_eq!(v["progress"], 0);
        assert_eq!(
            v["data"],
            serde_json::json!({"import_type": "instructure_csv"})
        );
    }
}

#[tokio::test]
async fn sis_import_without_messages_ends_imported_with_progress_100() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    assert_eq!(state(&v), "imported");
    assert_eq!(v["progress"], 100);
    assert!(v["ended_at"].is_string());
    assert!(v.get("processing_warnings").is_none());
    assert!(v.get("processing_errors").is_none());
    assert!(v.get("errors_attachment").is_none());
}

#[tokio::test]
async fn sis_import_counts_have_every_kind_key_and_zero_message_totals() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let counts = v["data"]["counts"].as_object().unwrap();
    for k in [
        "change_sis_ids",
        "accounts",
        "terms",
        "abstract_courses",
        "courses",
        "sections",
        "xlists",
        "users",
        "logins",
        "enrollments",
        "admins",
        "group_categories",
        "groups",
        "group_memberships",
        "grade_publishing_results",
        "user_observers",
    ] {
        assert!(counts.contains_key(k), "missing {k}");
    }
    assert_eq!(count(&v, "users"), 1);
    assert_eq!(count(&v, "courses"), 0);
    assert_eq!(count(&v, "error_count"), 0);
    assert_eq!(count(&v, "warning_count"), 0);
}

#[tokio::test]
async fn sis_import_with_only_warnings_ends_imported_with_messages() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\n,u1,active\nU2,u2,active\n")
        .await;
    assert_eq!(state(&v), "imported_with_messages");
    assert_eq!(warnings(&v), vec!["No user_id given for a user"]);
    assert_eq!(v["processing_warnings"][0][0], "users.csv");
    assert_eq!(count(&v, "users"), 1);
    assert_eq!(count(&v, "warning_count"), 1);
}

#[tokio::test]
async fn file_with_unknown_headers_fails_with_messages_couldnt_find_canvas_csv_import_headers() {
    let sb = Sandbox::start().await;
    let v = sb.import("mystery.csv", "foo,bar\n1,2\n").await;
    assert_eq!(state(&v), "failed_with_messages");
    assert_eq!(errors(&v), vec!["Couldn't find Canvas CSV import headers"]);
    assert_eq!(count(&v, "error_count"), 1);
}

#[tokio::test]
async fn unbalanced_quote_is_fatal_malformed_csv_for_that_file_only() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                ("users.csv", "user_id,login_id,status\nU1,\"u1,active\n"),
                (
                    "courses.csv",
                    "course_id,short_name,long_name,status\nC1,C1,One,active\n",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "failed_with_messages");
    assert_eq!(errors(&v), vec!["Malformed CSV"]);
    assert_eq!(v["processing_errors"][0][0], "users.csv");
    // The other file was still applied.
    assert_eq!(count(&v, "courses"), 1);
}

#[tokio::test]
async fn invalid_utf8_file_is_rejected_with_invalid_utf8() {
    let sb = Sandbox::start().await;
    let mut bytes = b"user_id,login_id,status\nU1,".to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b",active\n");
    let form = reqwest::multipart::Form::new().part(
        "attachment",
        reqwest::multipart::Part::bytes(bytes).file_name("users.csv"),
    );
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let v = sb.wait(id).await;
    assert_eq!(state(&v), "failed_with_messages");
    assert_eq!(errors(&v), vec!["Invalid UTF-8"]);
}

#[tokio::test]
async fn utf8_bom_and_upper_case_headers_are_accepted() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "\u{feff}User_ID,LOGIN_ID,Status\nU1,u1,active\n")
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(count(&v, "users"), 1);
}

#[tokio::test]
async fn rows_with_only_empty_values_are_skipped_silently() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\n,,\n\nU1,u1,active\n")
        .await;
    assert_eq!(state(&v), "imported");
    assert_eq!(count(&v, "users"), 1);
}

#[tokio::test]
async fn kinds_are_processed_in_canvas_order_whatever_the_zip_order() {
    let sb = Sandbox::start().await;
    // Enrollments first in the zip; Canvas still runs courses, users, then enrollments.
    let v = sb
        .import_zip(
            &[
                (
                    "a_enrollments.csv",
                    "course_id,user_id,role,status\nC1,U1,student,active\n",
                ),
                ("b_users.csv", "user_id,login_id,status\nU1,u1,active\n"),
                (
                    "c_courses.csv",
                    "course_id,short_name,long_name,status\nC1,C1,One,active\n",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(
        v["data"]["supplied_batches"],
        serde_json::json!(["course", "user", "enrollment"])
    );
    assert_eq!(count(&v, "enrollments"), 1);
}

#[tokio::test]
async fn non_csv_file_in_zip_warns_skipping_unknown_file_type() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                ("readme.txt", "hello"),
                ("users.csv", "user_id,login_id,status\nU1,u1,active\n"),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported_with_messages");
    assert_eq!(warnings(&v), vec!["Skipping unknown file type"]);
}

#[tokio::test]
async fn macosx_and_dot_files_in_zip_are_ignored() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                ("__MACOSX/._users.csv", "junk"),
                (".hidden.csv", "junk"),
                ("users.csv", "user_id,login_id,status\nU1,u1,active\n"),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn more_than_24_warnings_are_cut_with_an_and_n_more_pair() {
    let sb = Sandbox::start().await;
    let mut csv = String::from("user_id,login_id,status\n");
    for _ in 0..30 {
        csv.push_str(",x,active\n");
    }
    let v = sb.import(USERS, &csv).await;
    let w = v["processing_warnings"].as_array().unwrap();
    assert_eq!(w.len(), 25);
    assert_eq!(w[24][0], "and 6 more warnings that were not included");
    assert_eq!(w[24][1], "Download the error file to see all errors.");
    assert_eq!(count(&v, "warning_count"), 30);
}

#[tokio::test]
async fn errors_attachment_is_a_csv_of_every_message_with_row_numbers() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n,u2,active\n")
        .await;
    let att = &v["errors_attachment"];
    assert_eq!(
        att["display_name"],
        format!("sis_errors_attachment_{}.csv", v["id"])
    );
    let body = reqwest::get(att["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        body,
        format!(
            "sis_import_id,file,message,row\n{},users.csv,No user_id given for a user,3\n",
            v["id"]
        )
    );
}

#[tokio::test]
async fn raw_body_with_extension_csv_is_imported_as_sis_import_csv() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports?extension=csv"))
        .bearer_auth(TOKEN)
        .body("user_id,login_id,status\nU1,u1,active\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = sb
        .wait(r.json::<Value>().await.unwrap()["id"].as_u64().unwrap())
        .await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn raw_body_with_text_csv_content_type_is_a_csv() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("user_id,login_id,status\nU1,u1,active\n")
        .send()
        .await
        .unwrap();
    let v = sb
        .wait(r.json::<Value>().await.unwrap()["id"].as_u64().unwrap())
        .await;
    assert_eq!(state(&v), "imported", "{v}");
}

#[tokio::test]
async fn raw_body_with_zip_content_type_is_unzipped() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/zip")
        .body(zip_of(&[(
            "users.csv",
            "user_id,login_id,status\nU1,u1,active\n",
        )]))
        .send()
        .await
        .unwrap();
    let v = sb
        .wait(r.json::<Value>().await.unwrap()["id"].as_u64().unwrap())
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(count(&v, "users"), 1);
}

#[tokio::test]
async fn raw_body_with_non_utf8_charset_is_400_utf8_required() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv; charset=iso-8859-1")
        .body("user_id,login_id,status\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"error":"Invalid content type, UTF-8 required"})
    );
}

#[tokio::test]
async fn batch_mode_without_findable_term_is_400_and_creates_nothing() {
    let sb = Sandbox::start().await;
    let r = sb
        .post_csv(
            USERS,
            "user_id,login_id,status\n",
            &[
                ("batch_mode", "1"),
                ("batch_mode_term_id", "sis_term_id:NOPE"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"message":"Batch mode specified, but the given batch_mode_term_id cannot be found."})
    );
    let list = sb.get("/api/v1/accounts/1/sis_imports").await;
    assert_eq!(list["sis_imports"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn multi_term_batch_mode_without_change_threshold_is_400() {
    let sb = Sandbox::start().await;
    let r = sb
        .post_csv(
            USERS,
            "user_id,login_id,status\n",
            &[("multi_term_batch_mode", "true")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"message":"change_threshold is required to use multi term_batch mode."})
    );
}

#[tokio::test]
async fn invalid_diffing_drop_status_is_400() {
    let sb = Sandbox::start().await;
    let r = sb
        .post_csv(
            USERS,
            "user_id,login_id,status\n",
            &[
                ("diffing_data_set_identifier", "x"),
                ("diffing_drop_status", "gone"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"message":"Invalid diffing_drop_status"})
    );
}

#[tokio::test]
async fn skip_deletes_and_update_sis_id_if_login_claimed_are_always_echoed() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    assert_eq!(v["skip_deletes"], false);
    assert_eq!(v["update_sis_id_if_login_claimed"], false);
    assert!(v["batch_mode"].is_null());
    assert!(v["override_sis_stickiness"].is_null());
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU2,u2,active\n",
            &[
                ("skip_deletes", "true"),
                ("update_sis_id_if_login_claimed", "1"),
            ],
        )
        .await;
    assert_eq!(v["skip_deletes"], true);
    assert_eq!(v["update_sis_id_if_login_claimed"], true);
}

#[tokio::test]
async fn add_sis_stickiness_without_override_is_ignored() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU1,u1,active\n",
            &[("add_sis_stickiness", "true")],
        )
        .await;
    assert!(v["add_sis_stickiness"].is_null());
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU1,u1,active\n",
            &[
                ("override_sis_stickiness", "true"),
                ("add_sis_stickiness", "true"),
            ],
        )
        .await;
    assert_eq!(v["override_sis_stickiness"], true);
    assert_eq!(v["add_sis_stickiness"], true);
}

#[tokio::test]
async fn diffing_identifier_is_echoed_with_threshold_flag() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_with(
            USERS,
            "user_id,login_id,status\nU1,u1,active\n",
            &[("diffing_data_set_identifier", "district-1")],
        )
        .await;
    assert_eq!(v["diffing_data_set_identifier"], "district-1");
    assert_eq!(v["diffing_threshold_exceeded"], false);
}

#[tokio::test]
async fn list_is_newest_first_with_link_header_and_no_last() {
    let sb = Sandbox::start().await;
    for i in 0..3 {
        sb.import(
            USERS,
            &format!("user_id,login_id,status\nU{i},u{i},active\n"),
        )
        .await;
    }
    let r = sb
        .get_raw("/api/v1/accounts/1/sis_imports?per_page=2")
        .await;
    let link = r.headers()["link"].to_str().unwrap().to_string();
    let v: Value = r.json().await.unwrap();
    let ids: Vec<u64> = v["sis_imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![3, 2]);
    assert!(link.contains("rel=\"next\""), "{link}");
    assert!(!link.contains("rel=\"last\""), "{link}");
}

#[tokio::test]
async fn list_filters_by_workflow_state() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    sb.import(USERS, "user_id,login_id,status\n,u1,active\n")
        .await;
    let v = sb
        .get("/api/v1/accounts/1/sis_imports?workflow_state[]=imported_with_messages")
        .await;
    let items = v["sis_imports"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], 2);
}

#[tokio::test]
async fn show_unknown_import_is_404() {
    let sb = Sandbox::start().await;
    let r = sb.get_raw("/api/v1/accounts/1/sis_imports/99").await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn abort_of_finished_import_is_404() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let r = sb
        .http
        .put(sb.url(&format!("/api/v1/accounts/1/sis_imports/{}/abort", v["id"])))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn sis_imports_on_a_sub_account_are_400_root_accounts_only() {
    let sb = Sandbox::start().await;
    sb.import(
        "accounts.csv",
        "account_id,parent_account_id,name,status\nA1,,Sub,active\n",
    )
    .await;
    let r = sb
        .get_raw("/api/v1/accounts/sis_account_id:A1/sis_imports")
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"errors":["SIS imports can only be executed on root accounts"]})
    );
}

#[tokio::test]
async fn importing_endpoint_lists_nothing_when_idle() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let v = sb.get("/api/v1/accounts/1/sis_imports/importing").await;
    assert_eq!(v, serde_json::json!({"sis_imports": []}));
}

#[tokio::test]
async fn error_rows_count_parsed_records_not_physical_lines() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(
            USERS,
            "user_id,login_id,full_name,status\n\nU1,u1,\"Multi\nLine\",active\n,u2,x,active\n",
        )
        .await;
    let att = v["errors_attachment"]["url"].as_str().unwrap().to_string();
    let body = reqwest::get(att).await.unwrap().text().await.unwrap();
    assert!(
        body.ends_with(",users.csv,No user_id given for a user,3\n"),
        "{body}"
    );
}
