//! Canvas's per-client leaky bucket (canvas-rest.md §4).
//!
//! Before a request runs, `up_front_cost` is added; afterwards it is taken back and the real
//! cost added. The bucket leaks `outflow` units per second. A request is refused when the
//! bucket is already at or above the high-water mark.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::config::ThrottleConfig;

struct Bucket {
    count: f64,
    last: Instant,
}

pub struct Throttle {
    cfg: ThrottleConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Requests refused so far, all clients together (for `GET /sandbox/throttle`).
    refused: AtomicU64,
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttle {
            cfg,
            buckets: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        }
    }

    pub fn legacy_403(&self) -> bool {
        self.cfg.legacy_403
    }

    /// How many requests have been refused since the sandbox started.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn with_bucket<R>(&self, client: &str, f: impl FnOnce(&mut Bucket, &ThrottleConfig) -> R) -> R {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = map.entry(client.to_string()).or_insert_with(|| Bucket {
            count: 0.0,
            last: Instant::now(),
        });
        let now = Instant::now();
        let leaked = now.duration_since(b.last).as_secs_f64() * self.cfg.outflow;
        b.count = (b.count - leaked).max(0.0);
        b.last = now;
        f(b, &self.cfg)
    }

    /// Admit a request: `false` when the client is throttled.
    pub fn begin(&self, client: &str) -> bool {
        if !self.cfg.enabled {
            return true;
        }
        let admitted = self.with_bucket(client, |b, cfg| {
            if b.count >= cfg.high_water_mark {
                return false;
            }
            b.count += cfg.up_front_cost;
            true
        });
        if !admitted {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// Settle a finished request: returns (cost, remaining) for the response headers.
    pub fn end(&self, client: &str) -> (f64, f64) {
        if !self.cfg.enabled {
            return (0.0, self.cfg.high_water_mark);
        }
        self.with_bucket(client, |b, cfg| {
            b.count = (b.count - cfg.up_front_cost).max(0.0) + cfg.request_cost;
            (cfg.request_cost, cfg.high_water_mark - b.count)
        })
    }
}
