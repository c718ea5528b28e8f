//! Printing diagnostics: every one, errors first, capped per code so a million bad rows
//! stay readable.

use rosterbridge_model::{Diagnostic, Severity};
use std::collections::BTreeMap;

/// How many diagnostics of one code are printed before the rest are counted.
const PER_CODE: usize = 20;

pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    let mut shown: BTreeMap<(Severity, &str), usize> = BTreeMap::new();
    for d in diagnostics {
        let n = shown.entry((d.severity, d.code.as_str())).or_insert(0);
        *n += 1;
        if *n <= PER_CODE {
            eprintln!("{d}");
        }
    }
    for ((sev, code), n) in shown {
        if n > PER_CODE {
            eprintln!(
                "{sev}[{code}]: … and {} more like this (use --json to see all)",
                n - PER_CODE
            );
        }
    }
}

pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    (errors, warnings)
}
