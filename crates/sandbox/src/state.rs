//! Shared server state: configuration, the store, the throttle, and the SIS import queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

use crate::config::SandboxConfig;
use crate::error::ServeError;
use crate::persist::Db;
use crate::sis::batch::BatchState;
use crate::store::Store;
use crate::throttle::Throttle;

/// The store behind one lock. A poisoned lock (a panic mid-import) is recovered rather than
/// taking the whole sandbox down: the data is still consistent row by row.
#[derive(Clone)]
pub struct SharedStore {
    store: Arc<RwLock<Store>>,
    /// Set by every write lock; the persistence thread saves when it sees it.
    dirty: Arc<AtomicBool>,
}

impl SharedStore {
    pub fn new(store: Store) -> Self {
        SharedStore {
            store: Arc::new(RwLock::new(store)),
            dirty: Arc::new(AtomicBool::new(false)),
        }
    }
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.dirty.store(true, Ordering::Release);
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every handler gets. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub store: SharedStore,
    pub throttle: Throttle,
    /// Batches are processed one at a time in creation order, like Canvas's per-root-account
    /// job queue. The worker is a plain thread because import processing is CPU-bound.
    pub queue: std::sync::Mutex<mpsc::Sender<u64>>,
    /// Counts API requests, for deterministic fault injection.
    pub request_counter: std::sync::atomic::AtomicU64,
    pub db: Option<Arc<Db>>,
    pub oauth: crate::oauth::OAuth,
    /// Set by an abort: pending imports do not start before this instant.
    pub queue_hold: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl AppState {
    /// A fresh in-memory sandbox (root account 1, default term, built-in roles); `config.db`
    /// is ignored (use [`AppState::open`] for persistence).
    pub fn new(config: SandboxConfig) -> Self {
        Self::with_store(config, Store::new(), None)
    }

    /// A sandbox loaded from `config.db` when set (created on first use), else in memory.
    pub fn open(config: SandboxConfig) -> Result<Self, ServeError> {
        let Some(path) = config.db.clone() else {
            return Ok(Self::new(config));
        };
        let db = Arc::new(Db::new(&path));
        let store = db.load()?;
        let state = Self::with_store(config, store, Some(db.clone()));
        let weak = Arc::downgrade(&state.inner.store.store);
        let dirty = state.inner.store.dirty.clone();
        std::thread::Builder::new()
            .name("sandbox-persist".into())
            .spawn(move || save_loop(weak, dirty, db))
            .map_err(ServeError::Io)?;
        Ok(state)
    }

    /// Save now (on shutdown). A no-op for in-memory sandboxes.
    pub fn persist(&self) -> Result<(), ServeError> {
        if let Some(db) = &self.inner.db {
            self.inner.store.dirty.store(false, Ordering::Release);
            db.save(&self.inner.store.read())?;
        }
        Ok(())
    }

    fn with_store(config: SandboxConfig, store: Store, db: Option<Arc<Db>>) -> Self {
        let store = SharedStore::new(store);
        let (tx, rx) = mpsc::channel::<u64>();
        let worker_store = store.clone();
        let import_fault = config.faults.import_outcome;
        let queue_hold = Arc::new(std::sync::Mutex::new(None));
        let worker_hold = queue_hold.clone();
        // The thread ends when the last sender (this state) is dropped.
        std::thread::Builder::new()
            .name("sandbox-sis-import".into())
            .spawn(move || {
                for id in rx {
                    wait_turn(&worker_store, &worker_hold, id);
                    match import_fault {
                        None => crate::sis::process_batch(&worker_store, id),
                        Some(f) => crate::sis::fake_outcome(&worker_store, id, f),
                    }
                }
            })
            .ok();
        let throttle = Throttle::new(config.throttle.clone());
        let oauth_ttl = config.oauth_token_ttl;
        AppState {
            inner: Arc::new(Inner {
                config,
                store,
                throttle,
                queue: std::sync::Mutex::new(tx),
                request_counter: std::sync::atomic::AtomicU64::new(0),
                db,
                oauth: crate::oauth::OAuth::new(oauth_ttl),
                queue_hold,
            }),
        }
    }

    pub(crate) fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// After an abort: hold the queue for `abort_requeue_delay` when imports are waiting
    /// (Canvas only requeues when `needs_processing` batches exist).
    pub(crate) fn hold_queue_after_abort(&self, store: &Store, account: u64) {
        let waiting = store
            .batches
            .iter()
            .any(|b| b.account_id == account && b.workflow_state == BatchState::Created);
        if waiting {
            let until = Instant::now() + self.inner.config.abort_requeue_delay;
            *self
                .inner
                .queue_hold
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(until);
        }
    }

    pub(crate) fn enqueue(&self, batch_id: u64) {
        let tx = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(batch_id);
    }
}

/// Block the import worker until `batch_id` may start, as Canvas's per-account SIS job does:
/// not while another import of the account is importing (one that a fault left stuck, say),
/// and not before an abort's hold has passed. A batch that is no longer `created` (aborted
/// while it waited) goes through at once; `process_batch` then skips it.
fn wait_turn(store: &SharedStore, hold: &std::sync::Mutex<Option<Instant>>, batch_id: u64) {
    loop {
        let busy = {
            let s = store.read();
            let Some(b) = s.batch(batch_id) else { return };
            if b.workflow_state != BatchState::Created {
                return;
            }
            s.batches.iter().any(|o| {
                o.id != batch_id
                    && o.account_id == b.account_id
                    && matches!(
                        o.workflow_state,
                        BatchState::Importing | BatchState::CleanupBatch
                    )
            })
        };
        let held = hold
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| until > Instant::now());
        if !busy && !held {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Save about once a second while there are changes; ends when the sandbox is dropped.
fn save_loop(store: Weak<RwLock<Store>>, dirty: Arc<AtomicBool>, db: Arc<Db>) {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let Some(store) = store.upgrade() else { return };
        // A snapshot of a big store takes seconds under the read lock: wait until no import is
        // running rather than slowing it down (the final state is saved once it ends).
        let busy = {
            let guard = store.read().unwrap_or_else(|e| e.into_inner());
            guard.batches.iter().any(|b| {
                matches!(
                    b.workflow_state,
                    BatchState::Importing | BatchState::CleanupBatch
                )
            })
        };
        if !busy && dirty.swap(false, Ordering::AcqRel) {
            let guard = store.read().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = db.save(&guard) {
                // No logger in this crate: stderr is where the CLI's output goes.
                eprintln!("rosterbridge sandbox: could not save: {e}");
                dirty.store(true, Ordering::Release);
            }
        }
    }
}
