//! One run of rosterbridge, wiring the pure stages to the edges:
//!
//! ```text
//! source (files) -> Roster -> map -> DesiredState -> diff (state index) -> build (stored rows)
//!   -> Plan -> gate (row errors, safety) -> sink (folder zip) -> record outcomes (state)
//! ```
//!
//! Memory matters at state-wide scale, so the roster is dropped as soon as it is mapped,
//! and the state store is asked only for the rows of objects that change.

use rosterbridge_config::{Config, RowErrorPolicy};
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_model::roster::{OneRosterVersion, RosterCounts};
use rosterbridge_model::{Diagnostic, Severity};
use rosterbridge_plan::{Plan, PlanOptions, RemovalPolicy};
use rosterbridge_source_oneroster::{CsvSourceOptions, ReadObserver, TableMode, TableSummary};
use rosterbridge_state::{ChangeOutcome, OutcomeResult, Ownership, RunFinish, RunId, RunOutcome, RunStart, StateStore};
use rosterbridge_state_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod error;
pub mod source;
pub use error::EngineError;

/// The stages of a run, for progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    ReadSource,
    Map,
    LoadState,
    Diff,
    BuildPlan,
    WriteCsv,
    RecordState,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::ReadSource => "reading source",
            Stage::Map => "mapping",
            Stage::LoadState => "loading state",
            Stage::Diff => "comparing",
            Stage::BuildPlan => "planning",
            Stage::WriteCsv => "writing Canvas CSV",
            Stage::RecordState => "recording state",
        }
    }
}

/// Told about progress; the CLI draws bars from it. Must be cheap.
pub trait Observer: Sync {
    fn stage(&self, _stage: Stage) {}
    /// Bytes of a source file read so far, out of its size.
    fn bytes(&self, _file: &str, _done: u64, _total: u64) {}
    fn stage_done(&self, _stage: Stage, _elapsed: Duration) {}
}

/// Observes nothing.
pub struct Quiet;
impl Observer for Quiet {}

struct SourceProgress<'a>(&'a dyn Observer);
impl ReadObserver for SourceProgress<'_> {
    fn bytes_read(&self, file: &str, bytes: u64, total: u64) {
        self.0.bytes(file, bytes, total)
    }
}

/// Opens (creating if needed) the state store a configuration names.
pub fn open_store(path: &Path) -> Result<SqliteStore, EngineError> {
    Ok(SqliteStore::open(path)?)
}

/// The source options a configuration names.
pub fn source_options(config: &Config) -> CsvSourceOptions {
    CsvSourceOptions {
        path: config.source.path.clone(),
        version: config.source.version.as_deref().map(|v| if v == "1.2" { OneRosterVersion::V1_2 } else { OneRosterVersion::V1_1 }),
        mode: config.source.mode.as_deref().map(|m| if m == "delta" { TableMode::Delta } else { TableMode::Bulk }),
    }
}

/// The planner options a configuration names.
pub fn plan_options(config: &Config) -> PlanOptions {
    let mut removal = RemovalPolicy::default();
    removal.status.insert(Kind::Users, Some(config.mapping.user_removal));
    removal.status.insert(Kind::Enrollments, Some(config.mapping.enrollment_removal));
    removal.status.insert(Kind::Courses, config.mapping.course_removal);
    removal.status.insert(Kind::Sections, config.mapping.section_removal);
    PlanOptions { removal, max_removal_percent: config.safety.max_removal_percent }
}

/// A plan with everything known about how it was made.
#[derive(Debug)]
pub struct Prepared {
    pub plan: Plan,
    /// Source and mapping diagnostics, errors first.
    pub diagnostics: Vec<Diagnostic>,
    pub version: OneRosterVersion,
    pub tables: Vec<TableSummary>,
    pub roster: RosterCounts,
    /// Wall time per stage.
    pub timings: Vec<(Stage, Duration)>,
    /// What to save of the source after an apply.
    pub source_snapshot: source::PendingSnapshot,
}

impl Prepared {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }
}

fn timed<T>(observer: &dyn Observer, timings: &mut Vec<(Stage, Duration)>, stage: Stage, f: impl FnOnce() -> T) -> T {
    observer.stage(stage);
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    observer.stage_done(stage, elapsed);
    timings.push((stage, elapsed));
    out
}

/// Reads the source, maps it and plans against the state store. Changes nothing.
pub fn prepare(config: &Config, store: &dyn StateStore, observer: &dyn Observer) -> Result<Prepared, EngineError> {
    let mut timings = Vec::new();
    let prior = store.source_tables()?;
    let source::SourceOutput { read, snapshot: source_snapshot } =
        timed(observer, &mut timings, Stage::ReadSource, || source::read_source(config, &prior, &SourceProgress(observer)))?;
    drop(prior);
    let roster_counts = read.roster.counts();
    let (version, tables) = (read.version, read.tables);
    let mut diagnostics = read.diagnostics;
    let mapped = timed(observer, &mut timings, Stage::Map, || rosterbridge_mapping::map(&read.roster, &config.mapping));
    drop(read.roster);
    diagnostics.extend(mapped.diagnostics);
    let desired = mapped.desired;

    let snapshot = timed(observer, &mut timings, Stage::LoadState, || store.snapshot())?;
    let diff = timed(observer, &mut timings, Stage::Diff, || rosterbridge_plan::diff(&desired, &snapshot));
    drop(snapshot);
    let plan = timed(observer, &mut timings, Stage::BuildPlan, || -> Result<Plan, EngineError> {
        let prior = store.load_records(&diff.records_needed())?;
        Ok(rosterbridge_plan::build(desired, &diff, &prior, &plan_options(config)))
    })?;
    diagnostics.sort_by_key(|a| a.severity);
    Ok(Prepared { plan, diagnostics, version, tables, roster: roster_counts, timings, source_snapshot })
}

