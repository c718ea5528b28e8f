//! Execution profiles (sync periods): which window of dates a mapping applies to, over
//! which academic period, and what becomes a Canvas course and what a section.
//!
//! Profiles are `[[profiles]]` tables. Two enabled profiles whose windows overlap are a
//! validation error naming both: "only one of them runs" would be a silent surprise. A run
//! uses the enabled profile whose window contains today, or the one named with
//! `--profile`; with profiles configured and none active there is nothing to do.

use crate::ops::DateWindow;
use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

/// What becomes a Canvas course and what becomes a section. In OneRoster terms a *period*
/// is the class's term, a *subject* is the OneRoster course, a *group* is the class, and a
/// *group subject* is one subject of a class (a class listing several `subjectCodes` has
/// one per code; a class listing none has one, its course).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CourseTemplate {
    /// A course per subject per period; every class (group) is a section of it.
    PeriodSubject,
    /// A course and a section per class (the default; what OneRoster classes are).
    #[default]
    PeriodGroup,
    /// A course and a section per subject of a class, per period.
    PeriodGroupSubject,
    /// A course per class spanning its periods (no term); a section per subject of it.
    GroupGroupSubject,
}

impl CourseTemplate {
    pub const ALL: [(&'static str, CourseTemplate); 4] = [
        ("period+subject", CourseTemplate::PeriodSubject),
        ("period+group", CourseTemplate::PeriodGroup),
        ("period+groupsubject", CourseTemplate::PeriodGroupSubject),
        ("group+groupsubject", CourseTemplate::GroupGroupSubject),
    ];

    pub fn as_str(self) -> &'static str {
        match Self::ALL.iter().find(|(_, t)| *t == self) {
            Some((n, _)) => n,
            None => "period+group",
        }
    }

    /// Parses case-insensitively, ignoring spaces (`Period+Subject` and `period + subject`).
    pub fn parse(s: &str) -> Option<CourseTemplate> {
        let norm: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL.iter().find(|(n, _)| *n == norm).map(|(_, t)| *t)
    }
}

/// One execution profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// First day of the window.
    pub start: NaiveDate,
    /// Last day of the window (inclusive).
    pub end: NaiveDate,
    /// The OneRoster academic session (usually a school year) this profile syncs; `None`:
    /// every session.
    pub academic_period: Option<String>,
    pub enabled: bool,
    pub course_template: CourseTemplate,
    /// `[[profiles.blackout]]`: no runs of this profile in these ranges (on top of
    /// `[[safety.blackout]]`, which holds for every profile).
    pub blackout: Vec<DateWindow>,
    /// `[[profiles.add_only]]`: creates and updates only, no removals, in these ranges.
    pub add_only: Vec<DateWindow>,
    /// When `rosterbridge serve` runs it: a cron expression in UTC (seconds first, as
    /// `sec min hour day month weekday`; five fields mean seconds 0).
    pub schedule: String,
    /// 1-based line of its `name` key in the file.
    pub line: u32,
}

impl Profile {
    /// True when `day` falls in the window.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// The profile as a `[[profiles]]` TOML table (for `profile copy`).
    pub fn to_toml(&self) -> String {
        let mut s = String::from("[[profiles]]\n");
        s.push_str(&format!("name = {}\n", toml_str(&self.name)));
        s.push_str(&format!("start = {}\n", self.start.format("%Y-%m-%d")));
        s.push_str(&format!("end = {}\n", self.end.format("%Y-%m-%d")));
        if let Some(p) = &self.academic_period {
            s.push_str(&format!("academic_period = {}\n", toml_str(p)));
        }
        s.push_str(&format!("enabled = {}\n", self.enabled));
        s.push_str(&format!(
            "course_template = \"{}\"\n",
            self.course_template.as_str()
        ));
        for (table, windows) in [("blackout", &self.blackout), ("add_only", &self.add_only)] {
            for w in windows {
                s.push_str(&format!(
                    "\n[[profiles.{table}]]\nstart = {}\nend = {}\n",
                    w.start, w.end
                ));
                if let Some(r) = &w.reason {
                    s.push_str(&format!("reason = {}\n", toml_str(r)));
                }
            }
        }
        s
    }

