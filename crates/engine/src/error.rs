use rosterbridge_plan::Violation;

/// Why a run stopped. The CLI maps these to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] rosterbridge_config::ConfigError),
    #[error(transparent)]
    Source(#[from] rosterbridge_source_oneroster::SourceError),
    /// A OneRoster REST, Clever or generic-CSV source failed.
    #[error(transparent)]
    Network(#[from] crate::source::SourceReadError),
    #[error(transparent)]
    State(#[from] rosterbridge_state::StateError),
    #[error(transparent)]
    Write(#[from] rosterbridge_canvas::csv::WriteError),
    #[error(transparent)]
    Sink(#[from] rosterbridge_sink::SinkError),
    #[error(transparent)]
    Canvas(#[from] rosterbridge_canvas_client::CanvasError),
    #[error("the Canvas token is missing: set the environment variable {env} (named by [canvas] token_env) to an access token")]
    MissingToken { env: String },
    #[error("cannot create the audit folder {path}: {source}")]
    Archive { path: std::path::PathBuf, source: std::io::Error },
    #[error("the {sink} sink reported {got} results for {want} changes; nothing was recorded")]
    SinkContract { sink: &'static str, got: usize, want: usize },
    /// Row-level errors under `on_row_error = "fail"`.
    #[error("{count} row error(s) in the source; nothing was applied (fix the rows, or set [source] on_row_error = \"skip\" to apply the rest)")]
    RowErrors { count: usize },
    /// Custom roles named in `[mapping.enrollments] roles` that Canvas does not have.
    #[error("custom Canvas role(s) not found (or inactive) in account: {}; Canvas has these course roles: {}. Create them in Canvas (Admin > Permissions) or fix [mapping.enrollments] roles", .missing.join(", "), .available.join(", "))]
    CustomRoles { missing: Vec<String>, available: Vec<String> },
    #[error(transparent)]
    Profile(#[from] rosterbridge_config::ProfileError),
    /// Profiles are configured and none is active today.
    #[error("{message}")]
    NoActiveProfile { message: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    /// The safety threshold holds the plan.
    #[error("held by the safety threshold: {}; nothing was applied (check the export, then apply with --allow-removals if the removals are intended)", describe(.violations))]
    Held { violations: Vec<Violation> },
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {} of {} ({:.1}% > {}%)", v.kind, v.removals, v.existing, v.percent, v.limit_percent))
        .collect::<Vec<_>>()
        .join(", ")
}
