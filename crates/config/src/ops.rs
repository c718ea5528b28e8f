//! Safety and operations keys: thresholds per kind and scope, guards, rollover windows
//! (`[safety]`), the run lock and timeout (`[run]`), notifications (`[notify]`), and the
//! production Canvas (`[canvas.production]`).
//!
//! Kept apart from `raw.rs` so that the shapes can later move under execution profiles
//! without touching the rest of the configuration.

use crate::raw::Problems;
use rosterbridge_model::kind::Kind;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A count threshold: hold when `count > floor` and (`percent` of the existing objects is
/// exceeded, or `count > ceiling`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub percent: f64,
    pub floor: usize,
    pub ceiling: Option<usize>,
}

/// Thresholds for removals (deactivations and deletions) and for updates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub removals: Threshold,
    pub updates: Threshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            removals: Threshold {
                percent: 10.0,
                floor: 0,
                ceiling: None,
            },
            updates: Threshold {
                percent: 75.0,
                floor: 10,
                ceiling: None,
            },
        }
    }
}

/// Thresholds for one school (sub-account SIS id) or term (SIS id).
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeRule {
    pub account: Option<String>,
    pub term: Option<String>,
    pub thresholds: Thresholds,
}

/// A closed date range (both ends included), in the local date of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateWindow {
    pub start: chrono_free::Date,
    pub end: chrono_free::Date,
    pub reason: Option<String>,
}

/// A minimal date type so the config crate needs no date library: `YYYY-MM-DD`.
pub mod chrono_free {
    /// A calendar date; ordered.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Date {
        pub year: i32,
        pub month: u32,
        pub day: u32,
    }

    impl Date {
        pub fn parse(s: &str) -> Option<Date> {
            let s = s.trim();
            let s = s
                .get(..10)
                .filter(|_| s.len() == 10 || s.as_bytes().get(10) == Some(&b'T'))?;
            let mut parts = s.split('-');
            let year = parts.next()?.parse().ok()?;
            let month: u32 = parts.next()?.parse().ok()?;
            let day: u32 = parts.next()?.parse().ok()?;
            ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date {
                year,
                month,
                day,
            })
        }
    }

    impl std::fmt::Display for Date {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

impl DateWindow {
    pub fn contains(&self, d: chrono_free::Date) -> bool {
        self.start <= d && d <= self.end
    }
}

impl std::fmt::Display for DateWindow {
    /// `2027-06-12..2027-06-20 (reason)`, as plans and errors show a window.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)?;
        match &self.reason {
            Some(r) if !r.is_empty() => write!(f, " ({r})"),
            _ => Ok(()),
        }
    }
}

/// A chrono date as the windows count days.
pub fn date_of(d: chrono::NaiveDate) -> chrono_free::Date {
    use chrono::Datelike;
    chrono_free::Date {
        year: d.year(),
        month: d.month(),
        day: d.day(),
    }
}

/// What `[safety]` says beyond the kind-wide removal percent.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetyRules {
    /// Defaults for every kind.
    pub thresholds: Thresholds,
    /// Per-kind overrides.
    pub kinds: BTreeMap<Kind, Thresholds>,
    /// Check every school and term on its own as well as the whole kind.
    pub per_scope: bool,
    /// Per-scope overrides.
    pub scopes: Vec<ScopeRule>,
    /// Hold when a kind's desired objects shrink by more than this percent of the active
    /// ones (an empty table always holds).
    pub max_shrink_percent: f64,
    /// Kinds with fewer active objects than this are not checked for shrinking.
    pub shrink_min_existing: usize,
    /// Hold when at least this many removed objects reappear under new SIS ids.
    pub rekey_min: usize,
    /// No runs in these ranges.
    pub blackout: Vec<DateWindow>,
    /// Creates and updates only (no removals) in these ranges.
    pub add_only: Vec<DateWindow>,
}

impl Default for SafetyRules {
    fn default() -> Self {
        SafetyRules {
            thresholds: Thresholds::default(),
            kinds: BTreeMap::new(),
            per_scope: true,
            scopes: Vec::new(),
            max_shrink_percent: 50.0,
            shrink_min_existing: 20,
            rekey_min: 10,
            blackout: Vec::new(),
            add_only: Vec::new(),
        }
    }
}

