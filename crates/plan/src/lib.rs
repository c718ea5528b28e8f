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
use rosterbridge_model::hash::{content_hash, display_key};
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_model::SourceRef;
use rosterbridge_state::{RecordId, SnapshotEntry, StateSnapshot, StoredRecord};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod actions;
pub mod render;
pub mod safety;

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
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Update,
        Action::Reactivate,
        Action::Deactivate,
        Action::Delete,
    ];

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
        PlanOptions {
            removal: RemovalPolicy::default(),
            max_removal_percent: 10.0,
        }
    }
}

/// One field that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// Why a change is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Reason {
    /// Not in the state: new in the source.
    New,
    /// Fields differ from what was applied (see the change's fields).
    Changed,
    /// Was deactivated or deleted, and is in the source again.
    Back { was: Status },
    /// The source itself deactivated it (e.g. `enabledUser=false`).
    DisabledInSource { status: Status },
    /// Gone from the source; sent with this status.
    Gone { status: Status },
    /// Still in the source but outside `[mapping.scope]` or the profile's academic period;
    /// sent with this status.
    OutOfScope { status: Status },
}

impl Reason {
    pub fn describe(&self, kind: Kind, fields: &[FieldChange]) -> String {
        match self {
            Reason::New => "new in the source".into(),
            Reason::Changed => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                format!("changed: {}", names.join(", "))
            }
            Reason::Back { was } => format!("back in the source (was {was})"),
            Reason::DisabledInSource { status } => match (kind, status) {
                (Kind::Users, Status::Suspended) => {
                    "disabled in the source (enabledUser=false)".into()
                }
                _ => format!("{status} in the source"),
            },
            Reason::Gone { status } => format!("gone from the source ({status})"),
            Reason::OutOfScope { status } => format!("left the configured scope ({status})"),
        }
    }
}

/// What a change is about: a desired object (by index into [`Plan::desired`]) or a stored
/// one that is no longer desired (by index into [`Plan::removed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Desired(u32),
    Removed(u32),
}

/// One planned change. Compact (rows are rendered on demand from the plan), so that a
/// first plan of a state-wide district stays small.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    pub action: Action,
    pub reason: Reason,
    pub target: Target,
    /// Content hash of the row to send.
    pub content_hash: u64,
    /// The stored record it changes, if any.
    pub record: Option<RecordId>,
    /// Index into [`Plan::fields`] of the fields that change (updates, reactivations,
    /// removals); `None` for creates.
    pub fields: Option<u32>,
}

/// A stored object that is no longer desired: its key and the row to send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Removed {
    pub key: String,
    pub row: Row,
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
    /// Changes the configuration held back (see [`actions`]); not in `changes`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// Other reasons to hold (updates, scopes, guards); see [`safety::assess`].
    #[serde(default)]
    pub holds: Vec<safety::Hold>,
    /// Add-only windows and concluded sessions.
    #[serde(default)]
    pub adjustments: safety::Adjustments,
}

/// A plan: data, rendered as text, JSON or Canvas CSV. It owns the desired state its
/// changes point into, so it is self-contained.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The state version it was made against; applying it against another is refused.
    pub base_version: u64,
    pub summary: BTreeMap<Kind, KindSummary>,
    pub safety: Safety,
    /// Creates/updates/reactivations in dependency order, then removals in reverse order.
    pub changes: Vec<Change>,
    pub desired: DesiredState,
    pub removed: Vec<Removed>,
    pub fields: Vec<Vec<FieldChange>>,
    /// Changes the configuration does not allow, with the reason (never sent).
    pub skipped: Vec<actions::Skipped>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn changes_of(&self, kind: Kind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }

    /// The Canvas CSV row a change sends.
    pub fn row(&self, c: &Change) -> Row {
        match c.target {
            Target::Desired(i) => self.desired.row(c.kind, i as usize),
            Target::Removed(i) => self.removed[i as usize].row.clone(),
        }
    }

    /// The SIS key of a change (composite keys joined with U+001F).
    pub fn key(&self, c: &Change) -> String {
        match c.target {
            Target::Desired(i) => self.desired.key(c.kind, i as usize),
            Target::Removed(i) => self.removed[i as usize].key.clone(),
        }
    }

    /// The SIS row a change came from, when known.
    pub fn src(&self, c: &Change) -> Option<SourceRef> {
        match c.target {
            Target::Desired(i) => self.desired.src(c.kind, i as usize),
            Target::Removed(_) => None,
        }
    }

    pub fn fields(&self, c: &Change) -> &[FieldChange] {
        c.fields
            .map(|i| self.fields[i as usize].as_slice())
            .unwrap_or(&[])
    }

    pub fn reason(&self, c: &Change) -> String {
        c.reason.describe(c.kind, self.fields(c))
    }
}

