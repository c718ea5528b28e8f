//! The REST sink: the plan applied call by call through Canvas's REST API.
//!
//! Kinds go in dependency order (accounts, terms, users, courses, sections, enrollments,
//! observers) and removals in the reverse order afterwards (enrollments end before a
//! section is deleted). Within a kind, changes run concurrently; the client's governor
//! paces them by Canvas's rate-limit headers.
//!
//! Every write is made safe to repeat by looking first: an object is looked up by its
//! SIS id before it is created, so a run killed half-way is finished by the next one
//! without duplicates. That lookup is also first-contact matching: an object found is
//! adopted (its Canvas id recorded) and updated instead of created. Users not found by
//! SIS id are looked for by login, then by email (configurable); a user found that way
//! gets the SIS id set on its login, and two candidates, or a login that carries another
//! SIS id, are a conflict reported as a rejection, never a guess.

pub use crate::matching::UserMatch;
use crate::{ChangeResult, Sink, SinkError, SinkProgress, SinkReport};
use reqwest::Method;
use rosterbridge_canvas_client::{sis_path, CanvasClient, CanvasError, Retry};
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_plan::Plan;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct RestOptions {
    pub account_id: u64,
    /// After the SIS id, in this order.
    pub user_match: Vec<UserMatch>,
    /// First contact for terms, sub-accounts, courses and sections: how each is looked for.
    pub match_objects: crate::matching::ObjectRules,
    /// Custom course roles by name → (role id, base role type), resolved against Canvas
    /// before applying; an enrollment row naming one is created with that type and id.
    pub custom_roles: Vec<(String, u64, String)>,
    /// Changes started at once per kind (HTTP concurrency is the governor's).
    pub window: usize,
}

pub struct RestSink {
    pub client: CanvasClient,
    pub options: RestOptions,
}

impl RestSink {
    pub fn new(client: CanvasClient, account_id: u64) -> RestSink {
        RestSink {
            client,
            options: RestOptions {
                account_id,
                user_match: vec![UserMatch::Login, UserMatch::Email],
                match_objects: crate::matching::default_object_rules(),
                custom_roles: Vec::new(),
                window: 256,
            },
        }
    }
}

impl Sink for RestSink {
    fn name(&self) -> &'static str {
        "rest"
    }

    fn apply(
        &mut self,
        plan: &Plan,
        _run: i64,
        _archive: &Path,
        progress: &dyn SinkProgress,
    ) -> Result<SinkReport, SinkError> {
        if plan.is_empty() {
            return Ok(SinkReport::default());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SinkError::Runtime)?;
        let mut report = runtime.block_on(self.apply_async(plan, progress));
        report.http = Some(self.client.stats());
        Ok(report)
    }
}

/// One change as the tasks see it.
#[derive(Clone)]
struct Job {
    index: usize,
    kind: Kind,
    row: Row,
}

