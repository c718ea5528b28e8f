//! One module per subcommand.

pub mod admin;
pub mod apply;
pub mod approve;
pub mod bench;
pub mod config;
pub mod demo;
pub mod generate;
pub mod marks;
pub mod notify;
pub mod plan;
pub mod profile;
pub mod promote;
pub mod reconcile;
pub mod runs;
pub mod sandbox;
pub mod serve;
pub mod status;
pub mod sync;
pub mod undo;
pub mod validate;

use crate::report;
use anyhow::Context;
use rosterbridge_config::Config;
use rosterbridge_state::StateStore;
use std::path::PathBuf;

/// Arguments every command that reads a configuration takes.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The configuration file (TOML). See the README for every key.
    #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
    pub config: PathBuf,
    /// The state database (SQLite). Default: `<config name>.state.db` beside the config file,
    /// or `[state] path`.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Run this execution profile (`[[profiles]] name`) instead of the one whose window
    /// contains today.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl ConfigArgs {
    /// Loads and validates the configuration; prints every problem on failure.
    pub fn load(&self) -> anyhow::Result<Option<Config>> {
        match Config::load(&self.config) {
            Ok(mut c) => {
                if let Some(s) = &self.state {
                    c.state_path = s.clone();
                }
                c.requested_profile = self.profile.clone();
                Ok(Some(c.resolve_environment()))
            }
            Err(e) => {
                report::print_diagnostics(&e.diagnostics());
                eprintln!("error: {e}");
                Ok(None)
            }
        }
    }
}

/// `Some(sentence)` when profiles are configured and none is active today: there is
/// nothing to do, said plainly. An unknown or disabled `--profile` is an error.
pub fn idle(config: &Config) -> anyhow::Result<Option<String>> {
    match rosterbridge_engine::active_profile(config, rosterbridge_engine::today()) {
        Ok(_) => Ok(None),
        Err(rosterbridge_engine::EngineError::NoActiveProfile { message }) => Ok(Some(message)),
        Err(e) => Err(e.into()),
    }
}

/// Prints "nothing to do: no profile is active" as text, or as `{"idle": …}` for --json.
pub fn print_idle(message: &str, json: bool) {
    if json {
        println!("{}", serde_json::json!({ "idle": message }));
    } else {
        println!("{message}");
    }
}

/// Opens the state store for reading: the file when it exists, else an empty in-memory
/// store (so `plan` and `validate` never create files).
pub fn open_store_readonly(config: &Config) -> anyhow::Result<Box<dyn StateStore>> {
    if config.state_path.exists() {
        let store = rosterbridge_engine::open_store(&config.state_path)
            .with_context(|| format!("opening state {}", config.state_path.display()))?;
        Ok(Box::new(store))
    } else {
        Ok(Box::new(rosterbridge_state_sqlite_memory()?))
    }
}

/// Plans (changing nothing); a source that cannot be read is printed as a located
/// diagnostic before the error is returned.
pub fn prepare(
    config: &Config,
    store: &dyn StateStore,
    ui: &crate::progress::Ui,
) -> anyhow::Result<rosterbridge_engine::Prepared> {
    rosterbridge_engine::prepare(config, store, ui).map_err(|e| {
        match &e {
            rosterbridge_engine::EngineError::Source(s) => {
                report::print_diagnostics(&[s.to_diagnostic()])
            }
            rosterbridge_engine::EngineError::Network(n) => {
                report::print_diagnostics(&[n.to_diagnostic()])
            }
            _ => {}
        }
        e.into()
    })
}

/// Hands a command's last large value to the end of the process instead of freeing it:
/// the process exits right after, and the OS takes its pages back at once, where freeing a
/// state-wide plan's millions of allocations one by one holds the exit up.
pub fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

fn rosterbridge_state_sqlite_memory() -> anyhow::Result<impl StateStore> {
    Ok(rosterbridge_engine::open_memory_store()?)
}

/// Checks the custom roles the configuration names against Canvas before anything is
/// sent; prints the resolved role ids.
pub fn check_roles(
    config: &Config,
    json: bool,
) -> anyhow::Result<Vec<rosterbridge_engine::roles::ResolvedRole>> {
    let roles = rosterbridge_engine::canvas_preflight(config)?;
    if !json {
        for r in &roles {
            eprintln!(
                "custom role {:?}: role_id {} ({})",
                r.name, r.role_id, r.base_role_type
            );
        }
    }
    Ok(roles)
}

/// One line naming the Canvas a command targets, e.g. for the top of a plan.
pub fn target_line(config: &Config) -> String {
    use rosterbridge_config::Environment;
    match config.environment {
        Environment::Only => format!("target: Canvas {}", config.canvas.url),
        Environment::Test => format!(
            "target: TEST Canvas {} (production is not used until `rosterbridge promote`)",
            config.canvas.url
        ),
        Environment::Production => format!("target: PRODUCTION Canvas {}", config.canvas.url),
    }
}
