//! Grading schemes (GradingStandardsApiController): create and list on a course or an
//! account, show one on a course. A course uses one through `course[grading_standard_id]`,
//! and its students' letter grades are then computed from their scores (render.rs).
//!
//! Canvas's checks (app/models/grading_standard.rb): a title, entries with a name and a
//! value (a percentage lower bound, stored as 0..1), no negative or duplicate values, and a
//! band at 0 %; each failure is a model-validation 400.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::form::{invalid, Form};
use super::ids::{resolve_account, resolve_course};
use super::json;
use crate::error::ApiError;
use crate::model::GradingStandard;
use crate::render;
use crate::state::AppState;

fn scheme_from(f: &Form) -> Result<(String, Vec<(String, f64)>), ApiError> {
    let title = f
        .text("title")
        .ok_or_else(|| invalid(None, "title", "blank", "can't be blank"))?
        .to_string();
    let names = f.all("grading_scheme_entry[][name]");
    let values = f.all("grading_scheme_entry[][value]");
    if names.is_empty() || names.len() != values.len() {
        return Err(invalid(
            None,
            "data",
            "invalid",
            "grading_scheme_entry needs a name and a value for each entry",
        ));
    }
    let mut scheme = Vec::new();
    for (n, v) in names.iter().zip(&values) {
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| invalid(None, "data", "invalid", &format!("invalid value {v:?}")))?;
        // Stored as a fraction rounded to 0.0001, like GradingStandard#data=.
        scheme.push((
            n.trim().to_string(),
            ((v / 100.0) * 10_000.0).round() / 10_000.0,
        ));
    }
    if scheme.iter().any(|(_, v)| *v < 0.0) {
        return Err(invalid(
            None,
            "data",
            "invalid",
            "grading scheme values cannot be negative",
        ));
    }
    let mut seen: Vec<f64> = scheme.iter().map(|(_, v)| *v).collect();
    seen.sort_by(|a, b| a.total_cmp(b));
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid(
            None,
            "data",
            "invalid",
            "grading scheme cannot contain duplicate values",
        ));
    }
    if !scheme.iter().any(|(_, v)| v.abs() < f64::EPSILON) {
        return Err(invalid(
            None,
            "data",
            "invalid",
            "grading schemes must have 0% for the lowest grade",
        ));
    }
    scheme.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok((title, scheme))
}

/// `POST /api/v1/courses/:course_id/grading_standards`
pub async fn create_for_course(
    State(state): State<AppState>,
    Path(course): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let course = resolve_course(&store, &course)?;
    let (title, scheme) = scheme_from(&f)?;
    let id = store.insert_grading_standard(GradingStandard {
        id: 0,
        context_type: "Course".into(),
        context_id: course,
        title,
        scheme,
    });
    let g = store.grading_standard(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::grading_standard(g)))
}

/// `POST /api/v1/accounts/:account_id/grading_standards`
pub async fn create_for_account(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let account = resolve_account(&store, &account)?;
    let (title, scheme) = scheme_from(&f)?;
    let id = store.insert_grading_standard(GradingStandard {
        id: 0,
        context_type: "Account".into(),
        context_id: account,
        title,
        scheme,
    });
    let g = store.grading_standard(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::grading_standard(g)))
}

/// `GET /api/v1/courses/:course_id/grading_standards`: the course's and its accounts'.
pub async fn list_for_course(
    State(state): State<AppState>,
    Path(course): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let course = resolve_course(&store, &course)?;
    Ok(json(Value::Array(
        store
            .grading_standards_for_course(course)
            .into_iter()
            .map(render::grading_standard)
            .collect(),
    )))
}

/// `GET /api/v1/accounts/:account_id/grading_standards`
pub async fn list_for_account(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let account = resolve_account(&store, &account)?;
    let list = store
        .grading_standards
        .iter()
        .filter(|g| g.context_type == "Account" && g.context_id == account)
        .map(render::grading_standard)
        .collect();
    Ok(json(Value::Array(list)))
}

/// `GET /api/v1/courses/:course_id/grading_standards/:id`
pub async fn show_for_course(
    State(state): State<AppState>,
    Path((course, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let course = resolve_course(&store, &course)?;
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let g = store
        .grading_standards_for_course(course)
        .into_iter()
        .find(|g| g.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(json(render::grading_standard(g)))
}
