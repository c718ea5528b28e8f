//! The embedded SQLite state store.
//!
//! One database file per configuration (WAL mode). Schema migrations live in
//! `migrations/` and are append-only; the applied count is SQLite's `user_version`.
//! `kind` and `status` are stored as small integers because [`StateStore::snapshot`]
//! scans every row and must stay fast at millions of objects.

use rosterbridge_model::hash::KeyHash;
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_model::Str;
use rosterbridge_state::{
    ChangeOutcome, MarkTransfer, MarksStore, OutcomeResult, Ownership, RecordId, RunFinish, RunId,
    RunOutcome, RunRecord, RunStart, SnapshotEntry, SourceTableSnapshot, StateError,
    StateErrorKind, StateSnapshot, StateStore, StoredRecord,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// Migrations in order; index + 1 is the schema version after applying it.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_index_cache.sql"),
    include_str!("../migrations/0003_run_owner.sql"),
    include_str!("../migrations/0004_mark_transfers.sql"),
    include_str!("../migrations/0005_ops.sql"),
    include_str!("../migrations/0006_index_buckets.sql"),
];

mod ops;

/// Bytes per object in the cached index: key hash 16, id 8, content hash 8, kind 1, status 1.
const ENTRY: usize = 34;

/// A state index's bucket order as cached: the key positions by bucket, and the bucket starts.
type BucketOrder = (Vec<u32>, Vec<u32>);

/// Stored codes. Never renumber: the database keeps them.
fn kind_code(k: Kind) -> i64 {
    match k {
        Kind::Accounts => 1,
        Kind::Terms => 2,
        Kind::Users => 3,
        Kind::Courses => 4,
        Kind::Sections => 5,
        Kind::Enrollments => 6,
        Kind::UserObservers => 7,
    }
}

fn kind_from(code: i64) -> Option<Kind> {
    Some(match code {
        1 => Kind::Accounts,
        2 => Kind::Terms,
        3 => Kind::Users,
        4 => Kind::Courses,
        5 => Kind::Sections,
        6 => Kind::Enrollments,
        7 => Kind::UserObservers,
        _ => return None,
    })
}

fn status_code(s: Status) -> i64 {
    match s {
        Status::Active => 1,
        Status::Suspended => 2,
        Status::Completed => 3,
        Status::Inactive => 4,
        Status::Deleted => 5,
    }
}

fn status_from(code: i64) -> Option<Status> {
    Some(match code {
        1 => Status::Active,
        2 => Status::Suspended,
        3 => Status::Completed,
        4 => Status::Inactive,
        5 => Status::Deleted,
        _ => return None,
    })
}

fn backend(context: &str) -> impl Fn(rusqlite::Error) -> StateError + '_ {
    move |e| StateError::with_source(StateErrorKind::Backend, context.to_string(), e)
}

fn now() -> String {
    // The store does not own a clock for decisions; this is a record-keeping timestamp.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}

/// The SQLite state store.
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                return Err(StateError::new(
                    StateErrorKind::Open,
                    format!(
                        "the folder {} of the state database {} does not exist",
                        parent.display(),
                        path.display()
                    ),
                ));
            }
        }
        let conn = Connection::open(path).map_err(|e| {
            StateError::with_source(
                StateErrorKind::Open,
                format!("cannot open {}", path.display()),
                e,
            )
        })?;
        let mut store = SqliteStore {
            conn,
            path: Some(path.to_path_buf()),
        };
        store.init()?;
        Ok(store)
    }

    /// An empty store in memory.
    pub fn open_in_memory() -> Result<SqliteStore, StateError> {
        let conn = Connection::open_in_memory().map_err(|e| {
            StateError::with_source(StateErrorKind::Open, "cannot open an in-memory database", e)
        })?;
        let mut store = SqliteStore { conn, path: None };
        store.init()?;
        Ok(store)
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into())
    }

    fn init(&mut self) -> Result<(), StateError> {
        let name = self.name();
        let open_err = |e: rusqlite::Error| {
            StateError::with_source(
                StateErrorKind::Open,
                format!("{name} is not a usable SQLite database"),
                e,
            )
        };
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if version as usize > MIGRATIONS.len() {
            return Err(StateError::new(
                StateErrorKind::Schema,
                format!(
                    "{name} has schema version {version}, newer than this rosterbridge knows ({}); use a newer rosterbridge",
                    MIGRATIONS.len()
                ),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction()
                .map_err(backend("starting a migration"))?;
            tx.execute_batch(sql).map_err(|e| {
                StateError::with_source(
                    StateErrorKind::Schema,
                    format!("migration {} failed on {name}", i + 1),
                    e,
                )
            })?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(backend("recording the schema version"))?;
            tx.commit().map_err(backend("committing a migration"))?;
        }
        Ok(())
    }

    fn version(conn: &Connection) -> Result<u64, StateError> {
        let v: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
                r.get(0)
            })
            .map_err(backend("reading the state version"))?;
        v.parse().map_err(|_| {
            StateError::new(
                StateErrorKind::Corrupt,
                format!("state version {v:?} is not a number"),
            )
        })
    }
}

