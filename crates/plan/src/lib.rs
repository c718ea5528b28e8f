//! The planner: what must change in Canvas so that it holds the desired state.
//!
//! Pure and deterministic, in two steps so that a state-wide snapshot never has to hold
//! full rows in memory:
//!
//! 1. [`diff`] compares every desired object's key and content hash with the
//!    [`StateSnapshot`] index and returns a [`Diff`]: which objects are new, changed,
//!    back, or gone, and which stored records it needs to say how.
//! 2. [`build`] takes those stored records and produces the [`Plan`]: ordered changes
//!    with old→new fields and a reason each, a summary per kind, and the safety verdict.

use rosterbridge_model::canvas::DesiredState;
use rosterbridge_model::hash::{content_hash, display_key, KeyHash};
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_model::SourceRef;
use rosterbridge_state::{RecordId, SnapshotEntry, StateSnapshot, StoredRecord};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod render;

/// What to do to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Reactivate,
    /// Suspend (users), conclude or inactivate (enrollments, courses).
    Deactivate,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Create, Action::Update, Action::Reactivate, Action::Deactivate, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
        }
    }

    /// Deactivations and deletions: what the safety threshold counts.
    pub fn is_removal(self) -> bool {
        matches!(self, Action::Deactivate | Action::Delete)
    }
}

/// What the planner does with objects that are gone from the source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemovalPolicy {
    /// Per kind: the status to send, or `None` to leave the object alone.
    pub status: BTreeMap<Kind, Option<Status>>,
}

impl Default for RemovalPolicy {
    /// Users suspended, enrollments deleted, observer links deleted; accounts, terms,
    /// courses and sections left alone.
    fn default() -> Self {
        let mut status = BTreeMap::new();
        status.insert(Kind::Accounts, None);
        status.insert(Kind::Terms, None);
        status.insert(Kind::Users, Some(Status::Suspended));
        status.insert(Kind::Courses, None);
        status.insert(Kind::Sections, None);
        status.insert(Kind::Enrollments, Some(Status::Deleted));
        status.insert(Kind::UserObservers, Some(Status::Deleted));
        RemovalPolicy { status }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanOptions {
    pub removal: RemovalPolicy,
    /// Hold the plan when removals of a kind exceed this percent of its existing active objects.
    pub max_removal_percent: f64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { removal: RemovalPolicy::default(), max_removal_percent: 10.0 }
    }
}

/// One field that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One planned change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    /// SIS key (composite keys joined with U+001F).
    pub key: String,
    pub action: Action,
    /// The Canvas CSV row to send.
    pub row: Row,
    pub content_hash: u64,
    /// Fields that change (empty for creates).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fields: Vec<FieldChange>,
    pub reason: String,
    /// The SIS row it came from, when it came from one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub src: Option<SourceRef>,
    /// The stored record it changes, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub record: Option<RecordId>,
}

/// Counts for one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSummary {
    pub create: usize,
    pub update: usize,
    pub reactivate: usize,
    pub deactivate: usize,
    pub delete: usize,
    /// Desired objects that need no change.
    pub unchanged: usize,
    /// Active objects of this kind in the state before the plan.
    pub existing: usize,
}

impl KindSummary {
    pub fn count(&self, action: Action) -> usize {
        match action {
            Action::Create => self.create,
            Action::Update => self.update,
            Action::Reactivate => self.reactivate,
            Action::Deactivate => self.deactivate,
            Action::Delete => self.delete,
        }
    }
    fn bump(&mut self, action: Action) {
        match action {
            Action::Create => self.create += 1,
            Action::Update => self.update += 1,
            Action::Reactivate => self.reactivate += 1,
            Action::Deactivate => self.deactivate += 1,
            Action::Delete => self.delete += 1,
        }
    }
    pub fn changes(&self) -> usize {
        Action::ALL.iter().map(|a| self.count(*a)).sum()
    }
    pub fn removals(&self) -> usize {
        self.deactivate + self.delete
    }
}

/// A kind whose removals exceed the threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: Kind,
    pub removals: usize,
    pub existing: usize,
    pub percent: f64,
    pub limit_percent: f64,
}

/// Whether the plan may be applied without an explicit override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Safety {
    pub held: bool,
    pub violations: Vec<Violation>,
}

/// A plan: data, rendered as text, JSON or Canvas CSV.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The state version it was made against; applying it against another is refused.
    pub base_version: u64,
    pub summary: BTreeMap<Kind, KindSummary>,
    pub safety: Safety,
    /// Creates/updates/reactivations in dependency order, then removals in reverse order.
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
    pub fn changes_of(&self, kind: Kind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }
}