impl RestSink {
    async fn apply_async(&self, plan: &Plan, progress: &dyn SinkProgress) -> SinkReport {
        let total = plan.changes.len();
        let mut results: Vec<Option<ChangeResult>> = vec![None; total];
        // Terms, sub-accounts, courses and sections Canvas already has (by name or integration
        // id, as configured) are adopted first; ambiguous ones are held back.
        let held = match crate::matching::settle_objects(
            &self.client,
            self.options.account_id,
            plan,
            &self.options.match_objects,
        )
        .await
        {
            Ok((held, _adopted)) => held,
            Err(e) => (0..total)
                .filter(|i| {
                    self.options
                        .match_objects
                        .iter()
                        .any(|(k, _)| *k == plan.changes[*i].kind)
                        && plan.changes[*i].action == rosterbridge_plan::Action::Create
                })
                .map(|i| (i, format!("could not look for it in Canvas first: {e}")))
                .collect(),
        };
        for (i, why) in &held {
            results[*i] = Some(ChangeResult::Rejected {
                message: why.clone(),
            });
        }
        let done = Arc::new(AtomicUsize::new(0));
        let mut phases: Vec<Vec<Job>> = Vec::new();
        for removal in [false, true] {
            let kinds: Vec<Kind> = if removal {
                Kind::ALL.iter().rev().copied().collect()
            } else {
                Kind::ALL.to_vec()
            };
            for kind in kinds {
                let jobs: Vec<Job> = plan
                    .changes
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        c.kind == kind && c.action.is_removal() == removal && !held.contains_key(i)
                    })
                    .map(|(index, c)| Job {
                        index,
                        kind,
                        row: plan.row(c),
                    })
                    .collect();
                if !jobs.is_empty() {
                    phases.push(jobs);
                }
            }
        }
        for jobs in phases {
            for window in jobs.chunks(self.options.window.max(1)) {
                let mut set = tokio::task::JoinSet::new();
                for job in window.iter().cloned() {
                    let client = self.client.clone();
                    let options = self.options.clone();
                    set.spawn(async move {
                        let result = apply_one(&client, &options, &job).await;
                        (job.index, result)
                    });
                }
                while let Some(joined) = set.join_next().await {
                    let (index, result) = match joined {
                        Ok(r) => r,
                        // A panicking task is a bug; its change stays unanswered and is
                        // reported rejected below.
                        Err(_) => continue,
                    };
                    results[index] = Some(match result {
                        Ok((canvas_id, adopted)) => ChangeResult::Applied {
                            how: "rest".into(),
                            canvas_id,
                            adopted,
                        },
                        Err(message) => ChangeResult::Rejected { message },
                    });
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(50) || n == total {
                        progress
                            .update(&format!("REST {n}/{total}"), Some(n as f64 / total as f64));
                    }
                }
            }
        }
        SinkReport {
            results: results
                .into_iter()
                .map(|r| {
                    r.unwrap_or(ChangeResult::Rejected {
                        message: "internal error: no answer for this change".into(),
                    })
                })
                .collect(),
            ..SinkReport::default()
        }
    }
}

type Applied = (Option<i64>, bool);

async fn apply_one(
    client: &CanvasClient,
    options: &RestOptions,
    job: &Job,
) -> Result<Applied, String> {
    let r = match job.kind {
        Kind::Accounts => account(client, options, &job.row).await,
        Kind::Terms => term(client, options, &job.row).await,
        Kind::Users => user(client, options, &job.row).await,
        Kind::Courses => course(client, options, &job.row).await,
        Kind::Sections => section(client, &job.row).await,
        Kind::Enrollments => enrollment(client, options, &job.row).await,
        Kind::UserObservers => observer(client, &job.row).await,
    };
    r.map_err(|e| match e {
        Failure::Canvas(e) => e.to_string(),
        Failure::Conflict(m) => m,
    })
}

enum Failure {
    Canvas(CanvasError),
    Conflict(String),
}

impl From<CanvasError> for Failure {
    fn from(e: CanvasError) -> Self {
        Failure::Canvas(e)
    }
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn id_of(v: &Value) -> Option<i64> {
    v.get("id").and_then(Value::as_i64)
}

fn status(row: &Row) -> Status {
    row.status().unwrap_or(Status::Active)
}

/// `sis_account_id:X`, or the root account when the row names none.
fn account_ref(options: &RestOptions, sis: &str) -> String {
    if sis.is_empty() {
        options.account_id.to_string()
    } else {
        sis_path("sis_account_id", sis)
    }
}

async fn account(
    client: &CanvasClient,
    options: &RestOptions,
    row: &Row,
) -> Result<Applied, Failure> {
    let sis = row.get("account_id");
    let found: Option<Value> = client
        .get_optional(&format!(
            "/api/v1/accounts/{}",
            sis_path("sis_account_id", sis)
        ))
        .await?;
    let root = options.account_id;
    match (found, status(row)) {
        (Some(a), Status::Deleted) => {
            let id = id_of(&a).unwrap_or_default();
            let _: Value = client
                .write(
                    Method::DELETE,
                    &format!("/api/v1/accounts/{root}/sub_accounts/{id}"),
                    vec![],
                    Retry::Safe,
                )
                .await?;
            Ok((Some(id), true))
        }
        (None, Status::Deleted) => Ok((None, false)),
        (Some(a), _) => {
            let id = id_of(&a);
            let body = form(&[("account[name]", row.get("name"))]);
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!("/api/v1/accounts/{}", id.unwrap_or_default()),
                    body,
                    Retry::Safe,
                )
                .await?;
            Ok((id, true))
        }
        (None, _) => {
            let parent = account_ref(options, row.get("parent_account_id"));
            let body = form(&[
                ("account[name]", row.get("name")),
                ("account[sis_account_id]", sis),
            ]);
            let a: Value = client
                .write(
                    Method::POST,
                    &format!("/api/v1/accounts/{parent}/sub_accounts"),
                    body,
                    Retry::IfNotProcessed,
                )
                .await?;
            Ok((id_of(&a), false))
        }
    }
}

