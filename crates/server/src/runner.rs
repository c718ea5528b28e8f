//! Runs of the engine from the server: each on a blocking thread, never two of one profile
//! at once (the engine's run lock also keeps other processes out), counted in the metrics.

use crate::connection::{ConnectionError, ConnectionStore};
use crate::metrics::Metrics;
use rosterbridge_config::Config;
use rosterbridge_engine::{ApplyOptions, ApplyReport, EngineError, Quiet};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The key of a run without profiles (a configuration that has none).
pub const NO_PROFILE: &str = "(default)";

/// Why a run was not started.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("a run of {0} is already in progress")]
    Busy(String),
    #[error("no profile is named {0:?}")]
    UnknownProfile(String),
    #[error("{0}")]
    Config(String),
}

/// Changes of a plan per kind and action, for the metrics.
pub type Rows = Vec<(String, String, u64)>;

/// What a run did, as the API reports it.
#[derive(Debug, serde::Serialize)]
pub struct RunResult {
    pub outcome: String,
    pub run: Option<i64>,
    pub message: Option<String>,
}

pub struct Runner {
    config_path: PathBuf,
    running: Mutex<BTreeSet<String>>,
    pub metrics: Arc<Metrics>,
    /// The connection set up in the UI; without one, runs use `[canvas]` and its token
    /// variable, as the CLI does.
    connection: Option<Arc<ConnectionStore>>,
}

impl Runner {
    pub fn new(
        config_path: PathBuf,
        metrics: Arc<Metrics>,
        connection: Option<Arc<ConnectionStore>>,
    ) -> Runner {
        Runner {
            config_path,
            running: Mutex::new(BTreeSet::new()),
            metrics,
            connection,
        }
    }

    /// The Canvas client a run uses: the UI's connection when one is set up (its URL and
    /// account take the place of `[canvas] url` / `account_id`; an expired OAuth token is
    /// refreshed first), else the configuration's.
    fn client(
        &self,
        config: &mut Config,
        handle: &tokio::runtime::Handle,
    ) -> Result<rosterbridge_canvas_client::CanvasClient, EngineError> {
        let stored = match &self.connection {
            Some(c) => match handle.block_on(c.access_token()) {
                Ok(found) => Some(found),
                Err(ConnectionError::NotConnected) => None,
                Err(e) => return Err(EngineError::Refused(format!("the Canvas connection: {e}"))),
            },
            None => None,
        };
        match stored {
            Some((view, token)) => {
                config.canvas.url = view.url;
                config.canvas.account_id = view.account_id;
                rosterbridge_engine::canvas_client_with(
                    config,
                    rosterbridge_canvas_client::Token::new(token),
                )
            }
            None => rosterbridge_engine::canvas_client(config),
        }
    }

    /// The configuration file runs and the UI read.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Profiles with a run in progress.
    pub fn busy(&self) -> Vec<String> {
        self.running().iter().cloned().collect()
    }

    /// The configuration as a run of `profile` sees it (the file is read anew each time, so
    /// edits take effect at the next run).
    pub fn load(&self, profile: Option<&str>) -> Result<Config, TriggerError> {
        let mut config = Config::load(&self.config_path)
            .map_err(|e| TriggerError::Config(format!("{}: {e}", self.config_path.display())))?;
        if let Some(name) = profile {
            if !config.profiles.iter().any(|p| p.name == name) {
                return Err(TriggerError::UnknownProfile(name.to_string()));
            }
        }
        config.requested_profile = profile.map(str::to_string);
        Ok(config.resolve_environment())
    }

    /// Claims `profile` for one run; the claim is released when the guard drops.
    fn claim(self: &Arc<Self>, profile: Option<&str>) -> Result<Claim, TriggerError> {
        let key = profile.unwrap_or(NO_PROFILE).to_string();
        if !self.running().insert(key.clone()) {
            return Err(TriggerError::Busy(key));
        }
        Ok(Claim {
            runner: self.clone(),
            key,
        })
    }

    /// Starts a sync of `profile` in the background; `done` is told the result.
    pub fn start(
        self: &Arc<Self>,
        profile: Option<String>,
    ) -> Result<tokio::task::JoinHandle<RunResult>, TriggerError> {
        let mut config = self.load(profile.as_deref())?;
        let claim = self.claim(profile.as_deref())?;
        let runner = self.clone();
        let handle = tokio::runtime::Handle::current();
        Ok(tokio::task::spawn_blocking(move || {
            let _claim = claim;
            runner.measured(|| {
                rosterbridge_engine::ops::refuse_in_blackout(&config)?;
                let client = runner.client(&mut config, &handle)?;
                sync(&config, client)
            })
        }))
    }