/// A desired object that differs from what is stored. Kept small: a first plan of a
/// state-wide roster has one for each of 11M objects.
#[derive(Clone, Copy, Debug)]
pub struct Changed {
    pub kind: Kind,
    pub index: u32,
    pub content_hash: u64,
    pub stored: Option<Stored>,
}

/// What the diff needs to know of a stored object: which record, and its applied status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub id: RecordId,
    pub status: Status,
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
        let mut ids: Vec<RecordId> = self
            .changed
            .iter()
            .filter_map(|c| c.stored.map(|s| s.id))
            .chain(self.gone.iter().map(|g| g.id))
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// What one worker found in its slice of a kind.
struct Part {
    changed: Vec<Changed>,
    matched: Vec<RecordId>,
    unchanged: usize,
}

/// Step 1: compare desired objects with the stored index by key and content hash.
pub fn diff(desired: &DesiredState, snapshot: &StateSnapshot) -> Diff {
    let mut out = Diff {
        base_version: snapshot.version,
        ..Default::default()
    };
    for (kind, n) in snapshot.active_counts() {
        out.existing.insert(kind, n);
    }
    let mut matched: Vec<RecordId> = Vec::new();
    for kind in Kind::ALL {
        let mut unchanged = 0;
        for part in compare_kind(desired, snapshot, kind) {
            out.changed.extend(part.changed);
            matched.extend(part.matched);
            unchanged += part.unchanged;
        }
        out.unchanged.insert(kind, unchanged);
    }
    // Stored objects nobody matched are gone. Record ids are dense, so a bitset is the
    // cheapest "seen" set.
    if matched.len() < snapshot.len() {
        let max = snapshot.values().map(|e| e.id).max().unwrap_or(0).max(0) as usize;
        let mut seen = vec![0u64; max / 64 + 1];
        for id in matched {
            if id >= 0 {
                seen[id as usize / 64] |= 1 << (id as usize % 64);
            }
        }
        let is_seen =
            |id: RecordId| id >= 0 && seen[id as usize / 64] & (1 << (id as usize % 64)) != 0;
        out.gone = snapshot
            .values()
            .filter(|e| e.status.is_active() && !is_seen(e.id))
            .copied()
            .collect();
        out.gone.sort_by_key(|e| e.id);
    }
    out
}

