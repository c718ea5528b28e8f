//! Sinks: where a plan goes.
//!
//! A sink takes a [`Plan`] and says, for every change, whether it was applied or
//! rejected. The engine records only applied changes in the state store, so a rejected
//! row stays pending and is sent again by the next run. A sink that fails as a whole
//! returns an error and nothing is recorded.
//!
//! * [`folder::FolderSink`]: the delta as a SIS-import zip in a folder, for hand upload.
//! * [`sis_import::SisImportSink`]: the delta posted to Canvas as a SIS import (default).
//! * [`rest::RestSink`]: the plan applied call by call through the REST API.

pub mod folder;
pub mod matching;
pub mod rest;
pub mod rows;
pub mod sis_import;

use rosterbridge_plan::Plan;
use std::path::{Path, PathBuf};

/// What one change came to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChangeResult {
    /// Accepted; `how` names the sink (`exported`, `sis_import 12`, `rest`).
    Applied {
        how: String,
        canvas_id: Option<i64>,
        adopted: bool,
    },
    /// Refused by Canvas, with its message; stays pending.
    Rejected { message: String },
}

impl ChangeResult {
    pub fn is_applied(&self) -> bool {
        matches!(self, ChangeResult::Applied { .. })
    }
}

/// A sink's account of a run.
#[derive(Clone, Debug, Default)]
pub struct SinkReport {
    /// One per `plan.changes`, same order.
    pub results: Vec<ChangeResult>,
    /// Files written for audit (zips sent, import JSON, errors files).
    pub artifacts: Vec<PathBuf>,
    /// Messages that belong to no row (file-level warnings, notices).
    pub notes: Vec<String>,
    /// HTTP counters (requests, throttled answers, retries), for the run report.
    pub http: Option<rosterbridge_canvas_client::PacingStats>,
}

impl SinkReport {
    pub fn applied(&self) -> usize {
        self.results.iter().filter(|r| r.is_applied()).count()
    }
    pub fn rejected(&self) -> usize {
        self.results.len() - self.applied()
    }
}

/// Told about a sink's progress.
pub trait SinkProgress: Sync {
    /// `fraction` in 0..=1 when known.
    fn update(&self, _message: &str, _fraction: Option<f64>) {}
}

/// Reports nothing.
pub struct NoProgress;
impl SinkProgress for NoProgress {}

/// Why a sink stopped without results. Nothing was recorded; the next run plans the same
/// changes again.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Write(#[from] rosterbridge_canvas::csv::WriteError),
    #[error(transparent)]
    Canvas(#[from] rosterbridge_canvas_client::CanvasError),
    #[error("cannot write the audit file {path}: {source}")]
    Archive {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SIS import {id} did not echo the options asked for ({mismatch}); it was aborted and nothing is recorded as applied")]
    OptionsNotEchoed { id: i64, mismatch: String },
    #[error("SIS import {id} is still `{state}` after {waited_secs} s (the limit, [canvas] import_timeout_secs); nothing is recorded as applied. Canvas may still finish it; the next run sends the same rows again, which Canvas applies as updates, not duplicates")]
    StillImporting {
        id: i64,
        state: String,
        waited_secs: u64,
    },
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where a sink applies a plan.
pub trait Sink {
    /// For logs and run records.
    fn name(&self) -> &'static str;
    /// Applies `plan`, writing audit files into `archive` (created by the caller).
    fn apply(
        &mut self,
        plan: &Plan,
        run: i64,
        archive: &Path,
        progress: &dyn SinkProgress,
    ) -> Result<SinkReport, SinkError>;
}

pub(crate) fn write_archive(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    std::fs::write(path, bytes).map_err(|source| SinkError::Archive {
        path: path.to_path_buf(),
        source,
    })
}
