//! The marks plan: Canvas grades + what rosterbridge manages + `[marks]` settings + what was
//! sent before → one mark per student and class, with its value, where the value came from,
//! what will be done with it and why, and the problems worth a look.
//!
//! Pure and deterministic: no I/O, no clock; every list is sorted, so the same inputs give
//! the same plan (and the same JSON).

use rosterbridge_config::{GradeChoice, MarkType, MarksConfig, ScaleBand, ScaleConfig};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

/// A class (Canvas section) rosterbridge created or adopted, with the school its course is in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManagedClass {
    /// The section's SIS id: the SIS class sourcedId.
    pub class: String,
    /// The course's account SIS id: the school, when it is a school account.
    pub school: Option<String>,
}

/// One student enrollment's grades as Canvas shows them (`grades` on the enrollment).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CanvasGrade {
    /// The section's SIS id.
    pub class: String,
    /// The student's SIS id (None: a Canvas-only user).
    pub student: Option<String>,
    pub canvas_user_id: u64,
    pub canvas_enrollment_id: u64,
    /// Whether rosterbridge put this enrollment in Canvas (the state store knows it).
    pub from_sis: bool,
    pub current_score: Option<f64>,
    pub final_score: Option<f64>,
    pub current_grade: Option<String>,
    pub final_grade: Option<String>,
    pub override_score: Option<f64>,
    pub override_grade: Option<String>,
}

/// Which Canvas value the mark came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GradeSource {
    /// Final Grade Override: wins when set.
    Override,
    Final,
    Current,
}

/// What happens to a mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkAction {
    /// New or changed since the last successful transfer: written.
    Send,
    /// Same value as the last successful transfer: a REST push leaves it (files carry it).
    Unchanged,
    /// Not written (see the flags).
    Skip,
}

impl MarkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkAction::Send => "send",
            MarkAction::Unchanged => "unchanged",
            MarkAction::Skip => "skip",
        }
    }
}

/// Something about a mark worth a look. Flags marked "skips" keep the mark from being written.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// No score (and no override) for the chosen grade. Skips.
    NoGrade,
    /// Current and final scores differ: ungraded work is counted as zero in the final one.
    CurrentFinalDisagree { current: f64, #[serde(rename = "final")] final_score: f64 },
    /// The score is below 0 or above 100 % (extra credit): marks from the scale are capped.
    OutsideScale { score: f64 },
    /// Literal marks from Canvas's letter grade, but Canvas gave none (no grading scheme on
    /// the course). Skips.
    NoLetterGrade,
    /// The student was not enrolled by rosterbridge (added in Canvas by hand), or has no SIS
    /// id: the SIS does not know this enrollment. Skips.
    NotFromSis,
}

impl Flag {
    pub fn skips(&self) -> bool {
        matches!(self, Flag::NoGrade | Flag::NoLetterGrade | Flag::NotFromSis)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Flag::NoGrade => "no grade in Canvas".into(),
            Flag::CurrentFinalDisagree { current, final_score } => format!("current {current} and final {final_score} disagree"),
            Flag::OutsideScale { score } => format!("score {score} is outside the 0-100 scale"),
            Flag::NoLetterGrade => "Canvas has no letter grade (no grading scheme on the course)".into(),
            Flag::NotFromSis => "enrollment not from the SIS".into(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Flag::NoGrade => "no_grade",
            Flag::CurrentFinalDisagree { .. } => "current_final_disagree",
            Flag::OutsideScale { .. } => "outside_scale",
            Flag::NoLetterGrade => "no_letter_grade",
            Flag::NotFromSis => "not_from_sis",
        }
    }
}

/// The category line items are filed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Category {
    pub sourced_id: String,
    pub title: String,
}

/// One "final mark" line item per class and mark period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineItem {
    pub sourced_id: String,
    pub class: String,
    pub school: Option<String>,
    pub title: String,
    pub mark_period: String,
}

/// One student's mark in one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mark {
    pub result_id: String,
    pub line_item_id: String,
    pub class: String,
    /// The student's SIS id, or `canvas-user:<id>` for a user without one.
    pub student: String,
    pub score: Option<f64>,
    /// The literal mark (literal mode).
    pub text: Option<String>,
    pub from: Option<GradeSource>,
    pub action: MarkAction,
    /// The value last written successfully, when there was one.
    pub previous: Option<String>,
    pub flags: Vec<Flag>,
}