fn decode_row(id: RecordId, kind: Kind, json: &str) -> Result<Row, StateError> {
    let values: Vec<Str> = serde_json::from_str(json).map_err(|e| {
        StateError::with_source(
            StateErrorKind::Corrupt,
            format!("record {id}: stored row is not a JSON array of strings"),
            e,
        )
    })?;
    if values.len() != kind.columns().len() {
        return Err(StateError::new(
            StateErrorKind::Corrupt,
            format!(
                "record {id}: stored {kind} row has {} cells, expected {}",
                values.len(),
                kind.columns().len()
            ),
        ));
    }
    Ok(Row { kind, values })
}

fn encode_row(row: &Row) -> String {
    serde_json::to_string(&row.values).unwrap_or_else(|_| "[]".into())
}

/// The index cache blob as keys and entries; `None` when any entry is unreadable (an
/// unreadable cache is only a cache: the caller falls back to the table).
/// Decodes the index cache piece by piece (pieces of whole entries).
struct IndexDecoder {
    keys: Vec<KeyHash>,
    entries: Vec<SnapshotEntry>,
}

impl IndexDecoder {
    fn with_capacity(n: usize) -> Self {
        IndexDecoder {
            keys: Vec::with_capacity(n),
            entries: Vec::with_capacity(n),
        }
    }

    /// False when an entry is not one this version wrote (then the cache is ignored).
    fn push(&mut self, data: &[u8]) -> bool {
        for e in data.chunks_exact(ENTRY) {
            let mut key = [0u8; 16];
            key.copy_from_slice(&e[..16]);
            let mut id = [0u8; 8];
            id.copy_from_slice(&e[16..24]);
            let mut hash = [0u8; 8];
            hash.copy_from_slice(&e[24..32]);
            let (Some(kind), Some(status)) = (kind_from(e[32] as i64), status_from(e[33] as i64))
            else {
                return false;
            };
            self.keys.push(KeyHash::from_bytes(key));
            self.entries.push(SnapshotEntry {
                id: i64::from_le_bytes(id),
                kind,
                content_hash: u64::from_le_bytes(hash),
                status,
            });
        }
        true
    }

    fn finish(self) -> (Vec<KeyHash>, Vec<SnapshotEntry>) {
        (self.keys, self.entries)
    }
}

impl StateStore for SqliteStore {
    fn snapshot(&self) -> Result<StateSnapshot, StateError> {
        let version = Self::version(&self.conn)?;
        if let Some(snap) = Self::cached_index(&self.conn, version)? {
            return Ok(snap);
        }
        Self::scan_index(&self.conn, version)
    }

    fn load_records(&self, ids: &[RecordId]) -> Result<Vec<StoredRecord>, StateError> {
        self.load_records_impl(ids)
    }

    fn record_outcomes(
        &mut self,
        run: RunId,
        expected_version: u64,
        outcomes: &[ChangeOutcome],
    ) -> Result<u64, StateError> {
        self.record_outcomes_impl(run, expected_version, outcomes)
    }