impl SafetyRules {
    /// The rules for a run of `profile`: the profile's own rollover windows join the
    /// `[safety]` ones, their reason naming the profile so a plan or refusal says whose
    /// window it is.
    pub fn for_profile(&self, profile: Option<&crate::Profile>) -> SafetyRules {
        let mut rules = self.clone();
        if let Some(p) = profile {
            let named = |w: &DateWindow| DateWindow {
                reason: Some(match &w.reason {
                    Some(r) if !r.is_empty() => format!("{r}, profile {}", p.name),
                    _ => format!("profile {}", p.name),
                }),
                ..w.clone()
            };
            rules.blackout.extend(p.blackout.iter().map(named));
            rules.add_only.extend(p.add_only.iter().map(named));
        }
        rules
    }

    /// The thresholds for a kind (its override, else the defaults).
    pub fn for_kind(&self, kind: Kind) -> Thresholds {
        self.kinds.get(&kind).copied().unwrap_or(self.thresholds)
    }
}

/// `[run]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// A run still going after this long is stopped, recorded failed, and notified.
    pub timeout_minutes: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            timeout_minutes: 360,
        }
    }
}

/// An event that can be notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyEvent {
    Held,
    Failed,
    PartialFailure,
    Stale,
}

impl NotifyEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Held => "held",
            NotifyEvent::Failed => "failed",
            NotifyEvent::PartialFailure => "partial_failure",
            NotifyEvent::Stale => "stale",
        }
    }
    const ALL: [NotifyEvent; 4] = [
        NotifyEvent::Held,
        NotifyEvent::Failed,
        NotifyEvent::PartialFailure,
        NotifyEvent::Stale,
    ];
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on localhost).
    None,
    /// STARTTLS on the submission port (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Name of the environment variable holding the password.
    pub password_env: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// `[notify]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NotifyConfig {
    pub webhook_url: Option<String>,
    pub smtp: Option<SmtpConfig>,
    /// Which events are sent.
    pub on: Vec<NotifyEvent>,
    /// "Stale": no successful run for this many hours.
    pub stale_after_hours: u64,
    /// Send a summary of the last day's runs once a day (with the first run after 24 hours).
    pub daily_summary: bool,
}

impl NotifyConfig {
    pub fn enabled(&self) -> bool {
        self.webhook_url.is_some() || self.smtp.is_some()
    }
    pub fn wants(&self, e: NotifyEvent) -> bool {
        self.on.contains(&e)
    }
}

/// A Canvas instance: the one in `[canvas]`, or `[canvas.production]`.
#[derive(Clone, Debug, PartialEq)]
pub struct CanvasTarget {
    pub url: String,
    pub account_id: u64,
    pub token_env: String,
}

// ---------------------------------------------------------------- raw forms

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    pub account: Option<String>,
    pub term: Option<String>,
    pub max_removal_percent: Option<f64>,
    pub removal_floor: Option<i64>,
    pub removal_ceiling: Option<i64>,
    pub max_update_percent: Option<f64>,
    pub update_floor: Option<i64>,
    pub update_ceiling: Option<i64>,
}

/// Threshold keys, as written under `[safety.kinds.<kind>]`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholdsFlat {
    pub max_removal_percent: Option<f64>,
    pub removal_floor: Option<i64>,
    pub removal_ceiling: Option<i64>,
    pub max_update_percent: Option<f64>,
    pub update_floor: Option<i64>,
    pub update_ceiling: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub start: Spanned<toml::Value>,
    pub end: Spanned<toml::Value>,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    pub max_removal_percent: Option<f64>,
    pub removal_floor: Option<i64>,
    pub removal_ceiling: Option<i64>,
    pub max_update_percent: Option<f64>,
    pub update_floor: Option<i64>,
    pub update_ceiling: Option<i64>,
    pub per_scope: Option<bool>,
    pub max_shrink_percent: Option<Spanned<f64>>,
    pub shrink_min_existing: Option<Spanned<i64>>,
    pub rekey_min: Option<Spanned<i64>>,
    #[serde(default)]
    pub kinds: BTreeMap<String, RawThresholdsFlat>,
    #[serde(default)]
    pub scope: Vec<RawScope>,
    #[serde(default)]
    pub blackout: Vec<RawWindow>,
    #[serde(default)]
    pub add_only: Vec<RawWindow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub timeout_minutes: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: Spanned<String>,
    pub port: Option<Spanned<i64>>,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password_env: Option<Spanned<String>>,
    pub from: Spanned<String>,
    pub to: Spanned<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub webhook_url: Option<Spanned<String>>,
    pub smtp: Option<RawSmtp>,
    pub on: Option<Spanned<Vec<String>>>,
    pub stale_after_hours: Option<Spanned<i64>>,
    #[serde(default)]
    pub daily_summary: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanvasTarget {
    pub url: Spanned<String>,
    pub account_id: Spanned<i64>,
    pub token_env: Option<Spanned<String>>,
}

