//! The `[marks]` table: carrying final grades from Canvas back to the SIS (issue 9).
//!
//! Kept in its own module, raw and validated side by side, so that it can later move under an
//! execution profile unchanged: [`RawMarks::validate`] needs only the text (for locations) and
//! the already-validated `[source]` settings (the OneRoster provider marks default to).

use crate::raw::Problems;
use crate::{RestAuthConfig, RestSourceConfig, SourceKind};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// `[marks]` exactly as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarks {
    pub enabled: Option<Spanned<bool>>,
    #[serde(rename = "type")]
    pub mark_type: Option<Spanned<String>>,
    pub grade: Option<Spanned<String>>,
    /// `"canvas"` or a list of `{ name, min }` bands.
    pub scale: Option<Spanned<toml::Value>>,
    pub classes: Option<Spanned<Vec<String>>>,
    pub mark_period: Option<Spanned<String>>,
    pub canvas_grading_period_id: Option<Spanned<i64>>,
    pub target: Option<Spanned<String>>,
    pub out: Option<Spanned<String>>,
    pub gradebook_url: Option<Spanned<String>>,
    pub line_item_title: Option<Spanned<String>>,
    pub category: Option<Spanned<String>>,
    pub csv_version: Option<Spanned<String>>,
}

/// What is sent as the mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkType {
    /// The score (a percentage).
    Numeric,
    /// A literal mark: the score through the scale, or Canvas's letter grade.
    Literal,
}

/// Which Canvas grade is the mark (an override grade, when set, wins over either).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradeChoice {
    /// Graded work only.
    Current,
    /// Ungraded work counts as zero.
    Final,
}

/// One band of a grading scale: scores at or above `min` (a percentage) and below the next
/// band's `min` get `name`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleBand {
    pub name: String,
    pub min: f64,
}

/// How a literal mark is found.
#[derive(Clone, Debug, PartialEq)]
pub enum ScaleConfig {
    /// Canvas's own letter grade (needs a grading scheme on the course).
    Canvas,
    /// The configured bands, highest `min` first; the lowest band starts at 0.
    Bands(Vec<ScaleBand>),
}

/// Where marks go.
#[derive(Clone, Debug, PartialEq)]
pub enum MarksTarget {
    /// A OneRoster provider's gradebook endpoints.
    OneRoster(GradebookConfig),
    /// A OneRoster `lineItems.csv` / `results.csv` export in a folder.
    Csv { dir: PathBuf },
}

/// The OneRoster gradebook service to write to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GradebookConfig {
    /// The gradebook base URL (1.1: the rostering base; 1.2: `.../gradebook/v1p2`).
    pub base_url: String,
    /// `1.1` or `1.2`.
    pub version: String,
    /// The source's credentials; OAuth 2 asks for the gradebook scopes.
    pub auth: RestAuthConfig,
    pub timeout_seconds: u64,
    pub max_attempts: u32,
}

/// The validated `[marks]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct MarksConfig {
    pub enabled: bool,
    pub mark_type: MarkType,
    pub grade: GradeChoice,
    /// Used in literal mode.
    pub scale: ScaleConfig,
    /// Class (section) SIS ids to pass back; a trailing `*` matches a prefix. Empty: all
    /// classes rosterbridge manages.
    pub classes: Vec<String>,
    /// The academic session (grading period) sourcedId the marks are for.
    pub mark_period: String,
    /// Read grades of one Canvas grading period (`grading_period_id`).
    pub canvas_grading_period_id: Option<u64>,
    pub target: MarksTarget,
    pub line_item_title: String,
    /// The category sourcedId line items are filed under (created when missing).
    pub category: String,
    /// Columns of the CSV export: `1.1` or `1.2`.
    pub csv_version: String,
}

impl MarksConfig {
    /// Whether a class takes part.
    pub fn class_selected(&self, class: &str) -> bool {
        self.classes.is_empty()
            || self.classes.iter().any(|c| match c.strip_suffix('*') {
                Some(prefix) => class.starts_with(prefix),
                None => c == class,
            })
    }
}

const DEFAULT_OUT: &str = "marks-export";

