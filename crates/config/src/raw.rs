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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub kind: SourceKind,
    pub path: Spanned<String>,
    pub version: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub on_row_error: RowErrorPolicy,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    pub max_removal_percent: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub path: Option<Spanned<String>>,
}

/// Collects located problems while validating.
struct Problems<'a> {
    text: &'a str,
    file: String,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn at<T>(&mut self, key: &str, value: &Spanned<T>, message: String, hint: &str)
    where
        T: std::fmt::Display,
    {
        self.at_span(key, value.span().start, value.get_ref().to_string(), message, hint)
    }

    fn at_span(&mut self, key: &str, offset: usize, value: String, message: String, hint: &str) {
        let (line, col) = line_col(self.text, offset);
        self.list.push(
            Diagnostic::error("config-invalid", message)
                .at(Location::at(&self.file, line).with_column(col).with_field(key))
                .value(value)
                .hint(hint),
        );
    }
}

fn status_choice(
    p: &mut Problems<'_>,
    key: &str,
    value: &Option<Spanned<String>>,
    allowed: &[(&str, Option<Status>)],
    default: Option<Status>,
) -> Option<Status> {
    let Some(v) = value else { return default };
    match allowed.iter().find(|(name, _)| *name == v.get_ref().as_str()) {
        Some((_, status)) => *status,
        None => {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            p.at(key, v, format!("`{key}` must be one of: {}", names.join(", ")), "pick one of the listed values");
            default
        }
    }
}

impl RawConfig {
    /// Checks values and resolves paths; reports every problem at once.
    pub fn validate(self, text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut p = Problems { text, file: path.display().to_string(), list: Vec::new() };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        if self.source.path.get_ref().trim().is_empty() {
            p.at("source.path", &self.source.path, "`source.path` is empty".into(), "name the OneRoster folder or .zip");
        }
        if let Some(v) = &self.source.version {
            if !matches!(v.get_ref().as_str(), "1.1" | "1.2") {
                p.at("source.version", v, "`source.version` must be \"1.1\" or \"1.2\"".into(), "it is only used when the package has no manifest.csv");
            }
        }
        if let Some(m) = &self.source.mode {
            if !matches!(m.get_ref().as_str(), "bulk" | "delta") {
                p.at("source.mode", m, "`source.mode` must be \"bulk\" or \"delta\"".into(), "it is only used when the package has no manifest.csv");
            }
        }

        let url = self.canvas.url.get_ref().trim_end_matches('/').to_string();
        let valid_url = (url.starts_with("http://") || url.starts_with("https://"))
            && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.contains(' '));
        if !valid_url {
            p.at("canvas.url", &self.canvas.url, "`canvas.url` is not an http(s) URL".into(), "write the Canvas base URL, e.g. \"https://district.instructure.com\"");
        }
        let account_id = *self.canvas.account_id.get_ref();
        if account_id <= 0 {
            p.at("canvas.account_id", &self.canvas.account_id, "`canvas.account_id` must be a positive Canvas account id".into(), "the root account is usually 1");
        }
        let import_timeout_secs = match &self.canvas.import_timeout_secs {
            Some(v) if !(1..=7 * 24 * 3600).contains(v.get_ref()) => {
                p.at("canvas.import_timeout_secs", v, "`canvas.import_timeout_secs` must be between 1 and 604800".into(), "how long to wait for a SIS import to finish, e.g. 3600");
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
                        other => p.at_span(
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
                let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    p.at("canvas.token_env", t, "`canvas.token_env` must be the NAME of an environment variable".into(), "put the token in an environment variable, e.g. CANVAS_TOKEN, and name it here; never the token itself");
                }
                name.clone()
            }
            None => "CANVAS_TOKEN".to_string(),
        };

        let root_account = self.mapping.root_account.as_ref().map(|r| {
            if r.sis_id.get_ref().trim().is_empty() {
                p.at("mapping.root_account.sis_id", &r.sis_id, "the root sub-account needs an SIS id".into(), "for example \"district-root\"");
            }
            if r.name.get_ref().trim().is_empty() {
                p.at("mapping.root_account.name", &r.name, "the root sub-account needs a name".into(), "for example \"Springfield Public Schools\"");
            }
            RootAccount { sis_id: r.sis_id.get_ref().clone(), name: r.name.get_ref().clone() }
        });
        let user_removal = status_choice(
            &mut p,
            "mapping.user_removal",
            &self.mapping.user_removal,
            &[("suspended", Some(Status::Suspended)), ("deleted", Some(Status::Deleted))],
            Some(Status::Suspended),
        )
        .unwrap_or(Status::Suspended);
        let enrollment_removal = status_choice(
            &mut p,
            "mapping.enrollment_removal",
            &self.mapping.enrollment_removal,
            &[("deleted", Some(Status::Deleted)), ("completed", Some(Status::Completed)), ("inactive", Some(Status::Inactive))],
            Some(Status::Deleted),
        )
        .unwrap_or(Status::Deleted);
        let course_removal = status_choice(
            &mut p,
            "mapping.course_removal",
            &self.mapping.course_removal,
            &[("leave", None), ("completed", Some(Status::Completed)), ("deleted", Some(Status::Deleted))],
            None,
        );
        let section_removal = status_choice(
            &mut p,
            "mapping.section_removal",
            &self.mapping.section_removal,
            &[("leave", None), ("deleted", Some(Status::Deleted))],
            None,
        );

        let max_removal_percent = match &self.safety.max_removal_percent {
            Some(v) => {
                let x = *v.get_ref();
                if !(0.0..=100.0).contains(&x) || x.is_nan() {
                    p.at("safety.max_removal_percent", v, "`safety.max_removal_percent` must be between 0 and 100".into(), "10 holds a plan that removes more than a tenth of any kind");
                }
                x
            }
            None => SafetyConfig::default().max_removal_percent,
        };

        let state_path = match &self.state.path {
            Some(s) if s.get_ref().trim().is_empty() => {
                p.at("state.path", s, "`state.path` is empty".into(), "leave it out to keep the state beside the config file");
                PathBuf::new()
            }
            Some(s) => base.join(s.get_ref()),
            None => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "rosterbridge".into());
                base.join(format!("{stem}.state.db"))
            }
        };

        if !p.list.is_empty() {
            return Err(ConfigError::Invalid { path: path.to_path_buf(), diagnostics: p.list });
        }
        Ok(Config {
            path: path.to_path_buf(),
            source: SourceConfig {
                kind: self.source.kind,
                path: base.join(self.source.path.get_ref()),
                version: self.source.version.map(|v| v.into_inner()),
                mode: self.source.mode.map(|v| v.into_inner()),
                on_row_error: self.source.on_row_error,
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
            mapping: MappingConfig { root_account, user_removal, enrollment_removal, course_removal, section_removal },
            safety: SafetyConfig { max_removal_percent },
            state_path,
        })
    }
}
