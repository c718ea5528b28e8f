//! Marks passback records: every transfer of a mark to the SIS (who, what value, when, to
//! where, how it went), tied to the run that made it. Kept apart from [`crate::StateStore`]
//! so a backend adds it on its own, and marks never touch the roster objects' version.

use crate::{RunId, StateError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One mark sent (or refused, or exported).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkTransfer {
    pub run: RunId,
    /// RFC 3339 UTC.
    pub at: String,
    /// SIS class sourcedId.
    pub class: String,
    /// SIS student sourcedId.
    pub student: String,
    pub line_item_id: String,
    pub result_id: String,
    /// The value as written, e.g. `87.5` or `B+ (87.5)`.
    pub value: String,
    /// `override`, `final` or `current`.
    pub source: Option<String>,
    /// Where it went: `oneroster <gradebook URL>` or `csv <folder>`.
    pub target: String,
    /// `sent`, `rejected` or `exported`.
    pub outcome: String,
    pub message: Option<String>,
}

/// The marks side of a state store.
pub trait MarksStore {
    /// Appends transfers (all or nothing).
    fn record_mark_transfers(&mut self, transfers: &[MarkTransfer]) -> Result<(), StateError>;
    /// Transfers of one run, or the newest `limit` of all runs; newest run first, then in
    /// the order recorded.
    fn mark_transfers(
        &self,
        run: Option<RunId>,
        limit: usize,
    ) -> Result<Vec<MarkTransfer>, StateError>;
    /// For `target`: result sourcedId → the value of its last `sent` transfer.
    fn last_sent_marks(&self, target: &str) -> Result<BTreeMap<String, String>, StateError>;
}
