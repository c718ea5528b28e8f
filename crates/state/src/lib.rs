//! The state store seam.
//!
//! The state store remembers, for every Canvas object rosterbridge produced, the row it
//! last applied (and so its content hash), the applied status, the Canvas id once known,
//! whether rosterbridge created or adopted it, and the last outcome; plus the runs, and
//! the last source snapshot (so OneRoster delta files can be applied on top of it).
//!
//! It is a cache of what was applied, not the truth (design rule 7). Backends:
//! `rosterbridge-state-sqlite` (embedded default); PostgreSQL later, behind the same trait.
//!
//! The planner never talks to a store: the engine loads a [`StateSnapshot`] (a compact
//! index) and the [`StoredRecord`]s the planner asks for, and hands plain data over.

use rosterbridge_model::hash::KeyHash;
use rosterbridge_model::kind::{Kind, Row, Status};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

mod error;
mod marks;
mod ops;
pub use error::{StateError, StateErrorKind};
pub use marks::{MarkTransfer, MarksStore};
pub use ops::{HeldPlan, HeldStatus};

/// Identifies a record inside one store.
pub type RecordId = i64;
/// Identifies a run inside one store.
pub type RunId = i64;

/// Whether rosterbridge created an object in Canvas or adopted one that existed.
/// Only objects with an ownership are ever deactivated (design rule 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    Created,
    Adopted,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Created => "created",
            Ownership::Adopted => "adopted",
        }
    }
    pub fn parse(s: &str) -> Option<Ownership> {
        match s {
            "created" => Some(Ownership::Created),
            "adopted" => Some(Ownership::Adopted),
            _ => None,
        }
    }
}

/// One entry of the in-memory index: enough to decide "unchanged / changed / gone"
/// without loading rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub id: RecordId,
    pub kind: Kind,
    pub content_hash: u64,
    /// The status last applied (the `status` cell of the stored row).
    pub status: Status,
}

/// A compact index of everything the store holds, keyed by [`KeyHash`].
///
/// Entries are kept in record-id order, which is the order they were applied in, which
/// is the desired order of the plans that applied them: so the planner, walking the
/// desired state in its order, finds most objects right after the previous one
/// ([`StateSnapshot::find`] with a hint), reading memory sequentially. Other lookups go
/// through buckets of positions by the key's leading bits (key hashes are uniform, so a
/// bucket holds a few keys). About 44 bytes an object and no hashing to build, where a
/// hash map of the same 2M objects took twice the memory and most of the load time.
#[derive(Clone, Debug, Default)]
pub struct StateSnapshot {
    /// Increases with every successful [`StateStore::record_outcomes`]; a plan made
    /// against one version must not be applied against another.
    pub version: u64,
    keys: Vec<KeyHash>,
    entries: Vec<SnapshotEntry>,
    /// Positions grouped by bucket: `order[starts[b]..starts[b + 1]]` are the positions
    /// of the keys whose top `bits` bits are `b`.
    order: Vec<u32>,
    starts: Vec<u32>,
    bits: u32,
}

impl StateSnapshot {
    /// An index of these entries, one per key (stores enforce that), kept in record-id
    /// order (sorted here if they do not come that way).
    pub fn new(version: u64, mut pairs: Vec<(KeyHash, SnapshotEntry)>) -> StateSnapshot {
        if !pairs.is_sorted_by_key(|p| p.1.id) {
            pairs.sort_by_key(|p| p.1.id);
        }
        let (keys, entries): (Vec<KeyHash>, Vec<SnapshotEntry>) = pairs.into_iter().unzip();
        StateSnapshot::from_parts(version, keys, entries)
    }

    /// The same from parallel vectors (`keys[i]` is the key of `entries[i]`), without
    /// an intermediate vector of pairs: stores load millions of entries this way.
    pub fn from_parts(
        version: u64,
        keys: Vec<KeyHash>,
        entries: Vec<SnapshotEntry>,
    ) -> StateSnapshot {
        assert_eq!(keys.len(), entries.len(), "one key per entry");
        if !entries.is_sorted_by_key(|e| e.id) {
            let mut pairs: Vec<_> = keys.into_iter().zip(entries).collect();
            pairs.sort_by_key(|p| p.1.id);
            let (keys, entries) = pairs.into_iter().unzip();
            return StateSnapshot::from_parts(version, keys, entries);
        }
        let mut snap = StateSnapshot {
            version,
            keys,
            entries,
            order: Vec::new(),
            starts: Vec::new(),
            bits: 0,
        };
        snap.build_buckets();
        snap
    }

