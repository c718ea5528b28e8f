//! The SIS Imports API (canvas-sis-csv.md §9).

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    base_url, json, link_header, paged, resolve_account, resolve_term, value_to_boolean, Page,
    Params,
};
use crate::error::ApiError;
use crate::sis::batch::{BatchOptions, BatchState, SisBatch};
use crate::state::AppState;
use crate::store::Store;

/// SIS imports run only on root accounts.
fn root_account(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = resolve_account(store, raw)?;
    match store.account(id) {
        Some(a) if a.parent_account_id.is_none() => Ok(id),
        Some(_) => Err(ApiError::BadRequestErrors(
            "SIS imports can only be executed on root accounts".into(),
        )),
        None => Err(ApiError::NotFound),
    }
}

/// Parameters can come from the query string and, for multipart, from form fields.
struct Upload {
    params: Vec<(String, String)>,
    file: Option<(String, Vec<u8>)>,
    multipart: bool,
}

impl Upload {
    fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
    fn bool(&self, k: &str) -> bool {
        self.get(k).is_some_and(value_to_boolean)
    }
}

fn bad_multipart(e: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidParam(format!("invalid multipart body: {e}"))
}

/// Read the upload: a multipart `attachment`, or the raw body named by `extension` or by the
/// Content-Type (canvas-sis-csv.md §9.2).
async fn read_upload(
    state: &AppState,
    query: Option<String>,
    req: Request,
) -> Result<Upload, ApiError> {
    let mut params: Vec<(String, String)> = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "multipart/form-data" {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(bad_multipart)?;
        let mut file = None;
        while let Some(field) = mp.next_field().await.map_err(bad_multipart)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "attachment" {
                let fname = field.file_name().unwrap_or("sis_import.csv").to_string();
                let data = field.bytes().await.map_err(bad_multipart)?;
                file = Some((fname, data.to_vec()));
            } else {
                let value = field.text().await.map_err(bad_multipart)?;
                params.push((name, value));
            }
        }
        return Ok(Upload {
            params,
            file,
            multipart: true,
        });
    }
    if mime == "application/x-www-form-urlencoded" {
        // A form post carries parameters only; no file.
        let body = axum::body::to_bytes(req.into_body(), super::MAX_UPLOAD)
            .await
            .map_err(|e| ApiError::InvalidParam(format!("unreadable body: {e}")))?;
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        params.extend(form);
        return Ok(Upload {
            params,
            file: None,
            multipart: false,
        });
    }
    // A raw body is the file itself.
    let charset = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    if let Some(cs) = charset {
        if cs != "utf-8" && cs != "utf8" {
            return Err(ApiError::BadRequestError(
                "Invalid content type, UTF-8 required".into(),
            ));
        }
    }
    let body = axum::body::to_bytes(req.into_body(), super::MAX_UPLOAD)
        .await
        .map_err(|e| ApiError::InvalidParam(format!("unreadable body: {e}")))?;
    let ext = params
        .iter()
        .find(|(k, _)| k == "extension")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| match mime.as_str() {
            "application/zip" => "zip".into(),
            "text/csv" | "text/plain" => "csv".into(),
            "text/xml" => "xml".into(),
            _ => "zip".into(),
        });
    let file = (!body.is_empty()).then(|| (format!("sis_import.{ext}"), body.to_vec()));
    Ok(Upload {
        params,
        file,
        multipart: false,
    })
}

/// Canvas's `DiffGenerator::VALID_ENROLLMENT_DROP_STATUS`, used by both drop-status options.
/// (Batch mode treats `deleted_last_completed` as `deleted` in the sandbox.)
const ENROLLMENT_DROP_STATUSES: [&str; 4] =
    ["deleted", "completed", "inactive", "deleted_last_completed"];

