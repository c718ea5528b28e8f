//! One run at a time per configuration: a lock file beside the state database
//! (`<state>.lock`) holding `pid@host` and the process's start time.
//!
//! The file is created exclusively (`O_EXCL`), so two processes cannot both take it. A lock
//! left by a process that no longer exists on this host (killed, crashed, machine
//! restarted; the start time tells a recycled pid apart) is stale: it is taken over and the
//! taker is told. A lock held by a live process, or by another host, refuses the run.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another run of this configuration is in progress ({owner}, since {since}); lock file {path}")]
    Busy {
        path: PathBuf,
        owner: String,
        since: String,
    },
    #[error("cannot take the run lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock, released (file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// The stale lock that was taken over, if any (`pid@host since …`).
    pub took_over: Option<String>,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "rosterbridge".into());
    name.push(".lock");
    state.with_file_name(name)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), to
/// tell a recycled pid from the original process.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What a lock file says.
#[derive(Debug, PartialEq, Eq)]
struct Owner {
    pid: u32,
    host: String,
    start: Option<u64>,
    since: String,
}

impl Owner {
    fn parse(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        let (pid, host) = lines.next()?.trim().split_once('@')?;
        let start = lines.next().and_then(|l| l.trim().parse().ok());
        let since = lines.next().unwrap_or("").trim().to_string();
        Some(Owner {
            pid: pid.parse().ok()?,
            host: host.to_string(),
            start,
            since,
        })
    }

    /// Alive, as far as this host can tell (other hosts' processes are assumed alive).
    fn alive(&self) -> bool {
        if self.host != host() || !Path::new("/proc/self").exists() {
            return true;
        }
        match (start_ticks(self.pid), self.start) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        }
    }
}

/// Takes the lock for the state database at `state`.
pub fn acquire(state: &Path) -> Result<RunLock, LockError> {
    let path = lock_path(state);
    let pid = std::process::id();
    let content = format!(
        "{pid}@{}\n{}\n{}\n",
        host(),
        start_ticks(pid).map(|t| t.to_string()).unwrap_or_default(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut took_over = None;
    for _ in 0..3 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(content.as_bytes())
                    .map_err(|source| LockError::Io {
                        path: path.clone(),
                        source,
                    })?;
                return Ok(RunLock { path, took_over });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let stale = match Owner::parse(&text) {
                    Some(o) if o.alive() => {
                        return Err(LockError::Busy {
                            path,
                            owner: format!("{}@{}", o.pid, o.host),
                            since: o.since,
                        });
                    }
                    Some(o) => format!("{}@{} since {}", o.pid, o.host, o.since),
                    // Half-written by a process that died while writing it: stale too.
                    None => "an unreadable lock".into(),
                };
                // Move the stale lock aside (atomic), check that what moved is the stale lock
                // we judged and not a fresh one another process just took, then try again;
                // the exclusive create above decides between racing takers.
                let aside = path.with_extension(format!("lock.stale.{pid}"));
                if std::fs::rename(&path, &aside).is_ok() {
                    let moved = std::fs::read_to_string(&aside).unwrap_or_default();
                    if moved == text {
                        let _ = std::fs::remove_file(&aside);
                        took_over = Some(stale);
                    } else {
                        // Someone else's live lock: put it back and let the loop judge again.
                        let _ = std::fs::rename(&aside, &path);
                    }
                }
            }
            Err(source) => return Err(LockError::Io { path, source }),
        }
    }
    Err(LockError::Io {
        path,
        source: std::io::Error::other("the lock kept reappearing"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_while_the_first_is_held_and_free_after() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("x.state.db");
        let first = acquire(&state).unwrap();
        assert!(matches!(acquire(&state), Err(LockError::Busy { .. })));
        drop(first);
        assert!(acquire(&state).is_ok());
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("x.state.db");
        // A pid that cannot exist (above pid_max).
        std::fs::write(
            lock_path(&state),
            format!("99999999@{}\n123\n2026-01-01T00:00:00Z\n", host()),
        )
        .unwrap();
        let lock = acquire(&state).unwrap();
        assert_eq!(
            lock.took_over.as_deref(),
            Some(format!("99999999@{} since 2026-01-01T00:00:00Z", host()).as_str())
        );
    }
}