    fn begin_run(&mut self, start: &RunStart) -> Result<RunId, StateError> {
        self.begin_run_impl(start)
    }

    fn finish_run(&mut self, run: RunId, finish: &RunFinish) -> Result<(), StateError> {
        self.finish_run_impl(run, finish)
    }

    fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        self.runs_impl(limit)
    }

    fn run(&self, id: RunId) -> Result<Option<RunRecord>, StateError> {
        self.run_impl(id)
    }

    fn source_tables(&self) -> Result<Vec<SourceTableSnapshot>, StateError> {
        self.source_tables_impl()
    }

    fn source_tables_named(&self, files: &[&str]) -> Result<Vec<SourceTableSnapshot>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT file, csv FROM source_tables WHERE file = ?1")
            .map_err(backend("reading source tables"))?;
        let mut out = Vec::new();
        for f in files {
            let t = stmt
                .query_row([f], |r| {
                    Ok(SourceTableSnapshot {
                        file: r.get(0)?,
                        csv: r.get(1)?,
                    })
                })
                .optional()
                .map_err(backend("reading source tables"))?;
            out.extend(t);
        }
        out.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(out)
    }

    fn save_source_tables(&mut self, tables: &[SourceTableSnapshot]) -> Result<(), StateError> {
        self.save_source_tables_impl(tables)
    }

    fn hold_plan(&mut self, plan: &rosterbridge_state::HeldPlan) -> Result<i64, StateError> {
        self.hold_plan_impl(plan)
    }

    fn held_plan(&self, id: i64) -> Result<Option<rosterbridge_state::HeldPlan>, StateError> {
        self.held_plan_impl(id)
    }

    fn set_held_plan_status(
        &mut self,
        id: i64,
        status: rosterbridge_state::HeldStatus,
        applied_run: Option<RunId>,
    ) -> Result<(), StateError> {
        self.set_held_plan_status_impl(id, status, applied_run)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.meta_impl(key)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        self.set_meta_impl(key, value)
    }

    fn last_success(
        &self,
        commands: &[&str],
        profile: Option<&str>,
    ) -> Result<Option<RunRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, command, profile, started_at, ended_at, outcome, summary, message, artifacts, owner FROM runs
                 WHERE outcome IN ('succeeded', 'no_changes') AND (?1 IS NULL OR profile = ?1) AND command IN (SELECT value FROM json_each(?2))
                 ORDER BY id DESC LIMIT 1",
            )
            .map_err(backend("finding the last successful run"))?;
        let commands = serde_json::to_string(commands).unwrap_or_else(|_| "[]".into());
        match stmt
            .query_row(params![profile, commands], run_from_row)
            .optional()
            .map_err(backend("finding the last successful run"))?
        {
            Some(r) => Ok(Some(r?)),
            None => Ok(None),
        }
    }
}

