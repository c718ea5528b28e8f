//! Unguessable-enough random tokens for a local test server (OAuth tokens, file uuids and
//! upload tokens): SipHash with random keys over a process-wide counter and the clock. Not for
//! production secrets.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// `words` × 16 lower-case hex digits.
pub fn random_hex(words: usize) -> String {
    // A fresh RandomState per call draws new keys, so tokens differ across restarts too.
    let keys = std::collections::hash_map::RandomState::new();
    let mut out = String::with_capacity(words * 16);
    for _ in 0..words {
        let mut h = keys.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}
