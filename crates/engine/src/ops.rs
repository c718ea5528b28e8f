//! Operational edges of a run: the clock for rollover windows, the rows the safety checks
//! need, the change journal `undo` reads, and the run timeout.

use crate::EngineError;
use rosterbridge_config::chrono_free::Date;
use rosterbridge_config::{Config, DateWindow};
use rosterbridge_model::canvas::DesiredState;
use rosterbridge_model::hash::KeyHash;
use rosterbridge_model::kind::{Kind, Row};
use rosterbridge_plan::safety::{context_keys, Context};
use rosterbridge_plan::{Plan, Target};
use rosterbridge_sink::ChangeResult;
use rosterbridge_state::{StateSnapshot, StateStore, StoredRecord};
use rustc_hash::FxHashSet;
use std::path::{Path, PathBuf};

/// Today's local date; `ROSTERBRIDGE_TODAY=YYYY-MM-DD` pretends another day (to rehearse a
/// rollover window, and in tests).
pub fn today() -> Date {
    if let Some(d) = std::env::var("ROSTERBRIDGE_TODAY")
        .ok()
        .and_then(|s| Date::parse(&s))
    {
        return d;
    }
    use chrono::Datelike;
    let now = chrono::Local::now().date_naive();
    Date {
        year: now.year(),
        month: now.month(),
        day: now.day(),
    }
}

/// A calendar day as the safety rules count it.
pub fn date_of(d: chrono::NaiveDate) -> Date {
    use chrono::Datelike;
    Date {
        year: d.year(),
        month: d.month(),
        day: d.day(),
    }
}

/// The blackout window today falls in, if any: a `[[safety.blackout]]` one, or one of the
/// profile that would run today (`--profile`, else the active one).
pub fn blackout(config: &Config, today: Date) -> Option<DateWindow> {
    let profile = chrono::NaiveDate::from_ymd_opt(today.year, today.month, today.day)
        .and_then(|d| crate::active_profile(config, d).ok().flatten());
    config
        .safety
        .rules
        .for_profile(profile)
        .blackout
        .into_iter()
        .find(|w| w.contains(today))
}

