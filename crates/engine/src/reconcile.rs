//! `reconcile`: compare what the state store says was applied with what Canvas holds
//! (through the API) for the objects rosterbridge manages, and report drift: objects
//! deleted in Canvas, states changed there, and fields edited in the UI (which Canvas keeps
//! over later SIS imports — "sticky" — unless `override_sis_stickiness`).
//!
//! The state store is a cache (design rule 7). `--repair` writes Canvas's values into it
//! for the drifted objects, so the next plan sends exactly the repair (a reactivation, or
//! an update back to the source's values). `--remaster` rebuilds it from Canvas (e.g. after
//! the state file was lost): stored objects take Canvas's state, and objects the source
//! has and Canvas holds under the same SIS id, but the store does not know, are adopted.
//! Canvas objects that are not in the source are never adopted.
//!
//! Checked kinds: users, courses, sections, enrollments, observer links. Accounts and terms
//! are not read (reported as such).

use crate::{now, EngineError};
use rosterbridge_canvas_client::{sis_path, CanvasClient};
use rosterbridge_config::Config;
use rosterbridge_model::canvas::DesiredState;
use rosterbridge_model::hash::content_hash;
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_state::{
    ChangeOutcome, OutcomeResult, Ownership, RunFinish, RunOutcome, RunStart, StateStore,
    StoredRecord,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// One difference between the state and Canvas.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Drift {
    pub kind: Kind,
    pub key: String,
    /// `deleted_in_canvas`, `state`, `field`, or `unknown_to_state` (remaster only).
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub ours: String,
    pub canvas: String,
    /// Canvas keeps this UI edit over SIS imports (sticky) unless override_sis_stickiness.
    pub sticky: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct ReconcileReport {
    pub run: Option<i64>,
    pub checked: HashMap<String, usize>,
    pub drift: Vec<Drift>,
    /// Records written to the state (repair/remaster).
    pub written: usize,
    pub adopted: usize,
    pub notes: Vec<String>,
}

/// What to do besides reporting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Report,
    Repair,
    Remaster,
}

