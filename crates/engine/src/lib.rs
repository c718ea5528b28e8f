//! One run of rosterbridge, wiring the pure stages to the edges:
//!
//! ```text
//! source (files) -> Roster -> map -> DesiredState -> diff (state index) -> build (stored rows)
//!   -> Plan -> gate (row errors, safety) -> sink (folder zip) -> record outcomes (state)
//! ```
//!
//! Memory matters at state-wide scale, so the roster is dropped as soon as it is mapped,
//! and the state store is asked only for the rows of objects that change.

use rosterbridge_canvas_client::{CanvasClient, ClientOptions, Token};
use rosterbridge_config::{CanvasMode, Config, RowErrorPolicy};
use rosterbridge_model::kind::{Kind, Status};
use rosterbridge_model::roster::{OneRosterVersion, RosterCounts};
use rosterbridge_model::{Diagnostic, Severity};
use rosterbridge_plan::{Plan, PlanOptions, RemovalPolicy};
use rosterbridge_sink::sis_import::{SisImportSink, SisImportSinkOptions};
use rosterbridge_sink::{ChangeResult, Sink, SinkProgress};
use rosterbridge_source_oneroster::{CsvSourceOptions, ReadObserver, TableMode, TableSummary};
use rosterbridge_state::{
    ChangeOutcome, OutcomeResult, Ownership, RunFinish, RunId, RunOutcome, RunStart, StateStore,
};
use rosterbridge_state_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod approve;
mod error;
pub mod lock;
pub mod marks;
pub mod memory;
pub mod notify;
pub mod ops;
pub mod reconcile;
pub mod roles;
pub mod source;
pub mod undo;
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
    Apply,
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
            Stage::Apply => "applying",
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
    /// What the sink is doing (e.g. "SIS import 12 importing"), with a fraction when known.
    fn sink(&self, _message: &str, _fraction: Option<f64>) {}
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
        version: config.source.version.as_deref().map(|v| {
            if v == "1.2" {
                OneRosterVersion::V1_2
            } else {
                OneRosterVersion::V1_1
            }
        }),
        mode: config.source.mode.as_deref().map(|m| {
            if m == "delta" {
                TableMode::Delta
            } else {
                TableMode::Bulk
            }
        }),
    }
}

/// The planner options a configuration names.
pub fn plan_options(config: &Config) -> PlanOptions {
    let mut removal = RemovalPolicy::default();
    removal
        .status
        .insert(Kind::Users, Some(config.mapping.user_removal));
    removal
        .status
        .insert(Kind::Enrollments, Some(config.mapping.enrollment_removal));
    removal
        .status
        .insert(Kind::Courses, config.mapping.course_removal);
    removal
        .status
        .insert(Kind::Sections, config.mapping.section_removal);
    PlanOptions {
        removal,
        max_removal_percent: config.safety.max_removal_percent,
    }
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
    /// The execution profile the plan was made under, if profiles are configured.
    pub profile: Option<String>,
}

