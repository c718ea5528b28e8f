//! Reads whichever source the configuration names, and what to save of it after an apply.
//!
//! Every kind ends in the same [`SourceRead`] (the network and generic-CSV sources build
//! OneRoster tables and read them with the OneRoster CSV parser), so the rest of a run does
//! not know or care which kind it was.

use crate::EngineError;
use rosterbridge_config::{Config, RestAuthConfig, SourceKind};
use rosterbridge_model::roster::OneRosterVersion;
use rosterbridge_model::Diagnostic;
use rosterbridge_source_oneroster::{MemoryPackage, SourceRead};
use rosterbridge_source_oneroster_rest as rest;
use rosterbridge_state::SourceTableSnapshot;
use std::time::Duration;

/// Why a non-CSV source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceReadError {
    // Boxed: these carry URLs and provider messages, and errors travel in every Result here.
    #[error(transparent)]
    Rest(Box<rest::RestError>),
    #[error(transparent)]
    Clever(Box<rosterbridge_source_clever::CleverError>),
    #[error(transparent)]
    SisCsv(Box<rosterbridge_source_sis_csv::SisCsvError>),
    #[error("the environment variable {env} (named by `source.{key}`) is not set")]
    MissingSecret { env: String, key: String },
    #[error("`source.{key}` is not a valid URL: {url}")]
    BadUrl { key: String, url: String },
}

impl From<rest::RestError> for SourceReadError {
    fn from(e: rest::RestError) -> Self {
        SourceReadError::Rest(Box::new(e))
    }
}
impl From<rosterbridge_source_clever::CleverError> for SourceReadError {
    fn from(e: rosterbridge_source_clever::CleverError) -> Self {
        SourceReadError::Clever(Box::new(e))
    }
}
impl From<rosterbridge_source_sis_csv::SisCsvError> for SourceReadError {
    fn from(e: rosterbridge_source_sis_csv::SisCsvError) -> Self {
        SourceReadError::SisCsv(Box::new(e))
    }
}

impl SourceReadError {
    /// The problem as a diagnostic with what to do.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            SourceReadError::Rest(e) => e.to_diagnostic(),
            SourceReadError::Clever(e) => e.to_diagnostic(),
            SourceReadError::SisCsv(e) => e.to_diagnostic(),
            SourceReadError::MissingSecret { env, .. } => {
                Diagnostic::error("secret-missing", self.to_string()).hint(format!(
                    "export {env}=… in the environment rosterbridge runs in"
                ))
            }
            SourceReadError::BadUrl { .. } => {
                Diagnostic::error("source-url", self.to_string()).hint("write the full http(s) URL")
            }
        }
    }
}

/// What to save in the state store once the run's changes are applied.
#[derive(Debug)]
pub enum PendingSnapshot {
    /// The OneRoster CSV package: its tables are read again from disk at apply time.
    CsvPackage,
    /// Tables built in memory (REST, generic CSV), plus any extra state (cursors).
    Memory {
        package: MemoryPackage,
        extra: Vec<SourceTableSnapshot>,
    },
    /// Ready as they are (Clever's object store).
    Tables(Vec<SourceTableSnapshot>),
}

/// A read source.
#[derive(Debug)]
pub struct SourceOutput {
    pub read: SourceRead,
    pub snapshot: PendingSnapshot,
}

fn secret(env: &str, key: &str) -> Result<rest::Secret, SourceReadError> {
    // An empty variable is as good as none: a token of "" can only fail later, less clearly.
    match std::env::var(env) {
        Ok(v) if !v.is_empty() => Ok(rest::Secret::new(v)),
        _ => Err(SourceReadError::MissingSecret {
            env: env.into(),
            key: key.into(),
        }),
    }
}

fn url(key: &str, s: &str) -> Result<rest::Url, SourceReadError> {
    rest::Url::parse(s).map_err(|_| SourceReadError::BadUrl {
        key: key.into(),
        url: s.into(),
    })
}

fn retry(n: &rosterbridge_config::NetworkConfig) -> rest::RetryPolicy {
    rest::RetryPolicy {
        max_attempts: n.max_attempts,
        timeout: Duration::from_secs(n.timeout_seconds),
        ..Default::default()
    }
}

/// The OneRoster REST options a configuration names (secrets read from the environment).
pub fn rest_options(config: &Config) -> Result<Option<rest::RestOptions>, SourceReadError> {
    let Some(r) = &config.source.rest else {
        return Ok(None);
    };
    let version = if r.version == "1.2" {
        OneRosterVersion::V1_2
    } else {
        OneRosterVersion::V1_1
    };
    let auth = match &r.auth {
        RestAuthConfig::OAuth1 {
            consumer_key,
            secret_env,
        } => rest::RestAuth::OAuth1 {
            consumer_key: consumer_key.clone(),
            consumer_secret: secret(secret_env, "client_secret_env")?,
            secret_source: format!("${secret_env}"),
        },
        RestAuthConfig::OAuth2 {
            token_url,
            client_id,
            secret_env,
            scopes,
            credentials_in_body,
        } => rest::RestAuth::OAuth2 {
            token_url: url("token_url", token_url)?,
            client_id: client_id.clone(),
            client_secret: secret(secret_env, "client_secret_env")?,
            secret_source: format!("${secret_env}"),
            scopes: scopes.clone(),
            credentials_in_body: *credentials_in_body,
        },
    };
    let mut o = rest::RestOptions::new(url("base_url", &r.base_url)?, version, auth);
    o.page_size = r.page_size;
    o.demographics = r.demographics;
    o.incremental = r.incremental;
    o.retry = retry(&r.network);
    Ok(Some(o))
}

