//! SIS imports: create one from a zip, read it back, fetch its errors file.

use crate::{Body, CanvasClient, CanvasError, Retry};
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;

/// The options rosterbridge sends with an import; each is checked in the echo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SisImportOptions {
    /// Write fields that were edited in Canvas too.
    pub override_sis_stickiness: bool,
    /// With override: make the fields this import sets sticky.
    pub add_sis_stickiness: bool,
    /// With override: clear stickiness of the fields this import sets.
    pub clear_sis_stickiness: bool,
}

impl SisImportOptions {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("import_type", "instructure_csv".to_string()),
            ("extension", "zip".to_string()),
        ];
        for (name, on) in [
            ("override_sis_stickiness", self.override_sis_stickiness),
            ("add_sis_stickiness", self.add_sis_stickiness),
            ("clear_sis_stickiness", self.clear_sis_stickiness),
        ] {
            if on {
                q.push((name, "true".into()));
            }
        }
        q
    }

    /// What the created import must say back; a mismatch is returned as text.
    pub fn check_echo(&self, import: &SisImport) -> Result<(), String> {
        let flag = |name: &str| {
            import
                .raw
                .get(name)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let mut wrong = Vec::new();
        if import
            .raw
            .get("data")
            .and_then(|d| d.get("import_type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t != "instructure_csv")
        {
            wrong.push("import_type is not instructure_csv".to_string());
        }
        // rosterbridge sends only the delta: a batch-mode import would delete everything
        // else in the term.
        if flag("batch_mode") {
            wrong.push("batch_mode is on".into());
        }
        if import
            .raw
            .get("diffing_data_set_identifier")
            .is_some_and(|v| !v.is_null())
        {
            wrong.push("a diffing data set is set".into());
        }
        for (name, want) in [
            ("override_sis_stickiness", self.override_sis_stickiness),
            ("add_sis_stickiness", self.add_sis_stickiness),
            ("clear_sis_stickiness", self.clear_sis_stickiness),
        ] {
            if flag(name) != want {
                wrong.push(format!("{name} is {} (asked {want})", flag(name)));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join(", "))
        }
    }
}

/// A SIS import as Canvas renders it; the whole JSON is kept for the audit archive.
#[derive(Clone, Debug, PartialEq)]
pub struct SisImport {
    pub id: i64,
    pub workflow_state: String,
    pub progress: f64,
    pub raw: Value,
}

/// One message of an import, from its errors file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportMessage {
    pub file: String,
    pub message: String,
    /// 1-based line in the file, counting the header; None for file-level messages.
    pub row: Option<u64>,
    /// True for errors, false for warnings (the errors file does not say; see
    /// [`SisImport::messages_from_json`]).
    pub failure: bool,
}

impl SisImport {
    fn from_value(url: &str, raw: Value) -> Result<SisImport, CanvasError> {
        let id = raw
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| CanvasError::Decode {
                url: url.into(),
                message: "SIS import without an id".into(),
            })?;
        let workflow_state = raw
            .get("workflow_state")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        let progress = raw.get("progress").and_then(Value::as_f64).unwrap_or(0.0);
        Ok(SisImport {
            id,
            workflow_state,
            progress,
            raw,
        })
    }

    /// True once Canvas will not change it any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.workflow_state.as_str(),
            "imported"
                | "imported_with_messages"
                | "failed"
                | "failed_with_messages"
                | "aborted"
                | "restored"
                | "partially_restored"
        )
    }

    /// Finished and applied (possibly with row-level messages).
    pub fn is_applied(&self) -> bool {
        matches!(
            self.workflow_state.as_str(),
            "imported" | "imported_with_messages" | "failed_with_messages"
        )
    }

    pub fn errors_attachment_url(&self) -> Option<&str> {
        self.raw
            .get("errors_attachment")
            .and_then(|a| a.get("url"))
            .and_then(Value::as_str)
    }

    /// `data.error_message` of a failed import.
    pub fn error_message(&self) -> Option<&str> {
        self.raw
            .get("data")
            .and_then(|d| d.get("error_message"))
            .and_then(Value::as_str)
    }

    pub fn counts(&self, name: &str) -> u64 {
        self.raw
            .get("data")
            .and_then(|d| d.get("counts"))
            .and_then(|c| c.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// The `[file, message]` pairs of `processing_errors` / `processing_warnings` (at most
    /// 25 each; the errors file has all of them).
    pub fn messages_from_json(&self) -> Vec<ImportMessage> {
        let mut out = Vec::new();
        for (field, failure) in [("processing_errors", true), ("processing_warnings", false)] {
            for pair in self
                .raw
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let file = pair
                    .get(0)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let message = pair
                    .get(1)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                out.push(ImportMessage {
                    file,
                    message,
                    row: None,
                    failure,
                });
            }
        }
        out
    }
}