impl Prepared {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

fn timed<T>(
    observer: &dyn Observer,
    timings: &mut Vec<(Stage, Duration)>,
    stage: Stage,
    f: impl FnOnce() -> T,
) -> T {
    observer.stage(stage);
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    observer.stage_done(stage, elapsed);
    timings.push((stage, elapsed));
    out
}

/// Today, in UTC (the only clock read of planning).
pub fn today() -> chrono::NaiveDate {
    // One "today" for profiles, sync_start and the safety windows (ROSTERBRIDGE_TODAY
    // rehearses another day).
    let d = ops::today();
    chrono::NaiveDate::from_ymd_opt(d.year, d.month, d.day)
        .unwrap_or_else(|| chrono::Utc::now().date_naive())
}

/// Reads the source, maps it and plans against the state store, as of today. Changes nothing.
pub fn prepare(
    config: &Config,
    store: &dyn StateStore,
    observer: &dyn Observer,
) -> Result<Prepared, EngineError> {
    prepare_on(config, store, observer, today())
}

/// The profile for a run on `today`: `Ok(None)` without profiles, `Err(NoActiveProfile)`
/// (a plain sentence; nothing to do) when none is active.
pub fn active_profile(
    config: &Config,
    today: chrono::NaiveDate,
) -> Result<Option<&rosterbridge_config::Profile>, EngineError> {
    match config.profile_for(today)? {
        rosterbridge_config::ProfileChoice::NoProfiles => Ok(None),
        rosterbridge_config::ProfileChoice::Active(p) => Ok(Some(p)),
        rosterbridge_config::ProfileChoice::NoneActive { today } => {
            Err(EngineError::NoActiveProfile {
                message: rosterbridge_config::profiles::none_active_message(
                    &config.profiles,
                    today,
                ),
            })
        }
    }
}

/// [`prepare`] as of a given day (which profile is active, `sync_start`).
pub fn prepare_on(
    config: &Config,
    store: &dyn StateStore,
    observer: &dyn Observer,
    today: chrono::NaiveDate,
) -> Result<Prepared, EngineError> {
    let profile = active_profile(config, today)?;
    let mut timings = Vec::new();
    let prior = source::prior_tables(config, store)?;
    let source::SourceOutput {
        read,
        snapshot: source_snapshot,
    } = timed(observer, &mut timings, Stage::ReadSource, || {
        source::read_source(config, &prior, &SourceProgress(observer))
    })?;
    drop(prior);
    let roster_counts = read.roster.counts();
    let (version, tables) = (read.version, read.tables);
    let mut diagnostics = read.diagnostics;
    let map_ctx = rosterbridge_mapping::MapContext { profile };
    let roster = read.roster;
    let mapped = timed(observer, &mut timings, Stage::Map, || {
        rosterbridge_mapping::map_owned(roster, &config.mapping, &map_ctx)
    });
    diagnostics.extend(mapped.diagnostics);
    // The roster is gone: give its pages back before the state index is loaded beside the
    // desired state (otherwise they stay resident, and the plan's peak is both).
    memory::release_freed();
    let desired = mapped.desired;
    let user_roles = mapped.user_roles;
    let (out_users, out_classes, past_classes) = (
        mapped.out_of_scope_users,
        mapped.out_of_scope_classes,
        mapped.outside_period_classes,
    );

    let snapshot = timed(observer, &mut timings, Stage::LoadState, || {
        store.snapshot()
    })?;
    let diff = timed(observer, &mut timings, Stage::Diff, || {
        rosterbridge_plan::diff(&desired, &snapshot)
    });
    let mut past_note: Option<usize> = None;
    let plan = timed(
        observer,
        &mut timings,
        Stage::BuildPlan,
        || -> Result<Plan, EngineError> {
            let prior = store.load_records(&diff.records_needed())?;
            // Safety (thresholds per kind and scope, guards, rollover windows): see plan::safety.
            let rules = &config.safety.rules.for_profile(profile);
            let context = if diff.gone.is_empty() {
                Default::default()
            } else {
                ops::load_context(store, &snapshot, &prior, &desired)?
            };
            // 2.5M entries: freed on a second thread while the plan is built.
            let freeing = std::thread::spawn(move || drop(snapshot));
            let rekey = rosterbridge_plan::safety::rekey(&desired, &diff, &prior, rules);
            let options = plan_options(config);
            let mut plan = rosterbridge_plan::build(desired, diff, &prior, &options);
            let e = &config.mapping.enrollments;
            let rules_of_actions = rosterbridge_plan::actions::Rules {
                actions: &config.mapping.actions,
                user_roles: &user_roles,
                today,
                sync_start: e.sync_start,
                keep_previous: e.keep_previous,
                disable_new_sections: e.disable_sync_for_new_sections,
            };
            let kept = rosterbridge_plan::actions::keep_outside_period(
                &mut plan,
                &past_classes,
                options.max_removal_percent,
            );
            if kept > 0 {
                past_note = Some(kept);
            }
            rosterbridge_plan::actions::mark_out_of_scope(&mut plan, &out_users, &out_classes);
            rosterbridge_plan::actions::apply(
                &mut plan,
                &rules_of_actions,
                options.max_removal_percent,
            );
            // Last, so that the verdict covers what the actions left in the plan.
            rosterbridge_plan::safety::assess(
                &mut plan,
                rules,
                &context,
                rekey,
                ops::date_of(today),
            );
            let _ = freeing.join();
            Ok(plan)
        },
    )?;
    if let Some(n) = past_note {
        diagnostics.push(Diagnostic::info(
            "kept-outside-academic-period",
            format!("{n} removal(s) of courses, sections and enrollments outside the profile's academic period are not planned: they are left as they are in Canvas"),
        ));
    }
    diagnostics.sort_by_key(|a| a.severity);
    Ok(Prepared {
        plan,
        diagnostics,
        version,
        tables,
        roster: roster_counts,
        timings,
        source_snapshot,
        profile: profile.map(|p| p.name.clone()),
    })
}

/// How an apply is allowed to proceed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Apply although the safety threshold holds the plan.
    pub allow_removals: bool,
    /// Apply a held plan whose fingerprint is this (`rosterbridge approve`).
    pub approved: Option<u64>,
}

