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
    Archive {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the {sink} sink reported {got} results for {want} changes; nothing was recorded")]
    SinkContract {
        sink: &'static str,
        got: usize,
        want: usize,
    },
    /// Row-level errors under `on_row_error = "fail"`.
    #[error("{count} row error(s) in the source; nothing was applied (fix the rows, or set [source] on_row_error = \"skip\" to apply the rest)")]
    RowErrors { count: usize },
    /// Custom roles named in `[mapping.enrollments] roles` that Canvas does not have.
    #[error("custom Canvas role(s) not found (or inactive) in account: {}; Canvas has these course roles: {}. Create them in Canvas (Admin > Permissions) or fix [mapping.enrollments] roles", .missing.join(", "), .available.join(", "))]
    CustomRoles {
        missing: Vec<String>,
        available: Vec<String>,
    },
    #[error(transparent)]
    Profile(#[from] rosterbridge_config::ProfileError),
    /// Profiles are configured and none is active today.
    #[error("{message}")]
    NoActiveProfile { message: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    /// The safety checks hold the plan; it was stored as `plan_id` for `rosterbridge approve`.
    #[error("held by the safety threshold: {}; nothing was applied. Check the export; if the plan is intended, {}", describe(.violations, .holds), how_to_approve(*.plan_id))]
    Held {
        violations: Vec<Violation>,
        holds: Vec<String>,
        plan_id: Option<i64>,
    },
    /// Today is in a `[[safety.blackout]]` window.
    #[error("no runs in the blackout window {window}{}; nothing was done", if .reason.is_empty() { String::new() } else { format!(" ({})", .reason) })]
    Blackout { window: String, reason: String },
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    /// An approval that does not match the plan made now.
    #[error("{0}")]
    Approval(String),
    /// Undo or reconcile could not proceed.
    #[error("{0}")]
    Refused(String),
}

fn how_to_approve(plan_id: Option<i64>) -> String {
    match plan_id {
        Some(id) => format!("approve exactly this plan with `rosterbridge approve {id}` (or apply with --allow-removals)"),
        None => "apply with --allow-removals".into(),
    }
}

fn describe(violations: &[Violation], holds: &[String]) -> String {
    violations
        .iter()
        .map(|v| {
            format!(
                "{} {} of {} removed ({:.1}% > {}%)",
                v.kind, v.removals, v.existing, v.percent, v.limit_percent
            )
        })
        .chain(holds.iter().cloned())
        .collect::<Vec<_>>()
        .join("; ")
}