impl SqliteStore {
    /// Reads the blob of a cache table (`index_cache`, `index_buckets`) written for this
    /// state version, in pieces of `piece` bytes (a multiple of its record size), handing
    /// each to `take`. `None` when the row is missing, of another version, not a whole
    /// number of `record`-byte records, or when `take` refuses a piece. In pieces through
    /// SQLite's incremental blob I/O: reading the column whole would hold a second copy
    /// (~85 MB at 2.5M objects) while decoding.
    fn read_cache(
        conn: &Connection,
        table: &str,
        version: u64,
        record: usize,
        mut take: impl FnMut(usize, &[u8]) -> bool,
    ) -> Result<Option<()>, StateError> {
        let found: Option<(i64, i64, i64)> = conn
            .query_row(
                &format!("SELECT rowid, version, length(data) FROM {table} WHERE id = 1"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(backend("reading the index cache"))?;
        let Some((rowid, cached_version, len)) = found else {
            return Ok(None);
        };
        let len = len.max(0) as usize;
        if cached_version as u64 != version || !len.is_multiple_of(record) {
            return Ok(None);
        }
        let blob = conn
            .blob_open(rusqlite::MAIN_DB, table, "data", rowid, true)
            .map_err(backend("reading the index cache"))?;
        let mut chunk = vec![0u8; record * 16 * 1024];
        let mut offset = 0usize;
        while offset < len {
            let n = chunk.len().min(len - offset);
            blob.read_at_exact(&mut chunk[..n], offset)
                .map_err(backend("reading the index cache"))?;
            if !take(len / record, &chunk[..n]) {
                return Ok(None);
            }
            offset += n;
        }
        Ok(Some(()))
    }

    /// The index from the cache blob, if it was written for this state version.
    fn cached_index(conn: &Connection, version: u64) -> Result<Option<StateSnapshot>, StateError> {
        let mut decoder: Option<IndexDecoder> = None;
        let read = Self::read_cache(conn, "index_cache", version, ENTRY, |n, piece| {
            decoder
                .get_or_insert_with(|| IndexDecoder::with_capacity(n))
                .push(piece)
        })?;
        if read.is_none() {
            return Ok(None);
        }
        let (keys, entries) = decoder.map(IndexDecoder::finish).unwrap_or_default();
        // Written in id order, so this is a check, not a sort.
        Ok(Some(
            match Self::cached_buckets(conn, version, keys.len())? {
                Some((order, starts)) => {
                    StateSnapshot::from_parts_with_buckets(version, keys, entries, order, starts)
                }
                None => StateSnapshot::from_parts(version, keys, entries),
            },
        ))
    }

    /// The bucket order kept with the index cache of this version, for `n` keys:
    /// (positions, bucket starts).
    fn cached_buckets(
        conn: &Connection,
        version: u64,
        n: usize,
    ) -> Result<Option<BucketOrder>, StateError> {
        let (mut order, mut starts) = (Vec::new(), Vec::new());
        let read = Self::read_cache(conn, "index_buckets", version, 4, |words, piece| {
            if words <= n {
                return false;
            }
            order.reserve_exact(n.saturating_sub(order.len()));
            for w in piece.chunks_exact(4) {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                if order.len() < n {
                    order.push(v);
                } else {
                    starts.push(v);
                }
            }
            true
        })?;
        Ok(read.map(|()| (order, starts)))
    }

    /// Rewrites the index cache from the objects table (inside the caller's transaction).
    fn write_index_cache(conn: &Connection, version: u64) -> Result<(), StateError> {
        let snap = Self::scan_index(conn, version)?;
        let mut data = Vec::with_capacity(snap.len() * ENTRY);
        for (k, e) in snap.iter() {
            data.extend_from_slice(&k.to_bytes());
            data.extend_from_slice(&e.id.to_le_bytes());
            data.extend_from_slice(&e.content_hash.to_le_bytes());
            data.push(kind_code(e.kind) as u8);
            data.push(status_code(e.status) as u8);
        }
        conn.execute(
            "INSERT INTO index_cache (id, version, data) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data",
            params![version as i64, data],
        )
        .map_err(backend("writing the index cache"))?;
        drop(data);
        let (order, starts) = snap.buckets();
        let mut words = Vec::with_capacity((order.len() + starts.len()) * 4);
        for w in order.iter().chain(starts) {
            words.extend_from_slice(&w.to_le_bytes());
        }
        conn.execute(
            "INSERT INTO index_buckets (id, version, data) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data",
            params![version as i64, words],
        )
        .map_err(backend("writing the index cache"))?;
        Ok(())
    }

    /// The index, read row by row from the objects table.
    fn scan_index(conn: &Connection, version: u64) -> Result<StateSnapshot, StateError> {
        let count: i64 = conn
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
            .map_err(backend("counting objects"))?;
        let mut pairs = Vec::with_capacity(count.max(0) as usize);
        let mut stmt = conn
            .prepare_cached("SELECT id, key_hash, kind, status, content_hash FROM objects")
            .map_err(backend("reading the state index"))?;
        let mut rows = stmt.query([]).map_err(backend("reading the state index"))?;
        while let Some(r) = rows.next().map_err(backend("reading the state index"))? {
            let id: i64 = r.get(0).map_err(backend("reading the state index"))?;
            let key = r
                .get_ref(1)
                .map_err(backend("reading the state index"))?
                .as_blob()
                .map_err(|e| {
                    StateError::with_source(
                        StateErrorKind::Corrupt,
                        format!("record {id}: key hash is not a blob"),
                        e,
                    )
                })?;
            let key: [u8; 16] = key.try_into().map_err(|_| {
                StateError::new(
                    StateErrorKind::Corrupt,
                    format!("record {id}: key hash has {} bytes, not 16", key.len()),
                )
            })?;
            let kind = kind_from(r.get(2).map_err(backend("reading the state index"))?)
                .ok_or_else(|| {
                    StateError::new(
                        StateErrorKind::Corrupt,
                        format!("record {id}: unknown kind code"),
                    )
                })?;
            let status = status_from(r.get(3).map_err(backend("reading the state index"))?)
                .ok_or_else(|| {
                    StateError::new(
                        StateErrorKind::Corrupt,
                        format!("record {id}: unknown status code"),
                    )
                })?;
            let content_hash: i64 = r.get(4).map_err(backend("reading the state index"))?;
            pairs.push((
                KeyHash::from_bytes(key),
                SnapshotEntry {
                    id,
                    kind,
                    content_hash: content_hash as u64,
                    status,
                },
            ));
        }
        Ok(StateSnapshot::new(version, pairs))
    }

    fn load_records_impl(&self, ids: &[RecordId]) -> Result<Vec<StoredRecord>, StateError> {
        // One read transaction for all the lookups: each statement outside one starts and
        // ends its own (WAL locks, file size checks), which was most of their time.
        // Dropped at the end, it rolls back: nothing is written.
        let _read = if self.conn.is_autocommit() {
            Some(
                self.conn
                    .unchecked_transaction()
                    .map_err(backend("reading records"))?,
            )
        } else {
            None
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, kind, sis_key, row_json, content_hash, canvas_id, ownership, last_outcome, last_run FROM objects WHERE id = ?1",
            )
            .map_err(backend("reading records"))?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let raw = stmt
                .query_row([id], |r| {
                    Ok((
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                })
                .optional()
                .map_err(backend("reading records"))?;
            let Some((
                kind,
                key,
                row_json,
                content_hash,
                canvas_id,
                ownership,
                last_outcome,
                last_run,
            )) = raw
            else {
                continue;
            };
            let kind = kind_from(kind).ok_or_else(|| {
                StateError::new(
                    StateErrorKind::Corrupt,
                    format!("record {id}: unknown kind code {kind}"),
                )
            })?;
            let ownership = Ownership::parse(&ownership).ok_or_else(|| {
                StateError::new(
                    StateErrorKind::Corrupt,
                    format!("record {id}: unknown ownership {ownership:?}"),
                )
            })?;
            out.push(StoredRecord {
                id,
                kind,
                key,
                row: decode_row(id, kind, &row_json)?,
                content_hash: content_hash as u64,
                canvas_id,
                ownership,
                last_outcome,
                last_run,
            });
        }
        Ok(out)
    }

    fn record_outcomes_impl(
        &mut self,
        run: RunId,
        expected_version: u64,
        outcomes: &[ChangeOutcome],
    ) -> Result<u64, StateError> {
        let tx = self
            .conn
            .transaction()
            .map_err(backend("starting to record outcomes"))?;
        let current = Self::version(&tx)?;
        if current != expected_version {
            return Err(StateError::new(
                StateErrorKind::StaleVersion,
                format!("the plan was made against state version {expected_version}, but the state is now at {current}; plan again"),
            ));
        }
        let updated_at = now();
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO objects (key_hash, kind, status, content_hash, sis_key, row_json, canvas_id, ownership, last_outcome, last_run, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (key_hash) DO UPDATE SET
                        status = excluded.status,
                        content_hash = excluded.content_hash,
                        row_json = excluded.row_json,
                        canvas_id = COALESCE(excluded.canvas_id, objects.canvas_id),
                        last_outcome = excluded.last_outcome,
                        last_run = excluded.last_run,
                        updated_at = excluded.updated_at",
                )
                .map_err(backend("preparing to record outcomes"))?;
            let mut reject = tx
                .prepare_cached("UPDATE objects SET last_outcome = ?1, last_run = ?2, updated_at = ?3 WHERE key_hash = ?4")
                .map_err(backend("preparing to record outcomes"))?;
            for o in outcomes {
                let key_hash = KeyHash::of(o.kind, &o.key).to_bytes();
                match &o.result {
                    OutcomeResult::Applied { how } => {
                        let status = o.row.status().unwrap_or(Status::Active);
                        upsert
                            .execute(params![
                                key_hash.as_slice(),
                                kind_code(o.kind),
                                status_code(status),
                                o.content_hash as i64,
                                o.key,
                                encode_row(&o.row),
                                o.canvas_id,
                                o.ownership.as_str(),
                                format!("applied: {how}"),
                                run,
                                updated_at,
                            ])
                            .map_err(backend("recording an applied change"))?;
                    }
                    OutcomeResult::Rejected { message } => {
                        reject
                            .execute(params![
                                format!("rejected: {message}"),
                                run,
                                updated_at,
                                key_hash.as_slice()
                            ])
                            .map_err(backend("recording a rejected change"))?;
                    }
                }
            }
        }
        let next = current + 1;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'version'",
            [next.to_string()],
        )
        .map_err(backend("bumping the state version"))?;
        Self::write_index_cache(&tx, next)?;
        tx.commit().map_err(backend("committing outcomes"))?;
        Ok(next)
    }

    fn begin_run_impl(&mut self, start: &RunStart) -> Result<RunId, StateError> {
        self.conn
            .execute(
                "INSERT INTO runs (command, profile, started_at, outcome, owner) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![start.command, start.profile, start.started_at, RunOutcome::Running.as_str(), start.owner],
            )
            .map_err(backend("starting a run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn finish_run_impl(&mut self, run: RunId, finish: &RunFinish) -> Result<(), StateError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET ended_at = ?1, outcome = ?2, summary = ?3, message = ?4, artifacts = ?5 WHERE id = ?6",
                params![
                    finish.ended_at,
                    finish.outcome.as_str(),
                    finish.summary.to_string(),
                    finish.message,
                    serde_json::to_string(&finish.artifacts).unwrap_or_else(|_| "[]".into()),
                    run
                ],
            )
            .map_err(backend("finishing a run"))?;
        if n == 0 {
            return Err(StateError::new(
                StateErrorKind::Backend,
                format!("run {run} does not exist"),
            ));
        }
        Ok(())
    }

    fn runs_impl(&self, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, command, profile, started_at, ended_at, outcome, summary, message, artifacts, owner FROM runs ORDER BY id DESC LIMIT ?1")
            .map_err(backend("listing runs"))?;
        let rows = stmt
            .query_map([limit as i64], run_from_row)
            .map_err(backend("listing runs"))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(backend("listing runs"))??);
        }
        Ok(out)
    }