    /// [`StateSnapshot::from_parts`] with the bucket index a store kept from
    /// [`StateSnapshot::buckets`], which saves building it (a tenth of a second at 2.5M
    /// objects). An index that does not fit these keys (its sizes or positions) is not
    /// used: the index is built as usual.
    pub fn from_parts_with_buckets(
        version: u64,
        keys: Vec<KeyHash>,
        entries: Vec<SnapshotEntry>,
        order: Vec<u32>,
        starts: Vec<u32>,
    ) -> StateSnapshot {
        let n = keys.len();
        let bits = Self::bits_for(n);
        let fits = entries.len() == n
            && entries.is_sorted_by_key(|e| e.id)
            && order.len() == n
            && starts.len() == (1usize << bits) + 1
            && starts.first() == Some(&0)
            && starts.last().map(|&l| l as usize) == Some(n)
            && starts.is_sorted()
            && order.iter().all(|&p| (p as usize) < n);
        if !fits {
            return StateSnapshot::from_parts(version, keys, entries);
        }
        StateSnapshot {
            version,
            keys,
            entries,
            order,
            starts,
            bits,
        }
    }

    /// The bucket index (positions grouped by bucket, and where each bucket starts), for
    /// a store to keep beside the entries and give back to
    /// [`StateSnapshot::from_parts_with_buckets`].
    pub fn buckets(&self) -> (&[u32], &[u32]) {
        (&self.order, &self.starts)
    }

    /// Bits of the bucket number for `n` keys: about four keys per bucket.
    fn bits_for(n: usize) -> u32 {
        if n < 8 {
            0
        } else {
            (usize::BITS - (n / 4 - 1).leading_zeros()).min(24)
        }
    }