async fn term(client: &CanvasClient, options: &RestOptions, row: &Row) -> Result<Applied, Failure> {
    let root = options.account_id;
    let path = format!(
        "/api/v1/accounts/{root}/terms/{}",
        sis_path("sis_term_id", row.get("term_id"))
    );
    let found: Option<Value> = client.get_optional(&path).await?;
    let body = form(&[
        ("enrollment_term[name]", row.get("name")),
        ("enrollment_term[start_at]", row.get("start_date")),
        ("enrollment_term[end_at]", row.get("end_date")),
    ]);
    match (found, status(row)) {
        (Some(t), Status::Deleted) => {
            let _: Value = client
                .write(
                    Method::DELETE,
                    &format!(
                        "/api/v1/accounts/{root}/terms/{}",
                        id_of(&t).unwrap_or_default()
                    ),
                    vec![],
                    Retry::Safe,
                )
                .await?;
            Ok((id_of(&t), true))
        }
        (None, Status::Deleted) => Ok((None, false)),
        (Some(t), _) => {
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!(
                        "/api/v1/accounts/{root}/terms/{}",
                        id_of(&t).unwrap_or_default()
                    ),
                    body,
                    Retry::Safe,
                )
                .await?;
            Ok((id_of(&t), true))
        }
        (None, _) => {
            let mut body = body;
            body.push((
                "enrollment_term[sis_term_id]".into(),
                row.get("term_id").into(),
            ));
            let t: Value = client
                .write(
                    Method::POST,
                    &format!("/api/v1/accounts/{root}/terms"),
                    body,
                    Retry::IfNotProcessed,
                )
                .await?;
            Ok((id_of(&t), false))
        }
    }
}