/// What an apply did.
#[derive(Debug, serde::Serialize)]
pub struct ApplyReport {
    pub run: RunId,
    pub sink: &'static str,
    pub outcome: RunOutcome,
    pub applied: usize,
    pub rejected: usize,
    /// The first rejected changes, with Canvas's message (all of them are in the archive).
    pub rejections: Vec<Rejection>,
    /// Messages that belong to no row.
    pub notes: Vec<String>,
    /// Files written: the zip sent, the import's JSON, its errors file.
    pub artifacts: Vec<PathBuf>,
    pub state_version: u64,
    /// Requests made, throttled answers and retries, for sinks that talk HTTP.
    pub http: Option<rosterbridge_canvas_client::PacingStats>,
}

/// One change Canvas refused.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Rejection {
    pub kind: Kind,
    pub key: String,
    pub action: String,
    pub message: String,
    /// The SIS row the change came from (`users.csv:12`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How many rejections a run record keeps (the archive has all).
const REJECTIONS_KEPT: usize = 200;

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Checks the gates (row errors, safety) without touching anything.
pub fn gate(
    config: &Config,
    prepared: &Prepared,
    options: ApplyOptions,
) -> Result<(), EngineError> {
    let errors = prepared.error_count();
    if errors > 0 && config.source.on_row_error == RowErrorPolicy::Fail {
        return Err(EngineError::RowErrors { count: errors });
    }
    if prepared.plan.safety.held && !options.allow_removals {
        let approved = options
            .approved
            .is_some_and(|f| f == rosterbridge_plan::safety::fingerprint(&prepared.plan));
        if !approved {
            return Err(EngineError::Held {
                violations: prepared.plan.safety.violations.clone(),
                holds: prepared
                    .plan
                    .safety
                    .holds
                    .iter()
                    .map(|h| h.message.clone())
                    .collect(),
                plan_id: None,
            });
        }
    }
    Ok(())
}

/// The folder for a run's audit files: `<state file>.archive/run-<id>/` beside the state.
pub fn archive_dir(config: &Config, run: RunId) -> PathBuf {
    let mut name = config
        .state_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "rosterbridge".into());
    name.push(".archive");
    config
        .state_path
        .with_file_name(name)
        .join(format!("run-{run}"))
}

/// The Canvas sink the configuration names (`[canvas] mode`), with the token read from
/// the environment variable it names.
pub fn canvas_sink(config: &Config) -> Result<Box<dyn Sink>, EngineError> {
    canvas_sink_with(config, canvas_client(config)?)
}

/// The Canvas sink the configuration names, over a given client.
pub fn canvas_sink_with(
    config: &Config,
    client: CanvasClient,
) -> Result<Box<dyn Sink>, EngineError> {
    match config.canvas.mode {
        CanvasMode::SisImport => {
            let mut options = SisImportSinkOptions::new(config.canvas.account_id);
            options.timeout = Duration::from_secs(config.canvas.import_timeout_secs);
            options.import.override_sis_stickiness = config.canvas.override_sis_stickiness;
            options.user_match = user_match(config);
            options.match_objects = match_objects(config);
            Ok(Box::new(SisImportSink { client, options }))
        }
        CanvasMode::Rest => {
            let mut sink = rosterbridge_sink::rest::RestSink::new(client, config.canvas.account_id);
            sink.options.user_match = user_match(config);
            sink.options.match_objects = match_objects(config);
            // REST creates enrollments by type and role id: resolve custom roles first.
            sink.options.custom_roles = roles::check_custom_roles(config, &sink.client)?
                .into_iter()
                .map(|r| (r.name, r.role_id, r.base_role_type))
                .collect();
            Ok(Box::new(sink))
        }
    }
}

