//! Views of a plan: a table for people, JSON for scripts.

use crate::{Action, Plan};
use rosterbridge_model::hash::display_key;
use rosterbridge_model::kind::Kind;
use rosterbridge_model::Diagnostic;
use std::fmt::Write;

/// How many changes per kind the text view lists before summarising the rest.
pub const LISTED_PER_KIND: usize = 10;

/// The summary table, the safety verdict, and the first changes of each kind.
pub fn text(plan: &Plan, listed_per_kind: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15}{:>9}{:>9}{:>12}{:>12}{:>9}{:>11}",
        "kind", "create", "update", "reactivate", "deactivate", "delete", "unchanged"
    );
    for kind in Kind::ALL {
        let s = plan.summary.get(&kind).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<15}{:>9}{:>9}{:>12}{:>12}{:>9}{:>11}",
            kind.as_str(),
            s.create,
            s.update,
            s.reactivate,
            s.deactivate,
            s.delete,
            s.unchanged
        );
    }
    let total = plan.changes.len();
    if total == 0 {
        let _ = writeln!(out, "\nNo changes: Canvas already matches the source (as far as the state store knows).");
    } else {
        let _ = writeln!(out, "\n{total} change(s) in all.");
    }

    if listed_per_kind > 0 && total > 0 {
        for kind in Kind::ALL {
            let mut of_kind = plan.changes_of(kind).peekable();
            if of_kind.peek().is_none() {
                continue;
            }
            let _ = writeln!(out, "\n{kind}:");
            let mut n = 0;
            for c in of_kind {
                if n < listed_per_kind {
                    let _ = write!(out, "  {:<10} {}", c.action.as_str(), display_key(&c.key));
                    if !c.reason.is_empty() {
                        let _ = write!(out, "  ({})", c.reason);
                    }
                    if let Some(src) = c.src {
                        let _ = write!(out, "  [{src}]");
                    }
                    let _ = writeln!(out);
                    if c.action == Action::Update {
                        for f in &c.fields {
                            let _ = writeln!(out, "             {}: {:?} -> {:?}", f.field, f.old, f.new);
                        }
                    }
                }
                n += 1;
            }
            if n > listed_per_kind {
                let _ = writeln!(out, "  … and {} more", n - listed_per_kind);
            }
        }
    }

    if plan.safety.held {
        let _ = writeln!(out, "\nHELD by the safety threshold:");
        for v in &plan.safety.violations {
            let _ = writeln!(
                out,
                "  {}: {} of {} existing ({:.1}%) would be deactivated or deleted; the limit is {}%",
                v.kind, v.removals, v.existing, v.percent, v.limit_percent
            );
        }
        let _ = writeln!(
            out,
            "  Check the source export first (an empty or truncated file looks exactly like this).\n  If the removals are intended, apply with --allow-removals, or raise [safety] max_removal_percent."
        );
    }
    out
}

/// One JSON object: `base_version`, `summary` (kind → action counts), `safety`,
/// `diagnostics`, and `changes`.
pub fn json(plan: &Plan, diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::json!({
        "base_version": plan.base_version,
        "summary": plan.summary,
        "safety": plan.safety,
        "diagnostics": diagnostics,
        "changes": plan.changes,
    })
}
