//! `undo RUN`: reverse what one run changed in Canvas, and make the state store follow.
//!
//! The run's journal (`changes.jsonl` in its archive folder) holds every applied change
//! with its row before and after. For a SIS-import run, Canvas's own
//! `restore_states` reverts the workflow states the import changed (objects it created go
//! to `deleted`, removals come back); field updates, which restore_states does not touch,
//! are sent back as one more SIS import of the previous rows. For a REST run every change
//! is reversed by the inverse call (create → delete, update → previous row, removal →
//! reactivate). Only the most recent run that changed something can be undone, unless
//! forced, and a run is undone once.

use crate::{archive_dir, now, ops, EngineError, Observer};
use rosterbridge_canvas_client::Retry;
use rosterbridge_config::Config;
use rosterbridge_model::canvas::DesiredState;
use rosterbridge_model::hash::content_hash;
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_plan::{Action, Change, Plan, Reason, Removed, Safety, Target};
use rosterbridge_sink::{ChangeResult, Sink};
use rosterbridge_state::{
    ChangeOutcome, OutcomeResult, Ownership, RunFinish, RunId, RunOutcome, RunStart, StateStore,
};
use serde_json::json;
use std::collections::BTreeMap;

/// What an undo did.
#[derive(Debug, serde::Serialize)]
pub struct UndoReport {
    pub run: RunId,
    pub undid: RunId,
    pub how: String,
    pub reverted: usize,
    pub rejected: usize,
    pub notes: Vec<String>,
}

fn row_of(kind: Kind, values: &[String]) -> Row {
    let cells: Vec<&str> = values.iter().map(String::as_str).collect();
    if cells.len() == kind.columns().len() {
        Row::from_cells(kind, &cells)
    } else {
        let mut r = Row::empty(kind);
        for (c, v) in kind.columns().iter().zip(values) {
            r.set(c, v);
        }
        r
    }
}

/// The inverse of one journal entry: the row to send and the action it is.
fn inverse(e: &ops::JournalEntry) -> (Row, Action) {
    let after = row_of(e.kind, &e.after);
    match &e.before {
        None => {
            let mut r = after;
            r.set_status(Status::Deleted);
            (r, Action::Delete)
        }
        Some(before) => {
            let before = row_of(e.kind, before);
            let was = before.status().unwrap_or(Status::Active);
            let now = after.status().unwrap_or(Status::Active);
            let action = match (was.is_active(), now.is_active()) {
                (true, false) => Action::Reactivate,
                (false, true) if was == Status::Deleted => Action::Delete,
                (false, true) => Action::Deactivate,
                _ => Action::Update,
            };
            (before, action)
        }
    }
}

/// A plan that sends these rows (no desired state; every change targets a row of its own).
fn plan_of(rows: Vec<(Kind, String, Row, Action)>, base_version: u64) -> Plan {
    let mut rows = rows;
    // Creates/updates/reactivations in dependency order, then removals in reverse order.
    rows.sort_by_key(|(k, key, _, a)| {
        let r = Kind::ALL.iter().position(|x| x == k).unwrap_or(0);
        (
            a.is_removal(),
            if a.is_removal() {
                Kind::ALL.len() - r
            } else {
                r
            },
            key.clone(),
        )
    });
    let mut plan = Plan {
        base_version,
        summary: BTreeMap::new(),
        safety: Safety::default(),
        changes: Vec::new(),
        desired: DesiredState::default(),
        removed: Vec::new(),
        fields: Vec::new(),
        skipped: Vec::new(),
    };
    for (kind, key, row, action) in rows {
        plan.changes.push(Change {
            kind,
            action,
            reason: Reason::Changed,
            target: Target::Removed(plan.removed.len() as u32),
            content_hash: content_hash(&row),
            record: None,
            fields: None,
        });
        plan.removed.push(Removed { key, row });
    }
    plan
}

