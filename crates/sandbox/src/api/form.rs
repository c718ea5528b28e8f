//! Request parameters for REST writes: Canvas accepts form-encoded nested keys
//! (`course[name]=…`), or a JSON body with the same nesting, plus the query string. All three
//! are flattened here into one list of `a[b]` keys so handlers read them one way.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde_json::Value;

use super::value_to_boolean;
use crate::error::ApiError;

pub struct Form(Vec<(String, String)>);

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                flatten(&format!("{prefix}[]"), v, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

impl Form {
    pub fn read(query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = query
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if body.is_empty() {
            return Ok(Form(pairs));
        }
        if ct.starts_with("application/json") {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::InvalidParam(format!("invalid JSON body: {e}")))?;
            flatten("", &v, &mut pairs);
        } else {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|e| ApiError::InvalidParam(format!("invalid form body: {e}")))?;
            pairs.extend(form);
        }
        Ok(Form(pairs))
    }

    /// The last value given for `key` (Rails keeps the last).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value given for `key` (use the `name[]` form for arrays).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).map(value_to_boolean).unwrap_or(default)
    }

    /// An optional timestamp field: `None` = absent, `Some(None)` = cleared.
    pub fn time(&self, key: &str) -> Result<Option<Option<crate::model::Time>>, ApiError> {
        if !self.has(key) {
            return Ok(None);
        }
        match self.text(key) {
            None => Ok(Some(None)),
            Some(v) => crate::sis::parse_date(v)
                .map(|t| Some(Some(t)))
                .ok_or_else(|| ApiError::InvalidParam(format!("{key} is not a valid date"))),
        }
    }
}

/// Canvas's model-validation body for one attribute.
pub fn invalid(object: Option<&str>, attribute: &str, kind: &str, message: &str) -> ApiError {
    let inner = serde_json::json!({ attribute: [{"attribute": attribute, "type": kind, "message": message}] });
    ApiError::Validation(match object {
        Some(o) => serde_json::json!({ o: inner }),
        None => inner,
    })
}