struct CanvasView {
    users: HashMap<String, Value>,
    courses: HashMap<String, Value>,
    sections: HashMap<String, Value>,
    /// (section sis, user sis, enrollment type) -> enrollment
    enrollments: HashMap<(String, String, String), Value>,
    /// Active observer links: (observer sis, student sis), for the observers read.
    observees: std::collections::HashSet<(String, String)>,
    /// Observers whose links were read.
    observers_read: std::collections::HashSet<String>,
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn enrollment_type(role: &str) -> String {
    match role {
        "student" => "StudentEnrollment",
        "teacher" => "TeacherEnrollment",
        "ta" => "TaEnrollment",
        "observer" => "ObserverEnrollment",
        "designer" => "DesignerEnrollment",
        other => other,
    }
    .to_string()
}

async fn read_canvas(
    client: &CanvasClient,
    account: u64,
    records: &[StoredRecord],
    extra_sections: &[String],
    extra_observers: &[String],
) -> Result<CanvasView, EngineError> {
    let users: Vec<Value> = client
        .get_all(&format!("/api/v1/accounts/{account}/users"), &[])
        .await?;
    let users: HashMap<String, Value> = users
        .into_iter()
        .filter_map(|u| Some((u.get("sis_user_id")?.as_str()?.to_string(), u)))
        .collect();
    let states = ["created", "claimed", "available", "completed", "deleted"];
    let q: Vec<(&str, String)> = states.iter().map(|s| ("state[]", s.to_string())).collect();
    let courses: Vec<Value> = client
        .get_all(&format!("/api/v1/accounts/{account}/courses"), &q)
        .await?;
    let courses: HashMap<String, Value> = courses
        .into_iter()
        .filter_map(|c| Some((c.get("sis_course_id")?.as_str()?.to_string(), c)))
        .collect();
    let mut sections = HashMap::new();
    for c in courses
        .values()
        .filter(|c| c.get("workflow_state").and_then(Value::as_str) != Some("deleted"))
    {
        let Some(id) = c.get("id").and_then(Value::as_i64) else {
            continue;
        };
        let list: Vec<Value> = client
            .get_all(&format!("/api/v1/courses/{id}/sections"), &[])
            .await?;
        for sec in list {
            if let Some(sis) = sec.get("sis_section_id").and_then(Value::as_str) {
                sections.insert(sis.to_string(), sec);
            }
        }
    }
    // Enrollments of the sections that hold stored enrollments.
    let mut wanted: Vec<&str> = records
        .iter()
        .filter(|r| r.kind == Kind::Enrollments)
        .map(|r| r.row.get("section_id"))
        .chain(extra_sections.iter().map(String::as_str))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let eq: Vec<(&str, String)> = ["active", "invited", "inactive", "completed"]
        .iter()
        .map(|s| ("state[]", s.to_string()))
        .collect();
    let mut enrollments = HashMap::new();
    for section in wanted {
        if !sections.contains_key(section) {
            continue;
        }
        let list: Vec<Value> = client
            .get_all(
                &format!(
                    "/api/v1/sections/{}/enrollments",
                    sis_path("sis_section_id", section)
                ),
                &eq,
            )
            .await?;
        for e in list {
            enrollments.insert(
                (section.to_string(), s(&e, "sis_user_id"), s(&e, "type")),
                e,
            );
        }
    }
    // Observer links of the observers the state has links for (field lesson 6).
    let mut observers: Vec<&str> = records
        .iter()
        .filter(|r| r.kind == Kind::UserObservers)
        .map(|r| r.row.get("observer_id"))
        .chain(extra_observers.iter().map(String::as_str))
        .collect();
    observers.sort_unstable();
    observers.dedup();
    let mut observees = std::collections::HashSet::new();
    let mut observers_read = std::collections::HashSet::new();
    for observer in observers {
        if !users.contains_key(observer) {
            continue;
        }
        let list: Vec<Value> = client
            .get_all(
                &format!(
                    "/api/v1/users/{}/observees",
                    sis_path("sis_user_id", observer)
                ),
                &[],
            )
            .await?;
        for student in list {
            observees.insert((observer.to_string(), s(&student, "sis_user_id")));
        }
        observers_read.insert(observer.to_string());
    }
    Ok(CanvasView {
        users,
        courses,
        sections,
        enrollments,
        observees,
        observers_read,
    })
}

fn user_name(row: &Row) -> String {
    let full = row.get("full_name");
    if !full.is_empty() {
        return full.to_string();
    }
    format!("{} {}", row.get("first_name"), row.get("last_name"))
        .trim()
        .to_string()
}

type Push<'a> = dyn FnMut(&str, Option<&str>, &str, &str, bool) + 'a;

/// Compares one stored record with Canvas; returns its drift and the row Canvas implies.
fn compare(r: &StoredRecord, view: &CanvasView) -> (Vec<Drift>, Option<Row>) {
    let ours = r.row.status().unwrap_or(Status::Active);
    let mut drift = Vec::new();
    let mut row = r.row.clone();
    let mut push = |what: &str, field: Option<&str>, o: &str, c: &str, sticky: bool| {
        drift.push(Drift {
            kind: r.kind,
            key: r.key.clone(),
            what: what.into(),
            field: field.map(str::to_string),
            ours: o.into(),
            canvas: c.into(),
            sticky,
        });
    };
    let deleted = |row: &mut Row, push: &mut Push<'_>| {
        if ours != Status::Deleted {
            push(
                "deleted_in_canvas",
                None,
                ours.as_str(),
                "deleted or missing",
                false,
            );
            row.set_status(Status::Deleted);
        }
    };
    match r.kind {
        Kind::Users => match view.users.get(&r.key) {
            None => deleted(&mut row, &mut push),
            Some(u) if ours.is_active() => {
                let (name, login) = (s(u, "name"), s(u, "login_id"));
                if !name.is_empty() && name != user_name(&r.row) {
                    push("field", Some("full_name"), &user_name(&r.row), &name, true);
                    row.set("full_name", &name);
                }
                if !login.is_empty() && login != r.row.get("login_id") {
                    push(
                        "field",
                        Some("login_id"),
                        r.row.get("login_id"),
                        &login,
                        true,
                    );
                    row.set("login_id", &login);
                }
            }
            Some(_) => {}
        },
        Kind::Courses => match view.courses.get(&r.key) {
            Some(c) if c.get("workflow_state").and_then(Value::as_str) != Some("deleted") => {
                let state = s(c, "workflow_state");
                if state == "completed" && ours.is_active() {
                    push("state", Some("status"), ours.as_str(), "completed", false);
                    row.set_status(Status::Completed);
                }
                for (field, canvas_key) in [("long_name", "name"), ("short_name", "course_code")] {
                    let v = s(c, canvas_key);
                    if ours.is_active() && !v.is_empty() && v != r.row.get(field) {
                        push("field", Some(field), r.row.get(field), &v, true);
                        row.set(field, &v);
                    }
                }
            }
            _ => deleted(&mut row, &mut push),
        },
        Kind::Sections => match view.sections.get(&r.key) {
            Some(sec) => {
                let v = s(sec, "name");
                if ours.is_active() && !v.is_empty() && v != r.row.get("name") {
                    push("field", Some("name"), r.row.get("name"), &v, true);
                    row.set("name", &v);
                }
            }
            None => deleted(&mut row, &mut push),
        },
        Kind::Enrollments => {
            let k = (
                r.row.get("section_id").to_string(),
                r.row.get("user_id").to_string(),
                enrollment_type(r.row.get("role")),
            );
            match view.enrollments.get(&k) {
                Some(e) => {
                    let state = s(e, "enrollment_state");
                    let canvas = match state.as_str() {
                        "active" | "invited" | "creation_pending" => Status::Active,
                        "inactive" => Status::Inactive,
                        "completed" => Status::Completed,
                        _ => Status::Deleted,
                    };
                    if canvas != ours && ours != Status::Deleted {
                        push(
                            "state",
                            Some("status"),
                            ours.as_str(),
                            canvas.as_str(),
                            false,
                        );
                        row.set_status(canvas);
                    }
                }
                None => deleted(&mut row, &mut push),
            }
        }
        Kind::UserObservers => {
            let observer = r.row.get("observer_id").to_string();
            let student = r.row.get("student_id").to_string();
            // An observer gone from Canvas takes its links with it.
            if (view.observers_read.contains(&observer) || !view.users.contains_key(&observer))
                && !view.observees.contains(&(observer, student))
            {
                deleted(&mut row, &mut push);
            }
        }
        _ => return (Vec::new(), None),
    }
    let changed = row != r.row;
    (drift, changed.then_some(row))
}

