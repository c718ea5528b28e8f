//! What can go wrong talking to Canvas, with the request that failed.

/// A failed Canvas request. Every variant names the method and URL (never the token).
#[derive(Debug, thiserror::Error)]
pub enum CanvasError {
    #[error("{method} {url}: Canvas answered 401 Unauthorized: the access token is missing, wrong or expired ({message})")]
    Unauthorized {
        method: String,
        url: String,
        message: String,
    },
    #[error("{method} {url}: Canvas answered {status}: {message}")]
    Status {
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("{method} {url}: still failing after {attempts} attempt(s): {last}")]
    GaveUp {
        method: String,
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    #[error("{url}: the response is not the JSON expected: {message}")]
    Decode { url: String, message: String },
    #[error("invalid Canvas URL {url:?}: {message}")]
    BadUrl { url: String, message: String },
}

impl CanvasError {
    /// The HTTP status, when Canvas answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            CanvasError::Unauthorized { .. } => Some(401),
            CanvasError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the object asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// The human part of a Canvas error body: `{"errors":[{"message":...}]}`,
/// `{"errors":{"field":[{"message":...}]}}`, `{"message":...}` or the raw text.
pub fn error_message(body: &str) -> String {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        collect_messages(&v, &mut out);
    }
    if out.is_empty() {
        let mut s: String = body.chars().take(300).collect();
        if s.trim().is_empty() {
            s = "(empty body)".into();
        }
        return s;
    }
    out.join("; ")
}

fn collect_messages(v: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match (k.as_str(), val) {
                    ("message", Value::String(s)) => out.push(s.clone()),
                    ("errors", _) => collect_messages(val, out),
                    (_, Value::Array(_)) | (_, Value::Object(_)) => collect_messages(val, out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_messages(i, out)),
        Value::String(s) if out.is_empty() => out.push(s.clone()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn canvas_error_bodies_are_reduced_to_their_messages() {
        assert_eq!(
            error_message(r#"{"errors":[{"message":"The specified resource does not exist."}]}"#),
            "The specified resource does not exist."
        );
        assert_eq!(
            error_message(
                r#"{"errors":{"unique_id":[{"attribute":"unique_id","type":"taken","message":"ID already in use"}]}}"#
            ),
            "ID already in use"
        );
        assert_eq!(
            error_message("Rate Limit Exceeded\n"),
            "Rate Limit Exceeded\n"
        );
        assert_eq!(error_message(""), "(empty body)");
    }
}