fn user_name(row: &Row) -> String {
    let full = row.get("full_name");
    if !full.is_empty() {
        return full.to_string();
    }
    [row.get("first_name"), row.get("last_name")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finds the Canvas user for a row: by SIS id, then as the options say. `Ok(None)` when
/// there is none; a conflict when the match is ambiguous or claimed.
async fn find_user(
    client: &CanvasClient,
    options: &RestOptions,
    row: &Row,
) -> Result<Option<(Value, bool)>, Failure> {
    let sis = row.get("user_id");
    if let Some(u) = client
        .get_optional::<Value>(&format!("/api/v1/users/{}", sis_path("sis_user_id", sis)))
        .await?
    {
        return Ok(Some((u, false)));
    }
    for how in &options.user_match {
        let candidate = match how {
            UserMatch::IntegrationId if !row.get("integration_id").is_empty() => {
                client
                    .get_optional::<Value>(&format!(
                        "/api/v1/users/{}",
                        sis_path("sis_integration_id", row.get("integration_id"))
                    ))
                    .await?
            }
            UserMatch::Login if !row.get("login_id").is_empty() => {
                client
                    .get_optional::<Value>(&format!(
                        "/api/v1/users/{}",
                        sis_path("sis_login_id", row.get("login_id"))
                    ))
                    .await?
            }
            UserMatch::Email if !row.get("email").is_empty() => {
                let email = row.get("email");
                let found: Vec<Value> = client
                    .get_all(
                        &format!("/api/v1/accounts/{}/users", options.account_id),
                        &[("search_term", email.to_string())],
                    )
                    .await?;
                let exact: Vec<Value> = found
                    .into_iter()
                    .filter(|u| {
                        u.get("email")
                            .and_then(Value::as_str)
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    })
                    .collect();
                if exact.len() > 1 {
                    return Err(Failure::Conflict(format!("{} Canvas users have the email {email}; not guessing which is SIS user {sis}", exact.len())));
                }
                exact.into_iter().next()
            }
            _ => None,
        };
        if let Some(u) = candidate {
            if let Some(other) = u
                .get("sis_user_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && *s != sis)
            {
                return Err(Failure::Conflict(format!(
                    "Canvas user {} found by {} already has SIS id {other}; not adopting it as SIS user {sis}",
                    id_of(&u).unwrap_or_default(),
                    how.as_str()
                )));
            }
            return Ok(Some((u, true)));
        }
    }
    Ok(None)
}

async fn user(client: &CanvasClient, options: &RestOptions, row: &Row) -> Result<Applied, Failure> {
    let root = options.account_id;
    let sis = row.get("user_id");
    let name = user_name(row);
    let found = find_user(client, options, row).await?;
    let Some((u, matched_otherwise)) = found else {
        if status(row) == Status::Deleted {
            return Ok((None, false));
        }
        let body = form(&[
            ("user[name]", &name),
            ("user[short_name]", row.get("short_name")),
            ("user[sortable_name]", row.get("sortable_name")),
            ("user[skip_registration]", "true"),
            (
                "pseudonym[unique_id]",
                if row.get("login_id").is_empty() {
                    row.get("email")
                } else {
                    row.get("login_id")
                },
            ),
            ("pseudonym[sis_user_id]", sis),
            ("pseudonym[integration_id]", row.get("integration_id")),
            (
                "pseudonym[authentication_provider_id]",
                row.get("authentication_provider_id"),
            ),
            ("communication_channel[address]", row.get("email")),
            (
                "communication_channel[skip_confirmation]",
                if row.get("email").is_empty() {
                    ""
                } else {
                    "true"
                },
            ),
        ]);
        let created: Value = client
            .write(
                Method::POST,
                &format!("/api/v1/accounts/{root}/users"),
                body,
                Retry::IfNotProcessed,
            )
            .await?;
        let id = id_of(&created);
        if status(row) == Status::Suspended {
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!("/api/v1/users/{}", id.unwrap_or_default()),
                    form(&[("user[event]", "suspend")]),
                    Retry::Safe,
                )
                .await?;
        }
        return Ok((id, false));
    };
    let id = id_of(&u).unwrap_or_default();
    if matched_otherwise {
        // Adopt: put the SIS id on the login that matched (or the user's first login).
        let logins: Vec<Value> = client
            .get_all(&format!("/api/v1/users/{id}/logins"), &[])
            .await?;
        let login = logins
            .iter()
            .find(|l| {
                l.get("unique_id")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case(row.get("login_id")))
            })
            .or(logins.first());
        if let Some(login_id) = login.and_then(id_of) {
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!("/api/v1/accounts/{root}/logins/{login_id}"),
                    form(&[("login[sis_user_id]", sis)]),
                    Retry::Safe,
                )
                .await?;
        }
    }
    let event = match status(row) {
        Status::Suspended => "suspend",
        _ => "unsuspend",
    };
    if status(row) == Status::Deleted {
        // Deleting a user outright is irreversible; suspending keeps the record (the
        // default removal is suspension anyway).
        let _: Value = client
            .write(
                Method::PUT,
                &format!("/api/v1/users/{id}"),
                form(&[("user[event]", "suspend")]),
                Retry::Safe,
            )
            .await?;
        return Ok((Some(id), true));
    }
    let body = form(&[
        ("user[name]", &name),
        ("user[short_name]", row.get("short_name")),
        ("user[sortable_name]", row.get("sortable_name")),
        ("user[email]", row.get("email")),
        ("user[event]", event),
    ]);
    let _: Value = client
        .write(
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            body,
            Retry::Safe,
        )
        .await?;
    Ok((Some(id), true))
}