/// Validate options the way the controller does, before anything is created.
fn options(store: &Store, up: &Upload) -> Result<BatchOptions, ApiError> {
    let mut o = BatchOptions {
        skip_deletes: up.bool("skip_deletes"),
        update_sis_id_if_login_claimed: up.bool("update_sis_id_if_login_claimed"),
        ..BatchOptions::default()
    };
    // add/clear are only honoured together with override.
    if up.bool("override_sis_stickiness") {
        o.override_sis_stickiness = true;
        o.add_sis_stickiness = up.bool("add_sis_stickiness");
        o.clear_sis_stickiness = up.bool("clear_sis_stickiness");
        if o.clear_sis_stickiness {
            o.add_sis_stickiness = false;
        }
    }
    o.change_threshold = up
        .get("change_threshold")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| (1..=100).contains(v));
    o.diff_row_count_threshold = up
        .get("diff_row_count_threshold")
        .and_then(|v| v.trim().parse().ok());
    if up.bool("multi_term_batch_mode") {
        if o.change_threshold.is_none() {
            return Err(ApiError::BadRequestMessage(
                "change_threshold is required to use multi term_batch mode.".into(),
            ));
        }
        o.multi_term_batch_mode = true;
        o.batch_mode = true;
    } else if up.bool("batch_mode") {
        let term = up
            .get("batch_mode_term_id")
            .and_then(|t| resolve_term(store, t).ok())
            .filter(|id| {
                store
                    .term(*id)
                    .is_some_and(|t| t.workflow_state == crate::model::ActiveDeleted::Active)
            });
        let Some(term) = term else {
            return Err(ApiError::BadRequestMessage(
                "Batch mode specified, but the given batch_mode_term_id cannot be found.".into(),
            ));
        };
        o.batch_mode = true;
        o.batch_mode_term_id = Some(term);
    }

    if let Some(s) = up.get("diffing_drop_status") {
        if !ENROLLMENT_DROP_STATUSES.contains(&s) {
            return Err(ApiError::BadRequestMessage(
                "Invalid diffing_drop_status".into(),
            ));
        }
        o.diffing_drop_status = Some(s.to_string());
    }
    // Like diffing_drop_status, the other two status options reject unknown values
    // (SisImportsApiController#create).
    if let Some(s) = up
        .get("diffing_user_remove_status")
        .filter(|s| !s.is_empty())
    {
        if !["deleted", "suspended"].contains(&s) {
            return Err(ApiError::BadRequestMessage(
                "Invalid diffing_user_remove_status".into(),
            ));
        }
        o.diffing_user_remove_status = Some(s.to_string());
    }
    if let Some(s) = up
        .get("batch_mode_enrollment_drop_status")
        .filter(|s| !s.is_empty())
    {
        if !ENROLLMENT_DROP_STATUSES.contains(&s) {
            return Err(ApiError::BadRequestMessage(
                "Invalid batch_mode_enrollment_drop_status".into(),
            ));
        }
        o.batch_mode_enrollment_drop_status = Some(s.to_string());
    }
    // Batch mode wins over diffing: the identifier is ignored.
    if !o.batch_mode {
        if let Some(id) = up
            .get("diffing_data_set_identifier")
            .filter(|s| !s.is_empty())
        {
            if id.len() > 128 {
                return Err(ApiError::InvalidParam(
                    "diffing_data_set_identifier is too long (maximum is 128 characters)".into(),
                ));
            }
            o.diffing_data_set_identifier = Some(id.to_string());
            o.diffing_remaster = up.bool("diffing_remaster_data_set");
        }
    }
    Ok(o)
}

pub async fn create(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    root_account(&state.store().read(), &account)?;
    let mut up = read_upload(&state, query, req).await?;
    if let Some(t) = up.get("import_type") {
        if t != "instructure_csv" {
            return Err(ApiError::BadRequestMessage(format!(
                "Invalid import_type: {t}"
            )));
        }
    }
    // The upload arrives now, or later through the file-upload flow (`pre_attachment`).
    let (filename, attachment, pre) = match up.file.take() {
        Some((name, bytes)) => (name, bytes, None),
        None => match up
            .get("pre_attachment[name]")
            .filter(|n| !n.trim().is_empty())
        {
            Some(name) => {
                let content_type = up
                    .get("pre_attachment[content_type]")
                    .filter(|c| !c.trim().is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| content_type_of(name).to_string());
                (name.trim().to_string(), Vec::new(), Some(content_type))
            }
            None if up.multipart => {
                // Canvas: a multipart post without the file is not read as the file itself.
                return Err(ApiError::Json(
                    axum::http::StatusCode::BAD_REQUEST,
                    json!({"error": true, "error_message": "Missing attachment"}),
                ));
            }
            None => return Err(ApiError::InvalidParam("attachment is required".into())),
        },
    };
    let base = base_url(&headers);
    let mut store = state.store().write();
    let account_id = root_account(&store, &account)?;
    let opts = options(&store, &up)?;
    let now = Utc::now();
    let id = store.batches.len() as u64 + 1;
    let user_id = store.api_user;
    store.batches.push(SisBatch {
        id,
        account_id,
        created_at: now,
        updated_at: now,
        started_at: None,
        ended_at: None,
        // Canvas's batch is `initializing` until its attachment is stored.
        workflow_state: if pre.is_some() {
            BatchState::Initializing
        } else {
            BatchState::Created
        },
        progress: 0,
        options: opts,
        filename: filename.clone(),
        attachment: Arc::new(attachment),
        counts: None,
        supplied: Vec::new(),
        messages: Vec::new(),
        error_message: None,
        batch_deleted: None,
        diffed_against: None,
        diffing_threshold_exceeded: false,
        statistics: None,
        user_id,
        csv_files: Vec::new(),
        diffed_files: Vec::new(),
        errors_file: None,
    });
    let upload = pre.map(|content_type| {
        let token = crate::secret::random_hex(4);
        let file = store.insert_pending_upload(id, &filename, &content_type, &token);
        json!({
            "upload_url": format!("{base}/sandbox/uploads/{file}"),
            "upload_params": {"filename": filename, "content_type": content_type, "upload_token": token},
            "file_param": "file",
        })
    });
    let mut body = store
        .batch(id)
        .map(|b| b.to_json(&store, &base))
        .ok_or_else(|| ApiError::Internal("batch vanished".into()))?;
    match upload {
        // The upload data is only in the create response, as for Canvas's content migrations.
        Some(u) => {
            if let Some(o) = body.as_object_mut() {
                o.insert("pre_attachment".into(), u);
            }
        }
        None => state.enqueue(id),
    }
    Ok(json(body))
}

