//! The configuration exactly as written. Fields whose values are checked after parsing
//! keep their span so a problem can be pointed at.

use crate::*;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub source: RawSource,
    pub canvas: RawCanvas,
    #[serde(default)]
    pub mapping: RawMapping,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub marks: RawMarks,
    #[serde(default)]
    pub profiles: Vec<crate::profiles::RawProfile>,
    #[serde(default)]
    pub run: crate::ops::RawRun,
    #[serde(default)]
    pub notify: crate::ops::RawNotify,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub kind: SourceKind,
    pub path: Option<Spanned<String>>,
    pub version: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub on_row_error: RowErrorPolicy,
    // Network kinds (oneroster-rest, clever).
    pub base_url: Option<Spanned<String>>,
    pub auth: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret_env: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub scopes: Option<Spanned<Vec<String>>>,
    pub credentials_in_body: Option<Spanned<bool>>,
    pub token_env: Option<Spanned<String>>,
    pub page_size: Option<Spanned<i64>>,
    pub incremental: Option<Spanned<bool>>,
    pub demographics: Option<Spanned<bool>>,
    pub timeout_seconds: Option<Spanned<i64>>,
    pub max_attempts: Option<Spanned<i64>>,
    pub contact_types: Option<Spanned<Vec<String>>>,
    // sis-csv.
    pub tables: Option<Spanned<SisCsvTables>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanvas {
    pub url: Spanned<String>,
    pub account_id: Spanned<i64>,
    pub token_env: Option<Spanned<String>>,
    #[serde(default)]
    pub mode: CanvasMode,
    pub import_timeout_secs: Option<Spanned<i64>>,
    #[serde(default)]
    pub override_sis_stickiness: bool,
    pub max_concurrency: Option<Spanned<i64>>,
    pub match_users: Option<Spanned<Vec<String>>>,
    /// A production Canvas; `[canvas]` is then the test instance (see `rosterbridge promote`).
    pub production: Option<crate::ops::RawCanvasTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRootAccount {
    pub sis_id: Spanned<String>,
    pub name: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    pub root_account: Option<RawRootAccount>,
    pub user_removal: Option<Spanned<String>>,
    pub enrollment_removal: Option<Spanned<String>>,
    pub course_removal: Option<Spanned<String>>,
    pub section_removal: Option<Spanned<String>>,
    pub actions: Option<std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    pub fields: Option<crate::fields::RawFields>,
    #[serde(rename = "match")]
    pub matching: Option<std::collections::BTreeMap<Spanned<String>, Spanned<Vec<String>>>>,
    pub terms: Option<crate::options::RawTerms>,
    pub accounts: Option<crate::options::RawAccounts>,
    pub enrollments: Option<crate::options::RawEnrollments>,
    pub scope: Option<crate::options::RawScope>,
}

pub use crate::ops::RawSafety;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub path: Option<Spanned<String>>,
}

/// Collects located problems while validating.
pub(crate) struct Problems<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: String,
    pub(crate) list: Vec<Diagnostic>,
}

impl Problems<'_> {
    pub(crate) fn at<T>(&mut self, key: &str, value: &Spanned<T>, message: String, hint: &str)
    where
        T: std::fmt::Display,
    {
        self.at_value(
            key,
            value.span().start,
            value.get_ref().to_string(),
            message,
            hint,
        )
    }

    /// A problem with one printable value at `offset`.
    pub(crate) fn at_value(
        &mut self,
        key: &str,
        offset: usize,
        value: String,
        message: String,
        hint: &str,
    ) {
        let (line, col) = line_col(self.text, offset);
        self.list.push(
            Diagnostic::error("config-invalid", message)
                .at(Location::at(&self.file, line)
                    .with_column(col)
                    .with_field(key))
                .value(value)
                .hint(hint),
        );
    }

    /// A problem with a value that has no printable form (lists, tables).
    pub(crate) fn at_span(
        &mut self,
        key: &str,
        span: std::ops::Range<usize>,
        message: String,
        hint: &str,
    ) {
        let (line, col) = line_col(self.text, span.start);
        self.list.push(
            Diagnostic::error("config-invalid", message)
                .at(Location::at(&self.file, line)
                    .with_column(col)
                    .with_field(key))
                .hint(hint),
        );
    }

    /// A required key that is absent: located at the file (it has no place of its own).
    pub(crate) fn missing(&mut self, key: &str, message: String, hint: &str) {
        self.list.push(
            Diagnostic::error("config-missing", message)
                .at(Location::file(&self.file).with_field(key))
                .hint(hint),
        );
    }
}