/// Reverses run `target`. `sink` is the sink to send inverse rows through (the configured
/// Canvas sink, or a folder sink for runs that went to a folder).
pub fn undo(
    config: &Config,
    store: &mut dyn StateStore,
    target: RunId,
    force: bool,
    sink: &mut dyn Sink,
    observer: &dyn Observer,
) -> Result<UndoReport, EngineError> {
    let record = store.run(target)?.ok_or_else(|| {
        EngineError::Refused(format!("there is no run {target}; see `rosterbridge runs`"))
    })?;
    if !matches!(
        record.outcome,
        RunOutcome::Succeeded | RunOutcome::PartialFailure
    ) {
        return Err(EngineError::Refused(format!(
            "run {target} ended {}: it changed nothing to undo",
            record.outcome.as_str()
        )));
    }
    if record.command == "undo" {
        return Err(EngineError::Refused(format!(
            "run {target} is itself an undo; run sync to re-apply the source"
        )));
    }
    if let Some(by) = store.meta(&format!("undone.{target}"))? {
        return Err(EngineError::Refused(format!(
            "run {target} was already undone by run {by}"
        )));
    }
    let later: Vec<RunId> = store
        .runs(10_000)?
        .into_iter()
        .filter(|r| {
            r.id > target
                && is_sync(&r.command)
                && matches!(
                    r.outcome,
                    RunOutcome::Succeeded | RunOutcome::PartialFailure
                )
        })
        .map(|r| r.id)
        .filter(|id| store.meta(&format!("undone.{id}")).ok().flatten().is_none())
        .collect();
    if !later.is_empty() && !force {
        return Err(EngineError::Refused(format!(
            "run(s) {} changed Canvas after run {target}; undo them first (newest first), or pass --force to undo {target} anyway",
            later.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let journal_path = archive_dir(config, target).join(ops::JOURNAL);
    if !journal_path.exists() {
        return Err(EngineError::Refused(format!("run {target} has no change journal ({}); runs made before undo existed cannot be undone", journal_path.display())));
    }
    let entries = ops::read_journal(&journal_path)?;

    let _lock = crate::lock::acquire(&config.state_path)?;
    let run = store.begin_run(&RunStart {
        command: "undo".into(),
        profile: record.profile.clone(),
        started_at: now(),
        owner: crate::this_process(),
    })?;
    let archive = archive_dir(config, run);
    std::fs::create_dir_all(&archive).map_err(|source| EngineError::Archive {
        path: archive.clone(),
        source,
    })?;
    let result = undo_inner(
        config, store, &record, &entries, sink, observer, run, &archive,
    );
    let (outcome, message, summary) = match &result {
        Ok(r) => (
            if r.rejected == 0 {
                RunOutcome::Succeeded
            } else {
                RunOutcome::PartialFailure
            },
            Some(format!(
                "undo of run {target}: {} change(s) reverted ({}), {} rejected",
                r.reverted, r.how, r.rejected
            )),
            json!({ "undo_of": target, "how": r.how, "applied": r.reverted, "rejected": r.rejected, "notes": r.notes, "sink": sink.name() }),
        ),
        Err(e) => (
            RunOutcome::Failed,
            Some(e.to_string()),
            json!({ "undo_of": target }),
        ),
    };
    let artifacts = {
        let mut v: Vec<String> = std::fs::read_dir(&archive)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().display().to_string())
            .collect();
        v.sort();
        v
    };
    store.finish_run(
        run,
        &RunFinish {
            outcome,
            ended_at: now(),
            summary,
            message,
            artifacts,
        },
    )?;
    if result.is_ok() {
        store.set_meta(&format!("undone.{target}"), &run.to_string())?;
    }
    if let Ok(Some(rec)) = store.run(run) {
        for p in crate::notify::after_run(config, store, Some(&rec)) {
            eprintln!("warning: notification not delivered: {p}");
        }
    }
    result.map(|mut r| {
        r.run = run;
        r
    })
}

#[allow(clippy::too_many_arguments)]
fn undo_inner(
    config: &Config,
    store: &mut dyn StateStore,
    record: &rosterbridge_state::RunRecord,
    entries: &[ops::JournalEntry],
    sink: &mut dyn Sink,
    observer: &dyn Observer,
    run: RunId,
    archive: &std::path::Path,
) -> Result<UndoReport, EngineError> {
    let target = record.id;
    let mut notes = Vec::new();
    let adopted = entries.iter().filter(|e| e.adopted).count();
    if adopted > 0 {
        notes.push(format!("{adopted} object(s) the run adopted (they existed in Canvas before it) are left in place"));
    }
    let inverses: Vec<(Kind, String, Row, Action, Option<i64>, bool)> = entries
        .iter()
        .filter(|e| !e.adopted)
        .map(|e| {
            let (row, action) = inverse(e);
            (
                e.kind,
                e.key.clone(),
                row,
                action,
                e.canvas_id,
                e.before.is_none(),
            )
        })
        .collect();
    let import_id = record
        .artifacts
        .iter()
        .filter_map(|a| {
            std::path::Path::new(a)
                .file_name()?
                .to_str()?
                .strip_prefix(&format!("run-{target}-sis-import-"))?
                .strip_suffix(".json")?
                .parse::<i64>()
                .ok()
        })
        .next();
    let was_sis_import = record.summary.get("sink").and_then(|s| s.as_str()) == Some("sis_import");
    let mut outcomes: Vec<ChangeOutcome> = Vec::new();
    let mut rejected = 0;
    let how;
    // Which inverses still have to go through the sink.
    let to_send: Vec<usize>;
    if was_sis_import {
        let Some(import_id) = import_id else {
            return Err(EngineError::Refused(format!("run {target} went through a SIS import, but its import JSON is not among its files; cannot call restore_states")));
        };
        observer.sink(&format!("restore_states of SIS import {import_id}"), None);
        restore_states(config, import_id, archive)?;
        how = format!("restore_states of SIS import {import_id}");
        // restore_states reverted every change of state; field updates remain.
        for (kind, key, row, action, canvas_id, created) in &inverses {
            if *action != Action::Update {
                outcomes.push(outcome(*kind, key, row, *canvas_id, *created, &how));
            }
        }
        to_send = inverses
            .iter()
            .enumerate()
            .filter(|(_, i)| i.3 == Action::Update)
            .map(|(n, _)| n)
            .collect();
        if !to_send.is_empty() {
            notes.push(format!("{} field update(s) sent back as a SIS import of the previous rows (restore_states reverts states only)", to_send.len()));
        }
    } else {
        how = format!("inverse {} calls", sink.name());
        to_send = (0..inverses.len()).collect();
    }
    if !to_send.is_empty() {
        let plan = plan_of(
            to_send
                .iter()
                .map(|i| {
                    (
                        inverses[*i].0,
                        inverses[*i].1.clone(),
                        inverses[*i].2.clone(),
                        inverses[*i].3,
                    )
                })
                .collect(),
            0,
        );
        let report = sink.apply(&plan, run, archive, &crate::SinkObserver(observer))?;
        if report.results.len() != plan.changes.len() {
            return Err(EngineError::SinkContract {
                sink: sink.name(),
                got: report.results.len(),
                want: plan.changes.len(),
            });
        }
        notes.extend(report.notes.iter().cloned());
        for (c, r) in plan.changes.iter().zip(&report.results) {
            let key = plan.key(c);
            let row = plan.row(c);
            let created = inverses
                .iter()
                .find(|i| i.0 == c.kind && i.1 == key)
                .is_some_and(|i| i.5);
            match r {
                ChangeResult::Applied { canvas_id, .. } => {
                    outcomes.push(outcome(c.kind, &key, &row, *canvas_id, created, &how))
                }
                ChangeResult::Rejected { message } => {
                    rejected += 1;
                    notes.push(format!(
                        "{} {}: {message}",
                        c.kind,
                        rosterbridge_plan::display(&key)
                    ));
                }
            }
        }
    }
    if !outcomes.is_empty() {
        let version = store.snapshot()?.version;
        store.record_outcomes(run, version, &outcomes)?;
    }
    Ok(UndoReport {
        run,
        undid: target,
        how,
        reverted: outcomes.len(),
        rejected,
        notes,
    })
}

/// Runs that send a plan to Canvas (not undo or reconcile).
pub const SYNC_COMMANDS: &[&str] = &["sync", "apply", "approve"];

pub fn is_sync(command: &str) -> bool {
    SYNC_COMMANDS.contains(&command)
}

fn outcome(
    kind: Kind,
    key: &str,
    row: &Row,
    canvas_id: Option<i64>,
    _created: bool,
    how: &str,
) -> ChangeOutcome {
    ChangeOutcome {
        kind,
        key: key.to_string(),
        row: row.clone(),
        content_hash: content_hash(row),
        result: OutcomeResult::Applied {
            how: format!("undo: {how}"),
        },
        canvas_id,
        ownership: Ownership::Created,
    }
}

/// `PUT restore_states` and wait for its progress to finish.
fn restore_states(
    config: &Config,
    import_id: i64,
    archive: &std::path::Path,
) -> Result<(), EngineError> {
    let client = crate::canvas_client(config)?;
    let account = config.canvas.account_id;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Refused(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        let path = format!("/api/v1/accounts/{account}/sis_imports/{import_id}/restore_states");
        let progress: serde_json::Value = client.write(reqwest::Method::PUT, &path, vec![("undelete_only".into(), "false".into())], Retry::Safe).await?;
        let _ = std::fs::write(archive.join(format!("restore-states-{import_id}.json")), serde_json::to_vec_pretty(&progress).unwrap_or_default());
        let Some(id) = progress.get("id").and_then(|v| v.as_i64()) else { return Ok(()) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(config.canvas.import_timeout_secs);
        loop {
            let p: serde_json::Value = client.get(&format!("/api/v1/progress/{id}"), &[]).await?;
            match p.get("workflow_state").and_then(|s| s.as_str()) {
                Some("completed") => return Ok(()),
                Some("failed") => return Err(EngineError::Refused(format!("restore_states of SIS import {import_id} failed: {}", p.get("message").and_then(|m| m.as_str()).unwrap_or("no message")))),
                _ if std::time::Instant::now() > deadline => return Err(EngineError::Refused(format!("restore_states of SIS import {import_id} did not finish in time (progress {id})"))),
                _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
            }
        }
    })
}
