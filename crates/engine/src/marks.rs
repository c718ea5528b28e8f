//! Marks passback runs (issue 9): which classes and students rosterbridge manages (from the
//! state store), their grades (from Canvas), the pure marks plan, and the push to the SIS
//! with every transfer recorded in the run history.

use crate::{mark_interrupted_runs, now, this_process, EngineError};
use rosterbridge_canvas_client::CanvasClient;
use rosterbridge_config::{Config, MarksConfig, MarksTarget, RestAuthConfig};
use rosterbridge_marks::oneroster::{GradebookWriter, Outcome};
use rosterbridge_marks::{CanvasGrade, ManagedClass, MarkAction, MarkPlan, PlanInput};
use rosterbridge_model::hash::KeyHash;
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_state::{
    MarkTransfer, MarksStore, RunFinish, RunId, RunOutcome, RunStart, StateSnapshot, StateStore,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why marks could not be planned or pushed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum MarksRunError {
    #[error("marks syncing is off: set [marks] enabled = true (and mark_period) to use it")]
    Disabled,
    #[error("the OneRoster client secret is missing: set the environment variable {env} (named by [source] client_secret_env)")]
    MissingSecret { env: String },
    #[error(transparent)]
    Marks(#[from] rosterbridge_marks::MarksError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    State(#[from] rosterbridge_state::StateError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where a push writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushTarget {
    OneRoster { base_url: String },
    Csv { dir: PathBuf },
}

impl PushTarget {
    /// From the configuration, or a folder given on the command line (`--out`).
    pub fn of(marks: &MarksConfig, out: Option<PathBuf>) -> PushTarget {
        match (out, &marks.target) {
            (Some(dir), _) => PushTarget::Csv { dir },
            (None, MarksTarget::Csv { dir }) => PushTarget::Csv { dir: dir.clone() },
            (None, MarksTarget::OneRoster(g)) => PushTarget::OneRoster {
                base_url: g.base_url.clone(),
            },
        }
    }

    /// As recorded in transfers (and used to find what was sent before).
    pub fn label(&self) -> String {
        match self {
            PushTarget::OneRoster { base_url } => format!("oneroster {base_url}"),
            PushTarget::Csv { dir } => format!("csv {}", dir.display()),
        }
    }
}

/// A marks plan with what went into it.
#[derive(Debug)]
pub struct PreparedMarks {
    pub plan: MarkPlan,
    pub target: PushTarget,
    /// Classes the state knows that Canvas answered 404 for.
    pub missing_classes: Vec<String>,
}

/// The classes (sections) rosterbridge created or adopted and has not deleted, with the
/// school of each one's course.
pub fn managed_classes<S: StateStore + ?Sized>(
    store: &S,
) -> Result<Vec<ManagedClass>, EngineError> {
    let snap = store.snapshot()?;
    let mut ids: Vec<i64> = snap
        .values()
        .filter(|e| e.kind == Kind::Sections && e.status != Status::Deleted)
        .map(|e| e.id)
        .collect();
    ids.sort_unstable();
    let sections = store.load_records(&ids)?;
    let course_ids: Vec<i64> = sections
        .iter()
        .filter_map(|s| {
            snap.get(KeyHash::of(Kind::Courses, s.row.get("course_id")))
                .map(|e| e.id)
        })
        .collect();
    let courses: BTreeMap<String, String> = store
        .load_records(&course_ids)?
        .into_iter()
        .map(|c| (c.key.clone(), c.row.get("account_id").to_string()))
        .collect();
    let mut out: Vec<ManagedClass> = sections
        .iter()
        .map(|s| ManagedClass {
            class: s.key.clone(),
            school: courses
                .get(s.row.get("course_id"))
                .filter(|a| !a.is_empty())
                .cloned(),
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Plans marks: reads grades from Canvas for the selected managed classes and compares
/// with what was sent to the target before. Changes nothing.
pub fn prepare_marks<S: StateStore + MarksStore + ?Sized>(
    config: &Config,
    store: &S,
    client: &CanvasClient,
    out: Option<PathBuf>,
) -> Result<PreparedMarks, MarksRunError> {
    let settings = &config.marks;
    if !settings.enabled {
        return Err(MarksRunError::Disabled);
    }
    let classes = managed_classes(store)?;
    let selected: Vec<String> = classes
        .iter()
        .filter(|c| settings.class_selected(&c.class))
        .map(|c| c.class.clone())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(MarksRunError::Runtime)?;
    let read = rt.block_on(rosterbridge_marks::canvas::read_grades(
        client,
        &selected,
        settings.canvas_grading_period_id,
        config.canvas.max_concurrency as usize,
    ))?;
    let snap = store.snapshot().map_err(EngineError::from)?;
    let mut buf = Vec::new();
    let grades: Vec<CanvasGrade> = read
        .grades
        .into_iter()
        .map(|mut g| {
            g.from_sis = g
                .student
                .as_deref()
                .is_some_and(|student| enrolled_by_sis(&snap, &g.class, student, &mut buf));
            g
        })
        .collect();
    let target = PushTarget::of(settings, out);
    let previous = match &target {
        PushTarget::OneRoster { .. } => store.last_sent_marks(&target.label())?,
        // A file export is complete every time: nothing counts as sent before.
        PushTarget::Csv { .. } => BTreeMap::new(),
    };
    let plan = rosterbridge_marks::plan(&PlanInput {
        settings,
        classes: &classes,
        grades: &grades,
        previous: &previous,
    });
    Ok(PreparedMarks {
        plan,
        target,
        missing_classes: read.missing_classes,
    })
}

/// Whether rosterbridge put this student into this class's section. Concluded (completed) or
/// inactive enrollments count: end-of-term marks are often read after the SIS concluded them;
/// deleted ones do not.
pub fn enrolled_by_sis(
    snap: &StateSnapshot,
    class: &str,
    student: &str,
    buf: &mut Vec<u8>,
) -> bool {
    snap.get(KeyHash::of_parts(
        Kind::Enrollments,
        &[class, student, "student"],
        buf,
    ))
    .is_some_and(|e| e.status != Status::Deleted)
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushReport {
    pub run: RunId,
    pub outcome: RunOutcome,
    pub transfers: Vec<MarkTransfer>,
    pub sent: usize,
    pub rejected: usize,
    pub exported: usize,
}

fn gradebook_writer(config: &Config) -> Result<GradebookWriter, MarksRunError> {
    let MarksTarget::OneRoster(g) = &config.marks.target else {
        return Err(rosterbridge_marks::MarksError::Config {
            message: "the target is not a OneRoster provider".into(),
        }
        .into());
    };
    let env = match &g.auth {
        RestAuthConfig::OAuth1 { secret_env, .. } | RestAuthConfig::OAuth2 { secret_env, .. } => {
            secret_env.clone()
        }
    };
    let secret = std::env::var(&env)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MarksRunError::MissingSecret { env: env.clone() })?;
    Ok(GradebookWriter::new(
        g,
        rosterbridge_source_http::Secret::new(secret),
        format!("${env}"),
    )?)
}

/// Writes the plan's marks to its target as run `marks push` and records every transfer.
/// `all` sends unchanged marks again (REST).
///
/// A push killed half-way records nothing and leaves its run `running` (the next run marks
/// it interrupted); the next push sends those marks again to the same sourcedIds, which the
/// provider replaces, so nothing is duplicated.
pub fn push_marks<S: StateStore + MarksStore>(
    config: &Config,
    store: &mut S,
    prepared: &PreparedMarks,
    all: bool,
) -> Result<PushReport, MarksRunError> {
    mark_interrupted_runs(config, store)?;
    let started = now();
    let run = store.begin_run(&RunStart {
        command: "marks push".into(),
        profile: crate::ops::profile_name(config),
        started_at: started.clone(),
        owner: this_process(),
    })?;
    let date = started.get(..10).unwrap_or(&started).to_string();
    let mut plan = prepared.plan.clone();
    if all {
        for m in plan
            .marks
            .iter_mut()
            .filter(|m| m.action == MarkAction::Unchanged)
        {
            m.action = MarkAction::Send;
        }
    }
    let label = prepared.target.label();
    let by_id: BTreeMap<&str, &rosterbridge_marks::Mark> = plan
        .marks
        .iter()
        .map(|m| (m.result_id.as_str(), m))
        .collect();
    let record =
        |result_id: &str, outcome: &str, message: Option<String>| -> Option<MarkTransfer> {
            let m = by_id.get(result_id)?;
            Some(MarkTransfer {
                run,
                at: now(),
                class: m.class.clone(),
                student: m.student.clone(),
                line_item_id: m.line_item_id.clone(),
                result_id: m.result_id.clone(),
                value: m.value(),
                source: m.from.map(|f| match f {
                    rosterbridge_marks::GradeSource::Override => "override".to_string(),
                    rosterbridge_marks::GradeSource::Final => "final".to_string(),
                    rosterbridge_marks::GradeSource::Current => "current".to_string(),
                }),
                target: label.clone(),
                outcome: outcome.into(),
                message,
            })
        };
    let result: Result<Vec<MarkTransfer>, MarksRunError> = match &prepared.target {
        PushTarget::Csv { dir } => {
            rosterbridge_marks::csv_export::write(&plan, dir, &config.marks.csv_version, &date)
                .map(|export| {
                    export
                        .results
                        .iter()
                        .filter_map(|id| record(id, "exported", None))
                        .collect()
                })
                .map_err(MarksRunError::from)
        }
        PushTarget::OneRoster { .. } => gradebook_writer(config).map(|writer| {
            writer
                .push(&plan, &date, &now())
                .into_iter()
                .filter_map(|t| match t.outcome {
                    Outcome::Sent { status } => {
                        record(&t.result_id, "sent", Some(format!("HTTP {status}")))
                    }
                    Outcome::Rejected { message } => {
                        record(&t.result_id, "rejected", Some(message))
                    }
                })
                .collect()
        }),
    };
    let transfers = match result {
        Ok(t) => t,
        Err(e) => {
            store.finish_run(
                run,
                &RunFinish {
                    outcome: RunOutcome::Failed,
                    ended_at: now(),
                    summary: serde_json::json!({"marks": plan.summary}),
                    message: Some(e.to_string()),
                    artifacts: Vec::new(),
                },
            )?;
            return Err(e);
        }
    };
    store.record_mark_transfers(&transfers)?;
    let count = |o: &str| transfers.iter().filter(|t| t.outcome == o).count();
    let (sent, rejected, exported) = (count("sent"), count("rejected"), count("exported"));
    let outcome = if rejected > 0 {
        RunOutcome::PartialFailure
    } else if sent + exported == 0 {
        RunOutcome::NoChanges
    } else {
        RunOutcome::Succeeded
    };
    let artifacts = match &prepared.target {
        PushTarget::Csv { dir } => vec![dir.display().to_string()],
        PushTarget::OneRoster { .. } => Vec::new(),
    };
    let message = (rejected > 0).then(|| {
        format!("{rejected} mark(s) refused by the SIS; they are sent again by the next push")
    });
    store.finish_run(
        run,
        &RunFinish {
            outcome,
            ended_at: now(),
            summary: serde_json::json!({"marks": plan.summary, "target": label, "sent": sent, "rejected": rejected, "exported": exported}),
            message,
            artifacts,
        },
    )?;
    Ok(PushReport {
        run,
        outcome,
        transfers,
        sent,
        rejected,
        exported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosterbridge_state::SnapshotEntry;

    #[test]
    fn students_the_sis_enrolled_count_even_when_concluded_but_not_when_deleted() {
        let mut pairs = Vec::new();
        let mut buf = Vec::new();
        for (i, (student, status)) in [
            ("s-active", Status::Active),
            ("s-done", Status::Completed),
            ("s-inactive", Status::Inactive),
            ("s-gone", Status::Deleted),
        ]
        .into_iter()
        .enumerate()
        {
            let key = KeyHash::of_parts(Kind::Enrollments, &["c1", student, "student"], &mut buf);
            pairs.push((
                key,
                SnapshotEntry {
                    id: i as i64,
                    kind: Kind::Enrollments,
                    content_hash: 0,
                    status,
                },
            ));
        }
        let teacher = KeyHash::of_parts(Kind::Enrollments, &["c1", "t-1", "teacher"], &mut buf);
        pairs.push((
            teacher,
            SnapshotEntry {
                id: 9,
                kind: Kind::Enrollments,
                content_hash: 0,
                status: Status::Active,
            },
        ));
        let snap = StateSnapshot::new(1, pairs);
        assert!(enrolled_by_sis(&snap, "c1", "s-active", &mut buf));
        assert!(enrolled_by_sis(&snap, "c1", "s-done", &mut buf));
        assert!(enrolled_by_sis(&snap, "c1", "s-inactive", &mut buf));
        assert!(!enrolled_by_sis(&snap, "c1", "s-gone", &mut buf));
        assert!(
            !enrolled_by_sis(&snap, "c1", "t-1", &mut buf),
            "only student enrollments"
        );
        assert!(
            !enrolled_by_sis(&snap, "c2", "s-active", &mut buf),
            "in that class"
        );
        assert!(!enrolled_by_sis(&snap, "c1", "added-in-canvas", &mut buf));
    }
}
