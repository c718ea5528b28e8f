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
    fn freed_small_allocations_between_live_ones_are_given_back() {
        // 64 MB of small allocations of which every 64th (and the last) stays: the freed
        // ones coalesce into free runs of whole pages that free() cannot return (live
        // chunks above them), as a dropped roster's pages under the desired state.
        let mut all: Vec<Option<Box<[u8; 200]>>> = (0..320_000)
            .map(|i| Some(Box::new([i as u8; 200])))
            .collect();
        let last = all.len() - 1;
        for (i, b) in all.iter_mut().enumerate() {
            if i % 64 != 0 && i != last {
                *b = None;
            }
        }
        let kept = rss_kb().unwrap_or(0);
        release_freed();
        let after = rss_kb().unwrap_or(u64::MAX);
        let live = all.iter().flatten().count();
        assert_eq!(live, 5_001);
        assert!(
            after + 24 * 1024 < kept,
            "resident after the frees {kept} kB, after release {after} kB"
        );
    }
}