/// The content type Canvas would guess from a file name.
fn content_type_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        "text/csv"
    } else if lower.ends_with(".zip") {
        "application/zip"
    } else {
        "application/octet-stream"
    }
}

/// Step 2 of Canvas's file-upload flow for a `pre_attachment` SIS import: a multipart POST of
/// the `upload_params` and then `file`, without a token (the params are the signature). Answers
/// 201 with the file's API URL in `Location`, and queues the import.
pub async fn upload(
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let file_id: u64 = file_id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let mut mp = Multipart::from_request(req, &state)
        .await
        .map_err(bad_multipart)?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut data = None;
    while let Some(field) = mp.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let bytes = field.bytes().await.map_err(bad_multipart)?;
            data = Some(bytes.to_vec());
            break; // `file` comes last; anything after it is ignored
        }
        let value = field.text().await.map_err(bad_multipart)?;
        fields.push((name, value));
    }
    let mut store = state.store().write();
    let f = store
        .file(file_id)
        .filter(|f| !f.uploaded)
        .ok_or(ApiError::NotFound)?;
    let given = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let signed = given("upload_token") == f.upload_token.as_deref()
        && given("filename") == Some(f.display_name.as_str())
        && given("content_type") == Some(f.content_type.as_str());
    if !signed {
        return Err(ApiError::Json(
            axum::http::StatusCode::FORBIDDEN,
            json!({"message": "upload_params were changed or left out"}),
        ));
    }
    let Some(data) = data else {
        return Err(ApiError::InvalidParam("file is required".into()));
    };
    let batch_id = f.batch_id;
    let data = Arc::new(data);
    if let Some(f) = store.file_mut(file_id) {
        f.size = data.len() as u64;
        f.bytes = data.clone();
        f.uploaded = true;
        f.upload_token = None;
    }
    let mut queue = false;
    if let Some(b) = store.batch_mut(batch_id) {
        b.attachment = data;
        // An import aborted while it waited for its file stays aborted.
        if b.workflow_state == BatchState::Initializing {
            b.workflow_state = BatchState::Created;
            b.updated_at = Utc::now();
            queue = true;
        }
    }
    let base = base_url(&headers);
    let f = store.file(file_id).ok_or(ApiError::NotFound)?;
    let mut r = (
        axum::http::StatusCode::CREATED,
        axum::Json(crate::render::file(&base, f)),
    )
        .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{base}/api/v1/files/{file_id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    drop(store);
    if queue {
        state.enqueue(batch_id);
    }
    Ok(r)
}

