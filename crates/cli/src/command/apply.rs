//! `rosterbridge apply`: make the plan real through a sink and record it.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use crate::report;
use anyhow::Context;
use rosterbridge_engine::{ApplyOptions, EngineError};
use rosterbridge_sink::folder::FolderSink;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Send the changes to Canvas as `[canvas] mode` says (SIS import by default).
    Canvas,
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
    #[arg(long, value_enum, default_value = "canvas")]
    pub sink: Sink,
    /// Folder for the folder sink's zip (created if needed).
    #[arg(long, value_name = "DIR", required_if_eq("sink", "folder"))]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub flags: ApplyFlags,
}

/// Flags shared by `apply` and `sync`.
#[derive(clap::Args, Debug)]
pub struct ApplyFlags {
    /// Apply even though the plan removes more than [safety] max_removal_percent of a kind.
    #[arg(long)]
    pub allow_removals: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if let Some(message) = super::idle(&config)? {
        super::print_idle(&message, args.flags.json);
        return Ok(Code::Ok);
    }
    if let Some(code) = refused_in_blackout(&config) {
        return Ok(code);
    }
    if args.sink == Sink::Canvas {
        super::check_roles(&config, args.flags.json)?;
    }
    let mut sink: Box<dyn rosterbridge_sink::Sink> = match (args.sink, &args.out) {
        (Sink::Folder, Some(out)) => Box::new(FolderSink {
            out_dir: out.clone(),
        }),
        (Sink::Folder, None) => anyhow::bail!("--sink folder needs --out DIR"),
        (Sink::Canvas, _) => rosterbridge_engine::canvas_sink(&config)?,
    };
    apply_and_report(&config, sink.as_mut(), "apply", &args.flags, ui)
}

/// Refuses before anything is read, planned or sent when today is in a blackout window
/// (`[[safety.blackout]]` or the running profile's `[[profiles.blackout]]`).
pub fn refused_in_blackout(config: &rosterbridge_config::Config) -> Option<Code> {
    match rosterbridge_engine::ops::refuse_in_blackout(config) {
        Ok(()) => None,
        Err(e) => {
            eprintln!("error: {e}");
            Some(Code::NotRun)
        }
    }
}

/// Plans, applies through `sink`, and prints the outcome. Shared by `apply` and `sync`.
pub fn apply_and_report(
    config: &rosterbridge_config::Config,
    sink: &mut dyn rosterbridge_sink::Sink,
    command: &str,
    flags: &ApplyFlags,
    ui: &Ui,
) -> anyhow::Result<Code> {
    let json = flags.json;
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let prepared = super::prepare(config, &store, ui)?;
    report::print_diagnostics(&prepared.diagnostics);
    let options = ApplyOptions {
        allow_removals: flags.allow_removals,
        approved: None,
    };
    apply_prepared(
        config, &mut store, &prepared, sink, command, options, json, ui,
    )
}

/// Applies a prepared plan and prints the outcome (shared with `approve`).
#[allow(clippy::too_many_arguments)]
pub fn apply_prepared(
    config: &rosterbridge_config::Config,
    store: &mut dyn rosterbridge_state::StateStore,
    prepared: &rosterbridge_engine::Prepared,
    sink: &mut dyn rosterbridge_sink::Sink,
    command: &str,
    options: ApplyOptions,
    json: bool,
    ui: &Ui,
) -> anyhow::Result<Code> {
    let sink_name = sink.name();
    match rosterbridge_engine::apply(config, store, prepared, sink, options, ui, command) {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string(
                        &serde_json::json!({"report": report, "summary": prepared.plan.summary})
                    )?
                );
            } else {
                println!("{}", super::target_line(config));
                print!("{}", rosterbridge_plan::render::text(&prepared.plan, 0));
                println!();
                if prepared.plan.is_empty() {
                    println!("nothing to apply (run {})", report.run);
                } else {
                    println!(
                        "run {}: {} change(s) applied through the {} sink, {} rejected",
                        report.run, report.applied, sink_name, report.rejected
                    );
                }
                for r in &report.rejections {
                    let src = r
                        .source
                        .as_deref()
                        .map(|s| format!(" (from {s})"))
                        .unwrap_or_default();
                    println!(
                        "  rejected {} {} {}{src}: {}",
                        r.action,
                        r.kind,
                        rosterbridge_plan::display(&r.key),
                        r.message
                    );
                }
                if report.rejected > report.rejections.len() {
                    println!(
                        "  ... and {} more",
                        report.rejected - report.rejections.len()
                    );
                }
                for n in &report.notes {
                    println!("  note: {n}");
                }
                for a in &report.artifacts {
                    println!("  kept: {}", a.display());
                }
            }
            Ok(match report.outcome {
                rosterbridge_state::RunOutcome::PartialFailure => Code::PartialFailure,
                rosterbridge_state::RunOutcome::Failed => Code::Error,
                _ => Code::Ok,
            })
        }
        Err(e @ EngineError::Held { .. }) => {
            if json {
                let plan_id = match &e {
                    EngineError::Held { plan_id, .. } => *plan_id,
                    _ => None,
                };
                println!(
                    "{}",
                    serde_json::to_string(
                        &serde_json::json!({"held": true, "plan_id": plan_id, "safety": prepared.plan.safety, "summary": prepared.plan.summary})
                    )?
                );
            } else {
                println!("{}", super::target_line(config));
                print!("{}", rosterbridge_plan::render::text(&prepared.plan, 0));
            }
            eprintln!("error: {e}");
            Ok(Code::Held)
        }
        Err(
            e @ (EngineError::Blackout { .. }
            | EngineError::Lock(rosterbridge_engine::lock::LockError::Busy { .. })),
        ) => {
            eprintln!("error: {e}");
            Ok(Code::NotRun)
        }
        Err(e @ EngineError::RowErrors { .. }) => {
            eprintln!("error: {e}");
            Ok(Code::Error)
        }
        Err(e) => Err(e.into()),
    }
}
