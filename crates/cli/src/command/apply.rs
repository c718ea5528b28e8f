//! `rosterbridge apply`: make the plan real through a sink and record it.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use crate::report;
use anyhow::Context;
use rosterbridge_engine::{ApplyOptions, EngineError};
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Write the delta as a Canvas SIS-import zip into --out, for upload by hand or script,
    /// and record it as applied.
    Folder,
}

/// Plan, check the safety gates, apply the delta through a sink, and record what was
/// applied in the state store. Planning again on the same input then shows no changes.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where the changes go.
    #[arg(long, value_enum)]
    pub sink: Sink,
    /// Folder for the folder sink's zip (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Apply even though the plan removes more than [safety] max_removal_percent of a kind.
    #[arg(long)]
    pub allow_removals: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else { return Ok(Code::Error) };
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let prepared = super::prepare(&config, &store, ui)?;
    report::print_diagnostics(&prepared.diagnostics);
    let options = ApplyOptions { allow_removals: args.allow_removals };
    match args.sink {
        Sink::Folder => match rosterbridge_engine::apply_to_folder(&config, &mut store, &prepared, &args.out, options, ui) {
            Ok(report) => {
                if args.json {
                    println!("{}", serde_json::to_string(&serde_json::json!({"report": report, "summary": prepared.plan.summary}))?);
                } else {
                    print!("{}", rosterbridge_plan::render::text(&prepared.plan, 0));
                    match &report.zip {
                        Some(zip) => println!("\napplied {} change(s) as run {}: {}", report.applied, report.run, zip.display()),
                        None => println!("\nnothing to apply (run {})", report.run),
                    }
                }
                Ok(Code::Ok)
            }
            Err(e @ EngineError::Held { .. }) => {
                print!("{}", rosterbridge_plan::render::text(&prepared.plan, 0));
                eprintln!("error: {e}");
                Ok(Code::Held)
            }
            Err(e @ EngineError::RowErrors { .. }) => {
                eprintln!("error: {e}");
                Ok(Code::Error)
            }
            Err(e) => Err(e.into()),
        },
    }
}