fn find_batch(store: &Store, account: u64, raw: &str) -> Result<u64, ApiError> {
    let id: u64 = raw.trim().parse().map_err(|_| ApiError::NotFound)?;
    match store.batch(id) {
        Some(b) if b.account_id == account => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let account = root_account(&store, &account)?;
    let id = find_batch(&store, account, &id)?;
    let b = store.batch(id).ok_or(ApiError::NotFound)?;
    Ok(json(b.to_json(&store, &base_url(&headers))))
}

pub async fn list(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let page = Page::from(&params);
    let store = state.store().read();
    let account = root_account(&store, &account)?;
    let states: Vec<BatchState> = params
        .all("workflow_state")
        .into_iter()
        .filter_map(BatchState::parse)
        .collect();
    let parse_t = |k: &str| {
        params
            .get(k)
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    let (since, before) = (parse_t("created_since"), parse_t("created_before"));
    let base = base_url(&headers);
    let iter = store.batches.iter().rev().filter(|b| {
        b.account_id == account
            && (states.is_empty() || states.contains(&b.workflow_state))
            && since.is_none_or(|s| b.created_at >= s)
            && before.is_none_or(|s| b.created_at <= s)
    });
    let (items, more) = page.take(iter);
    let body = json!({"sis_imports": items.iter().map(|b| b.to_json(&store, &base)).collect::<Vec<Value>>()});
    let path = format!("/api/v1/accounts/{account}/sis_imports");
    // No `last` link: Canvas does not count SIS imports.
    Ok(paged(
        body,
        link_header(&headers, &path, &params, &page, more, None),
    ))
}

pub async fn importing(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let account = root_account(&store, &account)?;
    let base = base_url(&headers);
    let items: Vec<Value> = store
        .batches
        .iter()
        .filter(|b| {
            b.account_id == account
                && matches!(
                    b.workflow_state,
                    BatchState::Importing | BatchState::CleanupBatch
                )
        })
        .map(|b| b.to_json(&store, &base))
        .collect();
    Ok(json(json!({ "sis_imports": items })))
}

pub async fn abort(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let account = root_account(&store, &account)?;
    let id = find_batch(&store, account, &id)?;
    let b = store.batch_mut(id).ok_or(ApiError::NotFound)?;
    if !b.workflow_state.is_pending() {
        return Err(ApiError::NotFound);
    }
    let now = Utc::now();
    b.workflow_state = BatchState::Aborted;
    b.updated_at = now;
    b.ended_at = Some(now);
    let store = &*store;
    state.hold_queue_after_abort(store, account);
    let b = store.batch(id).ok_or(ApiError::NotFound)?;
    Ok(json(b.to_json(store, &base_url(&headers))))
}

pub async fn abort_all_pending(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let account = root_account(&store, &account)?;
    let now = Utc::now();
    for b in store.batches.iter_mut() {
        if b.account_id == account
            && matches!(
                b.workflow_state,
                BatchState::Initializing | BatchState::Created
            )
        {
            b.workflow_state = BatchState::Aborted;
            b.progress = 100;
            b.updated_at = now;
        }
    }
    Ok(json(json!({"aborted": true})))
}

/// `PUT sis_imports/:id/restore_states`: revert the workflow-state changes this import made
/// (canvas-sis-csv.md §9.5). Objects it created go to `deleted` (Canvas's restore target for
/// "non-existent"). Runs at once; answers a completed Progress.
pub async fn restore_states(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let f = super::form::Form::read(query.as_deref(), &headers, &body)?;
    let batch_mode = f.bool_or("batch_mode", false);
    let undelete_only = f.bool_or("undelete_only", false);
    let unconclude_only = f.bool_or("unconclude_only", false);
    if undelete_only && unconclude_only {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!("cannot set both undelete_only and unconclude_only")),
        )
            .into_response());
    }
    let mut store = state.store().write();
    let account = root_account(&store, &account)?;
    let id = find_batch(&store, account, &id)?;
    let now = Utc::now();
    if let Some(b) = store.batch_mut(id) {
        b.workflow_state = BatchState::Restoring;
        b.updated_at = now;
    }
    let (deleted, completed) = (
        crate::model::state_code("deleted"),
        crate::model::state_code("completed"),
    );
    let mut picks: Vec<usize> = store
        .rollback
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.batch_id == id
                && !r.restored
                && (!batch_mode || r.batch_mode_delete)
                && (!undelete_only || r.updated == deleted)
                && (!unconclude_only || r.updated == completed)
        })
        .map(|(i, _)| i)
        .collect();
    // Canvas's order by kind; within a kind, newest first so an object changed twice ends in
    // its state from before the import.
    picks.sort_by_key(|i| (store.rollback[*i].kind, std::cmp::Reverse(*i)));
    for i in picks {
        let r = store.rollback[i].clone();
        let target = match r.previous {
            None => "deleted",
            Some(code) => crate::model::state_name(code).unwrap_or("deleted"),
        };
        store.set_state(r.kind, r.id, target);
        store.rollback[i].restored = true;
    }
    let partial = batch_mode || undelete_only || unconclude_only;
    if let Some(b) = store.batch_mut(id) {
        b.workflow_state = if partial {
            BatchState::PartiallyRestored
        } else {
            BatchState::Restored
        };
        b.updated_at = Utc::now();
    }
    let pid = store.progresses.len() as u64 + 1;
    store.progresses.push(crate::model::Progress {
        id: pid,
        context_id: account,
        context_type: "Account".into(),
        tag: "sis_batch_state_restore".into(),
        workflow_state: "completed".into(),
        completion: 100.0,
        message: None,
        created_at: now,
        updated_at: Utc::now(),
    });
    let p = store
        .progresses
        .last()
        .ok_or_else(|| ApiError::Internal("progress vanished".into()))?;
    Ok(json(crate::render::progress(&base_url(&headers), p)))
}

/// `GET /api/v1/progress/:id`.
pub async fn progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let p = id
        .checked_sub(1)
        .and_then(|i| store.progresses.get(i as usize))
        .ok_or(ApiError::NotFound)?;
    Ok(json(crate::render::progress(&base_url(&headers), p)))
}