/// A desired object that differs from what is stored.
#[derive(Clone, Copy, Debug)]
pub struct Changed {
    pub kind: Kind,
    pub index: u32,
    pub key_hash: KeyHash,
    pub content_hash: u64,
    pub stored: Option<SnapshotEntry>,
}

/// Result of step 1.
#[derive(Debug, Default)]
pub struct Diff {
    pub base_version: u64,
    pub changed: Vec<Changed>,
    /// Stored objects no longer desired, whose applied status is still live.
    pub gone: Vec<SnapshotEntry>,
    pub unchanged: BTreeMap<Kind, usize>,
    pub existing: BTreeMap<Kind, usize>,
}

impl Diff {
    /// Stored records [`build`] needs: the old rows of changed and gone objects.
    pub fn records_needed(&self) -> Vec<RecordId> {
        let mut ids: Vec<RecordId> =
            self.changed.iter().filter_map(|c| c.stored.map(|s| s.id)).chain(self.gone.iter().map(|g| g.id)).collect();
        ids.sort_unstable();
        ids
    }
}

/// Step 1: compare desired objects with the stored index by key and content hash.
pub fn diff(desired: &DesiredState, snapshot: &StateSnapshot) -> Diff {
    let mut out = Diff { base_version: snapshot.version, ..Default::default() };
    for (kind, n) in snapshot.active_counts() {
        out.existing.insert(kind, n);
    }
    let mut seen: FxHashSet<KeyHash> = FxHashSet::with_capacity_and_hasher(
        Kind::ALL.iter().map(|k| desired.len(*k)).sum(),
        Default::default(),
    );
    for kind in Kind::ALL {
        let n = desired.len(kind);
        // Rows and hashes are the expensive part; enrollments dominate, so split the
        // work across threads in fixed chunks (results are concatenated in order).
        let results = hash_all(desired, kind, n);
        let mut unchanged = 0;
        for (i, (key_hash, hash)) in results.into_iter().enumerate() {
            if !seen.insert(key_hash) {
                // Two desired objects with one key would be sent twice; mapping dedupes,
                // so this only guards against a mapping bug.
                continue;
            }
            let stored = snapshot.get(key_hash).copied();
            match stored {
                Some(s) if s.content_hash == hash => unchanged += 1,
                _ => out.changed.push(Changed { kind, index: i as u32, key_hash, content_hash: hash, stored }),
            }
        }
        out.unchanged.insert(kind, unchanged);
    }
    out.gone = snapshot
        .entries
        .iter()
        .filter(|(k, e)| e.status.is_active() && !seen.contains(k))
        .map(|(_, e)| *e)
        .collect();
    out.gone.sort_by_key(|e| e.id);
    out
}

