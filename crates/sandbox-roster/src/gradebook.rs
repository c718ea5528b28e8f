//! OneRoster gradebook writes and reads (`shared/specs/oneroster.md` §5), for marks
//! passback tests: `PUT /categories/{id}`, `PUT /lineItems/{id}`, `PUT /results/{id}`
//! (create-or-replace: 201 created, 200 replaced), `GET` of each collection and record, on
//! 1.1 (`/ims/oneroster/v1p1`, OAuth 1.0a) and 1.2 (`/ims/oneroster/gradebook/v1p2`, OAuth 2
//! with the gradebook scopes).
//!
//! Writes are checked as a SIS would: the wrapper key, the sourcedId matching the path, the
//! line item's class and category existing, the result's line item and student existing, a
//! valid `scoreStatus`, a numeric `score` on 1.1; a refusal is 422 `invaliddata`.
//! [`crate::ProviderState::reject_results_for`] makes the provider refuse one student's results
//! (a SIS that locked a record), and `GET /sandbox/gradebook` dumps everything for tests.

use crate::oneroster::{error, Binding};
use crate::ProviderState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What the provider's gradebook holds, by sourcedId.
#[derive(Debug, Default, Clone)]
pub struct Gradebook {
    pub categories: BTreeMap<String, Value>,
    pub line_items: BTreeMap<String, Value>,
    pub results: BTreeMap<String, Value>,
    /// PUTs accepted so far (creates and replacements).
    pub writes: u64,
}

impl Gradebook {
    fn table(&self, collection: &str) -> Option<&BTreeMap<String, Value>> {
        match collection {
            "categories" => Some(&self.categories),
            "lineItems" => Some(&self.line_items),
            "results" => Some(&self.results),
            _ => None,
        }
    }

    /// Everything, as `GET /sandbox/gradebook` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "categories": self.categories.values().collect::<Vec<_>>(),
            "lineItems": self.line_items.values().collect::<Vec<_>>(),
            "results": self.results.values().collect::<Vec<_>>(),
            "writes": self.writes,
        })
    }
}

/// Whether a collection name is a gradebook one.
pub fn is_gradebook(collection: &str) -> bool {
    matches!(collection, "categories" | "lineItems" | "results")
}

fn single_key(collection: &str) -> &'static str {
    match collection {
        "categories" => "category",
        "lineItems" => "lineItem",
        _ => "result",
    }
}

fn invalid(description: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, "invaliddata", description)
}

fn bad_request(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invaliddata", description)
}

fn ref_id<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key)?.get("sourcedId")?.as_str()
}

const SCORE_STATUS: [&str; 5] = [
    "exempt",
    "fully graded",
    "not submitted",
    "partially graded",
    "submitted",
];

/// `PUT /{collection}/{id}`.
pub fn put(
    state: &ProviderState,
    binding: Binding,
    collection: &str,
    id: &str,
    body: &[u8],
) -> Response {
    if !is_gradebook(collection) {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "unsupported",
            &format!("/{collection} is read-only"),
        );
    }
    let key = single_key(collection);
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("the body is not JSON: {e}")),
    };
    let Some(obj) = doc.get(key).and_then(Value::as_object) else {
        return bad_request(&format!("the body must be {{\"{key}\": {{...}}}}"));
    };
    let mut obj = obj.clone();
    match obj.get("sourcedId").and_then(Value::as_str) {
        Some(s) if s != id => {
            return bad_request(&format!("sourcedId {s:?} does not match the path's {id:?}"))
        }
        _ => {
            obj.insert("sourcedId".into(), json!(id));
        }
    }
    if let Some(reason) = check(state, binding, collection, &obj) {
        return invalid(&reason);
    }
    let mut gb = crate::lock(&state.gradebook);
    let table = match collection {
        "categories" => &mut gb.categories,
        "lineItems" => &mut gb.line_items,
        _ => &mut gb.results,
    };
    let created = table
        .insert(id.to_string(), Value::Object(obj.clone()))
        .is_none();
    gb.writes += 1;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(json!({ key: Value::Object(obj) }))).into_response()
}

/// What a SIS would refuse about a record, if anything.
fn check(
    state: &ProviderState,
    binding: Binding,
    collection: &str,
    o: &Map<String, Value>,
) -> Option<String> {
    let data = state.data.read().unwrap_or_else(|p| p.into_inner());
    let roster = &data.roster;
    let gb = crate::lock(&state.gradebook);
    match collection {
        "categories" => o
            .get("title")
            .and_then(Value::as_str)
            .is_none()
            .then(|| "a category needs a title".to_string()),
        "lineItems" => {
            if o.get("title").and_then(Value::as_str).is_none() {
                return Some("a lineItem needs a title".into());
            }
            let class = ref_id(o, "class")?;
            if !roster
                .classes
                .iter()
                .any(|c| c.sourced_id.as_str() == class)
            {
                return Some(format!("class {class:?} is not known to this SIS"));
            }
            match ref_id(o, "category") {
                Some(c) if gb.categories.contains_key(c) => None,
                Some(c) => Some(format!("category {c:?} does not exist")),
                None => Some("a lineItem needs a category".into()),
            }
        }
        _ => {
            let Some(li) = ref_id(o, "lineItem") else {
                return Some("a result needs a lineItem".into());
            };
            if !gb.line_items.contains_key(li) {
                return Some(format!("lineItem {li:?} does not exist"));
            }
            let Some(student) = ref_id(o, "student") else {
                return Some("a result needs a student".into());
            };
            if !roster
                .users
                .iter()
                .any(|u| u.sourced_id.as_str() == student)
            {
                return Some(format!("student {student:?} is not known to this SIS"));
            }
            if let Some(reason) = crate::lock(&state.rejected_results).get(student) {
                return Some(format!(
                    "results for student {student:?} are refused: {reason}"
                ));
            }
            match o.get("scoreStatus").and_then(Value::as_str) {
                Some(s) if SCORE_STATUS.contains(&s) => {}
                Some(s) => {
                    return Some(format!(
                        "scoreStatus {s:?} is not one of {}",
                        SCORE_STATUS.join(", ")
                    ))
                }
                None => return Some("a result needs a scoreStatus".into()),
            }
            if o.get("scoreDate").and_then(Value::as_str).is_none() {
                return Some("a result needs a scoreDate".into());
            }
            match (binding, o.get("score")) {
                (_, Some(v)) if !v.is_number() => Some("score must be a number".into()),
                (Binding::V1p1, None) => Some("a 1.1 result needs a numeric score".into()),
                _ => None,
            }
        }
    }
}

/// `GET /{collection}` (every record, one page) or `GET /{collection}/{id}`.
pub fn get(state: &ProviderState, collection: &str, id: Option<&str>) -> Response {
    let gb = crate::lock(&state.gradebook);
    let Some(table) = gb.table(collection) else {
        return error(StatusCode::NOT_FOUND, "unknownobject", "no such collection");
    };
    match id {
        None => {
            let all: Vec<&Value> = table.values().collect();
            let total = all.len();
            let mut resp = axum::Json(json!({ collection: all })).into_response();
            resp.headers_mut().insert("x-total-count", total.into());
            resp
        }
        Some(id) => match table.get(id) {
            Some(v) => axum::Json(json!({ single_key(collection): v })).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "unknownobject",
                &format!("{collection}/{id} does not exist"),
            ),
        },
    }
}
