//! `rosterbridge runs`: the history of runs.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_state::StateStore;

/// List past runs, newest first: command, outcome, start and end, changes applied and
/// rejected, and the files kept for audit.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print as JSON (an array of runs).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else { return Ok(Code::Error) };
    if !config.state_path.exists() {
        if args.json {
            println!("[]");
        } else {
            println!("no runs yet (no state at {})", config.state_path.display());
        }
        return Ok(Code::Ok);
    }
    let store = rosterbridge_engine::open_store(&config.state_path).with_context(|| format!("opening state {}", config.state_path.display()))?;
    let runs = store.runs(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(Code::Ok);
    }
    if runs.is_empty() {
        println!("no runs yet");
    }
    for r in &runs {
        println!("{}", super::status::describe_run(r));
        for a in &r.artifacts {
            println!("    {a}");
        }
    }
    Ok(Code::Ok)
}