    /// The copy `profile copy` makes: a new name and window. Rollover windows are kept only
    /// where they fall inside the new window (last year's June blackout means nothing to
    /// next year's profile); the ones dropped are returned so the command can say so.
    pub fn copy_as(
        &self,
        name: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> (Profile, Vec<DateWindow>) {
        let (lo, hi) = (crate::ops::date_of(start), crate::ops::date_of(end));
        let mut dropped = Vec::new();
        let mut keep = |ws: &[DateWindow]| -> Vec<DateWindow> {
            ws.iter()
                .filter_map(|w| {
                    if w.start >= lo && w.end <= hi {
                        Some(w.clone())
                    } else {
                        dropped.push(w.clone());
                        None
                    }
                })
                .collect()
        };
        let blackout = keep(&self.blackout);
        let add_only = keep(&self.add_only);
        (
            Profile {
                name: name.to_string(),
                start,
                end,
                blackout,
                add_only,
                ..self.clone()
            },
            dropped,
        )
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Which profile a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileChoice<'a> {
    /// No profiles are configured: the whole roster, with the defaults.
    NoProfiles,
    /// This profile applies.
    Active(&'a Profile),
    /// Profiles exist, but none is enabled with a window containing `today`.
    NoneActive { today: NaiveDate },
}

/// Why a named profile cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("no profile is named {name:?}; the configuration has: {}", if .known.is_empty() { "none".to_string() } else { .known.join(", ") })]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "profile {name:?} is disabled (enabled = false); enable it in the configuration to run it"
    )]
    Disabled { name: String },
}

/// The profile for a run: the one named (`--profile`), else the enabled one whose window
/// contains `today`.
pub fn choose_profile<'a>(
    profiles: &'a [Profile],
    today: NaiveDate,
    requested: Option<&str>,
) -> Result<ProfileChoice<'a>, ProfileError> {
    if let Some(name) = requested {
        let p = profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::Unknown {
                name: name.to_string(),
                known: profiles.iter().map(|p| p.name.clone()).collect(),
            })?;
        if !p.enabled {
            return Err(ProfileError::Disabled {
                name: name.to_string(),
            });
        }
        return Ok(ProfileChoice::Active(p));
    }
    if profiles.is_empty() {
        return Ok(ProfileChoice::NoProfiles);
    }
    Ok(
        match profiles.iter().find(|p| p.enabled && p.contains(today)) {
            Some(p) => ProfileChoice::Active(p),
            None => ProfileChoice::NoneActive { today },
        },
    )
}

/// A plain sentence for "no profile applies today".
pub fn none_active_message(profiles: &[Profile], today: NaiveDate) -> String {
    let list: Vec<String> = profiles
        .iter()
        .map(|p| {
            format!(
                "{} {}..{}{}",
                p.name,
                p.start,
                p.end,
                if p.enabled { "" } else { " (disabled)" }
            )
        })
        .collect();
    format!("no execution profile is active on {today}, so there is nothing to do (profiles: {}); use --profile NAME to run one anyway", list.join("; "))
}

/// Nightly at 02:00 UTC.
pub const DEFAULT_SCHEDULE: &str = "0 0 2 * * *";

/// A profile's `schedule` as a cron pattern (UTC; seconds optional, first when given).
pub fn parse_schedule(text: &str) -> Result<croner::Cron, String> {
    use std::str::FromStr;
    let text = text.trim();
    // Five fields: minute first; six: seconds first.
    let with_seconds = if text.split_whitespace().count() == 5 {
        format!("0 {text}")
    } else {
        text.to_string()
    };
    croner::Cron::from_str(&with_seconds).map_err(|e| e.to_string())
}

/// `[[profiles]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub name: Spanned<String>,
    pub start: Spanned<toml::Value>,
    pub end: Spanned<toml::Value>,
    pub academic_period: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    pub course_template: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    #[serde(default)]
    pub blackout: Vec<crate::ops::RawWindow>,
    #[serde(default)]
    pub add_only: Vec<crate::ops::RawWindow>,
}

/// A date written as a TOML date (`2026-08-01`) or a string (`"2026-08-01"`).
pub(crate) fn date_of(v: &toml::Value) -> Option<NaiveDate> {
    match v {
        toml::Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32)
        }
        _ => None,
    }
}