/// Refuses up front, before the source is read, when today is in a blackout window.
pub fn refuse_in_blackout(config: &Config) -> Result<(), EngineError> {
    match blackout(config, today()) {
        Some(w) => Err(EngineError::Blackout {
            window: format!("{}..{}", w.start, w.end),
            reason: w.reason.unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

/// The name of the profile a run today would use (none without profiles or when none is
/// active), for run records of commands that do not plan (undo, reconcile, marks push).
pub fn profile_name(config: &Config) -> Option<String> {
    crate::active_profile(config, crate::today())
        .ok()
        .flatten()
        .map(|p| p.name.clone())
}

/// Loads the stored sections, courses and terms that removed objects point to (up to three
/// hops: enrollment → section → course → term), for scopes and end dates. A section or
/// course still in the source is placed by its desired row (see `safety::assess`), so its
/// stored row is not read; only the term its desired course names is. A 1% change drops
/// thousands of enrollments from sections that all stay.
pub fn load_context(
    store: &dyn StateStore,
    snapshot: &StateSnapshot,
    prior: &[StoredRecord],
    desired: &DesiredState,
) -> Result<Context, EngineError> {
    let mut all: Vec<StoredRecord> = Vec::new();
    let mut frontier: Vec<(Kind, String)> = context_keys(prior);
    if frontier.is_empty() {
        return Ok(Context::default());
    }
    let (section_at, course_at) = (desired.section_positions(), desired.course_positions());
    let mut seen: FxHashSet<(Kind, String)> = Default::default();
    for _ in 0..3 {
        let mut ids: Vec<i64> = Vec::new();
        while let Some(key) = frontier.pop() {
            if key.1.is_empty() || seen.contains(&key) {
                continue;
            }
            let next = match key.0 {
                Kind::Sections => section_at.get(key.1.as_str()).map(|&i| {
                    (
                        Kind::Courses,
                        desired.sections[i as usize].course.as_str().to_string(),
                    )
                }),
                Kind::Courses => course_at.get(key.1.as_str()).map(|&i| {
                    let term = desired.courses[i as usize].term.as_ref();
                    (Kind::Terms, term.map_or("", |t| t.as_str()).to_string())
                }),
                _ => None,
            };
            match next {
                Some(next) => frontier.push(next),
                None => ids.extend(snapshot.get(KeyHash::of(key.0, &key.1)).map(|e| e.id)),
            }
            seen.insert(key);
        }
        if ids.is_empty() {
            break;
        }
        let loaded = store.load_records(&ids)?;
        frontier = context_keys(&loaded);
        all.extend(loaded);
    }
    Ok(Context::from_records(&all))
}

/// One applied change, as `undo` needs it: the row before (None for a create) and after.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    pub kind: Kind,
    pub key: String,
    pub action: String,
    pub before: Option<Vec<String>>,
    pub after: Vec<String>,
    #[serde(default)]
    pub canvas_id: Option<i64>,
    /// A create that found the object already in Canvas and adopted it (undo leaves it).
    #[serde(default)]
    pub adopted: bool,
}

/// The journal's file name in a run's archive folder.
pub const JOURNAL: &str = "changes.jsonl";

/// Writes the applied changes of a run (JSON lines) into its archive folder.
pub fn write_journal(
    archive: &Path,
    plan: &Plan,
    results: &[ChangeResult],
) -> Result<PathBuf, EngineError> {
    use std::io::Write;
    let path = archive.join(JOURNAL);
    let io = |source| EngineError::Archive {
        path: path.clone(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    for (c, r) in plan.changes.iter().zip(results) {
        let ChangeResult::Applied {
            canvas_id, adopted, ..
        } = r
        else {
            continue;
        };
        let after = plan.row(c);
        let before = match (c.target, c.record) {
            (Target::Desired(_), None) => None,
            _ => {
                let mut old: Row = after.clone();
                for f in plan.fields(c) {
                    old.set(&f.field, &f.old);
                }
                Some(old.values.iter().map(|v| v.as_str().to_string()).collect())
            }
        };
        let entry = JournalEntry {
            kind: c.kind,
            key: plan.key(c),
            action: c.action.as_str().into(),
            before,
            after: after
                .values
                .iter()
                .map(|v| v.as_str().to_string())
                .collect(),
            canvas_id: *canvas_id,
            adopted: *adopted && c.action == rosterbridge_plan::Action::Create,
        };
        serde_json::to_writer(&mut out, &entry).map_err(|e| io(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(path)
}

/// Reads a run's journal.
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Archive {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| EngineError::Archive {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!("line {}: {e}", i + 1)),
            })
        })
        .collect()
}

/// The run timeout: after `timeout`, unless [`Watchdog`] was dropped first, the runs this
/// process left `running` are recorded failed, the failure is notified, the lock file is
/// removed and the process exits with code 4. State advances only for what a sink had
/// confirmed and recorded, so the next run plans the rest again (design rule 3).
pub struct Watchdog {
    _stop: std::sync::mpsc::Sender<()>,
}

/// The exit code of a run stopped by its timeout.
pub const TIMEOUT_EXIT: i32 = 4;

impl Watchdog {
    pub fn start(config: &Config, timeout: std::time::Duration) -> Watchdog {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let config = config.clone();
        std::thread::spawn(move || {
            if !matches!(
                rx.recv_timeout(timeout),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            ) {
                return;
            }
            let message = format!("timed out after {} s ([run] timeout_minutes); stopped, only outcomes already recorded count", timeout.as_secs());
            eprintln!("error: run {message}");
            if let Ok(mut store) = crate::open_store(&config.state_path) {
                let me = std::process::id().to_string();
                let runs = store.runs(20).unwrap_or_default();
                for r in runs
                    .into_iter()
                    .filter(|r| r.outcome == rosterbridge_state::RunOutcome::Running)
                {
                    if r.owner
                        .as_deref()
                        .and_then(|o| o.split_once('@'))
                        .is_some_and(|(pid, _)| pid == me)
                    {
                        let _ = store.finish_run(
                            r.id,
                            &rosterbridge_state::RunFinish {
                                outcome: rosterbridge_state::RunOutcome::Failed,
                                ended_at: crate::now(),
                                summary: r.summary.clone(),
                                message: Some(message.clone()),
                                artifacts: Vec::new(),
                            },
                        );
                        if let Ok(Some(rec)) = store.run(r.id) {
                            for p in crate::notify::after_run(&config, &mut store, Some(&rec)) {
                                eprintln!("warning: notification not delivered: {p}");
                            }
                        }
                    }
                }
            }
            let _ = std::fs::remove_file(crate::lock::lock_path(&config.state_path));
            std::process::exit(TIMEOUT_EXIT);
        });
        Watchdog { _stop: tx }
    }
}

/// The run timeout: `[run] timeout_minutes`, or `ROSTERBRIDGE_TIMEOUT_SECS` (for tests).
pub fn run_timeout(config: &Config) -> std::time::Duration {
    match std::env::var("ROSTERBRIDGE_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(s) => std::time::Duration::from_secs(s),
        None => std::time::Duration::from_secs(config.run.timeout_minutes * 60),
    }
}
