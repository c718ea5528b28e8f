//! Documented exit codes.

use std::process::ExitCode;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (or nothing to do)
  1  error: bad configuration, unreadable or invalid source, row errors, state problems
  2  held: the plan exceeds the safety threshold; nothing was applied (see --allow-removals)
  3  partial failure: Canvas rejected some changes; the rest were applied and recorded,
     the rejected ones stay pending (see `rosterbridge status`)
  4  timed out: the run passed [run] timeout_minutes and was stopped (recorded failed)
  5  not run: a blackout window, or another run of this configuration holds the lock";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    Error = 1,
    Held = 2,
    PartialFailure = 3,
    NotRun = 5,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> ExitCode {
        ExitCode::from(c as u8)
    }
}