fn hash_all(desired: &DesiredState, kind: Kind, n: usize) -> Vec<(KeyHash, u64)> {
    let one = |i: usize| {
        let key = desired.key(kind, i);
        (KeyHash::of(kind, &key), content_hash(&desired.row(kind, i)))
    };
    let threads = std::thread::available_parallelism().map(|p| p.get()).unwrap_or(1).min(8);
    if n < 50_000 || threads < 2 {
        return (0..n).map(one).collect();
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                s.spawn(move || (t * chunk..((t + 1) * chunk).min(n)).map(one).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

/// Step 2: the plan, given the stored records the diff asked for.
pub fn build(desired: &DesiredState, diff: &Diff, prior: &[StoredRecord], options: &PlanOptions) -> Plan {
    let prior_by_id: FxHashMap<RecordId, &StoredRecord> = prior.iter().map(|r| (r.id, r)).collect();
    let mut summary: BTreeMap<Kind, KindSummary> = Kind::ALL
        .iter()
        .map(|k| {
            (
                *k,
                KindSummary {
                    unchanged: diff.unchanged.get(k).copied().unwrap_or(0),
                    existing: diff.existing.get(k).copied().unwrap_or(0),
                    ..Default::default()
                },
            )
        })
        .collect();

    let mut changes: Vec<Change> = Vec::with_capacity(diff.changed.len() + diff.gone.len());
    for c in &diff.changed {
        let i = c.index as usize;
        let row = desired.row(c.kind, i);
        let key = desired.key(c.kind, i);
        let src = desired.src(c.kind, i);
        let new_status = row.status().unwrap_or(Status::Active);
        let old = c.stored.and_then(|s| prior_by_id.get(&s.id).copied());
        let (action, reason) = match c.stored {
            None => (Action::Create, "new in the source".to_string()),
            Some(s) if !s.status.is_active() && new_status.is_active() => {
                (Action::Reactivate, format!("back in the source (was {})", s.status))
            }
            Some(s) if s.status.is_active() && !new_status.is_active() => {
                (Action::Deactivate, format!("{} in the source", deactivation_cause(c.kind, new_status)))
            }
            Some(_) => (Action::Update, String::new()),
        };
        let fields = old.map(|o| field_changes(&o.row, &row)).unwrap_or_default();
        let reason = if action == Action::Update {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            format!("changed: {}", names.join(", "))
        } else {
            reason
        };
        summary.entry(c.kind).or_default().bump(action);
        changes.push(Change {
            kind: c.kind,
            key,
            action,
            row,
            content_hash: c.content_hash,
            fields,
            reason,
            src,
            record: c.stored.map(|s| s.id),
        });
    }

    for g in &diff.gone {
        let Some(status) = options.removal.status.get(&g.kind).copied().flatten() else { continue };
        let Some(old) = prior_by_id.get(&g.id) else { continue };
        let mut row = old.row.clone();
        row.set_status(status);
        let action = if status == Status::Deleted { Action::Delete } else { Action::Deactivate };
        summary.entry(g.kind).or_default().bump(action);
        changes.push(Change {
            kind: g.kind,
            key: old.key.clone(),
            action,
            content_hash: content_hash(&row),
            fields: field_changes(&old.row, &row),
            row,
            reason: format!("gone from the source ({status})"),
            src: None,
            record: Some(g.id),
        });
    }

    order_changes(&mut changes);

    let mut safety = Safety::default();
    for (kind, s) in &summary {
        let removals = s.removals();
        if removals == 0 || s.existing == 0 {
            continue;
        }
        let percent = removals as f64 * 100.0 / s.existing as f64;
        if percent > options.max_removal_percent {
            safety.violations.push(Violation {
                kind: *kind,
                removals,
                existing: s.existing,
                percent,
                limit_percent: options.max_removal_percent,
            });
        }
    }
    safety.held = !safety.violations.is_empty();

    Plan { base_version: diff.base_version, summary, safety, changes }
}

fn deactivation_cause(kind: Kind, status: Status) -> &'static str {
    match (kind, status) {
        (Kind::Users, Status::Suspended) => "disabled (enabledUser=false)",
        (_, Status::Deleted) => "deleted",
        _ => "deactivated",
    }
}

fn field_changes(old: &Row, new: &Row) -> Vec<FieldChange> {
    old.pairs()
        .zip(new.pairs())
        .filter(|((_, o), (_, n))| o != n)
        .map(|((field, o), (_, n))| FieldChange { field: field.to_string(), old: o.to_string(), new: n.to_string() })
        .collect()
}

/// Creates, updates and reactivations in dependency order (accounts parents first), then
/// removals in reverse dependency order; by key within a kind.
fn order_changes(changes: &mut [Change]) {
    let depth = account_depths(changes);
    changes.sort_by(|a, b| {
        let phase = |c: &Change| if c.action.is_removal() { 1 } else { 0 };
        let kind_rank = |c: &Change| {
            let r = Kind::ALL.iter().position(|k| *k == c.kind).unwrap_or(0);
            if c.action.is_removal() { Kind::ALL.len() - r } else { r }
        };
        let d = |c: &Change| if c.kind == Kind::Accounts { depth.get(c.key.as_str()).copied().unwrap_or(0) } else { 0 };
        (phase(a), kind_rank(a), d(a), &a.key).cmp(&(phase(b), kind_rank(b), d(b), &b.key))
    });
}

/// Depth of each account being written, so parents precede children in accounts.csv.
fn account_depths(changes: &[Change]) -> FxHashMap<String, usize> {
    let parents: FxHashMap<&str, &str> = changes
        .iter()
        .filter(|c| c.kind == Kind::Accounts)
        .map(|c| (c.key.as_str(), c.row.get("parent_account_id")))
        .collect();
    parents
        .keys()
        .map(|k| {
            let mut depth = 0;
            let mut cur = *k;
            while let Some(p) = parents.get(cur).filter(|p| !p.is_empty()) {
                depth += 1;
                cur = p;
                if depth > parents.len() {
                    break; // a cycle: Canvas reports it; do not loop
                }
            }
            (k.to_string(), depth)
        })
        .collect()
}

/// Renders a key for people (composite parts joined with ` / `).
pub fn display(key: &str) -> String {
    display_key(key)
}
