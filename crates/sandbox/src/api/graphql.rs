//! `POST /api/graphql`, only as far as marks passback needs it: Canvas's Final Grade
//! Override mutation `setOverrideScore(input: {enrollmentId, overrideScore, gradingPeriodId})`
//! (app/graphql/mutations/set_override_score.rb). It sets the override score on every active
//! student enrollment of that user in that course, as Canvas does, and answers
//! `{"data": {"setOverrideScore": {"grades": {...}, "errors": null}}}`.
//!
//! This is not a GraphQL server: the query must hold that one mutation with an `input:`
//! object whose values are literals or `$variables`; the response carries the grades fields
//! whatever the selection set asks. Anything else gets a GraphQL `errors` answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::json;
use crate::error::ApiError;
use crate::model::{EnrollmentState, EnrollmentType};
use crate::state::AppState;

fn gql_error(message: &str) -> Response {
    json(json!({"errors": [{"message": message}]}))
}

/// Reads `{ key: value, ... }` starting at `s` (after `input:`), values resolved.
fn parse_input(s: &str, vars: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let s = s.trim_start();
    let body = s.strip_prefix('{').ok_or("input must be an object")?;
    let end = body.find('}').ok_or("unterminated input object")?;
    let mut out = Map::new();
    for part in body[..end]
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| format!("bad input field {part:?}"))?;
        let (k, v) = (k.trim(), v.trim());
        let value = if let Some(var) = v.strip_prefix('$') {
            vars.get(var).cloned().unwrap_or(Value::Null)
        } else if v == "null" {
            Value::Null
        } else if let Some(q) = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
            Value::String(q.to_string())
        } else {
            v.parse::<f64>()
                .map(|f| json!(f))
                .map_err(|_| format!("unsupported value {v:?}"))?
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

/// A legacy id (`"12"`, `12`) or a relay id (base64 of `Enrollment-12`).
fn enrollment_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok().or_else(|| {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()?;
            String::from_utf8(raw)
                .ok()?
                .strip_prefix("Enrollment-")?
                .parse()
                .ok()
        }),
        _ => None,
    }
}

pub async fn handle(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidParam(format!("invalid JSON body: {e}")))?;
    let query = req.get("query").and_then(Value::as_str).unwrap_or("");
    let vars = req
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(at) = query.find("setOverrideScore") else {
        return Ok(gql_error(
            "the sandbox's GraphQL endpoint serves only the setOverrideScore mutation",
        ));
    };
    let Some(input_at) = query[at..].find("input:") else {
        return Ok(gql_error("setOverrideScore needs an input argument"));
    };
    let input = match parse_input(&query[at + input_at + "input:".len()..], &vars) {
        Ok(i) => i,
        Err(m) => return Ok(gql_error(&m)),
    };
    let Some(id) = input.get("enrollmentId").and_then(enrollment_id) else {
        return Ok(gql_error(
            "Argument 'enrollmentId' on InputObject 'SetOverrideScoreInput' is required",
        ));
    };
    let score = match input.get("overrideScore") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(f) => Some(f),
            None => return Ok(gql_error("overrideScore must be a Float")),
        },
    };
    if input.get("gradingPeriodId").is_some_and(|v| !v.is_null()) {
        return Ok(gql_error(
            "the sandbox has no grading periods: gradingPeriodId is not supported",
        ));
    }
    let mut store = state.store().write();
    let target = match store.enrollment(id) {
        Some(e)
            if e.workflow_state == EnrollmentState::Active && e.kind == EnrollmentType::Student =>
        {
            (e.course_id, e.user_id)
        }
        _ => {
            return Ok(json(
                json!({"data": {"setOverrideScore": null}, "errors": [{"message": "not found"}]}),
            ))
        }
    };
    // Every active student enrollment of the user in the course, so sections agree.
    let ids: Vec<u64> = store
        .enrollments_by_course
        .get(&target.0)
        .cloned()
        .unwrap_or_default();
    for eid in ids {
        if let Some(e) = store.enrollment_mut(eid) {
            if e.user_id == target.1
                && e.kind == EnrollmentType::Student
                && e.workflow_state == EnrollmentState::Active
            {
                e.grades.override_score = score;
                e.grades.override_grade = None;
                e.updated_at = chrono::Utc::now();
            }
        }
    }
    let e = store.enrollment(id).ok_or(ApiError::NotFound)?;
    let standard = store
        .course(e.course_id)
        .and_then(|c| c.grading_standard_id)
        .and_then(|g| store.grading_standard(g));
    let letter = |s: Option<f64>| s.and_then(|x| standard.and_then(|st| st.score_to_grade(x)));
    let g = &e.grades;
    Ok(json(json!({"data": {"setOverrideScore": {
        "grades": {
            "overrideScore": g.override_score,
            "overrideGrade": letter(g.override_score),
            "currentScore": g.current_score,
            "finalScore": g.final_score,
            "currentGrade": letter(g.current_score).or_else(|| g.current_grade.clone()),
            "finalGrade": letter(g.final_score).or_else(|| g.final_grade.clone()),
            "enrollment": {"_id": e.id.to_string()},
        },
        "errors": null,
    }}})))
}