    fn build_buckets(&mut self) {
        let n = self.keys.len();
        self.bits = Self::bits_for(n);
        let buckets = 1usize << self.bits;
        let mut starts = vec![0u32; buckets + 1];
        for k in &self.keys {
            starts[self.bucket(*k) + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut fill = starts.clone();
        let mut order = vec![0u32; n];
        for (i, k) in self.keys.iter().enumerate() {
            let slot = &mut fill[self.bucket(*k)];
            order[*slot as usize] = i as u32;
            *slot += 1;
        }
        self.order = order;
        self.starts = starts;
    }

    fn bucket(&self, key: KeyHash) -> usize {
        if self.bits == 0 {
            0
        } else {
            (key.0 >> (128 - self.bits)) as usize
        }
    }

    /// The position of `key`, trying position `hint` first (pass the position after the
    /// previous hit; any value is safe).
    pub fn find(&self, key: KeyHash, hint: usize) -> Option<usize> {
        if self.keys.get(hint) == Some(&key) {
            return Some(hint);
        }
        if self.keys.is_empty() {
            return None;
        }
        let b = self.bucket(key);
        self.order[self.starts[b] as usize..self.starts[b + 1] as usize]
            .iter()
            .map(|&p| p as usize)
            .find(|&p| self.keys[p] == key)
    }

    /// The entry at a position [`StateSnapshot::find`] returned.
    pub fn at(&self, position: usize) -> &SnapshotEntry {
        &self.entries[position]
    }

    pub fn get(&self, key: KeyHash) -> Option<&SnapshotEntry> {
        self.find(key, usize::MAX).map(|i| &self.entries[i])
    }

    pub fn get_mut(&mut self, key: KeyHash) -> Option<&mut SnapshotEntry> {
        self.find(key, usize::MAX).map(|i| &mut self.entries[i])
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every entry with its key, in record-id order.
    pub fn iter(&self) -> impl Iterator<Item = (KeyHash, &SnapshotEntry)> {
        self.keys.iter().copied().zip(self.entries.iter())
    }

    /// Every entry, in record-id order.
    pub fn values(&self) -> impl Iterator<Item = &SnapshotEntry> {
        self.entries.iter()
    }

    /// Number of stored objects of a kind whose applied status is active.
    pub fn active_count(&self, kind: Kind) -> usize {
        self.entries
            .iter()
            .filter(|e| e.kind == kind && e.status.is_active())
            .count()
    }

    /// Active counts for every kind at once (one pass).
    pub fn active_counts(&self) -> FxHashMap<Kind, usize> {
        let mut counts = FxHashMap::default();
        for e in &self.entries {
            if e.status.is_active() {
                *counts.entry(e.kind).or_insert(0) += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    fn entry(id: i64) -> SnapshotEntry {
        SnapshotEntry {
            id,
            kind: Kind::Users,
            content_hash: id as u64 * 7,
            status: Status::Active,
        }
    }

    #[test]
    fn finds_every_key_and_no_other_with_any_hint() {
        for n in [0usize, 1, 2, 3, 7, 8, 17, 1000, 5000] {
            // Given out of id order: the index sorts them.
            let pairs: Vec<_> = (0..n)
                .rev()
                .map(|i| (KeyHash::of(Kind::Users, &format!("u{i}")), entry(i as i64)))
                .collect();
            let snap = StateSnapshot::new(3, pairs.clone());
            assert_eq!(snap.len(), n);
            assert!(snap.values().map(|e| e.id).is_sorted());
            for (k, e) in &pairs {
                assert_eq!(snap.get(*k), Some(e));
                for hint in [0, e.id as usize, e.id as usize + 1, n, usize::MAX] {
                    assert_eq!(
                        snap.find(*k, hint).map(|p| snap.at(p)),
                        Some(e),
                        "hint {hint}"
                    );
                }
            }
            for i in n..n + 200 {
                assert_eq!(snap.get(KeyHash::of(Kind::Users, &format!("u{i}"))), None);
                assert_eq!(
                    snap.find(KeyHash::of(Kind::Users, &format!("u{i}")), 0),
                    None
                );
            }
            // Extreme keys land in the first and last buckets.
            assert_eq!(snap.get(KeyHash(0)), None);
            assert_eq!(snap.get(KeyHash(u128::MAX)), None);
        }
    }

    #[test]
    fn a_kept_bucket_index_is_used_when_it_fits_and_rebuilt_when_it_does_not() {
        let n = 5000;
        let keys: Vec<KeyHash> = (0..n)
            .map(|i| KeyHash::of(Kind::Users, &format!("u{i}")))
            .collect();
        let entries: Vec<SnapshotEntry> = (0..n as i64).map(entry).collect();
        let built = StateSnapshot::from_parts(1, keys.clone(), entries.clone());
        let (order, starts) = built.buckets();
        let (order, starts) = (order.to_vec(), starts.to_vec());
        let finds_all = |snap: &StateSnapshot| {
            keys.iter()
                .zip(&entries)
                .all(|(k, e)| snap.get(*k) == Some(e))
                && snap.get(KeyHash::of(Kind::Users, "absent")).is_none()
        };

        let kept = StateSnapshot::from_parts_with_buckets(
            1,
            keys.clone(),
            entries.clone(),
            order.clone(),
            starts.clone(),
        );
        assert_eq!(kept.buckets(), built.buckets());
        assert!(finds_all(&kept));

        // Cut short, a position out of range, starts that go back, or the index of
        // another number of keys: not used, and the snapshot still finds every key.
        let mut far = order.clone();
        far[17] = n as u32;
        let mut back = starts.clone();
        back[3] = back[4] + 1;
        let other = StateSnapshot::from_parts(1, keys[..n / 2].to_vec(), entries[..n / 2].to_vec());
        let (other_order, other_starts) = other.buckets();
        for (o, s) in [
            (order[..n - 1].to_vec(), starts.clone()),
            (far, starts.clone()),
            (order.clone(), back),
            (other_order.to_vec(), other_starts.to_vec()),
        ] {
            let snap =
                StateSnapshot::from_parts_with_buckets(1, keys.clone(), entries.clone(), o, s);
            assert_eq!(snap.buckets(), built.buckets());
            assert!(finds_all(&snap));
        }
    }
}

/// A stored object in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub id: RecordId,
    pub kind: Kind,
    /// The SIS key (composite keys joined with U+001F, see `rosterbridge_model::hash`).
    pub key: String,
    /// The row last applied; its `status` cell is the applied status.
    pub row: Row,
    pub content_hash: u64,
    pub canvas_id: Option<i64>,
    pub ownership: Ownership,
    pub last_outcome: String,
    pub last_run: Option<RunId>,
}

/// What happened to one planned change; the store advances only for `Applied` ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    pub kind: Kind,
    pub key: String,
    /// The row as sent (its status cell is the new applied status).
    pub row: Row,
    /// `content_hash(&row)`.
    pub content_hash: u64,
    pub result: OutcomeResult,
    pub canvas_id: Option<i64>,
    /// Set on first contact: created by us, or adopted.
    pub ownership: Ownership,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OutcomeResult {
    /// Canvas (or the folder sink) accepted it; `how` says by which sink, e.g. "exported".
    Applied { how: String },
    /// Rejected: the record keeps its previous state and the change stays pending.
    Rejected { message: String },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Succeeded,
    NoChanges,
    Held,
    PartialFailure,
    Failed,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::NoChanges => "no_changes",
            RunOutcome::Held => "held",
            RunOutcome::PartialFailure => "partial_failure",
            RunOutcome::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<RunOutcome> {
        Some(match s {
            "running" => RunOutcome::Running,
            "succeeded" => RunOutcome::Succeeded,
            "no_changes" => RunOutcome::NoChanges,
            "held" => RunOutcome::Held,
            "partial_failure" => RunOutcome::PartialFailure,
            "failed" => RunOutcome::Failed,
            _ => return None,
        })
    }
}

/// A run as started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// `plan`, `apply`, `sync`, ...
    pub command: String,
    pub profile: Option<String>,
    /// RFC 3339 UTC timestamp; the caller owns the clock.
    pub started_at: String,
    /// `pid@host` of the process running it, to tell a dead run from a live one.
    #[serde(default)]
    pub owner: Option<String>,
}

/// A run as finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFinish {
    pub outcome: RunOutcome,
    pub ended_at: String,
    /// Plan summary and counts, as JSON.
    pub summary: serde_json::Value,
    /// Human-readable message (why held, why failed).
    pub message: Option<String>,
    /// Files written for audit (zips, import JSON), paths as strings.
    pub artifacts: Vec<String>,
}

/// A run as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    pub command: String,
    pub profile: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `pid@host` of the process that ran it (None for runs recorded before this existed).
    #[serde(default)]
    pub owner: Option<String>,
    pub outcome: RunOutcome,
    pub summary: serde_json::Value,
    pub message: Option<String>,
    pub artifacts: Vec<String>,
}

/// The previous source exchange, one table (file) at a time, for applying deltas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceTableSnapshot {
    /// File name, e.g. `users.csv`.
    pub file: String,
    /// The complete table as CSV bytes (header + rows), as last applied.
    pub csv: Vec<u8>,
}

/// The storage seam. Domain operations only; no SQL in the interface.
pub trait StateStore: Send {
    /// The compact index of every stored object.
    fn snapshot(&self) -> Result<StateSnapshot, StateError>;

