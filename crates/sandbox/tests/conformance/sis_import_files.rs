//! The SisImport's `user`, `csv_attachments` and `diffed_csv_attachments`, the files behind
//! them (`/files/:id/download`, `/api/v1/files/:id`), and `users/self`.

use serde_json::Value;

use crate::common::*;

/// Download a file by the `url` Canvas rendered for it (no token: the URL is signed).
async fn download(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["display_name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn sis_import_user_is_the_user_the_token_belongs_to() {
    let sb = Sandbox::start().await;
    let me = sb.get("/api/v1/users/self").await;
    let r = sb
        .post_csv(USERS, "user_id,login_id,status\nU1,u1,active\n", &[])
        .await;
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["user"]["id"], me["id"], "{created}");
    let v = sb.wait(created["id"].as_u64().unwrap()).await;
    assert_eq!(v["user"]["id"], me["id"]);
    assert_eq!(v["user"]["name"], me["name"]);
    assert_eq!(v["user"]["login_id"], me["login_id"]);
}

#[tokio::test]
async fn users_self_is_the_tokens_user_an_admin_of_root_account_1() {
    let sb = Sandbox::start().await;
    let me = sb.get("/api/v1/users/self").await;
    let id = me["id"].as_u64().expect("id");
    assert_eq!(sb.get(&format!("/api/v1/users/{id}")).await, me);
    let admins = sb.get("/api/v1/accounts/1/admins").await;
    let mine = admins
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user"]["id"] == id)
        .unwrap_or_else(|| panic!("{admins}"));
    assert_eq!(mine["role"], "AccountAdmin");
    // Other `self` forms follow: the user's logins.
    let logins = sb.get("/api/v1/users/self/logins").await;
    assert_eq!(logins[0]["user_id"], id);
}

#[tokio::test]
async fn users_self_profile_shows_login_and_own_calendar_feed() {
    let sb = Sandbox::start().await;
    let me = sb.get("/api/v1/users/self").await;
    let p = sb.get("/api/v1/users/self/profile").await;
    assert_eq!(p["id"], me["id"]);
    assert_eq!(p["login_id"], me["login_id"]);
    assert!(p["calendar"]["ics"].as_str().unwrap().ends_with(".ics"));
    // Another user's profile has no calendar feed.
    seed(&sb).await;
    let other = sb.get("/api/v1/users/sis_user_id:U1/profile").await;
    assert_eq!(other["sis_user_id"], "U1");
    assert!(other.get("calendar").is_none(), "{other}");
}

#[tokio::test]
async fn csv_attachments_list_each_uploaded_csv_with_password_columns_removed() {
    let sb = Sandbox::start().await;
    let v = sb
        .import_zip(
            &[
                (
                    "users.csv",
                    "user_id,password,login_id,status,ssha_password\nU1,hunter2,u1,active,{SSHA}x\n",
                ),
                (
                    "courses.csv",
                    "course_id,short_name,long_name,status\nC1,C1,One,active\n",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "{v}");
    let atts = &v["csv_attachments"];
    assert_eq!(names(atts), vec!["users.csv", "courses.csv"]);
    let users = &atts[0];
    assert_eq!(users["content-type"], "text/csv");
    assert_eq!(users["upload_status"], "success");
    let (status, body) = download(users["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body, "user_id,login_id,status\nU1,u1,active\n");
    assert_eq!(users["size"], body.len());
    let (_, courses) = download(atts[1]["url"].as_str().unwrap()).await;
    assert_eq!(
        courses,
        "course_id,short_name,long_name,status\nC1,C1,One,active\n"
    );
    assert!(v.get("diffed_csv_attachments").is_none(), "{v}");
}

#[tokio::test]
async fn diffed_csv_attachments_hold_the_generated_diff() {
    let sb = Sandbox::start().await;
    let id = ("diffing_data_set_identifier", "district");
    let first = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two,active\n",
            &[id],
        )
        .await;
    assert!(first.get("diffed_csv_attachments").is_none(), "{first}");
    let second = sb
        .import_with(
            USERS,
            "user_id,login_id,full_name,status\nU1,u1,One,active\nU2,u2,Two Changed,active\n",
            &[id],
        )
        .await;
    assert_eq!(second["diffed_against_import_id"], first["id"], "{second}");
    assert_eq!(names(&second["csv_attachments"]), vec!["users.csv"]);
    assert_eq!(names(&second["diffed_csv_attachments"]), vec!["users.csv"]);
    let (_, uploaded) = download(second["csv_attachments"][0]["url"].as_str().unwrap()).await;
    assert!(uploaded.contains("U1,u1,One"), "{uploaded}");
    let (_, diffed) = download(second["diffed_csv_attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!(
        diffed,
        "user_id,login_id,full_name,status\nU2,u2,Two Changed,active\n"
    );
}

#[tokio::test]
async fn file_download_needs_the_url_verifier_or_a_valid_token() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\nU1,u1,active\n")
        .await;
    let url = v["csv_attachments"][0]["url"].as_str().unwrap().to_string();
    let (bare, _) = url.split_once('?').unwrap();
    let (status, _) = download(bare).await;
    assert_eq!(status, 401, "no verifier, no token");
    let (status, _) = download(&format!("{bare}?verifier=wrong")).await;
    assert_eq!(status, 401, "wrong verifier");
    let r = sb
        .http
        .get(bare)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "invalid token");
    let r = sb.http.get(bare).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        "user_id,login_id,status\nU1,u1,active\n"
    );
    let (status, _) = download(&sb.url("/files/9999/download")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn api_file_show_renders_the_same_attachment_json() {
    let sb = Sandbox::start().await;
    let v = sb
        .import(USERS, "user_id,login_id,status\n,u1,active\n")
        .await;
    let errors = &v["errors_attachment"];
    let shown = sb.get(&format!("/api/v1/files/{}", errors["id"])).await;
    assert_eq!(&shown, errors);
    assert_ne!(errors["id"], v["csv_attachments"][0]["id"]);
    assert_eq!(sb.get_raw("/api/v1/files/9999").await.status(), 404);
}