/// Remaster: desired objects (in the source now) that Canvas holds but the state does not
/// know; adopted with the source's row, so the next plan sends nothing for them. Canvas
/// objects that are not in the source are left alone (never adopted, never deactivated).
fn adopt_rows(
    desired: &DesiredState,
    view: &CanvasView,
    known: &std::collections::HashSet<(Kind, String)>,
) -> Vec<(Kind, String, Row, Option<i64>)> {
    let mut out = Vec::new();
    for kind in [
        Kind::Users,
        Kind::Courses,
        Kind::Sections,
        Kind::Enrollments,
        Kind::UserObservers,
    ] {
        for i in 0..desired.len(kind) {
            let key = desired.key(kind, i);
            if known.contains(&(kind, key.clone())) {
                continue;
            }
            let row = desired.row(kind, i);
            let found = match kind {
                Kind::Users => view.users.get(&key),
                Kind::Courses => view
                    .courses
                    .get(&key)
                    .filter(|c| c.get("workflow_state").and_then(Value::as_str) != Some("deleted")),
                Kind::Sections => view.sections.get(&key),
                Kind::UserObservers => {
                    let link = (
                        row.get("observer_id").to_string(),
                        row.get("student_id").to_string(),
                    );
                    if view.observees.contains(&link) {
                        out.push((kind, key, row, None));
                    }
                    continue;
                }
                _ => view.enrollments.get(&(
                    row.get("section_id").to_string(),
                    row.get("user_id").to_string(),
                    enrollment_type(row.get("role")),
                )),
            };
            if let Some(v) = found {
                out.push((kind, key, row, v.get("id").and_then(Value::as_i64)));
            }
        }
    }
    out
}