/// First contact for terms, sub-accounts, courses and sections (`[mapping.match]`): the keys
/// after the SIS id, as the sinks look for them.
fn match_objects(config: &Config) -> rosterbridge_sink::matching::ObjectRules {
    use rosterbridge_config::MatchKey;
    use rosterbridge_sink::matching::ObjectMatch;
    let m = &config.mapping.matching;
    [Kind::Terms, Kind::Accounts, Kind::Courses, Kind::Sections]
        .into_iter()
        .map(|kind| {
            let how = m
                .of(kind)
                .iter()
                .filter_map(|k| match k {
                    MatchKey::Name => Some(ObjectMatch::Name),
                    MatchKey::IntegrationId | MatchKey::ExternalId => {
                        Some(ObjectMatch::IntegrationId)
                    }
                    _ => None,
                })
                .collect::<Vec<_>>();
            (kind, how)
        })
        .filter(|(_, how)| !how.is_empty())
        .collect()
}

fn user_match(config: &Config) -> Vec<rosterbridge_sink::matching::UserMatch> {
    use rosterbridge_sink::matching::UserMatch;
    config
        .canvas
        .match_users
        .iter()
        .map(|k| match k {
            rosterbridge_config::UserMatchKey::Login => UserMatch::Login,
            rosterbridge_config::UserMatchKey::Email => UserMatch::Email,
            rosterbridge_config::UserMatchKey::IntegrationId => UserMatch::IntegrationId,
        })
        .collect()
}

/// Before sending to Canvas: the custom roles the configuration names exist (see [`roles`]).
pub fn canvas_preflight(config: &Config) -> Result<Vec<roles::ResolvedRole>, EngineError> {
    if config.mapping.enrollments.custom_roles().is_empty() {
        return Ok(Vec::new());
    }
    roles::check_custom_roles(config, &canvas_client(config)?)
}

/// A Canvas client for the configured instance.
pub fn canvas_client(config: &Config) -> Result<CanvasClient, EngineError> {
    let token = std::env::var(&config.canvas.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| EngineError::MissingToken {
            env: config.canvas.token_env.clone(),
        })?;
    canvas_client_with(config, Token::new(token))
}

/// A Canvas client for the configured instance with a given token.
pub fn canvas_client_with(config: &Config, token: Token) -> Result<CanvasClient, EngineError> {
    let mut options = ClientOptions::default();
    options.pacing.max_concurrency = config.canvas.max_concurrency;
    Ok(CanvasClient::new(&config.canvas.url, token, options)?)
}

struct SinkObserver<'a>(&'a dyn Observer);
impl SinkProgress for SinkObserver<'_> {
    fn update(&self, message: &str, fraction: Option<f64>) {
        self.0.sink(message, fraction)
    }
}