    /// Reads the source and plans `profile` against the state, applying nothing: the plan as
    /// `rosterbridge plan --json` shows it. Runs beside a sync of the same profile are fine
    /// (nothing is written), so no claim is taken.
    pub async fn preview(
        self: &Arc<Self>,
        profile: Option<String>,
    ) -> Result<Result<serde_json::Value, String>, TriggerError> {
        let config = self.load(profile.as_deref())?;
        let joined = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, String> {
            let store =
                rosterbridge_engine::open_store(&config.state_path).map_err(|e| e.to_string())?;
            let prepared =
                rosterbridge_engine::prepare(&config, &store, &Quiet).map_err(|e| e.to_string())?;
            let mut v = rosterbridge_plan::render::json(&prepared.plan, &prepared.diagnostics);
            if let Some(m) = v.as_object_mut() {
                m.insert("profile".into(), prepared.profile.clone().into());
                m.insert("environment".into(), config.environment.as_str().into());
            }
            Ok(v)
        })
        .await;
        joined.map_err(|e| TriggerError::Config(format!("the preview stopped: {e}")))
    }

    /// Approves held plan `plan_id` (waits for it): the plan made now must be the held one.
    pub async fn approve(self: &Arc<Self>, plan_id: i64) -> Result<RunResult, TriggerError> {
        let mut config = self.load(None)?;
        let profile = rosterbridge_engine::active_profile(&config, rosterbridge_engine::today())
            .ok()
            .flatten()
            .map(|p| p.name.clone());
        let claim = self.claim(profile.as_deref())?;
        let runner = self.clone();
        let handle = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _claim = claim;
            runner.measured(|| {
                let client = runner.client(&mut config, &handle)?;
                let mut store = rosterbridge_engine::open_store(&config.state_path)?;
                let mut sink = rosterbridge_engine::canvas_sink_with(&config, client)?;
                let report = rosterbridge_engine::approve::approve(
                    &config,
                    &mut store,
                    plan_id,
                    sink.as_mut(),
                    &Quiet,
                )?;
                Ok((report, Vec::new()))
            })
        })
        .await;
        joined.map_err(|e| TriggerError::Config(format!("the approval stopped: {e}")))
    }

    fn measured(
        &self,
        run: impl FnOnce() -> Result<(ApplyReport, Rows), EngineError>,
    ) -> RunResult {
        let started = Instant::now();
        let result = run();
        let seconds = started.elapsed().as_secs_f64();
        let (outcome, requests, throttled, rows, out) = match result {
            Ok((report, rows)) => {
                let (requests, throttled) = report
                    .http
                    .as_ref()
                    .map(|h| (h.requests, h.throttled))
                    .unwrap_or((0, 0));
                let outcome = report.outcome.as_str().to_string();
                (
                    outcome.clone(),
                    requests,
                    throttled,
                    rows,
                    RunResult {
                        outcome,
                        run: Some(report.run),
                        message: None,
                    },
                )
            }
            // Refused before any run began (not held, superseded, already used): no run to count.
            Err(e @ EngineError::Approval(_)) => {
                return RunResult {
                    outcome: "refused".into(),
                    run: None,
                    message: Some(e.to_string()),
                }
            }
            Err(e) => {
                let outcome = match &e {
                    EngineError::Held { .. } => "held",
                    EngineError::Blackout { .. }
                    | EngineError::Lock(_)
                    | EngineError::NoActiveProfile { .. } => "not_run",
                    _ => "failed",
                };
                (
                    outcome.to_string(),
                    0,
                    0,
                    Vec::new(),
                    RunResult {
                        outcome: outcome.to_string(),
                        run: None,
                        message: Some(e.to_string()),
                    },
                )
            }
        };
        self.metrics
            .record_run(&outcome, &rows, requests, throttled, seconds);
        out
    }

    /// Waits up to `grace` for runs in progress to finish; true when none is left.
    pub async fn wait_idle(&self, grace: Duration) -> bool {
        let until = Instant::now() + grace;
        while !self.running().is_empty() {
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }
}

struct Claim {
    runner: Arc<Runner>,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.runner.running().remove(&self.key);
    }
}

/// One sync as `rosterbridge sync` does it: refused in a blackout before reading, then read,
/// plan, gate and apply; returns the plan's rows per kind and action for the metrics.
fn sync(
    config: &Config,
    client: rosterbridge_canvas_client::CanvasClient,
) -> Result<(ApplyReport, Rows), EngineError> {
    let mut store = rosterbridge_engine::open_store(&config.state_path)?;
    let prepared = rosterbridge_engine::prepare(config, &store, &Quiet)?;
    let mut rows = Vec::new();
    for (kind, s) in &prepared.plan.summary {
        for (action, n) in [
            ("create", s.create),
            ("update", s.update),
            ("reactivate", s.reactivate),
            ("deactivate", s.deactivate),
            ("delete", s.delete),
        ] {
            if n > 0 {
                rows.push((kind.as_str().to_string(), action.to_string(), n as u64));
            }
        }
    }
    let mut sink = rosterbridge_engine::canvas_sink_with(config, client)?;
    let report = rosterbridge_engine::apply(
        config,
        &mut store,
        &prepared,
        sink.as_mut(),
        ApplyOptions::default(),
        &Quiet,
        "sync",
    )?;
    Ok((report, rows))
}
