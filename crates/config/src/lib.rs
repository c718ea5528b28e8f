//! The rosterbridge configuration file.
//!
//! Two stages, as ripgrep and Vector do it: [`RawConfig`] is exactly what the TOML says
//! (serde, unknown keys rejected), [`Config`] is the validated, resolved form the engine
//! uses (relative paths resolved against the file's folder, defaults applied). Problems
//! are reported as [`Diagnostic`]s that name the file, line and column of the key.

use rosterbridge_model::kind::Status;
use rosterbridge_model::{Diagnostic, Location};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub mod example;
pub mod fields;
mod marks;
mod ops;
pub mod options;
pub mod profiles;
mod raw;
mod sources;
pub use fields::FieldMappings;
pub use marks::*;
pub use ops::{
    chrono_free, CanvasTarget, DateWindow, Environment, NotifyConfig, NotifyEvent, RunConfig,
    SafetyRules, ScopeRule, SmtpConfig, SmtpTls, Threshold, Thresholds,
};
pub use options::*;
pub use profiles::{choose_profile, CourseTemplate, Profile, ProfileChoice, ProfileError};
pub use raw::*;
pub use sources::*;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, each with its location.
    #[error("{} problem(s) in {}", .diagnostics.len(), .path.display())]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The problems as diagnostics (one for a read error).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ConfigError::Read { path, source } => {
                vec![Diagnostic::error("config-unreadable", source.to_string())
                    .at(Location::file(path.display().to_string()))
                    .hint("check the --config path")]
            }
            ConfigError::Invalid { diagnostics, .. } => diagnostics.clone(),
        }
    }
}

/// Which source kinds exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum SourceKind {
    #[serde(rename = "oneroster-csv")]
    OneRosterCsv,
    /// OneRoster 1.1 or 1.2 REST.
    #[serde(rename = "oneroster-rest")]
    OneRosterRest,
    /// Clever API v3.
    #[serde(rename = "clever")]
    Clever,
    /// A SIS's own CSV export, mapped column by column.
    #[serde(rename = "sis-csv")]
    SisCsv,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::OneRosterCsv => "oneroster-csv",
            SourceKind::OneRosterRest => "oneroster-rest",
            SourceKind::Clever => "clever",
            SourceKind::SisCsv => "sis-csv",
        }
    }
}

/// What to do with rows the source or mapping cannot use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorPolicy {
    /// Stop before anything is applied and list every bad row (the default: nothing lost).
    #[default]
    Fail,
    /// Leave bad rows out, report them, and go on with the rest.
    Skip,
}

/// How Canvas is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CanvasMode {
    #[default]
    SisImport,
    Rest,
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub source: SourceConfig,
    pub canvas: CanvasConfig,
    pub mapping: MappingConfig,
    pub safety: SafetyConfig,
    /// The SQLite state file.
    pub state_path: PathBuf,
    /// `[marks]`: final grades back to the SIS (off unless `enabled`).
    pub marks: MarksConfig,
    /// `[[profiles]]`: execution profiles (sync periods), in file order.
    pub profiles: Vec<Profile>,
    /// The profile asked for on the command line (`--profile`), not from the file.
    pub requested_profile: Option<String>,
    /// `[run]`: timeout.
    pub run: RunConfig,
    /// `[notify]`: webhook, mail, events.
    pub notify: NotifyConfig,
    /// `[canvas.production]`: when set, `[canvas]` is the test instance until `promote`.
    pub production: Option<CanvasTarget>,
    /// Which Canvas `canvas` is (see [`Config::resolve_environment`]).
    pub environment: Environment,
}

impl Config {
    /// The profile for a run on `today` (see [`choose_profile`]).
    pub fn profile_for(&self, today: chrono::NaiveDate) -> Result<ProfileChoice<'_>, ProfileError> {
        choose_profile(&self.profiles, today, self.requested_profile.as_deref())
    }
}

/// The validated extras of `[mapping]` and `[[profiles]]`.
pub(crate) struct Extras {
    pub actions: ActionRules,
    pub fields: FieldMappings,
    pub matching: MatchRules,
    pub terms: TermSource,
    pub accounts: AccountsConfig,
    pub enrollments: EnrollmentOptions,
    pub scope: ScopeConfig,
    pub profiles: Vec<Profile>,
}

pub(crate) fn validate_extras(
    m: &RawMapping,
    profiles: &[profiles::RawProfile],
    p: &mut raw::Problems<'_>,
) -> Extras {
    let first = p.list.len();
    let extras = validate_extras_unsorted(m, profiles, p);
    // Tables are read as sorted maps; report in file order.
    p.list[first..].sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
    extras
}