/// Parses an errors file (`sis_import_id,file,message,row`). Which lines are errors the
/// file does not say; `failure_texts` (from `processing_errors`) mark them.
pub fn parse_errors_csv(
    bytes: &[u8],
    failure_texts: &[(String, String)],
) -> Result<Vec<ImportMessage>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(file_col), Some(message_col)) = (col("file"), col("message")) else {
        return Err(format!("unexpected errors file header {headers:?}"));
    };
    let row_col = col("row");
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let file = record.get(file_col).unwrap_or_default().to_string();
        let message = record.get(message_col).unwrap_or_default().to_string();
        let row = row_col
            .and_then(|c| record.get(c))
            .and_then(|r| r.trim().parse::<u64>().ok());
        let failure = failure_texts
            .iter()
            .any(|(f, m)| *f == file && *m == message);
        out.push(ImportMessage {
            file,
            message,
            row,
            failure,
        });
    }
    Ok(out)
}

impl CanvasClient {
    /// Posts a zip as a new SIS import (raw body, `extension=zip`). Retried after server
    /// errors too: if Canvas did take the first attempt, the second import carries the
    /// same rows, which Canvas applies as updates by SIS id, so nothing is duplicated.
    pub async fn create_sis_import(
        &self,
        account_id: u64,
        zip: Vec<u8>,
        options: &SisImportOptions,
    ) -> Result<SisImport, CanvasError> {
        let path = format!("/api/v1/accounts/{account_id}/sis_imports");
        let query = options.query();
        let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.clone())).collect();
        let body = Body::Bytes {
            content_type: "application/zip",
            data: Arc::new(zip),
        };
        let resp = self
            .send(Method::POST, &path, &query, &body, Retry::Safe)
            .await?;
        let url = self.url(&path);
        let raw: Value = resp.json().await.map_err(|e| CanvasError::Decode {
            url: url.clone(),
            message: e.to_string(),
        })?;
        SisImport::from_value(&url, raw)
    }

    pub async fn sis_import(&self, account_id: u64, id: i64) -> Result<SisImport, CanvasError> {
        let path = format!("/api/v1/accounts/{account_id}/sis_imports/{id}");
        let raw: Value = self.get(&path, &[]).await?;
        SisImport::from_value(&self.url(&path), raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn import(raw: Value) -> SisImport {
        SisImport::from_value("http://c", raw).unwrap()
    }

    #[test]
    fn an_import_that_does_not_echo_the_options_asked_for_is_refused() {
        let asked = SisImportOptions {
            override_sis_stickiness: true,
            ..SisImportOptions::default()
        };
        let good = import(
            json!({"id": 1, "workflow_state": "created", "override_sis_stickiness": true, "data": {"import_type": "instructure_csv"}}),
        );
        assert_eq!(asked.check_echo(&good), Ok(()));
        let dropped = import(
            json!({"id": 2, "workflow_state": "created", "data": {"import_type": "instructure_csv"}}),
        );
        assert!(asked
            .check_echo(&dropped)
            .unwrap_err()
            .contains("override_sis_stickiness is false"));
        let batch = import(
            json!({"id": 3, "workflow_state": "created", "batch_mode": true, "override_sis_stickiness": true}),
        );
        assert!(
            asked.check_echo(&batch).unwrap_err().contains("batch_mode"),
            "a batch-mode import would delete everything else"
        );
        let diffing = import(
            json!({"id": 4, "diffing_data_set_identifier": "x", "override_sis_stickiness": true}),
        );
        assert!(asked.check_echo(&diffing).is_err());
    }

    #[test]
    fn the_errors_file_gives_rows_and_marks_errors_by_the_json() {
        let csv = b"sis_import_id,file,message,row\n7,users.csv,\"No user_id given for a user\",3\n7,courses.csv,Couldn't find Canvas CSV import headers,\n";
        let failures = vec![(
            "courses.csv".to_string(),
            "Couldn't find Canvas CSV import headers".to_string(),
        )];
        let m = parse_errors_csv(csv, &failures).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].file.as_str(), m[0].row, m[0].failure),
            ("users.csv", Some(3), false)
        );
        assert_eq!((m[1].row, m[1].failure), (None, true));
    }
}