pub(crate) fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn http_url_ok(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '))
}

fn status_choice(
    p: &mut Problems<'_>,
    key: &str,
    value: &Option<Spanned<String>>,
    allowed: &[(&str, Option<Status>)],
    default: Option<Status>,
) -> Option<Status> {
    let Some(v) = value else { return default };
    match allowed
        .iter()
        .find(|(name, _)| *name == v.get_ref().as_str())
    {
        Some((_, status)) => *status,
        None => {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            p.at(
                key,
                v,
                format!("`{key}` must be one of: {}", names.join(", ")),
                "pick one of the listed values",
            );
            default
        }
    }
}

impl RawConfig {
    /// Checks values and resolves paths; reports every problem at once.
    pub fn validate(self, text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut p = Problems {
            text,
            file: path.display().to_string(),
            list: Vec::new(),
        };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let (rest, clever, sis_csv) = self.source.validate_kind(&mut p);
        let rest_for_marks = rest.clone();
        let file_kind = matches!(
            self.source.kind,
            SourceKind::OneRosterCsv | SourceKind::SisCsv
        );
        match &self.source.path {
            Some(path) if path.get_ref().trim().is_empty() => p.at(
                "source.path",
                path,
                "`source.path` is empty".into(),
                "name the export's folder (or the OneRoster .zip)",
            ),
            Some(path) if !file_kind => p.at(
                "source.path",
                path,
                format!(
                    "`source.path` does not apply to kind {:?}",
                    self.source.kind.name()
                ),
                "network sources take `base_url`",
            ),
            None if file_kind => p.missing(
                "source.path",
                format!("kind {:?} needs `source.path`", self.source.kind.name()),
                "name the export's folder (or the OneRoster .zip)",
            ),
            _ => {}
        }
        if let Some(v) = &self.source.version {
            if !matches!(v.get_ref().as_str(), "1.1" | "1.2") {
                p.at(
                    "source.version",
                    v,
                    "`source.version` must be \"1.1\" or \"1.2\"".into(),
                    "for CSV it is only used when the package has no manifest.csv",
                );
            }
        }
        if let Some(m) = &self.source.mode {
            if !matches!(m.get_ref().as_str(), "bulk" | "delta") {
                p.at(
                    "source.mode",
                    m,
                    "`source.mode` must be \"bulk\" or \"delta\"".into(),
                    "it is only used when the package has no manifest.csv",
                );
            }
        }

        let url = self.canvas.url.get_ref().trim_end_matches('/').to_string();
        if !http_url_ok(&url) {
            p.at(
                "canvas.url",
                &self.canvas.url,
                "`canvas.url` is not an http(s) URL".into(),
                "write the Canvas base URL, e.g. \"https://district.instructure.com\"",
            );
        }
        let account_id = *self.canvas.account_id.get_ref();
        if account_id <= 0 {
            p.at(
                "canvas.account_id",
                &self.canvas.account_id,
                "`canvas.account_id` must be a positive Canvas account id".into(),
                "the root account is usually 1",
            );
        }
        let import_timeout_secs = match &self.canvas.import_timeout_secs {
            Some(v) if !(1..=7 * 24 * 3600).contains(v.get_ref()) => {
                p.at(
                    "canvas.import_timeout_secs",
                    v,
                    "`canvas.import_timeout_secs` must be between 1 and 604800".into(),
                    "how long to wait for a SIS import to finish, e.g. 3600",
                );
                3600
            }
            Some(v) => *v.get_ref(),
            None => 3600,
        };
        let max_concurrency = match &self.canvas.max_concurrency {
            Some(v) if !(1..=64).contains(v.get_ref()) => {
                p.at("canvas.max_concurrency", v, "`canvas.max_concurrency` must be between 1 and 64".into(), "the REST sink's most requests in flight; pacing by Canvas's rate-limit headers decides the rest");
                8
            }
            Some(v) => *v.get_ref(),
            None => 8,
        };
        let match_users = match &self.canvas.match_users {
            None => vec![UserMatchKey::Login, UserMatchKey::Email],
            Some(list) => {
                let mut keys = Vec::new();
                for name in list.get_ref() {
                    match name.as_str() {
                        "login" => keys.push(UserMatchKey::Login),
                        "email" => keys.push(UserMatchKey::Email),
                        other => p.at_value(
                            "canvas.match_users",
                            list.span().start,
                            other.to_string(),
                            format!("`canvas.match_users` has {other:?}; the keys are \"login\" and \"email\""),
                            "users are always matched by SIS id first; list what else to try, in order, e.g. [\"login\", \"email\"], or [] for SIS id only",
                        ),
                    }
                }
                keys
            }
        };
        let token_env = match &self.canvas.token_env {
            Some(t) => {
                let name = t.get_ref();
                if !env_name_ok(name) {
                    p.at("canvas.token_env", t, "`canvas.token_env` must be the NAME of an environment variable".into(), "put the token in an environment variable, e.g. CANVAS_TOKEN, and name it here; never the token itself");
                }
                name.clone()
            }
            None => "CANVAS_TOKEN".to_string(),
        };

        let root_account = self.mapping.root_account.as_ref().map(|r| {
            if r.sis_id.get_ref().trim().is_empty() {
                p.at(
                    "mapping.root_account.sis_id",
                    &r.sis_id,
                    "the root sub-account needs an SIS id".into(),
                    "for example \"district-root\"",
                );
            }
            if r.name.get_ref().trim().is_empty() {
                p.at(
                    "mapping.root_account.name",
                    &r.name,
                    "the root sub-account needs a name".into(),
                    "for example \"Springfield Public Schools\"",
                );
            }
            RootAccount {
                sis_id: r.sis_id.get_ref().clone(),
                name: r.name.get_ref().clone(),
            }
        });
        let user_removal = status_choice(
            &mut p,
            "mapping.user_removal",
            &self.mapping.user_removal,
            &[
                ("suspended", Some(Status::Suspended)),
                ("deleted", Some(Status::Deleted)),
            ],
            Some(Status::Suspended),
        )
        .unwrap_or(Status::Suspended);
        let enrollment_removal = status_choice(
            &mut p,
            "mapping.enrollment_removal",
            &self.mapping.enrollment_removal,
            &[
                ("deleted", Some(Status::Deleted)),
                ("completed", Some(Status::Completed)),
                ("inactive", Some(Status::Inactive)),
            ],
            Some(Status::Deleted),
        )
        .unwrap_or(Status::Deleted);
        let course_removal = status_choice(
            &mut p,
            "mapping.course_removal",
            &self.mapping.course_removal,
            &[
                ("leave", None),
                ("completed", Some(Status::Completed)),
                ("deleted", Some(Status::Deleted)),
            ],
            None,
        );
        let section_removal = status_choice(
            &mut p,
            "mapping.section_removal",
            &self.mapping.section_removal,
            &[("leave", None), ("deleted", Some(Status::Deleted))],
            None,
        );

        let (max_removal_percent, rules) = self.safety.validate(&mut p);
        let run = self.run.validate(&mut p);
        let notify = self.notify.validate(&mut p);
        let production = self.canvas.production.as_ref().map(|t| t.validate(&mut p));

        let state_path = match &self.state.path {
            Some(s) if s.get_ref().trim().is_empty() => {
                p.at(
                    "state.path",
                    s,
                    "`state.path` is empty".into(),
                    "leave it out to keep the state beside the config file",
                );
                PathBuf::new()
            }
            Some(s) => base.join(s.get_ref()),
            None => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "rosterbridge".into());
                base.join(format!("{stem}.state.db"))
            }
        };

        let marks = self
            .marks
            .validate(&mut p, &base, self.source.kind, rest_for_marks.as_ref());
        let extras = crate::validate_extras(&self.mapping, &self.profiles, &mut p);
        if let (Some(_), Some(m)) = (&extras.matching.users, &self.canvas.match_users) {
            p.at_span(
                "canvas.match_users",
                m.span(),
                "`canvas.match_users` and `mapping.match.users` both say how users are matched"
                    .into(),
                "keep one: mapping.match.users = [\"sis_id\", \"login\", \"email\"]",
            );
        }
        let match_users = match &extras.matching.users {
            Some(keys) => keys
                .iter()
                .filter_map(|k| match k {
                    crate::options::MatchKey::Login => Some(UserMatchKey::Login),
                    crate::options::MatchKey::Email => Some(UserMatchKey::Email),
                    crate::options::MatchKey::IntegrationId => Some(UserMatchKey::IntegrationId),
                    _ => None,
                })
                .collect(),
            None => match_users,
        };

        if !p.list.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics: p.list,
            });
        }
        Ok(Config {
            path: path.to_path_buf(),
            source: SourceConfig {
                kind: self.source.kind,
                path: self
                    .source
                    .path
                    .as_ref()
                    .map(|p| base.join(p.get_ref()))
                    .unwrap_or_default(),
                version: self.source.version.map(|v| v.into_inner()),
                mode: self.source.mode.map(|v| v.into_inner()),
                on_row_error: self.source.on_row_error,
                rest,
                clever,
                sis_csv,
            },
            canvas: CanvasConfig {
                url,
                account_id: account_id as u64,
                token_env,
                mode: self.canvas.mode,
                import_timeout_secs: import_timeout_secs as u64,
                override_sis_stickiness: self.canvas.override_sis_stickiness,
                max_concurrency: max_concurrency as u32,
                match_users,
            },
            mapping: MappingConfig {
                root_account,
                user_removal,
                enrollment_removal,
                course_removal,
                section_removal,
                actions: extras.actions,
                fields: extras.fields,
                matching: extras.matching,
                terms: extras.terms,
                accounts: extras.accounts,
                enrollments: extras.enrollments,
                scope: extras.scope,
            },
            profiles: extras.profiles,
            requested_profile: None,
            safety: SafetyConfig {
                max_removal_percent,
                rules,
            },
            state_path,
            marks,
            run,
            notify,
            environment: if production.is_some() {
                Environment::Test
            } else {
                Environment::Only
            },
            production,
        })
    }
}