/// Reads Canvas, reports drift and, per `mode`, writes the state.
/// `desired` (the source, mapped) is needed for [`Mode::Remaster`] only.
pub fn reconcile(
    config: &Config,
    store: &mut dyn StateStore,
    mode: Mode,
    desired: Option<&DesiredState>,
) -> Result<ReconcileReport, EngineError> {
    let snapshot = store.snapshot()?;
    let mut ids: Vec<i64> = snapshot
        .values()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::Users
                    | Kind::Courses
                    | Kind::Sections
                    | Kind::Enrollments
                    | Kind::UserObservers
            )
        })
        .map(|e| e.id)
        .collect();
    ids.sort_unstable();
    drop(snapshot);
    let records = store.load_records(&ids)?;
    let client = crate::canvas_client(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Refused(format!("cannot start a runtime: {e}")))?;
    let extra_sections: Vec<String> = match (mode, desired) {
        (Mode::Remaster, Some(d)) => d
            .sections
            .iter()
            .map(|s| s.sis_id.as_str().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let extra_observers: Vec<String> = match (mode, desired) {
        (Mode::Remaster, Some(d)) => (0..d.len(Kind::UserObservers))
            .map(|i| d.row(Kind::UserObservers, i).get("observer_id").to_string())
            .collect(),
        _ => Vec::new(),
    };
    let view = runtime.block_on(read_canvas(
        &client,
        config.canvas.account_id,
        &records,
        &extra_sections,
        &extra_observers,
    ))?;

    let mut drift = Vec::new();
    let mut repairs: Vec<(&StoredRecord, Row)> = Vec::new();
    let mut checked: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *checked.entry(r.kind.as_str().to_string()).or_default() += 1;
        let (d, row) = compare(r, &view);
        drift.extend(d);
        if let Some(row) = row {
            repairs.push((r, row));
        }
    }
    let mut notes = vec!["accounts and terms are not compared".to_string()];
    if drift.iter().any(|d| d.sticky)
        && !config.canvas.override_sis_stickiness
        && config.canvas.mode == rosterbridge_config::CanvasMode::SisImport
    {
        notes.push("fields edited in Canvas are sticky: a SIS import will not overwrite them unless [canvas] override_sis_stickiness = true (or mode = \"rest\")".into());
    }
    let known: std::collections::HashSet<(Kind, String)> =
        records.iter().map(|r| (r.kind, r.key.clone())).collect();
    let unknown = match (mode, desired) {
        (Mode::Remaster, Some(d)) => adopt_rows(d, &view, &known),
        (Mode::Remaster, None) => {
            return Err(EngineError::Refused(
                "remaster needs the source: it adopts only objects the source still has".into(),
            ))
        }
        _ => Vec::new(),
    };
    for (kind, key, _, _) in &unknown {
        drift.push(Drift {
            kind: *kind,
            key: key.clone(),
            what: "unknown_to_state".into(),
            field: None,
            ours: String::new(),
            canvas: "present".into(),
            sticky: false,
        });
    }

    let mut report = ReconcileReport {
        run: None,
        checked,
        drift,
        written: 0,
        adopted: unknown.len(),
        notes,
    };
    if mode == Mode::Report || (repairs.is_empty() && unknown.is_empty()) {
        return Ok(report);
    }
    let _lock = crate::lock::acquire(&config.state_path)?;
    let command = if mode == Mode::Remaster {
        "reconcile --remaster"
    } else {
        "reconcile --repair"
    };
    let run = store.begin_run(&RunStart {
        command: command.into(),
        profile: crate::ops::profile_name(config),
        started_at: now(),
        owner: crate::this_process(),
    })?;
    let how = format!("{command}: Canvas's values");
    let mut outcomes: Vec<ChangeOutcome> = repairs
        .iter()
        .map(|(r, row)| ChangeOutcome {
            kind: r.kind,
            key: r.key.clone(),
            row: row.clone(),
            content_hash: content_hash(row),
            result: OutcomeResult::Applied { how: how.clone() },
            canvas_id: r.canvas_id,
            ownership: r.ownership,
        })
        .collect();
    outcomes.extend(
        unknown
            .iter()
            .map(|(kind, key, row, canvas_id)| ChangeOutcome {
                kind: *kind,
                key: key.clone(),
                row: row.clone(),
                content_hash: content_hash(row),
                result: OutcomeResult::Applied { how: how.clone() },
                canvas_id: *canvas_id,
                ownership: Ownership::Adopted,
            }),
    );
    let version = store.snapshot()?.version;
    let recorded = store.record_outcomes(run, version, &outcomes);
    let (outcome, message) = match &recorded {
        Ok(_) => (RunOutcome::Succeeded, format!("{} drift(s); {} record(s) now hold Canvas's values; the next plan sends the repair", report.drift.len(), outcomes.len())),
        Err(e) => (RunOutcome::Failed, e.to_string()),
    };
    store.finish_run(
        run,
        &RunFinish { outcome, ended_at: now(), summary: json!({ "reconcile": mode == Mode::Repair, "remaster": mode == Mode::Remaster, "drift": report.drift.len(), "applied": outcomes.len() }), message: Some(message), artifacts: Vec::new() },
    )?;
    recorded?;
    report.written = outcomes.len();
    report.run = Some(run);
    Ok(report)
}