fn compare_kind(desired: &DesiredState, snapshot: &StateSnapshot, kind: Kind) -> Vec<Part> {
    let n = desired.len(kind);
    let work = |range: std::ops::Range<usize>| {
        let mut part = Part {
            changed: Vec::new(),
            matched: Vec::with_capacity(range.len()),
            unchanged: 0,
        };
        let mut buf = Vec::with_capacity(256);
        // The store keeps objects in the order they were applied: the next one is
        // usually right after the last one found.
        let mut hint = usize::MAX;
        for i in range {
            let (key_hash, hash) = desired.hashes(kind, i, &mut buf);
            let stored = snapshot.find(key_hash, hint).map(|p| {
                hint = p + 1;
                *snapshot.at(p)
            });
            if let Some(s) = stored {
                part.matched.push(s.id);
                if s.content_hash == hash {
                    part.unchanged += 1;
                    continue;
                }
            }
            part.changed.push(Changed {
                kind,
                index: i as u32,
                content_hash: hash,
                stored: stored.map(|s| Stored {
                    id: s.id,
                    status: s.status,
                }),
            });
        }
        part
    };
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .min(8);
    if n < 20_000 || threads < 2 {
        return vec![work(0..n)];
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || work(t * chunk..((t + 1) * chunk).min(n))))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Step 2: the plan, given the stored records the diff asked for. Takes ownership of the
/// desired state so that the plan is self-contained, and of the diff, whose memory it
/// gives back as the plan grows (a first plan of a state-wide district holds millions).
pub fn build(
    desired: DesiredState,
    diff: Diff,
    prior: &[StoredRecord],
    options: &PlanOptions,
) -> Plan {
    let Diff {
        base_version,
        mut changed,
        gone,
        unchanged,
        existing,
    } = diff;
    let prior_by_id: FxHashMap<RecordId, &StoredRecord> = prior.iter().map(|r| (r.id, r)).collect();
    let mut summary: BTreeMap<Kind, KindSummary> = Kind::ALL
        .iter()
        .map(|k| {
            (
                *k,
                KindSummary {
                    unchanged: unchanged.get(k).copied().unwrap_or(0),
                    existing: existing.get(k).copied().unwrap_or(0),
                    ..Default::default()
                },
            )
        })
        .collect();

    let mut changes: Vec<Change> = Vec::with_capacity(changed.len() + gone.len());
    let mut fields_table: Vec<Vec<FieldChange>> = Vec::new();
    let mut removed: Vec<Removed> = Vec::new();
    // From the back, shrinking the diff every million changes, so that the diff's and
    // the plan's lists (32 and 48 bytes an object) are not both held whole.
    let mut taken = 0usize;
    while let Some(c) = changed.pop() {
        taken += 1;
        if taken.is_multiple_of(1 << 20) {
            changed.shrink_to_fit();
        }
        let (action, reason) = match c.stored {
            None => (Action::Create, Reason::New),
            Some(s) => {
                let new_status = desired
                    .row(c.kind, c.index as usize)
                    .status()
                    .unwrap_or(Status::Active);
                if !s.status.is_active() && new_status.is_active() {
                    (Action::Reactivate, Reason::Back { was: s.status })
                } else if s.status.is_active() && !new_status.is_active() {
                    (
                        Action::Deactivate,
                        Reason::DisabledInSource { status: new_status },
                    )
                } else {
                    (Action::Update, Reason::Changed)
                }
            }
        };
        let fields = c.stored.and_then(|s| prior_by_id.get(&s.id)).map(|old| {
            fields_table.push(field_changes(
                &old.row,
                &desired.row(c.kind, c.index as usize),
            ));
            (fields_table.len() - 1) as u32
        });
        summary.entry(c.kind).or_default().bump(action);
        changes.push(Change {
            kind: c.kind,
            action,
            reason,
            target: Target::Desired(c.index),
            content_hash: c.content_hash,
            record: c.stored.map(|s| s.id),
            fields,
        });
    }
    drop(changed);
    // Back into the diff's order; fields were numbered from the back too.
    changes.reverse();
    fields_table.reverse();
    let numbered = fields_table.len() as u32;
    for c in &mut changes {
        if let Some(f) = c.fields.as_mut() {
            *f = numbered - 1 - *f;
        }
    }

    for g in &gone {
        let Some(status) = options.removal.status.get(&g.kind).copied().flatten() else {
            continue;
        };
        let Some(old) = prior_by_id.get(&g.id) else {
            continue;
        };
        let mut row = old.row.clone();
        row.set_status(status);
        let action = if status == Status::Deleted {
            Action::Delete
        } else {
            Action::Deactivate
        };
        summary.entry(g.kind).or_default().bump(action);
        fields_table.push(field_changes(&old.row, &row));
        changes.push(Change {
            kind: g.kind,
            action,
            reason: Reason::Gone { status },
            target: Target::Removed(removed.len() as u32),
            content_hash: content_hash(&row),
            record: Some(g.id),
            fields: Some((fields_table.len() - 1) as u32),
        });
        removed.push(Removed {
            key: old.key.clone(),
            row,
        });
    }

    let safety = safety(&summary, options.max_removal_percent);

    let mut plan = Plan {
        base_version,
        summary,
        safety,
        changes,
        desired,
        removed,
        fields: fields_table,
        skipped: Vec::new(),
    };
    order_changes(&mut plan);
    plan
}

