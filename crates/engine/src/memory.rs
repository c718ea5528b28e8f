//! Giving freed memory back to the system between the stages of a plan.
//!
//! glibc returns freed memory only from the top of each heap: after the roster (hundreds
//! of MB of small allocations at state-wide scale) is dropped, the pages below the first
//! live allocation above them stay resident, and the state index then loaded next to the
//! desired state adds to them. `malloc_trim(0)` hands every free page back (measured at
//! 200,000 students: 140 MB less resident while comparing; docs/benchmarks.md).

/// Asks the allocator to return the pages it holds free; whether it gave any back.
/// Safe at any time, but it locks each arena in turn (other threads' allocations wait
/// meanwhile), so call it between stages. Elsewhere than glibc it does nothing: those
/// allocators return memory themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed() -> bool {
    // SAFETY: malloc_trim takes no pointers and has no caller-side invariants; glibc
    // serialises it with every other allocator call.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident memory of this process, in kB (Linux).
    fn rss_kb() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_small_allocations_below_a_live_one_are_given_back() {
        // 64 MB of small allocations, then one that stays, then the 64 MB freed: glibc
        // keeps those pages (the live one pins the heap's top) until they are released.
        let mut many: Vec<Box<[u8; 200]>> =
            (0..320_000).map(|i| Box::new([i as u8; 200])).collect();
        let pin = Box::new([7u8; 64]);
        let before = rss_kb().unwrap_or(0);
        many.clear();
        many.shrink_to_fit();
        let kept = rss_kb().unwrap_or(0);
        assert!(release_freed(), "malloc_trim found nothing to give back");
        let after = rss_kb().unwrap_or(u64::MAX);
        assert_eq!(pin[0], 7);
        assert!(
            after + 32 * 1024 < kept,
            "resident before the free {before} kB, after it {kept} kB, after release {after} kB"
        );
    }
}
