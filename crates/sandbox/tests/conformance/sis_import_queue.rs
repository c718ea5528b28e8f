//! How SIS imports reach the queue and wait in it: the `pre_attachment` file-upload flow,
//! one import at a time per account, the hold after an abort, the option checks that refuse
//! an import, and the diffing lockout.

use std::time::{Duration, Instant};

use rosterbridge_sandbox::ImportFault;
use serde_json::Value;

use crate::common::*;

async fn post_form(sb: &Sandbox, form: &[(&str, &str)]) -> reqwest::Response {
    sb.http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Step 2 of Canvas's file-upload flow: the upload_params, then `file` last, no token.
async fn upload(sb: &Sandbox, pre: &Value, bytes: &[u8]) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    if let Some(params) = pre["upload_params"].as_object() {
        for (k, v) in params {
            form = form.text(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let file_param = pre["file_param"].as_str().unwrap_or("file").to_string();
    form = form.part(
        file_param,
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("users.csv"),
    );
    sb.http
        .post(pre["upload_url"].as_str().expect("upload_url"))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

async fn state_of(sb: &Sandbox, id: &Value) -> String {
    sb.get(&format!("/api/v1/accounts/1/sis_imports/{id}"))
        .await["workflow_state"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn pre_attachment_import_stays_initializing_until_the_file_is_uploaded_then_imports() {
    let sb = Sandbox::start().await;
    let csv = "user_id,login_id,status\nU1,u1,active\n";
    let size = csv.len().to_string();
    let r = post_form(
        &sb,
        &[
            ("pre_attachment[name]", "users.csv"),
            ("pre_attachment[size]", &size),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(state(&created), "initializing", "{created}");
    let pre = &created["pre_attachment"];
    assert!(pre["upload_url"].is_string(), "{created}");
    assert!(pre["upload_params"].is_object(), "{created}");
    let id = &created["id"];
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(state_of(&sb, id).await, "initializing");

    let r = upload(&sb, pre, csv.as_bytes()).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let file = sb
        .http
        .get(&location)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let file: Value = file.json().await.unwrap();
    assert_eq!(file["display_name"], "users.csv");
    assert_eq!(file["size"], csv.len());

    let v = sb.wait(id.as_u64().unwrap()).await;
    assert_eq!(state(&v), "imported", "{v}");
    assert_eq!(count(&v, "users"), 1);
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1").await["login_id"],
        "u1"
    );
}

#[tokio::test]
async fn pre_attachment_upload_with_altered_params_or_twice_is_refused() {
    let sb = Sandbox::start().await;
    let r = post_form(&sb, &[("pre_attachment[name]", "users.csv")]).await;
    let created: Value = r.json().await.unwrap();
    let pre = &created["pre_attachment"];
    let mut forged = pre.clone();
    forged["upload_params"]["upload_token"] = Value::from("forged");
    assert_eq!(upload(&sb, &forged, b"x").await.status(), 403);
    let mut renamed = pre.clone();
    renamed["upload_params"]["filename"] = Value::from("other.csv");
    assert_eq!(upload(&sb, &renamed, b"x").await.status(), 403);
    assert_eq!(state_of(&sb, &created["id"]).await, "initializing");
    let csv = b"user_id,login_id,status\nU1,u1,active\n";
    assert_eq!(upload(&sb, pre, csv).await.status(), 201);
    assert_eq!(upload(&sb, pre, csv).await.status(), 404, "second upload");
}

#[tokio::test]
async fn multipart_post_without_attachment_is_400_missing_attachment() {
    let sb = Sandbox::start().await;
    let form = reqwest::multipart::Form::new().text("batch_mode", "false");
    let r = sb
        .http
        .post(sb.url("/api/v1/accounts/1/sis_imports"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"error": true, "error_message": "Missing attachment"})
    );
}

#[tokio::test]
async fn invalid_user_remove_and_batch_mode_drop_statuses_are_400() {
    let sb = Sandbox::start().await;
    let csv = "user_id,login_id,status\nU1,u1,active\n";
    for (param, message) in [
        (
            "diffing_user_remove_status",
            "Invalid diffing_user_remove_status",
        ),
        (
            "batch_mode_enrollment_drop_status",
            "Invalid batch_mode_enrollment_drop_status",
        ),
    ] {
        let r = sb.post_csv(USERS, csv, &[(param, "gone")]).await;
        assert_eq!(r.status(), 400, "{param}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            serde_json::json!({ "message": message })
        );
    }
    let list = sb.get("/api/v1/accounts/1/sis_imports").await;
    assert_eq!(
        list["sis_imports"],
        serde_json::json!([]),
        "nothing created"
    );
}

/// An import that a fault keeps `importing` blocks the queue, as a running job does in Canvas.
async fn stuck_sandbox(abort_delay: Duration) -> Sandbox {
    Sandbox::start_configured(|c| {
        c.faults.import_outcome = Some(ImportFault::StayImporting);
        c.abort_requeue_delay = abort_delay;
    })
    .await
}

async fn create(sb: &Sandbox) -> Value {
    let r = sb
        .post_csv(USERS, "user_id,login_id,status\nU1,u1,active\n", &[])
        .await;
    r.json().await.unwrap()
}

async fn abort(sb: &Sandbox, id: &Value) {
    let r = sb
        .http
        .put(sb.url(&format!("/api/v1/accounts/1/sis_imports/{id}/abort")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn wait_for(sb: &Sandbox, id: &Value, wanted: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while state_of(sb, id).await != wanted {
        assert!(
            Instant::now() < deadline,
            "import {id} never became {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn pending_import_waits_while_another_import_is_importing() {
    let sb = stuck_sandbox(Duration::from_millis(0)).await;
    let a = create(&sb).await;
    wait_for(&sb, &a["id"], "importing", Duration::from_secs(5)).await;
    let b = create(&sb).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(state_of(&sb, &b["id"]).await, "created");
    abort(&sb, &a["id"]).await;
    // No hold configured: B starts as soon as A is out of the way.
    wait_for(&sb, &b["id"], "importing", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn after_an_abort_the_next_pending_import_starts_only_after_the_requeue_delay() {
    let delay = Duration::from_millis(1500);
    let sb = stuck_sandbox(delay).await;
    let a = create(&sb).await;
    wait_for(&sb, &a["id"], "importing", Duration::from_secs(5)).await;
    let b = create(&sb).await;
    let aborted_at = Instant::now();
    abort(&sb, &a["id"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(state_of(&sb, &b["id"]).await, "created", "still held");
    wait_for(&sb, &b["id"], "importing", Duration::from_secs(10)).await;
    assert!(aborted_at.elapsed() >= delay, "{:?}", aborted_at.elapsed());
}

#[tokio::test]
async fn five_consecutive_threshold_exceeding_diffed_imports_lock_the_data_set_until_a_remaster() {
    let sb = Sandbox::start().await;
    let id = ("diffing_data_set_identifier", "district");
    let threshold = ("change_threshold", "1");
    let one = "user_id,login_id,status\nU1,u1,active\n";
    let two = "user_id,login_id,status\nU1,u1,active\nU2,u2,active\n";
    let base = sb.import_with(USERS, one, &[id]).await;
    assert_eq!(state(&base), "imported", "{base}");
    for n in 1..=5 {
        let v = sb.import_with(USERS, two, &[id, threshold]).await;
        assert_eq!(
            state(&v),
            "imported_with_messages",
            "exceeding import {n}: {v}"
        );
        assert_eq!(v["diffing_threshold_exceeded"], true);
    }
    // Any further import of the data set fails, even one within the threshold.
    let locked = sb.import_with(USERS, one, &[id, threshold]).await;
    assert_eq!(state(&locked), "failed_with_messages", "{locked}");
    assert!(
        errors(&locked)[0].contains("diffing_remaster_data_set"),
        "{locked}"
    );
    // Another data set is not affected.
    let other = sb
        .import_with(USERS, one, &[("diffing_data_set_identifier", "other")])
        .await;
    assert_eq!(state(&other), "imported");
    // A remaster lifts the lockout.
    let remaster = sb
        .import_with(USERS, two, &[id, ("diffing_remaster_data_set", "true")])
        .await;
    assert_eq!(state(&remaster), "imported", "{remaster}");
    let after = sb.import_with(USERS, two, &[id, threshold]).await;
    assert_eq!(state(&after), "imported", "{after}");
    assert_eq!(after["diffed_against_import_id"], remaster["id"]);
}