/// The safety verdict of a summary: kinds whose removals exceed the threshold.
pub fn safety(summary: &BTreeMap<Kind, KindSummary>, max_removal_percent: f64) -> Safety {
    let mut safety = Safety::default();
    for (kind, s) in summary {
        let removals = s.removals();
        if removals == 0 || s.existing == 0 {
            continue;
        }
        let percent = removals as f64 * 100.0 / s.existing as f64;
        if percent > max_removal_percent {
            safety.violations.push(Violation {
                kind: *kind,
                removals,
                existing: s.existing,
                percent,
                limit_percent: max_removal_percent,
            });
        }
    }
    safety.held = !safety.violations.is_empty();
    safety
}

fn field_changes(old: &Row, new: &Row) -> Vec<FieldChange> {
    old.pairs()
        .zip(new.pairs())
        .filter(|((_, o), (_, n))| o != n)
        .map(|((field, o), (_, n))| FieldChange {
            field: field.to_string(),
            old: o.to_string(),
            new: n.to_string(),
        })
        .collect()
}

/// Creates, updates and reactivations in dependency order (account parents first), then
/// removals in reverse dependency order. Within a kind: desired objects in their (source,
/// deterministic) order, removals by key. No string sort over the whole plan.
fn order_changes(plan: &mut Plan) {
    let depth = account_depths(plan);
    let removed = &plan.removed;
    // Every change has its own place in this order (one change per object, removed keys
    // are unique), so an in-place unstable sort gives the same order as a stable one
    // without a scratch copy of half the plan.
    plan.changes.sort_unstable_by(|a, b| {
        let phase = |c: &Change| c.action.is_removal() as u8;
        let kind_rank = |c: &Change| {
            let r = Kind::ALL.iter().position(|k| *k == c.kind).unwrap_or(0);
            if c.action.is_removal() {
                Kind::ALL.len() - r
            } else {
                r
            }
        };
        let d = |c: &Change| match c.target {
            Target::Desired(i) if c.kind == Kind::Accounts => {
                depth.get(i as usize).copied().unwrap_or(0)
            }
            _ => 0,
        };
        let first = (phase(a), kind_rank(a), d(a)).cmp(&(phase(b), kind_rank(b), d(b)));
        first.then_with(|| match (a.target, b.target) {
            (Target::Desired(x), Target::Desired(y)) => x.cmp(&y),
            (Target::Removed(x), Target::Removed(y)) => {
                removed[x as usize].key.cmp(&removed[y as usize].key)
            }
            (Target::Desired(_), Target::Removed(_)) => std::cmp::Ordering::Less,
            (Target::Removed(_), Target::Desired(_)) => std::cmp::Ordering::Greater,
        })
    });
}

/// Depth of each desired account, so parents precede children in accounts.csv.
fn account_depths(plan: &Plan) -> Vec<usize> {
    let accounts = &plan.desired.accounts;
    let index: FxHashMap<&str, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.sis_id.as_str(), i))
        .collect();
    (0..accounts.len())
        .map(|i| {
            let mut depth = 0;
            let mut cur = i;
            while let Some(p) = accounts[cur]
                .parent
                .as_ref()
                .and_then(|p| index.get(p.as_str()))
            {
                depth += 1;
                cur = *p;
                if depth > accounts.len() {
                    break; // a cycle: Canvas reports it; do not loop
                }
            }
            depth
        })
        .collect()
}

/// Renders a key for people (composite parts joined with ` / `).
pub fn display(key: &str) -> String {
    display_key(key)
}