impl RawMarks {
    /// Checks the table; `base` resolves `out`, `source` gives the provider to write to.
    pub(crate) fn validate(
        &self,
        p: &mut Problems<'_>,
        base: &Path,
        source_kind: SourceKind,
        rest: Option<&RestSourceConfig>,
    ) -> MarksConfig {
        let enabled = self.enabled.as_ref().is_some_and(|e| *e.get_ref());
        let mark_type = match &self.mark_type {
            None => MarkType::Numeric,
            Some(t) => match t.get_ref().as_str() {
                "numeric" => MarkType::Numeric,
                "literal" => MarkType::Literal,
                _ => {
                    p.at(
                        "marks.type",
                        t,
                        "`marks.type` must be \"numeric\" or \"literal\"".into(),
                        "numeric sends the score; literal sends a mark from the scale",
                    );
                    MarkType::Numeric
                }
            },
        };
        let grade = match &self.grade {
            None => GradeChoice::Final,
            Some(g) => match g.get_ref().as_str() {
                "final" => GradeChoice::Final,
                "current" => GradeChoice::Current,
                _ => {
                    p.at(
                        "marks.grade",
                        g,
                        "`marks.grade` must be \"final\" or \"current\"".into(),
                        "final counts ungraded work as zero; current counts graded work only",
                    );
                    GradeChoice::Final
                }
            },
        };
        let scale = match &self.scale {
            None => ScaleConfig::Canvas,
            Some(s) => parse_scale(p, s),
        };
        if self.scale.is_some() && mark_type == MarkType::Numeric {
            if let Some(s) = &self.scale {
                p.at_span(
                    "marks.scale",
                    s.span(),
                    "`marks.scale` is only used with type = \"literal\"".into(),
                    "remove it, or set type = \"literal\"",
                );
            }
        }
        let classes = self
            .classes
            .as_ref()
            .map(|c| c.get_ref().clone())
            .unwrap_or_default();
        if let Some(c) = &self.classes {
            if c.get_ref().iter().any(|x| x.trim().is_empty() || x == "*") {
                p.at_span("marks.classes", c.span(), "`marks.classes` has an empty entry (or a lone `*`)".into(), "list class SIS ids, or prefixes ending in `*`; leave the key out for every class");
            }
        }
        let mark_period = match &self.mark_period {
            Some(m) if m.get_ref().trim().is_empty() => {
                p.at(
                    "marks.mark_period",
                    m,
                    "`marks.mark_period` is empty".into(),
                    "the sourcedId of the grading period (academic session) the marks are for",
                );
                String::new()
            }
            Some(m) => m.get_ref().clone(),
            None => {
                if enabled {
                    p.missing(
                        "marks.mark_period",
                        "marks syncing needs `marks.mark_period`".into(),
                        "the sourcedId of the grading period (academic session) the marks are for",
                    );
                }
                String::new()
            }
        };
        let canvas_grading_period_id = match &self.canvas_grading_period_id {
            Some(g) if *g.get_ref() <= 0 => {
                p.at(
                    "marks.canvas_grading_period_id",
                    g,
                    "`marks.canvas_grading_period_id` must be a positive Canvas id".into(),
                    "leave it out to read the course's overall grades",
                );
                None
            }
            Some(g) => Some(*g.get_ref() as u64),
            None => None,
        };
        let text = |key: &str,
                    v: &Option<Spanned<String>>,
                    default: &str,
                    hint: &str,
                    p: &mut Problems<'_>| match v {
            Some(t) if t.get_ref().trim().is_empty() => {
                p.at(
                    &format!("marks.{key}"),
                    t,
                    format!("`marks.{key}` is empty"),
                    hint,
                );
                default.to_string()
            }
            Some(t) => t.get_ref().clone(),
            None => default.to_string(),
        };
        let line_item_title = text(
            "line_item_title",
            &self.line_item_title,
            "Final mark",
            "the title the SIS shows for the mark",
            p,
        );
        let category = text(
            "category",
            &self.category,
            "rosterbridge-final-marks",
            "the category sourcedId line items are filed under",
            p,
        );
        let csv_version = match &self.csv_version {
            Some(v) if !matches!(v.get_ref().as_str(), "1.1" | "1.2") => {
                p.at(
                    "marks.csv_version",
                    v,
                    "`marks.csv_version` must be \"1.1\" or \"1.2\"".into(),
                    "the OneRoster version whose lineItems/results columns the export uses",
                );
                "1.1".into()
            }
            Some(v) => v.get_ref().clone(),
            None => "1.1".into(),
        };
        let out = || match &self.out {
            Some(o) => base.join(o.get_ref()),
            None => base.join(DEFAULT_OUT),
        };
        let default_target = if source_kind == SourceKind::OneRosterRest {
            "oneroster"
        } else {
            "csv"
        };
        let target_name = self
            .target
            .as_ref()
            .map(|t| t.get_ref().as_str())
            .unwrap_or(default_target);
        let target = match target_name {
            "csv" => {
                if let Some(g) = &self.gradebook_url {
                    p.at(
                        "marks.gradebook_url",
                        g,
                        "`marks.gradebook_url` is for target = \"oneroster\"".into(),
                        "remove it, or set target = \"oneroster\"",
                    );
                }
                MarksTarget::Csv { dir: out() }
            }
            "oneroster" => match rest {
                Some(rest) => {
                    let base_url = match &self.gradebook_url {
                        Some(g) if !crate::raw::http_url_ok(g.get_ref().trim()) => {
                            p.at("marks.gradebook_url", g, "`marks.gradebook_url` is not an http(s) URL".into(), "the provider's gradebook base, e.g. \"https://sis.example.org/ims/oneroster/gradebook/v1p2\"");
                            String::new()
                        }
                        Some(g) => g.get_ref().trim().trim_end_matches('/').to_string(),
                        None => default_gradebook_url(&rest.base_url, &rest.version),
                    };
                    MarksTarget::OneRoster(GradebookConfig {
                        base_url,
                        version: rest.version.clone(),
                        auth: rest.auth.clone(),
                        timeout_seconds: rest.network.timeout_seconds,
                        max_attempts: rest.network.max_attempts,
                    })
                }
                None => {
                    if let Some(t) = &self.target {
                        p.at("marks.target", t, "`marks.target = \"oneroster\"` needs a OneRoster REST source (`source.kind = \"oneroster-rest\"`)".into(), "write marks to files instead: target = \"csv\"");
                    }
                    MarksTarget::Csv { dir: out() }
                }
            },
            _ => {
                if let Some(t) = &self.target {
                    p.at("marks.target", t, "`marks.target` must be \"oneroster\" or \"csv\"".into(), "oneroster writes to the provider's gradebook; csv writes lineItems.csv/results.csv");
                }
                MarksTarget::Csv { dir: out() }
            }
        };
        MarksConfig {
            enabled,
            mark_type,
            grade,
            scale,
            classes,
            mark_period,
            canvas_grading_period_id,
            target,
            line_item_title,
            category,
            csv_version,
        }
    }
}