/// Applies a prepared plan through a sink as run `command` (`apply`, `sync`): checks the
/// gates, sends the changes, records the ones the sink reports applied (rejected ones
/// stay pending), saves the source snapshot and finishes the run record.
pub fn apply(
    config: &Config,
    store: &mut dyn StateStore,
    prepared: &Prepared,
    sink: &mut dyn Sink,
    options: ApplyOptions,
    observer: &dyn Observer,
    command: &str,
) -> Result<ApplyReport, EngineError> {
    ops::refuse_in_blackout(config)?;
    let lock = lock::acquire(&config.state_path)?;
    if let Some(stale) = &lock.took_over {
        eprintln!(
            "warning: took over a stale run lock ({stale}): that run's process no longer exists"
        );
    }
    let _watchdog = ops::Watchdog::start(config, ops::run_timeout(config));
    mark_interrupted_runs(config, store)?;
    let run = store.begin_run(&RunStart {
        command: command.into(),
        profile: prepared.profile.clone(),
        started_at: now(),
        owner: this_process(),
    })?;
    let result = match apply_inner(config, store, prepared, sink, options, observer, run) {
        Ok(report) => Ok(report),
        Err(mut e) => {
            let outcome = if matches!(e, EngineError::Held { .. }) {
                RunOutcome::Held
            } else {
                RunOutcome::Failed
            };
            let mut summary = serde_json::json!({ "plan": prepared.plan.summary, "sink": sink.name(), "environment": config.environment.as_str(), "safety": prepared.plan.safety });
            if let EngineError::Held {
                violations,
                holds,
                plan_id,
            } = &mut e
            {
                let mut reasons: Vec<String> = violations
                    .iter()
                    .map(|v| {
                        format!(
                            "{} {} of {} removed ({:.1}% > {}%)",
                            v.kind, v.removals, v.existing, v.percent, v.limit_percent
                        )
                    })
                    .collect();
                reasons.extend(holds.iter().cloned());
                let held = rosterbridge_state::HeldPlan {
                    id: 0,
                    run: Some(run),
                    created_at: now(),
                    base_version: prepared.plan.base_version,
                    fingerprint: format!(
                        "{:016x}",
                        rosterbridge_plan::safety::fingerprint(&prepared.plan)
                    ),
                    summary: serde_json::json!({ "plan": prepared.plan.summary, "changes": prepared.plan.changes.len() }),
                    reasons,
                    status: rosterbridge_state::HeldStatus::Held,
                    applied_run: None,
                };
                if let Ok(id) = store.hold_plan(&held) {
                    *plan_id = Some(id);
                    summary["held_plan"] = serde_json::json!(id);
                }
            }
            // Record the failure; if even that fails, the original error is what matters.
            let _ = store.finish_run(
                run,
                &RunFinish {
                    outcome,
                    ended_at: now(),
                    summary,
                    message: Some(e.to_string()),
                    artifacts: list_dir(&archive_dir(config, run)),
                },
            );
            Err(e)
        }
    };
    if let Ok(Some(record)) = store.run(run) {
        for problem in notify::after_run(config, store, Some(&record)) {
            eprintln!("warning: notification not delivered: {problem}");
        }
    }
    drop(lock);
    result
}

/// `pid@host` of this process (None where the host name cannot be read).
pub(crate) fn this_process() -> Option<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    Some(format!("{}@{}", std::process::id(), host.trim()))
}

/// Runs left `running` by a process of this host that no longer exists (killed, crashed,
/// machine restarted) are marked failed, so `runs` and `status` do not show them as going
/// on. Runs of other hosts, or whose process still lives, are left alone.
pub(crate) fn mark_interrupted_runs(
    config: &Config,
    store: &mut dyn StateStore,
) -> Result<(), EngineError> {
    let Some(me) = this_process() else {
        return Ok(());
    };
    let host = me
        .split_once('@')
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    for r in store
        .runs(100)?
        .into_iter()
        .filter(|r| r.outcome == RunOutcome::Running)
    {
        let Some((pid, owner_host)) = r.owner.as_deref().and_then(|o| o.split_once('@')) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid).exists();
        if owner_host == host
            && pid != std::process::id().to_string()
            && !alive
            && Path::new("/proc/self").exists()
        {
            store.finish_run(
                r.id,
                &RunFinish {
                    outcome: RunOutcome::Failed,
                    ended_at: now(),
                    summary: r.summary.clone(),
                    message: Some(format!("interrupted: process {pid} ended before the run finished; only outcomes it recorded count, the rest is planned again")),
                    artifacts: list_dir(&archive_dir(config, r.id)),
                },
            )?;
        }
    }
    Ok(())
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    v.sort();
    v
}

