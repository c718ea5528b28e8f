//! Files (Canvas `Attachment`s): the SIS import's CSV copies, diffs, errors CSVs and uploads.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{base_url, json, token_of, token_valid, Params};
use crate::error::ApiError;
use crate::state::AppState;

fn file_id(raw: &str) -> Result<u64, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/files/:id`: the file's JSON (where a finished upload's `Location` points).
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let f = store.file(file_id(&id)?).ok_or(ApiError::NotFound)?;
    Ok(json(crate::render::file(&base_url(&headers), f)))
}

/// `GET /files/:id/download`: the stored bytes. Like Canvas, the `verifier` from the file's
/// `url` is enough on its own (a signed link); without it the caller needs a valid token.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = file_id(&id)?;
    let params = Params::parse(req.uri().query());
    let store = state.store().read();
    let f = store
        .file(id)
        .filter(|f| f.uploaded)
        .ok_or(ApiError::NotFound)?;
    if params.get("verifier") != Some(f.uuid.as_str()) {
        match token_of(&req) {
            None => return Err(ApiError::Unauthenticated),
            Some(t) if !token_valid(&state, &t) => return Err(ApiError::InvalidToken),
            Some(_) => {}
        }
    }
    let mut r = f.bytes.as_slice().to_vec().into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // The name is ours or the uploader's; quotes and control characters are dropped so the
    // header stays well-formed.
    let safe: String = f
        .display_name
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