/// The gradebook base next to a rostering base: 1.1 serves both under one path; 1.2 moves
/// `/rostering/v1p2` to `/gradebook/v1p2` (`shared/specs/oneroster.md` §4.1).
pub fn default_gradebook_url(rostering: &str, version: &str) -> String {
    if version == "1.2" {
        if let Some(prefix) = rostering.strip_suffix("/rostering/v1p2") {
            return format!("{prefix}/gradebook/v1p2");
        }
    }
    rostering.to_string()
}

fn parse_scale(p: &mut Problems<'_>, s: &Spanned<toml::Value>) -> ScaleConfig {
    const HINT: &str = "write scale = \"canvas\" (Canvas's letter grade) or a list like [{ name = \"A\", min = 90 }, { name = \"B\", min = 80 }, { name = \"F\", min = 0 }]";
    match s.get_ref() {
        toml::Value::String(v) if v == "canvas" => ScaleConfig::Canvas,
        toml::Value::Array(items) => {
            let mut bands = Vec::new();
            let mut ok = true;
            for item in items {
                let name = item.get("name").and_then(|n| n.as_str());
                let min = item
                    .get("min")
                    .and_then(|m| m.as_float().or_else(|| m.as_integer().map(|i| i as f64)));
                let extra = item
                    .as_table()
                    .is_some_and(|t| t.keys().any(|k| k != "name" && k != "min"));
                match (name, min) {
                    (Some(n), Some(m)) if !n.trim().is_empty() && !extra => bands.push(ScaleBand {
                        name: n.to_string(),
                        min: m,
                    }),
                    _ => {
                        ok = false;
                        p.at_span("marks.scale", s.span(), "every band of `marks.scale` needs a non-empty `name` and a number `min` (and nothing else)".into(), HINT);
                        break;
                    }
                }
            }
            if !ok {
                return ScaleConfig::Canvas;
            }
            if bands.is_empty() {
                p.at_span(
                    "marks.scale",
                    s.span(),
                    "`marks.scale` has no bands".into(),
                    HINT,
                );
            }
            // Canvas's own rules for a grading scheme (app/models/grading_standard.rb):
            // no negative bounds, no two bands with one bound, and a band starting at 0.
            if bands.iter().any(|b| b.min < 0.0 || b.min.is_nan()) {
                p.at_span(
                    "marks.scale",
                    s.span(),
                    "`marks.scale` has a negative `min`".into(),
                    "bounds are percentages from 0",
                );
            }
            let mut mins: Vec<f64> = bands.iter().map(|b| b.min).collect();
            mins.sort_by(|a, b| a.total_cmp(b));
            if mins.windows(2).any(|w| w[0] == w[1]) {
                p.at_span(
                    "marks.scale",
                    s.span(),
                    "two bands of `marks.scale` have the same `min`".into(),
                    "each band needs its own lower bound",
                );
            }
            if !bands.is_empty() && !bands.iter().any(|b| b.min == 0.0) {
                p.at_span(
                    "marks.scale",
                    s.span(),
                    "`marks.scale` must have a band with min = 0 (the lowest mark)".into(),
                    "add e.g. { name = \"F\", min = 0 }",
                );
            }
            bands.sort_by(|a, b| b.min.total_cmp(&a.min));
            ScaleConfig::Bands(bands)
        }
        _ => {
            p.at_span(
                "marks.scale",
                s.span(),
                "`marks.scale` must be \"canvas\" or a list of bands".into(),
                HINT,
            );
            ScaleConfig::Canvas
        }
    }
}