type KindConfigs = (
    Option<RestSourceConfig>,
    Option<CleverSourceConfig>,
    Option<SisCsvTables>,
);

impl RawSource {
    /// Checks the keys of the chosen kind, refuses keys of other kinds, and builds its settings.
    fn validate_kind(&self, p: &mut Problems<'_>) -> KindConfigs {
        let kind = self.kind;
        let name = kind.name();
        let network = matches!(kind, SourceKind::OneRosterRest | SourceKind::Clever);
        // Keys that belong to other kinds are mistakes worth pointing at, not silently ignored.
        let mut foreign = |key: &str, span: Option<std::ops::Range<usize>>, applies: bool| {
            if let (Some(span), false) = (span, applies) {
                p.at_span(
                    &format!("source.{key}"),
                    span,
                    format!("`source.{key}` does not apply to kind {name:?}"),
                    "remove it, or check `kind`",
                );
            }
        };
        let rest = kind == SourceKind::OneRosterRest;
        let csv = kind == SourceKind::OneRosterCsv;
        foreign("mode", self.mode.as_ref().map(|v| v.span()), csv);
        foreign(
            "version",
            self.version.as_ref().map(|v| v.span()),
            csv || rest,
        );
        foreign(
            "base_url",
            self.base_url.as_ref().map(|v| v.span()),
            network,
        );
        foreign("auth", self.auth.as_ref().map(|v| v.span()), rest);
        foreign("client_id", self.client_id.as_ref().map(|v| v.span()), rest);
        foreign(
            "client_secret_env",
            self.client_secret_env.as_ref().map(|v| v.span()),
            rest,
        );
        foreign("token_url", self.token_url.as_ref().map(|v| v.span()), rest);
        foreign("scopes", self.scopes.as_ref().map(|v| v.span()), rest);
        foreign(
            "credentials_in_body",
            self.credentials_in_body.as_ref().map(|v| v.span()),
            rest,
        );
        foreign(
            "demographics",
            self.demographics.as_ref().map(|v| v.span()),
            rest,
        );
        foreign(
            "token_env",
            self.token_env.as_ref().map(|v| v.span()),
            kind == SourceKind::Clever,
        );
        foreign(
            "contact_types",
            self.contact_types.as_ref().map(|v| v.span()),
            kind == SourceKind::Clever,
        );
        foreign(
            "page_size",
            self.page_size.as_ref().map(|v| v.span()),
            network,
        );
        foreign(
            "incremental",
            self.incremental.as_ref().map(|v| v.span()),
            network,
        );
        foreign(
            "timeout_seconds",
            self.timeout_seconds.as_ref().map(|v| v.span()),
            network,
        );
        foreign(
            "max_attempts",
            self.max_attempts.as_ref().map(|v| v.span()),
            network,
        );
        foreign(
            "tables",
            self.tables.as_ref().map(|v| v.span()),
            kind == SourceKind::SisCsv,
        );

        let network_cfg = |p: &mut Problems<'_>| {
            let mut n = NetworkConfig::default();
            if let Some(t) = &self.timeout_seconds {
                if !(1..=3600).contains(t.get_ref()) {
                    p.at(
                        "source.timeout_seconds",
                        t,
                        "`source.timeout_seconds` must be between 1 and 3600".into(),
                        "120 suits most providers",
                    );
                }
                n.timeout_seconds = (*t.get_ref()).clamp(1, 3600) as u64;
            }
            if let Some(a) = &self.max_attempts {
                if !(1..=20).contains(a.get_ref()) {
                    p.at(
                        "source.max_attempts",
                        a,
                        "`source.max_attempts` must be between 1 and 20".into(),
                        "5 tries ride out a provider's short outage",
                    );
                }
                n.max_attempts = (*a.get_ref()).clamp(1, 20) as u32;
            }
            n
        };
        let page_size = |p: &mut Problems<'_>, max: i64, default: u32| match &self.page_size {
            Some(s) if !(1..=max).contains(s.get_ref()) => {
                p.at(
                    "source.page_size",
                    s,
                    format!("`source.page_size` must be between 1 and {max}"),
                    "providers cap pages anyway; 1000 is a good start",
                );
                default
            }
            Some(s) => *s.get_ref() as u32,
            None => default,
        };
        let env = |p: &mut Problems<'_>,
                   key: &str,
                   v: &Option<Spanned<String>>,
                   default: Option<&str>|
         -> String {
            match v {
                Some(v) if !env_name_ok(v.get_ref()) => {
                    p.at(&format!("source.{key}"), v, format!("`source.{key}` must be the NAME of an environment variable"), "put the secret in an environment variable and name it here; never the secret itself");
                    String::new()
                }
                Some(v) => v.get_ref().clone(),
                None => match default {
                    Some(d) => d.to_string(),
                    None => {
                        p.missing(
                            &format!("source.{key}"),
                            format!("kind {name:?} needs `source.{key}`"),
                            "name the environment variable that holds the secret",
                        );
                        String::new()
                    }
                },
            }
        };
        let url = |p: &mut Problems<'_>,
                   key: &str,
                   v: &Option<Spanned<String>>,
                   default: Option<&str>|
         -> String {
            match v {
                Some(v) if !http_url_ok(v.get_ref().trim()) => {
                    p.at(
                        &format!("source.{key}"),
                        v,
                        format!("`source.{key}` is not an http(s) URL"),
                        "write the full URL, e.g. \"https://sis.example.org/ims/oneroster/v1p1\"",
                    );
                    String::new()
                }
                Some(v) => v.get_ref().trim().trim_end_matches('/').to_string(),
                None => match default {
                    Some(d) => d.to_string(),
                    None => {
                        p.missing(
                            &format!("source.{key}"),
                            format!("kind {name:?} needs `source.{key}`"),
                            "write the provider's full URL",
                        );
                        String::new()
                    }
                },
            }
        };
        match kind {
            SourceKind::OneRosterRest => {
                let base_url = url(p, "base_url", &self.base_url, None);
                let version = match &self.version {
                    Some(v) => v.get_ref().clone(),
                    None => {
                        p.missing(
                            "source.version",
                            "kind \"oneroster-rest\" needs `source.version` (\"1.1\" or \"1.2\")"
                                .into(),
                            "the base URL's path tells: v1p1 or v1p2",
                        );
                        "1.1".into()
                    }
                };
                let auth_kind = match &self.auth {
                    Some(a) if matches!(a.get_ref().as_str(), "oauth1" | "oauth2") => {
                        a.get_ref().clone()
                    }
                    Some(a) => {
                        p.at("source.auth", a, "`source.auth` must be \"oauth1\" or \"oauth2\"".into(), "OneRoster 1.1 signs with oauth1 (some providers use oauth2); 1.2 uses oauth2");
                        "oauth1".into()
                    }
                    None if version == "1.2" => "oauth2".into(),
                    None => "oauth1".into(),
                };
                if let (Some(a), "1.2") = (&self.auth, version.as_str()) {
                    if a.get_ref() == "oauth1" {
                        p.at(
                            "source.auth",
                            a,
                            "OneRoster 1.2 requires OAuth 2 client credentials".into(),
                            "write auth = \"oauth2\" and set token_url",
                        );
                    }
                }
                let client_id = match &self.client_id {
                    Some(c) if c.get_ref().trim().is_empty() => {
                        p.at(
                            "source.client_id",
                            c,
                            "`source.client_id` is empty".into(),
                            "the consumer key (OAuth 1) or client id (OAuth 2) the provider issued",
                        );
                        String::new()
                    }
                    Some(c) => c.get_ref().clone(),
                    None => {
                        p.missing(
                            "source.client_id",
                            "kind \"oneroster-rest\" needs `source.client_id`".into(),
                            "the consumer key (OAuth 1) or client id (OAuth 2) the provider issued",
                        );
                        String::new()
                    }
                };
                let secret_env = env(p, "client_secret_env", &self.client_secret_env, None);
                let auth = if auth_kind == "oauth2" {
                    let token_url = url(p, "token_url", &self.token_url, None);
                    let scopes = self.scopes.as_ref().map(|s| s.get_ref().clone());
                    RestAuthConfig::OAuth2 {
                        token_url,
                        client_id,
                        secret_env,
                        scopes,
                        credentials_in_body: self
                            .credentials_in_body
                            .as_ref()
                            .is_some_and(|b| *b.get_ref()),
                    }
                } else {
                    for (key, span) in [
                        ("token_url", self.token_url.as_ref().map(|v| v.span())),
                        ("scopes", self.scopes.as_ref().map(|v| v.span())),
                        (
                            "credentials_in_body",
                            self.credentials_in_body.as_ref().map(|v| v.span()),
                        ),
                    ] {
                        if let Some(span) = span {
                            p.at_span(
                                &format!("source.{key}"),
                                span,
                                format!("`source.{key}` is for auth = \"oauth2\""),
                                "remove it, or set auth = \"oauth2\"",
                            );
                        }
                    }
                    RestAuthConfig::OAuth1 {
                        consumer_key: client_id,
                        secret_env,
                    }
                };
                let cfg = RestSourceConfig {
                    base_url,
                    version,
                    auth,
                    page_size: page_size(p, 10_000, 1000),
                    demographics: self.demographics.as_ref().is_some_and(|b| *b.get_ref()),
                    incremental: self.incremental.as_ref().is_some_and(|b| *b.get_ref()),
                    network: network_cfg(p),
                };
                (Some(cfg), None, None)
            }
            SourceKind::Clever => {
                let cfg = CleverSourceConfig {
                    base_url: url(
                        p,
                        "base_url",
                        &self.base_url,
                        Some("https://api.clever.com/v3.0"),
                    ),
                    token_env: env(p, "token_env", &self.token_env, Some("CLEVER_TOKEN")),
                    page_size: page_size(p, 10_000, 1000),
                    incremental: self.incremental.as_ref().is_some_and(|b| *b.get_ref()),
                    contact_types: self
                        .contact_types
                        .as_ref()
                        .map(|c| c.get_ref().clone())
                        .unwrap_or_else(|| vec!["Parent/Guardian".into()]),
                    network: network_cfg(p),
                };
                (None, Some(cfg), None)
            }
            SourceKind::SisCsv => match &self.tables {
                Some(t) => {
                    let tables = t.get_ref().clone();
                    let span = t.span();
                    if tables.people.is_empty() {
                        p.at_span("source.tables.people", span.clone(), "`source.tables` lists no people file".into(), "add a [[source.tables.people]] table per file of students, teachers or parents");
                    }
                    if tables.school.is_none() && tables.schools.is_none() {
                        p.at_span("source.tables", span.clone(), "`source.tables` names neither `schools` nor a fixed `school`".into(), "add [source.tables.school] with id and name, or [source.tables.schools] naming the file");
                    }
                    for (i, person) in tables.people.iter().enumerate() {
                        if person.role.is_none() == person.role_column.is_none() {
                            p.at_span(&format!("source.tables.people[{i}]"), span.clone(), format!("people file {:?} needs exactly one of `role` (a fixed role) and `role_column`", person.file), "e.g. role = \"student\"");
                        }
                    }
                    (None, None, Some(tables))
                }
                None => {
                    p.missing("source.tables", "kind \"sis-csv\" needs `[source.tables.*]`: which file and column holds each roster field".into(), "see the README's sis-csv example");
                    (None, None, None)
                }
            },
            SourceKind::OneRosterCsv => (None, None, None),
        }
    }
}