// ---------------------------------------------------------------- validation

fn percent(p: &mut Problems<'_>, key: &str, v: Option<f64>, offset: usize, default: f64) -> f64 {
    match v {
        Some(x) if !(0.0..=100.0).contains(&x) || x.is_nan() => {
            p.at_value(
                key,
                offset,
                x.to_string(),
                format!("`{key}` must be between 0 and 100"),
                "a percent of the kind's existing objects",
            );
            default
        }
        Some(x) => x,
        None => default,
    }
}

fn count(p: &mut Problems<'_>, key: &str, v: Option<i64>, offset: usize) -> Option<usize> {
    match v {
        Some(x) if x < 0 => {
            p.at_value(
                key,
                offset,
                x.to_string(),
                format!("`{key}` must be 0 or more"),
                "a number of objects",
            );
            None
        }
        Some(x) => Some(x as usize),
        None => None,
    }
}

fn thresholds(
    p: &mut Problems<'_>,
    prefix: &str,
    raw: &RawThresholdsFlat,
    offset: usize,
    base: Thresholds,
) -> Thresholds {
    let k = |name: &str| {
        if prefix.is_empty() {
            format!("safety.{name}")
        } else {
            format!("safety.{prefix}.{name}")
        }
    };
    Thresholds {
        removals: Threshold {
            percent: percent(
                p,
                &k("max_removal_percent"),
                raw.max_removal_percent,
                offset,
                base.removals.percent,
            ),
            floor: count(p, &k("removal_floor"), raw.removal_floor, offset)
                .unwrap_or(base.removals.floor),
            ceiling: count(p, &k("removal_ceiling"), raw.removal_ceiling, offset)
                .or(base.removals.ceiling),
        },
        updates: Threshold {
            percent: percent(
                p,
                &k("max_update_percent"),
                raw.max_update_percent,
                offset,
                base.updates.percent,
            ),
            floor: count(p, &k("update_floor"), raw.update_floor, offset)
                .unwrap_or(base.updates.floor),
            ceiling: count(p, &k("update_ceiling"), raw.update_ceiling, offset)
                .or(base.updates.ceiling),
        },
    }
}

fn date(p: &mut Problems<'_>, key: &str, v: &Spanned<toml::Value>) -> chrono_free::Date {
    let text = match v.get_ref() {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => other.to_string(),
    };
    match chrono_free::Date::parse(&text) {
        Some(d) => d,
        None => {
            p.at_value(
                key,
                v.span().start,
                text,
                format!("`{key}` must be a date, YYYY-MM-DD"),
                "e.g. 2027-06-20 (both ends are included)",
            );
            chrono_free::Date {
                year: 1970,
                month: 1,
                day: 1,
            }
        }
    }
}

pub(crate) fn windows(p: &mut Problems<'_>, key: &str, raw: &[RawWindow]) -> Vec<DateWindow> {
    raw.iter()
        .map(|w| {
            let start = date(p, &format!("{key}.start"), &w.start);
            let end = date(p, &format!("{key}.end"), &w.end);
            if end < start {
                p.at_value(
                    &format!("{key}.end"),
                    w.end.span().start,
                    end.to_string(),
                    format!("`{key}` ends before it starts"),
                    "end is the last day of the window, on or after start",
                );
            }
            DateWindow {
                start,
                end,
                reason: w.reason.clone(),
            }
        })
        .collect()
}

macro_rules! six {
    ($s:expr) => {
        RawThresholdsFlat {
            max_removal_percent: $s.max_removal_percent,
            removal_floor: $s.removal_floor,
            removal_ceiling: $s.removal_ceiling,
            max_update_percent: $s.max_update_percent,
            update_floor: $s.update_floor,
            update_ceiling: $s.update_ceiling,
        }
    };
}

