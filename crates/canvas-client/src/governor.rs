//! Pacing against Canvas's per-token leaky bucket.
//!
//! Canvas charges every request an up-front cost while it runs and its real cost when it
//! ends; the bucket leaks at a fixed rate and requests are refused (429, or the older 403
//! "Rate Limit Exceeded") once it is full. Every response says how much room is left
//! (`X-Rate-Limit-Remaining`) and what the request cost (`X-Request-Cost`).
//!
//! The governor keeps an estimate of the bucket's level from those headers, lets it leak
//! between responses, and admits a request only when the level plus the up-front charge of
//! everything in flight stays below the bucket's size with a reserve. So a long run settles
//! at the leak rate instead of bouncing off the limit. Until the first response has told
//! the bucket's size, one request at a time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the client assumes about the bucket until responses say otherwise.
#[derive(Clone, Debug)]
pub struct PacingOptions {
    /// Most requests in flight at once.
    pub max_concurrency: u32,
    /// Assumed leak rate, units per second (Canvas's default is 10). Assuming less than
    /// the server leaks only costs speed; assuming more is corrected by throttled answers.
    pub leak_per_sec: f64,
    /// Canvas's up-front charge per running request (50).
    pub up_front_cost: f64,
    /// Extra room kept free, in units.
    pub reserve: f64,
}

impl Default for PacingOptions {
    fn default() -> Self {
        PacingOptions {
            max_concurrency: 8,
            leak_per_sec: 10.0,
            up_front_cost: 50.0,
            reserve: 25.0,
        }
    }
}

#[derive(Debug)]
struct State {
    /// Estimated units in the bucket at `at`.
    level: f64,
    at: Instant,
    /// Bucket size as learnt from responses (None until the first one).
    size: Option<f64>,
    leak: f64,
    in_flight: u32,
    /// Requests admitted since the last observation: their up-front charge is not in
    /// `level` yet (the others' is, in the remainder Canvas reported).
    unseen: u32,
    stats: PacingStats,
}

/// Counters for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PacingStats {
    pub requests: u64,
    pub throttled: u64,
    pub retries: u64,
    /// Sum of `X-Request-Cost` seen.
    pub cost: f64,
    /// Time spent waiting for room in the bucket.
    pub waited_ms: u64,
}

#[derive(Debug)]
pub struct Governor {
    options: PacingOptions,
    state: Mutex<State>,
}

/// Holds a place among the requests in flight; released on drop.
pub struct Admission<'a> {
    governor: &'a Governor,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut s = self.governor.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

impl Governor {
    pub fn new(options: PacingOptions) -> Governor {
        let leak = options.leak_per_sec.max(0.1);
        Governor {
            options,
            state: Mutex::new(State {
                level: 0.0,
                at: Instant::now(),
                size: None,
                leak,
                in_flight: 0,
                unseen: 0,
                stats: PacingStats::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain numbers behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> PacingStats {
        self.lock().stats
    }

    /// Waits until a request may start.
    pub async fn admit(&self) -> Admission<'_> {
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                let leaked = now.duration_since(s.at).as_secs_f64() * s.leak;
                s.level = (s.level - leaked).max(0.0);
                s.at = now;
                let up_front = self.options.up_front_cost;
                let reserve = self.options.reserve;
                let wait_units = match s.size {
                    None if s.in_flight == 0 => 0.0,
                    // Unknown size: one at a time until a response tells it.
                    None => 1.0,
                    Some(_) if s.in_flight >= self.options.max_concurrency.max(1) => 1.0,
                    Some(size) if s.in_flight == 0 => {
                        // Alone: wait only for the level to fall below the reserve line, so
                        // progress never depends on the size estimate being right.
                        (s.level - (size - reserve).max(0.0)).max(0.0)
                    }
                    Some(size) => {
                        (s.level + f64::from(s.unseen.min(s.in_flight) + 1) * up_front + reserve
                            - size)
                            .max(0.0)
                    }
                };
                if wait_units <= 0.0 {
                    s.in_flight += 1;
                    s.unseen += 1;
                    s.stats.requests += 1;
                    return Admission { governor: self };
                }
                Duration::from_secs_f64((wait_units / s.leak).clamp(0.005, 1.0))
            };
            self.lock().stats.waited_ms += wait.as_millis() as u64;
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes in the headers of a response.
    pub fn observe(&self, remaining: Option<f64>, cost: Option<f64>) {
        let mut s = self.lock();
        if let Some(c) = cost {
            s.stats.cost += c;
        }
        // Some servers report a negative remainder once a request overfills the bucket.
        if let Some(r) = remaining.map(|r| r.max(0.0)) {
            // Remaining is measured with the other running requests' up-front charges in
            // it; the estimate keeps them in, which only lowers the level we settle at.
            let others = f64::from(s.in_flight.saturating_sub(1)) * self.options.up_front_cost;
            let size_seen = r + cost.unwrap_or(0.0) + others;
            s.size = Some(s.size.map_or(size_seen, |old| old.max(size_seen)));
            let size = s.size.unwrap_or(size_seen);
            s.level = (size - r).max(0.0);
            s.at = Instant::now();
            s.unseen = 0;
        }
    }

    /// A throttled response: the bucket is full (someone else may be filling it too).
    pub fn throttled(&self) {
        let mut s = self.lock();
        s.stats.throttled += 1;
        if let Some(size) = s.size {
            s.level = size;
        }
        s.at = Instant::now();
    }

    pub fn retried(&self) {
        self.lock().stats.retries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_request_at_a_time_until_the_bucket_size_is_known() {
        let g = Governor::new(PacingOptions::default());
        let a = g.admit().await;
        let second = tokio::time::timeout(Duration::from_millis(50), g.admit()).await;
        assert!(
            second.is_err(),
            "a second request was admitted before any response"
        );
        drop(a);
        let _b = tokio::time::timeout(Duration::from_millis(50), g.admit())
            .await
            .expect("admitted after release");
    }

    #[tokio::test]
    async fn a_nearly_full_bucket_makes_the_next_request_wait_for_the_leak() {
        let g = Governor::new(PacingOptions {
            leak_per_sec: 100.0,
            ..PacingOptions::default()
        });
        {
            let _a = g.admit().await;
            g.observe(Some(699.0), Some(1.0)); // an empty bucket of 700
        }
        {
            let _a = g.admit().await;
            // Only 5 left: the next request waits until the level is below 675 (~0.2 s).
            g.observe(Some(5.0), Some(1.0));
        }
        let start = Instant::now();
        let _b = g.admit().await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(150),
            "admitted after {waited:?}"
        );
        assert!(g.stats().waited_ms > 0);
    }

    #[tokio::test]
    async fn a_size_learnt_from_a_full_bucket_still_lets_requests_through() {
        let g = Governor::new(PacingOptions {
            leak_per_sec: 1000.0,
            ..PacingOptions::default()
        });
        {
            let _a = g.admit().await;
            g.observe(Some(5.0), Some(1.0)); // first answer from an already full bucket
        }
        tokio::time::timeout(Duration::from_secs(2), g.admit())
            .await
            .expect("admitted once the level leaks away");
    }

    #[tokio::test]
    async fn an_empty_bucket_admits_several_requests_at_once() {
        let g = Governor::new(PacingOptions::default());
        {
            let _a = g.admit().await;
            g.observe(Some(699.0), Some(1.0));
        }
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(
                tokio::time::timeout(Duration::from_millis(20), g.admit())
                    .await
                    .expect("admitted at once"),
            );
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(20), g.admit())
                .await
                .is_err(),
            "more than max_concurrency admitted"
        );
    }
}