impl Mark {
    /// The value as recorded and compared between runs: `87.5`, or `B+ (87.5)` for literal
    /// marks; empty when there is none.
    pub fn value(&self) -> String {
        match (&self.text, self.score) {
            (Some(t), Some(s)) => format!("{t} ({})", fmt_score(s)),
            (Some(t), None) => t.clone(),
            (None, Some(s)) => fmt_score(s),
            (None, None) => String::new(),
        }
    }
}

/// Scores without float noise: at most 4 decimals, trailing zeros dropped.
pub fn fmt_score(s: f64) -> String {
    let t = format!("{s:.4}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t.is_empty() || t == "-0" { "0".into() } else { t.to_string() }
}

/// Counts for the summary line and the run record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub classes: usize,
    pub marks: usize,
    pub send: usize,
    pub unchanged: usize,
    pub skip: usize,
    pub flagged: usize,
}

/// Everything `marks plan` shows and `marks push` writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarkPlan {
    pub mark_type: &'static str,
    pub grade: &'static str,
    pub mark_period: String,
    pub category: Category,
    pub line_items: Vec<LineItem>,
    pub marks: Vec<Mark>,
    pub summary: Summary,
}

/// The plan's inputs, all plain data.
pub struct PlanInput<'a> {
    pub settings: &'a MarksConfig,
    /// Every class rosterbridge manages (the settings' class filter is applied here).
    pub classes: &'a [ManagedClass],
    /// Grades read from Canvas for those classes.
    pub grades: &'a [CanvasGrade],
    /// Result sourcedId → value last written successfully.
    pub previous: &'a BTreeMap<String, String>,
}

/// Deterministic line item sourcedId for a class and mark period.
pub fn line_item_id(mark_period: &str, class: &str) -> String {
    format!("rb-li-{:016x}", xxh3_64(format!("{mark_period}\u{1f}{class}").as_bytes()))
}

/// Deterministic result sourcedId for a line item and student: a rerun PUTs the same id,
/// which the provider replaces instead of adding a second result.
pub fn result_id(line_item: &str, student: &str) -> String {
    format!("rb-r-{:016x}", xxh3_64(format!("{line_item}\u{1f}{student}").as_bytes()))
}