async fn course(
    client: &CanvasClient,
    options: &RestOptions,
    row: &Row,
) -> Result<Applied, Failure> {
    let sis = row.get("course_id");
    let found: Option<Value> = client
        .get_optional(&format!(
            "/api/v1/courses/{}",
            sis_path("sis_course_id", sis)
        ))
        .await?;
    let term = row.get("term_id");
    let term_ref = if term.is_empty() {
        String::new()
    } else {
        sis_path("sis_term_id", term)
    };
    let fields = [
        ("course[name]", row.get("long_name")),
        ("course[course_code]", row.get("short_name")),
        ("course[term_id]", term_ref.as_str()),
        ("course[start_at]", row.get("start_date")),
        ("course[end_at]", row.get("end_date")),
    ];
    match (found, status(row)) {
        (None, Status::Deleted | Status::Completed) => Ok((None, false)),
        (Some(c), Status::Deleted) => {
            let id = id_of(&c).unwrap_or_default();
            let _: Value = client
                .send(
                    Method::DELETE,
                    &format!("/api/v1/courses/{id}"),
                    &[("event", "delete".into())],
                    &rosterbridge_canvas_client::Body::None,
                    Retry::Safe,
                )
                .await
                .map(|_| Value::Null)?;
            Ok((Some(id), true))
        }
        (Some(c), st) => {
            let id = id_of(&c).unwrap_or_default();
            let mut body = form(&fields);
            if st == Status::Completed {
                body.push(("course[event]".into(), "conclude".into()));
            }
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!("/api/v1/courses/{id}"),
                    body,
                    Retry::Safe,
                )
                .await?;
            Ok((Some(id), true))
        }
        (None, _) => {
            let mut body = form(&fields);
            body.push(("course[sis_course_id]".into(), sis.into()));
            body.push((
                "course[integration_id]".into(),
                row.get("integration_id").into(),
            ));
            body.retain(|(_, v)| !v.is_empty());
            let account = account_ref(options, row.get("account_id"));
            let c: Value = client
                .write(
                    Method::POST,
                    &format!("/api/v1/accounts/{account}/courses"),
                    body,
                    Retry::IfNotProcessed,
                )
                .await?;
            Ok((id_of(&c), false))
        }
    }
}

async fn section(client: &CanvasClient, row: &Row) -> Result<Applied, Failure> {
    let sis = row.get("section_id");
    let found: Option<Value> = client
        .get_optional(&format!(
            "/api/v1/sections/{}",
            sis_path("sis_section_id", sis)
        ))
        .await?;
    let fields = [
        ("course_section[name]", row.get("name")),
        ("course_section[start_at]", row.get("start_date")),
        ("course_section[end_at]", row.get("end_date")),
    ];
    match (found, status(row)) {
        (None, Status::Deleted) => Ok((None, false)),
        (Some(s), Status::Deleted) => {
            let id = id_of(&s).unwrap_or_default();
            let _: Value = client
                .write(
                    Method::DELETE,
                    &format!("/api/v1/sections/{id}"),
                    vec![],
                    Retry::Safe,
                )
                .await?;
            Ok((Some(id), true))
        }
        (Some(s), _) => {
            let id = id_of(&s).unwrap_or_default();
            let _: Value = client
                .write(
                    Method::PUT,
                    &format!("/api/v1/sections/{id}"),
                    form(&fields),
                    Retry::Safe,
                )
                .await?;
            Ok((Some(id), true))
        }
        (None, _) => {
            let mut body = form(&fields);
            body.push(("course_section[sis_section_id]".into(), sis.into()));
            if !row.get("integration_id").is_empty() {
                body.push((
                    "course_section[integration_id]".into(),
                    row.get("integration_id").into(),
                ));
            }
            let course = sis_path("sis_course_id", row.get("course_id"));
            let s: Value = client
                .write(
                    Method::POST,
                    &format!("/api/v1/courses/{course}/sections"),
                    body,
                    Retry::IfNotProcessed,
                )
                .await?;
            Ok((id_of(&s), false))
        }
    }
}

fn enrollment_type(role: &str) -> &'static str {
    match role {
        "teacher" => "TeacherEnrollment",
        "ta" => "TaEnrollment",
        "designer" => "DesignerEnrollment",
        "observer" => "ObserverEnrollment",
        _ => "StudentEnrollment",
    }
}