fn apply_inner(
    config: &Config,
    store: &mut dyn StateStore,
    prepared: &Prepared,
    sink: &mut dyn Sink,
    options: ApplyOptions,
    observer: &dyn Observer,
    run: RunId,
) -> Result<ApplyReport, EngineError> {
    gate(config, prepared, options)?;
    let plan = &prepared.plan;
    let mut timings = Vec::new();
    let archive = archive_dir(config, run);
    std::fs::create_dir_all(&archive).map_err(|source| EngineError::Archive {
        path: archive.clone(),
        source,
    })?;
    let sink_report = timed(observer, &mut timings, Stage::Apply, || {
        sink.apply(plan, run, &archive, &SinkObserver(observer))
    })?;
    if sink_report.results.len() != plan.changes.len() {
        return Err(EngineError::SinkContract {
            sink: sink.name(),
            got: sink_report.results.len(),
            want: plan.changes.len(),
        });
    }
    let mut rejections = Vec::new();
    let mut rejected = 0;
    let outcomes: Vec<ChangeOutcome> = plan
        .changes
        .iter()
        .zip(&sink_report.results)
        .map(|(c, r)| {
            let (result, canvas_id, adopted) = match r {
                ChangeResult::Applied {
                    how,
                    canvas_id,
                    adopted,
                } => (
                    OutcomeResult::Applied { how: how.clone() },
                    *canvas_id,
                    *adopted,
                ),
                ChangeResult::Rejected { message } => {
                    rejected += 1;
                    if rejections.len() < REJECTIONS_KEPT {
                        rejections.push(Rejection {
                            kind: c.kind,
                            key: plan.key(c),
                            action: c.action.as_str().into(),
                            message: message.clone(),
                            source: plan.src(c).map(|s| s.to_string()),
                        });
                    }
                    (
                        OutcomeResult::Rejected {
                            message: message.clone(),
                        },
                        None,
                        false,
                    )
                }
            };
            ChangeOutcome {
                kind: c.kind,
                key: plan.key(c),
                row: plan.row(c),
                content_hash: c.content_hash,
                result,
                canvas_id,
                ownership: if adopted {
                    Ownership::Adopted
                } else {
                    Ownership::Created
                },
            }
        })
        .collect();
    let applied = outcomes.len() - rejected;
    if rejected > 0 {
        let all: Vec<Rejection> = plan
            .changes
            .iter()
            .zip(&sink_report.results)
            .filter_map(|(c, r)| match r {
                ChangeResult::Rejected { message } => Some(Rejection {
                    kind: c.kind,
                    key: plan.key(c),
                    action: c.action.as_str().into(),
                    message: message.clone(),
                    source: plan.src(c).map(|s| s.to_string()),
                }),
                ChangeResult::Applied { .. } => None,
            })
            .collect();
        let path = archive.join("rejected.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&all).unwrap_or_default())
            .map_err(|source| EngineError::Archive { path, source })?;
    }
    let source_tables = source::snapshot(
        config,
        &prepared.source_snapshot,
        &source::prior_tables(config, store)?,
    )?;
    let version = timed(
        observer,
        &mut timings,
        Stage::RecordState,
        || -> Result<u64, EngineError> {
            let v = if outcomes.is_empty() {
                plan.base_version
            } else {
                store.record_outcomes(run, plan.base_version, &outcomes)?
            };
            store.save_source_tables(&source_tables)?;
            Ok(v)
        },
    )?;
    let outcome = if plan.is_empty() {
        RunOutcome::NoChanges
    } else if rejected == 0 {
        RunOutcome::Succeeded
    } else if applied == 0 {
        RunOutcome::Failed
    } else {
        RunOutcome::PartialFailure
    };
    let mut artifacts: Vec<PathBuf> = sink_report.artifacts.clone();
    if rejected > 0 {
        artifacts.push(archive.join("rejected.json"));
    }
    if applied > 0 {
        artifacts.push(ops::write_journal(&archive, plan, &sink_report.results)?);
    }
    let message = match outcome {
        RunOutcome::Failed | RunOutcome::PartialFailure => Some(format!(
            "{rejected} of {} change(s) rejected by Canvas; they stay pending{}",
            plan.changes.len(),
            sink_report
                .notes
                .first()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    store.finish_run(
        run,
        &RunFinish {
            outcome,
            ended_at: now(),
            summary: serde_json::json!({
                "plan": plan.summary,
                "environment": config.environment.as_str(),
                "safety": plan.safety,
                "approved_plan": options.approved.map(|f| format!("{f:016x}")),
                "sink": sink.name(),
                "applied": applied,
                "rejected": rejected,
                "rejections": rejections,
                "notes": sink_report.notes,
                "http": sink_report.http,
            }),
            message,
            artifacts: artifacts.iter().map(|p| p.display().to_string()).collect(),
        },
    )?;
    Ok(ApplyReport {
        run,
        sink: sink.name(),
        outcome,
        applied,
        rejected,
        rejections,
        notes: sink_report.notes,
        artifacts,
        state_version: version,
        http: sink_report.http,
    })
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