impl RawSafety {
    /// `(max_removal_percent, rules)`.
    pub(crate) fn validate(&self, p: &mut Problems<'_>) -> (f64, SafetyRules) {
        let mut rules = SafetyRules {
            thresholds: thresholds(p, "", &six!(self), 0, Thresholds::default()),
            ..Default::default()
        };
        for (name, raw) in &self.kinds {
            match Kind::parse(name) {
                Some(kind) => {
                    let t = thresholds(p, &format!("kinds.{name}"), raw, 0, rules.thresholds);
                    rules.kinds.insert(kind, t);
                }
                None => p.at_value(
                    &format!("safety.kinds.{name}"),
                    0,
                    name.clone(),
                    format!("`safety.kinds` has no kind {name:?}"),
                    "kinds: accounts, terms, users, courses, sections, enrollments, user_observers",
                ),
            }
        }
        for (i, s) in self.scope.iter().enumerate() {
            if s.account.is_none() == s.term.is_none() {
                p.at_value(&format!("safety.scope[{i}]"), 0, String::new(), "a `[[safety.scope]]` names exactly one of `account` (a school's SIS id) and `term` (a term's SIS id)".into(), "write account = \"sch-1\" or term = \"fall-2026\"");
            }
            let t = thresholds(p, &format!("scope[{i}]"), &six!(s), 0, rules.thresholds);
            rules.scopes.push(ScopeRule {
                account: s.account.clone(),
                term: s.term.clone(),
                thresholds: t,
            });
        }
        rules.per_scope = self.per_scope.unwrap_or(true);
        if let Some(v) = &self.max_shrink_percent {
            rules.max_shrink_percent = percent(
                p,
                "safety.max_shrink_percent",
                Some(*v.get_ref()),
                v.span().start,
                50.0,
            );
        }
        if let Some(v) = &self.shrink_min_existing {
            rules.shrink_min_existing = count(
                p,
                "safety.shrink_min_existing",
                Some(*v.get_ref()),
                v.span().start,
            )
            .unwrap_or(20);
        }
        if let Some(v) = &self.rekey_min {
            rules.rekey_min = count(p, "safety.rekey_min", Some(*v.get_ref()), v.span().start)
                .unwrap_or(10)
                .max(1);
        }
        rules.blackout = windows(p, "safety.blackout", &self.blackout);
        rules.add_only = windows(p, "safety.add_only", &self.add_only);
        (rules.thresholds.removals.percent, rules)
    }
}

impl RawRun {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) -> RunConfig {
        match &self.timeout_minutes {
            Some(v) if !(1..=7 * 24 * 60).contains(v.get_ref()) => {
                p.at(
                    "run.timeout_minutes",
                    v,
                    "`run.timeout_minutes` must be between 1 and 10080".into(),
                    "how long a run may take before it is stopped, e.g. 360",
                );
                RunConfig::default()
            }
            Some(v) => RunConfig {
                timeout_minutes: *v.get_ref() as u64,
            },
            None => RunConfig::default(),
        }
    }
}

impl RawNotify {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) -> NotifyConfig {
        let webhook_url = self.webhook_url.as_ref().map(|u| {
            if !crate::raw::http_url_ok(u.get_ref()) {
                p.at(
                    "notify.webhook_url",
                    u,
                    "`notify.webhook_url` is not an http(s) URL".into(),
                    "the URL that receives a JSON POST per event",
                );
            }
            u.get_ref().clone()
        });
        let on = match &self.on {
            None => NotifyEvent::ALL.to_vec(),
            Some(list) => list
                .get_ref()
                .iter()
                .filter_map(|name| {
                    let e = NotifyEvent::ALL.into_iter().find(|e| e.as_str() == name);
                    if e.is_none() {
                        p.at_value(
                            "notify.on",
                            list.span().start,
                            name.clone(),
                            format!("`notify.on` has {name:?}"),
                            "events: held, failed, partial_failure, stale",
                        );
                    }
                    e
                })
                .collect(),
        };
        let stale_after_hours = match &self.stale_after_hours {
            Some(v) if !(1..=24 * 365).contains(v.get_ref()) => {
                p.at(
                    "notify.stale_after_hours",
                    v,
                    "`notify.stale_after_hours` must be between 1 and 8760".into(),
                    "e.g. 26 for a nightly run",
                );
                26
            }
            Some(v) => *v.get_ref() as u64,
            None => 26,
        };
        let smtp = self.smtp.as_ref().map(|s| {
            let port = match &s.port {
                Some(v) if !(1..=65535).contains(v.get_ref()) => {
                    p.at(
                        "notify.smtp.port",
                        v,
                        "`notify.smtp.port` must be a TCP port".into(),
                        "587 for STARTTLS, 465 for TLS, 25 for a local relay",
                    );
                    587
                }
                Some(v) => *v.get_ref() as u16,
                None => match s.tls {
                    SmtpTls::None => 25,
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                },
            };
            if s.host.get_ref().trim().is_empty() {
                p.at(
                    "notify.smtp.host",
                    &s.host,
                    "`notify.smtp.host` is empty".into(),
                    "the SMTP server's host name",
                );
            }
            if !s.from.get_ref().contains('@') {
                p.at(
                    "notify.smtp.from",
                    &s.from,
                    "`notify.smtp.from` is not a mail address".into(),
                    "e.g. rosterbridge@district.org",
                );
            }
            if s.to.get_ref().is_empty() || s.to.get_ref().iter().any(|a| !a.contains('@')) {
                p.at_value(
                    "notify.smtp.to",
                    s.to.span().start,
                    s.to.get_ref().join(", "),
                    "`notify.smtp.to` must list mail addresses".into(),
                    "e.g. [\"sis-admin@district.org\"]",
                );
            }
            if let Some(env) = &s.password_env {
                if !crate::raw::env_name_ok(env.get_ref()) {
                    p.at(
                        "notify.smtp.password_env",
                        env,
                        "`notify.smtp.password_env` must be the NAME of an environment variable"
                            .into(),
                        "never the password itself",
                    );
                }
            }
            SmtpConfig {
                host: s.host.get_ref().clone(),
                port,
                tls: s.tls,
                username: s.username.clone(),
                password_env: s.password_env.as_ref().map(|e| e.get_ref().clone()),
                from: s.from.get_ref().clone(),
                to: s.to.get_ref().clone(),
            }
        });
        NotifyConfig {
            webhook_url,
            smtp,
            on,
            stale_after_hours,
            daily_summary: self.daily_summary,
        }
    }
}

