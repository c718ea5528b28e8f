//! The OneRoster gradebook writer (`shared/specs/oneroster.md` §5): one category, one
//! "final mark" line item per class and mark period, one result per student, each PUT to a
//! sourcedId rosterbridge chooses deterministically, so a rerun replaces instead of adding.
//!
//! 1.1 signs with OAuth 1.0a (JSON bodies are not signed) or uses OAuth 2; 1.2 uses OAuth 2
//! with the `gradebook.createput` scope. 200 and 201 are success; a 4xx on one result
//! rejects that result only; failures of the whole provider (401, 403, unreachable, retries
//! used up) stop the push, and the marks not sent are reported rejected with the reason.

use crate::plan::{Mark, MarkAction, MarkPlan};
use crate::{fmt_score, MarksError};
use rosterbridge_config::{GradebookConfig, RestAuthConfig};
use rosterbridge_source_http::{
    Authorizer, HttpClient, HttpError, Request, RetryPolicy, Secret, Url,
};
use rosterbridge_source_oneroster_rest::{oauth1, oauth2};
use serde_json::{json, Value};
use std::time::Duration;

/// How one result went.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The provider took it (HTTP 200 updated / 201 created).
    Sent { status: u16 },
    /// Refused, or not attempted because the push stopped; the message says why.
    Rejected { message: String },
}

/// One attempted transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub result_id: String,
    pub outcome: Outcome,
}

/// The gradebook scopes a writer asks for with OAuth 2.
pub fn gradebook_scopes(version: &str) -> Vec<String> {
    let v = if version == "1.2" { "v1p2" } else { "v1p1" };
    vec![format!(
        "https://purl.imsglobal.org/spec/or/{v}/scope/gradebook.createput"
    )]
}

/// Writes marks to one provider.
pub struct GradebookWriter {
    http: HttpClient,
    auth: Box<dyn Authorizer>,
    base: Url,
    v12: bool,
}

impl std::fmt::Debug for GradebookWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradebookWriter")
            .field("base", &self.base.as_str())
            .field("credential", &self.auth.credential())
            .finish()
    }
}

impl GradebookWriter {
    /// A writer for the configured provider; `secret` is the client secret read from
    /// `secret_source` (named in errors, never the secret itself).
    pub fn new(
        cfg: &GradebookConfig,
        secret: Secret,
        secret_source: String,
    ) -> Result<GradebookWriter, MarksError> {
        let base = Url::parse(&cfg.base_url).map_err(|e| MarksError::Config {
            message: format!("gradebook URL {:?}: {e}", cfg.base_url),
        })?;
        let auth: Box<dyn Authorizer> = match &cfg.auth {
            RestAuthConfig::OAuth1 { consumer_key, .. } => Box::new(oauth1::OAuth1 {
                consumer_key: consumer_key.clone(),
                consumer_secret: secret,
                secret_source,
            }),
            RestAuthConfig::OAuth2 {
                token_url,
                client_id,
                credentials_in_body,
                ..
            } => {
                let token_url = Url::parse(token_url).map_err(|e| MarksError::Config {
                    message: format!("token URL {token_url:?}: {e}"),
                })?;
                let mut c = oauth2::ClientCredentials::new(
                    token_url,
                    client_id.clone(),
                    secret,
                    secret_source,
                    gradebook_scopes(&cfg.version),
                );
                c.credentials_in_body = *credentials_in_body;
                Box::new(c)
            }
        };
        let policy = RetryPolicy {
            max_attempts: cfg.max_attempts,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            ..RetryPolicy::default()
        };
        let http = HttpClient::new(policy).map_err(|e| MarksError::Gradebook {
            what: "setting up the HTTP client".into(),
            source: e,
        })?;
        Ok(GradebookWriter {
            http,
            auth,
            base,
            v12: cfg.version == "1.2",
        })
    }

