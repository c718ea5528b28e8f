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
    CurrentFinalDisagree {
        current: f64,
        #[serde(rename = "final")]
        final_score: f64,
    },
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
            Flag::CurrentFinalDisagree {
                current,
                final_score,
            } => format!("current {current} and final {final_score} disagree"),
            Flag::OutsideScale { score } => format!("score {score} is outside the 0-100 scale"),
            Flag::NoLetterGrade => {
                "Canvas has no letter grade (no grading scheme on the course)".into()
            }
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
    if t.is_empty() || t == "-0" {
        "0".into()
    } else {
        t.to_string()
    }
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
    format!(
        "rb-li-{:016x}",
        xxh3_64(format!("{mark_period}\u{1f}{class}").as_bytes())
    )
}

/// Deterministic result sourcedId for a line item and student: a rerun PUTs the same id,
/// which the provider replaces instead of adding a second result.
pub fn result_id(line_item: &str, student: &str) -> String {
    format!(
        "rb-r-{:016x}",
        xxh3_64(format!("{line_item}\u{1f}{student}").as_bytes())
    )
}

/// Canvas's conversion (`GradingStandard#score_to_grade`): a negative score counts as 0; the
/// highest band whose lower bound is at or below the score; below every band, the lowest.
/// `bands` are ordered highest `min` first.
pub fn score_to_mark(bands: &[ScaleBand], score: f64) -> Option<String> {
    let score = if score < 0.0 { 0.0 } else { score };
    bands
        .iter()
        .find(|b| score >= b.min)
        .or_else(|| bands.last())
        .map(|b| b.name.clone())
}

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> MarkPlan {
    let s = input.settings;
    let classes: BTreeMap<&str, &ManagedClass> = input
        .classes
        .iter()
        .filter(|c| s.class_selected(&c.class))
        .map(|c| (c.class.as_str(), c))
        .collect();
    let mut marks = Vec::new();
    let mut with_marks: BTreeSet<&str> = BTreeSet::new();
    for g in input.grades {
        let Some(class) = classes.get(g.class.as_str()) else {
            continue;
        };
        with_marks.insert(class.class.as_str());
        let li = line_item_id(&s.mark_period, &class.class);
        let student = g
            .student
            .clone()
            .unwrap_or_else(|| format!("canvas-user:{}", g.canvas_user_id));
        let rid = result_id(&li, &student);
        let mut flags = Vec::new();
        if !g.from_sis || g.student.is_none() {
            flags.push(Flag::NotFromSis);
        }
        let overridden = g.override_score.is_some() || g.override_grade.is_some();
        let (from, score, letter) = if overridden {
            (
                GradeSource::Override,
                g.override_score,
                g.override_grade.clone(),
            )
        } else {
            match s.grade {
                GradeChoice::Final => (GradeSource::Final, g.final_score, g.final_grade.clone()),
                GradeChoice::Current => (
                    GradeSource::Current,
                    g.current_score,
                    g.current_grade.clone(),
                ),
            }
        };
        if let (Some(c), Some(f)) = (g.current_score, g.final_score) {
            if (c - f).abs() >= 0.005 {
                flags.push(Flag::CurrentFinalDisagree {
                    current: c,
                    final_score: f,
                });
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
    marks.sort_by(|a, b| {
        (&a.class, &a.student, &a.result_id).cmp(&(&b.class, &b.student, &b.result_id))
    });
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
        category: Category {
            sourced_id: s.category.clone(),
            title: s.line_item_title.clone(),
        },
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
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  ! {}", flags.join("; "))
        };
        let _ = writeln!(
            out,
            "  {:<9} {:<16} {}{}{}{}",
            m.action.as_str(),
            m.student,
            if value.is_empty() { "-" } else { &value },
            from,
            prev,
            flags
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosterbridge_config::MarksTarget;

    fn settings(mark_type: MarkType, grade: GradeChoice, scale: ScaleConfig) -> MarksConfig {
        MarksConfig {
            enabled: true,
            mark_type,
            grade,
            scale,
            classes: Vec::new(),
            mark_period: "gp-1".into(),
            canvas_grading_period_id: None,
            target: MarksTarget::Csv { dir: "out".into() },
            line_item_title: "Final mark".into(),
            category: "cat".into(),
            csv_version: "1.1".into(),
        }
    }

    fn bands() -> ScaleConfig {
        ScaleConfig::Bands(vec![
            ScaleBand {
                name: "A".into(),
                min: 90.0,
            },
            ScaleBand {
                name: "B".into(),
                min: 80.0,
            },
            ScaleBand {
                name: "C".into(),
                min: 70.0,
            },
            ScaleBand {
                name: "F".into(),
                min: 0.0,
            },
        ])
    }

    fn grade(class: &str, student: &str) -> CanvasGrade {
        CanvasGrade {
            class: class.into(),
            student: Some(student.into()),
            canvas_user_id: 1,
            canvas_enrollment_id: 1,
            from_sis: true,
            ..CanvasGrade::default()
        }
    }

    fn classes() -> Vec<ManagedClass> {
        vec![
            ManagedClass {
                class: "c1".into(),
                school: Some("s1".into()),
            },
            ManagedClass {
                class: "c2".into(),
                school: None,
            },
        ]
    }

    fn run(
        s: &MarksConfig,
        grades: &[CanvasGrade],
        previous: &BTreeMap<String, String>,
    ) -> MarkPlan {
        plan(&PlanInput {
            settings: s,
            classes: &classes(),
            grades,
            previous,
        })
    }

    fn one(s: &MarksConfig, g: CanvasGrade) -> Mark {
        run(s, &[g], &BTreeMap::new()).marks.remove(0)
    }

    #[test]
    fn numeric_mode_sends_the_chosen_score_final_or_current() {
        let g = CanvasGrade {
            current_score: Some(91.5),
            final_score: Some(80.25),
            ..grade("c1", "s-1")
        };
        let fin = one(
            &settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas),
            g.clone(),
        );
        assert_eq!(
            (fin.score, fin.text.as_deref(), fin.from, fin.action),
            (
                Some(80.25),
                None,
                Some(GradeSource::Final),
                MarkAction::Send
            )
        );
        assert_eq!(fin.value(), "80.25");
        let cur = one(
            &settings(MarkType::Numeric, GradeChoice::Current, ScaleConfig::Canvas),
            g,
        );
        assert_eq!(
            (cur.score, cur.from),
            (Some(91.5), Some(GradeSource::Current))
        );
    }

    #[test]
    fn literal_mode_converts_the_score_through_the_scale_or_takes_canvas_letter() {
        let g = CanvasGrade {
            final_score: Some(85.0),
            final_grade: Some("B+".into()),
            ..grade("c1", "s-1")
        };
        let scaled = one(
            &settings(MarkType::Literal, GradeChoice::Final, bands()),
            g.clone(),
        );
        assert_eq!(
            (scaled.text.as_deref(), scaled.score),
            (Some("B"), Some(85.0))
        );
        assert_eq!(scaled.value(), "B (85)");
        let canvas = one(
            &settings(MarkType::Literal, GradeChoice::Final, ScaleConfig::Canvas),
            g,
        );
        assert_eq!(canvas.text.as_deref(), Some("B+"));
        // No grading scheme on the course: Canvas has no letter, so nothing is sent.
        let none = one(
            &settings(MarkType::Literal, GradeChoice::Final, ScaleConfig::Canvas),
            CanvasGrade {
                final_score: Some(85.0),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(none.action, MarkAction::Skip);
        assert_eq!(none.flags, vec![Flag::NoLetterGrade]);
    }

    #[test]
    fn an_override_wins_over_current_and_final_in_both_modes() {
        let g = CanvasGrade {
            current_score: Some(70.0),
            final_score: Some(65.0),
            final_grade: Some("D".into()),
            override_score: Some(92.0),
            override_grade: Some("A-".into()),
            ..grade("c1", "s-1")
        };
        let n = one(
            &settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas),
            g.clone(),
        );
        assert_eq!((n.score, n.from), (Some(92.0), Some(GradeSource::Override)));
        let c = one(
            &settings(MarkType::Numeric, GradeChoice::Current, ScaleConfig::Canvas),
            g.clone(),
        );
        assert_eq!((c.score, c.from), (Some(92.0), Some(GradeSource::Override)));
        let l = one(
            &settings(MarkType::Literal, GradeChoice::Final, ScaleConfig::Canvas),
            g.clone(),
        );
        assert_eq!(l.text.as_deref(), Some("A-"));
        let b = one(&settings(MarkType::Literal, GradeChoice::Final, bands()), g);
        assert_eq!(
            b.text.as_deref(),
            Some("A"),
            "the override score goes through the scale"
        );
        // An override even without any computed grade.
        let only = one(
            &settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas),
            CanvasGrade {
                override_score: Some(50.0),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!((only.score, only.action), (Some(50.0), MarkAction::Send));
    }

    #[test]
    fn scale_edges_follow_canvas_lower_bounds_inclusive_and_caps() {
        let ScaleConfig::Bands(b) = bands() else {
            unreachable!()
        };
        for (score, want) in [
            (90.0, "A"),
            (89.99, "B"),
            (80.0, "B"),
            (79.999, "C"),
            (70.0, "C"),
            (69.99, "F"),
            (0.0, "F"),
            (100.0, "A"),
            (130.0, "A"),
            (-5.0, "F"),
        ] {
            assert_eq!(
                score_to_mark(&b, score).as_deref(),
                Some(want),
                "score {score}"
            );
        }
        // Below every band of a scale without a 0 band: the lowest band (Canvas's rule).
        let no_zero = [
            ScaleBand {
                name: "P".into(),
                min: 60.0,
            },
            ScaleBand {
                name: "NP".into(),
                min: 10.0,
            },
        ];
        assert_eq!(score_to_mark(&no_zero, 3.0).as_deref(), Some("NP"));
        let s = settings(MarkType::Literal, GradeChoice::Final, bands());
        let over = one(
            &s,
            CanvasGrade {
                final_score: Some(104.5),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            (over.text.as_deref(), over.action),
            (Some("A"), MarkAction::Send)
        );
        assert_eq!(over.flags, vec![Flag::OutsideScale { score: 104.5 }]);
        let under = one(
            &s,
            CanvasGrade {
                final_score: Some(-1.0),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            (under.text.as_deref(), &under.flags[..]),
            (Some("F"), &[Flag::OutsideScale { score: -1.0 }][..])
        );
    }

    #[test]
    fn mismatches_are_flagged_no_grade_disagreement_and_enrollments_not_from_the_sis() {
        let s = settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas);
        let none = one(&s, grade("c1", "s-1"));
        assert_eq!(
            (none.action, &none.flags[..]),
            (MarkAction::Skip, &[Flag::NoGrade][..])
        );
        let current_only = one(
            &s,
            CanvasGrade {
                current_score: Some(88.0),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            current_only.flags,
            vec![Flag::NoGrade],
            "final mode does not fall back to the current grade"
        );
        let differ = one(
            &s,
            CanvasGrade {
                current_score: Some(88.0),
                final_score: Some(61.0),
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            (differ.action, &differ.flags[..]),
            (
                MarkAction::Send,
                &[Flag::CurrentFinalDisagree {
                    current: 88.0,
                    final_score: 61.0
                }][..]
            )
        );
        let same = one(
            &s,
            CanvasGrade {
                current_score: Some(88.0),
                final_score: Some(88.001),
                ..grade("c1", "s-1")
            },
        );
        assert!(
            same.flags.is_empty(),
            "a rounding difference is no disagreement"
        );
        let manual = one(
            &s,
            CanvasGrade {
                final_score: Some(70.0),
                from_sis: false,
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            (manual.action, &manual.flags[..]),
            (MarkAction::Skip, &[Flag::NotFromSis][..])
        );
        let no_sis_id = one(
            &s,
            CanvasGrade {
                final_score: Some(70.0),
                student: None,
                canvas_user_id: 42,
                ..grade("c1", "s-1")
            },
        );
        assert_eq!(
            (no_sis_id.student.as_str(), no_sis_id.action),
            ("canvas-user:42", MarkAction::Skip)
        );
    }

    #[test]
    fn ids_are_deterministic_and_a_rerun_with_the_same_value_is_unchanged() {
        let s = settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas);
        let grades = [
            CanvasGrade {
                final_score: Some(77.0),
                ..grade("c2", "s-2")
            },
            CanvasGrade {
                final_score: Some(81.0),
                ..grade("c1", "s-1")
            },
        ];
        let first = run(&s, &grades, &BTreeMap::new());
        assert_eq!(
            first,
            run(&s, &grades, &BTreeMap::new()),
            "same inputs, same plan"
        );
        assert_eq!(
            first
                .marks
                .iter()
                .map(|m| m.class.as_str())
                .collect::<Vec<_>>(),
            ["c1", "c2"],
            "sorted by class"
        );
        assert_eq!(first.marks[0].line_item_id, line_item_id("gp-1", "c1"));
        assert_eq!(
            first.marks[0].result_id,
            result_id(&line_item_id("gp-1", "c1"), "s-1")
        );
        assert_ne!(
            line_item_id("gp-1", "c1"),
            line_item_id("gp-2", "c1"),
            "one line item per class and mark period"
        );
        assert_eq!(first.line_items.len(), 2);
        assert_eq!(first.line_items[0].school.as_deref(), Some("s1"));
        let sent: BTreeMap<String, String> = first
            .marks
            .iter()
            .map(|m| (m.result_id.clone(), m.value()))
            .collect();
        let again = run(&s, &grades, &sent);
        assert!(again
            .marks
            .iter()
            .all(|m| m.action == MarkAction::Unchanged));
        assert_eq!((again.summary.send, again.summary.unchanged), (0, 2));
        let changed = [
            CanvasGrade {
                final_score: Some(79.0),
                ..grade("c2", "s-2")
            },
            grades[1].clone(),
        ];
        let third = run(&s, &changed, &sent);
        let m = third.marks.iter().find(|m| m.class == "c2").unwrap();
        assert_eq!(
            (m.action, m.previous.as_deref()),
            (MarkAction::Send, Some("77"))
        );
        assert_eq!(
            m.result_id, first.marks[1].result_id,
            "the same result is updated, not a new one"
        );
    }

    #[test]
    fn the_class_filter_and_unmanaged_sections_limit_the_plan() {
        let mut s = settings(MarkType::Numeric, GradeChoice::Final, ScaleConfig::Canvas);
        s.classes = vec!["c2*".into()];
        let grades = [
            CanvasGrade {
                final_score: Some(77.0),
                ..grade("c2", "s-2")
            },
            CanvasGrade {
                final_score: Some(81.0),
                ..grade("c1", "s-1")
            },
            CanvasGrade {
                final_score: Some(50.0),
                ..grade("other", "s-3")
            },
        ];
        let p = run(&s, &grades, &BTreeMap::new());
        assert_eq!(p.marks.len(), 1);
        assert_eq!(p.marks[0].class, "c2");
        assert!(
            render_text(&p).contains("send      s-2"),
            "{}",
            render_text(&p)
        );
    }
}
