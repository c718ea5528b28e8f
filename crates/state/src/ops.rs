//! Operational records: plans held by the safety checks, and small key/value facts.

use crate::RunId;
use serde::{Deserialize, Serialize};

/// Where a held plan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldStatus {
    /// Waiting for `rosterbridge approve`.
    Held,
    /// Approved and applied (by `applied_run`); an approval is used once.
    Applied,
    /// A later held plan replaced it, or the state moved on: it can no longer be applied.
    Superseded,
}

impl HeldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HeldStatus::Held => "held",
            HeldStatus::Applied => "applied",
            HeldStatus::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<HeldStatus> {
        Some(match s {
            "held" => HeldStatus::Held,
            "applied" => HeldStatus::Applied,
            "superseded" => HeldStatus::Superseded,
            _ => return None,
        })
    }
}

/// A plan the safety checks held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldPlan {
    pub id: i64,
    /// The run that held it.
    pub run: Option<RunId>,
    pub created_at: String,
    /// The state version it was made against.
    pub base_version: u64,
    /// `rosterbridge_plan::safety::fingerprint`, hex.
    pub fingerprint: String,
    pub summary: serde_json::Value,
    /// Why it was held, one line each.
    pub reasons: Vec<String>,
    pub status: HeldStatus,
    pub applied_run: Option<RunId>,
}