impl RawCanvasTarget {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) -> CanvasTarget {
        let url = self.url.get_ref().trim_end_matches('/').to_string();
        if !crate::raw::http_url_ok(&url) {
            p.at(
                "canvas.production.url",
                &self.url,
                "`canvas.production.url` is not an http(s) URL".into(),
                "the production Canvas base URL",
            );
        }
        if *self.account_id.get_ref() <= 0 {
            p.at(
                "canvas.production.account_id",
                &self.account_id,
                "`canvas.production.account_id` must be a positive Canvas account id".into(),
                "the root account is usually 1",
            );
        }
        let token_env = match &self.token_env {
            Some(t) => {
                if !crate::raw::env_name_ok(t.get_ref()) {
                    p.at(
                        "canvas.production.token_env",
                        t,
                        "`canvas.production.token_env` must be the NAME of an environment variable"
                            .into(),
                        "e.g. CANVAS_PROD_TOKEN",
                    );
                }
                t.get_ref().clone()
            }
            None => "CANVAS_PROD_TOKEN".into(),
        };
        CanvasTarget {
            url,
            account_id: (*self.account_id.get_ref()).max(0) as u64,
            token_env,
        }
    }
}

/// Which Canvas a run targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// No `[canvas.production]`: `[canvas]` is the only instance.
    Only,
    /// `[canvas]` while a production instance is configured but not promoted to.
    Test,
    /// `[canvas.production]`, after `rosterbridge promote`.
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Only => "canvas",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl crate::Config {
    /// The file whose presence says "promoted to production": beside the (test) state.
    pub fn promotion_marker(&self) -> std::path::PathBuf {
        // After promotion the state path is production's; the marker sits beside the test one.
        let base = match (
            self.environment,
            self.state_path.file_name().and_then(|n| n.to_str()),
        ) {
            // The inverse of the naming in `resolve_environment`.
            (Environment::Production, Some(name)) => match (
                name.strip_suffix(".production.db"),
                name.strip_suffix(".production"),
            ) {
                (Some(stem), _) => self.state_path.with_file_name(format!("{stem}.db")),
                (None, Some(name)) => self.state_path.with_file_name(name),
                (None, None) => self.state_path.clone(),
            },
            _ => self.state_path.clone(),
        };
        let mut name = base
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "rosterbridge".into());
        name.push(".promoted");
        base.with_file_name(name)
    }

    /// Resolves which Canvas to target: with `[canvas.production]`, test (`[canvas]`, its
    /// state at `state.path`) until the promotion marker exists, then production (its own
    /// state, `<state>.production.db`). Call after any `--state` override.
    pub fn resolve_environment(mut self) -> crate::Config {
        let Some(prod) = self.production.clone() else {
            self.environment = Environment::Only;
            return self;
        };
        if !self.promotion_marker().exists() {
            self.environment = Environment::Test;
            return self;
        }
        let name = self
            .state_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rosterbridge".into());
        let prod_name = match name.strip_suffix(".db") {
            Some(stem) => format!("{stem}.production.db"),
            None => format!("{name}.production"),
        };
        self.state_path = self.state_path.with_file_name(prod_name);
        self.canvas.url = prod.url;
        self.canvas.account_id = prod.account_id;
        self.canvas.token_env = prod.token_env;
        self.environment = Environment::Production;
        self
    }
}