    fn run_impl(&self, id: RunId) -> Result<Option<RunRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, command, profile, started_at, ended_at, outcome, summary, message, artifacts, owner FROM runs WHERE id = ?1")
            .map_err(backend("reading a run"))?;
        match stmt
            .query_row([id], run_from_row)
            .optional()
            .map_err(backend("reading a run"))?
        {
            Some(r) => Ok(Some(r?)),
            None => Ok(None),
        }
    }

    fn source_tables_impl(&self) -> Result<Vec<SourceTableSnapshot>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT file, csv FROM source_tables ORDER BY file")
            .map_err(backend("reading source tables"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceTableSnapshot {
                    file: r.get(0)?,
                    csv: r.get(1)?,
                })
            })
            .map_err(backend("reading source tables"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(backend("reading source tables"))
    }

    fn save_source_tables_impl(
        &mut self,
        tables: &[SourceTableSnapshot],
    ) -> Result<(), StateError> {
        let tx = self
            .conn
            .transaction()
            .map_err(backend("saving source tables"))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO source_tables (file, csv) VALUES (?1, ?2) ON CONFLICT (file) DO UPDATE SET csv = excluded.csv")
                .map_err(backend("saving source tables"))?;
            for t in tables {
                stmt.execute(params![t.file, t.csv])
                    .map_err(backend("saving source tables"))?;
            }
        }
        tx.commit().map_err(backend("saving source tables"))
    }
}