/// The Clever options a configuration names (the token read from the environment).
pub fn clever_options(
    config: &Config,
) -> Result<Option<rosterbridge_source_clever::CleverOptions>, SourceReadError> {
    let Some(c) = &config.source.clever else {
        return Ok(None);
    };
    let mut o = rosterbridge_source_clever::CleverOptions::new(
        url("base_url", &c.base_url)?,
        secret(&c.token_env, "token_env")?,
        format!("${}", c.token_env),
    );
    o.page_size = c.page_size;
    o.incremental = c.incremental;
    o.contact_types = c.contact_types.clone();
    o.retry = retry(&c.network);
    Ok(Some(o))
}

/// The parts of the previous exchange (saved in the state store) that reading the source
/// needs: for a OneRoster CSV package only its delta and absent files.
pub fn prior_tables(
    config: &Config,
    store: &dyn rosterbridge_state::StateStore,
) -> Result<Vec<SourceTableSnapshot>, EngineError> {
    match config.source.kind {
        SourceKind::OneRosterCsv => {
            let files =
                rosterbridge_source_oneroster::files_needing_prior(&crate::source_options(config))?;
            Ok(store.source_tables_named(&files)?)
        }
        _ => Ok(store.source_tables()?),
    }
}

/// Reads the configured source. `prior` is the previous exchange saved in the state store.
pub fn read_source(
    config: &Config,
    prior: &[SourceTableSnapshot],
    csv_progress: &dyn rosterbridge_source_oneroster::ReadObserver,
) -> Result<SourceOutput, EngineError> {
    let src = &config.source;
    match src.kind {
        SourceKind::OneRosterCsv => {
            let read = rosterbridge_source_oneroster::read(
                &crate::source_options(config),
                prior,
                csv_progress,
            )?;
            Ok(SourceOutput {
                read,
                snapshot: PendingSnapshot::CsvPackage,
            })
        }
        SourceKind::OneRosterRest => {
            let Some(opts) = rest_options(config)? else {
                return Err(missing_settings(src.kind));
            };
            let got = rest::read(&opts, prior, &rest::NoProgress).map_err(SourceReadError::from)?;
            let extra = vec![SourceTableSnapshot {
                file: rest::CURSOR_FILE.into(),
                csv: got.cursor.clone().into_bytes(),
            }];
            Ok(SourceOutput {
                read: got.read,
                snapshot: PendingSnapshot::Memory {
                    package: got.package,
                    extra,
                },
            })
        }
        SourceKind::Clever => {
            let Some(opts) = clever_options(config)? else {
                return Err(missing_settings(src.kind));
            };
            let got = rosterbridge_source_clever::read(
                &opts,
                prior,
                &rosterbridge_source_clever::NoProgress,
            )
            .map_err(SourceReadError::from)?;
            let tables = rosterbridge_source_clever::snapshot(&got);
            Ok(SourceOutput {
                read: got.read,
                snapshot: PendingSnapshot::Tables(tables),
            })
        }
        SourceKind::SisCsv => {
            let Some(tables) = &src.sis_csv else {
                return Err(missing_settings(src.kind));
            };
            let opts = rosterbridge_source_sis_csv::SisCsvOptions {
                path: src.path.clone(),
                tables: tables.clone(),
            };
            let got = rosterbridge_source_sis_csv::read(&opts).map_err(SourceReadError::from)?;
            Ok(SourceOutput {
                read: got.read,
                snapshot: PendingSnapshot::Memory {
                    package: got.package,
                    extra: vec![],
                },
            })
        }
    }
}

/// A validated configuration always carries its kind's settings; this guards the impossible.
fn missing_settings(kind: SourceKind) -> EngineError {
    EngineError::Network(SourceReadError::BadUrl {
        key: format!("[source] settings for kind {}", kind.name()),
        url: String::new(),
    })
}

/// The tables to save after an apply.
pub fn snapshot(
    config: &Config,
    pending: &PendingSnapshot,
    prior: &[SourceTableSnapshot],
) -> Result<Vec<SourceTableSnapshot>, EngineError> {
    Ok(match pending {
        PendingSnapshot::CsvPackage => {
            rosterbridge_source_oneroster::snapshot_tables(&crate::source_options(config), prior)?
        }
        PendingSnapshot::Memory { package, extra } => {
            let mut t = rosterbridge_source_oneroster::snapshot_memory(package, prior)?;
            t.extend(extra.iter().cloned());
            t
        }
        PendingSnapshot::Tables(t) => t.clone(),
    })
}

/// "Verify connectivity" for `validate`: records per collection as the provider counts them
/// (OneRoster REST: `X-Total-Count` of a one-record page each), or the Clever district's name
/// with no counts. Empty for file sources, which `prepare` reads whole anyway.
pub fn check_source(config: &Config) -> Result<Vec<(String, Option<u64>)>, EngineError> {
    match config.source.kind {
        SourceKind::OneRosterRest => match rest_options(config)? {
            Some(o) => Ok(rest::check(&o).map_err(SourceReadError::from)?),
            None => Err(missing_settings(config.source.kind)),
        },
        SourceKind::Clever => match clever_options(config)? {
            Some(o) => Ok(vec![(
                format!(
                    "district {:?}",
                    rosterbridge_source_clever::check(&o).map_err(SourceReadError::from)?
                ),
                None,
            )]),
            None => Err(missing_settings(config.source.kind)),
        },
        SourceKind::OneRosterCsv | SourceKind::SisCsv => Ok(Vec::new()),
    }
}

/// Where the source is, for messages: the folder, or the provider's URL.
pub fn describe_source(config: &Config) -> String {
    let src = &config.source;
    match (&src.rest, &src.clever) {
        (Some(r), _) => format!("OneRoster {} REST at {}", r.version, r.base_url),
        (_, Some(c)) => format!("Clever at {}", c.base_url),
        _ => src.path.display().to_string(),
    }
}