fn base_type(base_role_type: &str) -> &'static str {
    match base_role_type {
        "TeacherEnrollment" => "TeacherEnrollment",
        "TaEnrollment" => "TaEnrollment",
        "DesignerEnrollment" => "DesignerEnrollment",
        "ObserverEnrollment" => "ObserverEnrollment",
        _ => "StudentEnrollment",
    }
}

async fn enrollment(
    client: &CanvasClient,
    options: &RestOptions,
    row: &Row,
) -> Result<Applied, Failure> {
    let section = sis_path("sis_section_id", row.get("section_id"));
    let user = sis_path("sis_user_id", row.get("user_id"));
    let custom = options
        .custom_roles
        .iter()
        .find(|(name, _, _)| name == row.get("role"));
    let kind = match custom {
        Some((_, _, base)) => base_type(base),
        None => enrollment_type(row.get("role")),
    };
    let custom_id = custom.map(|(_, id, _)| id.to_string());
    let query: Vec<(&str, String)> = ["active", "invited", "inactive", "completed"]
        .iter()
        .map(|s| ("state[]", s.to_string()))
        .chain([("user_id", user.clone())])
        .collect();
    let existing: Vec<Value> = client
        .get_all(&format!("/api/v1/sections/{section}/enrollments"), &query)
        .await?;
    let role_id = if row.get("role_id").is_empty() {
        custom_id.as_deref().unwrap_or("")
    } else {
        row.get("role_id")
    };
    let found = existing.into_iter().find(|e| {
        e.get("type").and_then(Value::as_str) == Some(kind)
            && (role_id.is_empty()
                || e.get("role_id")
                    .and_then(Value::as_i64)
                    .map(|r| r.to_string())
                    .as_deref()
                    == Some(role_id))
    });
    let st = status(row);
    match found {
        None if st != Status::Active => Ok((None, false)),
        None => {
            let body = form(&[
                ("enrollment[user_id]", &user),
                ("enrollment[type]", kind),
                ("enrollment[role_id]", role_id),
                ("enrollment[enrollment_state]", "active"),
                ("enrollment[start_at]", row.get("start_date")),
                ("enrollment[end_at]", row.get("end_date")),
            ]);
            let e: Value = client
                .write(
                    Method::POST,
                    &format!("/api/v1/sections/{section}/enrollments"),
                    body,
                    Retry::IfNotProcessed,
                )
                .await?;
            Ok((id_of(&e), false))
        }
        Some(e) => {
            let id = id_of(&e).unwrap_or_default();
            let course = e
                .get("course_id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let state = e
                .get("enrollment_state")
                .and_then(Value::as_str)
                .unwrap_or("active");
            let task = match st {
                Status::Deleted => Some("delete"),
                Status::Completed => Some("conclude"),
                Status::Inactive => Some("deactivate"),
                _ => None,
            };
            if let Some(task) = task {
                client
                    .send(
                        Method::DELETE,
                        &format!("/api/v1/courses/{course}/enrollments/{id}"),
                        &[("task", task.into())],
                        &rosterbridge_canvas_client::Body::None,
                        Retry::Safe,
                    )
                    .await?;
            } else if state == "inactive" {
                let _: Value = client
                    .write(
                        Method::PUT,
                        &format!("/api/v1/courses/{course}/enrollments/{id}/reactivate"),
                        vec![],
                        Retry::Safe,
                    )
                    .await?;
            }
            Ok((Some(id), true))
        }
    }
}

async fn observer(client: &CanvasClient, row: &Row) -> Result<Applied, Failure> {
    let path = format!(
        "/api/v1/users/{}/observees/{}",
        sis_path("sis_user_id", row.get("observer_id")),
        sis_path("sis_user_id", row.get("student_id"))
    );
    // Both PUT (link) and DELETE (unlink) set a state, so both may be repeated.
    let method = if status(row) == Status::Deleted {
        Method::DELETE
    } else {
        Method::PUT
    };
    match client
        .send(
            method,
            &path,
            &[],
            &rosterbridge_canvas_client::Body::None,
            Retry::Safe,
        )
        .await
    {
        Ok(_) => Ok((None, false)),
        Err(e) if e.is_not_found() && status(row) == Status::Deleted => Ok((None, false)),
        Err(e) => Err(e.into()),
    }
}