    fn url(&self, collection: &str, id: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut seg) = url.path_segments_mut() {
            seg.pop_if_empty().push(collection).push(id);
        }
        url
    }

    fn href(&self, collection: &str, id: &str) -> String {
        self.url(collection, id).to_string()
    }

    fn guid(&self, collection: &str, id: &str, kind: &str) -> Value {
        json!({"href": self.href(collection, id), "sourcedId": id, "type": kind})
    }

    fn put(&self, collection: &str, id: &str, body: &Value) -> Result<u16, HttpError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let resp = self.http.send(
            &Request::put_json(self.url(collection, id), &bytes),
            self.auth.as_ref(),
        )?;
        Ok(resp.status)
    }

    fn line_item_body(
        &self,
        plan: &MarkPlan,
        li: &crate::plan::LineItem,
        date: &str,
        now: &str,
    ) -> Value {
        let mut o = json!({
            "sourcedId": li.sourced_id,
            "status": "active",
            "dateLastModified": now,
            "title": li.title,
            "assignDate": date,
            "dueDate": date,
            "class": self.guid("classes", &li.class, "class"),
            "category": self.guid("categories", &plan.category.sourced_id, "category"),
            "resultValueMin": 0.0,
            "resultValueMax": 100.0,
        });
        if self.v12 {
            o["academicSession"] =
                self.guid("academicSessions", &li.mark_period, "academicSession");
            if let Some(school) = &li.school {
                o["school"] = self.guid("schools", school, "org");
            }
        } else {
            o["gradingPeriod"] = self.guid("academicSessions", &li.mark_period, "academicSession");
        }
        json!({ "lineItem": o })
    }

    fn result_body(&self, m: &Mark, date: &str, now: &str) -> Value {
        let mut o = json!({
            "sourcedId": m.result_id,
            "status": "active",
            "dateLastModified": now,
            "lineItem": self.guid("lineItems", &m.line_item_id, "lineItem"),
            "student": self.guid("students", &m.student, "user"),
            "scoreStatus": "fully graded",
            "scoreDate": date,
        });
        if let Some(s) = m.score {
            o["score"] = json!(s);
        }
        if let Some(t) = &m.text {
            if self.v12 {
                o["textScore"] = json!(t);
            } else {
                // 1.1 has only a numeric score: the literal mark goes in the comment (§5.3).
                o["comment"] = json!(t);
            }
        }
        if self.v12 {
            o["class"] = self.guid("classes", &m.class, "class");
        }
        json!({ "result": o })
    }

    /// PUTs the category, the line items that have marks to send, and those marks. `date`
    /// (`YYYY-MM-DD`) is the score date; `now` (RFC 3339) is `dateLastModified`.
    /// Returns one transfer per mark to send.
    pub fn push(&self, plan: &MarkPlan, date: &str, now: &str) -> Vec<Transfer> {
        let sending: Vec<&Mark> = plan
            .marks
            .iter()
            .filter(|m| m.action == MarkAction::Send)
            .collect();
        if sending.is_empty() {
            return Vec::new();
        }
        let rejected_all = |message: String| {
            sending
                .iter()
                .map(|m| Transfer {
                    result_id: m.result_id.clone(),
                    outcome: Outcome::Rejected {
                        message: message.clone(),
                    },
                })
                .collect()
        };
        let category = json!({"category": {"sourcedId": plan.category.sourced_id, "status": "active", "dateLastModified": now, "title": plan.category.title}});
        if let Err(e) = self.put("categories", &plan.category.sourced_id, &category) {
            return rejected_all(format!("not sent: the category could not be written: {e}"));
        }
        let mut transfers = Vec::new();
        let mut stop: Option<String> = None;
        for li in &plan.line_items {
            let marks: Vec<&&Mark> = sending
                .iter()
                .filter(|m| m.line_item_id == li.sourced_id)
                .collect();
            if marks.is_empty() {
                continue;
            }
            let li_error = match &stop {
                Some(reason) => Some(reason.clone()),
                None => match self.put(
                    "lineItems",
                    &li.sourced_id,
                    &self.line_item_body(plan, li, date, now),
                ) {
                    Ok(_) => None,
                    Err(e) if is_fatal(&e) => {
                        stop = Some(format!("not sent: {e}"));
                        stop.clone()
                    }
                    Err(e) => Some(format!(
                        "the line item for class {} was refused: {}",
                        li.class,
                        refusal(&e)
                    )),
                },
            };
            for m in marks {
                let outcome = match (&li_error, &stop) {
                    (Some(msg), _) => Outcome::Rejected {
                        message: msg.clone(),
                    },
                    (None, Some(reason)) => Outcome::Rejected {
                        message: reason.clone(),
                    },
                    (None, None) => {
                        match self.put("results", &m.result_id, &self.result_body(m, date, now)) {
                            Ok(status) => Outcome::Sent { status },
                            Err(e) if is_fatal(&e) => {
                                stop = Some(format!("not sent: {e}"));
                                Outcome::Rejected {
                                    message: e.to_string(),
                                }
                            }
                            Err(e) => Outcome::Rejected {
                                message: refusal(&e),
                            },
                        }
                    }
                };
                transfers.push(Transfer {
                    result_id: m.result_id.clone(),
                    outcome,
                });
            }
        }
        transfers
    }
}

/// A refusal for people: the status and the provider's `imsx_description` when it sent one.
fn refusal(e: &HttpError) -> String {
    if let HttpError::Status { status, body, .. } = e {
        if let Some(d) = serde_json::from_str::<Value>(body).ok().and_then(|v| {
            v.get("imsx_description")
                .and_then(Value::as_str)
                .map(str::to_string)
        }) {
            return format!("HTTP {status}: {d}");
        }
    }
    e.to_string()
}

/// Failures of the provider as a whole: going on would only fail again.
fn is_fatal(e: &HttpError) -> bool {
    !matches!(
        e,
        HttpError::Status {
            status: 400..=499,
            ..
        } | HttpError::Malformed { .. }
    )
}

/// `fmt_score` re-exported for callers recording values.
pub fn score_text(s: f64) -> String {
    fmt_score(s)
}