type RunRow = Result<RunRecord, StateError>;

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let id: i64 = r.get(0)?;
    let outcome: String = r.get(5)?;
    let summary: String = r.get(6)?;
    let artifacts: String = r.get(8)?;
    let parsed = (|| {
        let outcome = RunOutcome::parse(&outcome).ok_or_else(|| {
            StateError::new(
                StateErrorKind::Corrupt,
                format!("run {id}: unknown outcome {outcome:?}"),
            )
        })?;
        let summary = serde_json::from_str(&summary).map_err(|e| {
            StateError::with_source(
                StateErrorKind::Corrupt,
                format!("run {id}: summary is not JSON"),
                e,
            )
        })?;
        let artifacts = serde_json::from_str(&artifacts).map_err(|e| {
            StateError::with_source(
                StateErrorKind::Corrupt,
                format!("run {id}: artifacts are not a JSON list"),
                e,
            )
        })?;
        Ok((outcome, summary, artifacts))
    })();
    Ok(match parsed {
        Ok((outcome, summary, artifacts)) => Ok(RunRecord {
            id,
            command: r.get(1)?,
            profile: r.get(2)?,
            started_at: r.get(3)?,
            ended_at: r.get(4)?,
            owner: r.get(9)?,
            outcome,
            summary,
            message: r.get(7)?,
            artifacts,
        }),
        Err(e) => Err(e),
    })
}

