//! Sandbox-only endpoints (no Canvas equivalent): setting grades so marks passback can be
//! tested (issue point 7), and the throttle's refusal count so a test can tell that a
//! client met a full bucket.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{base_url, json};
use crate::error::ApiError;
use crate::model::EnrollmentType;
use crate::render;
use crate::state::AppState;

fn score(v: &Value, key: &str) -> Result<Option<Option<f64>>, ApiError> {
    match v.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(x) => x
            .as_f64()
            .map(|f| Some(Some(f)))
            .ok_or_else(|| ApiError::InvalidParam(format!("{key} must be a number or null"))),
    }
}

fn grade(v: &Value, key: &str) -> Result<Option<Option<String>>, ApiError> {
    match v.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(x) => x
            .as_str()
            .map(|s| Some(Some(s.to_string())))
            .ok_or_else(|| ApiError::InvalidParam(format!("{key} must be a string or null"))),
    }
}

/// `PUT /api/v1/sandbox/enrollments/:id/grades` with a JSON object of any of `current_score`,
/// `final_score`, `current_grade`, `final_grade`, `override_score`, `override_grade`; `null`
/// clears a field, an absent key leaves it. Only student enrollments carry grades.
pub async fn set_grades(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidParam(format!("invalid JSON body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::InvalidParam("body must be a JSON object".into()));
    }
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let (cs, fs, os) = (
        score(&v, "current_score")?,
        score(&v, "final_score")?,
        score(&v, "override_score")?,
    );
    let (cg, fg, og) = (
        grade(&v, "current_grade")?,
        grade(&v, "final_grade")?,
        grade(&v, "override_grade")?,
    );
    let mut store = state.store().write();
    let e = store.enrollment_mut(id).ok_or(ApiError::NotFound)?;
    if e.kind != EnrollmentType::Student {
        return Err(ApiError::InvalidParam(
            "only student enrollments have grades".into(),
        ));
    }
    let g = &mut e.grades;
    if let Some(x) = cs {
        g.current_score = x;
    }
    if let Some(x) = fs {
        g.final_score = x;
    }
    if let Some(x) = os {
        g.override_score = x;
    }
    if let Some(x) = cg {
        g.current_grade = x;
    }
    if let Some(x) = fg {
        g.final_grade = x;
    }
    if let Some(x) = og {
        g.override_grade = x;
    }
    e.updated_at = chrono::Utc::now();
    let e = store.enrollment(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::enrollment(&store, &base_url(&headers), e)))
}

/// `GET /sandbox/throttle`: `{"refused": n}`, the requests answered "throttled" so far (all
/// tokens). Outside the throttle, so it can be read while the bucket is full; it still
/// wants a valid token.
pub async fn throttle_stats(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let token = super::token_of(&req).ok_or(ApiError::Unauthenticated)?;
    if !super::token_valid(&state, &token) {
        return Err(ApiError::InvalidToken);
    }
    let refused = state.inner.throttle.refused();
    Ok(axum::Json(serde_json::json!({ "refused": refused })).into_response())
}