    /// Full records for the given ids (any order in, same order out; unknown ids skipped).
    fn load_records(&self, ids: &[RecordId]) -> Result<Vec<StoredRecord>, StateError>;

    /// Records the outcomes of a run's changes. Fails with [`StateErrorKind::StaleVersion`]
    /// when the store's version is no longer `expected_version` (someone else applied in
    /// between) and then changes nothing. Rejected outcomes only update `last_outcome` of
    /// existing records. Returns the new version. All-or-nothing.
    fn record_outcomes(
        &mut self,
        run: RunId,
        expected_version: u64,
        outcomes: &[ChangeOutcome],
    ) -> Result<u64, StateError>;

    fn begin_run(&mut self, start: &RunStart) -> Result<RunId, StateError>;
    fn finish_run(&mut self, run: RunId, finish: &RunFinish) -> Result<(), StateError>;
    /// Newest first.
    fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StateError>;
    fn run(&self, id: RunId) -> Result<Option<RunRecord>, StateError>;

    /// The last source tables saved with [`StateStore::save_source_tables`].
    fn source_tables(&self) -> Result<Vec<SourceTableSnapshot>, StateError>;
    /// Only the named tables of the previous exchange (a bulk exchange needs none of it,
    /// and the stored tables of a state-wide roster are hundreds of megabytes).
    fn source_tables_named(&self, files: &[&str]) -> Result<Vec<SourceTableSnapshot>, StateError> {
        Ok(self
            .source_tables()?
            .into_iter()
            .filter(|t| files.contains(&t.file.as_str()))
            .collect())
    }
    /// Replaces the saved source tables named in `tables` (others are kept).
    fn save_source_tables(&mut self, tables: &[SourceTableSnapshot]) -> Result<(), StateError>;

    /// Stores a held plan (its `id` is ignored) and returns its id; every older plan still
    /// `held` becomes `superseded`.
    fn hold_plan(&mut self, plan: &HeldPlan) -> Result<i64, StateError>;
    fn held_plan(&self, id: i64) -> Result<Option<HeldPlan>, StateError>;
    fn set_held_plan_status(
        &mut self,
        id: i64,
        status: HeldStatus,
        applied_run: Option<RunId>,
    ) -> Result<(), StateError>;
    /// A small operational fact (e.g. when a notification was last sent).
    fn meta(&self, key: &str) -> Result<Option<String>, StateError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError>;
    /// The newest run of one of `commands` that succeeded or found nothing to do: "last
    /// synchronized". `profile`: of that profile only; `None`: of any profile (or none).
    fn last_success(
        &self,
        commands: &[&str],
        profile: Option<&str>,
    ) -> Result<Option<RunRecord>, StateError>;
}