/// How an apply is allowed to proceed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Apply although the safety threshold holds the plan.
    pub allow_removals: bool,
}

/// What an apply did.
#[derive(Debug, serde::Serialize)]
pub struct ApplyReport {
    pub run: RunId,
    pub outcome: RunOutcome,
    /// The zip written, if there were changes.
    pub zip: Option<PathBuf>,
    pub applied: usize,
    pub state_version: u64,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Checks the gates (row errors, safety) without touching anything.
pub fn gate(config: &Config, prepared: &Prepared, options: ApplyOptions) -> Result<(), EngineError> {
    let errors = prepared.error_count();
    if errors > 0 && config.source.on_row_error == RowErrorPolicy::Fail {
        return Err(EngineError::RowErrors { count: errors });
    }
    if prepared.plan.safety.held && !options.allow_removals {
        return Err(EngineError::Held { violations: prepared.plan.safety.violations.clone() });
    }
    Ok(())
}

/// Applies a prepared plan through the folder sink: writes the delta zip into `out_dir`
/// for hand upload, then records every change as applied and saves the source snapshot.
pub fn apply_to_folder(
    config: &Config,
    store: &mut dyn StateStore,
    prepared: &Prepared,
    out_dir: &Path,
    options: ApplyOptions,
    observer: &dyn Observer,
) -> Result<ApplyReport, EngineError> {
    let run = store.begin_run(&RunStart { command: "apply".into(), profile: None, started_at: now() })?;
    match apply_inner(config, store, prepared, out_dir, options, observer, run) {
        Ok(report) => Ok(report),
        Err(e) => {
            let outcome = if matches!(e, EngineError::Held { .. }) { RunOutcome::Held } else { RunOutcome::Failed };
            // Record the failure; if even that fails, the original error is what matters.
            let _ = store.finish_run(
                run,
                &RunFinish {
                    outcome,
                    ended_at: now(),
                    summary: serde_json::to_value(&prepared.plan.summary).unwrap_or_default(),
                    message: Some(e.to_string()),
                    artifacts: vec![],
                },
            );
            Err(e)
        }
    }
}

fn apply_inner(
    config: &Config,
    store: &mut dyn StateStore,
    prepared: &Prepared,
    out_dir: &Path,
    options: ApplyOptions,
    observer: &dyn Observer,
    run: RunId,
) -> Result<ApplyReport, EngineError> {
    gate(config, prepared, options)?;
    let plan = &prepared.plan;
    let mut timings = Vec::new();
    let zip = if plan.is_empty() {
        None
    } else {
        let path = out_dir.join(format!("rosterbridge-run-{run}.zip"));
        timed(observer, &mut timings, Stage::WriteCsv, || rosterbridge_canvas::csv::write_zip_file(plan, &path))?;
        Some(path)
    };
    let outcomes: Vec<ChangeOutcome> = plan
        .changes
        .iter()
        .map(|c| ChangeOutcome {
            kind: c.kind,
            key: plan.key(c),
            row: plan.row(c),
            content_hash: c.content_hash,
            result: OutcomeResult::Applied { how: "exported".into() },
            canvas_id: None,
            ownership: Ownership::Created,
        })
        .collect();
    let source_tables = source::snapshot(config, &prepared.source_snapshot, &store.source_tables()?)?;
    let version = timed(observer, &mut timings, Stage::RecordState, || -> Result<u64, EngineError> {
        let v = if outcomes.is_empty() {
            plan.base_version
        } else {
            store.record_outcomes(run, plan.base_version, &outcomes)?
        };
        store.save_source_tables(&source_tables)?;
        Ok(v)
    })?;
    let outcome = if plan.is_empty() { RunOutcome::NoChanges } else { RunOutcome::Succeeded };
    store.finish_run(
        run,
        &RunFinish {
            outcome,
            ended_at: now(),
            summary: serde_json::to_value(&plan.summary).unwrap_or_default(),
            message: None,
            artifacts: zip.iter().map(|p| p.display().to_string()).collect(),
        },
    )?;
    Ok(ApplyReport { run, outcome, zip, applied: outcomes.len(), state_version: version })
}

/// A short human summary of statuses sent, e.g. for logs.
pub fn status_counts(plan: &Plan) -> Vec<(Kind, Status, usize)> {
    let mut v: Vec<(Kind, Status, usize)> = Vec::new();
    for c in &plan.changes {
        let s = plan.row(c).status().unwrap_or(Status::Active);
        match v.iter_mut().find(|(k, st, _)| *k == c.kind && *st == s) {
            Some(e) => e.2 += 1,
            None => v.push((c.kind, s, 1)),
        }
    }
    v
}

/// An empty state store in memory (for read-only commands when no state file exists yet).
pub fn open_memory_store() -> Result<SqliteStore, EngineError> {
    Ok(SqliteStore::open_in_memory()?)
}