pub(crate) fn validate_profiles(
    raw: &[RawProfile],
    p: &mut crate::raw::Problems<'_>,
) -> Vec<Profile> {
    let mut out: Vec<Profile> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let key = |k: &str| format!("profiles[{i}].{k}");
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() {
            p.at(
                &key("name"),
                &r.name,
                "a profile needs a name".into(),
                "e.g. name = \"2026-2027\"",
            );
        } else if out.iter().any(|o| o.name == name) {
            p.at(
                &key("name"),
                &r.name,
                format!("two profiles are named {name:?}"),
                "give every profile its own name",
            );
        }
        let mut date = |k: &str, v: &Spanned<toml::Value>| match date_of(v.get_ref()) {
            Some(d) => Some(d),
            None => {
                p.at_value(
                    &key(k),
                    v.span().start,
                    v.get_ref().to_string(),
                    format!("`{}` must be a date (YYYY-MM-DD)", key(k)),
                    "e.g. start = 2026-08-01",
                );
                None
            }
        };
        let start = date("start", &r.start);
        let end = date("end", &r.end);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                p.at_value(
                    &key("end"),
                    r.end.span().start,
                    r.end.get_ref().to_string(),
                    format!("profile {name:?} ends ({e}) before it starts ({s})"),
                    "swap start and end",
                );
            }
        }
        let course_template = match &r.course_template {
            None => CourseTemplate::default(),
            Some(t) => match CourseTemplate::parse(t.get_ref()) {
                Some(t) => t,
                None => {
                    let names: Vec<&str> = CourseTemplate::ALL.iter().map(|(n, _)| *n).collect();
                    p.at(
                        &key("course_template"),
                        t,
                        format!("`course_template` must be one of: {}", names.join(", ")),
                        "period+group gives a course and a section per OneRoster class",
                    );
                    CourseTemplate::default()
                }
            },
        };
        if let Some(a) = &r.academic_period {
            if a.get_ref().trim().is_empty() {
                p.at(&key("academic_period"), a, "`academic_period` is empty".into(), "name the academic session's sourcedId (usually the school year), or leave the key out");
            }
        }
        let schedule = match &r.schedule {
            None => DEFAULT_SCHEDULE.to_string(),
            Some(v) => match parse_schedule(v.get_ref()) {
                Ok(_) => v.get_ref().trim().to_string(),
                Err(why) => {
                    p.at(&key("schedule"), v, format!("`schedule` is not a cron expression: {why}"), "e.g. \"0 30 1 * * *\" (01:30 UTC every day; seconds first) or \"30 1 * * 1-5\"");
                    DEFAULT_SCHEDULE.to_string()
                }
            },
        };
        let blackout = crate::ops::windows(p, &key("blackout"), &r.blackout);
        let add_only = crate::ops::windows(p, &key("add_only"), &r.add_only);
        let (line, _) = crate::line_col(p.text, r.name.span().start);
        if let (Some(start), Some(end)) = (start, end) {
            out.push(Profile {
                name,
                start,
                end,
                academic_period: r
                    .academic_period
                    .as_ref()
                    .map(|a| a.get_ref().trim().to_string()),
                enabled: r.enabled.unwrap_or(true),
                course_template,
                blackout,
                add_only,
                schedule,
                line,
            });
        }
    }
    // Overlapping enabled windows: name both.
    for (i, a) in out.iter().enumerate() {
        for b in &out[i + 1..] {
            if a.enabled && b.enabled && a.start <= b.end && b.start <= a.end {
                let (line, col) = (b.line, 1);
                p.list.push(
                    rosterbridge_model::Diagnostic::error(
                        "config-invalid",
                        format!("profiles {:?} ({}..{}) and {:?} ({}..{}) overlap; a day may belong to one profile only", a.name, a.start, a.end, b.name, b.start, b.end),
                    )
                    .at(rosterbridge_model::Location::at(&p.file, line).with_column(col).with_field("profiles"))
                    .value(format!("{} / {}", a.name, b.name))
                    .hint("move one window, or disable one of them (enabled = false)"),
                );
            }
        }
    }
    out
}