impl MarksStore for SqliteStore {
    fn record_mark_transfers(&mut self, transfers: &[MarkTransfer]) -> Result<(), StateError> {
        let tx = self
            .conn
            .transaction()
            .map_err(backend("starting to record mark transfers"))?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO mark_transfers (run_id, at, class, student, line_item_id, result_id, value, source, target, outcome, message) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(backend("preparing to record mark transfers"))?;
            for t in transfers {
                stmt.execute(params![
                    t.run,
                    t.at,
                    t.class,
                    t.student,
                    t.line_item_id,
                    t.result_id,
                    t.value,
                    t.source,
                    t.target,
                    t.outcome,
                    t.message
                ])
                .map_err(backend("recording a mark transfer"))?;
            }
        }
        tx.commit().map_err(backend("committing mark transfers"))
    }

    fn mark_transfers(
        &self,
        run: Option<RunId>,
        limit: usize,
    ) -> Result<Vec<MarkTransfer>, StateError> {
        let sql = "SELECT run_id, at, class, student, line_item_id, result_id, value, source, target, outcome, message FROM mark_transfers \
                   WHERE (?1 IS NULL OR run_id = ?1) ORDER BY run_id DESC, id ASC LIMIT ?2";
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(backend("reading mark transfers"))?;
        let rows = stmt
            .query_map(params![run, limit.min(i64::MAX as usize) as i64], |r| {
                Ok(MarkTransfer {
                    run: r.get(0)?,
                    at: r.get(1)?,
                    class: r.get(2)?,
                    student: r.get(3)?,
                    line_item_id: r.get(4)?,
                    result_id: r.get(5)?,
                    value: r.get(6)?,
                    source: r.get(7)?,
                    target: r.get(8)?,
                    outcome: r.get(9)?,
                    message: r.get(10)?,
                })
            })
            .map_err(backend("reading mark transfers"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(backend("reading mark transfers"))
    }

    fn last_sent_marks(
        &self,
        target: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, StateError> {
        // The latest sent transfer per result: ids increase, so the last one read wins.
        let mut stmt = self
            .conn
            .prepare("SELECT result_id, value FROM mark_transfers WHERE target = ?1 AND outcome = 'sent' ORDER BY id ASC")
            .map_err(backend("reading sent marks"))?;
        let rows = stmt
            .query_map(params![target], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(backend("reading sent marks"))?;
        let mut out = std::collections::BTreeMap::new();
        for row in rows {
            let (k, v) = row.map_err(backend("reading sent marks"))?;
            out.insert(k, v);
        }
        Ok(out)
    }
}