/// Canvas's conversion (`GradingStandard#score_to_grade`): a negative score counts as 0; the
/// highest band whose lower bound is at or below the score; below every band, the lowest.
/// `bands` are ordered highest `min` first.
pub fn score_to_mark(bands: &[ScaleBand], score: f64) -> Option<String> {
    let score = if score < 0.0 { 0.0 } else { score };
    bands.iter().find(|b| score >= b.min).or_else(|| bands.last()).map(|b| b.name.clone())
}

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> MarkPlan {
    let s = input.settings;
    let classes: BTreeMap<&str, &ManagedClass> = input.classes.iter().filter(|c| s.class_selected(&c.class)).map(|c| (c.class.as_str(), c)).collect();
    let mut marks = Vec::new();
    let mut with_marks: BTreeSet<&str> = BTreeSet::new();
    for g in input.grades {
        let Some(class) = classes.get(g.class.as_str()) else { continue };
        with_marks.insert(class.class.as_str());
        let li = line_item_id(&s.mark_period, &class.class);
        let student = g.student.clone().unwrap_or_else(|| format!("canvas-user:{}", g.canvas_user_id));
        let rid = result_id(&li, &student);
        let mut flags = Vec::new();
        if !g.from_sis || g.student.is_none() {
            flags.push(Flag::NotFromSis);
        }
        let overridden = g.override_score.is_some() || g.override_grade.is_some();
        let (from, score, letter) = if overridden {
            (GradeSource::Override, g.override_score, g.override_grade.clone())
        } else {
            match s.grade {
                GradeChoice::Final => (GradeSource::Final, g.final_score, g.final_grade.clone()),
                GradeChoice::Current => (GradeSource::Current, g.current_score, g.current_grade.clone()),
            }
        };
        if let (Some(c), Some(f)) = (g.current_score, g.final_score) {
            if (c - f).abs() >= 0.005 {
                flags.push(Flag::CurrentFinalDisagree { current: c, final_score: f });
            }
        }
        if let Some(sc) = score {
            if !(0.0..=100.0).contains(&sc) {
                flags.push(Flag::OutsideScale { score: sc });
            }
        }
        let text = match s.mark_type {
            MarkType::Numeric => None,
            MarkType::Literal => match &s.scale {
                ScaleConfig::Canvas => {
                    if letter.is_none() && score.is_some() {
                        flags.push(Flag::NoLetterGrade);
                    }
                    letter
                }
                ScaleConfig::Bands(bands) => score.and_then(|sc| score_to_mark(bands, sc)),
            },
        };
        let has_value = match s.mark_type {
            MarkType::Numeric => score.is_some(),
            MarkType::Literal => text.is_some() || score.is_some(),
        };
        if !has_value {
            flags.push(Flag::NoGrade);
        }
        let mut mark = Mark {
            result_id: rid,
            line_item_id: li,
            class: class.class.clone(),
            student,
            score,
            text,
            from: has_value.then_some(from),
            action: MarkAction::Skip,
            previous: None,
            flags,
        };
        mark.previous = input.previous.get(&mark.result_id).cloned();
        mark.action = if mark.flags.iter().any(Flag::skips) {
            MarkAction::Skip
        } else if mark.previous.as_deref() == Some(mark.value().as_str()) {
            MarkAction::Unchanged
        } else {
            MarkAction::Send
        };
        marks.push(mark);
    }
    marks.sort_by(|a, b| (&a.class, &a.student, &a.result_id).cmp(&(&b.class, &b.student, &b.result_id)));
    marks.dedup_by(|a, b| a.result_id == b.result_id);
    let line_items: Vec<LineItem> = with_marks
        .iter()
        .filter_map(|c| classes.get(c))
        .map(|c| LineItem {
            sourced_id: line_item_id(&s.mark_period, &c.class),
            class: c.class.clone(),
            school: c.school.clone(),
            title: s.line_item_title.clone(),
            mark_period: s.mark_period.clone(),
        })
        .collect();
    let count = |a: MarkAction| marks.iter().filter(|m| m.action == a).count();
    let summary = Summary {
        classes: line_items.len(),
        marks: marks.len(),
        send: count(MarkAction::Send),
        unchanged: count(MarkAction::Unchanged),
        skip: count(MarkAction::Skip),
        flagged: marks.iter().filter(|m| !m.flags.is_empty()).count(),
    };
    MarkPlan {
        mark_type: match s.mark_type {
            MarkType::Numeric => "numeric",
            MarkType::Literal => "literal",
        },
        grade: match s.grade {
            GradeChoice::Final => "final",
            GradeChoice::Current => "current",
        },
        mark_period: s.mark_period.clone(),
        category: Category { sourced_id: s.category.clone(), title: s.line_item_title.clone() },
        line_items,
        marks,
        summary,
    }
}

/// The plan for people: a summary line, then each mark with its value, source, action and
/// flags.
pub fn render_text(plan: &MarkPlan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "Marks ({} {} grade, mark period {}): {} class(es), {} mark(s): {} to send, {} unchanged, {} skipped, {} flagged",
        plan.mark_type, plan.grade, plan.mark_period, s.classes, s.marks, s.send, s.unchanged, s.skip, s.flagged
    );
    let mut class = "";
    for m in &plan.marks {
        if m.class != class {
            class = &m.class;
            let _ = writeln!(out, "\nclass {class}");
        }
        let value = m.value();
        let from = match m.from {
            Some(GradeSource::Override) => " [override]",
            Some(GradeSource::Final) => " [final]",
            Some(GradeSource::Current) => " [current]",
            None => "",
        };
        let prev = match (&m.previous, m.action) {
            (Some(p), MarkAction::Send) => format!(" (was {p})"),
            _ => String::new(),
        };
        let flags: Vec<String> = m.flags.iter().map(Flag::describe).collect();
        let flags = if flags.is_empty() { String::new() } else { format!("  ! {}", flags.join("; ")) };
        let _ = writeln!(out, "  {:<9} {:<16} {}{}{}{}", m.action.as_str(), m.student, if value.is_empty() { "-" } else { &value }, from, prev, flags);
    }
    out
}