fn validate_extras_unsorted(
    m: &RawMapping,
    profiles: &[profiles::RawProfile],
    p: &mut raw::Problems<'_>,
) -> Extras {
    let terms = m
        .terms
        .as_ref()
        .map(|t| options::validate_terms(t, p))
        .unwrap_or_default();
    let profiles = profiles::validate_profiles(profiles, p);
    if terms == TermSource::AcademicPeriod {
        for prof in profiles.iter().filter(|pr| pr.academic_period.is_none()) {
            p.list.push(
                Diagnostic::error("config-invalid", format!("`mapping.terms.from = \"academic_period\"` needs an academic period, and profile {:?} names none", prof.name))
                    .at(Location::at(&p.file, prof.line).with_field("profiles.academic_period"))
                    .hint("add academic_period = \"<school year sourcedId>\" to the profile"),
            );
        }
        if profiles.is_empty() {
            p.list.push(
                Diagnostic::error("config-invalid", "`mapping.terms.from = \"academic_period\"` needs a profile naming the academic period".to_string())
                    .at(Location::file(&p.file).with_field("mapping.terms.from"))
                    .hint("add a [[profiles]] table with academic_period"),
            );
        }
    }
    let fields = m
        .fields
        .as_ref()
        .map(|f| fields::validate_fields(f, p))
        .unwrap_or_default();
    let matching = m
        .matching
        .as_ref()
        .map(|x| options::validate_matching(x, p))
        .unwrap_or_default();
    if matching
        .users
        .as_ref()
        .is_some_and(|u| u.contains(&MatchKey::IntegrationId))
        && fields.user(fields::UserField::IntegrationId).is_none()
    {
        p.list.push(
            Diagnostic::error("config-invalid", "`mapping.match.users` matches by integration_id, but users get none: map `mapping.fields.users.integration_id`".to_string())
                .at(Location::file(&p.file).with_field("mapping.match.users"))
                .hint("e.g. [mapping.fields.users] integration_id = { property = \"identifier\" }"),
        );
    }
    Extras {
        actions: m
            .actions
            .as_ref()
            .map(|a| options::validate_actions(a, p))
            .unwrap_or_default(),
        fields,
        matching,
        terms,
        accounts: m
            .accounts
            .as_ref()
            .map(|a| options::validate_accounts(a, p))
            .unwrap_or_default(),
        enrollments: m
            .enrollments
            .as_ref()
            .map(|e| options::validate_enrollments(e, p))
            .unwrap_or_default(),
        scope: m
            .scope
            .as_ref()
            .map(|s| options::validate_scope(s, p))
            .unwrap_or_default(),
        profiles,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceConfig {
    pub kind: SourceKind,
    /// Folder or `.zip`, resolved against the config file's folder (empty for network kinds).
    pub path: PathBuf,
    /// `1.1` / `1.2`, used only when the package has no manifest.
    pub version: Option<String>,
    /// `bulk` / `delta`, used only when the package has no manifest.
    pub mode: Option<String>,
    pub on_row_error: RowErrorPolicy,
    /// Set for `oneroster-rest`.
    pub rest: Option<RestSourceConfig>,
    /// Set for `clever`.
    pub clever: Option<CleverSourceConfig>,
    /// Set for `sis-csv`.
    pub sis_csv: Option<SisCsvTables>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CanvasConfig {
    pub url: String,
    pub account_id: u64,
    /// Name of the environment variable holding the access token (never the token itself).
    pub token_env: String,
    pub mode: CanvasMode,
    /// How long to wait for a SIS import to finish before giving up (nothing is recorded).
    pub import_timeout_secs: u64,
    /// Send SIS imports with `override_sis_stickiness`: overwrite fields edited in Canvas.
    pub override_sis_stickiness: bool,
    /// REST sink: most requests in flight at once.
    pub max_concurrency: u32,
    /// First contact: how users not found by SIS id are looked for, in order.
    pub match_users: Vec<UserMatchKey>,
}

/// A way to find an existing Canvas user on first contact (after the SIS id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserMatchKey {
    Login,
    Email,
    /// The row's `integration_id` (set by a users.integration_id field mapping).
    IntegrationId,
}

/// A static sub-account every school account hangs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootAccount {
    pub sis_id: String,
    pub name: String,
}

/// Mapping options (grows with the mapping configuration issue).
#[derive(Clone, Debug, PartialEq)]
pub struct MappingConfig {
    pub root_account: Option<RootAccount>,
    /// Status sent for a user gone from the source: suspended (default) or deleted.
    pub user_removal: Status,
    /// Status sent for an enrollment gone from the source: deleted (default), completed or inactive.
    pub enrollment_removal: Status,
    /// For a course gone from the source: None = leave it alone (default), completed or deleted.
    pub course_removal: Option<Status>,
    /// For a section gone from the source: None = leave it alone (default), or deleted.
    pub section_removal: Option<Status>,
    /// `[mapping.actions]`: which changes are allowed per entity and role.
    pub actions: ActionRules,
    /// `[mapping.fields.*]`: how Canvas fields are built.
    pub fields: FieldMappings,
    /// `[mapping.match]`: first-contact matching.
    pub matching: MatchRules,
    /// `[mapping.terms] from`.
    pub terms: TermSource,
    /// `[mapping.accounts]`.
    pub accounts: AccountsConfig,
    /// `[mapping.enrollments]`.
    pub enrollments: EnrollmentOptions,
    /// `[mapping.scope]`.
    pub scope: ScopeConfig,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            root_account: None,
            user_removal: Status::Suspended,
            enrollment_removal: Status::Deleted,
            course_removal: None,
            section_removal: None,
            actions: ActionRules::default(),
            fields: FieldMappings::default(),
            matching: MatchRules::default(),
            terms: TermSource::default(),
            accounts: AccountsConfig::default(),
            enrollments: EnrollmentOptions::default(),
            scope: ScopeConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SafetyConfig {
    /// Hold a plan that would deactivate or delete more than this percent of any kind's
    /// existing objects.
    pub max_removal_percent: f64,
    /// Thresholds per kind and scope, guards, rollover windows.
    pub rules: SafetyRules,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            max_removal_percent: 10.0,
            rules: SafetyRules::default(),
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` locates relative paths and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let mut d = Diagnostic::error("config-syntax", e.message().to_string())
                    .hint("see `rosterbridge --help` and the README's configuration reference for the valid keys");
                let mut loc = Location::file(&file);
                if let Some(span) = e.span() {
                    let (line, col) = line_col(text, span.start);
                    loc = loc.clone();
                    loc.line = Some(line);
                    loc.column = Some(col);
                    d = d.value(text.get(span.clone()).unwrap_or("").to_string());
                }
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    diagnostics: vec![d.at(loc)],
                });
            }
        };
        raw.validate(text, path)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line as u32, col as u32)
}
