//! Views of a plan: a table for people, JSON for scripts (streamed, so a first plan of a
//! state-wide district does not need a second copy in memory).

use crate::{Action, Change, Plan};
use rosterbridge_model::hash::display_key;
use rosterbridge_model::kind::Kind;
use rosterbridge_model::Diagnostic;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::io::Write;

/// How many changes per kind the text view lists before summarising the rest.
pub const LISTED_PER_KIND: usize = 10;

/// The summary table, the first changes of each kind, and the safety verdict.
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
        let _ = writeln!(
            out,
            "\nNo changes: Canvas already matches the source (as far as the state store knows)."
        );
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
                    let _ = write!(
                        out,
                        "  {:<10} {}  ({})",
                        c.action.as_str(),
                        display_key(&plan.key(c)),
                        plan.reason(c)
                    );
                    if let Some(src) = plan.src(c) {
                        let _ = write!(out, "  [{src}]");
                    }
                    let _ = writeln!(out);
                    if c.action == Action::Update {
                        for f in plan.fields(c) {
                            let _ = writeln!(
                                out,
                                "             {}: {:?} -> {:?}",
                                f.field, f.old, f.new
                            );
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

    if !plan.skipped.is_empty() {
        let _ = writeln!(
            out,
            "\n{} change(s) skipped by the configuration (not sent):",
            plan.skipped.len()
        );
        for kind in Kind::ALL {
            let of_kind: Vec<_> = plan
                .skipped
                .iter()
                .filter(|s| s.change.kind == kind)
                .collect();
            if of_kind.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{kind} (skipped):");
            for sk in of_kind.iter().take(listed_per_kind.max(1)) {
                let _ = writeln!(
                    out,
                    "  {:<10} {}  ({})",
                    sk.change.action.as_str(),
                    display_key(&plan.key(&sk.change)),
                    sk.reason.describe()
                );
            }
            if of_kind.len() > listed_per_kind.max(1) {
                let _ = writeln!(
                    out,
                    "  … and {} more",
                    of_kind.len() - listed_per_kind.max(1)
                );
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
        for h in &plan.safety.holds {
            let _ = writeln!(out, "  {}\n    what to do: {}", h.message, h.hint);
        }
        let _ = writeln!(
            out,
            "  Check the source export first (an empty or truncated file looks exactly like this).\n  If the plan is intended, approve it (`rosterbridge approve <plan id>`), apply with --allow-removals, or adjust [safety]."
        );
    }
    let adj = &plan.safety.adjustments;
    if let Some(w) = &adj.add_only_window {
        let _ = writeln!(
            out,
            "\nadd-only window {w}: {} removal(s) deferred",
            adj.deferred_removals
        );
    }
    if adj.concluded_ended > 0 {
        let _ = writeln!(
            out,
            "\n{} removal(s) of ended sessions concluded (completed) instead of deleted",
            adj.concluded_ended
        );
    }
    out
}

/// One change as JSON: kind, key, action, reason, the row as `{column: value}`, changed
/// fields, and the SIS row it came from.
struct ChangeView<'a> {
    plan: &'a Plan,
    change: &'a Change,
}

impl Serialize for ChangeView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, c) = (self.plan, self.change);
        let row = p.row(c);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &c.kind)?;
        m.serialize_entry("key", &display_key(&p.key(c)))?;
        m.serialize_entry("action", &c.action)?;
        m.serialize_entry("reason", &p.reason(c))?;
        m.serialize_entry("row", &RowView(&row))?;
        let fields = p.fields(c);
        if !fields.is_empty() {
            m.serialize_entry("fields", fields)?;
        }
        if let Some(src) = p.src(c) {
            m.serialize_entry("source", &src.to_string())?;
        }
        if let Some(r) = c.record {
            m.serialize_entry("record", &r)?;
        }
        m.end()
    }
}

struct RowView<'a>(&'a rosterbridge_model::Row);

impl Serialize for RowView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.values.len()))?;
        for (col, value) in self.0.pairs() {
            m.serialize_entry(col, value)?;
        }
        m.end()
    }
}

struct ChangesView<'a>(&'a Plan);

impl Serialize for ChangesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.changes.len()))?;
        for change in &self.0.changes {
            seq.serialize_element(&ChangeView {
                plan: self.0,
                change,
            })?;
        }
        seq.end()
    }
}

struct SkippedView<'a>(&'a Plan);

impl Serialize for SkippedView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut seq = s.serialize_seq(Some(p.skipped.len()))?;
        for sk in &p.skipped {
            seq.serialize_element(&serde_json::json!({
                "kind": sk.change.kind,
                "key": display_key(&p.key(&sk.change)),
                "action": sk.change.action,
                "reason": sk.reason.describe(),
            }))?;
        }
        seq.end()
    }
}

struct PlanView<'a> {
    plan: &'a Plan,
    diagnostics: &'a [Diagnostic],
}

impl Serialize for PlanView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("base_version", &self.plan.base_version)?;
        m.serialize_entry("summary", &self.plan.summary)?;
        m.serialize_entry("safety", &self.plan.safety)?;
        m.serialize_entry("diagnostics", self.diagnostics)?;
        m.serialize_entry("changes", &ChangesView(self.plan))?;
        if !self.plan.skipped.is_empty() {
            m.serialize_entry("skipped", &SkippedView(self.plan))?;
        }
        m.end()
    }
}

/// Writes the plan as one JSON object: `base_version`, `summary` (kind → counts of
/// `create`, `update`, `reactivate`, `deactivate`, `delete`, `unchanged`, `existing`),
/// `safety`, `diagnostics`, `changes`.
pub fn write_json(
    plan: &Plan,
    diagnostics: &[Diagnostic],
    out: impl Write,
) -> serde_json::Result<()> {
    serde_json::to_writer(out, &PlanView { plan, diagnostics })
}

/// The same JSON as a value (for small plans and tests).
pub fn json(plan: &Plan, diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::to_value(PlanView { plan, diagnostics }).unwrap_or(serde_json::Value::Null)
}
